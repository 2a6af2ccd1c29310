/* Reader of a node's announce port: the host side of the guest's
 * /dev/virtio-ports/placemat, a unix socket QEMU serves.  We connect as a
 * client, reconnect with back-off while QEMU is absent, and hand complete
 * lines to node.c.  QEMU accepts one client at a time and the guest writes
 * once per boot, so we stay connected. */
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

struct announce {
	uv_loop_t *loop;
	char *path;
	struct node *node;
	uv_pipe_t *pipe; /* NULL while not connected */
	uv_connect_t creq;
	uv_timer_t retry;
	unsigned backoff_ms;
	struct linebuf lb;
	char rbuf[512];
	bool stopping;
	bool logged_absent;
};

static void try_connect(struct announce *a);

static void on_retry(uv_timer_t *t)
{
	try_connect(t->data);
}

static void pipe_closed(uv_handle_t *h)
{
	free(h);
}

static void schedule_retry(struct announce *a)
{
	if (a->stopping)
		return;
	uv_timer_start(&a->retry, on_retry, a->backoff_ms, 0);
	a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
}

static void drop_pipe(struct announce *a)
{
	if (!a->pipe)
		return;
	uv_close((uv_handle_t *)a->pipe, pipe_closed);
	a->pipe = NULL;
	a->lb.len = 0;
	a->lb.discarding = false;
}

static void on_line(void *arg, const char *line, size_t len, bool too_long)
{
	struct announce *a = arg;

	node_announced(a->node, line, len, too_long);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct announce *a = h->data;

	(void)suggested;
	*buf = uv_buf_init(a->rbuf, sizeof(a->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct announce *a = s->data;

	if (n > 0) {
		linebuf_feed(&a->lb, buf->base, (size_t)n, on_line, a);
		return;
	}
	if (n == 0)
		return;
	/* EOF: QEMU went away (or restarted the chardev).  A partial line
	 * at EOF is dropped: the guest writes whole lines. */
	log_node(LOG_INFO, a->node->name, a->node->addr_text, "announce port %s closed: %s",
		 a->path, uv_strerror((int)n));
	drop_pipe(a);
	a->backoff_ms = BACKOFF_MIN_MS;
	schedule_retry(a);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct announce *a = req->data;

	/* Cancelled by announce_stop(): `a` may already be freed (libuv runs
	 * close callbacks newest first), so do not touch it. */
	if (status == UV_ECANCELED)
		return;
	if (status < 0) {
		if (!a->logged_absent)
			log_node(LOG_INFO, a->node->name, a->node->addr_text,
				 "announce port %s not available (%s); retrying", a->path,
				 uv_strerror(status));
		a->logged_absent = true;
		drop_pipe(a);
		schedule_retry(a);
		return;
	}
	log_node(LOG_INFO, a->node->name, a->node->addr_text, "connected to announce port %s",
		 a->path);
	a->logged_absent = false;
	a->backoff_ms = BACKOFF_MIN_MS;
	uv_read_start((uv_stream_t *)a->pipe, on_alloc, on_read);
}

static void try_connect(struct announce *a)
{
	a->pipe = xcalloc(1, sizeof(*a->pipe));
	uv_pipe_init(a->loop, a->pipe, 0);
	a->pipe->data = a;
	a->creq.data = a;
	uv_pipe_connect(&a->creq, a->pipe, a->path, on_connect);
}

struct announce *announce_start(uv_loop_t *loop, const char *path, struct node *n)
{
	struct announce *a = xcalloc(1, sizeof(*a));

	a->loop = loop;
	a->path = xstrdup(path);
	a->node = n;
	a->backoff_ms = BACKOFF_MIN_MS;
	uv_timer_init(loop, &a->retry);
	a->retry.data = a;
	try_connect(a);
	return a;
}

static void retry_closed(uv_handle_t *h)
{
	struct announce *a = h->data;

	free(a->path);
	free(a);
}

void announce_stop(struct announce *a)
{
	if (!a)
		return;
	a->stopping = true;
	drop_pipe(a);
	uv_close((uv_handle_t *)&a->retry, retry_closed);
}
