/*
 * QMP client: the line parser and one connection to QEMU's monitor.
 *
 * Each attached fd gets its own struct qmp_conn.  Closing a libuv handle
 * completes only on a later loop turn, so a connection that is going away
 * keeps its own pipe, timer and line buffer until then, and a new fd can be
 * attached at once, even from inside a callback, without sharing anything
 * with the old one.
 *
 * Lifetime of struct qmp: a reference count, one for the owner (dropped by
 * qmp_free) and one for every connection and command timer not yet closed.
 * Every user callback is called from code running on behalf of such a
 * handle, so whatever the callback does (detach, attach, free) the code that
 * called it can still look at q afterwards; it only has to check whether
 * its connection is still the current one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmp.h"

#define QMP_GREETING_MS 5000 /* QEMU greets at once; silence means a hung peer */
#define QMP_READ_CHUNK	16384
#define QMP_BUF_MIN	4096

struct qmp_cmd {
	struct qmp_cmd *next;
	struct qmp *q;
	unsigned long long id;
	qmp_reply_cb cb;
	void *arg;
	uv_timer_t timer;
};

struct qmp_conn {
	struct qmp *q;	   /* NULL once closing: ignore whatever still arrives */
	struct qmp *owner; /* holds a reference until both handles are closed */
	uv_pipe_t pipe;
	uv_timer_t greeting;
	int open_handles;
	bool greeted;
	struct qmp_reader rd;
	char rbuf[QMP_READ_CHUNK];
};

struct qmp {
	uv_loop_t *loop;
	struct qmp_callbacks cb;
	void *arg;
	struct qmp_conn *conn; /* NULL when not connected */
	bool ready;
	bool freed;
	unsigned refs;
	unsigned long long next_id;
	struct qmp_cmd *pending;
};

struct qmp_wreq {
	uv_write_t req;
	char data[];
};

/* ---- parser ---- */

static int parse_id(json_t *body, struct qmp_msg *m)
{
	json_t *id = json_object_get(body, "id");

	if (!id)
		return 0;
	/* We only send integer ids; anything else is not a reply to us. */
	if (!json_is_integer(id) || json_integer_value(id) < 0)
		return -EBADMSG;
	m->has_id = true;
	m->id = (unsigned long long)json_integer_value(id);
	return 0;
}

static int parse_error(json_t *err, struct qmp_msg *m)
{
	json_t *desc = json_object_get(err, "desc");

	if (!json_is_object(err) || !json_is_string(desc))
		return -EBADMSG;
	m->kind = QMP_ERROR;
	m->error = json_string_value(desc);
	return 0;
}

static int parse_event(json_t *body, json_t *name, struct qmp_msg *m)
{
	json_t *data = json_object_get(body, "data");

	if (!json_is_string(name) || (data && !json_is_object(data)))
		return -EBADMSG;
	m->kind = QMP_EVENT;
	m->event = json_string_value(name);
	m->value = data;
	return 0;
}

/* Exactly one of the four members decides the kind; a message carrying two
 * of them is ambiguous and rejected rather than guessed at. */
static int classify(json_t *body, struct qmp_msg *m)
{
	json_t *greet = json_object_get(body, "QMP");
	json_t *ret = json_object_get(body, "return");
	json_t *err = json_object_get(body, "error");
	json_t *event = json_object_get(body, "event");

	if (!!greet + !!ret + !!err + !!event != 1)
		return -EBADMSG;
	if (parse_id(body, m) < 0)
		return -EBADMSG;
	if (greet) {
		if (!json_is_object(greet))
			return -EBADMSG;
		m->kind = QMP_GREETING;
		return 0;
	}
	if (ret) {
		m->kind = QMP_RETURN;
		m->value = ret;
		return 0;
	}
	if (err)
		return parse_error(err, m);
	return parse_event(body, event, m);
}

int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret)
{
	json_error_t jerr;
	json_t *body;

	memset(ret, 0, sizeof(*ret));
	body = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body)
		return -EBADMSG;
	if (!json_is_object(body) || classify(body, ret) < 0) {
		json_decref(body);
		memset(ret, 0, sizeof(*ret));
		return -EBADMSG;
	}
	ret->body = body;
	return 0;
}

/* ---- line splitter ---- */

static int reader_append(struct qmp_reader *r, const char *data, size_t n)
{
	size_t need = r->len + n;
	size_t cap = r->cap ? r->cap : QMP_BUF_MIN;
	char *buf;

	if (need <= r->cap) {
		memcpy(r->buf + r->len, data, n);
		r->len = need;
		return 0;
	}
	while (cap < need)
		cap *= 2;
	/* The caller already checked need <= QMP_LINE_MAX: never grow past it. */
	if (cap > QMP_LINE_MAX)
		cap = QMP_LINE_MAX;
	buf = realloc(r->buf, cap);
	if (!buf)
		return -ENOMEM;
	r->buf = buf;
	r->cap = cap;
	memcpy(r->buf + r->len, data, n);
	r->len = need;
	return 0;
}

static void reader_emit(const char *line, size_t len, qmp_line_cb cb, void *arg)
{
	if (len && line[len - 1] == '\r')
		len--;
	/* Blank lines carry nothing; QEMU never sends them but a tester might. */
	if (len)
		cb(arg, line, len);
}

int qmp_reader_feed(struct qmp_reader *r, const char *data, size_t n, qmp_line_cb cb, void *arg)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int e;

		if (take > QMP_LINE_MAX - r->len) {
			r->len = 0;
			return -EMSGSIZE;
		}
		if (!nl)
			return reader_append(r, data, take);
		if (r->len == 0) {
			/* The common case: a whole line in one read, no copy. */
			reader_emit(data, take, cb, arg);
		} else {
			e = reader_append(r, data, take);
			if (e < 0)
				return e;
			reader_emit(r->buf, r->len, cb, arg);
			r->len = 0;
		}
		data += take + 1;
		n -= take + 1;
	}
	return 0;
}

void qmp_reader_reset(struct qmp_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
	r->cap = 0;
}

/* ---- lifetime ---- */

static void qmp_unref(struct qmp *q)
{
	if (--q->refs == 0)
		free(q);
}

struct qmp *qmp_new(uv_loop_t *loop, const struct qmp_callbacks *cb, void *arg)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->loop = loop;
	if (cb)
		q->cb = *cb;
	q->arg = arg;
	q->refs = 1;
	q->next_id = 1;
	return q;
}

bool qmp_is_ready(const struct qmp *q)
{
	return q && q->conn && q->ready;
}

/* ---- commands ---- */

static void cmd_closed(uv_handle_t *h)
{
	struct qmp_cmd *cmd = h->data;
	struct qmp *q = cmd->q;

	free(cmd);
	qmp_unref(q);
}

/* The command must already be off the pending list. */
static void cmd_finish(struct qmp_cmd *cmd, json_t *ret, const char *error)
{
	uv_close((uv_handle_t *)&cmd->timer, cmd_closed);
	cmd->cb(cmd->arg, ret, error);
}

static struct qmp_cmd *cmd_take(struct qmp *q, unsigned long long id)
{
	struct qmp_cmd **pp, *cmd;

	for (pp = &q->pending; (cmd = *pp); pp = &cmd->next) {
		if (cmd->id == id) {
			*pp = cmd->next;
			return cmd;
		}
	}
	return NULL;
}

static void cmd_timeout(uv_timer_t *t)
{
	struct qmp_cmd *cmd = t->data;

	/* Forget the id: a reply that still arrives finds nobody and is dropped. */
	cmd_take(cmd->q, cmd->id);
	cmd_finish(cmd, NULL, "timeout");
}

/* Detach the list first: callbacks may issue new commands, which must not
 * be failed by this round. */
static void fail_pending(struct qmp *q, const char *why)
{
	struct qmp_cmd *cmd = q->pending, *next;

	q->pending = NULL;
	for (; cmd; cmd = next) {
		next = cmd->next;
		cmd_finish(cmd, NULL, why);
	}
}

static void write_done(uv_write_t *req, int status);

static int conn_write(struct qmp_conn *c, json_t *msg)
{
	struct qmp_wreq *w;
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len;
	uv_buf_t buf;
	int r;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	w = malloc(sizeof(*w) + len + 1);
	if (!w) {
		free(text);
		return -ENOMEM;
	}
	memcpy(w->data, text, len);
	w->data[len] = '\n';
	free(text);
	buf = uv_buf_init(w->data, len + 1);
	r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done);
	if (r < 0)
		free(w);
	return r;
}

static json_t *cmd_build(const char *name, json_t *args, unsigned long long id)
{
	json_t *msg = json_object();

	if (!msg || json_object_set_new(msg, "execute", json_string(name)) < 0 ||
	    (args && json_object_set(msg, "arguments", args) < 0) ||
	    json_object_set_new(msg, "id", json_integer((json_int_t)id)) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

/* Send without the ready check: qmp_capabilities goes out before ready. */
static int cmd_send(struct qmp *q, const char *name, json_t *args, unsigned timeout_ms,
		    qmp_reply_cb cb, void *arg)
{
	struct qmp_cmd *cmd = calloc(1, sizeof(*cmd));
	json_t *msg;
	int r;

	msg = cmd ? cmd_build(name, args, q->next_id) : NULL;
	json_decref(args);
	if (!msg) {
		free(cmd);
		return -ENOMEM;
	}
	r = conn_write(q->conn, msg);
	json_decref(msg);
	if (r < 0) {
		free(cmd);
		return r;
	}
	cmd->q = q;
	cmd->id = q->next_id++;
	cmd->cb = cb;
	cmd->arg = arg;
	uv_timer_init(q->loop, &cmd->timer);
	cmd->timer.data = cmd;
	q->refs++;
	uv_timer_start(&cmd->timer, cmd_timeout, timeout_ms ? timeout_ms : QMP_TIMEOUT_MS, 0);
	cmd->next = q->pending;
	q->pending = cmd;
	return 0;
}

int qmp_command(struct qmp *q, const char *cmd, json_t *args, unsigned timeout_ms, qmp_reply_cb cb,
		void *arg)
{
	if (!qmp_is_ready(q) || q->freed) {
		json_decref(args);
		return -ENOTCONN;
	}
	return cmd_send(q, cmd, args, timeout_ms, cb, arg);
}

/* ---- connection ---- */

static void conn_closed(uv_handle_t *h)
{
	struct qmp_conn *c = h->data;

	if (--c->open_handles > 0)
		return;
	qmp_reader_reset(&c->rd);
	qmp_unref(c->owner);
	free(c);
}

static void conn_close_handles(struct qmp_conn *c)
{
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
	uv_close((uv_handle_t *)&c->greeting, conn_closed);
}

/* reason NULL: the owner asked for it, so lost() is not called. */
static void conn_drop(struct qmp *q, const char *reason)
{
	struct qmp_conn *c = q->conn;

	if (!c)
		return;
	q->conn = NULL;
	q->ready = false;
	c->q = NULL;
	conn_close_handles(c);
	fail_pending(q, "disconnected");
	if (reason && !q->freed && q->cb.lost)
		q->cb.lost(q->arg, reason);
}

static void write_done(uv_write_t *req, int status)
{
	struct qmp_wreq *w = (struct qmp_wreq *)req;
	struct qmp_conn *c = req->handle->data;
	char reason[128];

	free(w);
	if (status < 0 && status != UV_ECANCELED && c->q) {
		snprintf(reason, sizeof(reason), "QMP write failed: %s", uv_strerror(status));
		conn_drop(c->q, reason);
	}
}

static void caps_done(void *arg, json_t *ret, const char *error)
{
	struct qmp *q = arg;
	char reason[256];

	(void)ret;
	if (error) {
		/* "disconnected": the connection is already gone and reported. */
		if (strcmp(error, "disconnected") != 0) {
			snprintf(reason, sizeof(reason), "qmp_capabilities failed: %s", error);
			conn_drop(q, reason);
		}
		return;
	}
	q->ready = true;
	if (q->cb.ready)
		q->cb.ready(q->arg);
}

static void on_greeting(struct qmp *q, struct qmp_conn *c)
{
	int r;

	c->greeted = true;
	uv_timer_stop(&c->greeting);
	r = cmd_send(q, "qmp_capabilities", NULL, QMP_TIMEOUT_MS, caps_done, q);
	if (r < 0)
		conn_drop(q, "cannot send qmp_capabilities");
}

static void on_reply(struct qmp *q, const struct qmp_msg *m)
{
	struct qmp_cmd *cmd;

	/* No id or an unknown one: a reply to a command that timed out. */
	if (!m->has_id)
		return;
	cmd = cmd_take(q, m->id);
	if (!cmd)
		return;
	if (m->kind == QMP_RETURN)
		cmd_finish(cmd, m->value, NULL);
	else
		cmd_finish(cmd, NULL, m->error);
}

static void on_message(struct qmp *q, struct qmp_conn *c, const struct qmp_msg *m)
{
	if (!c->greeted) {
		/* QEMU can send an event first: a client that connects while
		 * the VM is being started may get RESUME before the greeting
		 * (seen with QEMU 7.2).  It is skipped: query-status after the
		 * greeting gives the state anyway, and the greeting deadline
		 * still bounds a peer that only sends events. */
		if (m->kind == QMP_GREETING)
			on_greeting(q, c);
		else if (m->kind != QMP_EVENT)
			conn_drop(q, "QMP message before the greeting");
		return;
	}
	switch (m->kind) {
	case QMP_GREETING:
		break; /* a repeated greeting tells us nothing */
	case QMP_EVENT:
		if (q->cb.event)
			q->cb.event(q->arg, m->event, m->value);
		break;
	case QMP_RETURN:
	case QMP_ERROR:
		on_reply(q, m);
		break;
	}
}

static void conn_line(void *arg, const char *line, size_t len)
{
	struct qmp_conn *c = arg;
	struct qmp_msg m;

	/* The rest of a read after the connection was dropped. */
	if (!c->q)
		return;
	if (qmp_parse_message(line, len, &m) < 0) {
		conn_drop(c->q, "malformed QMP message");
		return;
	}
	on_message(c->q, c, &m);
	json_decref(m.body);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct qmp_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct qmp_conn *c = s->data;
	char reason[128];
	int r;

	if (!c->q || nread == 0)
		return;
	if (nread == UV_EOF) {
		conn_drop(c->q, "QEMU closed the QMP connection");
		return;
	}
	if (nread < 0) {
		snprintf(reason, sizeof(reason), "QMP read failed: %s", uv_strerror((int)nread));
		conn_drop(c->q, reason);
		return;
	}
	r = qmp_reader_feed(&c->rd, buf->base, (size_t)nread, conn_line, c);
	if (r < 0 && c->q)
		conn_drop(c->q, r == -EMSGSIZE ? "QMP message too long" : "out of memory");
}

static void greeting_timeout(uv_timer_t *t)
{
	struct qmp_conn *c = t->data;

	if (c->q)
		conn_drop(c->q, "no QMP greeting within 5 s");
}

static struct qmp_conn *conn_new(struct qmp *q)
{
	struct qmp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->q = q;
	c->owner = q;
	q->refs++;
	uv_pipe_init(q->loop, &c->pipe, 0);
	uv_timer_init(q->loop, &c->greeting);
	c->pipe.data = c;
	c->greeting.data = c;
	c->open_handles = 2;
	return c;
}

int qmp_attach(struct qmp *q, int fd)
{
	struct qmp_conn *c;
	int r;

	if (fd < 0)
		return -EBADF;
	qmp_detach(q);
	c = q->freed ? NULL : conn_new(q);
	if (!c) {
		close(fd);
		return q->freed ? -ESHUTDOWN : -ENOMEM;
	}
	r = uv_pipe_open(&c->pipe, fd);
	if (r < 0) {
		close(fd); /* not the pipe's yet: uv_close will not close it */
		goto fail;
	}
	r = uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
	if (r < 0)
		goto fail;
	uv_timer_start(&c->greeting, greeting_timeout, QMP_GREETING_MS, 0);
	q->conn = c;
	return 0;
fail:
	c->q = NULL;
	conn_close_handles(c);
	return r;
}

void qmp_detach(struct qmp *q)
{
	if (q)
		conn_drop(q, NULL);
}

void qmp_free(struct qmp *q)
{
	if (!q || q->freed)
		return;
	q->freed = true;
	conn_drop(q, NULL);
	fail_pending(q, "disconnected");
	qmp_unref(q);
}
