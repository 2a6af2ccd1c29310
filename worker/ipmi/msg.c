/* IPMI messages inside a session payload (spec 13.8): checksums, the
 * command table, privilege checks, the retransmit cache, and asynchronous
 * answers.  Every request gets an answer with a completion code (C1h for an
 * unknown command) — never silence — unless the message itself is broken. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RETRANSMIT_WINDOW_MS 5000

static const struct ipmi_cmd *const tables[] = {
	ipmi_session_cmds, ipmi_app_cmds, ipmi_chassis_cmds, ipmi_transport_cmds,
	ipmi_storage_cmds,
};

struct ipmi_async {
	struct ipmi_resp *orig; /* the handler's response while it still runs */
	struct ipmi *ipmi;
	uint32_t bmc_sid;
	uint32_t seq;
	uint8_t netfn, cmd, lun, rq_seq, rq_addr;
	struct ipmi_resp rs;
};

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return (uint8_t)-s;
}

static const struct ipmi_cmd *find_cmd(uint8_t netfn, uint8_t cmd)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct ipmi_cmd *c = tables[t]; c->handler; c++)
			if (c->netfn == netfn && c->cmd == cmd)
				return c;
	return NULL;
}

size_t ipmi_msg_build_resp(const struct ipmi_req *rq, const struct ipmi_resp *rs, uint8_t *out,
			   size_t outsize)
{
	size_t n = 8 + rs->len;

	if (rs->len > IPMI_DATA_MAX || n > outsize)
		return 0;
	out[0] = rq->rq_addr;
	out[1] = (uint8_t)((rq->netfn | 1) << 2 | rq->lun);
	out[2] = checksum(out, 2);
	out[3] = IPMI_BMC_ADDR;
	out[4] = (uint8_t)(rq->rq_seq << 2 | rq->lun);
	out[5] = rq->cmd;
	out[6] = rs->cc;
	memcpy(out + 7, rs->data, rs->len);
	out[n - 1] = checksum(out + 3, n - 4);
	return n;
}

/* Frame and send a response message in the format the request came in. */
static size_t send_msg(struct ipmi_ctx *ctx, const uint8_t *msg, size_t len, uint8_t *pkt)
{
	if (ctx->kind == SESSION_V20)
		return lanplus_send(ctx, 0x00, msg, len, pkt, IPMI_PKT_MAX);
	return lan15_send(ctx, msg, len, pkt, IPMI_PKT_MAX);
}

uint64_t ipmi_hash8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull; /* FNV-1a: identity, not security */

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}


/* Remember an answer (or that one is coming) for retransmits. */
static struct cached_resp *cache_put(struct ipmi_session *s, const struct ipmi_req *rq,
				     uint32_t seq, uint64_t now)
{
	struct cached_resp *c;

	if (!s)
		return NULL;
	c = &s->cache[s->cache_next++ % IPMI_CACHE];
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->seq = seq;
	c->netfn = rq->netfn;
	c->cmd = rq->cmd;
	c->rq_seq = rq->rq_seq;
	c->at_ms = now;
	c->data_hash = ipmi_hash8(rq->data, rq->len);
	return c;
}

/* A request we answered already, resent with the same rqSeq and data
 * (FreeIPMI retransmits with a new session sequence number): answer it
 * from the cache and never run it twice. */
static struct cached_resp *cache_match(struct ipmi_session *s, const struct ipmi_req *rq,
				       uint64_t now)
{
	uint64_t h;

	if (!s)
		return NULL;
	h = ipmi_hash8(rq->data, rq->len);
	for (size_t i = 0; i < IPMI_CACHE; i++) {
		struct cached_resp *c = &s->cache[i];
		if (c->used && c->netfn == rq->netfn && c->cmd == rq->cmd &&
		    c->rq_seq == rq->rq_seq && c->data_hash == h &&
		    now - c->at_ms < RETRANSMIT_WINDOW_MS)
			return c;
	}
	return NULL;
}

static void resend(struct ipmi_ctx *ctx, struct cached_resp *c)
{
	uint8_t pkt[IPMI_PKT_MAX];

	if (c->pending || !c->len)
		return; /* the answer goes out when the action completes */
	send_msg(ctx, c->pkt, c->len, pkt);
}

void ipmi_msg_retransmit(struct ipmi_ctx *ctx, uint32_t seq)
{
	struct ipmi_session *s = ctx->s;

	for (size_t i = 0; s && i < IPMI_CACHE; i++)
		if (s->cache[i].used && s->cache[i].seq == seq) {
			resend(ctx, &s->cache[i]);
			return;
		}
}

static void finish(struct ipmi_ctx *ctx, const struct ipmi_req *rq, const struct ipmi_resp *rs,
		   struct cached_resp *c)
{
	uint8_t msg[IPMI_PKT_MAX], pkt[IPMI_PKT_MAX];
	size_t n = ipmi_msg_build_resp(rq, rs, msg, sizeof(msg));

	if (!n)
		return;
	if (c) {
		memcpy(c->pkt, msg, n);
		c->len = n;
		c->pending = false;
	}
	send_msg(ctx, msg, n, pkt);
	if (ctx->s && ctx->s->closing)
		session_free(ctx->ipmi, ctx->s);
}

static bool parse(const uint8_t *m, size_t len, struct ipmi_req *rq)
{
	if (len < 7 || len > 7 + IPMI_DATA_MAX)
		return false;
	if (checksum(m, 2) != m[2] || checksum(m + 3, len - 4) != m[len - 1])
		return false;
	rq->netfn = m[1] >> 2;
	rq->lun = m[1] & 3;
	rq->rq_addr = m[3];
	rq->rq_seq = m[4] >> 2;
	rq->cmd = m[5];
	rq->data = m + 6;
	rq->len = len - 7;
	return !(rq->netfn & 1); /* a response sent to us: drop */
}

/* Pick the row and check whether this session may run it. */
static uint8_t admit(const struct ipmi_ctx *ctx, const struct ipmi_req *rq,
		     const struct ipmi_cmd **ret)
{
	const struct ipmi_cmd *c = find_cmd(rq->netfn, rq->cmd);

	*ret = c;
	if (!c)
		return CC_INVALID_CMD;
	if (rq->lun != 0)
		return CC_INVALID_FOR_LUN;
	if (!ctx->s || ctx->s->state != SS_ACTIVE)
		return (c->flags & CMD_PRESESSION) ? CC_OK : CC_INSUFFICIENT_PRIV;
	if (!ctx->authenticated && c->min_priv > IPMI_PRIV_CALLBACK)
		return CC_INSUFFICIENT_PRIV;
	if (ctx->s->priv < c->min_priv)
		return CC_INSUFFICIENT_PRIV;
	return CC_OK;
}

int ipmi_msg_input(struct ipmi_ctx *ctx, const uint8_t *m, size_t len)
{
	struct ipmi *ipmi = ctx->ipmi;
	struct ipmi_req rq = {.ipmi = ipmi, .s = ctx->s, .ctx = ctx};
	struct ipmi_resp *rs;
	const struct ipmi_cmd *c;
	struct cached_resp *cached;
	uint64_t now = ipmi->ops->now_ms(ipmi->arg);

	if (!parse(m, len, &rq))
		return -EBADMSG;
	rq.priv = ctx->s && ctx->s->state == SS_ACTIVE ? ctx->s->priv : 0;
	cached = ctx->s && ctx->s->state == SS_ACTIVE ? cache_match(ctx->s, &rq, now) : NULL;
	if (cached) {
		resend(ctx, cached);
		return 0;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->cc = admit(ctx, &rq, &c);
	if (rs->cc == CC_OK)
		c->handler(&rq, rs);
	cached = ctx->s && ctx->s->state == SS_ACTIVE ? cache_put(ctx->s, &rq, ctx->seq, now)
						       : NULL;
	if (rs->async) {
		rs->async->orig = NULL; /* the handler is done with rs */
		if (cached)
			cached->pending = true;
		free(rs);
		return 0;
	}
	finish(ctx, &rq, rs, cached);
	free(rs);
	return 0;
}

/* ---- asynchronous answers ---- */

struct ipmi_async *ipmi_async_begin(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi_async *a;

	if (!rq->s)
		return NULL; /* never asynchronous outside a session */
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->orig = rs;
	a->ipmi = rq->ipmi;
	a->bmc_sid = rq->s->bmc_sid;
	a->seq = rq->ctx ? rq->ctx->seq : 0;
	a->netfn = rq->netfn;
	a->cmd = rq->cmd;
	a->lun = rq->lun;
	a->rq_seq = rq->rq_seq;
	a->rq_addr = rq->rq_addr;
	a->rs = *rs;
	rs->async = a;
	return a;
}

static struct cached_resp *pending_entry(struct ipmi_session *s, const struct ipmi_async *a)
{
	for (size_t i = 0; i < IPMI_CACHE; i++) {
		struct cached_resp *c = &s->cache[i];
		if (c->used && c->pending && c->seq == a->seq && c->cmd == a->cmd &&
		    c->netfn == a->netfn && c->rq_seq == a->rq_seq)
			return c;
	}
	return NULL;
}

void ipmi_async_done(struct ipmi_async *a, uint8_t cc)
{
	struct ipmi_session *s = session_find(a->ipmi, a->bmc_sid);
	struct ipmi_req rq = {.ipmi = a->ipmi, .s = s, .netfn = a->netfn, .cmd = a->cmd,
			      .lun = a->lun, .rq_seq = a->rq_seq, .rq_addr = a->rq_addr};
	struct ipmi_ctx ctx;

	if (a->orig) {
		/* answered before the handler returned: msg.c sends it as a
		 * normal answer */
		a->orig->cc = cc;
		a->orig->async = NULL;
		free(a);
		return;
	}
	a->rs.cc = cc;
	a->rs.async = NULL;
	/* The session may have been closed or expired meanwhile: the action
	 * ran, but there is nobody left to tell. */
	if (s && s->state == SS_ACTIVE) {
		ctx = (struct ipmi_ctx){.ipmi = a->ipmi, .s = s, .kind = s->kind,
					.authenticated = true, .seq = a->seq,
					.from = (const struct sockaddr *)&s->peer,
					.fromlen = s->peerlen};
		rq.ctx = &ctx;
		finish(&ctx, &rq, &a->rs, pending_entry(s, a));
	}
	free(a);
}
