/* Logging: journald's native protocol with VBMC_NODE/VBMC_ADDRESS fields,
 * or stderr with a node prefix when no journal socket exists (or when
 * VBMC_LOG=stderr).  Both processes use it; per-node supervisor lines pass
 * the node explicitly through log_node(). */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static struct {
	const char *ident;
	char node[80];
	char address[64];
	int verbose;
	int journal;
} lg = {.ident = "vbmc"};

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
	/* sd-journal opens its datagram socket on first use; do that now,
	 * while socket() is still allowed. */
	if (lg.journal)
		log_msg(LOG_INFO, "logging to journald");
}

static void emit(int prio, const char *node, const char *address, const char *text)
{
	if (prio == LOG_DEBUG && !lg.verbose)
		return;
	if (!lg.journal) {
		if (node && *node)
			fprintf(stderr, "%s[%s]: %s\n", lg.ident, node, text);
		else
			fprintf(stderr, "%s: %s\n", lg.ident, text);
		return;
	}
	if (node && *node)
		sd_journal_send("MESSAGE=%s", text, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s",
				lg.ident, "VBMC_NODE=%s", node, "VBMC_ADDRESS=%s",
				address ? address : "", NULL);
	else
		sd_journal_send("MESSAGE=%s", text, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s",
				lg.ident, NULL);
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
