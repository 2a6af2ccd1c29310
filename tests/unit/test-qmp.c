/*
 * worker/qmp.c and worker/power.c.
 *
 * 1. The pure parts: qmp_parse_message() and the line splitter.
 * 2. The connection against peers we play ourselves over a socketpair:
 *    one that never greets, one that misbehaves, and a tiny QEMU stand-in
 *    that can also play a guest obeying the power button (the real QEMU
 *    below has no guest OS, so it never shuts down by itself).
 * 3. The power core against real qemu-system-x86_64 processes: no guest,
 *    SeaBIOS idles, but stop/cont/system_reset/query-status are real.
 *
 * Exits 77 only if qemu-system-x86_64 is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/power.h"
#include "worker/qmp.h"

static int passed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
		passed++;                                                                          \
	} while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

/* Not counted: for callbacks and helpers that run a timing-dependent number
 * of times, so that the final count is the same on every run. */
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		int passed_ = passed;                                                              \
		CHECK(cond);                                                                       \
		passed = passed_;                                                                  \
	} while (0)

static uv_loop_t *loop;
static uv_timer_t tick;
static int seq; /* orders callbacks across objects */

/* Run the loop until cond holds or ms pass; the tick timer keeps
 * uv_run(ONCE) returning often enough to re-check. */
#define WAIT_FOR(cond, ms)                                                                         \
	do {                                                                                       \
		uint64_t end_;                                                                     \
		uv_update_time(loop);                                                              \
		end_ = uv_now(loop) + (ms);                                                        \
		while (!(cond) && uv_now(loop) < end_)                                             \
			uv_run(loop, UV_RUN_ONCE);                                                 \
		CHECK(cond);                                                                       \
	} while (0)

static void spin(unsigned ms)
{
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	while (uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
}

static void tick_cb(uv_timer_t *t)
{
	(void)t;
}

/* ================= 1. parser and line splitter ================= */

static const char *const greeting =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18\"}, \"capabilities\": [\"oob\"]}}";

static int parse(const char *s, struct qmp_msg *m)
{
	return qmp_parse_message(s, strlen(s), m);
}

static void test_parse_valid(void)
{
	struct qmp_msg m;

	CHECK(parse(greeting, &m) == 0);
	CHECK(m.kind == QMP_GREETING && !m.has_id && m.body);
	json_decref(m.body);

	CHECK(parse("{\"return\": {}, \"id\": 7}", &m) == 0);
	CHECK(m.kind == QMP_RETURN && m.has_id && m.id == 7 && json_is_object(m.value));
	json_decref(m.body);

	CHECK(parse("{\"return\": {\"status\": \"running\", \"singlestep\": false, "
		    "\"running\": true}, \"id\": 9007199254740993}",
		    &m) == 0);
	CHECK(m.id == 9007199254740993ULL);
	CHECK_STR(json_string_value(json_object_get(m.value, "status")), "running");
	json_decref(m.body);

	CHECK(parse("{\"return\": [], \"id\": 0}", &m) == 0);
	CHECK(m.kind == QMP_RETURN && m.has_id && m.id == 0 && json_is_array(m.value));
	json_decref(m.body);

	CHECK(parse("{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"Resetting the Virtual Machine is required\"}}",
		    &m) == 0);
	CHECK(m.kind == QMP_ERROR && m.id == 3);
	CHECK_STR(m.error, "Resetting the Virtual Machine is required");
	json_decref(m.body);

	CHECK(parse("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 12}, "
		    "\"event\": \"STOP\"}",
		    &m) == 0);
	CHECK(m.kind == QMP_EVENT && m.value == NULL);
	CHECK_STR(m.event, "STOP");
	json_decref(m.body);

	CHECK(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
		    "\"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}",
		    &m) == 0);
	CHECK(m.kind == QMP_EVENT && json_is_object(m.value));
	CHECK(json_is_true(json_object_get(m.value, "guest")));
	json_decref(m.body);
}

static void test_parse_invalid(void)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "not json",
	    "[1, 2]",
	    "42",
	    "\"return\"",
	    "{}",
	    "{\"id\": 1}",
	    "{\"return\": {}",
	    "{\"return\": {}} trailing",
	    "{\"return\": {}, \"id\": -1}",
	    "{\"return\": {}, \"id\": \"7\"}",
	    "{\"return\": {}, \"id\": 1.5}",
	    "{\"return\": {}, \"id\": null}",
	    "{\"return\": 1, \"return\": 2}",
	    "{\"return\": {}, \"error\": {\"desc\": \"x\"}}",
	    "{\"event\": \"STOP\", \"return\": {}}",
	    "{\"QMP\": 1}",
	    "{\"error\": \"boom\"}",
	    "{\"error\": {\"class\": \"GenericError\"}}",
	    "{\"error\": {\"desc\": 5}}",
	    "{\"event\": 5}",
	    "{\"event\": null}",
	    "{\"event\": \"STOP\", \"data\": 3}",
	    "{\"event\": \"A\\u0000B\"}",
	    "{\"return\": \"\xff\xfe\"}",
	};
	struct qmp_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(parse(bad[i], &m) == -EBADMSG);
		CHECK(m.body == NULL);
	}
	/* An embedded NUL byte must not cut the message short. */
	CHECK(qmp_parse_message("{\"return\": {}}\0junk", 20, &m) == -EBADMSG);
}

struct lines {
	int n;
	char text[8][64];
	size_t len[8];
};

static void collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;
	size_t copy = len < 63 ? len : 63;

	if (l->n >= 8)
		return;
	memcpy(l->text[l->n], line, copy);
	l->text[l->n][copy] = '\0';
	l->len[l->n] = len;
	l->n++;
}

static void test_reader_split(void)
{
	struct qmp_reader r = {0};
	struct lines l = {0};
	const char *all = "{\"a\":1}\r\n{\"b\":2}\n\n\r\n{\"c\":3}\n";
	size_t i;

	CHECK(qmp_reader_feed(&r, "one\ntw", 6, collect, &l) == 0);
	CHECK(l.n == 1);
	CHECK_STR(l.text[0], "one");
	CHECK(qmp_reader_feed(&r, "o\r\nthree", 9, collect, &l) == 0);
	CHECK(l.n == 2);
	CHECK_STR(l.text[1], "two");
	CHECK(qmp_reader_feed(&r, "\n", 1, collect, &l) == 0);
	CHECK(l.n == 3);
	CHECK_STR(l.text[2], "three");
	CHECK(r.len == 0);
	qmp_reader_reset(&r);

	/* Byte by byte gives the same lines; blank ones are skipped. */
	memset(&l, 0, sizeof(l));
	for (i = 0; all[i]; i++)
		CHECK(qmp_reader_feed(&r, &all[i], 1, collect, &l) == 0);
	CHECK(l.n == 3);
	CHECK_STR(l.text[0], "{\"a\":1}");
	CHECK_STR(l.text[1], "{\"b\":2}");
	CHECK_STR(l.text[2], "{\"c\":3}");
	qmp_reader_reset(&r);
	CHECK(r.buf == NULL && r.cap == 0);
}

static void test_reader_limit(void)
{
	struct qmp_reader r = {0};
	struct lines l = {0};
	char *big = malloc(QMP_LINE_MAX + 2);

	CHECK(big != NULL);
	memset(big, 'x', QMP_LINE_MAX + 1);
	big[QMP_LINE_MAX] = '\n';

	/* Exactly QMP_LINE_MAX bytes is fine, split or whole. */
	CHECK(qmp_reader_feed(&r, big, QMP_LINE_MAX + 1, collect, &l) == 0);
	CHECK(l.n == 1 && l.len[0] == QMP_LINE_MAX);
	CHECK(qmp_reader_feed(&r, big, 1000, collect, &l) == 0);
	CHECK(qmp_reader_feed(&r, big + 1000, QMP_LINE_MAX + 1 - 1000, collect, &l) == 0);
	CHECK(l.n == 2 && l.len[1] == QMP_LINE_MAX);
	CHECK(r.cap <= QMP_LINE_MAX);

	/* One more byte is not, whether or not its newline has arrived. */
	big[QMP_LINE_MAX] = 'x';
	big[QMP_LINE_MAX + 1] = '\n';
	CHECK(qmp_reader_feed(&r, big, QMP_LINE_MAX + 2, collect, &l) == -EMSGSIZE);
	CHECK(qmp_reader_feed(&r, big, QMP_LINE_MAX, collect, &l) == 0);
	CHECK(qmp_reader_feed(&r, "y", 1, collect, &l) == -EMSGSIZE);
	CHECK(r.cap <= QMP_LINE_MAX);
	CHECK(l.n == 2);

	/* After the error the reader starts afresh. */
	CHECK(qmp_reader_feed(&r, "ok\n", 3, collect, &l) == 0);
	CHECK(l.n == 3);
	CHECK_STR(l.text[2], "ok");
	qmp_reader_reset(&r);
	free(big);
}

/* ================= 2. fake peers ================= */

struct peer {
	uv_pipe_t pipe;
	struct qmp_reader rd;
	char buf[4096];
	bool open;
	const char *status; /* query-status answer; NULL: never answered */
	bool hang;	    /* answer nothing else */
	const char *fail;   /* this command gets an error */
	bool guest;	    /* a guest that shuts down on the power button */
	int commands;
	char last[64];
	long long last_id;
	bool last_had_args;
};

static void peer_send(struct peer *pe, const char *text)
{
	uv_buf_t b[2] = {uv_buf_init((char *)text, strlen(text)), uv_buf_init("\n", 1)};

	REQUIRE(uv_try_write((uv_stream_t *)&pe->pipe, b, 2) == (int)strlen(text) + 1);
}

static void peer_event(struct peer *pe, const char *name)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, "
		 "\"event\": \"%s\"}",
		 name);
	peer_send(pe, text);
}

static void peer_reply(struct peer *pe, long long id, const char *ret)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"return\": %s, \"id\": %lld}", ret, id);
	peer_send(pe, text);
}

/* Events in the order QEMU sends them around each command. */
static void peer_run(struct peer *pe, const char *cmd, long long id)
{
	char text[256];

	if (pe->fail && !strcmp(cmd, pe->fail)) {
		snprintf(text, sizeof(text),
			 "{\"id\": %lld, \"error\": {\"class\": \"GenericError\", "
			 "\"desc\": \"Resetting the Virtual Machine is required\"}}",
			 id);
		peer_send(pe, text);
		return;
	}
	if (!strcmp(cmd, "stop"))
		peer_event(pe, "STOP");
	else if (!strcmp(cmd, "cont"))
		peer_event(pe, "RESUME");
	else if (!strcmp(cmd, "system_reset"))
		peer_event(pe, "RESET");
	else if (!strcmp(cmd, "system_powerdown"))
		peer_event(pe, "POWERDOWN");
	peer_reply(pe, id, "{}");
	if (pe->guest && !strcmp(cmd, "system_powerdown")) {
		peer_event(pe, "SHUTDOWN");
		peer_event(pe, "STOP");
	}
}

static void peer_line(void *arg, const char *line, size_t len)
{
	struct peer *pe = arg;
	json_t *msg = json_loadb(line, len, 0, NULL);
	const char *cmd = json_string_value(json_object_get(msg, "execute"));
	long long id = json_integer_value(json_object_get(msg, "id"));
	char ret[128];

	REQUIRE(cmd != NULL);
	if (!strcmp(cmd, "qmp_capabilities")) {
		peer_reply(pe, id, "{}");
	} else if (!strcmp(cmd, "query-status")) {
		if (pe->status) {
			snprintf(ret, sizeof(ret), "{\"status\": \"%s\", \"running\": %s}",
				 pe->status, strcmp(pe->status, "running") ? "false" : "true");
			peer_reply(pe, id, ret);
		}
	} else {
		pe->commands++;
		snprintf(pe->last, sizeof(pe->last), "%s", cmd);
		pe->last_id = id;
		pe->last_had_args = json_object_get(msg, "arguments") != NULL;
		if (!pe->hang)
			peer_run(pe, cmd, id);
	}
	json_decref(msg);
}

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct peer *pe = h->data;

	(void)suggested;
	*buf = uv_buf_init(pe->buf, sizeof(pe->buf));
}

static void peer_close(struct peer *pe);

static void peer_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct peer *pe = s->data;

	if (nread < 0) {
		peer_close(pe);
		return;
	}
	REQUIRE(qmp_reader_feed(&pe->rd, buf->base, nread, peer_line, pe) == 0);
}

/* Returns the fd for the side under test. */
static int peer_start(struct peer *pe, bool greet)
{
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(uv_pipe_init(loop, &pe->pipe, 0) == 0);
	pe->pipe.data = pe;
	CHECK(uv_pipe_open(&pe->pipe, sv[1]) == 0);
	CHECK(uv_read_start((uv_stream_t *)&pe->pipe, peer_alloc, peer_read) == 0);
	pe->open = true;
	if (greet)
		peer_send(pe, greeting);
	return sv[0];
}

static void peer_close(struct peer *pe)
{
	if (!pe->open)
		return;
	pe->open = false;
	uv_close((uv_handle_t *)&pe->pipe, NULL);
	qmp_reader_reset(&pe->rd);
}

/* ---- the connection ---- */

struct qobs {
	int ready, lost, events;
	int lost_seq;
	char reason[128];
	char event[64];
	long long event_a;
	struct qmp *q;
	bool free_in_event; /* qmp_free from inside the event callback */
};

struct reply {
	int calls;
	int seq;
	bool ok;
	char error[128];
	char status[32];
	struct qmp *detach; /* qmp_detach from inside the callback */
};

static void q_ready(void *arg)
{
	struct qobs *o = arg;

	o->ready++;
}

static void q_event(void *arg, const char *name, json_t *data)
{
	struct qobs *o = arg;

	o->events++;
	snprintf(o->event, sizeof(o->event), "%s", name);
	o->event_a = json_integer_value(json_object_get(data, "a"));
	if (o->free_in_event) {
		qmp_free(o->q);
		o->q = NULL;
	}
}

static void q_lost(void *arg, const char *reason)
{
	struct qobs *o = arg;

	o->lost++;
	o->lost_seq = ++seq;
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
}

static const struct qmp_callbacks qcbs = {q_ready, q_event, q_lost};

static void reply_cb(void *arg, json_t *ret, const char *error)
{
	struct reply *r = arg;
	const char *status = json_string_value(json_object_get(ret, "status"));

	r->calls++;
	r->seq = ++seq;
	r->ok = error == NULL;
	REQUIRE((ret == NULL) == (error != NULL));
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
	snprintf(r->status, sizeof(r->status), "%s", status ? status : "");
	if (r->detach)
		qmp_detach(r->detach);
}

static struct qmp *q_connect(struct peer *pe, struct qobs *o)
{
	struct qmp *q = qmp_new(loop, &qcbs, o);

	CHECK(q != NULL);
	o->q = q;
	CHECK(!qmp_is_ready(q));
	CHECK(qmp_attach(q, peer_start(pe, true)) == 0);
	WAIT_FOR(o->ready == 1, 2000);
	CHECK(qmp_is_ready(q));
	return q;
}

static void test_qmp_commands(void)
{
	struct peer pe = {.status = "running"};
	struct qobs o = {0};
	struct reply r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
	struct qmp *q = q_connect(&pe, &o);
	int events;

	CHECK(qmp_command(q, "query-status", NULL, 0, reply_cb, &r1) == 0);
	WAIT_FOR(r1.calls == 1, 2000);
	CHECK(r1.ok);
	CHECK_STR(r1.status, "running");

	CHECK(qmp_command(q, "stop", json_pack("{s:b}", "x", 1), 0, reply_cb, &r2) == 0);
	WAIT_FOR(r2.calls == 1, 2000);
	CHECK(r2.ok && pe.last_had_args);
	CHECK_STR(pe.last, "stop");
	CHECK(o.events == 1);
	CHECK_STR(o.event, "STOP");

	pe.fail = "cont";
	CHECK(qmp_command(q, "cont", NULL, 0, reply_cb, &r3) == 0);
	WAIT_FOR(r3.calls == 1, 2000);
	CHECK(!r3.ok);
	CHECK_STR(r3.error, "Resetting the Virtual Machine is required");

	events = o.events;
	peer_send(&pe, "{\"event\": \"FOO\", \"data\": {\"a\": 42}, \"timestamp\": "
		       "{\"seconds\": 1, \"microseconds\": 2}}");
	WAIT_FOR(o.events == events + 1, 2000);
	CHECK_STR(o.event, "FOO");
	CHECK(o.event_a == 42);

	/* A deadline passes; the reply that comes later is dropped. */
	pe.hang = true;
	CHECK(qmp_command(q, "stop", NULL, 150, reply_cb, &r4) == 0);
	WAIT_FOR(r4.calls == 1, 2000);
	CHECK_STR(r4.error, "timeout");
	peer_reply(&pe, pe.last_id, "{}");
	spin(100);
	CHECK(r4.calls == 1);
	CHECK(qmp_is_ready(q) && o.lost == 0);

	qmp_free(q);
	peer_close(&pe);
	spin(20);
}

/* A broken line drops the connection: pending commands first, then lost(). */
static void test_qmp_broken(void)
{
	struct peer pe = {.status = "running", .hang = true};
	struct qobs o = {0};
	struct reply r = {0};
	struct qmp *q = q_connect(&pe, &o);

	CHECK(qmp_command(q, "stop", NULL, 0, reply_cb, &r) == 0);
	WAIT_FOR(pe.commands == 1, 2000);
	peer_send(&pe, "{\"return\": {}, \"id\": 1, oops");
	WAIT_FOR(o.lost == 1, 2000);
	CHECK(r.calls == 1);
	CHECK_STR(r.error, "disconnected");
	CHECK(r.seq < o.lost_seq);
	CHECK(strstr(o.reason, "malformed") != NULL);
	CHECK(!qmp_is_ready(q));
	CHECK(qmp_command(q, "stop", json_object(), 0, reply_cb, &r) == -ENOTCONN);
	spin(50);
	CHECK(r.calls == 1 && o.lost == 1);

	/* The same object takes a new connection. */
	peer_close(&pe);
	spin(20);
	pe.hang = false;
	o.ready = 0;
	CHECK(qmp_attach(q, peer_start(&pe, true)) == 0);
	WAIT_FOR(o.ready == 1, 2000);

	/* The peer going away is reported too. */
	peer_close(&pe);
	WAIT_FOR(o.lost == 2, 2000);
	CHECK(strstr(o.reason, "closed") != NULL);
	qmp_free(q);
	spin(20);
}

static void test_qmp_events_before_greeting(void)
{
	struct peer pe = {0}, pe2 = {0};
	struct qobs o = {0};
	struct qmp *q = qmp_new(loop, &qcbs, &o);

	/* QEMU itself does this while it starts the VM (RESUME before the
	 * greeting): the event is skipped, the connection kept. */
	CHECK(qmp_attach(q, peer_start(&pe, false)) == 0);
	peer_event(&pe, "RESUME");
	spin(50);
	CHECK(o.lost == 0 && o.events == 0 && o.ready == 0);
	peer_send(&pe, greeting);
	WAIT_FOR(o.ready == 1, 2000);
	peer_event(&pe, "STOP");
	WAIT_FOR(o.events == 1, 2000);
	CHECK(o.lost == 0);
	qmp_free(q);
	peer_close(&pe);
	/* anything else before the greeting is not QMP: dropped */
	memset(&o, 0, sizeof(o));
	q = qmp_new(loop, &qcbs, &o);
	CHECK(qmp_attach(q, peer_start(&pe2, false)) == 0);
	peer_send(&pe2, "{\"return\": {}}");
	WAIT_FOR(o.lost == 1, 2000);
	CHECK(o.events == 0 && o.ready == 0);
	qmp_free(q);
	peer_close(&pe2);
	spin(20);
}

static void test_qmp_too_long(void)
{
	struct peer pe = {0};
	struct qobs o = {0};
	struct qmp *q = qmp_new(loop, &qcbs, &o);
	static char chunk[65536];
	size_t sent = 0;

	memset(chunk, 'x', sizeof(chunk));
	CHECK(qmp_attach(q, peer_start(&pe, false)) == 0);
	/* Feed a line without end until the client gives up on it. */
	while (o.lost == 0 && sent < 4 * QMP_LINE_MAX) {
		uv_buf_t b = uv_buf_init(chunk, sizeof(chunk));
		int n = uv_try_write((uv_stream_t *)&pe.pipe, &b, 1);

		if (n > 0)
			sent += n;
		uv_run(loop, UV_RUN_NOWAIT);
	}
	CHECK(o.lost == 1);
	CHECK(strstr(o.reason, "too long") != NULL);
	CHECK(sent >= QMP_LINE_MAX);
	qmp_free(q);
	peer_close(&pe);
	spin(20);
}

/* Freeing or detaching from inside callbacks, with more data queued behind. */
static void test_qmp_reentrant(void)
{
	struct peer pe = {.status = "running", .hang = true};
	struct qobs o = {0};
	struct reply r = {0}, r2 = {0};
	struct qmp *q = q_connect(&pe, &o);
	char text[256];

	/* Detach in a reply callback; the event in the same read is ignored. */
	r.detach = q;
	CHECK(qmp_command(q, "foo", NULL, 0, reply_cb, &r) == 0);
	WAIT_FOR(pe.commands == 1, 2000);
	snprintf(text, sizeof(text), "{\"return\": {}, \"id\": %lld}\n{\"event\": \"STOP\"}",
		 pe.last_id);
	CHECK(qmp_command(q, "stop", NULL, 0, reply_cb, &r2) == 0);
	WAIT_FOR(pe.commands == 2, 2000);
	peer_send(&pe, text);
	WAIT_FOR(r.calls == 1, 2000);
	CHECK(r.ok);
	CHECK(r2.calls == 1);
	CHECK_STR(r2.error, "disconnected");
	spin(50);
	CHECK(o.lost == 0 && o.events == 0 && r2.calls == 1);
	peer_close(&pe);
	spin(20);

	/* Free in an event callback, two more lines behind it in one write. */
	o.ready = 0;
	pe.hang = false;
	CHECK(qmp_attach(q, peer_start(&pe, true)) == 0);
	WAIT_FOR(o.ready == 1, 2000);
	o.free_in_event = true;
	peer_send(&pe, "{\"event\": \"A\"}\n{\"event\": \"B\"}\n{\"return\": {}, \"id\": 1}");
	WAIT_FOR(o.events == 1, 2000);
	spin(50);
	CHECK(o.events == 1 && o.lost == 0 && o.q == NULL);
	peer_close(&pe);
	spin(20);
}

/* ---- power against the stand-in ---- */

struct pobs {
	enum power_state state;
	enum power_state hist[128];
	int nhist;
	int want, errors, resets;
	uint64_t want_at;
	char error[256];
};

struct res {
	int calls;
	enum power_result r;
	char detail[256];
	enum power_state state_at;
};

static struct pobs po;

static void p_state(void *arg, enum power_state s)
{
	struct pobs *o = arg;

	REQUIRE(s != o->state);
	o->state = s;
	if (o->nhist < 128)
		o->hist[o->nhist++] = s;
}

static void p_want(void *arg)
{
	struct pobs *o = arg;

	o->want++;
	o->want_at = uv_now(loop);
}

static void p_error(void *arg, const char *text)
{
	struct pobs *o = arg;

	o->errors++;
	snprintf(o->error, sizeof(o->error), "%s", text);
}

static void p_reset(void *arg)
{
	struct pobs *o = arg;

	o->resets++;
}

static const struct power_callbacks pcbs = {p_state, p_want, p_error, p_reset, NULL};

static void done_cb(void *arg, enum power_result r, const char *detail)
{
	struct res *x = arg;

	x->calls++;
	x->r = r;
	x->state_at = po.state;
	snprintf(x->detail, sizeof(x->detail), "%s", detail ? detail : "");
}

static bool seen_since(int mark, enum power_state s)
{
	int i;

	for (i = mark; i < po.nhist; i++)
		if (po.hist[i] == s)
			return true;
	return false;
}

static struct res act(struct power *p, enum power_action a)
{
	struct res x = {0};

	power_request(p, a, done_cb, &x);
	WAIT_FOR(x.calls == 1, 10000);
	return x;
}

static struct power *power_setup(unsigned qmp_ms, unsigned soft_ms, unsigned restart_ms)
{
	struct power_limits lim = {qmp_ms, soft_ms, restart_ms};
	struct power *p;

	memset(&po, 0, sizeof(po));
	p = power_new(loop, &lim, &pcbs, &po);
	CHECK(p != NULL);
	CHECK(power_get_state(p) == POWER_STATE_UNKNOWN);
	return p;
}

static void test_power_backoff(void)
{
	struct power *p = power_setup(300, 0, 0);
	struct res x = {0};
	uint64_t t0;

	power_qmp_attach(p, -1);
	WAIT_FOR(po.want == 1, 1000);
	CHECK(power_get_state(p) == POWER_STATE_UNKNOWN && !power_qmp_connected(p));
	power_request(p, POWER_ON, done_cb, &x);
	CHECK(x.calls == 1 && x.r == POWER_E_UNAVAILABLE);

	t0 = uv_now(loop);
	power_qmp_unavailable(p, "connect: No such file or directory");
	CHECK(po.errors == 1 && strstr(po.error, "No such file") != NULL);
	WAIT_FOR(po.want == 2, 2000);
	CHECK(po.want_at - t0 >= 450);
	t0 = uv_now(loop);
	power_qmp_unavailable(p, "again");
	WAIT_FOR(po.want == 3, 3000);
	CHECK(po.want_at - t0 >= 950);
	power_free(p);
	spin(20);
}

/* A peer that never answers query-status: dropped, asked for again. */
static void test_power_status_timeout(void)
{
	struct power *p = power_setup(300, 0, 0);
	struct peer pe = {0}, pe2 = {0};
	struct res x = {0}, y = {0};

	power_qmp_attach(p, peer_start(&pe, true));
	/* Requests before the state is known wait for it. */
	power_request(p, POWER_ON, done_cb, &x);
	CHECK(x.calls == 0);
	WAIT_FOR(po.errors == 1, 2000);
	CHECK(strstr(po.error, "query-status") != NULL);
	CHECK(x.calls == 1 && x.r == POWER_E_UNAVAILABLE);
	CHECK(power_get_state(p) == POWER_STATE_UNKNOWN);
	WAIT_FOR(po.want == 1, 2000);
	/* The retry after that failure: a request does not wait for the
	 * deadline again, it is refused at once. */
	power_qmp_attach(p, peer_start(&pe2, true));
	power_request(p, POWER_ON, done_cb, &y);
	CHECK(y.calls == 1 && y.r == POWER_E_UNAVAILABLE);
	CHECK(strstr(y.detail, "retrying") != NULL);
	power_free(p);
	peer_close(&pe);
	peer_close(&pe2);
	spin(20);
}

static void test_power_fake(void)
{
	struct power *p = power_setup(300, 0, 0);
	struct peer pe = {.status = "shutdown", .fail = "cont"};
	struct res x, y = {0}, z = {0};
	int mark, changes;

	power_qmp_attach(p, peer_start(&pe, true));
	WAIT_FOR(po.state == POWER_STATE_OFF, 2000);
	CHECK(power_qmp_connected(p));

	/* QEMU refuses: its text comes back, the state falls back. */
	mark = po.nhist;
	x = act(p, POWER_ON);
	CHECK(x.r == POWER_E_FAILED);
	CHECK_STR(x.detail, "Resetting the Virtual Machine is required");
	CHECK(seen_since(mark, POWER_STATE_POWERING_ON));
	CHECK(po.state == POWER_STATE_OFF && po.resets == 1);

	pe.fail = NULL;
	x = act(p, POWER_ON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);

	/* A guest that obeys the button: graceful restart goes all the way. */
	pe.guest = true;
	mark = po.nhist;
	x = act(p, POWER_GRACEFUL_RESTART);
	CHECK(x.r == POWER_OK && x.state_at == POWER_STATE_POWERING_OFF);
	WAIT_FOR(po.state == POWER_STATE_ON, 2000);
	CHECK(po.nhist - mark == 3);
	CHECK(po.hist[mark] == POWER_STATE_POWERING_OFF);
	CHECK(po.hist[mark + 1] == POWER_STATE_POWERING_ON);
	CHECK(po.hist[mark + 2] == POWER_STATE_ON);
	CHECK(po.resets == 3 && po.errors == 0);

	x = act(p, POWER_SOFT);
	CHECK(x.r == POWER_OK);
	WAIT_FOR(po.state == POWER_STATE_OFF, 2000);
	CHECK(po.errors == 0);
	x = act(p, POWER_PUSH_BUTTON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	CHECK_STR(pe.last, "cont");

	/* A QEMU that stops answering. */
	pe.hang = true;
	x = act(p, POWER_OFF);
	CHECK(x.r == POWER_E_TIMEOUT);
	CHECK(strstr(x.detail, "stop") != NULL);
	CHECK(po.state == POWER_STATE_ON && power_qmp_connected(p));

	/* Freeing fails the running and the queued request, and says nothing else. */
	power_request(p, POWER_CYCLE, done_cb, &y);
	power_request(p, POWER_NMI, done_cb, &z);
	CHECK(y.calls == 0 && z.calls == 0);
	changes = po.nhist;
	power_free(p);
	CHECK(y.calls == 1 && y.r == POWER_E_UNAVAILABLE);
	CHECK(z.calls == 1 && z.r == POWER_E_UNAVAILABLE);
	spin(50);
	CHECK(po.nhist == changes && y.calls == 1 && z.calls == 1);
	peer_close(&pe);
	spin(20);
}

/* ================= 3. real QEMU ================= */

static char tmpdir[64];
static pid_t qemu_pids[4];
static char qemu_socks[4][128];
static int nqemu;

static void cleanup(void)
{
	int i;

	for (i = 0; i < nqemu; i++) {
		if (qemu_pids[i] > 0) {
			kill(qemu_pids[i], SIGKILL);
			waitpid(qemu_pids[i], NULL, 0);
			qemu_pids[i] = 0;
		}
		unlink(qemu_socks[i]);
	}
	if (tmpdir[0])
		rmdir(tmpdir);
}

static bool have_qemu(void)
{
	const char *path = getenv("PATH");
	char buf[4096], *dir, *save = NULL;
	char exe[4200];

	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/qemu-system-x86_64", dir);
		if (access(exe, X_OK) == 0)
			return true;
	}
	return false;
}

static int qemu_start(void)
{
	char arg[200];
	pid_t pid;
	int i = nqemu;

	CHECK(i < 4);
	snprintf(qemu_socks[i], sizeof(qemu_socks[i]), "%s/qmp%d.sock", tmpdir, i);
	snprintf(arg, sizeof(arg), "unix:%s,server=on,wait=off", qemu_socks[i]);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "q35", "-accel",
		       "tcg", "-m", "64", "-nodefaults", "-display", "none", "-no-shutdown", "-qmp",
		       arg, (char *)NULL);
		_exit(127);
	}
	qemu_pids[i] = pid;
	nqemu++;
	return i;
}

static int qemu_connect(int i)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, tries;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", qemu_socks[i]);
	for (tries = 0; tries < 500; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		REQUIRE(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		REQUIRE(waitpid(qemu_pids[i], NULL, WNOHANG) == 0);
		usleep(20000);
	}
	CHECK(!"QEMU did not create its QMP socket");
	return -1;
}

static void qemu_kill(int i)
{
	CHECK(kill(qemu_pids[i], SIGKILL) == 0);
	CHECK(waitpid(qemu_pids[i], NULL, 0) == qemu_pids[i]);
	qemu_pids[i] = 0;
}

static void query_status(struct power *p, const char *want)
{
	struct reply r = {0};

	CHECK(power_qmp_command(p, "query-status", NULL, reply_cb, &r) == 0);
	WAIT_FOR(r.calls == 1, 5000);
	CHECK(r.ok);
	CHECK_STR(r.status, want);
}

static void qemu_off_paths(struct power *p)
{
	struct res x;
	int mark;

	x = act(p, POWER_OFF);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_OFF);
	query_status(p, "paused");

	x = act(p, POWER_OFF);
	CHECK(x.r == POWER_OK);
	CHECK_STR(x.detail, "already off");
	x = act(p, POWER_NMI);
	CHECK(x.r == POWER_E_STATE);
	x = act(p, POWER_SOFT);
	CHECK(x.r == POWER_E_STATE);
	CHECK_STR(x.detail, "already off");
	x = act(p, POWER_RESET);
	CHECK(x.r == POWER_E_STATE);
	x = act(p, POWER_CYCLE);
	CHECK(x.r == POWER_E_STATE);
	x = act(p, POWER_GRACEFUL_RESTART);
	CHECK(x.r == POWER_E_STATE);

	mark = po.nhist;
	x = act(p, POWER_ON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	CHECK(seen_since(mark, POWER_STATE_POWERING_ON));
	query_status(p, "running");
}

static void qemu_on_paths(struct power *p)
{
	struct res x = {0}, many[6];
	int i, resets = po.resets, mark;

	/* Already on: answered before power_request returns, no QMP. */
	mark = po.nhist;
	power_request(p, POWER_ON, done_cb, &x);
	CHECK(x.calls == 1 && x.r == POWER_OK);
	CHECK_STR(x.detail, "already on");
	CHECK(po.nhist == mark);

	x = act(p, POWER_CYCLE);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	CHECK(seen_since(mark, POWER_STATE_OFF));
	x = act(p, POWER_RESET);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	WAIT_FOR(po.resets >= resets + 2, 2000);
	x = act(p, POWER_NMI);
	CHECK(x.r == POWER_OK);
	query_status(p, "running");

	/* One runs, four wait, the sixth is turned away at once. */
	memset(many, 0, sizeof(many));
	for (i = 0; i < 6; i++)
		power_request(p, POWER_NMI, done_cb, &many[i]);
	CHECK(many[5].calls == 1 && many[5].r == POWER_E_BUSY);
	for (i = 0; i < 5; i++) {
		WAIT_FOR(many[i].calls == 1, 5000);
		CHECK(many[i].r == POWER_OK);
	}
}

/* No guest OS: the button is ignored and the waits run out. */
static void qemu_soft_paths(struct power *p)
{
	struct res x;
	int errors = po.errors;

	x = act(p, POWER_SOFT);
	CHECK(x.r == POWER_OK && x.state_at == POWER_STATE_POWERING_OFF);
	CHECK(po.state == POWER_STATE_POWERING_OFF);
	WAIT_FOR(po.state == POWER_STATE_ON, 3000);
	CHECK(po.errors == errors + 1);
	CHECK_STR(po.error, "guest ignored the power button");

	x = act(p, POWER_GRACEFUL_RESTART);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_POWERING_OFF);
	WAIT_FOR(po.state == POWER_STATE_ON, 3000);
	CHECK(po.errors == errors + 2);

	/* A new action wins over the wait, which then stays silent. */
	x = act(p, POWER_PUSH_BUTTON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_POWERING_OFF);
	x = act(p, POWER_OFF);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_OFF);
	x = act(p, POWER_PUSH_BUTTON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	x = act(p, POWER_SOFT);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_POWERING_OFF);
	x = act(p, POWER_ON);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_ON);
	CHECK_STR(x.detail, "already on");
	spin(800);
	CHECK(po.errors == errors + 2 && po.state == POWER_STATE_ON);
}

static void test_qemu(void)
{
	struct power *p = power_setup(5000, 500, 500);
	struct res x = {0};
	struct reply r = {0};
	int want, q1, q2;

	q1 = qemu_start();
	power_qmp_attach(p, qemu_connect(q1));
	CHECK(po.state == POWER_STATE_UNKNOWN);
	/* QEMU starts running SeaBIOS. */
	WAIT_FOR(po.state == POWER_STATE_ON, 10000);
	CHECK(power_qmp_connected(p));

	qemu_off_paths(p);
	qemu_on_paths(p);
	qemu_soft_paths(p);

	/* QEMU dies: state unknown, ask for a new connection. */
	want = po.want;
	qemu_kill(q1);
	WAIT_FOR(po.state == POWER_STATE_UNKNOWN && po.want == want + 1, 5000);
	CHECK(!power_qmp_connected(p));
	CHECK(strstr(po.error, "QMP connection lost") != NULL);
	power_request(p, POWER_ON, done_cb, &x);
	CHECK(x.calls == 1 && x.r == POWER_E_UNAVAILABLE);
	CHECK(power_qmp_command(p, "query-status", NULL, reply_cb, &r) == -ENOTCONN);

	/* A new QEMU on a new path is tracked again. */
	q2 = qemu_start();
	power_qmp_attach(p, qemu_connect(q2));
	WAIT_FOR(po.state == POWER_STATE_ON, 10000);
	x = act(p, POWER_OFF);
	CHECK(x.r == POWER_OK && po.state == POWER_STATE_OFF);
	query_status(p, "paused");

	/* Freed while a command runs: the request still gets its answer. */
	memset(&x, 0, sizeof(x));
	power_request(p, POWER_ON, done_cb, &x);
	CHECK(x.calls == 0);
	power_free(p);
	CHECK(x.calls == 1 && x.r == POWER_E_UNAVAILABLE);
	spin(50);
	CHECK(x.calls == 1);
	qemu_kill(q2);
}

int main(void)
{
	struct peer silent = {0};
	struct qobs hung = {0};
	struct qmp *hq;
	uint64_t t0;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
	loop = uv_default_loop();
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, tick_cb, 10, 10);

	test_parse_valid();
	test_parse_invalid();
	test_reader_split();
	test_reader_limit();

	/* The 5 s greeting deadline runs while the other tests do. */
	hq = qmp_new(loop, &qcbs, &hung);
	fd = peer_start(&silent, false);
	/* the deadline timer starts from the loop's cached time: take t0 from
	 * the same clock (peer_start can take a while under valgrind) */
	uv_update_time(loop);
	t0 = uv_now(loop);
	CHECK(qmp_attach(hq, fd) == 0);

	test_qmp_commands();
	test_qmp_broken();
	test_qmp_events_before_greeting();
	test_qmp_too_long();
	test_qmp_reentrant();
	test_power_backoff();
	test_power_status_timeout();
	test_power_fake();

	WAIT_FOR(hung.lost == 1, 7000);
	CHECK(uv_now(loop) - t0 >= 4900);
	CHECK(strstr(hung.reason, "greeting") != NULL);
	CHECK(hung.ready == 0);
	qmp_free(hq);
	peer_close(&silent);

	if (!have_qemu()) {
		printf("SKIP: qemu-system-x86_64 not found in PATH (%d checks passed before)\n",
		       passed);
		return 77;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vbmc-test-qmp-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	test_qemu();

	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(loop) == 0);
	printf("%d passed, 0 failed\n", passed);
	return 0;
}
