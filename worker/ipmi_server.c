/* Binds the IPMI engine (worker/ipmi/) to this worker: the UDP socket the
 * supervisor bound for us, the power core, the shared boot state, and the
 * node's identity (GUID and BMC MAC derived from the node name, so they
 * stay the same across restarts without any state file). */
#include "worker.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <gnutls/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "ipmi/crypto.h"
#include "ipmi/ipmi.h"

#define TICK_MS 1000

/* Datagrams move in batches: one recvmmsg() takes what has arrived, the
 * engine answers each, and one sendmmsg() sends the answers.  Under load
 * that is two system calls per batch instead of two per request, and the
 * kernel's share was most of what a request cost (docs/BENCHMARKS.md). */
#define UDP_BATCH  32
#define UDP_ROUNDS 4	/* batches per wakeup: then Redfish and QMP get a turn */
#define UDP_RX_MAX 2048 /* above any IPMI datagram: a longer one is cut (MSG_TRUNC) */
#define UDP_TX_MAX 1024 /* the engine's largest answer (IPMI_PKT_MAX) */

struct udp_io {
	struct worker_ctx *w;
	uv_poll_t poll;
	int fd;
	bool in_batch; /* answers wait for the end of the batch */
	unsigned n_out;
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
	struct sockaddr_storage in_addr[UDP_BATCH], out_addr[UDP_BATCH];
	uint8_t in_buf[UDP_BATCH][UDP_RX_MAX];
	uint8_t out_buf[UDP_BATCH][UDP_TX_MAX];
};

/* One IPMI socket per worker process. */
static struct udp_io io;

/* A full socket buffer drops answers, as a real BMC would under load; a
 * peer that cannot be sent to costs only its own answer. */
static void udp_flush(void)
{
	unsigned sent = 0;

	while (sent < io.n_out) {
		int r = sendmmsg(io.fd, io.out + sent, io.n_out - sent, MSG_DONTWAIT);
		if (r > 0)
			sent += (unsigned)r;
		else if (r < 0 && errno == EINTR)
			continue;
		else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			break;
		else
			sent++; /* this one failed: skip it */
	}
	io.n_out = 0;
}

static void op_send(void *arg, const uint8_t *buf, size_t len, const struct sockaddr *to,
		    socklen_t tolen)
{
	struct mmsghdr *m;

	(void)arg;
	if (!io.in_batch || len > UDP_TX_MAX || tolen > sizeof(io.out_addr[0])) {
		/* an answer that completes later (a power action), or an odd one */
		(void)sendto(io.fd, buf, len, MSG_DONTWAIT, to, tolen);
		return;
	}
	if (io.n_out == UDP_BATCH)
		udp_flush();
	m = &io.out[io.n_out];
	memcpy(io.out_buf[io.n_out], buf, len);
	memcpy(&io.out_addr[io.n_out], to, tolen);
	io.out_iov[io.n_out] = (struct iovec){io.out_buf[io.n_out], len};
	m->msg_hdr = (struct msghdr){.msg_name = &io.out_addr[io.n_out], .msg_namelen = tolen,
				     .msg_iov = &io.out_iov[io.n_out], .msg_iovlen = 1};
	io.n_out++;
}

static void op_identify(void *arg, unsigned seconds)
{
	(void)arg;
	log_info("chassis identify for %u s", seconds);
}

static const struct ipmi_ops ops = {
	.send = op_send,
	.now_ms = engine_now_ms,
	.random = engine_random,
	.power_state = engine_power_state,
	.power = engine_power,
	.boot = engine_boot,
	.boot_changed = engine_boot_changed,
	.identify = op_identify,
};

/* A name-based UUID (RFC 4122 version 5 layout) from the node name, so a
 * node's GUID is stable and distinct without storing anything.  IPMI's GUIDs
 * and Redfish's UUIDs both come from here, so they name the node alike. */
void node_guid(const char *node, uint8_t out[16])
{
	static const char ns[] = "vbmc-node-guid:";
	uint8_t h[20];
	char buf[sizeof(ns) + NODE_NAME_MAX];

	snprintf(buf, sizeof(buf), "%s%s", ns, node);
	gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, strlen(buf), h);
	memcpy(out, h, 16);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x50);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

static void node_mac(const uint8_t guid[16], uint8_t mac[6])
{
	memcpy(mac, guid + 10, 6);
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

static void fill_config(const struct msg_config *m, struct ipmi_config *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy0(c->node, m->node, sizeof(c->node));
	node_guid(m->node, c->guid);
	node_mac(c->guid, c->mac);
	net_parse_addr(m->address, &c->addr);
	c->prefix = m->prefix;
	c->port = m->ipmi_port;
	c->max_sessions = m->ipmi_max_sessions;
	c->session_timeout_ms = m->ipmi_session_timeout_s * 1000;
	c->allow_suite0 = m->ipmi_suite0;
	c->allow_authnone = m->ipmi_auth_none;
	c->allow_straight = m->ipmi_straight;
	for (uint32_t i = 0; i < m->n_users && i < IPMI_MAX_USERS; i++) {
		struct ipmi_user *u = &c->users[c->n_users++];
		strlcpy0(u->name, m->users[i].name, sizeof(u->name));
		memcpy(u->password, m->users[i].password, m->users[i].pwlen);
		u->pwlen = m->users[i].pwlen;
		u->max_priv = m->users[i].role; /* same numbers as IPMI levels */
	}
}

static void on_tick(uv_timer_t *t)
{
	struct worker_ctx *w = t->data;

	ipmi_tick(w->ipmi);
}

static int udp_receive(void)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		io.in_iov[i] = (struct iovec){io.in_buf[i], UDP_RX_MAX};
		io.in[i].msg_hdr = (struct msghdr){.msg_name = &io.in_addr[i],
						   .msg_namelen = sizeof(io.in_addr[i]),
						   .msg_iov = &io.in_iov[i], .msg_iovlen = 1};
	}
	return recvmmsg(io.fd, io.in, UDP_BATCH, MSG_DONTWAIT, NULL);
}

static void on_udp(uv_poll_t *h, int status, int events)
{
	struct worker_ctx *w = io.w;
	int n = UDP_BATCH;

	(void)h;
	(void)status;
	(void)events;
	for (int round = 0; round < UDP_ROUNDS && n == UDP_BATCH; round++) {
		n = udp_receive();
		io.in_batch = true;
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &io.in[i].msg_hdr;
			if ((m->msg_flags & MSG_TRUNC) || !m->msg_namelen)
				continue; /* cut short: no IPMI message is that long */
			w->st.ipmi_rx++;
			ipmi_input(w->ipmi, io.in_buf[i], io.in[i].msg_len, m->msg_name,
				   m->msg_namelen);
		}
		io.in_batch = false;
		udp_flush();
	}
	channel_report(w, 0);
}

void ipmi_server_start(struct worker_ctx *w)
{
	struct ipmi_config c;
	int r;

	fill_config(&w->cfg, &c);
	w->ipmi = ipmi_new(&c, &ops, w);
	explicit_bzero(&c, sizeof(c));
	if (!w->ipmi)
		fatalx("IPMI: out of memory");
	io.w = w;
	io.fd = WORKER_FD_UDP;
	r = uv_poll_init(w->loop, &io.poll, io.fd);
	if (r < 0)
		fatalx("IPMI socket: %s", uv_strerror(r));
	uv_poll_start(&io.poll, UV_READABLE, on_udp);
	uv_timer_init(w->loop, &w->ipmi_tick);
	w->ipmi_tick.data = w;
	uv_timer_start(&w->ipmi_tick, on_tick, TICK_MS, TICK_MS);
}
