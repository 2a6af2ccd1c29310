/* Put announced addresses on the configured link, and take them off again,
 * with rtnetlink through libmnl.  One request, one acknowledgement. */
#include "supervisor.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

static int nl_request(uint16_t type, uint16_t flags, const char *ifname,
		      const struct net_addr *a, unsigned prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct mnl_socket *nl;
	unsigned idx = if_nametoindex(ifname);
	uint32_t seq = (uint32_t)time(NULL), portid;
	size_t alen = a->family == AF_INET ? 4 : 16;
	ssize_t n;
	int r;

	if (!idx)
		return -ENODEV;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	/* No duplicate address detection: the BMC must be reachable at once. */
	ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a->bytes);

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	portid = mnl_socket_get_portid(nl);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	r = n < 0 ? -errno : mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	if (r < 0 && n >= 0)
		r = -errno;
	mnl_socket_close(nl);
	return r < 0 ? r : 0;
}

int nl_addr_add(const char *ifname, const struct net_addr *a, unsigned prefix)
{
	return nl_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifname, a, prefix);
}

int nl_addr_del(const char *ifname, const struct net_addr *a, unsigned prefix)
{
	return nl_request(RTM_DELADDR, 0, ifname, a, prefix);
}
