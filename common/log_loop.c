/* The log's link to a process's libuv loop: while lines wait for journald
 * (log.c's backlog), a timer sends them on, so they go out even when the
 * process logs nothing more.  The timer runs only while there is a
 * backlog, and never keeps the loop alive. */
#include "log_loop.h"

#include "log.h"

#define FLUSH_MS 50

static uv_timer_t flush_timer;
static int attached;

static void on_flush(uv_timer_t *t)
{
	if (log_flush() == 0)
		uv_timer_stop(t);
}

static void backlog_started(void)
{
	if (attached && !uv_is_active((uv_handle_t *)&flush_timer))
		uv_timer_start(&flush_timer, on_flush, FLUSH_MS, FLUSH_MS);
}

void log_attach_loop(uv_loop_t *loop)
{
	uv_timer_init(loop, &flush_timer);
	uv_unref((uv_handle_t *)&flush_timer);
	attached = 1;
	log_set_backlog_hook(backlog_started);
	if (log_flush() > 0)
		backlog_started(); /* lines logged before the loop existed */
}
