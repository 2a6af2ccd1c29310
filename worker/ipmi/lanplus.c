/* RMCP+ (IPMI v2.0, spec 13.6-13.33): packet format with integrity and
 * confidentiality, Open Session, RAKP 1-4, and the cipher suites we offer.
 * Every inbound packet of a session with integrity is verified before
 * anything else looks at it; answers to retried set-up messages are
 * repeated from a cache rather than recomputed (clients restart the
 * exchange on timeouts). */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define HDR 12 /* auth type, payload type, SID, seq, length */
#define PT_IPMI 0x00
#define PT_OPEN_REQ 0x10
#define PT_OPEN_RESP 0x11
#define PT_RAKP1 0x12
#define PT_RAKP2 0x13
#define PT_RAKP3 0x14
#define PT_RAKP4 0x15
#define PT_ENCRYPTED 0x80
#define PT_AUTHENTICATED 0x40
#define SEQ_BELOW 16 /* window as OpenIPMI: highest-16 .. highest+15 */
#define SEQ_ABOVE 15

/* RMCP+ status codes (table 13-15) */
enum {
	ST_OK = 0x00,
	ST_NO_RESOURCES = 0x01,
	ST_INVALID_SID = 0x02,
	ST_INVALID_AUTH_ALG = 0x04,
	ST_INVALID_INTEG_ALG = 0x05,
	ST_INVALID_ROLE = 0x09,
	ST_UNAUTHORIZED_ROLE = 0x0a,
	ST_INVALID_NAME_LEN = 0x0c,
	ST_UNAUTHORIZED_NAME = 0x0d,
	ST_INVALID_ICV = 0x0f,
	ST_INVALID_CONF_ALG = 0x10,
	ST_NO_SUITE = 0x11,
	ST_ILLEGAL_PARAM = 0x12,
};

/* What we offer: the suites every common client uses, all of which we
 * really implement.  Suite 0 (no authentication at all) only on request. */
static const struct cipher_suite suites[] = {
	{0, IPMI_AUTH_NONE, IPMI_INTEG_NONE, IPMI_CONF_NONE},
	{1, IPMI_AUTH_HMAC_SHA1, IPMI_INTEG_NONE, IPMI_CONF_NONE},
	{2, IPMI_AUTH_HMAC_SHA1, IPMI_INTEG_HMAC_SHA1_96, IPMI_CONF_NONE},
	{3, IPMI_AUTH_HMAC_SHA1, IPMI_INTEG_HMAC_SHA1_96, IPMI_CONF_AES_CBC_128},
	{15, IPMI_AUTH_HMAC_SHA256, IPMI_INTEG_NONE, IPMI_CONF_NONE},
	{16, IPMI_AUTH_HMAC_SHA256, IPMI_INTEG_HMAC_SHA256_128, IPMI_CONF_NONE},
	{17, IPMI_AUTH_HMAC_SHA256, IPMI_INTEG_HMAC_SHA256_128, IPMI_CONF_AES_CBC_128},
};

static bool suite_enabled(const struct ipmi *ipmi, const struct cipher_suite *c)
{
	return c->id != 0 || ipmi->cfg.allow_suite0;
}

const struct cipher_suite *cipher_suite_find(const struct ipmi *ipmi, uint8_t auth,
					     uint8_t integ, uint8_t conf)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].auth == auth && suites[i].integ == integ && suites[i].conf == conf &&
		    suite_enabled(ipmi, &suites[i]))
			return &suites[i];
	return NULL;
}

size_t cipher_suite_records(const struct ipmi *ipmi, uint8_t *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!suite_enabled(ipmi, &suites[i]) || n + 5 > size)
			continue;
		out[n++] = 0xc0; /* standard cipher suite record */
		out[n++] = suites[i].id;
		out[n++] = suites[i].auth;
		out[n++] = (uint8_t)(0x40 | suites[i].integ);
		out[n++] = (uint8_t)(0x80 | suites[i].conf);
	}
	return n;
}

size_t cipher_suite_ids(const struct ipmi *ipmi, uint8_t *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]) && n < size; i++)
		if (suite_enabled(ipmi, &suites[i]))
			out[n++] = suites[i].id;
	return n;
}

/* ---- sending ---- */

static void put_header(uint8_t *pkt, uint8_t ptype, uint32_t sid, uint32_t seq)
{
	pkt[0] = 0x06; /* RMCP version 1.0 */
	pkt[1] = 0x00;
	pkt[2] = 0xff; /* no RMCP ack */
	pkt[3] = 0x07; /* class IPMI */
	pkt[4] = 0x06; /* auth type RMCP+ */
	pkt[5] = ptype;
	put_le32(pkt + 6, sid);
	put_le32(pkt + 10, seq);
}

static uint32_t next_seq(struct ipmi_session *s)
{
	if (++s->out_seq == 0) /* 0 means "outside a session" */
		s->out_seq = 1;
	return s->out_seq;
}

/* Pad, pad length, next header and the AuthCode over auth type .. next header. */
static size_t add_trailer(const struct ipmi_session *s, uint8_t *pkt, size_t n, size_t size)
{
	int ilen = ipmi_integ_len(s->integ_alg);
	size_t pad = (4 - ((n - 4 + 2) % 4)) % 4;
	uint8_t mac[IPMI_HMAC_MAX];

	if (ilen <= 0 || n + pad + 2 + (size_t)ilen > size)
		return 0;
	memset(pkt + n, 0xff, pad);
	n += pad;
	pkt[n++] = (uint8_t)pad;
	pkt[n++] = 0x07;
	if (ipmi_keys_integ(s->keys, pkt + 4, n - 4, mac) != ilen)
		return 0;
	memcpy(pkt + n, mac, (size_t)ilen);
	return n + (size_t)ilen;
}

static size_t put_payload(const struct ipmi_session *s, bool enc, const uint8_t *payload,
			  size_t len, uint8_t *pkt, size_t n, size_t size)
{
	int r;

	if (n + 2 > size)
		return 0;
	if (!enc) {
		if (n + 2 + len > size)
			return 0;
		put_le16(pkt + n, (uint16_t)len);
		memcpy(pkt + n + 2, payload, len);
		return n + 2 + len;
	}
	r = ipmi_keys_encrypt(s->keys, payload, len, pkt + n + 2, size - n - 2);
	if (r < 0)
		return 0;
	put_le16(pkt + n, (uint16_t)r);
	return n + 2 + (size_t)r;
}

size_t lanplus_send(struct ipmi_ctx *ctx, uint8_t ptype, const uint8_t *payload, size_t len,
		    uint8_t *pkt, size_t pktsize)
{
	struct ipmi_session *s = ctx->s && ctx->s->state == SS_ACTIVE ? ctx->s : NULL;
	bool enc = s && s->conf_alg != IPMI_CONF_NONE;
	bool auth = s && s->integ_alg != IPMI_INTEG_NONE;
	size_t n;

	if (pktsize < 4 + HDR)
		return 0;
	if (s)
		ptype |= (uint8_t)((enc ? PT_ENCRYPTED : 0) | (auth ? PT_AUTHENTICATED : 0));
	put_header(pkt, ptype, s ? s->console_sid : 0, s ? next_seq(s) : 0);
	/* the length field (offset 14) goes with the payload */
	n = put_payload(s, enc, payload, len, pkt, 4 + 10, pktsize);
	if (n && auth)
		n = add_trailer(s, pkt, n, pktsize);
	if (n)
		ipmi_send_raw(ctx->ipmi, pkt, n, ctx->from, ctx->fromlen);
	return n;
}

static void send_setup(struct ipmi *ipmi, uint8_t ptype, const uint8_t *payload, size_t len,
		       const struct sockaddr *to, socklen_t tolen)
{
	struct ipmi_ctx ctx = {.ipmi = ipmi, .kind = SESSION_V20, .from = to, .fromlen = tolen};
	uint8_t pkt[IPMI_PKT_MAX];

	lanplus_send(&ctx, ptype, payload, len, pkt, sizeof(pkt));
}

/* ---- Open Session (13.17, 13.18) ---- */

static int parse_algo(const uint8_t *rec, uint8_t type, uint8_t *alg)
{
	if (rec[0] != type || rec[1] || rec[2] || rec[3] != 8 || rec[5] || rec[6] || rec[7])
		return -EINVAL;
	*alg = rec[4] & 0x3f;
	return 0;
}

static void open_error(struct ipmi *ipmi, const uint8_t *rq, uint8_t status,
		       const struct sockaddr *from, socklen_t fromlen)
{
	uint8_t r[8] = {rq[0], status, 0, 0};

	memcpy(r + 4, rq + 4, 4); /* the console's session id */
	send_setup(ipmi, PT_OPEN_RESP, r, sizeof(r), from, fromlen);
}

static uint8_t check_algos(const struct ipmi *ipmi, uint8_t a, uint8_t i, uint8_t c)
{
	if (a > IPMI_AUTH_HMAC_SHA256)
		return ST_INVALID_AUTH_ALG;
	if (i > IPMI_INTEG_HMAC_SHA256_128)
		return ST_INVALID_INTEG_ALG;
	if (c > 3)
		return ST_INVALID_CONF_ALG;
	return cipher_suite_find(ipmi, a, i, c) ? ST_OK : ST_NO_SUITE;
}

static bool same_peer(const struct ipmi_session *s, const struct sockaddr *from,
		      socklen_t fromlen)
{
	return s->peerlen == fromlen && memcmp(&s->peer, from, fromlen) == 0;
}

/* A repeated Open Session (the client timed out): same answer again. */
static struct ipmi_session *open_retry(struct ipmi *ipmi, const uint8_t *rq,
				       const struct sockaddr *from, socklen_t fromlen)
{
	uint32_t csid = get_le32(rq + 4);

	for (unsigned i = 0; i < ipmi->cfg.max_sessions; i++) {
		struct ipmi_session *s = &ipmi->sessions[i];
		if (s->state == SS_V20_OPENED && s->console_sid == csid && s->open_tag == rq[0] &&
		    same_peer(s, from, fromlen))
			return s;
	}
	return NULL;
}

static void open_session(struct ipmi *ipmi, const uint8_t *rq, size_t len,
			 const struct sockaddr *from, socklen_t fromlen)
{
	struct ipmi_session *s;
	uint8_t a, i, c, st, priv;
	uint8_t *r;

	if (len < 8)
		return;
	if ((s = open_retry(ipmi, rq, from, fromlen))) {
		send_setup(ipmi, PT_OPEN_RESP, s->open_resp, s->open_resp_len, from, fromlen);
		return;
	}
	priv = rq[1] & 0x0f;
	if (len != 32 || parse_algo(rq + 8, 0, &a) || parse_algo(rq + 16, 1, &i) ||
	    parse_algo(rq + 24, 2, &c) || (rq[1] & 0xf0) || !get_le32(rq + 4)) {
		open_error(ipmi, rq, ST_ILLEGAL_PARAM, from, fromlen);
		return;
	}
	st = priv > IPMI_PRIV_OEM ? ST_INVALID_ROLE
				  : priv == IPMI_PRIV_OEM ? ST_UNAUTHORIZED_ROLE
							  : check_algos(ipmi, a, i, c);
	if (st == ST_OK && !(s = session_alloc(ipmi, SESSION_V20)))
		st = ST_NO_RESOURCES;
	if (st != ST_OK) {
		open_error(ipmi, rq, st, from, fromlen);
		return;
	}
	s->state = SS_V20_OPENED;
	s->console_sid = get_le32(rq + 4);
	s->auth_alg = a;
	s->integ_alg = i;
	s->conf_alg = c;
	s->open_tag = rq[0];
	/* 0 asks for "the highest": answer with the real maximum, never 0 */
	s->max_priv = priv ? priv : IPMI_PRIV_ADMIN;
	memcpy(&s->peer, from, fromlen);
	s->peerlen = fromlen;
	r = s->open_resp;
	memset(r, 0, 36);
	r[0] = rq[0];
	r[1] = ST_OK;
	r[2] = s->max_priv;
	put_le32(r + 4, s->console_sid);
	put_le32(r + 8, s->bmc_sid);
	memcpy(r + 12, rq + 8, 24); /* the three algorithm records as accepted */
	s->open_resp_len = 36;
	send_setup(ipmi, PT_OPEN_RESP, r, 36, from, fromlen);
}

/* ---- RAKP (13.20-13.23) ---- */

/* RAKP 2 and 4 start alike: tag, status, 2 reserved, the console's SID. */
static void put_rakp_head(uint8_t *r, uint8_t tag, uint8_t status, uint32_t csid)
{
	r[0] = tag;
	r[1] = status;
	r[2] = r[3] = 0;
	put_le32(r + 4, csid);
}

static void rakp_error(struct ipmi *ipmi, uint8_t ptype, uint8_t tag, uint8_t status,
		       uint32_t csid, const struct sockaddr *from, socklen_t fromlen)
{
	uint8_t r[8];

	put_rakp_head(r, tag, status, csid);
	send_setup(ipmi, ptype, r, sizeof(r), from, fromlen);
}

/* RAKP2's HMAC input: SIDm | SIDc | Rm | Rc | GUID | ROLE | ULEN | UNAME */
static int rakp2_hmac(const struct ipmi *ipmi, const struct ipmi_session *s, uint8_t *out)
{
	uint8_t buf[4 + 4 + 16 + 16 + 16 + 2 + IPMI_NAME_MAX];
	size_t n = 0;

	if (s->auth_alg == IPMI_AUTH_NONE)
		return 0; /* suite 0 (only when configured): no key exchange code */
	put_le32(buf, s->console_sid);
	put_le32(buf + 4, s->bmc_sid);
	n = 8;
	memcpy(buf + n, s->rm, 16);
	memcpy(buf + n + 16, s->rc, 16);
	memcpy(buf + n + 32, ipmi->cfg.guid, 16);
	n += 48;
	buf[n++] = s->role;
	buf[n++] = s->ulen;
	memcpy(buf + n, s->uname, s->ulen);
	n += s->ulen;
	return ipmi_auth_hmac(s->auth_alg, s->user->password, s->user->pwlen, buf, n, out);
}

static uint8_t rakp1_check(struct ipmi *ipmi, struct ipmi_session *s, const uint8_t *rq)
{
	uint8_t role = rq[24], priv = role & 0x0f, ulen = rq[27], id;
	const struct ipmi_user *u;

	if ((role & 0xe0) || priv > IPMI_PRIV_OEM)
		return ST_INVALID_ROLE;
	if (ulen > IPMI_NAME_MAX)
		return ST_INVALID_NAME_LEN;
	u = user_find(ipmi, (const char *)rq + 28, ulen, &id);
	if (!u) {
		ipmi->stats.auth_failures++;
		return ST_UNAUTHORIZED_NAME;
	}
	if (priv == 0)
		priv = u->max_priv < s->max_priv ? u->max_priv : s->max_priv;
	if (priv > u->max_priv || priv > s->max_priv)
		return ST_UNAUTHORIZED_ROLE;
	s->user = u;
	s->user_id = id;
	s->max_priv = priv;
	s->role = role;
	s->ulen = ulen;
	memcpy(s->uname, rq + 28, ulen);
	s->uname[ulen] = '\0';
	memcpy(s->rm, rq + 8, 16);
	return ST_OK;
}

static void rakp1(struct ipmi *ipmi, const uint8_t *rq, size_t len, const struct sockaddr *from,
		  socklen_t fromlen)
{
	struct ipmi_session *s;
	uint8_t st, mac[IPMI_HMAC_MAX], *r;
	uint64_t h;
	int ml;

	if (len < 28)
		return;
	s = session_find(ipmi, get_le32(rq + 4));
	if (!s || s->kind != SESSION_V20 || !same_peer(s, from, fromlen)) {
		rakp_error(ipmi, PT_RAKP2, rq[0], ST_INVALID_SID, 0, from, fromlen);
		return;
	}
	h = ipmi_hash8(rq, len);
	if (s->state == SS_V20_RAKP2 && h == s->rakp1_hash) {
		send_setup(ipmi, PT_RAKP2, s->rakp_resp, s->rakp_resp_len, from, fromlen);
		return;
	}
	if (s->state != SS_V20_OPENED) {
		rakp_error(ipmi, PT_RAKP2, rq[0], ST_INVALID_SID, s->console_sid, from, fromlen);
		return;
	}
	st = len == 28u + rq[27] ? rakp1_check(ipmi, s, rq) : ST_INVALID_NAME_LEN;
	if (st == ST_OK && ipmi->ops->random(ipmi->arg, s->rc, 16) < 0)
		st = ST_NO_RESOURCES;
	ml = st == ST_OK ? rakp2_hmac(ipmi, s, mac) : 0;
	if (st == ST_OK && ml < 0)
		st = ST_INVALID_AUTH_ALG;
	if (st != ST_OK) {
		rakp_error(ipmi, PT_RAKP2, rq[0], st, s->console_sid, from, fromlen);
		session_free(ipmi, s);
		return;
	}
	r = s->rakp_resp;
	put_rakp_head(r, rq[0], ST_OK, s->console_sid);
	memcpy(r + 8, s->rc, 16);
	memcpy(r + 24, ipmi->cfg.guid, 16);
	memcpy(r + 40, mac, (size_t)ml);
	s->rakp_resp_len = 40 + (size_t)ml;
	s->rakp1_hash = h;
	s->state = SS_V20_RAKP2;
	s->last_ms = ipmi->ops->now_ms(ipmi->arg);
	send_setup(ipmi, PT_RAKP2, r, s->rakp_resp_len, from, fromlen);
}

/* RAKP3's HMAC: Rc | SIDm | ROLE | ULEN | UNAME, keyed with the password */
static int rakp3_hmac(const struct ipmi_session *s, uint8_t *out)
{
	uint8_t buf[16 + 4 + 2 + IPMI_NAME_MAX];
	size_t n;

	if (s->auth_alg == IPMI_AUTH_NONE)
		return 0;
	memcpy(buf, s->rc, 16);
	put_le32(buf + 16, s->console_sid);
	buf[20] = s->role;
	buf[21] = s->ulen;
	memcpy(buf + 22, s->uname, s->ulen);
	n = 22 + s->ulen;
	return ipmi_auth_hmac(s->auth_alg, s->user->password, s->user->pwlen, buf, n, out);
}

static int derive_keys(struct ipmi_session *s)
{
	int n = s->auth_alg == IPMI_AUTH_NONE
			? 0 /* suite 0: ipmi_sik() knows no "none" */
			: ipmi_sik(s->auth_alg, s->user->password, s->user->pwlen, s->rm, s->rc,
				   s->role, s->uname, s->ulen, s->sik);

	if (n <= 0)
		return n < 0 ? n : 0; /* auth none: no keys, nothing to protect with */
	if (ipmi_kn(s->auth_alg, s->sik, 1, s->k1) < 0 || ipmi_kn(s->auth_alg, s->sik, 2, s->k2) < 0)
		return -EINVAL;
	ipmi_keys_free(s->keys); /* a repeated RAKP3 derives the same keys again */
	s->keys = NULL;
	return ipmi_keys_new(&s->keys, s->integ_alg, s->k1, (size_t)ipmi_auth_len(s->auth_alg),
			     s->conf_alg, s->k2);
}

/* RAKP4's integrity check value: HMAC(SIK, Rm | SIDc | GUID), truncated. */
static int rakp4_icv(const struct ipmi *ipmi, const struct ipmi_session *s, uint8_t *out)
{
	uint8_t buf[16 + 4 + 16], mac[IPMI_HMAC_MAX];
	int n, keep;

	if (s->auth_alg == IPMI_AUTH_NONE)
		return 0;
	memcpy(buf, s->rm, 16);
	put_le32(buf + 16, s->bmc_sid);
	memcpy(buf + 20, ipmi->cfg.guid, 16);
	n = ipmi_auth_hmac(s->auth_alg, s->sik, (size_t)ipmi_auth_len(s->auth_alg), buf,
			   sizeof(buf), mac);
	if (n < 0)
		return n;
	keep = s->auth_alg == IPMI_AUTH_HMAC_SHA1 ? 12 : 16;
	memcpy(out, mac, (size_t)keep);
	return keep;
}

static void activate(struct ipmi *ipmi, struct ipmi_session *s)
{
	s->state = SS_ACTIVE;
	s->priv = s->max_priv < IPMI_PRIV_USER ? s->max_priv : IPMI_PRIV_USER;
	s->out_seq = 0;
	memset(&s->in_auth, 0, sizeof(s->in_auth));
	memset(&s->in_unauth, 0, sizeof(s->in_unauth));
	s->last_ms = ipmi->ops->now_ms(ipmi->arg);
	ipmi->stats.sessions_opened++;
}

static bool rakp3_verify(struct ipmi *ipmi, struct ipmi_session *s, const uint8_t *rq,
			 size_t len)
{
	uint8_t mac[IPMI_HMAC_MAX];
	int ml = rakp3_hmac(s, mac);

	(void)ipmi;
	if (ml < 0 || len != 8 + (size_t)ml)
		return false;
	return ml == 0 || ipmi_memcmp_ct(mac, rq + 8, (size_t)ml) == 0;
}

static void rakp3(struct ipmi *ipmi, const uint8_t *rq, size_t len, const struct sockaddr *from,
		  socklen_t fromlen)
{
	struct ipmi_session *s;
	uint8_t *r;
	uint64_t h;
	int il;

	if (len < 8)
		return;
	s = session_find(ipmi, get_le32(rq + 4));
	if (!s || s->kind != SESSION_V20 || !same_peer(s, from, fromlen)) {
		rakp_error(ipmi, PT_RAKP4, rq[0], ST_INVALID_SID, 0, from, fromlen);
		return;
	}
	h = ipmi_hash8(rq, len);
	if (s->state == SS_ACTIVE && s->rakp4_resp_len && h == s->rakp3_hash) {
		send_setup(ipmi, PT_RAKP4, s->rakp4_resp, s->rakp4_resp_len, from, fromlen);
		return;
	}
	if (s->state != SS_V20_RAKP2) {
		rakp_error(ipmi, PT_RAKP4, rq[0], ST_INVALID_SID, s->console_sid, from, fromlen);
		return;
	}
	if (rq[1] != ST_OK) { /* the console gave up */
		session_free(ipmi, s);
		return;
	}
	if (!rakp3_verify(ipmi, s, rq, len) || derive_keys(s) < 0) {
		ipmi->stats.auth_failures++;
		rakp_error(ipmi, PT_RAKP4, rq[0], ST_INVALID_ICV, s->console_sid, from, fromlen);
		session_free(ipmi, s);
		return;
	}
	r = s->rakp4_resp;
	put_rakp_head(r, rq[0], ST_OK, s->console_sid);
	il = rakp4_icv(ipmi, s, r + 8);
	if (il < 0) {
		session_free(ipmi, s);
		return;
	}
	s->rakp4_resp_len = 8 + (size_t)il;
	s->rakp3_hash = h;
	activate(ipmi, s);
	send_setup(ipmi, PT_RAKP4, r, s->rakp4_resp_len, from, fromlen);
}

/* ---- inbound packets ---- */

/* Check the integrity trailer; on success *plen_out is unchanged and 0 is
 * returned.  The AuthCode covers auth type .. next header (13.28.4). */
static int verify_trailer(const struct ipmi_session *s, const uint8_t *p, size_t len,
			  size_t plen)
{
	int il = ipmi_integ_len(s->integ_alg);
	uint8_t mac[IPMI_HMAC_MAX];
	size_t padlen, body;

	if (il <= 0 || len < HDR + plen + 2 + (size_t)il)
		return -EBADMSG;
	body = len - (size_t)il; /* auth type .. next header */
	padlen = p[body - 2];
	if (p[body - 1] != 0x07 || padlen > 3 || HDR + plen + padlen + 2 != body ||
	    body % 4 != 0)
		return -EBADMSG;
	if (ipmi_keys_integ(s->keys, p, body, mac) != il)
		return -EBADMSG;
	return ipmi_memcmp_ct(mac, p + body, (size_t)il) ? -EACCES : 0;
}

static void presession(struct ipmi *ipmi, uint8_t ptype, const uint8_t *pl, size_t plen,
		       const struct sockaddr *from, socklen_t fromlen)
{
	struct ipmi_ctx ctx = {.ipmi = ipmi, .kind = SESSION_V20, .from = from,
			       .fromlen = fromlen};

	switch (ptype) {
	case PT_IPMI:
		if (ipmi_msg_input(&ctx, pl, plen) < 0)
			ipmi->stats.dropped++;
		break;
	case PT_OPEN_REQ:
		open_session(ipmi, pl, plen, from, fromlen);
		break;
	case PT_RAKP1:
		rakp1(ipmi, pl, plen, from, fromlen);
		break;
	case PT_RAKP3:
		rakp3(ipmi, pl, plen, from, fromlen);
		break;
	default:
		ipmi->stats.dropped++;
	}
}

static int in_session(struct ipmi *ipmi, struct ipmi_session *s, const uint8_t *p, size_t len,
		      const struct sockaddr *from, socklen_t fromlen)
{
	uint8_t ptype = p[1];
	uint32_t seq = get_le32(p + 6);
	size_t plen = get_le16(p + 10);
	bool auth = ptype & PT_AUTHENTICATED, enc = ptype & PT_ENCRYPTED;
	struct seq_window *w = auth ? &s->in_auth : &s->in_unauth;
	uint8_t plain[IPMI_PKT_MAX];
	const uint8_t *pl = p + HDR;
	struct ipmi_ctx ctx = {.ipmi = ipmi, .s = s, .kind = SESSION_V20, .seq = seq,
			       .from = from, .fromlen = fromlen};
	int r;

	if ((ptype & 0x3f) != PT_IPMI || s->state != SS_ACTIVE || s->kind != SESSION_V20)
		return -EBADMSG;
	/* the session's algorithms are not optional per packet */
	if (auth != (s->integ_alg != IPMI_INTEG_NONE) || enc != (s->conf_alg != IPMI_CONF_NONE))
		return -EBADMSG;
	if (auth ? verify_trailer(s, p, len, plen) < 0 : HDR + plen > len) {
		ipmi->stats.auth_failures++;
		return -EACCES;
	}
	if (seq == 0)
		return -EBADMSG;
	r = seq_check(w, seq, SEQ_BELOW, SEQ_ABOVE);
	if (r == -EEXIST) {
		ipmi_msg_retransmit(&ctx, seq);
		return 0;
	}
	if (r < 0)
		return r;
	if (enc) {
		r = ipmi_keys_decrypt(s->keys, pl, plen, plain, sizeof(plain));
		if (r < 0)
			return r;
		pl = plain;
		plen = (size_t)r;
	}
	seq_accept(w, seq);
	s->last_ms = ipmi->ops->now_ms(ipmi->arg);
	/* RAKP proved the user; suite 0 proves nothing */
	ctx.authenticated = s->auth_alg != IPMI_AUTH_NONE;
	return ipmi_msg_input(&ctx, pl, plen);
}

int lanplus_input(struct ipmi *ipmi, const uint8_t *p, size_t len, const struct sockaddr *from,
		  socklen_t fromlen)
{
	uint8_t ptype;
	uint32_t sid;
	size_t plen;

	if (len < HDR || p[0] != 0x06)
		return -EBADMSG;
	ptype = p[1];
	if ((ptype & 0x3f) == 0x02) /* OEM explicit payloads: not ours */
		return -EBADMSG;
	sid = get_le32(p + 2);
	plen = get_le16(p + 10);
	if (HDR + plen > len || plen > IPMI_PKT_MAX)
		return -EBADMSG;
	if (sid == 0) {
		if (ptype & (PT_AUTHENTICATED | PT_ENCRYPTED))
			return -EBADMSG;
		presession(ipmi, ptype, p + HDR, plen, from, fromlen);
		return 0;
	}
	{
		struct ipmi_session *s = session_find(ipmi, sid);
		if (!s)
			return -ENOENT;
		return in_session(ipmi, s, p, len, from, fromlen);
	}
}
