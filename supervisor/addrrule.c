/* What a guest may announce (DESIGN.md "Data flow" 1), as pure functions so
 * they can be unit-tested and fuzzed without a loop or a node table.  The
 * "held by another node" and rate rules need the table: node.c. */
#include "supervisor.h"

#include <errno.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

const struct net_cidr *addr_network_of(const struct net_addr *a, const struct net_cidr *nets,
				       size_t n_nets)
{
	for (size_t i = 0; i < n_nets; i++)
		if (net_cidr_contains(&nets[i], a))
			return &nets[i];
	return NULL;
}

/* The all-zeros and all-ones host numbers of an IPv4 subnet are not hosts. */
static bool is_v4_subnet_edge(const struct net_addr *a, const struct net_cidr *c)
{
	uint32_t v, host;

	if (a->family != AF_INET || c->prefix >= 31)
		return false;
	v = (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	    (uint32_t)a->bytes[2] << 8 | a->bytes[3];
	host = v & (0xffffffffu >> c->prefix);
	return host == 0 || host == (0xffffffffu >> c->prefix);
}

static const char *check_kind(const struct net_addr *a)
{
	if (net_addr_is_unspecified(a))
		return "unspecified address";
	if (net_addr_is_multicast(a))
		return "multicast address";
	if (net_addr_is_broadcast(a))
		return "broadcast address";
	if (net_addr_is_linklocal(a))
		return "IPv6 link-local address (needs a scope)";
	if (net_addr_is_v4mapped(a))
		return "IPv4-mapped IPv6 address";
	return NULL;
}

int addr_check_line(const char *line, size_t len, const struct net_cidr *nets, size_t n_nets,
		    struct net_addr *ret, const char **reason)
{
	char text[ANNOUNCE_LINE_MAX + 1];
	const struct net_cidr *net;
	size_t b = 0, e = len;

	if (len > ANNOUNCE_LINE_MAX) {
		*reason = "line longer than 64 bytes";
		return -EINVAL;
	}
	/* `echo` and serial consoles add \r or blanks: tolerate them at the ends. */
	while (b < e && is_space(line[b]))
		b++;
	while (e > b && is_space(line[e - 1]))
		e--;
	if (b == e) {
		*reason = "empty line";
		return -EINVAL;
	}
	memcpy(text, line + b, e - b);
	text[e - b] = '\0';
	if (memchr(text, '\0', e - b) || net_parse_addr(text, ret) < 0) {
		*reason = "not an IPv4 or IPv6 address literal";
		return -EINVAL;
	}
	*reason = check_kind(ret);
	if (*reason)
		return -EINVAL;
	/* Loopback is accepted only through a configured network that holds
	 * it (tests and demos use 127.0.10.0/24): no separate switch. */
	net = addr_network_of(ret, nets, n_nets);
	if (!net) {
		*reason = "outside the configured BMC networks";
		return -EINVAL;
	}
	if (is_v4_subnet_edge(ret, net)) {
		*reason = "network or broadcast address of its subnet";
		return -EINVAL;
	}
	return 0;
}

void linebuf_feed(struct linebuf *lb, const char *data, size_t n, linebuf_cb cb, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n') {
			lb->buf[lb->len] = '\0';
			if (lb->discarding)
				cb(arg, NULL, 0, true);
			else
				cb(arg, lb->buf, lb->len, false);
			lb->len = 0;
			lb->discarding = false;
			continue;
		}
		if (lb->discarding)
			continue;
		if (lb->len == ANNOUNCE_LINE_MAX) {
			lb->discarding = true;
			lb->len = 0;
			continue;
		}
		lb->buf[lb->len++] = c;
		lb->buf[lb->len] = '\0';
	}
}
