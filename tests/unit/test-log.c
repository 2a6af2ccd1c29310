/* common/log.c against a socket that plays journald: records in the
 * native protocol's binary form, no blocking while journald does not read,
 * order kept through the backlog, and the loss counted when it overflows. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "tap.h"

#define LINES 3000 /* more than the socket queue and the backlog together */

struct field {
	char name[32];
	char value[1100];
};

/* One datagram into fields; -1 if it is not well formed. */
static int parse(const uint8_t *p, size_t n, struct field *f, int max)
{
	int k = 0;
	size_t i = 0;

	while (i < n && k < max) {
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		uint64_t len = 0;
		if (!nl || (size_t)(nl - (p + i)) >= sizeof(f[k].name))
			return -1;
		memcpy(f[k].name, p + i, (size_t)(nl - (p + i)));
		f[k].name[nl - (p + i)] = '\0';
		i = (size_t)(nl - p) + 1;
		if (n - i < 8)
			return -1;
		for (int b = 0; b < 8; b++)
			len |= (uint64_t)p[i + b] << (8 * b);
		i += 8;
		if (len >= sizeof(f[k].value) || n - i < len + 1 || p[i + len] != '\n')
			return -1;
		memcpy(f[k].value, p + i, len);
		f[k].value[len] = '\0';
		i += len + 1;
		k++;
	}
	return i == n ? k : -1;
}

static const char *get(const struct field *f, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return f[i].value;
	return NULL;
}

static int open_journal(char *dir, char *path, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(path, size, "%s/socket", dir);
	strcpy(sa.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* Read until the log has nothing more to send; check order as we go. */
static void drain(int fd, int *next, unsigned long *dropped, int *bad)
{
	uint8_t buf[4096];
	struct field f[8];

	for (int idle = 0; idle < 3;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int n;
		const char *m;
		if (r < 0) {
			idle += log_flush() == 0;
			continue;
		}
		idle = 0;
		n = parse(buf, (size_t)r, f, 8);
		m = n > 0 ? get(f, n, "MESSAGE") : NULL;
		if (!m) {
			(*bad)++;
		} else if (strstr(m, "log lines dropped: journald was not reading")) {
			*dropped = strtoul(m, NULL, 10);
		} else if (atoi(m + 5) != (*next)++) {
			(*bad)++;
		}
	}
}

static void test_fields(int fd)
{
	uint8_t buf[4096];
	struct field f[8];
	ssize_t r;
	int n;

	log_set_node("node-a", "127.0.0.9");
	log_msg(LOG_WARNING, "hello\nPRIORITY=0\nVBMC_NODE=evil");
	r = recv(fd, buf, sizeof(buf), 0);
	n = r > 0 ? parse(buf, (size_t)r, f, 8) : -1;
	CHECK(n == 5);
	CHECK(n == 5 && !strcmp(get(f, n, "MESSAGE"), "hello\nPRIORITY=0\nVBMC_NODE=evil"));
	CHECK(n == 5 && !strcmp(get(f, n, "PRIORITY"), "4"));
	CHECK(n == 5 && !strcmp(get(f, n, "VBMC_NODE"), "node-a"));
	CHECK(n == 5 && !strcmp(get(f, n, "VBMC_ADDRESS"), "127.0.0.9"));
	CHECK(n == 5 && !strcmp(get(f, n, "SYSLOG_IDENTIFIER"), "test-log"));
	log_set_node(NULL, NULL);
}

int main(void)
{
	char dir[] = "/tmp/vbmc-test-log-XXXXXX", path[128];
	unsigned long dropped = 0;
	int fd, next = 0, bad = 0;

	if (!mkdtemp(dir))
		return 1;
	fd = open_journal(dir, path, sizeof(path));
	CHECK(fd >= 0);
	setenv("VBMC_JOURNAL_SOCKET", path, 1);
	setenv("VBMC_LOG", "journal", 1);
	log_init("test-log", 0);
	log_open();
	CHECK(log_is_journal());
	test_fields(fd);

	/* nobody reads: a blocking logger would hang here (the test's timeout).
	 * The longest node name and address the log keeps: the "dropped" note
	 * carries them too (a fixed-size note buffer once overflowed here). */
	log_set_node("node-name-of-seventy-nine-characters-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		     "fd00:1234:5678:9abc:def0:1234:5678:9abc%interface-name-long-xx");
	for (int i = 0; i < LINES; i++)
		log_msg(LOG_INFO, "line %d", i);
	CHECK(log_flush() > 0);
	drain(fd, &next, &dropped, &bad);
	CHECK(bad == 0);
	CHECK(dropped > 0 && next + (long)dropped == LINES);
	CHECK(log_flush() == 0);

	/* journald reads again: a line goes straight through */
	log_msg(LOG_INFO, "line %d", next);
	{
		int before = next;
		drain(fd, &next, &dropped, &bad);
		CHECK(next == before + 1 && bad == 0);
	}
	close(fd);
	unlink(path);
	rmdir(dir);
	return test_done();
}
