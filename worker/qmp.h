/* QMP client: one connection to the node's QEMU monitor on an fd the
 * supervisor connected for us.  Messages are JSON objects, one per line.
 * Replies are matched to commands by "id"; events go to a callback;
 * every command has a deadline so a hung QEMU never blocks the loop. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <uv.h>

#define QMP_LINE_MAX (256 * 1024) /* longest message we accept */
#define QMP_TIMEOUT_MS 5000       /* default per-command deadline */

/* ---- the pure parser (no I/O; unit-tested and fuzzed) ---- */
enum qmp_kind {
	QMP_GREETING, /* {"QMP": {...}} */
	QMP_RETURN,   /* {"return": X, "id": N} */
	QMP_ERROR,    /* {"error": {"class": C, "desc": D}, "id": N} */
	QMP_EVENT,    /* {"event": NAME, "data": {...}, "timestamp": {...}} */
};

struct qmp_msg {
	enum qmp_kind kind;
	bool has_id;
	unsigned long long id;
	const char *event;     /* QMP_EVENT: name (points into body) */
	const char *error;     /* QMP_ERROR: desc (points into body) */
	json_t *value;         /* QMP_RETURN: the return value; QMP_EVENT: data (may be NULL) */
	json_t *body;          /* the whole message, owned: json_decref(body) when done */
};

/* Classify one line.  0 ok, -EBADMSG if not a valid QMP message. */
int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret);

/* Line splitter: feed bytes, get complete lines.  An over-long line is an
 * error (the connection is then dropped). */
struct qmp_reader {
	char *buf;
	size_t len, cap;
};
typedef void (*qmp_line_cb)(void *arg, const char *line, size_t len);
/* 0 ok, -EMSGSIZE line too long. */
int qmp_reader_feed(struct qmp_reader *r, const char *data, size_t n, qmp_line_cb cb, void *arg);
void qmp_reader_reset(struct qmp_reader *r);

/* ---- the connection ---- */
struct qmp;

/* ret: the "return" value (borrowed, valid during the call) or NULL on error;
 * error: NULL on success, else QEMU's "desc", "timeout" or "disconnected". */
typedef void (*qmp_reply_cb)(void *arg, json_t *ret, const char *error);

struct qmp_callbacks {
	void (*ready)(void *arg);                                /* capabilities negotiated */
	void (*event)(void *arg, const char *name, json_t *data); /* data may be NULL */
	void (*lost)(void *arg, const char *reason);             /* fd closed; pending cbs failed first */
};

struct qmp *qmp_new(uv_loop_t *loop, const struct qmp_callbacks *cb, void *arg);
/* Take ownership of a connected fd and start: greeting, qmp_capabilities,
 * then ready().  0 or -errno. */
int qmp_attach(struct qmp *q, int fd);
/* Close the connection now; pending commands get error "disconnected";
 * lost() is NOT called for a detach the caller asked for. */
void qmp_detach(struct qmp *q);
bool qmp_is_ready(const struct qmp *q);
/* Send {"execute": cmd, "arguments": args, "id": N}.  args is stolen (may be
 * NULL).  cb is called exactly once.  0 or -ENOTCONN. */
int qmp_command(struct qmp *q, const char *cmd, json_t *args, unsigned timeout_ms,
		qmp_reply_cb cb, void *arg);
/* Frees after closing handles (asynchronously completes on the loop). */
void qmp_free(struct qmp *q);
