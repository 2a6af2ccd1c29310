/* The IPMI server object and the outermost layer: RMCP (spec 13.1) and
 * ASF presence ping (13.2; ipmitool -I lan waits for the pong), then the
 * session format chosen by the auth type byte. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_SESSIONS 32
#define MAX_SESSIONS_LIMIT 256
#define DEFAULT_TIMEOUT_MS 60000
#define SETUP_TIMEOUT_MS 10000 /* a half-open session gets this long */
#define RMCP_CLASS_ASF 0x06
#define RMCP_CLASS_IPMI 0x07

struct ipmi *ipmi_new(const struct ipmi_config *cfg, const struct ipmi_ops *ops, void *arg)
{
	struct ipmi *ipmi = calloc(1, sizeof(*ipmi));

	if (!ipmi)
		return NULL;
	ipmi->cfg = *cfg;
	if (!ipmi->cfg.max_sessions)
		ipmi->cfg.max_sessions = DEFAULT_MAX_SESSIONS;
	if (ipmi->cfg.max_sessions > MAX_SESSIONS_LIMIT)
		ipmi->cfg.max_sessions = MAX_SESSIONS_LIMIT;
	if (!ipmi->cfg.session_timeout_ms)
		ipmi->cfg.session_timeout_ms = DEFAULT_TIMEOUT_MS;
	ipmi->ops = ops;
	ipmi->arg = arg;
	ipmi->restart_cause = 0x00; /* unknown until we power the VM */
	ipmi->sessions = calloc(ipmi->cfg.max_sessions, sizeof(*ipmi->sessions));
	if (!ipmi->sessions) {
		free(ipmi);
		return NULL;
	}
	return ipmi;
}

void ipmi_free(struct ipmi *ipmi)
{
	if (!ipmi)
		return;
	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++)
		session_free(ipmi, &ipmi->sessions[i]);
	free(ipmi->sessions);
	memset(&ipmi->cfg.users, 0, sizeof(ipmi->cfg.users));
	free(ipmi);
}

const struct ipmi_stats *ipmi_get_stats(const struct ipmi *ipmi)
{
	return &ipmi->stats;
}

void ipmi_tick(struct ipmi *ipmi)
{
	uint64_t now = ipmi->ops->now_ms(ipmi->arg);

	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++) {
		struct ipmi_session *s = &ipmi->sessions[i];
		uint64_t limit = s->state == SS_ACTIVE ? ipmi->cfg.session_timeout_ms
						       : SETUP_TIMEOUT_MS;
		if (s->state != SS_FREE && now - s->last_ms > limit)
			session_free(ipmi, s);
	}
}

void ipmi_send_raw(struct ipmi *ipmi, const uint8_t *pkt, size_t len, const struct sockaddr *to,
		   socklen_t tolen)
{
	ipmi->stats.tx++;
	ipmi->ops->send(ipmi->arg, pkt, len, to, tolen);
}

/* ASF Presence Ping -> Presence Pong (DSP0136 3.2.4.3). */
static int asf(struct ipmi *ipmi, const uint8_t *p, size_t len, const struct sockaddr *from,
	       socklen_t fromlen)
{
	static const uint8_t iana[4] = {0x00, 0x00, 0x11, 0xbe};
	uint8_t pong[28] = {0x06, 0x00, 0xff, RMCP_CLASS_ASF, 0x00, 0x00, 0x11, 0xbe,
			    0x40, 0x00, 0x00, 0x10, 0x00, 0x00, 0x11, 0xbe,
			    0x00, 0x00, 0x00, 0x00, 0x81, 0x00};

	if (len < 8 || memcmp(p, iana, 4) != 0 || p[4] != 0x80)
		return -EBADMSG;
	pong[9] = p[5]; /* message tag */
	ipmi_send_raw(ipmi, pong, sizeof(pong), from, fromlen);
	return 0;
}

void ipmi_input(struct ipmi *ipmi, const uint8_t *pkt, size_t len, const struct sockaddr *from,
		socklen_t fromlen)
{
	int r = -EBADMSG;

	ipmi->stats.rx++;
	if (len >= 5 && len <= IPMI_PKT_MAX && pkt[0] == 0x06 && !(pkt[3] & 0x80) &&
	    fromlen <= sizeof(struct sockaddr_storage)) {
		switch (pkt[3] & 0x1f) {
		case RMCP_CLASS_ASF:
			r = asf(ipmi, pkt + 4, len - 4, from, fromlen);
			break;
		case RMCP_CLASS_IPMI:
			r = pkt[4] == 0x06 ? lanplus_input(ipmi, pkt + 4, len - 4, from, fromlen)
					   : lan15_input(ipmi, pkt + 4, len - 4, from, fromlen);
			break;
		}
	}
	if (r < 0)
		ipmi->stats.dropped++;
}
