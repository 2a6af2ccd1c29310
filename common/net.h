/* Address helpers: literal parsing (never DNS), CIDR, sockaddr. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NET_ADDRSTRLEN 46

struct net_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct net_cidr {
	struct net_addr addr;
	unsigned prefix;
};

/* Strict literal: dotted quad or RFC 4291 text, no scope id, no spaces. */
int net_parse_addr(const char *s, struct net_addr *ret);
/* "A/P"; host bits must be zero.  -EINVAL: not that syntax, -ERANGE: prefix
 * too long for the family, -EDOM: host bits set. */
int net_parse_cidr(const char *s, struct net_cidr *ret);
bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);
bool net_addr_is_unspecified(const struct net_addr *a);
bool net_addr_is_loopback(const struct net_addr *a);
bool net_addr_is_multicast(const struct net_addr *a);
bool net_addr_is_broadcast(const struct net_addr *a);
/* IPv6 link-local (fe80::/10) needs a scope id: refused as a BMC address. */
bool net_addr_is_linklocal(const struct net_addr *a);
/* ::ffff:a.b.c.d.  Such an address counts as IPv6 everywhere (it is not in
 * any IPv4 network) and is refused as a BMC address: announce it as IPv4. */
bool net_addr_is_v4mapped(const struct net_addr *a);
/* Never fails: an invalid family gives "(invalid)". */
const char *net_addr_str(const struct net_addr *a, char buf[NET_ADDRSTRLEN]);
const char *net_cidr_str(const struct net_cidr *c, char buf[NET_ADDRSTRLEN + 4]);
/* Returns the length of the filled sockaddr_in/sockaddr_in6, 0 for a bad family. */
socklen_t net_addr_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss);
