/* Logging: journald's native protocol with VBMC_NODE/VBMC_ADDRESS fields,
 * or stderr with a node prefix when no journal socket exists (or when
 * VBMC_LOG=stderr).  Both processes use it; per-node supervisor lines pass
 * the node explicitly through log_node().
 *
 * We speak the native protocol ourselves instead of sd_journal_send(),
 * which blocks while journald's queue is full: both processes log from
 * their only event-loop thread, so a stalled journald stopped every BMC
 * (found by tests/integration/test_load.py).  A send may wait JOURNAL_WAIT_MS
 * for room, enough for journald to catch up with a burst; after a send
 * that timed out, lines are sent only if there is room at once, and the
 * ones dropped are counted and reported when journald reads again. */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define JOURNAL_WAIT_MS 100
#define MAX_FIELDS	5

static struct {
	const char *ident;
	char node[80];
	char address[64];
	int verbose;
	int journal;
	int fd;		   /* datagram socket to journald, -1 until opened */
	int stalled;	   /* the last send timed out: do not wait again */
	unsigned long dropped; /* lines lost while stalled, not yet reported */
} lg = {.ident = "vbmc", .fd = -1};

void log_init(const char *ident, int verbose)
{
	const char *mode = getenv("VBMC_LOG");

	lg.ident = ident;
	lg.verbose = verbose;
	if (mode && strcmp(mode, "stderr") == 0)
		lg.journal = 0;
	else if (mode && strcmp(mode, "journal") == 0)
		lg.journal = 1;
	else
		lg.journal = access(JOURNAL_SOCKET, W_OK) == 0;
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
	struct timeval wait = {.tv_usec = JOURNAL_WAIT_MS * 1000};

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

struct record {
	struct iovec iov[MAX_FIELDS * 4];
	uint8_t lens[MAX_FIELDS][8];
	int n_iov, n_fields;
};

/* The protocol's binary field form: NAME '\n' le64(size) VALUE '\n'.  It
 * carries any byte, so no value (a node name, a peer's text in a message)
 * can break the record or forge a field. */
static void add_field(struct record *r, const char *name, const char *value)
{
	size_t len = strlen(value);
	uint8_t *l = r->lens[r->n_fields++];

	for (int i = 0; i < 8; i++)
		l[i] = (uint8_t)(len >> (8 * i));
	r->iov[r->n_iov++] = (struct iovec){(void *)name, strlen(name)};
	r->iov[r->n_iov++] = (struct iovec){l, 8};
	r->iov[r->n_iov++] = (struct iovec){(void *)value, len};
	r->iov[r->n_iov++] = (struct iovec){"\n", 1};
}

static int journal_send(int prio, const char *node, const char *address, const char *text)
{
	static const struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET};
	char p[4] = {'0' + (char)(prio & 7), 0};
	struct record r = {.n_iov = 0};
	struct msghdr mh = {.msg_name = (void *)&sa, .msg_namelen = sizeof(sa)};

	add_field(&r, "MESSAGE\n", text);
	add_field(&r, "PRIORITY\n", p);
	add_field(&r, "SYSLOG_IDENTIFIER\n", lg.ident);
	if (node && *node) {
		add_field(&r, "VBMC_NODE\n", node);
		add_field(&r, "VBMC_ADDRESS\n", address ? address : "");
	}
	mh.msg_iov = r.iov;
	mh.msg_iovlen = (size_t)r.n_iov;
	if (sendmsg(lg.fd, &mh, MSG_NOSIGNAL | (lg.stalled ? MSG_DONTWAIT : 0)) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		lg.stalled = 1;
	return -1;
}

static void journal_emit(int prio, const char *node, const char *address, const char *text)
{
	char note[96];

	if (journal_send(prio, node, address, text) < 0) {
		lg.dropped++;
		return;
	}
	if (lg.stalled || lg.dropped) {
		unsigned long n = lg.dropped;
		lg.stalled = 0;
		lg.dropped = 0;
		snprintf(note, sizeof(note), "%lu log lines dropped: journald was not reading", n);
		if (journal_send(LOG_WARNING, lg.node, lg.address, note) < 0)
			lg.dropped = n; /* the note is lost, the count is not */
	}
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
	exit(1);
}
