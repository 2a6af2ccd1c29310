/* Binds the IPMI engine (worker/ipmi/) to this worker: the UDP socket the
 * supervisor bound for us, the power core, the shared boot state, and the
 * node's identity (GUID and BMC MAC derived from the node name, so they
 * stay the same across restarts without any state file). */
#include "worker.h"

#include <string.h>
#include <gnutls/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "ipmi/crypto.h"
#include "ipmi/ipmi.h"

#define TICK_MS 1000

static struct worker_ctx *ctx_of(void *arg)
{
	return arg;
}

static void op_send(void *arg, const uint8_t *buf, size_t len, const struct sockaddr *to,
		    socklen_t tolen)
{
	struct worker_ctx *w = ctx_of(arg);
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);

	(void)tolen;
	/* UDP send to a loopback/LAN peer does not block; a full socket
	 * buffer drops the answer, as a real BMC would under load */
	uv_udp_try_send(&w->udp, &b, 1, to);
}

static void op_identify(void *arg, unsigned seconds)
{
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

static void on_udp(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
		   unsigned flags)
{
	struct worker_ctx *w = h->data;

	if (n <= 0 || !from || (flags & UV_UDP_PARTIAL))
		return;
	w->st.ipmi_rx++;
	ipmi_input(w->ipmi, (const uint8_t *)buf->base, (size_t)n, from,
		   from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					       : sizeof(struct sockaddr_in));
	channel_report(w, 0);
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char rbuf[2048];

	*buf = uv_buf_init(rbuf, sizeof(rbuf));
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
	uv_udp_init(w->loop, &w->udp);
	w->udp.data = w;
	r = uv_udp_open(&w->udp, WORKER_FD_UDP);
	if (r < 0)
		fatalx("IPMI socket: %s", uv_strerror(r));
	uv_udp_recv_start(&w->udp, udp_alloc, on_udp);
	uv_timer_init(w->loop, &w->ipmi_tick);
	w->ipmi_tick.data = w;
	uv_timer_start(&w->ipmi_tick, on_tick, TICK_MS, TICK_MS);
}
