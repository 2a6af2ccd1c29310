/*
 * Session-level tests of the IPMI engine (worker/ipmi/): the real
 * ipmi_new() / ipmi_input() path, driven the way a LAN client drives it.
 *
 * The BMC gets fake ops: sends are captured, the clock is a counter, the
 * "random" bytes come from an LCG, and the power core records each action
 * (answering at once).  The client side is written here with the
 * functions of worker/ipmi/crypto.h: RMCP+ Open Session, RAKP 1-4 with the
 * HMACs checked both ways, SIK/K1/K2, integrity trailers and AES-CBC, and
 * the IPMI v1.5 challenge / activate / MD5 exchange.
 *
 * Checked: the full logins (suites 1, 2, 3, 15, 16, 17; v1.5 MD5) reach
 * the power core exactly once per command; replays, tampered AuthCodes,
 * flipped ciphertext, sequence numbers outside the window, wrong
 * passwords, unknown users, refused suites and auth types, bad roles and
 * name lengths, insufficient privileges, closing another session, a full
 * session table, retried set-up messages, truncated packets at every
 * layer, oversized length fields and random mutations: no crash, no
 * answer or an error answer, and never a power action that was not asked
 * for by an authenticated, privileged, fresh request.
 *
 * Run it under valgrind too:
 *   valgrind --leak-check=full --error-exitcode=1 build/tests/unit/test-ipmi-session
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ipmi/internal.h"
#include "tap.h"

/* ---- fake ops ---- */

#define CAP_MAX 8

static struct {
	uint64_t now;
	uint32_t rng;
	enum power_state state;
	int power_calls;
	enum power_action action;
	struct boot_state boot;
	int sent; /* datagrams sent since the last bmc_in() */
	uint8_t pkt[CAP_MAX][IPMI_PKT_MAX];
	size_t len[CAP_MAX];
	struct sockaddr_in to[CAP_MAX];
	bool bad_send; /* an answer to the wrong peer or of a bad size */
} F;

static void f_send(void *arg, const uint8_t *buf, size_t len, const struct sockaddr *to,
		   socklen_t tolen)
{
	(void)arg;
	if (len > IPMI_PKT_MAX || tolen != sizeof(struct sockaddr_in) || !to) {
		F.bad_send = true;
		return;
	}
	if (F.sent < CAP_MAX) {
		memcpy(F.pkt[F.sent], buf, len);
		F.len[F.sent] = len;
		memcpy(&F.to[F.sent], to, sizeof(struct sockaddr_in));
	}
	F.sent++;
}

static uint64_t f_now(void *arg)
{
	(void)arg;
	return F.now;
}

static int f_random(void *arg, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)arg;
	for (size_t i = 0; i < len; i++) {
		F.rng = F.rng * 1103515245u + 12345u;
		p[i] = (uint8_t)(F.rng >> 16);
	}
	return 0;
}

static enum power_state f_state(void *arg)
{
	(void)arg;
	return F.state;
}

static void f_power(void *arg, enum power_action a,
		    void (*cb)(void *cbarg, enum power_result r, const char *detail), void *cbarg)
{
	(void)arg;
	F.power_calls++;
	F.action = a;
	F.state = a == POWER_OFF ? POWER_STATE_OFF : POWER_STATE_ON;
	cb(cbarg, POWER_OK, NULL);
}

static struct boot_state *f_boot(void *arg)
{
	(void)arg;
	return &F.boot;
}

static void f_boot_changed(void *arg)
{
	(void)arg;
}

static void f_identify(void *arg, unsigned seconds)
{
	(void)arg;
	(void)seconds;
}

static const struct ipmi_ops ops = {
	.send = f_send,
	.now_ms = f_now,
	.random = f_random,
	.power_state = f_state,
	.power = f_power,
	.boot = f_boot,
	.boot_changed = f_boot_changed,
	.identify = f_identify,
};

/* ---- the BMC ---- */

static const uint8_t GUID[16] = {0xa1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				 0xa1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static struct ipmi *bmc;

#define MAX_SESSIONS 4

static void add_user(struct ipmi_config *c, const char *name, const char *pw, uint8_t priv)
{
	struct ipmi_user *u = &c->users[c->n_users++];

	snprintf(u->name, sizeof(u->name), "%s", name);
	u->pwlen = (uint8_t)strlen(pw);
	memcpy(u->password, pw, u->pwlen);
	u->max_priv = priv;
}

static void bmc_start(bool suite0, bool authnone, bool straight)
{
	struct ipmi_config c;

	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "node-0");
	memcpy(c.guid, GUID, 16);
	c.addr.family = AF_INET;
	memcpy(c.addr.bytes, (uint8_t[]){127, 0, 0, 1}, 4);
	c.prefix = 8;
	c.port = 623;
	add_user(&c, "admin", "password", IPMI_PRIV_ADMIN);
	add_user(&c, "oper", "operpass", IPMI_PRIV_OPERATOR);
	add_user(&c, "ro", "readonly", IPMI_PRIV_USER);
	add_user(&c, "sixteen-chars-xx", "twenty-bytes-pass-xx", IPMI_PRIV_ADMIN);
	c.max_sessions = MAX_SESSIONS;
	c.session_timeout_ms = 60000;
	c.allow_suite0 = suite0;
	c.allow_authnone = authnone;
	c.allow_straight = straight;
	ipmi_free(bmc);
	memset(&F, 0, sizeof(F));
	F.rng = 1;
	F.now = 100000;
	F.state = POWER_STATE_ON;
	bmc = ipmi_new(&c, &ops, NULL);
	CHECK(bmc != NULL);
}

static struct sockaddr_in peer_addr(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(0x7f000001);
	return a;
}

static void bmc_in(const struct sockaddr_in *from, const uint8_t *p, size_t n)
{
	F.sent = 0;
	ipmi_input(bmc, p, n, (const struct sockaddr *)from, sizeof(*from));
	for (int i = 0; i < F.sent && i < CAP_MAX; i++)
		if (memcmp(&F.to[i], from, sizeof(*from)) != 0)
			F.bad_send = true;
}

/* Send and expect nothing at all: no answer, no power action. */
static bool silent(const struct sockaddr_in *from, const uint8_t *p, size_t n)
{
	int calls = F.power_calls;

	bmc_in(from, p, n);
	return F.sent == 0 && F.power_calls == calls;
}

static size_t active_sessions(void)
{
	size_t active;

	ipmi_session_count(bmc, &active);
	return active;
}

/* ---- IPMI messages ---- */

static uint8_t cks(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

static size_t mk_msg(uint8_t netfn, uint8_t cmd, uint8_t rqseq, const void *data, size_t dl,
		     uint8_t *out)
{
	out[0] = IPMI_BMC_ADDR;
	out[1] = (uint8_t)(netfn << 2);
	out[2] = cks(out, 2);
	out[3] = 0x81;
	out[4] = (uint8_t)(rqseq << 2);
	out[5] = cmd;
	if (dl)
		memcpy(out + 6, data, dl);
	out[6 + dl] = cks(out + 3, 3 + dl);
	return 7 + dl;
}

/* Check a response message to (netfn, cmd, rqseq), copy out its data;
 * returns the completion code or -1 if it is not that answer. */
static int msg_resp(const uint8_t *m, size_t n, uint8_t netfn, uint8_t cmd, uint8_t rqseq,
		    uint8_t *data, size_t *dl)
{
	if (n < 8 || m[0] != 0x81 || m[1] != (uint8_t)((netfn | 1) << 2) || cks(m, 2) != m[2] ||
	    m[3] != IPMI_BMC_ADDR || m[4] != (uint8_t)(rqseq << 2) || m[5] != cmd ||
	    cks(m + 3, n - 4) != m[n - 1])
		return -1;
	if (data)
		memcpy(data, m + 7, n - 8);
	if (dl)
		*dl = n - 8;
	return m[6];
}

/* ---- RMCP+ client ---- */

struct suite {
	uint8_t id, auth, integ, conf;
};

static const struct suite SUITES[] = {
	{0, 0, 0, 0}, {1, 1, 0, 0}, {2, 1, 1, 0}, {3, 1, 1, 1},
	{15, 3, 0, 0}, {16, 3, 4, 0}, {17, 3, 4, 1},
};

static const struct suite *suite(uint8_t id)
{
	for (size_t i = 0; i < sizeof(SUITES) / sizeof(SUITES[0]); i++)
		if (SUITES[i].id == id)
			return &SUITES[i];
	return NULL;
}

struct client {
	struct sockaddr_in peer;
	uint8_t auth, integ, conf;
	uint32_t sidm; /* the console's session id (the BMC answers to it) */
	uint32_t sidc; /* the BMC's */
	uint8_t tag, role, ulen;
	char name[300];
	uint8_t pw[32];
	size_t pwlen;
	uint8_t rm[16], rc[16];
	uint8_t sik[IPMI_HMAC_MAX], k1[IPMI_HMAC_MAX], k2[IPMI_HMAC_MAX];
	uint8_t open_max_priv;
	uint32_t seq;     /* last in-session sequence number sent */
	uint32_t bmc_seq; /* last one received */
	uint8_t rqseq;
	uint8_t last[IPMI_PKT_MAX + 64]; /* the last request datagram */
	size_t lastlen;
	uint8_t lastmsg[IPMI_PKT_MAX]; /* the last answer message */
	size_t lastmsglen;
};

static void client_init(struct client *c, uint16_t port, uint8_t suite_id, const char *name,
			const char *pw, uint8_t role)
{
	const struct suite *s = suite(suite_id);

	memset(c, 0, sizeof(*c));
	c->peer = peer_addr(port);
	c->auth = s->auth;
	c->integ = s->integ;
	c->conf = s->conf;
	c->sidm = 0xa0a2a300u + port;
	c->tag = (uint8_t)(port * 7);
	c->role = role;
	c->ulen = (uint8_t)strlen(name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->pwlen = strlen(pw);
	memcpy(c->pw, pw, c->pwlen);
	for (int i = 0; i < 16; i++)
		c->rm[i] = (uint8_t)(port * 13 + i * 17);
	c->seq = 3; /* ipmitool's first in-session number is not 1 either */
	c->rqseq = 1;
}

static size_t setup_pkt(uint8_t ptype, const void *pl, size_t len, uint8_t *out)
{
	memcpy(out, "\x06\x00\xff\x07\x06", 5);
	out[5] = ptype;
	memset(out + 6, 0, 8);
	put_le16(out + 14, (uint16_t)len);
	if (len)
		memcpy(out + 16, pl, len);
	return 16 + len;
}

/* The one answer to the last input, as a pre-session RMCP+ packet of
 * ptype: its payload (NULL if there is no such answer). */
static const uint8_t *setup_answer(uint8_t ptype, size_t *plen)
{
	const uint8_t *p = F.pkt[0];
	size_t n = F.len[0];

	if (F.sent != 1 || n < 16 || memcmp(p, "\x06\x00\xff\x07\x06", 5) != 0 ||
	    p[5] != ptype || get_le32(p + 6) || get_le32(p + 10) || 16u + get_le16(p + 14) != n)
		return NULL;
	*plen = n - 16;
	return p + 16;
}

static size_t open_req(const struct client *c, uint8_t priv, uint8_t *out)
{
	uint8_t pl[32] = {c->tag, priv};
	const uint8_t alg[3] = {c->auth, c->integ, c->conf};

	put_le32(pl + 4, c->sidm);
	for (int k = 0; k < 3; k++) {
		pl[8 + 8 * k] = (uint8_t)k;
		pl[8 + 8 * k + 3] = 8;
		pl[8 + 8 * k + 4] = alg[k];
	}
	return setup_pkt(0x10, pl, sizeof(pl), out);
}

/* Open Session: the status, or -1 without a well-formed answer. */
static int c_open(struct client *c, uint8_t priv)
{
	uint8_t pkt[64];
	size_t n = open_req(c, priv, pkt), rl;
	const uint8_t *r;

	bmc_in(&c->peer, pkt, n);
	r = setup_answer(0x11, &rl);
	if (!r || rl < 8 || r[0] != c->tag || get_le32(r + 4) != c->sidm)
		return -1;
	if (r[1] != 0)
		return r[1];
	if (rl != 36 || memcmp(r + 12, pkt + 24, 24) != 0)
		return -1;
	c->sidc = get_le32(r + 8);
	c->open_max_priv = r[2];
	CHECK(c->sidc != 0);
	return 0;
}

static size_t rakp1_req(const struct client *c, uint8_t *out)
{
	uint8_t pl[28 + 300] = {c->tag};

	put_le32(pl + 4, c->sidc);
	memcpy(pl + 8, c->rm, 16);
	pl[24] = c->role;
	pl[27] = c->ulen;
	memcpy(pl + 28, c->name, strlen(c->name));
	return setup_pkt(0x12, pl, 28 + strlen(c->name), out);
}

/* RAKP1 -> RAKP2: the status; -1 no well-formed answer; -2 the RAKP2 HMAC
 * does not match our password. */
static int c_rakp1(struct client *c)
{
	uint8_t pkt[IPMI_PKT_MAX], buf[128], mac[IPMI_HMAC_MAX];
	size_t n = rakp1_req(c, pkt), rl, bl = 0;
	const uint8_t *r;
	int hl = ipmi_auth_len(c->auth);

	bmc_in(&c->peer, pkt, n);
	r = setup_answer(0x13, &rl);
	if (!r || rl < 8 || r[0] != c->tag)
		return -1;
	if (r[1] != 0)
		return r[1];
	if (rl != 40u + (size_t)hl || get_le32(r + 4) != c->sidm ||
	    memcmp(r + 24, GUID, 16) != 0)
		return -1;
	memcpy(c->rc, r + 8, 16);
	put_le32(buf, c->sidm);
	put_le32(buf + 4, c->sidc);
	memcpy(buf + 8, c->rm, 16);
	memcpy(buf + 24, c->rc, 16);
	memcpy(buf + 40, GUID, 16);
	buf[56] = c->role;
	buf[57] = c->ulen;
	memcpy(buf + 58, c->name, c->ulen);
	bl = 58u + c->ulen;
	if (hl > 0 && (ipmi_auth_hmac(c->auth, c->pw, c->pwlen, buf, bl, mac) != hl ||
		       memcmp(mac, r + 40, (size_t)hl) != 0))
		return -2;
	return 0;
}

static size_t rakp3_req(const struct client *c, uint8_t status, uint8_t *out)
{
	uint8_t pl[8 + IPMI_HMAC_MAX] = {c->tag, status}, buf[64];
	int hl = ipmi_auth_len(c->auth);

	put_le32(pl + 4, c->sidc);
	memcpy(buf, c->rc, 16);
	put_le32(buf + 16, c->sidm);
	buf[20] = c->role;
	buf[21] = c->ulen;
	memcpy(buf + 22, c->name, c->ulen);
	if (hl > 0)
		CHECK(ipmi_auth_hmac(c->auth, c->pw, c->pwlen, buf, 22u + c->ulen, pl + 8) == hl);
	return setup_pkt(0x14, pl, 8 + (size_t)(hl > 0 ? hl : 0), out);
}

/* RAKP3 -> RAKP4: the status; -1 no well-formed answer; -2 bad ICV. */
static int c_rakp3(struct client *c)
{
	uint8_t pkt[128], buf[36], mac[IPMI_HMAC_MAX];
	size_t n = rakp3_req(c, 0, pkt), rl;
	const uint8_t *r;
	int hl = ipmi_auth_len(c->auth), il = c->auth == IPMI_AUTH_HMAC_SHA1 ? 12 : 16;

	bmc_in(&c->peer, pkt, n);
	r = setup_answer(0x15, &rl);
	if (!r || rl < 8 || r[0] != c->tag)
		return -1;
	if (r[1] != 0)
		return r[1];
	if (get_le32(r + 4) != c->sidm)
		return -1;
	c->bmc_seq = 0; /* a new session: the BMC counts from 1 again */
	if (hl == 0)
		return rl == 8 ? 0 : -1;
	if (ipmi_sik(c->auth, c->pw, c->pwlen, c->rm, c->rc, c->role, c->name, c->ulen, c->sik) !=
		    hl ||
	    ipmi_kn(c->auth, c->sik, 1, c->k1) != hl || ipmi_kn(c->auth, c->sik, 2, c->k2) != hl)
		return -1;
	memcpy(buf, c->rm, 16);
	put_le32(buf + 16, c->sidc);
	memcpy(buf + 20, GUID, 16);
	ipmi_auth_hmac(c->auth, c->sik, (size_t)hl, buf, sizeof(buf), mac);
	if (rl != 8u + (size_t)il)
		return -1;
	return memcmp(mac, r + 8, (size_t)il) == 0 ? 0 : -2;
}

/* The whole set-up, each step checked. */
static bool c_login(struct client *c, uint8_t priv)
{
	int r;

	r = c_open(c, priv);
	CHECK(r == 0);
	if (r)
		return false;
	CHECK(c->open_max_priv == (priv ? priv : IPMI_PRIV_ADMIN));
	r = c_rakp1(c);
	CHECK(r == 0);
	if (r)
		return false;
	r = c_rakp3(c);
	CHECK(r == 0);
	return r == 0;
}

static size_t add_trailer(const struct client *c, uint8_t *out, size_t n)
{
	size_t pad = (4 - (n - 4 + 2) % 4) % 4;
	uint8_t mac[IPMI_HMAC_MAX];
	int il;

	memset(out + n, 0xff, pad);
	n += pad;
	out[n++] = (uint8_t)pad;
	out[n++] = 0x07;
	il = ipmi_integ(c->integ, c->k1, (size_t)ipmi_auth_len(c->auth), out + 4, n - 4, mac);
	CHECK(il > 0);
	memcpy(out + n, mac, (size_t)il);
	return n + (size_t)il;
}

/* An in-session packet carrying msg (len bytes), as the session's suite
 * wants it; the IV is derived from seq so that tests are repeatable. */
static size_t sess_pkt(const struct client *c, uint32_t seq, const uint8_t *msg, size_t ml,
		       uint8_t *out)
{
	size_t n = 16;

	memcpy(out, "\x06\x00\xff\x07\x06", 5);
	out[5] = (uint8_t)((c->conf ? 0x80 : 0) | (c->integ ? 0x40 : 0));
	put_le32(out + 6, c->sidc);
	put_le32(out + 10, seq);
	if (c->conf) {
		uint8_t iv[16];
		int r;
		for (int i = 0; i < 16; i++)
			iv[i] = (uint8_t)(seq * 31u + (unsigned)i * 7u + c->tag);
		r = ipmi_aes_encrypt_iv(c->k2, iv, msg, ml, out + 16, IPMI_PKT_MAX);
		CHECK(r > 0);
		put_le16(out + 14, (uint16_t)r);
		n += (size_t)r;
	} else {
		memcpy(out + 16, msg, ml);
		put_le16(out + 14, (uint16_t)ml);
		n += ml;
	}
	return c->integ ? add_trailer(c, out, n) : n;
}

/* Answer i of the last input as an in-session packet to c: verified,
 * decrypted; the message into msg, its length returned, or -1. */
static int sess_answer(struct client *c, int i, uint8_t *msg)
{
	const uint8_t *p = F.pkt[i];
	size_t n = F.len[i], plen, body = n;
	uint8_t mac[IPMI_HMAC_MAX];
	uint32_t seq;

	if (i >= F.sent || n < 16 || memcmp(p, "\x06\x00\xff\x07\x06", 5) != 0 ||
	    p[5] != (uint8_t)((c->conf ? 0x80 : 0) | (c->integ ? 0x40 : 0)) ||
	    get_le32(p + 6) != c->sidm)
		return -1;
	seq = get_le32(p + 10);
	plen = get_le16(p + 14);
	if (c->integ) {
		int il = ipmi_integ_len(c->integ);
		if (n < 16 + plen + 2 + (size_t)il)
			return -1;
		body = n - (size_t)il;
		if (p[body - 1] != 0x07 || p[body - 2] > 3 || 16 + plen + p[body - 2] + 2 != body ||
		    (body - 4) % 4 != 0)
			return -1;
		ipmi_integ(c->integ, c->k1, (size_t)ipmi_auth_len(c->auth), p + 4, body - 4, mac);
		if (memcmp(mac, p + body, (size_t)il) != 0)
			return -1;
	} else if (16 + plen != n) {
		return -1;
	}
	/* the BMC's sequence numbers count up from 1, one per packet */
	CHECK(seq == c->bmc_seq + 1);
	c->bmc_seq = seq;
	if (c->conf)
		return ipmi_aes_decrypt(c->k2, p + 16, plen, msg, IPMI_PKT_MAX);
	memcpy(msg, p + 16, plen);
	return (int)plen;
}

/* An in-session request: the completion code, -1 when nothing came back,
 * -2 for an answer we cannot accept. */
static int c_req(struct client *c, uint8_t netfn, uint8_t cmd, const void *data, size_t dl,
		 uint8_t *rd, size_t *rdl)
{
	uint8_t msg[IPMI_PKT_MAX], m[IPMI_PKT_MAX];
	size_t ml = mk_msg(netfn, cmd, c->rqseq, data, dl, msg);
	uint8_t rqseq = c->rqseq;
	int l, cc;

	c->lastlen = sess_pkt(c, ++c->seq, msg, ml, c->last);
	c->rqseq = (uint8_t)((c->rqseq + 1) & 0x3f);
	bmc_in(&c->peer, c->last, c->lastlen);
	if (F.sent == 0)
		return -1;
	CHECK(F.sent == 1);
	l = sess_answer(c, 0, m);
	CHECK(l > 0);
	if (l <= 0)
		return -2;
	cc = msg_resp(m, (size_t)l, netfn, cmd, rqseq, rd, rdl);
	CHECK(cc >= 0);
	memcpy(c->lastmsg, m, (size_t)l);
	c->lastmsglen = (size_t)l;
	return cc < 0 ? -2 : cc;
}

/* The same request message, framed for sequence number seq, not sent. */
static size_t c_pkt(struct client *c, uint32_t seq, uint8_t netfn, uint8_t cmd,
		    const void *data, size_t dl, uint8_t *out)
{
	uint8_t msg[IPMI_PKT_MAX];
	size_t ml = mk_msg(netfn, cmd, c->rqseq, data, dl, msg);

	c->rqseq = (uint8_t)((c->rqseq + 1) & 0x3f);
	return sess_pkt(c, seq, msg, ml, out);
}

static int get_chassis_status(struct client *c)
{
	uint8_t d[16];
	size_t dl = 0;
	int cc = c_req(c, NETFN_CHASSIS, 0x01, NULL, 0, d, &dl);

	if (cc == 0)
		CHECK(dl == 3);
	return cc;
}

static int set_priv(struct client *c, uint8_t priv)
{
	uint8_t d[16];
	size_t dl = 0;
	int cc = c_req(c, NETFN_APP, 0x3b, &priv, 1, d, &dl);

	if (cc == 0)
		CHECK(dl == 1 && d[0] == priv);
	return cc;
}

static int chassis_control(struct client *c, uint8_t ctl)
{
	return c_req(c, NETFN_CHASSIS, 0x02, &ctl, 1, NULL, NULL);
}

/* ---- IPMI v1.5 client ---- */

struct v15 {
	struct sockaddr_in peer;
	uint8_t at;
	uint8_t pw16[16];
	char name[17];
	uint32_t sid;
	uint32_t seq;     /* next sequence number we send */
	uint32_t bmc_seq; /* last one the BMC sent */
	uint8_t rqseq;
	uint8_t last[IPMI_PKT_MAX];
	size_t lastlen;
};

static void v15_init(struct v15 *v, uint16_t port, uint8_t at, const char *name,
		     const char *pw)
{
	memset(v, 0, sizeof(*v));
	v->peer = peer_addr(port);
	v->at = at;
	snprintf(v->name, sizeof(v->name), "%s", name);
	memcpy(v->pw16, pw, strlen(pw) < 16 ? strlen(pw) : 16);
	v->rqseq = 1;
}

static size_t v15_pkt(uint8_t at, uint32_t seq, uint32_t sid, const uint8_t *pw16,
		      const uint8_t *msg, size_t ml, uint8_t *out)
{
	size_t n = 13;

	memcpy(out, "\x06\x00\xff\x07", 4);
	out[4] = at;
	put_le32(out + 5, seq);
	put_le32(out + 9, sid);
	if (at == 2)
		ipmi_md5_authcode(pw16, sid, msg, ml, seq, out + n);
	else if (at == 4)
		memcpy(out + n, pw16, 16);
	else if (at != 0)
		memset(out + n, 0x5a, 16);
	if (at)
		n += 16;
	out[n++] = (uint8_t)ml;
	memcpy(out + n, msg, ml);
	return n + ml;
}

/* The one answer of the last input as a v1.5 packet; its auth code checked
 * against pw16.  The message into msg, its length, or -1. */
static int v15_answer(const uint8_t *pw16, uint8_t *at, uint32_t *seq, uint32_t *sid,
		      uint8_t *msg)
{
	const uint8_t *p = F.pkt[0];
	size_t n = F.len[0], off = 13, ml;
	uint8_t want[16];

	if (F.sent != 1 || n < 14 || memcmp(p, "\x06\x00\xff\x07", 4) != 0)
		return -1;
	*at = p[4];
	*seq = get_le32(p + 5);
	*sid = get_le32(p + 9);
	if (*at)
		off += 16;
	if (n < off + 1)
		return -1;
	ml = p[off++];
	if (off + ml != n)
		return -1;
	if (*at == 2) {
		if (!pw16)
			return -1;
		ipmi_md5_authcode(pw16, *sid, p + off, ml, *seq, want);
		if (memcmp(want, p + 13, 16) != 0)
			return -1;
	} else if (*at == 4) {
		if (!pw16 || memcmp(pw16, p + 13, 16) != 0)
			return -1;
	} else if (*at != 0) {
		return -1;
	}
	memcpy(msg, p + off, ml);
	return (int)ml;
}

/* A pre-session v1.5 request (auth type none, sid 0): cc or -1. */
static int v15_pre(const struct sockaddr_in *peer, uint8_t netfn, uint8_t cmd,
		   const void *data, size_t dl, uint8_t *rd, size_t *rdl)
{
	uint8_t msg[300], pkt[IPMI_PKT_MAX], m[300], at;
	uint32_t seq, sid;
	size_t ml = mk_msg(netfn, cmd, 5, data, dl, msg);
	int l;

	bmc_in(peer, pkt, v15_pkt(0, 0, 0, NULL, msg, ml, pkt));
	l = v15_answer(NULL, &at, &seq, &sid, m);
	if (l < 0)
		return -1;
	CHECK(at == 0 && seq == 0 && sid == 0);
	return msg_resp(m, (size_t)l, netfn, cmd, 5, rd, rdl);
}

/* Get Session Challenge: its cc (or -1); sid and challenge on success. */
static int v15_challenge(struct v15 *v, uint8_t *challenge)
{
	uint8_t d[17] = {v->at}, rd[64];
	size_t rdl = 0;
	int cc;

	memcpy(d + 1, v->name, strlen(v->name));
	cc = v15_pre(&v->peer, NETFN_APP, 0x39, d, sizeof(d), rd, &rdl);
	if (cc == 0) {
		CHECK(rdl == 20);
		v->sid = get_le32(rd);
		CHECK(v->sid != 0);
		memcpy(challenge, rd + 4, 16);
	}
	return cc;
}

#define V15_OUTSEQ 0x11223344u

/* Challenge + Activate Session: cc of the failing step, -1 for silence. */
static int v15_login(struct v15 *v, uint8_t priv)
{
	uint8_t challenge[16], d[22], msg[64], pkt[128], m[64], at;
	uint32_t seq, sid;
	size_t ml;
	int cc, l;

	cc = v15_challenge(v, challenge);
	if (cc != 0)
		return cc;
	d[0] = v->at;
	d[1] = priv;
	memcpy(d + 2, challenge, 16);
	put_le32(d + 18, V15_OUTSEQ);
	ml = mk_msg(NETFN_APP, 0x3a, v->rqseq, d, sizeof(d), msg);
	bmc_in(&v->peer, pkt, v15_pkt(v->at, 0, v->sid, v->pw16, msg, ml, pkt));
	l = v15_answer(v->pw16, &at, &seq, &sid, m);
	if (l < 0)
		return -1;
	cc = msg_resp(m, (size_t)l, NETFN_APP, 0x3a, v->rqseq, d, &ml);
	v->rqseq = (uint8_t)((v->rqseq + 1) & 0x3f);
	CHECK(at == v->at && sid == v->sid);
	if (cc != 0)
		return cc;
	/* the answer's header carries the console's initial outbound number */
	CHECK(seq == V15_OUTSEQ);
	CHECK(ml == 10 && d[0] == v->at && get_le32(d + 1) == v->sid && d[9] == priv);
	v->seq = get_le32(d + 5);
	CHECK(v->seq != 0);
	v->bmc_seq = seq;
	return 0;
}

static size_t v15_req_pkt(struct v15 *v, uint32_t seq, uint8_t netfn, uint8_t cmd,
			  const void *data, size_t dl, uint8_t *out)
{
	uint8_t msg[300];
	size_t ml = mk_msg(netfn, cmd, v->rqseq, data, dl, msg);

	v->rqseq = (uint8_t)((v->rqseq + 1) & 0x3f);
	return v15_pkt(v->at, seq, v->sid, v->pw16, msg, ml, out);
}

static int v15_req(struct v15 *v, uint8_t netfn, uint8_t cmd, const void *data, size_t dl,
		   uint8_t *rd, size_t *rdl)
{
	uint8_t m[300], at, rqseq = v->rqseq;
	uint32_t seq, sid;
	int l;

	v->lastlen = v15_req_pkt(v, v->seq++, netfn, cmd, data, dl, v->last);
	bmc_in(&v->peer, v->last, v->lastlen);
	if (F.sent == 0)
		return -1;
	l = v15_answer(v->pw16, &at, &seq, &sid, m);
	CHECK(l > 0);
	if (l <= 0)
		return -2;
	CHECK(at == v->at && sid == v->sid && seq == v->bmc_seq + 1);
	v->bmc_seq = seq;
	l = msg_resp(m, (size_t)l, netfn, cmd, rqseq, rd, rdl);
	CHECK(l >= 0);
	return l < 0 ? -2 : l;
}

/* ---- tests ---- */

static void test_asf_ping(void)
{
	static const uint8_t ping[] = {0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe,
				       0x80, 0x42, 0x00, 0x00};
	struct sockaddr_in peer = peer_addr(40000);

	bmc_start(false, false, false);
	bmc_in(&peer, ping, sizeof(ping));
	CHECK(F.sent == 1 && F.len[0] == 28);
	CHECK(memcmp(F.pkt[0], "\x06\x00\xff\x06\x00\x00\x11\xbe\x40\x42\x00\x10", 12) == 0);
	for (size_t n = 0; n < sizeof(ping) - 4; n++)
		CHECK(silent(&peer, ping, n));
}

static void test_auth_caps(void)
{
	struct sockaddr_in peer = peer_addr(40001);
	static const uint8_t want_v2[] = {0x01, 0x84, 0x04, 0x03, 0, 0, 0, 0};
	static const uint8_t want_v15[] = {0x01, 0x04, 0x04, 0x00, 0, 0, 0, 0};
	uint8_t d[64];
	size_t dl = 0;

	printf("# Get Channel Authentication Capabilities\n");
	bmc_start(false, false, false);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x8e\x04", 2, d, &dl) == 0);
	CHECK(dl == sizeof(want_v2) && memcmp(d, want_v2, dl) == 0);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x0e\x04", 2, d, &dl) == 0);
	CHECK(dl == sizeof(want_v15) && memcmp(d, want_v15, dl) == 0);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x81\x02", 2, d, &dl) == 0);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x8e\x00", 2, d, &dl) == CC_INVALID_DATA_FIELD);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x8e\x06", 2, d, &dl) == CC_INVALID_DATA_FIELD);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x87\x04", 2, d, &dl) == CC_INVALID_DATA_FIELD);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x8e", 1, d, &dl) == CC_REQ_LEN_INVALID);
	/* pre-session, nothing else than the session commands */
	CHECK(v15_pre(&peer, NETFN_CHASSIS, 0x02, "\x00", 1, d, &dl) == CC_INSUFFICIENT_PRIV);
	CHECK(v15_pre(&peer, NETFN_CHASSIS, 0x01, NULL, 0, d, &dl) == CC_INSUFFICIENT_PRIV);
	CHECK(v15_pre(&peer, 0x30, 0x01, NULL, 0, d, &dl) == CC_INVALID_CMD);
	CHECK(F.power_calls == 0);
	/* what is enabled shows in byte 2 */
	bmc_start(false, true, true);
	CHECK(v15_pre(&peer, NETFN_APP, 0x38, "\x8e\x04", 2, d, &dl) == 0);
	CHECK(dl == 8 && d[1] == (0x80 | 0x01 | 0x04 | 0x10));
}

/* Get Channel Cipher Suites, pre-session in RMCP+ format: the ids. */
static size_t cipher_suites(uint8_t *ids, size_t max)
{
	struct sockaddr_in peer = peer_addr(40002);
	uint8_t recs[256], msg[64], pkt[128], d[64];
	size_t nrec = 0, nid = 0, pl, dl;
	const uint8_t *p;

	for (uint8_t idx = 0; idx < 8; idx++) {
		uint8_t rq[3] = {0x0e, 0x00, (uint8_t)(0x80 | idx)};
		size_t ml = mk_msg(NETFN_APP, 0x54, idx, rq, 3, msg);
		bmc_in(&peer, pkt, setup_pkt(0x00, msg, ml, pkt));
		p = setup_answer(0x00, &pl);
		CHECK(p != NULL);
		if (!p)
			break;
		CHECK(msg_resp(p, pl, NETFN_APP, 0x54, idx, d, &dl) == 0);
		CHECK(dl >= 1 && d[0] == IPMI_CHANNEL_LAN);
		memcpy(recs + nrec, d + 1, dl - 1);
		nrec += dl - 1;
		if (dl - 1 < 16)
			break;
	}
	CHECK(nrec % 5 == 0);
	for (size_t i = 0; i + 5 <= nrec && nid < max; i += 5) {
		const struct suite *s = suite(recs[i + 1]);
		CHECK(recs[i] == 0xc0);
		CHECK(s != NULL);
		if (s)
			CHECK(recs[i + 2] == s->auth && recs[i + 3] == (0x40 | s->integ) &&
			      recs[i + 4] == (0x80 | s->conf));
		ids[nid++] = recs[i + 1];
	}
	return nid;
}

static void test_cipher_suites(void)
{
	static const uint8_t want[] = {1, 2, 3, 15, 16, 17};
	static const uint8_t want0[] = {0, 1, 2, 3, 15, 16, 17};
	uint8_t ids[32];
	size_t n;

	printf("# Get Channel Cipher Suites\n");
	bmc_start(false, false, false);
	n = cipher_suites(ids, sizeof(ids));
	CHECK(n == sizeof(want) && memcmp(ids, want, n) == 0);
	bmc_start(true, false, false);
	n = cipher_suites(ids, sizeof(ids));
	CHECK(n == sizeof(want0) && memcmp(ids, want0, n) == 0);
}

/* A packet with one bit flipped at offset off, its AuthCode recomputed
 * (what only a key holder could do: tests the layers behind it). */
static size_t reauth(const struct client *c, const uint8_t *pkt, size_t n, size_t off,
		     uint8_t *out)
{
	int il = ipmi_integ_len(c->integ);
	size_t body = n - (size_t)il;

	memcpy(out, pkt, n);
	out[off] ^= 0x01;
	ipmi_integ(c->integ, c->k1, (size_t)ipmi_auth_len(c->auth), out + 4, body - 4, out + body);
	return n;
}

static void test_login_power(uint8_t suite_id)
{
	struct client c;
	uint8_t pkt[IPMI_PKT_MAX + 64], bad[IPMI_PKT_MAX + 64], m[IPMI_PKT_MAX];
	uint8_t prev[IPMI_PKT_MAX];
	size_t n, prevlen;
	int l, calls;
	uint32_t high;

	printf("# RMCP+ suite %u: login, power, replay, tampering, window\n", suite_id);
	bmc_start(false, false, false);
	client_init(&c, 41000 + suite_id, suite_id, "admin", "password", 0x14);
	if (!c_login(&c, 0))
		return;
	CHECK(active_sessions() == 1);
	/* sessions start at User: Chassis Control needs Operator */
	CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
	CHECK(F.power_calls == 0);
	CHECK(get_chassis_status(&c) == 0);
	CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == 0);
	CHECK(chassis_control(&c, 0x00) == 0);
	CHECK(F.power_calls == 1 && F.action == POWER_OFF);

	/* the same datagram again: answered from the cache, never run twice */
	memcpy(prev, c.lastmsg, c.lastmsglen);
	prevlen = c.lastmsglen;
	bmc_in(&c.peer, c.last, c.lastlen);
	CHECK(F.power_calls == 1);
	CHECK(F.sent <= 1);
	if (F.sent == 1) {
		l = sess_answer(&c, 0, m);
		CHECK(l == (int)prevlen && memcmp(m, prev, prevlen) == 0);
	}
	/* and a few more times */
	for (int i = 0; i < 5; i++) {
		bmc_in(&c.peer, c.last, c.lastlen);
		if (F.sent == 1)
			CHECK(sess_answer(&c, 0, m) > 0);
	}
	CHECK(F.power_calls == 1);

	/* tampered AuthCode (last byte, first byte of the code) */
	n = c_pkt(&c, c.seq + 1, NETFN_CHASSIS, 0x02, "\x01", 1, pkt);
	memcpy(bad, pkt, n);
	bad[n - 1] ^= 0x80;
	CHECK(silent(&c.peer, bad, n));
	memcpy(bad, pkt, n);
	bad[n - (size_t)ipmi_integ_len(c.integ)] ^= 0x01;
	CHECK(silent(&c.peer, bad, n));
	/* AuthCode cut short / one byte longer */
	CHECK(silent(&c.peer, pkt, n - 1));
	memcpy(bad, pkt, n);
	bad[n] = 0;
	CHECK(silent(&c.peer, bad, n + 1));
	/* every header and payload byte is covered */
	for (size_t off = 4; off < n; off++) {
		memcpy(bad, pkt, n);
		bad[off] ^= 0x04;
		CHECK(silent(&c.peer, bad, n));
	}
	/* flipped ciphertext (or plaintext) byte with the AuthCode left alone */
	memcpy(bad, pkt, n);
	bad[16 + 20] ^= 0x01;
	CHECK(silent(&c.peer, bad, n));
	/* ... and with the AuthCode recomputed (a key holder's forgery): the
	 * decrypted message fails its pad or checksum */
	if (c.conf) {
		for (size_t off = 16; off < 16u + get_le16(pkt + 14); off++) {
			reauth(&c, pkt, n, off, bad);
			CHECK(silent(&c.peer, bad, n));
		}
	}
	CHECK(F.power_calls == 1);
	/* the untampered packet still works afterwards (its number is unused
	 * unless a forgery decrypted; then take the next one) */
	c.seq += 1;
	CHECK(chassis_control(&c, 0x01) == 0);
	CHECK(F.power_calls == 2 && F.action == POWER_ON);

	/* sequence numbers: far outside the window, just outside, zero */
	high = c.seq;
	calls = F.power_calls;
	n = c_pkt(&c, high + 1000, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	CHECK(silent(&c.peer, pkt, n));
	n = c_pkt(&c, high - 1000, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	CHECK(silent(&c.peer, pkt, n));
	n = c_pkt(&c, high + 0x80000000u, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	CHECK(silent(&c.peer, pkt, n));
	n = c_pkt(&c, high + 16, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	CHECK(silent(&c.peer, pkt, n));
	n = c_pkt(&c, 0, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	CHECK(silent(&c.peer, pkt, n));
	CHECK(F.power_calls == calls);
	/* +15 is inside; then old unseen numbers down to high-16 */
	c.seq = high + 14;
	CHECK(get_chassis_status(&c) == 0);
	c.seq += 14; /* twice, so that everything below is unseen */
	CHECK(get_chassis_status(&c) == 0);
	high = c.seq;
	c.seq = high - 18; /* -17 */
	CHECK(get_chassis_status(&c) == -1);
	c.seq = high - 17; /* -16 */
	CHECK(get_chassis_status(&c) == 0);
	c.seq = high - 4; /* -3 */
	CHECK(get_chassis_status(&c) == 0);
	c.seq = high; /* high + 1 */

	/* the algorithms are not optional per packet */
	{
		uint8_t msg[32];
		size_t ml = mk_msg(NETFN_CHASSIS, 0x02, 9, "\x00", 1, msg);
		uint8_t ints = c.integ, conf = c.conf;
		c.integ = 0;
		n = sess_pkt(&c, c.seq + 1, msg, ml, pkt);
		CHECK(silent(&c.peer, pkt, n));
		c.integ = ints;
		c.conf = 0;
		n = sess_pkt(&c, c.seq + 1, msg, ml, pkt);
		CHECK(silent(&c.peer, pkt, n));
		c.conf = conf;
		/* unknown session id, and session id 0 with the flags */
		n = sess_pkt(&c, c.seq + 1, msg, ml, pkt);
		memcpy(bad, pkt, n);
		put_le32(bad + 6, c.sidc ^ 0x100);
		CHECK(silent(&c.peer, bad, n));
		put_le32(bad + 6, 0);
		CHECK(silent(&c.peer, bad, n));
		/* a console session id is not ours */
		put_le32(bad + 6, c.sidm);
		CHECK(silent(&c.peer, bad, n));
	}
	CHECK(F.power_calls == calls);
	CHECK(get_chassis_status(&c) == 0);

	/* close: answered, then the session is gone */
	{
		uint8_t sid[4];
		put_le32(sid, c.sidc);
		CHECK(c_req(&c, NETFN_APP, 0x3c, sid, 4, NULL, NULL) == 0);
		CHECK(active_sessions() == 0);
		CHECK(chassis_control(&c, 0x00) == -1);
		CHECK(F.power_calls == calls);
	}
	CHECK(!F.bad_send);
}

/* Login with every suite we offer; a command in each. */
static void test_all_suites(void)
{
	static const uint8_t ids[] = {1, 2, 3, 15, 16, 17};

	printf("# every offered suite\n");
	bmc_start(false, false, false);
	for (size_t i = 0; i < sizeof(ids); i++) {
		struct client c;
		client_init(&c, (uint16_t)(42000 + ids[i]), ids[i], "oper", "operpass", 0x13);
		if (!c_login(&c, IPMI_PRIV_OPERATOR))
			continue;
		CHECK(get_chassis_status(&c) == 0);
		CHECK(set_priv(&c, IPMI_PRIV_OPERATOR) == 0);
		CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == CC_PRIV_EXCEEDS_LIMIT);
		CHECK(chassis_control(&c, 0x03) == 0);
		CHECK(F.power_calls == (int)i + 1 && F.action == POWER_RESET);
	}
	/* a 16-byte name and a 20-byte password */
	{
		struct client c;
		client_init(&c, 42100, 17, "sixteen-chars-xx", "twenty-bytes-pass-xx", 0x14);
		if (c_login(&c, 0)) {
			CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == 0);
			CHECK(get_chassis_status(&c) == 0);
		}
	}
	/* name-only lookup bit with privilege 0: the user's maximum */
	{
		struct client c;
		client_init(&c, 42101, 3, "ro", "readonly", 0x10);
		if (c_login(&c, 0)) {
			CHECK(set_priv(&c, IPMI_PRIV_USER) == 0);
			CHECK(set_priv(&c, IPMI_PRIV_OPERATOR) == CC_PRIV_EXCEEDS_LIMIT);
		}
	}
	CHECK(!F.bad_send);
}

static void test_auth_failures(void)
{
	struct client c;
	uint8_t pkt[128];
	size_t n, rl;
	const uint8_t *r;

	printf("# wrong password, unknown user, suites, roles, name lengths\n");
	bmc_start(false, false, false);

	/* wrong password: RAKP2's HMAC does not verify with our key, RAKP3's
	 * does not verify at the BMC -> 0x0F and the session is gone */
	client_init(&c, 43001, 3, "admin", "wrongpass", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == -2);
	CHECK(c_rakp3(&c) == 0x0f);
	CHECK(ipmi_session_count(bmc, NULL) == 0);
	CHECK(c_rakp3(&c) == 0x02);
	CHECK(ipmi_get_stats(bmc)->auth_failures >= 1);
	client_init(&c, 43002, 17, "admin", "passwor", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == -2);
	CHECK(c_rakp3(&c) == 0x0f);
	CHECK(ipmi_session_count(bmc, NULL) == 0);
	/* a correct password afterwards is not locked out */
	client_init(&c, 43002, 17, "admin", "password", 0x14);
	CHECK(c_login(&c, 0));
	/* RAKP3 with a non-zero status: the console gave up */
	client_init(&c, 43003, 3, "admin", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0);
	bmc_in(&c.peer, pkt, rakp3_req(&c, 0x0f, pkt));
	CHECK(F.sent == 0);
	CHECK(c_rakp3(&c) == 0x02);

	/* unknown user */
	client_init(&c, 43004, 3, "nobody", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0d);
	CHECK(c_rakp3(&c) == 0x02);
	client_init(&c, 43004, 3, "Admin", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0d);
	client_init(&c, 43004, 3, "admi", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0d);
	client_init(&c, 43004, 3, "", "password", 0x14); /* null user: not enabled */
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0d);

	/* suite 0 and unknown algorithm combinations */
	client_init(&c, 43005, 0, "admin", "password", 0x14);
	CHECK(c_open(&c, 0) == 0x11);
	c.auth = 1, c.integ = 0, c.conf = 1; /* not a suite */
	CHECK(c_open(&c, 0) == 0x11);
	c.auth = 2, c.integ = 2, c.conf = 0; /* HMAC-MD5: not offered */
	CHECK(c_open(&c, 0) == 0x11);
	c.auth = 9, c.integ = 1, c.conf = 1;
	CHECK(c_open(&c, 0) == 0x04);
	c.auth = 1, c.integ = 9, c.conf = 1;
	CHECK(c_open(&c, 0) == 0x05);
	c.auth = 1, c.integ = 1, c.conf = 9;
	CHECK(c_open(&c, 0) == 0x10);
	CHECK(ipmi_session_count(bmc, NULL) == 1); /* the one login above */

	/* Open Session privileges */
	client_init(&c, 43006, 3, "admin", "password", 0x14);
	CHECK(c_open(&c, 6) == 0x09);
	CHECK(c_open(&c, 5) == 0x0a);
	CHECK(c_open(&c, 0x24) == 0x12);
	CHECK(c_open(&c, 3) == 0 && c.open_max_priv == 3);
	/* RAKP1 asking above that session maximum */
	CHECK(c_rakp1(&c) == 0x0a);

	/* invalid role bits in RAKP1 */
	static const uint8_t bad_roles[] = {0x24, 0x34, 0x44, 0x84, 0x06, 0x0f, 0x16};
	for (size_t i = 0; i < sizeof(bad_roles); i++) {
		client_init(&c, 43007, 17, "admin", "password", bad_roles[i]);
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x09);
		CHECK(c_rakp3(&c) == 0x02); /* and that session is gone */
	}
	/* OEM privilege (5) and readonly asking for Operator */
	client_init(&c, 43008, 17, "admin", "password", 0x15);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0a);
	client_init(&c, 43008, 17, "ro", "readonly", 0x13);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0a);

	/* name lengths: 17, 255 with its bytes, 255 with fewer, mismatch */
	{
		char name[300];
		memset(name, 'a', sizeof(name));
		name[17] = '\0';
		client_init(&c, 43009, 3, name, "password", 0x14);
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x0c);
		name[255] = '\0';
		memset(name, 'a', 255);
		client_init(&c, 43009, 3, name, "password", 0x14);
		c.ulen = 255;
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x0c);
		client_init(&c, 43009, 3, "admin", "password", 0x14);
		c.ulen = 255;
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x0c);
		c.ulen = 4;
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x0c);
		c.ulen = 6;
		CHECK(c_open(&c, 0) == 0);
		CHECK(c_rakp1(&c) == 0x0c);
	}
	/* RAKP1 to a session id that does not exist / from another peer */
	client_init(&c, 43010, 3, "admin", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	c.sidc ^= 1;
	CHECK(c_rakp1(&c) == 0x02);
	c.sidc ^= 1;
	{
		struct sockaddr_in real = c.peer;
		c.peer = peer_addr(43011);
		CHECK(c_rakp1(&c) == 0x02);
		c.peer = real;
		CHECK(c_rakp1(&c) == 0); /* the real client is not disturbed */
		c.peer = peer_addr(43011);
		CHECK(c_rakp3(&c) == 0x02);
		c.peer = real;
		CHECK(c_rakp3(&c) == 0);
	}
	/* RAKP3 before RAKP1 */
	client_init(&c, 43012, 3, "admin", "password", 0x14);
	CHECK(c_open(&c, 0) == 0);
	bmc_in(&c.peer, pkt, rakp3_req(&c, 0, pkt));
	r = setup_answer(0x15, &rl);
	CHECK(r && rl == 8 && r[1] == 0x02);
	/* RAKP4/RAKP2/Open Session Response sent to the BMC: ignored */
	{
		uint8_t zero[40] = {c.tag}, out[64];
		n = setup_pkt(0x13, zero, 40, out);
		CHECK(silent(&c.peer, out, n));
		n = setup_pkt(0x15, zero, 20, out);
		CHECK(silent(&c.peer, out, n));
		n = setup_pkt(0x11, zero, 36, out);
		CHECK(silent(&c.peer, out, n));
	}
	CHECK(F.power_calls == 0);
	CHECK(!F.bad_send);
}

static void test_suite0_enabled(void)
{
	struct client c;

	printf("# suite 0 when configured: a session, but never above Callback\n");
	bmc_start(true, false, false);
	client_init(&c, 43100, 0, "admin", "password", 0x14);
	CHECK(c_login(&c, 0));
	CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == 0);
	CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
	CHECK(get_chassis_status(&c) == CC_INSUFFICIENT_PRIV);
	CHECK(F.power_calls == 0);
	/* any password "works" with suite 0, which is why nothing runs */
	client_init(&c, 43101, 0, "admin", "not-the-password", 0x14);
	CHECK(c_login(&c, 0));
	CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
	/* unknown users still are not */
	client_init(&c, 43102, 0, "nobody", "x", 0x14);
	CHECK(c_open(&c, 0) == 0);
	CHECK(c_rakp1(&c) == 0x0d);
	CHECK(F.power_calls == 0);
}

static void test_privileges(void)
{
	struct client c;

	printf("# privileges\n");
	bmc_start(false, false, false);
	/* readonly: status yes, control no, no raising */
	client_init(&c, 44001, 17, "ro", "readonly", 0x12);
	if (c_login(&c, 0)) {
		CHECK(get_chassis_status(&c) == 0);
		CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
		CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == CC_PRIV_EXCEEDS_LIMIT);
		CHECK(set_priv(&c, IPMI_PRIV_OPERATOR) == CC_PRIV_EXCEEDS_LIMIT);
		CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
		CHECK(chassis_control(&c, 0x02) == CC_INSUFFICIENT_PRIV);
		CHECK(c_req(&c, NETFN_CHASSIS, 0x04, NULL, 0, NULL, NULL) == CC_INSUFFICIENT_PRIV);
		CHECK(set_priv(&c, IPMI_PRIV_USER) == 0);
		CHECK(set_priv(&c, IPMI_PRIV_CALLBACK) == 0);
		CHECK(get_chassis_status(&c) == CC_INSUFFICIENT_PRIV);
		CHECK(set_priv(&c, 6) == CC_INVALID_DATA_FIELD);
	}
	/* an admin who asked for a User session cannot raise it */
	client_init(&c, 44002, 3, "admin", "password", 0x12);
	if (c_login(&c, 0)) {
		CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == CC_PRIV_EXCEEDS_LIMIT);
		CHECK(chassis_control(&c, 0x00) == CC_INSUFFICIENT_PRIV);
	}
	/* operator: control yes after raising, admin no */
	client_init(&c, 44003, 3, "oper", "operpass", 0x13);
	if (c_login(&c, 0)) {
		CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == CC_PRIV_EXCEEDS_LIMIT);
		CHECK(set_priv(&c, IPMI_PRIV_OPERATOR) == 0);
		CHECK(chassis_control(&c, 0x05) == 0);
		CHECK(F.power_calls == 1 && F.action == POWER_SOFT);
	}
	CHECK(F.power_calls == 1);
}

static void test_v15(void)
{
	struct v15 v, w;
	uint8_t d[64], pkt[IPMI_PKT_MAX], bad[IPMI_PKT_MAX], challenge[16];
	size_t dl, n;
	int calls;

	printf("# IPMI v1.5 sessions\n");
	bmc_start(false, false, false);
	v15_init(&v, 45001, 2, "admin", "password");
	CHECK(v15_login(&v, IPMI_PRIV_ADMIN) == 0);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x01, NULL, 0, d, &dl) == 0 && dl == 3);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x02, "\x00", 1, NULL, NULL) == CC_INSUFFICIENT_PRIV);
	CHECK(v15_req(&v, NETFN_APP, 0x3b, "\x04", 1, d, &dl) == 0 && dl == 1 && d[0] == 4);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x02, "\x00", 1, NULL, NULL) == 0);
	CHECK(F.power_calls == 1 && F.action == POWER_OFF);
	/* replay */
	for (int i = 0; i < 3; i++) {
		bmc_in(&v.peer, v.last, v.lastlen);
		CHECK(F.sent <= 1);
		v.bmc_seq += (uint32_t)F.sent; /* answered again from the cache */
	}
	CHECK(F.power_calls == 1);
	/* tampered auth code, message, sequence number, session id */
	n = v15_req_pkt(&v, v.seq, NETFN_CHASSIS, 0x02, "\x01", 1, pkt);
	for (size_t off = 4; off < n; off++) {
		memcpy(bad, pkt, n);
		bad[off] ^= 0x10;
		CHECK(silent(&v.peer, bad, n));
	}
	/* auth type none / straight password into an MD5 session */
	{
		uint8_t msg[32];
		size_t ml = mk_msg(NETFN_CHASSIS, 0x02, 40, "\x01", 1, msg);
		n = v15_pkt(0, v.seq, v.sid, v.pw16, msg, ml, pkt);
		CHECK(silent(&v.peer, pkt, n));
		n = v15_pkt(4, v.seq, v.sid, v.pw16, msg, ml, pkt);
		CHECK(silent(&v.peer, pkt, n));
		n = v15_pkt(1, v.seq, v.sid, v.pw16, msg, ml, pkt); /* MD2 */
		CHECK(silent(&v.peer, pkt, n));
		/* outside the +-8 window */
		n = v15_pkt(2, v.seq + 9, v.sid, v.pw16, msg, ml, pkt);
		CHECK(silent(&v.peer, pkt, n));
		n = v15_pkt(2, v.seq - 20, v.sid, v.pw16, msg, ml, pkt);
		CHECK(silent(&v.peer, pkt, n));
	}
	CHECK(F.power_calls == 1);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x02, "\x01", 1, NULL, NULL) == 0);
	CHECK(F.power_calls == 2 && F.action == POWER_ON);

	/* wrong password at activation: silence */
	v15_init(&w, 45002, 2, "admin", "wrongpass");
	CHECK(v15_login(&w, IPMI_PRIV_ADMIN) == -1);
	/* unknown user */
	v15_init(&w, 45003, 2, "nobody", "password");
	CHECK(v15_challenge(&w, challenge) == 0x81);
	v15_init(&w, 45003, 2, "", "password");
	CHECK(v15_challenge(&w, challenge) == 0x82);
	/* privilege above the user's */
	v15_init(&w, 45004, 2, "ro", "readonly");
	CHECK(v15_login(&w, IPMI_PRIV_OPERATOR) == 0x86);
	v15_init(&w, 45004, 2, "ro", "readonly");
	CHECK(v15_login(&w, IPMI_PRIV_USER) == 0);
	CHECK(v15_req(&w, NETFN_APP, 0x3b, "\x03", 1, d, &dl) == CC_PRIV_EXCEEDS_LIMIT);
	CHECK(v15_req(&w, NETFN_CHASSIS, 0x02, "\x00", 1, NULL, NULL) == CC_INSUFFICIENT_PRIV);
	/* wrong challenge */
	v15_init(&w, 45005, 2, "admin", "password");
	CHECK(v15_challenge(&w, challenge) == 0);
	{
		uint8_t msg[64], m[64], at, a[22] = {2, 4};
		uint32_t seq, sid;
		int l;
		challenge[3] ^= 1;
		memcpy(a + 2, challenge, 16);
		n = v15_pkt(2, 0, w.sid, w.pw16, msg, mk_msg(NETFN_APP, 0x3a, 1, a, 22, msg), pkt);
		bmc_in(&w.peer, pkt, n);
		l = v15_answer(w.pw16, &at, &seq, &sid, m);
		CHECK(l > 0 && msg_resp(m, (size_t)l, NETFN_APP, 0x3a, 1, NULL, NULL) ==
				       CC_INVALID_DATA_FIELD);
	}
	/* auth type none and straight password: refused by default */
	v15_init(&w, 45006, 0, "admin", "password");
	CHECK(v15_challenge(&w, challenge) == CC_INVALID_DATA_FIELD);
	v15_init(&w, 45006, 4, "admin", "password");
	CHECK(v15_challenge(&w, challenge) == CC_INVALID_DATA_FIELD);
	v15_init(&w, 45006, 1, "admin", "password");
	CHECK(v15_challenge(&w, challenge) == CC_INVALID_DATA_FIELD);
	/* temporary session: nothing but Activate Session */
	v15_init(&w, 45007, 2, "admin", "password");
	CHECK(v15_challenge(&w, challenge) == 0);
	w.seq = 0;
	w.bmc_seq = UINT32_MAX; /* answers in a temporary session carry 0 */
	CHECK(v15_req(&w, NETFN_CHASSIS, 0x02, "\x00", 1, NULL, NULL) == CC_INSUFFICIENT_PRIV);
	CHECK(F.power_calls == 2);
	/* close own session */
	put_le32(d, v.sid);
	CHECK(v15_req(&v, NETFN_APP, 0x3c, d, 4, NULL, NULL) == 0);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x01, NULL, 0, NULL, NULL) == -1);

	/* with auth-none and straight-password configured */
	bmc_start(false, true, true);
	calls = F.power_calls;
	v15_init(&w, 45010, 0, "admin", "password");
	CHECK(v15_login(&w, IPMI_PRIV_ADMIN) == 0);
	/* unauthenticated packets never reach anything above Callback */
	CHECK(v15_req(&w, NETFN_APP, 0x3b, "\x04", 1, d, &dl) == 0);
	CHECK(v15_req(&w, NETFN_CHASSIS, 0x02, "\x00", 1, NULL, NULL) == CC_INSUFFICIENT_PRIV);
	CHECK(v15_req(&w, NETFN_CHASSIS, 0x01, NULL, 0, NULL, NULL) == CC_INSUFFICIENT_PRIV);
	CHECK(F.power_calls == calls);
	v15_init(&w, 45011, 4, "admin", "password");
	CHECK(v15_login(&w, IPMI_PRIV_ADMIN) == 0);
	CHECK(v15_req(&w, NETFN_APP, 0x3b, "\x04", 1, d, &dl) == 0);
	CHECK(v15_req(&w, NETFN_CHASSIS, 0x02, "\x02", 1, NULL, NULL) == 0);
	CHECK(F.power_calls == calls + 1 && F.action == POWER_CYCLE);
	v15_init(&w, 45012, 4, "admin", "passwore");
	CHECK(v15_login(&w, IPMI_PRIV_ADMIN) == -1);
	CHECK(!F.bad_send);
}

static void test_close_other(void)
{
	struct client a, b;
	struct v15 v;
	uint8_t d[8] = {0};
	size_t active;

	printf("# Close Session of another session\n");
	bmc_start(false, false, false);
	client_init(&a, 46001, 3, "admin", "password", 0x14);
	client_init(&b, 46002, 17, "oper", "operpass", 0x13);
	v15_init(&v, 46003, 2, "ro", "readonly");
	if (!c_login(&a, 0) || !c_login(&b, 0) || v15_login(&v, IPMI_PRIV_USER) != 0)
		return;
	put_le32(d, b.sidc);
	CHECK(c_req(&a, NETFN_APP, 0x3c, d, 4, NULL, NULL) == 0x87);
	put_le32(d, a.sidc);
	CHECK(v15_req(&v, NETFN_APP, 0x3c, d, 4, NULL, NULL) == 0x87);
	put_le32(d, v.sid);
	CHECK(c_req(&b, NETFN_APP, 0x3c, d, 4, NULL, NULL) == 0x87);
	/* by handle: only one's own */
	{
		uint8_t own = 0;
		for (unsigned i = 0; i < MAX_SESSIONS; i++)
			if (bmc->sessions[i].state == SS_ACTIVE && bmc->sessions[i].bmc_sid == a.sidc)
				own = (uint8_t)(i + 1);
		CHECK(own != 0);
		memset(d, 0, 4);
		for (uint8_t h = 0; h <= MAX_SESSIONS + 1; h++) {
			if (h == own)
				continue;
			d[4] = h;
			CHECK(c_req(&a, NETFN_APP, 0x3c, d, 5, NULL, NULL) == 0x88);
		}
		d[4] = own;
		CHECK(c_req(&a, NETFN_APP, 0x3c, d, 5, NULL, NULL) == 0);
		CHECK(get_chassis_status(&a) == -1);
	}
	ipmi_session_count(bmc, &active);
	CHECK(active == 2);
	CHECK(get_chassis_status(&b) == 0);
	CHECK(v15_req(&v, NETFN_CHASSIS, 0x01, NULL, 0, NULL, NULL) == 0);
	/* bad lengths */
	CHECK(c_req(&b, NETFN_APP, 0x3c, d, 3, NULL, NULL) == CC_REQ_LEN_INVALID);
	CHECK(c_req(&b, NETFN_APP, 0x3c, d, 6, NULL, NULL) == CC_REQ_LEN_INVALID);
	CHECK(get_chassis_status(&b) == 0);
}

static void test_flood(void)
{
	struct client c[MAX_SESSIONS + 6], legit;

	printf("# session table flood\n");
	/* max_sessions + 1 full logins: the idlest goes */
	bmc_start(false, false, false);
	for (int i = 0; i <= MAX_SESSIONS; i++) {
		client_init(&c[i], (uint16_t)(47000 + i), 3, "admin", "password", 0x14);
		F.now += 1000;
		CHECK(c_login(&c[i], 0));
		/* keep the others busy, so c[0] is the idlest */
		for (int j = 1; j < i; j++)
			CHECK(get_chassis_status(&c[j]) == 0);
	}
	CHECK(active_sessions() == MAX_SESSIONS);
	CHECK(get_chassis_status(&c[0]) == -1);
	for (int i = 1; i <= MAX_SESSIONS; i++)
		CHECK(get_chassis_status(&c[i]) == 0);

	/* half-open sessions are reclaimed before any active one */
	bmc_start(false, false, false);
	client_init(&c[0], 47100, 17, "admin", "password", 0x14);
	CHECK(c_login(&c[0], 0)); /* the oldest and idlest, but active */
	for (int i = 1; i < MAX_SESSIONS; i++) {
		F.now += 100;
		client_init(&c[i], (uint16_t)(47100 + i), 3, "admin", "password", 0x14);
		CHECK(c_open(&c[i], 0) == 0);
	}
	CHECK(ipmi_session_count(bmc, NULL) == MAX_SESSIONS);
	F.now += 100;
	client_init(&legit, 47200, 3, "admin", "password", 0x14);
	CHECK(c_login(&legit, 0));
	CHECK(get_chassis_status(&c[0]) == 0);
	CHECK(get_chassis_status(&legit) == 0);
	/* a flood of Open Sessions (no credentials needed) cannot evict them */
	for (int k = 0; k < 50; k++) {
		struct client x;
		F.now += 10;
		client_init(&x, (uint16_t)(48000 + k), (k & 1) ? 3 : 17, "admin", "x", 0x14);
		CHECK(c_open(&x, 0) == 0);
		if (k % 3 == 0) /* some get as far as RAKP2 */
			CHECK(c_rakp1(&x) == -2);
	}
	CHECK(active_sessions() == 2);
	CHECK(get_chassis_status(&c[0]) == 0);
	CHECK(get_chassis_status(&legit) == 0);
	/* and one more legitimate login still works */
	client_init(&legit, 47201, 17, "oper", "operpass", 0x13);
	CHECK(c_login(&legit, 0));
	CHECK(set_priv(&legit, IPMI_PRIV_OPERATOR) == 0);
	CHECK(chassis_control(&legit, 0x00) == 0);
	CHECK(F.power_calls == 1);
	/* v1.5 challenges are half-open too */
	for (int k = 0; k < 10; k++) {
		struct v15 v;
		uint8_t ch[16];
		v15_init(&v, (uint16_t)(48100 + k), 2, "admin", "password");
		CHECK(v15_challenge(&v, ch) == 0);
	}
	CHECK(active_sessions() == 3);
	CHECK(get_chassis_status(&c[0]) == 0);

	/* idle expiry: half-open after 10 s, active after the timeout */
	client_init(&c[1], 47300, 3, "admin", "password", 0x14);
	CHECK(c_open(&c[1], 0) == 0);
	F.now += 11000;
	ipmi_tick(bmc);
	CHECK(ipmi_session_count(bmc, NULL) == 3);
	CHECK(c_rakp1(&c[1]) == 0x02);
	F.now += 50000;
	CHECK(get_chassis_status(&legit) == 0);
	F.now += 10000;
	ipmi_tick(bmc);
	CHECK(ipmi_session_count(bmc, NULL) == 1);
	CHECK(get_chassis_status(&legit) == 0);
	CHECK(get_chassis_status(&c[0]) == -1);
}

static void test_retries(void)
{
	struct client c;
	uint8_t pkt[IPMI_PKT_MAX], first[IPMI_PKT_MAX];
	size_t n, fl;

	printf("# retried set-up messages\n");
	bmc_start(false, false, false);
	client_init(&c, 49001, 17, "admin", "password", 0x14);
	/* Open Session twice: the same answer, one session */
	n = open_req(&c, 0, pkt);
	bmc_in(&c.peer, pkt, n);
	CHECK(F.sent == 1);
	memcpy(first, F.pkt[0], F.len[0]);
	fl = F.len[0];
	for (int i = 0; i < 3; i++) {
		bmc_in(&c.peer, pkt, n);
		CHECK(F.sent == 1 && F.len[0] == fl && memcmp(F.pkt[0], first, fl) == 0);
	}
	CHECK(ipmi_session_count(bmc, NULL) == 1);
	CHECK(c_open(&c, 0) == 0);
	CHECK(ipmi_session_count(bmc, NULL) == 1);
	/* the same tag and id from another peer is another console */
	{
		struct client o = c;
		o.peer = peer_addr(49002);
		CHECK(c_open(&o, 0) == 0 && o.sidc != c.sidc);
		CHECK(ipmi_session_count(bmc, NULL) == 2);
	}
	/* RAKP1 twice: the same RAKP2 (same Rc) */
	n = rakp1_req(&c, pkt);
	bmc_in(&c.peer, pkt, n);
	CHECK(F.sent == 1);
	memcpy(first, F.pkt[0], F.len[0]);
	fl = F.len[0];
	for (int i = 0; i < 3; i++) {
		bmc_in(&c.peer, pkt, n);
		CHECK(F.sent == 1 && F.len[0] == fl && memcmp(F.pkt[0], first, fl) == 0);
	}
	CHECK(c_rakp1(&c) == 0);
	/* a different RAKP1 now is refused, the session stays */
	c.role = 0x13;
	CHECK(c_rakp1(&c) == 0x02);
	c.role = 0x14;
	/* RAKP3 twice: the same RAKP4; the session stays active */
	n = rakp3_req(&c, 0, pkt);
	bmc_in(&c.peer, pkt, n);
	CHECK(F.sent == 1);
	memcpy(first, F.pkt[0], F.len[0]);
	fl = F.len[0];
	for (int i = 0; i < 3; i++) {
		bmc_in(&c.peer, pkt, n);
		CHECK(F.sent == 1 && F.len[0] == fl && memcmp(F.pkt[0], first, fl) == 0);
	}
	CHECK(c_rakp3(&c) == 0);
	CHECK(active_sessions() == 1);
	/* an Open Session retry after activation starts a new session */
	CHECK(c_open(&c, 0) == 0);
	CHECK(ipmi_session_count(bmc, NULL) == 3);
	CHECK(active_sessions() == 1);
	/* and that one logs in fine */
	c.rm[0] ^= 0xff;
	CHECK(c_rakp1(&c) == 0);
	CHECK(c_rakp3(&c) == 0);
	CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == 0);
	CHECK(chassis_control(&c, 0x00) == 0);
	CHECK(F.power_calls == 1);
	/* a request resent with a new sequence number, same rqSeq and data:
	 * answered from the cache */
	{
		uint8_t msg[32];
		size_t ml = mk_msg(NETFN_CHASSIS, 0x02, 33, "\x01", 1, msg);
		n = sess_pkt(&c, ++c.seq, msg, ml, pkt);
		bmc_in(&c.peer, pkt, n);
		CHECK(F.sent == 1 && F.power_calls == 2);
		n = sess_pkt(&c, ++c.seq, msg, ml, pkt);
		bmc_in(&c.peer, pkt, n);
		CHECK(F.sent == 1 && F.power_calls == 2);
		c.bmc_seq += 2;
	}
}

/* Send every prefix of pkt: never an action, at most one answer. */
static void prefixes(const struct sockaddr_in *peer, const uint8_t *pkt, size_t n,
		     bool answer_ok)
{
	int calls = F.power_calls;

	for (size_t l = 0; l < n; l++) {
		bmc_in(peer, pkt, l);
		CHECK(F.sent <= (answer_ok ? 1 : 0));
		CHECK(F.power_calls == calls);
	}
}

static void test_truncation(void)
{
	struct client c, t;
	struct v15 v;
	uint8_t pkt[IPMI_PKT_MAX + 64], msg[300], pl[IPMI_PKT_MAX];
	size_t n, ml, rl;
	const uint8_t *r;
	struct sockaddr_in peer = peer_addr(50000);
	int calls;

	printf("# truncated packets at every layer, oversized length fields\n");
	bmc_start(false, false, false);

	/* pre-session messages: raw prefixes of every datagram */
	ml = mk_msg(NETFN_APP, 0x38, 1, "\x8e\x04", 2, msg);
	n = v15_pkt(0, 0, 0, NULL, msg, ml, pkt);
	prefixes(&peer, pkt, n, false);
	/* the message inside cut short, length byte adjusted: no answer */
	for (size_t k = 0; k < ml; k++) {
		n = v15_pkt(0, 0, 0, NULL, msg, k, pkt);
		CHECK(silent(&peer, pkt, n));
	}
	/* ... checksums redone: an error answer at most */
	for (size_t k = 0; k < 2; k++) {
		ml = mk_msg(NETFN_APP, 0x38, 1, "\x8e\x04", k, msg);
		bmc_in(&peer, pkt, v15_pkt(0, 0, 0, NULL, msg, ml, pkt));
		CHECK(F.sent == 1);
	}
	ml = mk_msg(NETFN_APP, 0x54, 1, "\x0e\x00\x80", 3, msg);
	n = setup_pkt(0x00, msg, ml, pkt);
	prefixes(&peer, pkt, n, false);
	for (size_t k = 0; k < ml; k++)
		CHECK(silent(&peer, pkt, setup_pkt(0x00, msg, k, pkt)));

	/* Open Session: prefixes; payload of every length 0..32 */
	client_init(&c, 50001, 3, "admin", "password", 0x14);
	n = open_req(&c, 0, pkt);
	memcpy(pl, pkt + 16, 32);
	prefixes(&c.peer, pkt, n, false);
	for (size_t k = 0; k < 32; k++) {
		bmc_in(&c.peer, pkt, setup_pkt(0x10, pl, k, pkt));
		if (k < 8) {
			CHECK(F.sent == 0);
		} else {
			r = setup_answer(0x11, &rl);
			CHECK(r && rl == 8 && r[1] == 0x12);
		}
	}
	/* and longer than 32 */
	memset(pl + 32, 0, 64);
	bmc_in(&c.peer, pkt, setup_pkt(0x10, pl, 33, pkt));
	r = setup_answer(0x11, &rl);
	CHECK(r && r[1] == 0x12);
	CHECK(ipmi_session_count(bmc, NULL) == 0);

	/* RAKP1: prefixes, then every payload length, each on a fresh session */
	client_init(&t, 50002, 3, "admin", "password", 0x14);
	n = rakp1_req(&t, pkt);
	prefixes(&t.peer, pkt, n, false);
	for (size_t k = 0; k < n - 16; k++) {
		client_init(&t, 50002, 3, "admin", "password", 0x14);
		CHECK(c_open(&t, 0) == 0);
		rakp1_req(&t, pkt);
		memcpy(pl, pkt + 16, k);
		bmc_in(&t.peer, pkt, setup_pkt(0x12, pl, k, pkt));
		if (k < 28) {
			CHECK(F.sent == 0);
		} else {
			r = setup_answer(0x13, &rl);
			CHECK(r && rl == 8 && r[1] == 0x0c);
		}
	}
	/* RAKP3: the same */
	client_init(&t, 50003, 3, "admin", "password", 0x14);
	n = rakp3_req(&t, 0, pkt);
	prefixes(&t.peer, pkt, n, false);
	for (size_t k = 0; k < n - 16; k++) {
		client_init(&t, 50003, 3, "admin", "password", 0x14);
		CHECK(c_open(&t, 0) == 0 && c_rakp1(&t) == 0);
		rakp3_req(&t, 0, pkt);
		memcpy(pl, pkt + 16, k);
		bmc_in(&t.peer, pkt, setup_pkt(0x14, pl, k, pkt));
		if (k < 8) {
			CHECK(F.sent == 0);
		} else {
			r = setup_answer(0x15, &rl);
			CHECK(r && rl == 8 && r[1] == 0x0f);
		}
	}
	/* RAKP3 one byte too long: the length field beyond the datagram,
	 * then the byte really there */
	client_init(&t, 50004, 3, "admin", "password", 0x14);
	CHECK(c_open(&t, 0) == 0 && c_rakp1(&t) == 0);
	n = rakp3_req(&t, 0, pkt);
	memcpy(pl, pkt + 16, n - 16);
	pl[n - 16] = 0;
	setup_pkt(0x14, pl, n - 16 + 1, pkt);
	CHECK(silent(&t.peer, pkt, n));
	bmc_in(&t.peer, pkt, n + 1);
	r = setup_answer(0x15, &rl);
	CHECK(r && r[1] == 0x0f);

	/* in-session, suites 3 and 17 */
	for (int s = 0; s < 2; s++) {
		client_init(&c, (uint16_t)(50010 + s), s ? 17 : 3, "admin", "password", 0x14);
		CHECK(c_login(&c, 0));
		CHECK(set_priv(&c, IPMI_PRIV_ADMIN) == 0);
		calls = F.power_calls;
		/* raw prefixes of a Chassis Control datagram */
		n = c_pkt(&c, c.seq + 1, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
		prefixes(&c.peer, pkt, n, false);
		/* the message cut short inside a valid packet: no answer */
		ml = mk_msg(NETFN_CHASSIS, 0x02, 50, "\x00", 1, msg);
		for (size_t k = 0; k < ml; k++) {
			n = sess_pkt(&c, ++c.seq, msg, k, pkt);
			CHECK(silent(&c.peer, pkt, n));
		}
		/* ... with its checksums redone: C7 */
		CHECK(c_req(&c, NETFN_CHASSIS, 0x02, NULL, 0, NULL, NULL) == CC_REQ_LEN_INVALID);
		CHECK(c_req(&c, NETFN_CHASSIS, 0x02, "\x00\x00", 2, NULL, NULL) ==
		      CC_REQ_LEN_INVALID);
		/* ciphertext cut (length field adjusted, AuthCode redone) */
		ml = mk_msg(NETFN_CHASSIS, 0x02, 52, "\x00", 1, msg);
		n = sess_pkt(&c, c.seq + 1, msg, ml, pkt);
		{
			size_t plen = get_le16(pkt + 14);
			for (size_t k = 0; k < plen; k++) {
				uint8_t cut[IPMI_PKT_MAX + 64];
				size_t m = 16 + k;
				memcpy(cut, pkt, m);
				put_le16(cut + 14, (uint16_t)k);
				m = add_trailer(&c, cut, m);
				CHECK(silent(&c.peer, cut, m));
			}
		}
		/* oversized length field, AuthCode redone */
		{
			uint8_t big[IPMI_PKT_MAX + 64];
			size_t plen = get_le16(pkt + 14);
			static const uint16_t lens[] = {1, 16, 100, 1000, 0xffff};
			for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
				size_t m;
				memcpy(big, pkt, n);
				put_le16(big + 14, (uint16_t)(plen + lens[i]));
				m = add_trailer(&c, big, 16 + plen);
				CHECK(silent(&c.peer, big, m));
			}
		}
		/* pad length > 3, next header not 07, misaligned */
		{
			uint8_t b2[IPMI_PKT_MAX + 64];
			int il = ipmi_integ_len(c.integ);
			n = sess_pkt(&c, c.seq + 1, msg, ml, pkt);
			for (int what = 0; what < 3; what++) {
				size_t body = n - (size_t)il, m = n;
				memcpy(b2, pkt, n);
				if (what == 0)
					b2[body - 2] = 7;
				else if (what == 1)
					b2[body - 1] = 0x06;
				else {
					/* one more pad byte, pad length fixed: misaligned */
					memmove(b2 + body - 1, b2 + body - 2, 2 + (size_t)il);
					b2[body - 2] = 0xff;
					b2[body - 1]++;
					body++;
					m++;
				}
				ipmi_integ(c.integ, c.k1, (size_t)ipmi_auth_len(c.auth), b2 + 4,
					   body - 4, b2 + body);
				CHECK(silent(&c.peer, b2, m));
			}
		}
		CHECK(F.power_calls == calls);
		CHECK(chassis_control(&c, 0x00) == 0);
		CHECK(F.power_calls == calls + 1);
	}

	/* v1.5 in-session */
	v15_init(&v, 50020, 2, "admin", "password");
	CHECK(v15_login(&v, IPMI_PRIV_ADMIN) == 0);
	CHECK(v15_req(&v, NETFN_APP, 0x3b, "\x04", 1, pl, &rl) == 0);
	calls = F.power_calls;
	n = v15_req_pkt(&v, v.seq, NETFN_CHASSIS, 0x02, "\x00", 1, pkt);
	prefixes(&v.peer, pkt, n, false);
	ml = mk_msg(NETFN_CHASSIS, 0x02, 60, "\x00", 1, msg);
	for (size_t k = 0; k < ml; k++) {
		n = v15_pkt(2, v.seq++, v.sid, v.pw16, msg, k, pkt);
		CHECK(silent(&v.peer, pkt, n)); /* accepted, then dropped: the number is used */
	}
	/* v1.5 length byte larger than the datagram, and a pad byte after */
	n = v15_pkt(2, v.seq, v.sid, v.pw16, msg, ml, pkt);
	pkt[29] = 255;
	CHECK(silent(&v.peer, pkt, n));
	pkt[29] = (uint8_t)(ml + 1);
	CHECK(silent(&v.peer, pkt, n));
	CHECK(F.power_calls == calls);
	/* v1.5 Get Session Challenge / Activate Session with short data */
	{
		uint8_t d[22] = {2};
		for (size_t k = 0; k < 22; k++) {
			int cc;
			cc = v15_pre(&peer, NETFN_APP, 0x39, d, k < 17 ? k : 18, NULL, NULL);
			CHECK(cc == CC_REQ_LEN_INVALID);
			cc = v15_pre(&peer, NETFN_APP, 0x3a, d, k, NULL, NULL);
			CHECK(cc == CC_REQ_LEN_INVALID || cc == 0x85 || cc == CC_INSUFFICIENT_PRIV);
		}
	}

	/* oversized everything, short RMCP headers */
	{
		uint8_t big[IPMI_PKT_MAX + 100];
		memset(big, 0, sizeof(big));
		ml = mk_msg(NETFN_APP, 0x38, 1, "\x8e\x04", 2, msg);
		n = v15_pkt(0, 0, 0, NULL, msg, ml, big);
		CHECK(silent(&peer, big, IPMI_PKT_MAX + 1));
		CHECK(silent(&peer, big, sizeof(big)));
		bmc_in(&peer, big, IPMI_PKT_MAX); /* trailing bytes are allowed */
		CHECK(F.sent == 1);
		/* RMCP+ length 0xffff and just one more than there is */
		n = setup_pkt(0x10, pl, 32, big);
		put_le16(big + 14, 0xffff);
		CHECK(silent(&peer, big, n));
		put_le16(big + 14, 33);
		CHECK(silent(&peer, big, n));
		/* not RMCP, RMCP ack, other classes, version */
		for (int i = 0; i < 256; i++) {
			big[3] = (uint8_t)i;
			if ((i & 0x1f) != 6 && (i & 0x1f) != 7)
				CHECK(silent(&peer, big, n));
		}
		big[3] = 0x87;
		CHECK(silent(&peer, big, n));
		big[3] = 0x07;
		big[0] = 0x07;
		CHECK(silent(&peer, big, n));
		/* OEM payloads */
		n = setup_pkt(0x02, pl, 32, big);
		CHECK(silent(&peer, big, n));
		n = setup_pkt(0xc2, pl, 32, big);
		CHECK(silent(&peer, big, n));
		/* pre-session with the authenticated / encrypted bits */
		n = setup_pkt(0x50, pl, 32, big);
		CHECK(silent(&peer, big, n));
		n = setup_pkt(0x90, pl, 32, big);
		CHECK(silent(&peer, big, n));
	}
	CHECK(!F.bad_send);
}

static uint32_t xs = 2463534242u;

static uint32_t xrand(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 17;
	xs ^= xs << 5;
	return xs;
}

/* Random mutations of valid packets, authentication alive behind them:
 * never an action; the session survives. */
static void test_mutations(void)
{
	struct client c[2];
	struct v15 v;
	uint8_t base[3][IPMI_PKT_MAX + 64], pkt[IPMI_PKT_MAX + 64];
	size_t blen[3];
	int calls;

	printf("# random mutations\n");
	bmc_start(false, false, false);
	for (int s = 0; s < 2; s++) {
		client_init(&c[s], (uint16_t)(51000 + s), s ? 17 : 3, "admin", "password", 0x14);
		CHECK(c_login(&c[s], 0));
		CHECK(set_priv(&c[s], IPMI_PRIV_ADMIN) == 0);
		blen[s] = c_pkt(&c[s], c[s].seq + 1, NETFN_CHASSIS, 0x02, "\x00", 1, base[s]);
	}
	v15_init(&v, 51002, 2, "admin", "password");
	CHECK(v15_login(&v, IPMI_PRIV_ADMIN) == 0);
	CHECK(v15_req(&v, NETFN_APP, 0x3b, "\x04", 1, pkt, &blen[2]) == 0);
	blen[2] = v15_req_pkt(&v, v.seq, NETFN_CHASSIS, 0x02, "\x00", 1, base[2]);
	calls = F.power_calls;
	for (int i = 0; i < 6000; i++) {
		int b = (int)(xrand() % 3);
		const struct sockaddr_in *peer = b < 2 ? &c[b].peer : &v.peer;
		size_t n = blen[b];
		int kind = (int)(xrand() % 4);

		memcpy(pkt, base[b], n);
		if (kind == 0) { /* flip 1-4 bytes past the RMCP header */
			int k = 1 + (int)(xrand() % 4);
			while (k--)
				pkt[4 + xrand() % (n - 4)] ^= (uint8_t)(1 + xrand() % 255);
		} else if (kind == 1) { /* truncate and flip */
			n = xrand() % n;
			if (n > 4)
				pkt[4 + xrand() % (n - 4)] ^= (uint8_t)(1 + xrand() % 255);
		} else if (kind == 2) { /* extend with random bytes */
			size_t extra = 1 + xrand() % 40;
			for (size_t j = 0; j < extra; j++)
				pkt[n + j] = (uint8_t)xrand();
			pkt[4 + xrand() % (n - 4)] ^= (uint8_t)(1 + xrand() % 255);
			n += extra;
		} else { /* random bytes after a valid header prefix */
			size_t keep = 4 + xrand() % 12;
			n = keep + xrand() % 80;
			for (size_t j = keep; j < n; j++)
				pkt[j] = (uint8_t)xrand();
		}
		if (n == blen[b] && memcmp(pkt, base[b], n) == 0)
			continue; /* the flips cancelled out */
		bmc_in(peer, pkt, n);
		if (F.power_calls != calls) {
			CHECK(!"mutated packet caused a power action");
			calls = F.power_calls;
		}
	}
	/* the sessions are alive: the unmutated packets run once each */
	for (int b = 0; b < 3; b++) {
		bmc_in(b < 2 ? &c[b].peer : &v.peer, base[b], blen[b]);
		CHECK(F.sent == 1);
		CHECK(F.power_calls == calls + 1 + b);
	}
	/* fully random datagrams */
	for (int i = 0; i < 3000; i++) {
		size_t n = xrand() % 200;
		struct sockaddr_in peer = peer_addr((uint16_t)(52000 + i % 50));
		for (size_t j = 0; j < n; j++)
			pkt[j] = (uint8_t)xrand();
		if (n > 4 && (i & 1))
			memcpy(pkt, (i & 2) ? "\x06\x00\xff\x07\x06" : "\x06\x00\xff\x07\x00", 5);
		bmc_in(&peer, pkt, n);
	}
	CHECK(F.power_calls == calls + 3);
	CHECK(!F.bad_send);
}

int main(void)
{
	test_asf_ping();
	test_auth_caps();
	test_cipher_suites();
	test_login_power(3);
	test_login_power(17);
	test_all_suites();
	test_auth_failures();
	test_suite0_enabled();
	test_privileges();
	test_v15();
	test_close_other();
	test_flood();
	test_retries();
	test_truncation();
	test_mutations();
	ipmi_free(bmc);
	return test_done();
}
