/* Logging for both processes: journald with per-node fields when a journal
 * socket exists, stderr with a node prefix otherwise.  Library-style code in
 * common/ does not log; callers log once, with context. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

/* ident: "vbmc-supervisor" or "vbmc-worker".  node/address may be NULL and
 * may be changed later with log_set_node(). */
void log_init(const char *ident, int verbose);
void log_set_node(const char *node, const char *address);
/* Make sure the journal socket is open now (before the sandbox forbids socket()). */
void log_open(void);
int log_is_journal(void);
/* Lines journald could not take at once wait in a bounded backlog.  hook
 * is called when it stops being empty (log_loop.c starts a flush timer);
 * log_flush() sends what journald takes now and returns how much still
 * waits; log_flush_final() waits a little per line, for the way out. */
void log_set_backlog_hook(void (*hook)(void));
size_t log_flush(void);
void log_flush_final(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Per-node line from the supervisor: carries VBMC_NODE/VBMC_ADDRESS of that node. */
void log_node(int prio, const char *node, const char *address, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_errx(...)  log_msg(LOG_ERR, __VA_ARGS__)

/* Broken invariant: log (with node) and exit.  fatal() appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
