/* IPMI v1.5 LAN sessions (spec 13.6, 22.16, 22.17): ipmitool -I lan and
 * FreeIPMI's default driver.  MD5 auth codes by default; straight password
 * and auth type none only when configured.  Packets are parsed by their
 * length field, never by the datagram size (clients append a pad byte). */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define AT_NONE 0
#define AT_MD5 2
#define AT_PASSWORD 4
#define SEQ_BELOW 8
#define SEQ_ABOVE 8

static void pw16(const struct ipmi_user *u, uint8_t out[16])
{
	memset(out, 0, 16);
	memcpy(out, u->password, u->pwlen < 16 ? u->pwlen : 16);
}

static int authcode(const struct ipmi_session *s, uint8_t at, uint32_t sid, uint32_t seq,
		    const uint8_t *msg, size_t len, uint8_t out[16])
{
	uint8_t pw[16];

	if (!s || !s->user)
		return -EINVAL;
	pw16(s->user, pw);
	if (at == AT_MD5)
		ipmi_md5_authcode(pw, sid, msg, len, seq, out);
	else if (at == AT_PASSWORD)
		memcpy(out, pw, 16);
	else
		return -EINVAL;
	return 0;
}

size_t lan15_send(struct ipmi_ctx *ctx, const uint8_t *msg, size_t len, uint8_t *pkt,
		  size_t pktsize)
{
	struct ipmi_session *s = ctx->s;
	uint8_t at = s ? s->authtype : AT_NONE;
	uint32_t sid = s ? s->bmc_sid : 0, seq = 0;
	size_t n = 4 + 9;

	if (len > 255 || pktsize < n + 16 + 1 + len)
		return 0;
	if (s && s->state == SS_ACTIVE) {
		seq = s->out_seq++;
		if (!s->out_seq)
			s->out_seq = 1;
	}
	memcpy(pkt, "\x06\x00\xff\x07", 4);
	pkt[4] = at;
	put_le32(pkt + 5, seq);
	put_le32(pkt + 9, sid);
	if (at != AT_NONE) {
		if (authcode(s, at, sid, seq, msg, len, pkt + n) < 0)
			return 0;
		n += 16;
	}
	pkt[n++] = (uint8_t)len;
	memcpy(pkt + n, msg, len);
	n += len;
	ipmi_send_raw(ctx->ipmi, pkt, n, ctx->from, ctx->fromlen);
	return n;
}

static int verify(const struct ipmi_session *s, uint8_t at, uint32_t sid, uint32_t seq,
		  const uint8_t *code, const uint8_t *msg, size_t len)
{
	uint8_t want[16];

	if (at != s->authtype)
		return -EACCES;
	if (at == AT_NONE)
		return 0;
	if (authcode(s, at, sid, seq, msg, len, want) < 0)
		return -EACCES;
	return ipmi_memcmp_ct(want, code, 16) ? -EACCES : 0;
}

static int presession(struct ipmi *ipmi, uint8_t at, const uint8_t *msg, size_t mlen,
		      const struct sockaddr *from, socklen_t fromlen)
{
	struct ipmi_ctx ctx = {.ipmi = ipmi, .kind = SESSION_V15, .from = from,
			       .fromlen = fromlen};

	if (at != AT_NONE)
		return -EBADMSG;
	return ipmi_msg_input(&ctx, msg, mlen);
}

static int in_session(struct ipmi *ipmi, struct ipmi_session *s, uint8_t at, uint32_t seq,
		      const uint8_t *code, const uint8_t *msg, size_t mlen,
		      const struct sockaddr *from, socklen_t fromlen)
{
	struct ipmi_ctx ctx = {.ipmi = ipmi, .s = s, .kind = SESSION_V15, .seq = seq,
			       .from = from, .fromlen = fromlen};
	int r;

	if (s->kind != SESSION_V15 || (s->state != SS_V15_CHALLENGED && s->state != SS_ACTIVE))
		return -EBADMSG;
	if (verify(s, at, s->bmc_sid, seq, code, msg, mlen) < 0) {
		ipmi->stats.auth_failures++;
		return -EACCES;
	}
	ctx.authenticated = at != AT_NONE;
	if (s->state == SS_V15_CHALLENGED)
		return ipmi_msg_input(&ctx, msg, mlen); /* Activate Session only */
	r = seq_check(&s->in_auth, seq, SEQ_BELOW, SEQ_ABOVE);
	if (r == -EEXIST) {
		ipmi_msg_retransmit(&ctx, seq);
		return 0;
	}
	if (r < 0)
		return r;
	seq_accept(&s->in_auth, seq);
	s->last_ms = ipmi->ops->now_ms(ipmi->arg);
	return ipmi_msg_input(&ctx, msg, mlen);
}

int lan15_input(struct ipmi *ipmi, const uint8_t *p, size_t len, const struct sockaddr *from,
		socklen_t fromlen)
{
	uint8_t at;
	uint32_t seq, sid;
	size_t off = 9, mlen;
	const uint8_t *code = NULL;
	struct ipmi_session *s;

	if (len < off + 1)
		return -EBADMSG;
	at = p[0];
	seq = get_le32(p + 1);
	sid = get_le32(p + 5);
	if (at != AT_NONE) {
		code = p + off;
		off += 16;
		if (len < off + 1)
			return -EBADMSG;
	}
	mlen = p[off++];
	if (off + mlen > len)
		return -EBADMSG;
	if (sid == 0)
		return presession(ipmi, at, p + off, mlen, from, fromlen);
	s = session_find(ipmi, sid);
	if (!s)
		return -ENOENT;
	return in_session(ipmi, s, at, seq, code, p + off, mlen, from, fromlen);
}
