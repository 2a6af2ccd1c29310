/* Logging: journald's native protocol with VBMC_NODE/VBMC_ADDRESS fields,
 * or stderr with a node prefix when no journal socket exists (or when
 * VBMC_LOG=stderr).  Both processes use it; per-node supervisor lines pass
 * the node explicitly through log_node().
 *
 * We speak the native protocol ourselves instead of sd_journal_send(),
 * which blocks while journald's queue is full: both processes log from
 * their only event-loop thread, so a stalled journald stopped every BMC
 * (found by tests/integration/test_load.py).  Lines are sent without
 * waiting; what journald cannot take now waits, in order, in a bounded
 * backlog that the next line and the loop's flush timer (log_loop.c) send
 * on.  Only when the backlog is full are lines dropped, counted, and the
 * count logged once journald reads again. */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define RECORD_MAX     2048 /* a line (1024) with its fields */
#define BACKLOG_MAX    1024 /* lines kept while journald does not read */
#define FINAL_WAIT_MS  200  /* per line at exit: then we go anyway */

struct pending {
	size_t len;
	uint8_t data[];
};

static struct {
	const char *ident;
	char node[80];
	char address[64];
	int verbose;
	int journal;
	int fd; /* datagram socket to journald, -1 until opened */
	struct pending *backlog[BACKLOG_MAX];
	size_t head, count;
	unsigned long dropped; /* lost to a full backlog, not yet reported */
	void (*hook)(void);    /* the backlog is no longer empty */
	struct sockaddr_un sa; /* journald's socket */
} lg = {.ident = "vbmc", .fd = -1};

void log_init(const char *ident, int verbose)
{
	const char *mode = getenv("VBMC_LOG");
	/* another socket: for tests/unit/test-log.c, which plays journald */
	const char *path = getenv("VBMC_JOURNAL_SOCKET");

	if (!path || strlen(path) >= sizeof(lg.sa.sun_path))
		path = JOURNAL_SOCKET;
	lg.sa.sun_family = AF_UNIX;
	strcpy(lg.sa.sun_path, path);
	lg.ident = ident;
	lg.verbose = verbose;
	if (mode && strcmp(mode, "stderr") == 0)
		lg.journal = 0;
	else if (mode && strcmp(mode, "journal") == 0)
		lg.journal = 1;
	else
		lg.journal = access(path, W_OK) == 0;
}

void log_set_node(const char *node, const char *address)
{
	snprintf(lg.node, sizeof(lg.node), "%s", node ? node : "");
	snprintf(lg.address, sizeof(lg.address), "%s", address ? address : "");
}

int log_is_journal(void)
{
	return lg.journal;
}

void log_open(void)
{
	/* blocking sends (log_flush_final only) wait at most this long */
	struct timeval wait = {.tv_usec = FINAL_WAIT_MS * 1000};

	/* now, while socket() is still allowed (the worker's sandbox comes next) */
	if (!lg.journal || lg.fd >= 0)
		return;
	lg.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (lg.fd < 0 || setsockopt(lg.fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof(wait)) < 0) {
		if (lg.fd >= 0)
			close(lg.fd);
		lg.fd = -1;
		lg.journal = 0; /* stderr it is */
	}
}

void log_set_backlog_hook(void (*hook)(void))
{
	lg.hook = hook;
}

/* The protocol's binary field form: NAME '\n' le64(size) VALUE '\n'.  It
 * carries any byte, so no value (a node name, a peer's text in a message)
 * can break the record or forge a field.  A value that does not fit is cut. */
static size_t add_field(uint8_t *buf, size_t n, const char *name, const char *value)
{
	size_t nlen = strlen(name), len = strlen(value);

	if (n + nlen + 10 > RECORD_MAX)
		return n;
	if (len > RECORD_MAX - n - nlen - 10)
		len = RECORD_MAX - n - nlen - 10;
	memcpy(buf + n, name, nlen);
	n += nlen;
	buf[n++] = '\n';
	for (int i = 0; i < 8; i++)
		buf[n++] = (uint8_t)(len >> (8 * i));
	memcpy(buf + n, value, len);
	n += len;
	buf[n++] = '\n';
	return n;
}

static size_t record(uint8_t *buf, int prio, const char *node, const char *address,
		     const char *text)
{
	char p[2] = {(char)('0' + (prio & 7)), 0};
	size_t n = 0;

	n = add_field(buf, n, "MESSAGE", text);
	n = add_field(buf, n, "PRIORITY", p);
	n = add_field(buf, n, "SYSLOG_IDENTIFIER", lg.ident);
	if (node && *node) {
		n = add_field(buf, n, "VBMC_NODE", node);
		n = add_field(buf, n, "VBMC_ADDRESS", address ? address : "");
	}
	return n;
}

static int send_record(const uint8_t *buf, size_t len, int flags)
{
	return sendto(lg.fd, buf, len, MSG_NOSIGNAL | flags, (const struct sockaddr *)&lg.sa,
		      sizeof(lg.sa)) < 0
		       ? -1
		       : 0;
}

static void backlog_push(const uint8_t *buf, size_t len)
{
	struct pending *p;

	if (lg.count == BACKLOG_MAX || !(p = malloc(sizeof(*p) + len))) {
		lg.dropped++;
		return;
	}
	p->len = len;
	memcpy(p->data, buf, len);
	lg.backlog[(lg.head + lg.count++) % BACKLOG_MAX] = p;
	if (lg.count == 1 && lg.hook)
		lg.hook();
}

/* Send what waits, in order, as far as journald takes it now. */
static void backlog_send(int flags)
{
	uint8_t note[RECORD_MAX]; /* record() fills up to RECORD_MAX */
	char text[96];

	while (lg.count) {
		struct pending *p = lg.backlog[lg.head];
		if (send_record(p->data, p->len, flags) < 0)
			return;
		free(p);
		lg.head = (lg.head + 1) % BACKLOG_MAX;
		lg.count--;
	}
	if (lg.dropped) {
		snprintf(text, sizeof(text), "%lu log lines dropped: journald was not reading",
			 lg.dropped);
		if (send_record(note, record(note, LOG_WARNING, lg.node, lg.address, text), flags) ==
		    0)
			lg.dropped = 0;
	}
}

size_t log_flush(void)
{
	if (lg.fd >= 0)
		backlog_send(MSG_DONTWAIT);
	return lg.count + (lg.dropped != 0);
}

void log_flush_final(void)
{
	if (lg.fd >= 0)
		backlog_send(0); /* waits FINAL_WAIT_MS at most per line */
}

static void journal_emit(int prio, const char *node, const char *address, const char *text)
{
	uint8_t buf[RECORD_MAX];
	size_t len = record(buf, prio, node, address, text);

	log_flush();
	if (lg.count || lg.dropped || send_record(buf, len, MSG_DONTWAIT) < 0)
		backlog_push(buf, len);
}

static void emit(int prio, const char *node, const char *address, const char *text)
{
	if (prio == LOG_DEBUG && !lg.verbose)
		return;
	if (lg.journal && lg.fd < 0)
		log_open();
	if (!lg.journal) {
		if (node && *node)
			fprintf(stderr, "%s[%s]: %s\n", lg.ident, node, text);
		else
			fprintf(stderr, "%s: %s\n", lg.ident, text);
		return;
	}
	journal_emit(prio, node, address, text);
}

static void vemit(int prio, const char *node, const char *address, const char *fmt,
		  va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	emit(prio, node, address, buf);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(prio, lg.node, lg.address, fmt, ap);
	va_end(ap);
}

void log_node(int prio, const char *node, const char *address, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(prio, node, address, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	char buf[900];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOG_CRIT, "fatal: %s: %s", buf, strerror(saved));
	log_flush_final();
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	char buf[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOG_CRIT, "fatal: %s", buf);
	log_flush_final();
	exit(1);
}
