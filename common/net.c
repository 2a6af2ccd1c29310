/* Address helpers.  Only literals are accepted: a BMC address comes from a
 * guest or a config file and must never trigger a DNS lookup. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

/* Longest IPv6 text form ("ffff:...:255.255.255.255"). */
#define ADDR_TEXT_MAX (NET_ADDRSTRLEN - 1)

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* inet_pton alone is too lenient for us in one way only: it says nothing
 * about what a caller might have glued around the text, so the character
 * set is checked first.  That also rules out "%scope" and spaces. */
static bool addr_chars_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
			return false;
	}
	return true;
}

int net_parse_addr(const char *s, struct net_addr *ret)
{
	struct net_addr a;
	size_t len;

	if (!s || !ret)
		return -EINVAL;
	len = strnlen(s, ADDR_TEXT_MAX + 1);
	if (len == 0 || len > ADDR_TEXT_MAX || !addr_chars_ok(s, len))
		return -EINVAL;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, s, a.bytes) != 1)
		return -EINVAL;
	*ret = a;
	return 0;
}

/* Decimal without sign or leading zeros; -1 if not that. */
static int parse_prefix(const char *s)
{
	int v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 999)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static bool host_bits_zero(const struct net_addr *a, unsigned prefix)
{
	size_t n = addr_len(a->family);

	for (size_t i = 0; i < n; i++) {
		unsigned first = i * 8;
		uint8_t mask;

		if (first + 8 <= prefix)
			continue;
		mask = first >= prefix ? 0xff : (uint8_t)(0xff >> (prefix - first));
		if (a->bytes[i] & mask)
			return false;
	}
	return true;
}

int net_parse_cidr(const char *s, struct net_cidr *ret)
{
	char buf[ADDR_TEXT_MAX + 1];
	struct net_cidr c;
	const char *slash;
	int prefix;

	if (!s || !ret)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) > ADDR_TEXT_MAX)
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (net_parse_addr(buf, &c.addr) < 0)
		return -EINVAL;

	prefix = parse_prefix(slash + 1);
	if (prefix < 0)
		return -EINVAL;
	if ((size_t)prefix > addr_len(c.addr.family) * 8)
		return -ERANGE;
	c.prefix = prefix;
	if (!host_bits_zero(&c.addr, c.prefix))
		return -EDOM;
	*ret = c;
	return 0;
}

bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a)
{
	unsigned full, rest;

	/* No family mixing: an IPv4-mapped IPv6 address is not inside an
	 * IPv4 network (and is refused as a BMC address anyway). */
	if (c->addr.family != a->family || c->prefix > addr_len(a->family) * 8)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((c->addr.bytes[full] & mask) != (a->bytes[full] & mask))
			return false;
	}
	return true;
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a->family)) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

bool net_addr_is_unspecified(const struct net_addr *a)
{
	size_t n = addr_len(a->family);

	return n && all_zero(a->bytes, n);
}

bool net_addr_is_loopback(const struct net_addr *a)
{
	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	if (a->family == AF_INET6)
		return all_zero(a->bytes, 15) && a->bytes[15] == 1;
	return false;
}

bool net_addr_is_multicast(const struct net_addr *a)
{
	if (a->family == AF_INET)
		return (a->bytes[0] & 0xf0) == 0xe0;
	if (a->family == AF_INET6)
		return a->bytes[0] == 0xff;
	return false;
}

bool net_addr_is_broadcast(const struct net_addr *a)
{
	static const uint8_t all_ones[4] = {0xff, 0xff, 0xff, 0xff};

	return a->family == AF_INET && memcmp(a->bytes, all_ones, 4) == 0;
}

bool net_addr_is_linklocal(const struct net_addr *a)
{
	return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

bool net_addr_is_v4mapped(const struct net_addr *a)
{
	return a->family == AF_INET6 && all_zero(a->bytes, 10) && a->bytes[10] == 0xff &&
	       a->bytes[11] == 0xff;
}

const char *net_addr_str(const struct net_addr *a, char buf[NET_ADDRSTRLEN])
{
	if (!addr_len(a->family) || !inet_ntop(a->family, a->bytes, buf, NET_ADDRSTRLEN))
		snprintf(buf, NET_ADDRSTRLEN, "(invalid)");
	return buf;
}

const char *net_cidr_str(const struct net_cidr *c, char buf[NET_ADDRSTRLEN + 4])
{
	char addr[NET_ADDRSTRLEN];

	net_addr_str(&c->addr, addr);
	snprintf(buf, NET_ADDRSTRLEN + 4, "%s/%u", addr, c->prefix);
	return buf;
}

socklen_t net_addr_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		return sizeof(*sin);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		return sizeof(*sin6);
	}
	return 0;
}
