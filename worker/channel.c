/* The worker's end of the supervisor channel (fd 3).  The supervisor is
 * trusted: a message we cannot understand is a broken invariant (fatal),
 * and the supervisor restarts us. */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define REPORT_INTERVAL_MS 1000 /* counters: at most once a second */

struct power_req {
	struct worker_ctx *w;
	uint32_t id;
	enum power_action action;
};

static void send_or_die(uint16_t type, char *json, const int *fds, size_t nfds)
{
	int r = proto_send_json(WORKER_FD_CHANNEL, type, json, fds, nfds);

	if (r == -EPIPE || r == -ECONNRESET) {
		log_info("supervisor went away; exiting");
		exit(0);
	}
	if (r < 0)
		fatalx("sending to the supervisor: %s", strerror(-r));
}

static void send_state(struct worker_ctx *w)
{
	w->st.power = power_get_state(w->power);
	w->st.qmp_connected = (uint8_t)power_qmp_connected(w->power);
	send_or_die(MSG_STATE, msg_state_encode(&w->st), NULL, 0);
	w->state_dirty = 0;
}

static void report_tick(uv_timer_t *t)
{
	struct worker_ctx *w = t->data;

	if (w->state_dirty)
		send_state(w);
}

void channel_report(struct worker_ctx *w, int now)
{
	w->state_dirty = 1;
	if (now)
		send_state(w);
	else if (!uv_is_active((uv_handle_t *)&w->report_timer))
		uv_timer_start(&w->report_timer, report_tick, REPORT_INTERVAL_MS, 0);
}

void priv_qmp_connect(struct worker_ctx *w)
{
	(void)w;
	send_or_die(MSG_QMP_WANT, msg_empty_encode(), NULL, 0);
}

void channel_send_ready(struct worker_ctx *w)
{
	(void)w;
	send_or_die(MSG_READY, msg_empty_encode(), NULL, 0);
}

void channel_send_boot(struct worker_ctx *w, const struct msg_boot *m)
{
	char *json = msg_boot_encode(m);

	if (!json)
		fatalx("encoding the boot state: out of memory");
	/* IPMI writes several parameters per "bootdev"; most change nothing
	 * the supervisor keeps */
	if (w->boot_sent && strcmp(w->boot_sent, json) == 0) {
		free(json);
		return;
	}
	free(w->boot_sent);
	w->boot_sent = xstrdup(json);
	send_or_die(MSG_BOOT_STATE, json, NULL, 0);
}

static void power_done(void *arg, enum power_result r, const char *detail)
{
	struct power_req *q = arg;
	struct msg_power_result m = {.id = q->id, .result = r};

	strlcpy0(m.detail, detail ? detail : "", sizeof(m.detail));
	log_msg(r == POWER_OK ? LOG_INFO : LOG_WARNING, "power %s: %s%s%s",
		power_action_name(q->action), power_result_name(r), m.detail[0] ? ": " : "",
		m.detail);
	send_or_die(MSG_POWER_RESULT, msg_power_result_encode(&m), NULL, 0);
	channel_report(q->w, 1);
	free(q);
}

static void handle_power(struct worker_ctx *w, const struct proto_frame *f)
{
	struct msg_power m;
	struct power_req *q;

	if (msg_power_decode(f->payload, f->len, &m) < 0)
		fatalx("malformed power request from the supervisor");
	q = xmalloc(sizeof(*q));
	*q = (struct power_req){w, m.id, m.action};
	w->st.power_actions++; /* requested actions, as engine_power() counts them */
	power_request(w->power, m.action, power_done, q);
}

static void handle_qmp_fd(struct worker_ctx *w, struct proto_frame *f)
{
	if (msg_empty_decode(f->payload, f->len) < 0 || f->nfds != 1)
		fatalx("malformed QMP fd message from the supervisor");
	f->nfds = 0; /* the power core owns it now */
	power_qmp_attach(w->power, f->fds[0]);
}

static void handle_qmp_none(struct worker_ctx *w, const struct proto_frame *f)
{
	struct msg_qmp_none m;

	if (msg_qmp_none_decode(f->payload, f->len, &m) < 0)
		fatalx("malformed QMP answer from the supervisor");
	power_qmp_unavailable(w->power, m.reason);
}

static void dispatch(struct worker_ctx *w, struct proto_frame *f)
{
	switch (f->type) {
	case MSG_POWER:
		handle_power(w, f);
		break;
	case MSG_QMP_FD:
		handle_qmp_fd(w, f);
		break;
	case MSG_QMP_NONE:
		handle_qmp_none(w, f);
		break;
	default:
		fatalx("unexpected message type %u from the supervisor", f->type);
	}
	proto_frame_close_fds(f); /* any fd nobody took */
}

static void on_chan(uv_poll_t *h, int status, int events)
{
	struct worker_ctx *w = h->data;
	static struct proto_frame f;

	(void)status;
	(void)events;
	for (;;) {
		int r = proto_recv(WORKER_FD_CHANNEL, &f);
		if (r == -EAGAIN)
			return;
		if (r == -EPIPE || r == -ECONNRESET) {
			log_info("supervisor closed the channel; exiting");
			exit(0);
		}
		if (r < 0)
			fatalx("reading the supervisor channel: %s", strerror(-r));
		dispatch(w, &f);
	}
}

void channel_start(struct worker_ctx *w)
{
	uv_timer_init(w->loop, &w->report_timer);
	w->report_timer.data = w;
	uv_poll_init(w->loop, &w->chan_poll, WORKER_FD_CHANNEL);
	w->chan_poll.data = w;
	uv_poll_start(&w->chan_poll, UV_READABLE, on_chan);
}
