/*
 * The power core: DESIGN.md's power table carried out over QMP.
 *
 * Three things are kept apart:
 *   - the link: no QMP, connecting (greeting, capabilities, query-status),
 *     or up.  Without a link the state is UNKNOWN.
 *   - vm: what QEMU says, ON or OFF, from query-status and then events.
 *   - overlay: POWERING_ON / POWERING_OFF while an action or a background
 *     wait is under way; it hides vm until it is cleared.
 * The state shown to the rest of the worker is derived from the three, and
 * state_changed() fires only when that derived value changes.
 *
 * Requests run one at a time, each as a short list of QMP commands sent one
 * after the other; further requests queue (a few) behind it.
 *
 * Any user callback may call power_free().  The struct itself is freed only
 * in the close callbacks of its timers, on a later loop turn, so code that
 * called out just checks p->freeing afterwards and stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "power.h"
#include "common/log.h"

#define POWER_QUEUE_MAX		4
#define BACKOFF_MIN_MS		500
#define BACKOFF_MAX_MS		5000
#define DEFAULT_QMP_TIMEOUT_MS	5000
#define DEFAULT_SOFT_OFF_MS	120000
#define DEFAULT_RESTART_WAIT_MS 60000

enum link {
	LINK_DOWN,	 /* no fd: want_qmp asked or about to be */
	LINK_CONNECTING, /* fd attached, state not known yet */
	LINK_UP,
};

enum wait {
	WAIT_NONE,
	WAIT_SOFT_OFF, /* system_powerdown accepted, waiting for the guest */
	WAIT_RESTART,  /* the same, then power on again */
};

/* What an action does once it has been decided that QEMU must be asked. */
struct plan {
	const char *steps[4];	/* QMP commands, in order, NULL-terminated */
	enum power_state shows; /* shown while running; UNKNOWN: the VM's own state */
	enum wait then;		/* background wait started on success */
	const char *done;	/* detail of the successful answer */
};

/* Zero fields: no overlay (the VM's own state shows), no wait afterwards. */
/* clang-format off */
static const struct plan plans[POWER_ACTION_COUNT] = {
	/* From 'shutdown' cont alone fails ("Resetting the Virtual Machine is
	 * required"); a reset first makes it a cold boot from any state. */
	[POWER_ON] = { .steps = {"system_reset", "cont"}, .shows = POWER_STATE_POWERING_ON,
		       .done = "powered on" },
	[POWER_OFF] = { .steps = {"stop"}, .done = "powered off" },
	[POWER_SOFT] = { .steps = {"system_powerdown"}, .then = WAIT_SOFT_OFF,
			 .done = "power button pressed" },
	[POWER_RESET] = { .steps = {"system_reset"}, .done = "reset" },
	[POWER_CYCLE] = { .steps = {"stop", "system_reset", "cont"}, .done = "power cycled" },
	[POWER_NMI] = { .steps = {"inject-nmi"}, .done = "NMI injected" },
	[POWER_GRACEFUL_RESTART] = { .steps = {"system_powerdown"}, .then = WAIT_RESTART,
				     .done = "power button pressed, restart follows" },
};
/* clang-format on */

struct power_req {
	struct power_req *next;
	enum power_action action;
	power_done_cb cb;
	void *arg;
	bool background; /* graceful restart's power-on: nobody waits for it */
	const struct plan *plan;
	unsigned step;
	uint64_t t0; /* uv_hrtime() at power_request(), for the debug timing */
};

struct power {
	uv_loop_t *loop;
	struct power_limits lim;
	struct power_callbacks cb;
	void *arg;
	struct qmp *qmp;
	enum link link;
	enum power_state vm;
	enum power_state overlay;
	enum power_state shown;
	struct power_req *cur; /* running; its QMP command is in flight */
	struct power_req *queue;
	struct power_req **queue_tail;
	unsigned queued;
	enum wait wait;
	uv_timer_t wait_timer;
	uv_timer_t retry_timer;
	unsigned backoff_ms;
	int open_handles;
	bool freeing;
};

static void pump(struct power *p);

/* ---- state ---- */

static enum power_state derived_state(const struct power *p)
{
	if (p->link != LINK_UP)
		return POWER_STATE_UNKNOWN;
	if (p->overlay != POWER_STATE_UNKNOWN)
		return p->overlay;
	return p->vm;
}

static void update_state(struct power *p)
{
	enum power_state s = derived_state(p);

	if (p->freeing || s == p->shown)
		return;
	p->shown = s;
	if (p->cb.state_changed)
		p->cb.state_changed(p->arg, s);
}

static void report_error(struct power *p, const char *text)
{
	if (!p->freeing && p->cb.error)
		p->cb.error(p->arg, text);
}

/* QEMU run states that mean the guest's CPUs run (or sleep, as in S3). */
static enum power_state status_to_state(json_t *ret)
{
	const char *s = json_string_value(json_object_get(ret, "status"));

	if (!s)
		return json_is_true(json_object_get(ret, "running")) ? POWER_STATE_ON
								     : POWER_STATE_OFF;
	if (!strcmp(s, "running") || !strcmp(s, "suspended"))
		return POWER_STATE_ON;
	return POWER_STATE_OFF;
}

/* ---- background waits ---- */

/* Silent: callers update the state once they are done changing it. */
static void wait_cancel(struct power *p)
{
	if (p->wait == WAIT_NONE)
		return;
	uv_timer_stop(&p->wait_timer);
	p->wait = WAIT_NONE;
	if (p->overlay == POWER_STATE_POWERING_OFF)
		p->overlay = POWER_STATE_UNKNOWN;
}

static void wait_expired(uv_timer_t *t)
{
	struct power *p = t->data;
	enum wait w = p->wait;

	wait_cancel(p);
	update_state(p);
	if (w == WAIT_SOFT_OFF)
		report_error(p, "guest ignored the power button");
	else
		report_error(p, "graceful restart: guest did not shut down");
}

static void wait_begin(struct power *p, enum wait w)
{
	unsigned ms = w == WAIT_SOFT_OFF ? p->lim.soft_off_timeout_ms : p->lim.restart_wait_ms;

	p->wait = w;
	p->overlay = POWER_STATE_POWERING_OFF;
	uv_timer_start(&p->wait_timer, wait_expired, ms, 0);
}

/* ---- the request queue ---- */

static void enqueue(struct power *p, struct power_req *r)
{
	r->next = NULL;
	*p->queue_tail = r;
	p->queue_tail = &r->next;
	p->queued++;
}

static struct power_req *dequeue(struct power *p)
{
	struct power_req *r = p->queue;

	if (!r)
		return NULL;
	p->queue = r->next;
	if (!p->queue)
		p->queue_tail = &p->queue;
	p->queued--;
	return r;
}

/* Free the request, then tell its owner: the owner may free p. */
static void req_finish(struct power *p, struct power_req *r, enum power_result res,
		       const char *detail)
{
	power_done_cb cb = r->cb;
	void *arg = r->arg;

	/* Request to the last QMP reply (tests/bench parses this line). */
	if (r->plan)
		log_debug("power %s: %s in %llu us", power_action_name(r->action),
			  power_result_name(res),
			  (unsigned long long)((uv_hrtime() - r->t0) / 1000));
	if (r->plan && r->plan->shows != POWER_STATE_UNKNOWN && p->overlay == r->plan->shows)
		p->overlay = POWER_STATE_UNKNOWN;
	free(r);
	update_state(p);
	if (cb)
		cb(arg, res, detail);
}

static void fail_queue(struct power *p, enum power_result res, const char *detail)
{
	struct power_req *r;

	while ((r = dequeue(p)))
		req_finish(p, r, res, detail);
}

/* ---- running a sequence ---- */

static void step_send(struct power *p, struct power_req *r);

static void seq_fail(struct power *p, struct power_req *r, const char *error)
{
	enum power_result res = POWER_E_FAILED;
	const char *detail = error;
	char tbuf[128], buf[256];

	if (!strcmp(error, "timeout")) {
		res = POWER_E_TIMEOUT;
		snprintf(tbuf, sizeof(tbuf), "QEMU did not answer %s in time",
			 r->plan->steps[r->step]);
		detail = tbuf;
	} else if (!strcmp(error, "disconnected")) {
		res = POWER_E_UNAVAILABLE;
		detail = "QMP connection lost";
	}
	p->cur = NULL;
	if (r->background) {
		snprintf(buf, sizeof(buf), "graceful restart: %s", detail);
		report_error(p, buf);
		detail = buf;
	}
	req_finish(p, r, res, detail);
	pump(p);
}

/* The wait starts before the owner hears of success, so that a request the
 * owner sends from its callback cancels the wait instead of racing it. */
static void seq_done(struct power *p, struct power_req *r)
{
	p->cur = NULL;
	if (r->plan->then != WAIT_NONE)
		wait_begin(p, r->plan->then);
	req_finish(p, r, POWER_OK, r->plan->done);
	pump(p);
}

/* Events say the same, usually first; the reply also covers a missed one. */
static void step_applied(struct power *p, const char *cmd)
{
	if (!strcmp(cmd, "stop"))
		p->vm = POWER_STATE_OFF;
	else if (!strcmp(cmd, "cont"))
		p->vm = POWER_STATE_ON;
}

static void cmd_done(void *arg, json_t *ret, const char *error)
{
	struct power *p = arg;
	struct power_req *r = p->cur;

	(void)ret;
	if (!r)
		return;
	if (error) {
		seq_fail(p, r, error);
		return;
	}
	step_applied(p, r->plan->steps[r->step]);
	r->step++;
	if (r->plan->steps[r->step])
		step_send(p, r);
	else
		seq_done(p, r);
}

static void step_send(struct power *p, struct power_req *r)
{
	int e = -ENOTCONN;

	if (p->qmp)
		e = qmp_command(p->qmp, r->plan->steps[r->step], NULL, p->lim.qmp_timeout_ms,
				cmd_done, p);
	if (e < 0)
		seq_fail(p, r, "disconnected");
}

/* Answers that need no QEMU: the VM is already there, or the action needs
 * a running VM.  Returns true if *res and *detail were set. */
static bool answer_now(enum power_action a, bool on, enum power_result *res, const char **detail)
{
	if (a == POWER_ON) {
		*res = POWER_OK;
		*detail = "already on";
		return on;
	}
	if (on)
		return false;
	if (a == POWER_OFF) {
		*res = POWER_OK;
		*detail = "already off";
	} else {
		*res = POWER_E_STATE;
		*detail = a == POWER_SOFT ? "already off" : "power is off";
	}
	return true;
}

static void req_start(struct power *p, struct power_req *r)
{
	enum power_action a = r->action;
	bool on = p->vm == POWER_STATE_ON;
	enum power_result res;
	const char *detail;

	/* A new action wins over a soft-off or restart still waiting. */
	wait_cancel(p);
	if (a == POWER_PUSH_BUTTON)
		a = on ? POWER_SOFT : POWER_ON;
	if ((unsigned)a >= POWER_ACTION_COUNT || !plans[a].steps[0]) {
		req_finish(p, r, POWER_E_FAILED, "unknown power action");
		return;
	}
	if (!r->background && answer_now(a, on, &res, &detail)) {
		req_finish(p, r, res, detail);
		return;
	}
	r->plan = &plans[a];
	p->cur = r;
	if (r->plan->shows != POWER_STATE_UNKNOWN)
		p->overlay = r->plan->shows;
	update_state(p);
	if (p->freeing)
		return; /* power_free() failed p->cur */
	step_send(p, r);
}

static void pump(struct power *p)
{
	while (!p->freeing && !p->cur && p->link == LINK_UP && p->queue)
		req_start(p, dequeue(p));
}

static void answer(power_done_cb cb, void *arg, enum power_result res, const char *detail)
{
	if (cb)
		cb(arg, res, detail);
}

void power_request(struct power *p, enum power_action a, power_done_cb cb, void *arg)
{
	struct power_req *r;

	if (p->freeing || p->link == LINK_DOWN) {
		answer(cb, arg, POWER_E_UNAVAILABLE, "no QMP connection");
		return;
	}
	/* A retry after a failed attempt (the back-off has grown): QEMU did
	 * not answer last time and most likely will not within the 5 s
	 * deadline now; say so at once, as a BMC whose host is unreachable
	 * does, instead of holding the client.  A first attempt, or one after
	 * a connection that worked, still queues: it normally takes ms. */
	if (p->link == LINK_CONNECTING && p->backoff_ms > BACKOFF_MIN_MS) {
		answer(cb, arg, POWER_E_UNAVAILABLE, "QMP not answering, retrying");
		return;
	}
	if (p->queued >= POWER_QUEUE_MAX) {
		answer(cb, arg, POWER_E_BUSY, "another power action is running");
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		answer(cb, arg, POWER_E_FAILED, "out of memory");
		return;
	}
	r->action = a;
	r->cb = cb;
	r->arg = arg;
	r->t0 = uv_hrtime();
	enqueue(p, r);
	pump(p);
}

/* The guest went down during a graceful restart: power it on again.  Not
 * queued: a wait only exists while nothing runs (p->cur is NULL). */
static void restart_power_on(struct power *p)
{
	struct power_req *r;

	r = calloc(1, sizeof(*r));
	if (!r) {
		update_state(p);
		report_error(p, "graceful restart: out of memory");
		return;
	}
	r->action = POWER_ON;
	r->background = true;
	req_start(p, r);
}

/* ---- QMP events ---- */

static void vm_went_off(struct power *p)
{
	enum wait w = p->wait;

	p->vm = POWER_STATE_OFF;
	wait_cancel(p);
	if (w == WAIT_RESTART && !p->cur)
		restart_power_on(p);
	else
		update_state(p);
}

static void on_event(void *arg, const char *name, json_t *data)
{
	struct power *p = arg;

	(void)data;
	/* With -no-shutdown a guest power-off is SHUTDOWN, then STOP. */
	if (!strcmp(name, "STOP") || !strcmp(name, "SHUTDOWN")) {
		vm_went_off(p);
	} else if (!strcmp(name, "RESUME")) {
		p->vm = POWER_STATE_ON;
		update_state(p);
	} else if (!strcmp(name, "RESET")) {
		if (!p->freeing && p->cb.reset)
			p->cb.reset(p->arg);
	}
}

/* ---- the link ---- */

static void retry_fire(uv_timer_t *t)
{
	struct power *p = t->data;

	if (!p->freeing && p->link == LINK_DOWN && p->cb.want_qmp)
		p->cb.want_qmp(p->arg);
}

static void want_qmp_later(struct power *p, unsigned ms)
{
	uv_timer_start(&p->retry_timer, retry_fire, ms, 0);
}

static unsigned backoff_next(struct power *p)
{
	unsigned ms = p->backoff_ms;

	p->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
	return ms;
}

static void link_down(struct power *p)
{
	p->link = LINK_DOWN;
	wait_cancel(p);
	update_state(p);
	if (!p->freeing)
		fail_queue(p, POWER_E_UNAVAILABLE, "QMP connection lost");
}

/* A connection that dropped before it was ever up counts as a failed
 * attempt and backs off, so a QEMU that dies at once is not hammered. */
static void link_lost(struct power *p, const char *reason)
{
	bool was_up = p->link == LINK_UP;
	char buf[256];

	/* The reason first: a status that shows power unknown shows why. */
	snprintf(buf, sizeof(buf), "QMP connection lost: %s", reason);
	report_error(p, buf);
	link_down(p);
	if (p->freeing)
		return;
	want_qmp_later(p, was_up ? 0 : backoff_next(p));
}

static void status_done(void *arg, json_t *ret, const char *error)
{
	struct power *p = arg;
	char buf[256];

	if (error) {
		/* "disconnected": lost() follows, or we dropped it ourselves. */
		if (p->freeing || !strcmp(error, "disconnected"))
			return;
		snprintf(buf, sizeof(buf), "query-status failed: %s", error);
		qmp_detach(p->qmp);
		link_lost(p, buf);
		return;
	}
	p->vm = status_to_state(ret);
	p->link = LINK_UP;
	p->backoff_ms = BACKOFF_MIN_MS;
	update_state(p);
	if (p->cb.connected)
		p->cb.connected(p->arg);
	pump(p);
}

static void on_ready(void *arg)
{
	struct power *p = arg;

	if (qmp_command(p->qmp, "query-status", NULL, p->lim.qmp_timeout_ms, status_done, p) < 0) {
		qmp_detach(p->qmp);
		link_lost(p, "cannot send query-status");
	}
}

static void on_lost(void *arg, const char *reason)
{
	link_lost(arg, reason);
}

static const struct qmp_callbacks qmp_cbs = {
    .ready = on_ready,
    .event = on_event,
    .lost = on_lost,
};

void power_qmp_attach(struct power *p, int fd)
{
	char buf[128];
	int r;

	if (p->freeing) {
		if (fd >= 0)
			close(fd);
		return;
	}
	uv_timer_stop(&p->retry_timer);
	/* Replacing a connection: queued requests wait for the new one. */
	if (p->link != LINK_DOWN) {
		p->link = LINK_CONNECTING;
		wait_cancel(p);
		qmp_detach(p->qmp);
		update_state(p);
		if (p->freeing) {
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (fd < 0) {
		link_down(p);
		if (!p->freeing)
			want_qmp_later(p, 0);
		return;
	}
	p->link = LINK_CONNECTING;
	r = qmp_attach(p->qmp, fd);
	if (r < 0) {
		snprintf(buf, sizeof(buf), "cannot use the QMP fd: %s", strerror(-r));
		link_lost(p, buf);
	}
}

void power_qmp_unavailable(struct power *p, const char *reason)
{
	char buf[256];

	if (p->freeing || p->link != LINK_DOWN)
		return;
	snprintf(buf, sizeof(buf), "QMP unavailable: %s", reason ? reason : "unknown reason");
	report_error(p, buf);
	if (!p->freeing)
		want_qmp_later(p, backoff_next(p));
}

/* ---- the object ---- */

static unsigned or_default(unsigned v, unsigned def)
{
	return v ? v : def;
}

struct power *power_new(uv_loop_t *loop, const struct power_limits *lim,
			const struct power_callbacks *cb, void *arg)
{
	struct power *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->qmp = qmp_new(loop, &qmp_cbs, p);
	if (!p->qmp) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	if (lim)
		p->lim = *lim;
	p->lim.qmp_timeout_ms = or_default(p->lim.qmp_timeout_ms, DEFAULT_QMP_TIMEOUT_MS);
	p->lim.soft_off_timeout_ms = or_default(p->lim.soft_off_timeout_ms, DEFAULT_SOFT_OFF_MS);
	p->lim.restart_wait_ms = or_default(p->lim.restart_wait_ms, DEFAULT_RESTART_WAIT_MS);
	if (cb)
		p->cb = *cb;
	p->arg = arg;
	p->link = LINK_DOWN;
	p->vm = POWER_STATE_UNKNOWN;
	p->overlay = POWER_STATE_UNKNOWN;
	p->shown = POWER_STATE_UNKNOWN;
	p->queue_tail = &p->queue;
	p->backoff_ms = BACKOFF_MIN_MS;
	uv_timer_init(loop, &p->wait_timer);
	uv_timer_init(loop, &p->retry_timer);
	p->wait_timer.data = p;
	p->retry_timer.data = p;
	p->open_handles = 2;
	return p;
}

enum power_state power_get_state(const struct power *p)
{
	return p->shown;
}

int power_qmp_connected(const struct power *p)
{
	return !p->freeing && p->link == LINK_UP;
}

int power_qmp_command(struct power *p, const char *cmd, json_t *args, qmp_reply_cb cb, void *arg)
{
	if (p->freeing || !p->qmp) {
		json_decref(args);
		return -ENOTCONN;
	}
	return qmp_command(p->qmp, cmd, args, p->lim.qmp_timeout_ms, cb, arg);
}

static void power_closed(uv_handle_t *h)
{
	struct power *p = h->data;

	if (--p->open_handles == 0)
		free(p);
}

void power_free(struct power *p)
{
	struct qmp *q;
	struct power_req *r;

	if (!p || p->freeing)
		return;
	p->freeing = true;
	wait_cancel(p);
	uv_timer_stop(&p->retry_timer);
	q = p->qmp;
	p->qmp = NULL;
	/* Fails the command in flight, which finishes p->cur. */
	qmp_free(q);
	r = p->cur;
	p->cur = NULL;
	if (r)
		req_finish(p, r, POWER_E_UNAVAILABLE, "shutting down");
	fail_queue(p, POWER_E_UNAVAILABLE, "shutting down");
	uv_close((uv_handle_t *)&p->wait_timer, power_closed);
	uv_close((uv_handle_t *)&p->retry_timer, power_closed);
}
