/* Unit tests for common/net.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net.h"
#include "tap.h"

static struct net_addr addr(const char *s)
{
	struct net_addr a;

	if (net_parse_addr(s, &a) < 0) {
		fprintf(stderr, "test setup: cannot parse %s\n", s);
		exit(1);
	}
	return a;
}

static struct net_cidr cidr(const char *s)
{
	struct net_cidr c;

	if (net_parse_cidr(s, &c) < 0) {
		fprintf(stderr, "test setup: cannot parse %s\n", s);
		exit(1);
	}
	return c;
}

static void test_parse_valid(void)
{
	static const char *const ok[] = {
	    "10.0.0.1",
	    "0.0.0.0",
	    "255.255.255.255",
	    "::",
	    "::1",
	    "fe80::1",
	    "2001:DB8::1",
	    "::ffff:10.0.0.1",
	    "1:2:3:4:5:6:7:8",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	};
	struct net_addr a;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(net_parse_addr(ok[i], &a) == 0);

	CHECK(net_parse_addr("10.1.2.3", &a) == 0);
	CHECK(a.family == AF_INET);
	CHECK(a.bytes[0] == 10 && a.bytes[1] == 1 && a.bytes[2] == 2 && a.bytes[3] == 3);
	CHECK(net_parse_addr("2001:db8::2", &a) == 0);
	CHECK(a.family == AF_INET6);
	CHECK(a.bytes[0] == 0x20 && a.bytes[1] == 0x01 && a.bytes[15] == 2);
}

static void test_parse_invalid(void)
{
	static const char *const bad[] = {
	    "",
	    " 10.0.0.1",
	    "10.0.0.1 ",
	    "10.0.0.1\n",
	    "10.0.0",
	    "10.0.0.256",
	    "10.0.0.1.2",
	    "010.0.0.1",
	    "0x0a.0.0.1",
	    "fe80::1%eth0",
	    "fe80::1%1",
	    "host.example",
	    "localhost",
	    "1::2::3",
	    ":::",
	    "10.0.0.1/24",
	    "1:2:3:4:5:6:7:8:9",
	    "-1.0.0.0",
	    "+1.0.0.0",
	    "[::1]",
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000", /* longer than 45 */
	};
	struct net_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = net_parse_addr(bad[i], &a);

		if (r != -EINVAL)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		CHECK(r == -EINVAL);
	}
	CHECK(net_parse_addr(NULL, &a) == -EINVAL);
}

static void test_cidr(void)
{
	struct net_cidr c;
	char buf[NET_ADDRSTRLEN + 4];

	CHECK(net_parse_cidr("10.0.0.0/24", &c) == 0);
	CHECK(c.addr.family == AF_INET && c.prefix == 24);
	CHECK(strcmp(net_cidr_str(&c, buf), "10.0.0.0/24") == 0);
	CHECK(net_parse_cidr("0.0.0.0/0", &c) == 0 && c.prefix == 0);
	CHECK(net_parse_cidr("10.0.0.1/32", &c) == 0 && c.prefix == 32);
	CHECK(net_parse_cidr("2001:db8::/32", &c) == 0 && c.prefix == 32);
	CHECK(net_parse_cidr("2001:DB8:0::/48", &c) == 0);
	CHECK(strcmp(net_cidr_str(&c, buf), "2001:db8::/48") == 0);
	CHECK(net_parse_cidr("::1/128", &c) == 0 && c.prefix == 128);
	CHECK(net_parse_cidr("10.0.0.0/25", &c) == 0);

	/* syntax */
	CHECK(net_parse_cidr("10.0.0.0", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/", &c) == -EINVAL);
	CHECK(net_parse_cidr("/24", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/024", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/+24", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/-1", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/24 ", &c) == -EINVAL);
	CHECK(net_parse_cidr(" 10.0.0.0/24", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/2a", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/24/1", &c) == -EINVAL);
	CHECK(net_parse_cidr("10.0.0.0/99999999999", &c) == -EINVAL);
	CHECK(net_parse_cidr("fe80::%eth0/64", &c) == -EINVAL);
	/* range */
	CHECK(net_parse_cidr("10.0.0.0/33", &c) == -ERANGE);
	CHECK(net_parse_cidr("::/129", &c) == -ERANGE);
	/* host bits */
	CHECK(net_parse_cidr("10.0.0.1/24", &c) == -EDOM);
	CHECK(net_parse_cidr("10.0.0.64/25", &c) == -EDOM);
	CHECK(net_parse_cidr("11.0.0.0/7", &c) == -EDOM);
	CHECK(net_parse_cidr("10.0.0.0/7", &c) == 0);
	CHECK(net_parse_cidr("2001:db8::1/64", &c) == -EDOM);
	CHECK(net_parse_cidr("::1/127", &c) == -EDOM);
}

static void test_contains(void)
{
	struct net_cidr v4 = cidr("10.0.0.0/24"), v6 = cidr("2001:db8::/32");
	struct net_cidr odd = cidr("10.0.0.128/25"), all4 = cidr("0.0.0.0/0");
	struct net_cidr all6 = cidr("::/0");
	struct net_addr a;

	a = addr("10.0.0.1");
	CHECK(net_cidr_contains(&v4, &a));
	a = addr("10.0.0.255");
	CHECK(net_cidr_contains(&v4, &a));
	CHECK(net_cidr_contains(&odd, &a));
	a = addr("10.0.0.127");
	CHECK(!net_cidr_contains(&odd, &a));
	a = addr("10.0.1.0");
	CHECK(!net_cidr_contains(&v4, &a));
	CHECK(net_cidr_contains(&all4, &a));
	CHECK(!net_cidr_contains(&all6, &a));
	a = addr("2001:db8:ffff::1");
	CHECK(net_cidr_contains(&v6, &a));
	CHECK(!net_cidr_contains(&v4, &a));
	CHECK(!net_cidr_contains(&all4, &a));
	a = addr("2001:db9::1");
	CHECK(!net_cidr_contains(&v6, &a));
	/* An IPv4-mapped address is IPv6: not inside an IPv4 network. */
	a = addr("::ffff:10.0.0.1");
	CHECK(!net_cidr_contains(&v4, &a));
	CHECK(net_cidr_contains(&all6, &a));
}

static void test_equal(void)
{
	struct net_addr a = addr("10.0.0.1"), b = addr("10.0.0.1"), m = addr("::ffff:10.0.0.1");
	struct net_addr c6 = addr("2001:db8::1"), d6 = addr("2001:DB8:0:0::1");

	CHECK(net_addr_equal(&a, &b));
	CHECK(!net_addr_equal(&a, &m));
	CHECK(net_addr_equal(&c6, &d6));
	b = addr("10.0.0.2");
	CHECK(!net_addr_equal(&a, &b));
}

static void test_predicates(void)
{
	struct net_addr a;

	a = addr("127.0.0.1");
	CHECK(net_addr_is_loopback(&a));
	a = addr("127.255.1.2");
	CHECK(net_addr_is_loopback(&a));
	a = addr("128.0.0.1");
	CHECK(!net_addr_is_loopback(&a));
	a = addr("::1");
	CHECK(net_addr_is_loopback(&a));
	CHECK(!net_addr_is_unspecified(&a));
	a = addr("::2");
	CHECK(!net_addr_is_loopback(&a));

	a = addr("0.0.0.0");
	CHECK(net_addr_is_unspecified(&a));
	a = addr("::");
	CHECK(net_addr_is_unspecified(&a));
	a = addr("0.0.0.1");
	CHECK(!net_addr_is_unspecified(&a));

	a = addr("224.0.0.1");
	CHECK(net_addr_is_multicast(&a));
	a = addr("239.255.255.255");
	CHECK(net_addr_is_multicast(&a));
	a = addr("240.0.0.1");
	CHECK(!net_addr_is_multicast(&a));
	a = addr("223.255.255.255");
	CHECK(!net_addr_is_multicast(&a));
	a = addr("ff02::1");
	CHECK(net_addr_is_multicast(&a));
	a = addr("fe02::1");
	CHECK(!net_addr_is_multicast(&a));

	a = addr("255.255.255.255");
	CHECK(net_addr_is_broadcast(&a));
	CHECK(!net_addr_is_multicast(&a));
	a = addr("10.0.0.255");
	CHECK(!net_addr_is_broadcast(&a));
	a = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	CHECK(!net_addr_is_broadcast(&a));

	a = addr("fe80::1");
	CHECK(net_addr_is_linklocal(&a));
	a = addr("febf::1");
	CHECK(net_addr_is_linklocal(&a));
	a = addr("fec0::1");
	CHECK(!net_addr_is_linklocal(&a));
	a = addr("169.254.1.1");
	CHECK(!net_addr_is_linklocal(&a));

	a = addr("::ffff:192.0.2.1");
	CHECK(net_addr_is_v4mapped(&a));
	CHECK(a.family == AF_INET6);
	a = addr("::ffff:c000:201");
	CHECK(net_addr_is_v4mapped(&a));
	a = addr("::192.0.2.1");
	CHECK(!net_addr_is_v4mapped(&a));
	a = addr("192.0.2.1");
	CHECK(!net_addr_is_v4mapped(&a));
}

static void test_str(void)
{
	char buf[NET_ADDRSTRLEN];
	struct net_addr a;

	a = addr("10.0.0.1");
	CHECK(strcmp(net_addr_str(&a, buf), "10.0.0.1") == 0);
	a = addr("2001:0DB8:0000::0001");
	CHECK(strcmp(net_addr_str(&a, buf), "2001:db8::1") == 0);
	a = addr("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	CHECK(strlen(net_addr_str(&a, buf)) < NET_ADDRSTRLEN);
	memset(&a, 0, sizeof(a));
	CHECK(strcmp(net_addr_str(&a, buf), "(invalid)") == 0);
}

static void test_sockaddr(void)
{
	struct sockaddr_storage ss;
	struct net_addr a = addr("192.0.2.7");
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	char buf[INET6_ADDRSTRLEN];

	CHECK(net_addr_sockaddr(&a, 623, &ss) == sizeof(struct sockaddr_in));
	CHECK(sin->sin_family == AF_INET);
	CHECK(ntohs(sin->sin_port) == 623);
	CHECK(strcmp(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)), "192.0.2.7") == 0);

	a = addr("2001:db8::7");
	CHECK(net_addr_sockaddr(&a, 443, &ss) == sizeof(struct sockaddr_in6));
	CHECK(sin6->sin6_family == AF_INET6);
	CHECK(ntohs(sin6->sin6_port) == 443);
	CHECK(sin6->sin6_scope_id == 0 && sin6->sin6_flowinfo == 0);
	CHECK(strcmp(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)), "2001:db8::7") == 0);

	memset(&a, 0, sizeof(a));
	CHECK(net_addr_sockaddr(&a, 1, &ss) == 0);
}

int main(void)
{
	test_parse_valid();
	test_parse_invalid();
	test_cidr();
	test_contains();
	test_equal();
	test_predicates();
	test_str();
	test_sockaddr();
	return test_done();
}
