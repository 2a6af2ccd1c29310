/* The session table and the session commands (spec 22.13-22.20, 22.15
 * Get Channel Cipher Suites): Get Channel Authentication Capabilities, Get
 * Session Challenge, Activate Session, Set Session Privilege Level, Close
 * Session, Get Session Info.  The table is bounded: when it is full a
 * half-open session is reclaimed first, then the idlest active one, so a
 * flood cannot lock a legitimate client out for the idle timeout. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define V15_SEQ_BELOW 8 /* v1.5 window: OpenIPMI accepts +-8 */
#define V15_SEQ_ABOVE 8

/* ---- table ---- */

static uint32_t new_sid(struct ipmi *ipmi)
{
	uint32_t sid = 0;

	/* random, non-zero, unused: a guessable id helps spoofing on suites
	 * without integrity */
	for (int i = 0; i < 16; i++) {
		if (ipmi->ops->random(ipmi->arg, &sid, sizeof(sid)) < 0)
			sid = (uint32_t)ipmi->ops->now_ms(ipmi->arg) * 2654435761u + (uint32_t)i;
		if (sid && !session_find(ipmi, sid))
			return sid;
	}
	return 0;
}

static struct ipmi_session *victim(struct ipmi *ipmi)
{
	struct ipmi_session *best = NULL;

	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++) {
		struct ipmi_session *s = &ipmi->sessions[i];
		bool half = s->state != SS_ACTIVE;
		bool best_half = best && best->state != SS_ACTIVE;
		if (!best || (half && !best_half) ||
		    (half == best_half && s->last_ms < best->last_ms))
			best = s;
	}
	return best;
}

struct ipmi_session *session_alloc(struct ipmi *ipmi, enum session_kind kind)
{
	struct ipmi_session *s = NULL;
	uint32_t sid = new_sid(ipmi);

	if (!sid)
		return NULL;
	for (unsigned i = 0; i < ipmi->cfg.max_sessions && !s; i++)
		if (ipmi->sessions[i].state == SS_FREE)
			s = &ipmi->sessions[i];
	if (!s) {
		s = victim(ipmi);
		if (!s)
			return NULL;
		session_free(ipmi, s);
	}
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->bmc_sid = sid;
	s->last_ms = ipmi->ops->now_ms(ipmi->arg);
	return s;
}

struct ipmi_session *session_find(struct ipmi *ipmi, uint32_t bmc_sid)
{
	if (!bmc_sid)
		return NULL;
	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++)
		if (ipmi->sessions[i].state != SS_FREE && ipmi->sessions[i].bmc_sid == bmc_sid)
			return &ipmi->sessions[i];
	return NULL;
}

void session_free(struct ipmi *ipmi, struct ipmi_session *s)
{
	(void)ipmi;
	/* keys and passwords-derived material must not linger */
	ipmi_keys_free(s->keys);
	memset(s, 0, sizeof(*s));
	s->state = SS_FREE;
}

size_t ipmi_session_count(const struct ipmi *ipmi, size_t *ret_active)
{
	size_t used = 0, active = 0;

	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++) {
		used += ipmi->sessions[i].state != SS_FREE;
		active += ipmi->sessions[i].state == SS_ACTIVE;
	}
	if (ret_active)
		*ret_active = active;
	return used;
}

const struct ipmi_user *user_find(const struct ipmi *ipmi, const char *name, size_t len,
				  uint8_t *ret_id)
{
	for (size_t i = 0; i < ipmi->cfg.n_users; i++) {
		const struct ipmi_user *u = &ipmi->cfg.users[i];
		if (len && strlen(u->name) == len && memcmp(u->name, name, len) == 0) {
			if (ret_id)
				*ret_id = (uint8_t)(i + 2); /* id 1 is the null user */
			return u;
		}
	}
	return NULL;
}

/* ---- sequence windows ---- */

int seq_check(struct seq_window *w, uint32_t seq, unsigned below, unsigned above)
{
	uint32_t d;

	if (!w->started)
		return 0;
	if (seq == w->high)
		return -EEXIST;
	d = seq - w->high; /* modular distance ahead */
	if (d != 0 && d <= above)
		return 0;
	d = w->high - seq; /* behind */
	if (d > below || d >= 32)
		return -ERANGE;
	return (w->bitmap >> d) & 1 ? -EEXIST : 0;
}

void seq_accept(struct seq_window *w, uint32_t seq)
{
	uint32_t d;

	if (!w->started) {
		w->started = true;
		w->high = seq;
		w->bitmap = 1;
		return;
	}
	d = seq - w->high;
	if (d != 0 && d < 0x80000000u) {
		w->bitmap = d >= 32 ? 0 : w->bitmap << d;
		w->bitmap |= 1;
		w->high = seq;
		return;
	}
	d = w->high - seq;
	if (d < 32)
		w->bitmap |= 1u << d;
}

/* ---- commands ---- */

static uint8_t auth_types_enabled(const struct ipmi *ipmi)
{
	uint8_t t = 1 << 2; /* MD5 */

	if (ipmi->cfg.allow_authnone)
		t |= 1 << 0;
	if (ipmi->cfg.allow_straight)
		t |= 1 << 4;
	return t;
}

static bool channel_ok(uint8_t ch)
{
	return ch == IPMI_CHANNEL_LAN || ch == 0x0e;
}

/* 22.13: both pyghmi and ipmitool read byte 1 bit 7 and the extended byte. */
static void get_channel_auth_caps(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	bool v2 = rq->len >= 1 && (rq->data[0] & 0x80);

	if (rq->len != 2) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	if (!channel_ok(rq->data[0] & 0x0f) || (rq->data[1] & 0x0f) > IPMI_PRIV_OEM ||
	    (rq->data[1] & 0x0f) == 0) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	resp_u8(rs, IPMI_CHANNEL_LAN);
	resp_u8(rs, (uint8_t)((v2 ? 0x80 : 0) | auth_types_enabled(rq->ipmi)));
	/* non-null user names only; per-message and user-level auth on; Kg default */
	resp_u8(rs, 0x04);
	resp_u8(rs, v2 ? 0x03 : 0x00); /* IPMI 1.5 and 2.0 connections */
	resp_u8(rs, 0);
	resp_u8(rs, 0);
	resp_u8(rs, 0); /* OEM IANA */
	resp_u8(rs, 0); /* OEM aux */
}

static bool v15_authtype_ok(const struct ipmi *ipmi, uint8_t t)
{
	return t < 8 && (auth_types_enabled(ipmi) & (1u << t)) && t != 1 /* MD2 */;
}

/* 22.16: the first step of a v1.5 session, outside any session. */
static void get_session_challenge(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	const struct ipmi_user *u;
	struct ipmi_session *s;
	uint8_t id;
	size_t nl;

	if (rq->len != 17) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	if (rq->s || rq->ctx->kind != SESSION_V15 || !v15_authtype_ok(ipmi, rq->data[0] & 0x0f)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	nl = strnlen((const char *)rq->data + 1, 16);
	if (nl == 0) {
		rs->cc = 0x82; /* null user name not enabled */
		return;
	}
	u = user_find(ipmi, (const char *)rq->data + 1, nl, &id);
	if (!u) {
		ipmi->stats.auth_failures++;
		rs->cc = 0x81; /* invalid user name */
		return;
	}
	s = session_alloc(ipmi, SESSION_V15);
	if (!s || ipmi->ops->random(ipmi->arg, s->challenge, 16) < 0) {
		if (s)
			session_free(ipmi, s);
		rs->cc = CC_OUT_OF_SPACE;
		return;
	}
	s->state = SS_V15_CHALLENGED;
	s->user = u;
	s->user_id = id;
	s->authtype = rq->data[0] & 0x0f;
	s->max_priv = u->max_priv;
	memcpy(&s->peer, rq->ctx->from, rq->ctx->fromlen);
	s->peerlen = rq->ctx->fromlen;
	resp_u32(rs, s->bmc_sid);
	resp_bytes(rs, s->challenge, 16);
}

/* 22.17: arrives in the temporary session, already authenticated by lan15.c
 * with the challenged user's password. */
static void activate_session(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi_session *s = rq->s;
	uint32_t inbound;
	uint8_t want;

	if (rq->len != 22) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	if (!s || s->state != SS_V15_CHALLENGED || rq->ctx->kind != SESSION_V15) {
		rs->cc = 0x85; /* invalid session id in request */
		return;
	}
	want = rq->data[1] & 0x0f;
	if ((rq->data[0] & 0x0f) != s->authtype || ipmi_memcmp_ct(rq->data + 2, s->challenge, 16)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	if (want < IPMI_PRIV_CALLBACK || want > s->user->max_priv) {
		rs->cc = 0x86; /* requested maximum privilege exceeds the user's limit */
		return;
	}
	s->max_priv = want;
	s->priv = want < IPMI_PRIV_USER ? want : IPMI_PRIV_USER;
	s->state = SS_ACTIVE;
	/* The console names the sequence number our answers start at (this
	 * answer's header carries it: libfreeipmi checks), and we name the one
	 * its requests start at. */
	s->out_seq = get_le32(rq->data + 18);
	if (rq->ipmi->ops->random(rq->ipmi->arg, &inbound, 4) < 0)
		inbound = (uint32_t)rq->ipmi->ops->now_ms(rq->ipmi->arg);
	inbound = (inbound & 0x7fffffff) | 1;
	memset(&s->in_auth, 0, sizeof(s->in_auth));
	seq_accept(&s->in_auth, inbound - 1);
	rq->ipmi->stats.sessions_opened++;
	resp_u8(rs, s->authtype);
	resp_u32(rs, s->bmc_sid);
	resp_u32(rs, inbound); /* initial inbound sequence number */
	resp_u8(rs, s->max_priv);
}

/* 22.18 */
static void set_session_priv(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi_session *s = rq->s;
	uint8_t want;

	if (rq->len != 1) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	want = rq->data[0] & 0x0f;
	if (want == 0) {
		resp_u8(rs, s->priv);
		return;
	}
	if (want > IPMI_PRIV_ADMIN || (rq->data[0] & 0xf0)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	if (want > s->max_priv) {
		rs->cc = CC_PRIV_EXCEEDS_LIMIT;
		return;
	}
	s->priv = want;
	resp_u8(rs, s->priv);
}

static uint8_t session_handle(const struct ipmi *ipmi, const struct ipmi_session *s)
{
	return (uint8_t)(s - ipmi->sessions + 1);
}

/* 22.19: a session may close only itself. */
static void close_session(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi_session *s = rq->s;
	uint32_t sid;

	if (rq->len != 4 && rq->len != 5) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	sid = get_le32(rq->data);
	if (sid == 0 && rq->len == 5) {
		if (rq->data[4] != session_handle(rq->ipmi, s)) {
			rs->cc = 0x88; /* invalid session handle */
			return;
		}
	} else if (sid != s->bmc_sid) {
		rs->cc = 0x87; /* invalid session id */
		return;
	}
	/* answered inside the session, then torn down by msg.c */
	s->closing = true;
}

static const struct ipmi_session *session_by_index(const struct ipmi_req *rq)
{
	const struct ipmi *ipmi = rq->ipmi;
	uint8_t idx = rq->data[0];
	unsigned n = 0;

	if (idx == 0)
		return rq->s;
	if (idx == 0xfe && rq->len >= 2) {
		uint8_t h = rq->data[1];
		return h && h <= ipmi->cfg.max_sessions &&
				       ipmi->sessions[h - 1].state == SS_ACTIVE
			       ? &ipmi->sessions[h - 1]
			       : NULL;
	}
	if (idx == 0xff && rq->len >= 5) {
		const struct ipmi_session *s = session_find((struct ipmi *)ipmi,
							    get_le32(rq->data + 1));
		return s && s->state == SS_ACTIVE ? s : NULL;
	}
	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++)
		if (ipmi->sessions[i].state == SS_ACTIVE && ++n == idx)
			return &ipmi->sessions[i];
	return NULL;
}

/* 22.20 */
static void get_session_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	const struct ipmi_session *s;
	size_t active;

	if (rq->len < 1 || (rq->data[0] == 0xfe && rq->len != 2) ||
	    (rq->data[0] == 0xff && rq->len != 5) ||
	    (rq->data[0] < 0xfe && rq->len != 1)) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	ipmi_session_count(rq->ipmi, &active);
	s = session_by_index(rq);
	resp_u8(rs, s ? session_handle(rq->ipmi, s) : 0);
	resp_u8(rs, (uint8_t)rq->ipmi->cfg.max_sessions);
	resp_u8(rs, (uint8_t)active);
	if (!s)
		return;
	resp_u8(rs, s->user_id);
	resp_u8(rs, s->priv);
	resp_u8(rs, (uint8_t)((s->kind == SESSION_V20 ? 0x10 : 0x00) | IPMI_CHANNEL_LAN));
	if (s->peer.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&s->peer;
		resp_bytes(rs, &in->sin_addr, 4);
		resp_bytes(rs, "\0\0\0\0\0\0", 6); /* remote MAC: not known over UDP */
		resp_u16(rs, ntohs(in->sin_port)); /* LS byte first */
	}
}

/* 22.15: answered outside sessions too, in RMCP+ format (ipmitool asks
 * before choosing a suite; an unanswered query costs it ~10 s). */
static void get_channel_cipher_suites(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t rec[64];
	size_t n, off;

	if (rq->len != 3) {
		rs->cc = CC_REQ_LEN_INVALID;
		return;
	}
	if (!channel_ok(rq->data[0] & 0x0f) || rq->data[1] != 0x00) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	n = cipher_suite_records(rq->ipmi, rec, sizeof(rec));
	off = (size_t)(rq->data[2] & 0x3f) * 16;
	resp_u8(rs, IPMI_CHANNEL_LAN);
	if (off < n)
		resp_bytes(rs, rec + off, n - off < 16 ? n - off : 16);
}

const struct ipmi_cmd ipmi_session_cmds[] = {
	{NETFN_APP, 0x38, IPMI_PRIV_CALLBACK, CMD_PRESESSION, get_channel_auth_caps,
	 "Get Channel Authentication Capabilities"},
	{NETFN_APP, 0x39, IPMI_PRIV_CALLBACK, CMD_PRESESSION, get_session_challenge,
	 "Get Session Challenge"},
	{NETFN_APP, 0x3a, IPMI_PRIV_CALLBACK, CMD_PRESESSION, activate_session,
	 "Activate Session"},
	{NETFN_APP, 0x3b, IPMI_PRIV_CALLBACK, 0, set_session_priv,
	 "Set Session Privilege Level"},
	{NETFN_APP, 0x3c, IPMI_PRIV_CALLBACK, 0, close_session, "Close Session"},
	{NETFN_APP, 0x3d, IPMI_PRIV_USER, 0, get_session_info, "Get Session Info"},
	{NETFN_APP, 0x54, IPMI_PRIV_CALLBACK, CMD_PRESESSION, get_channel_cipher_suites,
	 "Get Channel Cipher Suites"},
	{0},
};
