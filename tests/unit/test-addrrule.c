/* supervisor/addrrule.c: which announced lines become BMC addresses. */
#include <string.h>

#include "supervisor/supervisor.h"
#include "tap.h"

static struct net_cidr nets[3];

static int check(const char *line, const char **why)
{
	struct net_addr a;

	return addr_check_line(line, strlen(line), nets, 3, &a, why);
}

static int accepted(const char *line)
{
	const char *why;

	return check(line, &why) == 0;
}

static const char *reason(const char *line)
{
	const char *why = "";

	if (check(line, &why) == 0)
		return "";
	return why;
}

struct lines {
	char got[8][80];
	int n, too_long;
};

static void collect(void *arg, const char *line, size_t len, bool too_long)
{
	struct lines *l = arg;

	if (too_long) {
		l->too_long++;
		return;
	}
	if (l->n < 8)
		memcpy(l->got[l->n++], line, len + 1);
}

static void test_linebuf(void)
{
	struct linebuf lb = {0};
	struct lines l = {0};
	char longl[200];

	linebuf_feed(&lb, "10.0.0.1\n10.0", 13, collect, &l);
	linebuf_feed(&lb, ".0.2\n", 5, collect, &l);
	CHECK(l.n == 2 && strcmp(l.got[0], "10.0.0.1") == 0 && strcmp(l.got[1], "10.0.0.2") == 0);
	memset(longl, 'a', sizeof(longl));
	longl[sizeof(longl) - 1] = '\n';
	linebuf_feed(&lb, longl, sizeof(longl), collect, &l);
	CHECK(l.too_long == 1 && l.n == 2);
	memset(longl, '1', 64);
	longl[64] = '\n';
	linebuf_feed(&lb, longl, 65, collect, &l); /* exactly 64 bytes is a line */
	CHECK(l.n == 3 && strlen(l.got[2]) == 64);
	linebuf_feed(&lb, "\n", 1, collect, &l);
	CHECK(l.n == 4 && l.got[3][0] == '\0');
}

int main(void)
{
	net_parse_cidr("10.0.0.0/24", &nets[0]);
	net_parse_cidr("127.0.10.0/24", &nets[1]);
	net_parse_cidr("fd00:1::/64", &nets[2]);

	CHECK(accepted("10.0.0.11"));
	CHECK(accepted("10.0.0.11\r"));
	CHECK(accepted("  10.0.0.11 "));
	CHECK(accepted("127.0.10.5"));
	CHECK(accepted("fd00:1::5"));
	CHECK(strcmp(reason(""), "empty line") == 0);
	CHECK(strcmp(reason("   "), "empty line") == 0);
	CHECK(strcmp(reason("0.0.0.0"), "unspecified address") == 0);
	CHECK(strcmp(reason("::"), "unspecified address") == 0);
	CHECK(strcmp(reason("224.0.0.1"), "multicast address") == 0);
	CHECK(strcmp(reason("ff02::1"), "multicast address") == 0);
	CHECK(strcmp(reason("bmc.example.com"), "not an IPv4 or IPv6 address literal") == 0);
	CHECK(strcmp(reason("10.0.0.1 10.0.0.2"), "not an IPv4 or IPv6 address literal") == 0);
	CHECK(strcmp(reason("010.0.0.1"), "not an IPv4 or IPv6 address literal") == 0);
	CHECK(strcmp(reason("10.0.1.1"), "outside the configured BMC networks") == 0);
	CHECK(strcmp(reason("127.0.0.1"), "outside the configured BMC networks") == 0);
	CHECK(strcmp(reason("::1"), "outside the configured BMC networks") == 0);
	CHECK(strcmp(reason("10.0.0.0"), "network or broadcast address of its subnet") == 0);
	CHECK(strcmp(reason("10.0.0.255"), "network or broadcast address of its subnet") == 0);
	CHECK(strcmp(reason("fe80::1"), "IPv6 link-local address (needs a scope)") == 0);
	CHECK(strcmp(reason("fe80::1%eth0"), "not an IPv4 or IPv6 address literal") == 0);
	CHECK(strcmp(reason("::ffff:10.0.0.5"), "IPv4-mapped IPv6 address") == 0);
	{
		const char *why;
		struct net_addr a;
		char big[100];
		memset(big, '1', sizeof(big));
		CHECK(addr_check_line(big, sizeof(big), nets, 3, &a, &why) < 0);
		CHECK(strcmp(why, "line longer than 64 bytes") == 0);
		CHECK(addr_check_line("10.0.0.1\0x", 10, nets, 3, &a, &why) < 0);
	}
	test_linebuf();
	return test_done();
}
