/*
 * Unit tests for the IPMI command handlers: worker/ipmi/app.c, chassis.c,
 * transport.c, storage.c and resp.c.
 *
 * A struct ipmi is built by hand with fake ops (power that records the
 * action and answers a chosen result, at once or later; a boot state in
 * memory), and requests go straight to the handlers found in the tables.
 * Checked: the exact answer bytes of every command, length (C7h) and
 * field (CCh) errors, and the request sequences ipmitool, FreeIPMI,
 * pyghmi and Ironic send (docs/IPMI.md).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/ipmi/internal.h"
#include "tap.h"

/* ---- link seams ----
 *
 * The handlers call three functions of other layers.  Defining them here
 * keeps those layers (msg.c, lanplus.c, and what they pull in) out of
 * this test's link: the archive members are only pulled for undefined
 * symbols.  The fakes record what the handlers asked for. */

struct ipmi_async {
	int id;
};

static struct {
	bool refuse; /* ipmi_async_begin() returns NULL */
	int begun;   /* ipmi_async_begin() calls */
	int done;    /* ipmi_async_done() calls */
	uint8_t cc;  /* last ipmi_async_done() cc */
	struct ipmi_async a;
} async_log;

struct ipmi_async *ipmi_async_begin(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	(void)rq;
	if (async_log.refuse)
		return NULL;
	async_log.begun++;
	rs->async = &async_log.a;
	return &async_log.a;
}

void ipmi_async_done(struct ipmi_async *a, uint8_t cc)
{
	if (a == &async_log.a) {
		async_log.done++;
		async_log.cc = cc;
	}
}

static const uint8_t fake_suites[] = {3, 17};

size_t cipher_suite_ids(const struct ipmi *ipmi, uint8_t *out, size_t size)
{
	size_t n = sizeof(fake_suites) < size ? sizeof(fake_suites) : size;

	(void)ipmi;
	memcpy(out, fake_suites, n);
	return n;
}

/* ---- fake ops ---- */

static struct {
	uint64_t now;
	enum power_state state;
	bool sync;		  /* answer power() before returning */
	enum power_result result; /* the answer */
	int calls;
	enum power_action action; /* last action asked */
	void (*cb)(void *, enum power_result, const char *);
	void *cbarg;  /* a pending answer (sync == false) */
	bool no_boot; /* boot() returns NULL */
	struct boot_state boot;
	int boot_changed;
	int identifies;
	unsigned identify_secs;
} fake;

static uint64_t fake_now(void *arg)
{
	(void)arg;
	return fake.now;
}

static enum power_state fake_power_state(void *arg)
{
	(void)arg;
	return fake.state;
}

static void fake_power(void *arg, enum power_action a,
		       void (*cb)(void *cbarg, enum power_result r, const char *detail),
		       void *cbarg)
{
	(void)arg;
	fake.calls++;
	fake.action = a;
	if (fake.sync) {
		cb(cbarg, fake.result, NULL);
		return;
	}
	fake.cb = cb;
	fake.cbarg = cbarg;
}

/* Let a pending power action finish. */
static void fake_power_finish(enum power_result r)
{
	void (*cb)(void *, enum power_result, const char *) = fake.cb;

	fake.cb = NULL;
	if (cb)
		cb(fake.cbarg, r, NULL);
}

static struct boot_state *fake_boot(void *arg)
{
	(void)arg;
	return fake.no_boot ? NULL : &fake.boot;
}

static void fake_boot_changed(void *arg)
{
	(void)arg;
	fake.boot_changed++;
}

static void fake_identify(void *arg, unsigned seconds)
{
	(void)arg;
	fake.identifies++;
	fake.identify_secs = seconds;
}

static const struct ipmi_ops ops = {
    .now_ms = fake_now,
    .power_state = fake_power_state,
    .power = fake_power,
    .boot = fake_boot,
    .boot_changed = fake_boot_changed,
    .identify = fake_identify,
};

static struct ipmi ipmi;
static struct ipmi_session sessions[4];

static const uint8_t guid[16] = {0xa1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

static void add_user(const char *name, uint8_t priv)
{
	struct ipmi_user *u = &ipmi.cfg.users[ipmi.cfg.n_users++];

	snprintf(u->name, sizeof(u->name), "%s", name);
	u->max_priv = priv;
}

/* A fresh BMC: node "node-0", 10.0.0.11/24 port 623, users admin and
 * oper, the power on, answering every action at once with success. */
static void reset(void)
{
	memset(&ipmi, 0, sizeof(ipmi));
	memset(&fake, 0, sizeof(fake));
	memset(&async_log, 0, sizeof(async_log));
	memset(sessions, 0, sizeof(sessions));
	snprintf(ipmi.cfg.node, sizeof(ipmi.cfg.node), "node-0");
	memcpy(ipmi.cfg.guid, guid, sizeof(guid));
	ipmi.cfg.addr.family = AF_INET;
	memcpy(ipmi.cfg.addr.bytes, (uint8_t[]){10, 0, 0, 11}, 4);
	ipmi.cfg.prefix = 24;
	ipmi.cfg.port = 623;
	memcpy(ipmi.cfg.mac, (uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
	add_user("admin", IPMI_PRIV_ADMIN);
	add_user("oper", IPMI_PRIV_OPERATOR);
	ipmi.cfg.max_sessions = 4;
	ipmi.sessions = sessions;
	ipmi.ops = &ops;
	fake.state = POWER_STATE_ON;
	fake.sync = true;
	fake.result = POWER_OK;
}

/* ---- running commands ---- */

static const struct ipmi_cmd *const tables[] = {
    ipmi_app_cmds,
    ipmi_chassis_cmds,
    ipmi_transport_cmds,
    ipmi_storage_cmds,
};

static const struct ipmi_cmd *find(uint8_t netfn, uint8_t cmd)
{
	size_t t;
	const struct ipmi_cmd *c;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (c = tables[t]; c->handler; c++)
			if (c->netfn == netfn && c->cmd == cmd)
				return c;
	return NULL;
}

static struct ipmi_resp rs;

/* Run one request; returns the completion code, the answer is in rs.
 * The data is copied to a buffer of exactly len bytes so that ASan
 * catches a handler reading past rq->len. */
static uint8_t run(uint8_t netfn, uint8_t cmd, const uint8_t *data, size_t len)
{
	const struct ipmi_cmd *c = find(netfn, cmd);
	uint8_t *copy = malloc(len ? len : 1);
	struct ipmi_req rq = {.ipmi = &ipmi, .netfn = netfn, .cmd = cmd, .rq_addr = 0x81};

	if (!c || !copy) {
		fprintf(stderr, "test setup: no command %02x/%02x\n", netfn, cmd);
		exit(1);
	}
	if (len)
		memcpy(copy, data, len);
	rq.data = copy;
	rq.len = len;
	memset(&rs, 0, sizeof(rs));
	c->handler(&rq, &rs);
	free(copy);
	return rs.cc;
}

#define BYTES(...)	     ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})
#define RUN(netfn, cmd, ...) run(netfn, cmd, BYTES(__VA_ARGS__))
#define RUN0(netfn, cmd)     run(netfn, cmd, NULL, 0)

/* Is the answer exactly these bytes (hex, spaces ignored)? */
static bool answer_is(const char *hex)
{
	uint8_t want[IPMI_DATA_MAX];
	size_t n = 0;
	unsigned b;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		if (n == sizeof(want) || sscanf(hex, "%2x", &b) != 1) {
			fprintf(stderr, "test setup: bad hex %s\n", hex);
			exit(1);
		}
		want[n++] = (uint8_t)b;
		hex += 2;
	}
	if (rs.cc != CC_OK || rs.len != n || memcmp(rs.data, want, n) != 0) {
		fprintf(stderr, "  got cc %02x len %zu:", rs.cc, rs.len);
		for (size_t i = 0; i < rs.len; i++)
			fprintf(stderr, " %02x", rs.data[i]);
		fprintf(stderr, "\n");
		return false;
	}
	return true;
}

/* ---- tables and helpers ---- */

static void test_tables(void)
{
	static const struct {
		uint8_t netfn, cmd, priv;
	} privs[] = {
		{0x06, 0x01, IPMI_PRIV_USER},     {0x06, 0x04, IPMI_PRIV_USER},
		{0x06, 0x08, IPMI_PRIV_USER},     {0x06, 0x37, IPMI_PRIV_USER},
		{0x06, 0x41, IPMI_PRIV_USER},     {0x06, 0x42, IPMI_PRIV_USER},
		{0x06, 0x59, IPMI_PRIV_USER},     {0x06, 0x44, IPMI_PRIV_OPERATOR},
		{0x06, 0x46, IPMI_PRIV_OPERATOR}, {0x00, 0x00, IPMI_PRIV_USER},
		{0x00, 0x01, IPMI_PRIV_USER},     {0x00, 0x07, IPMI_PRIV_USER},
		{0x00, 0x02, IPMI_PRIV_OPERATOR}, {0x00, 0x04, IPMI_PRIV_OPERATOR},
		{0x00, 0x08, IPMI_PRIV_OPERATOR}, {0x00, 0x09, IPMI_PRIV_OPERATOR},
		{0x0c, 0x02, IPMI_PRIV_OPERATOR}, {0x0c, 0x01, IPMI_PRIV_ADMIN},
		{0x0a, 0x10, IPMI_PRIV_USER},     {0x0a, 0x11, IPMI_PRIV_USER},
		{0x0a, 0x20, IPMI_PRIV_USER},     {0x0a, 0x22, IPMI_PRIV_USER},
		{0x0a, 0x23, IPMI_PRIV_USER},     {0x0a, 0x40, IPMI_PRIV_USER},
		{0x0a, 0x42, IPMI_PRIV_USER},     {0x0a, 0x43, IPMI_PRIV_USER},
		{0x0a, 0x48, IPMI_PRIV_USER},     {0x0a, 0x47, IPMI_PRIV_ADMIN},
	};
	const struct ipmi_cmd *c, *d;
	size_t t, i, rows = 0, dups = 0, named = 0;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (c = tables[t]; c->handler; c++) {
			rows++;
			named += c->name && c->name[0] && !(c->flags & CMD_PRESESSION);
			if (find(c->netfn, c->cmd) != c)
				dups++;
			for (d = c + 1; d->handler; d++)
				dups += d->netfn == c->netfn && d->cmd == c->cmd;
		}
	CHECK(rows == sizeof(privs) / sizeof(privs[0]));
	CHECK(named == rows);
	CHECK(dups == 0);
	for (i = 0; i < sizeof(privs) / sizeof(privs[0]); i++) {
		c = find(privs[i].netfn, privs[i].cmd);
		CHECK(c && c->min_priv == privs[i].priv);
	}
	/* nothing in the sensor netfn: msg.c answers C1h */
	CHECK(find(NETFN_SENSOR, 0x20) == NULL);
}

static void test_resp_helpers(void)
{
	struct ipmi_resp r = {0};
	struct ipmi_req rq = {.len = 3};
	uint8_t big[IPMI_DATA_MAX] = {0};

	resp_u8(&r, 0x11);
	resp_u16(&r, 0x2233);
	resp_u32(&r, 0x44556677);
	resp_bytes(&r, "\x88\x99", 2);
	CHECK(r.cc == CC_OK && r.len == 9);
	CHECK(memcmp(r.data, "\x11\x33\x22\x77\x66\x55\x44\x88\x99", 9) == 0);

	resp_bytes(&r, big, IPMI_DATA_MAX - 9);
	CHECK(r.cc == CC_OK && r.len == IPMI_DATA_MAX);
	resp_u8(&r, 1); /* one too many */
	CHECK(r.cc == CC_CANT_RETURN_BYTES && r.len == 0);
	resp_u8(&r, 1); /* nothing more once failed */
	CHECK(r.cc == CC_CANT_RETURN_BYTES && r.len == 0);

	memset(&r, 0, sizeof(r));
	r.len = IPMI_DATA_MAX - 1;
	resp_u16(&r, 1);
	CHECK(r.cc == CC_CANT_RETURN_BYTES && r.len == 0);
	memset(&r, 0, sizeof(r));
	r.len = IPMI_DATA_MAX - 3;
	resp_u32(&r, 1);
	CHECK(r.cc == CC_CANT_RETURN_BYTES);
	memset(&r, 0, sizeof(r));
	resp_bytes(&r, big, IPMI_DATA_MAX + 1);
	CHECK(r.cc == CC_CANT_RETURN_BYTES);
	memset(&r, 0, sizeof(r));
	r.cc = CC_INVALID_DATA_FIELD;
	resp_u8(&r, 1);
	CHECK(r.len == 0 && r.cc == CC_INVALID_DATA_FIELD);

	memset(&r, 0, sizeof(r));
	CHECK(req_len_ok(&rq, &r, 3, 3) && r.cc == CC_OK);
	CHECK(req_len_ok(&rq, &r, 0, 5) && r.cc == CC_OK);
	CHECK(!req_len_ok(&rq, &r, 4, 4) && r.cc == CC_REQ_LEN_INVALID);
	r.cc = CC_OK;
	CHECK(!req_len_ok(&rq, &r, 0, 2) && r.cc == CC_REQ_LEN_INVALID);
}

/* ---- app ---- */

static void test_app_identity(void)
{
	reset();
	CHECK(RUN0(0x06, 0x01) == CC_OK);
	CHECK(answer_is("20 01 01 00 02 8e 000000 0100 00000000"));
	CHECK(RUN(0x06, 0x01, 0x00) == CC_REQ_LEN_INVALID);

	CHECK(RUN0(0x06, 0x04) == CC_OK && answer_is("55 00"));
	CHECK(RUN(0x06, 0x04, 0x00) == CC_REQ_LEN_INVALID);

	CHECK(RUN0(0x06, 0x08) == CC_OK && answer_is("a123456789abcdef0102030405060708"));
	CHECK(RUN0(0x06, 0x37) == CC_OK && answer_is("a123456789abcdef0102030405060708"));
	CHECK(RUN(0x06, 0x37, 0x00) == CC_REQ_LEN_INVALID);
}

static void test_app_channel(void)
{
	reset();
	CHECK(RUN(0x06, 0x41, 0x01, 0x40) == CC_OK && answer_is("22 04"));
	CHECK(RUN(0x06, 0x41, 0x0e, 0x80) == CC_OK && answer_is("22 04"));
	CHECK(RUN(0x06, 0x41, 0x01, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x41, 0x01, 0xc0) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x41, 0x02, 0x40) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x41, 0x01) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x06, 0x41, 0x01, 0x40, 0x00) == CC_REQ_LEN_INVALID);

	CHECK(RUN(0x06, 0x42, 0x01) == CC_OK && answer_is("01 04 01 80 f21b00 0000"));
	sessions[0].state = SS_ACTIVE;
	sessions[2].state = SS_ACTIVE;
	sessions[3].state = SS_V20_RAKP2; /* not active yet */
	CHECK(RUN(0x06, 0x42, 0x0e) == CC_OK && answer_is("01 04 01 82 f21b00 0000"));
	/* FreeIPMI's bmc-info walks channels 0-11: only ours answers */
	CHECK(RUN(0x06, 0x42, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x42, 0x02) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x42, 0x07) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x42, 0x0f) == CC_INVALID_DATA_FIELD);
	CHECK(RUN0(0x06, 0x42) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x06, 0x42, 0x01, 0x00) == CC_REQ_LEN_INVALID);

	ipmi.sessions = NULL; /* counted without a session table too */
	CHECK(RUN(0x06, 0x42, 0x01) == CC_OK && answer_is("01 04 01 80 f21b00 0000"));
}

static void test_app_users(void)
{
	uint8_t id;

	reset();
	/* 16 ids (users[i] is id i + 2), 2 enabled, 3 fixed names */
	CHECK(RUN(0x06, 0x44, 0x0e, 0x01) == CC_OK && answer_is("10 82 03 0f"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x02) == CC_OK && answer_is("10 42 03 34"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x03) == CC_OK && answer_is("10 42 03 33"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x04) == CC_OK && answer_is("10 82 03 0f"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x10) == CC_OK && answer_is("10 82 03 0f"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x11) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x44, 0x01, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x44, 0x03, 0x02) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x44, 0x01) == CC_REQ_LEN_INVALID);

	CHECK(RUN(0x06, 0x46, 0x02) == CC_OK && answer_is("61646d696e 0000000000000000000000"));
	CHECK(RUN(0x06, 0x46, 0x03) == CC_OK && answer_is("6f706572 000000000000000000000000"));
	CHECK(RUN(0x06, 0x46, 0x01) == CC_OK && answer_is("00000000000000000000000000000000"));
	CHECK(RUN(0x06, 0x46, 0x11) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x06, 0x46, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN0(0x06, 0x46) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x06, 0x46, 0x02, 0x00) == CC_REQ_LEN_INVALID);

	/* ipmitool "user list": ids 1..max, every one must answer */
	for (id = 1; id <= 16; id++) {
		CHECK(RUN(0x06, 0x44, 0x0e, id) == CC_OK && rs.len == 4);
		CHECK(RUN(0x06, 0x46, id) == CC_OK && rs.len == 16);
	}

	/* a full table: a 16-byte name is not NUL-terminated on the wire */
	reset();
	ipmi.cfg.n_users = 0;
	for (id = 0; id < IPMI_MAX_USERS; id++)
		add_user("0123456789abcdef", IPMI_PRIV_USER);
	CHECK(RUN(0x06, 0x46, 0x10) == CC_OK && answer_is("30313233343536373839616263646566"));
	CHECK(RUN(0x06, 0x44, 0x01, 0x10) == CC_OK && answer_is("10 4f 10 32"));
}

static void test_app_sysinfo(void)
{
	reset();
	snprintf(ipmi.cfg.node, sizeof(ipmi.cfg.node), "rack1-node-0123456789-xyz");
	/* system name, 25 bytes: 14 in set 0, 11 in set 1 */
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x00, 0x00) == CC_OK);
	CHECK(answer_is("11 00 00 19 7261636b312d6e6f64652d303132"));
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x01, 0x00) == CC_OK);
	CHECK(answer_is("11 01 33343536373839 2d78797a 0000000000"));
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x02, 0x00) == CC_PARAM_OUT_OF_RANGE);
	/* firmware version and OS names are empty but present */
	CHECK(RUN(0x06, 0x59, 0x00, 0x01, 0x00, 0x00) == CC_OK);
	CHECK(answer_is("11 00 00 00 0000000000000000000000000000"));
	CHECK(RUN(0x06, 0x59, 0x00, 0x03, 0x00, 0x00) == CC_OK && rs.len == 18);
	CHECK(RUN(0x06, 0x59, 0x00, 0x04, 0x00, 0x00) == CC_OK && rs.len == 18);
	CHECK(RUN(0x06, 0x59, 0x00, 0x01, 0x01, 0x00) == CC_PARAM_OUT_OF_RANGE);
	CHECK(RUN(0x06, 0x59, 0x00, 0x00, 0x00, 0x00) == CC_OK && answer_is("11 00"));
	/* revision only */
	CHECK(RUN(0x06, 0x59, 0x80, 0x02, 0x00, 0x00) == CC_OK && answer_is("11"));
	/* present OS version, BMC URL, hypervisor URL: not supported */
	CHECK(RUN(0x06, 0x59, 0x00, 0x05, 0x00, 0x00) == CC_PARAM_NOT_SUPPORTED);
	CHECK(RUN(0x06, 0x59, 0x00, 0x06, 0x00, 0x00) == CC_PARAM_NOT_SUPPORTED);
	CHECK(RUN(0x06, 0x59, 0x80, 0x07, 0x00, 0x00) == CC_PARAM_NOT_SUPPORTED);
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);

	/* a name of exactly 14 bytes fits set 0 */
	snprintf(ipmi.cfg.node, sizeof(ipmi.cfg.node), "abcdefghijklmn");
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x00, 0x00) == CC_OK);
	CHECK(answer_is("11 00 00 0e 6162636465666768696a6b6c6d6e"));
	CHECK(RUN(0x06, 0x59, 0x00, 0x02, 0x01, 0x00) == CC_PARAM_OUT_OF_RANGE);
}

/* ---- chassis: power ---- */

static void test_chassis_status(void)
{
	reset();
	CHECK(RUN0(0x00, 0x00) == CC_OK && answer_is("00 20 20 20 20"));
	CHECK(RUN(0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);

	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 40"));
	fake.state = POWER_STATE_POWERING_OFF;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 40"));
	fake.state = POWER_STATE_OFF;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("60 00 40"));
	fake.state = POWER_STATE_POWERING_ON;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("60 00 40"));
	fake.state = POWER_STATE_UNKNOWN;
	CHECK(RUN0(0x00, 0x01) == CC_NOT_SUPPORTED_NOW && rs.len == 0);
	fake.state = POWER_STATE_ON;
	CHECK(RUN(0x00, 0x01, 0x00) == CC_REQ_LEN_INVALID);

	CHECK(RUN0(0x00, 0x07) == CC_OK && answer_is("00 01"));
	CHECK(RUN(0x00, 0x07, 0x00) == CC_REQ_LEN_INVALID);
}

static void test_chassis_control_actions(void)
{
	static const enum power_action want[] = {
	    POWER_OFF, POWER_ON, POWER_CYCLE, POWER_RESET, POWER_NMI, POWER_SOFT,
	};
	uint8_t ctl;

	reset();
	for (ctl = 0; ctl < 6; ctl++) {
		fake.calls = 0;
		CHECK(RUN(0x00, 0x02, ctl) == CC_OK && rs.len == 0);
		CHECK(fake.calls == 1 && fake.action == want[ctl]);
	}
	/* an immediate answer is given at once, not through async */
	CHECK(async_log.begun == 0 && rs.async == NULL);
	fake.calls = 0;
	CHECK(RUN(0x00, 0x02, 0x06) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x00, 0x02, 0x0f) == CC_INVALID_DATA_FIELD);
	CHECK(RUN0(0x00, 0x02) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x00, 0x02, 0x01, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(fake.calls == 0);
	/* bits 7:4 are reserved */
	CHECK(RUN(0x00, 0x02, 0xf1) == CC_OK && fake.action == POWER_ON);
}

static const struct {
	enum power_result r;
	uint8_t cc;
} result_cc[] = {
	{POWER_OK, 0x00},	  {POWER_E_STATE, 0xd5},   {POWER_E_UNAVAILABLE, 0xd5},
	{POWER_E_BUSY, 0xc0}, {POWER_E_TIMEOUT, 0xc3}, {POWER_E_FAILED, 0xff},
};

#define N_RESULTS (sizeof(result_cc) / sizeof(result_cc[0]))

static void test_chassis_control_results(void)
{
	size_t i;

	/* answered before power() returns */
	for (i = 0; i < N_RESULTS; i++) {
		reset();
		fake.result = result_cc[i].r;
		CHECK(RUN(0x00, 0x02, 0x03) == result_cc[i].cc);
		CHECK(async_log.begun == 0);
	}
	/* answered later, through ipmi_async_done() */
	for (i = 0; i < N_RESULTS; i++) {
		reset();
		fake.sync = false;
		CHECK(RUN(0x00, 0x02, 0x02) == CC_OK);
		CHECK(async_log.begun == 1 && rs.async == &async_log.a && async_log.done == 0);
		fake_power_finish(result_cc[i].r);
		CHECK(async_log.done == 1 && async_log.cc == result_cc[i].cc);
	}
	/* no asynchronous answer possible: started, and finishing is safe */
	reset();
	fake.sync = false;
	async_log.refuse = true;
	CHECK(RUN(0x00, 0x02, 0x01) == CC_OK && rs.async == NULL);
	fake_power_finish(POWER_OK);
	CHECK(async_log.done == 0);
	CHECK(ipmi.restart_cause == 0x01);
}

static void test_chassis_power_event(void)
{
	static const uint8_t on_ctls[] = {0x01, 0x02, 0x03};
	size_t i;

	/* a failed power up changes nothing */
	reset();
	fake.result = POWER_E_FAILED;
	CHECK(RUN(0x00, 0x02, 0x01) == CC_UNSPECIFIED);
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 40"));
	CHECK(RUN0(0x00, 0x07) == CC_OK && answer_is("00 01"));
	/* nor do off, soft off and NMI */
	fake.result = POWER_OK;
	CHECK(RUN(0x00, 0x02, 0x00) == CC_OK);
	CHECK(RUN(0x00, 0x02, 0x04) == CC_OK);
	CHECK(RUN(0x00, 0x02, 0x05) == CC_OK);
	CHECK(ipmi.last_power_event == 0 && ipmi.restart_cause == 0);
	/* up, cycle, reset: "power on by command", restart cause 01h */
	for (i = 0; i < sizeof(on_ctls); i++) {
		reset();
		CHECK(RUN(0x00, 0x02, on_ctls[i]) == CC_OK);
		CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 10 40"));
		CHECK(RUN0(0x00, 0x07) == CC_OK && answer_is("01 01"));
	}
	/* also when the answer comes later */
	reset();
	fake.sync = false;
	CHECK(RUN(0x00, 0x02, 0x01) == CC_OK);
	CHECK(ipmi.last_power_event == 0);
	fake_power_finish(POWER_OK);
	CHECK(ipmi.last_power_event == 0x10 && ipmi.restart_cause == 0x01);
}

static void test_chassis_identify(void)
{
	reset();
	fake.now = 1000;
	CHECK(RUN0(0x00, 0x04) == CC_OK && rs.len == 0);
	CHECK(fake.identifies == 1 && fake.identify_secs == 15);
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 50")); /* temporary on */
	fake.now = 15999;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 50"));
	fake.now = 16000;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 40")); /* went off */

	CHECK(RUN(0x00, 0x04, 0x05) == CC_OK && fake.identify_secs == 5);
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 50"));
	CHECK(RUN(0x00, 0x04, 0x00) == CC_OK && fake.identify_secs == 0);
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 40"));

	CHECK(RUN(0x00, 0x04, 0x00, 0x01) == CC_OK && fake.identify_secs == UINT_MAX);
	fake.now = 1000000000;
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 60")); /* indefinite */
	CHECK(RUN(0x00, 0x04, 0x0a, 0x00) == CC_OK && fake.identify_secs == 10);
	CHECK(RUN0(0x00, 0x01) == CC_OK && answer_is("61 00 50"));

	fake.identifies = 0;
	CHECK(RUN(0x00, 0x04, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(fake.identifies == 0);
}

/* ---- chassis: boot options ---- */

static uint8_t set_boot(const uint8_t *d, size_t n)
{
	return run(0x00, 0x08, d, n);
}

#define SET_BOOT(...)	set_boot(BYTES(__VA_ARGS__))
#define GET_BOOT(param) RUN(0x00, 0x09, param, 0x00, 0x00)

static void test_boot_ipmitool(void)
{
	static const struct {
		uint8_t dev;
		enum boot_target t;
	} devs[] = {
		{0x04, BOOT_PXE}, {0x08, BOOT_DISK}, {0x0c, BOOT_DISK}, {0x14, BOOT_CD},
		{0x00, BOOT_NONE},
	};
	/* what a VM cannot do is refused: diag partition, BIOS setup, floppy */
	static const uint8_t refused[] = {0x10, 0x18, 0x3c, 0x24};
	size_t i;

	for (i = 0; i < sizeof(refused); i++) {
		reset();
		CHECK(SET_BOOT(0x05, 0x80, refused[i], 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
		CHECK(fake.boot.target == BOOT_NONE && fake.boot.generation == 0);
	}
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		reset();
		/* "chassis bootdev X" */
		CHECK(SET_BOOT(0x00, 0x01) == CC_OK);
		CHECK(SET_BOOT(0x04, 0x01, 0x01) == CC_OK);
		CHECK(SET_BOOT(0x05, 0x80, devs[i].dev, 0x00, 0x00, 0x00) == CC_OK);
		CHECK(SET_BOOT(0x00, 0x02) == CC_OK);
		CHECK(SET_BOOT(0x00, 0x00) == CC_OK);
		CHECK(fake.boot.target == devs[i].t);
		CHECK(!fake.boot.persistent && !fake.boot.efi);
		CHECK(fake.boot.set_in_progress == 0 && fake.boot.ack_data == 0x01);
		CHECK(fake.boot_changed > 0 && fake.boot.generation == (uint32_t)fake.boot_changed);
		/* "chassis bootparam get 5" returns exactly what was set */
		CHECK(GET_BOOT(0x05) == CC_OK);
		CHECK(rs.len == 7 && rs.data[0] == 0x01 && rs.data[1] == 0x05);
		CHECK(rs.data[2] == 0x80 && rs.data[3] == devs[i].dev);
		CHECK(rs.data[4] == 0 && rs.data[5] == 0 && rs.data[6] == 0);
		CHECK(GET_BOOT(0x00) == CC_OK && answer_is("01 00 00"));
	}

	/* options=persistent,efiboot */
	reset();
	CHECK(SET_BOOT(0x05, 0xe0, 0x04, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_PXE && fake.boot.persistent && fake.boot.efi);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 e0 04 00 00 00"));
	/* extra bits are kept as written */
	CHECK(SET_BOOT(0x05, 0x80, 0x88, 0x21, 0x09, 0x00) == CC_OK);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 80 88 21 09 00"));
	CHECK(fake.boot.target == BOOT_DISK);
	/* remote CD counts as CD; the valid bit clear means no override */
	CHECK(SET_BOOT(0x05, 0x80, 0x20, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_CD);
	CHECK(SET_BOOT(0x05, 0x40, 0x04, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_NONE && fake.boot.persistent);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 40 04 00 00 00"));
}

static void test_boot_ironic_pyghmi(void)
{
	uint32_t gen;

	reset();
	/* Ironic: stop the 60 s timer, then UEFI once / persistent */
	CHECK(SET_BOOT(0x03, 0x08) == CC_OK);
	CHECK(fake.boot.timer_control == 0x08);
	CHECK(GET_BOOT(0x03) == CC_OK && answer_is("01 03 08"));
	CHECK(SET_BOOT(0x05, 0xa0, 0x04, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_PXE && !fake.boot.persistent && fake.boot.efi);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 a0 04 00 00 00"));
	CHECK(SET_BOOT(0x05, 0xe0, 0x08, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_DISK && fake.boot.persistent && fake.boot.efi);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 e0 08 00 00 00"));
	/* the same again is no change: no new generation */
	gen = fake.boot.generation;
	CHECK(SET_BOOT(0x05, 0xe0, 0x08, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.generation == gen);
	/* pyghmi: legacy BIOS setup, once: refused (no VM firmware setup via QMP) */
	CHECK(SET_BOOT(0x03, 0x08) == CC_OK && fake.boot.generation == gen);
	CHECK(SET_BOOT(0x05, 0x80, 0x18, 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(fake.boot.generation == gen);
}

static void test_boot_freeipmi(void)
{
	uint8_t flags[6] = {0x05};

	reset();
	/* ipmi-config commit: get 5, set 5, set 3 1f, set 4 ff ff */
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 00 00 00 00 00"));
	memcpy(flags + 1, rs.data + 2, 5);
	flags[1] = 0xc0;
	flags[2] = 0x14;
	CHECK(set_boot(flags, sizeof(flags)) == CC_OK);
	CHECK(SET_BOOT(0x03, 0x1f) == CC_OK);
	CHECK(SET_BOOT(0x04, 0xff, 0xff) == CC_OK);
	CHECK(fake.boot.target == BOOT_CD && fake.boot.persistent && !fake.boot.efi);
	CHECK(fake.boot.timer_control == 0x1f && fake.boot.ack_data == 0xff);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 c0 14 00 00 00"));
	CHECK(GET_BOOT(0x03) == CC_OK && answer_is("01 03 1f"));
	CHECK(GET_BOOT(0x04) == CC_OK && answer_is("01 04 00 ff"));
}

static void test_boot_other_writers(void)
{
	reset();
	CHECK(SET_BOOT(0x05, 0x80, 0x04, 0x00, 0x00, 0x00) == CC_OK);
	/* the boot code used the once-override: valid bit off, selector kept */
	fake.boot.target = BOOT_NONE;
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 00 04 00 00 00"));
	/* Redfish: Cd, Continuous, UEFI */
	fake.boot.target = BOOT_CD;
	fake.boot.persistent = true;
	fake.boot.efi = true;
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 e0 14 00 00 00"));
	/* Redfish: BiosSetup; other bits written over IPMI stay */
	CHECK(SET_BOOT(0x05, 0x80, 0x82, 0x21, 0x00, 0x00) == CC_OK);
	fake.boot.target = BOOT_BIOS;
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 80 9a 21 00 00"));
	/* a floppy override is refused; a floppy selector without the valid
	 * bit is just remembered */
	CHECK(SET_BOOT(0x05, 0x80, 0x3c, 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(SET_BOOT(0x05, 0x00, 0x3c, 0x00, 0x00, 0x00) == CC_OK);
	CHECK(fake.boot.target == BOOT_NONE);
	CHECK(GET_BOOT(0x05) == CC_OK && answer_is("01 05 00 3c 00 00 00"));
}

static void test_boot_params(void)
{
	reset();
	/* set in progress: a second lock is refused (81h), commit is a no-op */
	CHECK(SET_BOOT(0x00, 0x01) == CC_OK);
	CHECK(SET_BOOT(0x00, 0x01) == 0x81);
	CHECK(GET_BOOT(0x00) == CC_OK && answer_is("01 00 01"));
	CHECK(SET_BOOT(0x00, 0x02) == CC_OK);
	CHECK(GET_BOOT(0x00) == CC_OK && answer_is("01 00 01"));
	CHECK(SET_BOOT(0x00, 0x00) == CC_OK);
	CHECK(SET_BOOT(0x00, 0x03) == CC_INVALID_DATA_FIELD);
	CHECK(GET_BOOT(0x00) == CC_OK && answer_is("01 00 00"));

	CHECK(SET_BOOT(0x01, 0x42) == CC_OK && GET_BOOT(0x01) == CC_OK && answer_is("01 01 42"));
	CHECK(SET_BOOT(0x02, 0x03) == CC_OK && GET_BOOT(0x02) == CC_OK && answer_is("01 02 03"));

	/* boot info acknowledge: data 1 masks data 2 */
	CHECK(SET_BOOT(0x04, 0x03, 0x03) == CC_OK && fake.boot.ack_data == 0x03);
	CHECK(SET_BOOT(0x04, 0x01, 0x00) == CC_OK && fake.boot.ack_data == 0x02);
	CHECK(SET_BOOT(0x04, 0x00, 0xff) == CC_OK && fake.boot.ack_data == 0x02);
	CHECK(fake.boot.ack_mask == 0x00);
	CHECK(GET_BOOT(0x04) == CC_OK && answer_is("01 04 00 02"));

	CHECK(SET_BOOT(0x06, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88) == CC_OK);
	CHECK(GET_BOOT(0x06) == CC_OK && answer_is("01 06 01 11223344 55667788"));

	/* bit 7 of the selector byte is ignored */
	CHECK(SET_BOOT(0x83, 0x02) == CC_OK && fake.boot.timer_control == 0x02);
	CHECK(RUN(0x00, 0x09, 0x83, 0x00, 0x00) == CC_OK && answer_is("01 03 02"));
}

static void test_boot_errors(void)
{
	uint32_t gen;

	reset();
	gen = fake.boot.generation;
	CHECK(SET_BOOT(0x05, 0x80, 0x04, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x05, 0x80, 0x04, 0x00, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x05) == CC_REQ_LEN_INVALID);
	CHECK(RUN0(0x00, 0x08) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x04, 0x01) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x00) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(SET_BOOT(0x06, 0x01, 0x02) == CC_REQ_LEN_INVALID);
	/* reserved device selectors */
	CHECK(SET_BOOT(0x05, 0x80, 0x28, 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(SET_BOOT(0x05, 0x80, 0x30, 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(SET_BOOT(0x05, 0x80, 0x38, 0x00, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(fake.boot.generation == gen && fake.boot_changed == 0);
	CHECK(fake.boot.target == BOOT_NONE);
	/* mailbox and beyond: not supported */
	CHECK(SET_BOOT(0x07, 0x00, 0x01, 0x02) == CC_PARAM_NOT_SUPPORTED);
	CHECK(GET_BOOT(0x07) == CC_PARAM_NOT_SUPPORTED);
	CHECK(GET_BOOT(0x08) == CC_PARAM_NOT_SUPPORTED);
	CHECK(GET_BOOT(0x60) == CC_PARAM_NOT_SUPPORTED);
	CHECK(RUN(0x00, 0x09, 0x05, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x00, 0x09, 0x05, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN0(0x00, 0x09) == CC_REQ_LEN_INVALID);
	/* no boot state to talk to */
	fake.no_boot = true;
	CHECK(GET_BOOT(0x05) == CC_NOT_SUPPORTED_NOW);
	CHECK(SET_BOOT(0x03, 0x08) == CC_NOT_SUPPORTED_NOW);
}

/* ---- transport ---- */

static uint8_t get_lan(uint8_t param)
{
	return RUN(0x0c, 0x02, 0x01, param, 0x00, 0x00);
}

static void test_lan_get(void)
{
	reset();
	CHECK(get_lan(0) == CC_OK && answer_is("11 00"));
	CHECK(get_lan(1) == CC_OK && answer_is("11 04"));
	CHECK(get_lan(2) == CC_OK && answer_is("11 04 04 04 04 00"));
	CHECK(get_lan(3) == CC_OK && answer_is("11 0a00000b"));
	CHECK(get_lan(4) == CC_OK && answer_is("11 01"));
	CHECK(get_lan(5) == CC_OK && answer_is("11 525400123456"));
	CHECK(get_lan(6) == CC_OK && answer_is("11 ffffff00"));
	CHECK(get_lan(7) == CC_OK && answer_is("11 40 40 10"));
	CHECK(get_lan(8) == CC_OK && answer_is("11 6f02"));
	CHECK(get_lan(9) == CC_PARAM_NOT_SUPPORTED);
	CHECK(get_lan(10) == CC_OK && answer_is("11 00"));
	CHECK(get_lan(11) == CC_OK && answer_is("11 00"));
	CHECK(get_lan(12) == CC_OK && answer_is("11 00000000"));
	CHECK(get_lan(13) == CC_OK && answer_is("11 000000000000"));
	CHECK(get_lan(14) == CC_OK && answer_is("11 00000000"));
	CHECK(get_lan(15) == CC_OK && answer_is("11 000000000000"));
	CHECK(get_lan(16) == CC_OK && answer_is("11 7075626c6963 000000000000000000000000"));
	CHECK(get_lan(17) == CC_OK && answer_is("11 00"));
	CHECK(get_lan(18) == CC_OK && answer_is("11 00 000000"));
	CHECK(get_lan(19) == CC_OK && answer_is("11 00 00 00 00000000 000000000000"));
	CHECK(RUN(0x0c, 0x02, 0x01, 18, 0x01, 0x00) == CC_PARAM_OUT_OF_RANGE);
	CHECK(RUN(0x0c, 0x02, 0x01, 19, 0x01, 0x00) == CC_PARAM_OUT_OF_RANGE);
	CHECK(get_lan(20) == CC_OK && answer_is("11 0000"));
	CHECK(get_lan(21) == CC_OK && answer_is("11 00"));
	CHECK(get_lan(22) == CC_OK && answer_is("11 02"));
	CHECK(get_lan(23) == CC_OK && answer_is("11 00 03 11"));
	CHECK(get_lan(24) == CC_OK && answer_is("11 00 4444444444444444"));
	CHECK(get_lan(25) == CC_PARAM_NOT_SUPPORTED);
	CHECK(get_lan(26) == CC_PARAM_NOT_SUPPORTED);
	CHECK(get_lan(0xc0) == CC_PARAM_NOT_SUPPORTED);
	/* revision only, current channel */
	CHECK(RUN(0x0c, 0x02, 0x81, 0x03, 0x00, 0x00) == CC_OK && answer_is("11"));
	CHECK(RUN(0x0c, 0x02, 0x0e, 0x04, 0x00, 0x00) == CC_OK && answer_is("11 01"));
	CHECK(RUN(0x0c, 0x02, 0x02, 0x03, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x0c, 0x02, 0x00, 0x03, 0x00, 0x00) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x0c, 0x02, 0x01, 0x03, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0c, 0x02, 0x01, 0x03, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);

	/* the weak v1.5 auth types show only when configured */
	ipmi.cfg.allow_authnone = true;
	ipmi.cfg.allow_straight = true;
	CHECK(get_lan(1) == CC_OK && answer_is("11 15"));
	CHECK(get_lan(2) == CC_OK && answer_is("11 15 15 15 15 00"));
	ipmi.cfg.port = 6230;
	CHECK(get_lan(8) == CC_OK && answer_is("11 5618"));
	ipmi.cfg.prefix = 0;
	CHECK(get_lan(6) == CC_OK && answer_is("11 00000000"));
	ipmi.cfg.prefix = 32;
	CHECK(get_lan(6) == CC_OK && answer_is("11 ffffffff"));
	ipmi.cfg.prefix = 17;
	CHECK(get_lan(6) == CC_OK && answer_is("11 ffff8000"));
	/* an IPv6 BMC has no IPv4 address */
	ipmi.cfg.addr.family = AF_INET6;
	memset(ipmi.cfg.addr.bytes, 0xfd, 16);
	CHECK(get_lan(3) == CC_OK && answer_is("11 00000000"));
	CHECK(get_lan(6) == CC_OK && answer_is("11 00000000"));
}

static void test_lan_print(void)
{
	/* the parameters "ipmitool lan print 1" asks for, in its order */
	static const uint8_t asked[] = {0,  1,	2,  4,	3,  6,	5,  16, 7,  10, 11,
					12, 13, 14, 15, 20, 21, 22, 23, 24, 26};
	size_t i;
	uint8_t cc;
	int bad = 0;

	reset();
	CHECK(RUN(0x06, 0x42, 0x01) == CC_OK && rs.data[1] == 0x04); /* is a LAN channel */
	for (i = 0; i < sizeof(asked); i++) {
		cc = get_lan(asked[i]);
		if (cc != CC_OK && cc != CC_PARAM_NOT_SUPPORTED)
			bad++;
		if (cc == CC_OK && (rs.len < 2 || rs.data[0] != 0x11))
			bad++;
	}
	CHECK(bad == 0);
	/* the cipher suite list it prints: count, then data[1..count] */
	CHECK(get_lan(23) == CC_OK && rs.len - 1 <= 17 && rs.len == 2u + sizeof(fake_suites));
	CHECK(get_lan(24) == CC_OK && rs.len - 1 == 9);
}

static void test_lan_set(void)
{
	reset();
	/* ipmitool's lock around "lan set": lock, commit, unlock */
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00, 0x01) == CC_OK);
	CHECK(get_lan(0) == CC_OK && answer_is("11 01"));
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00, 0x01) == 0x81);
	CHECK(RUN(0x0c, 0x01, 0x0e, 0x00, 0x02) == CC_OK);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00, 0x00) == CC_OK);
	CHECK(get_lan(0) == CC_OK && answer_is("11 00"));
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00, 0x03) == CC_INVALID_DATA_FIELD);
	/* everything else is read-only, or unknown */
	CHECK(RUN(0x0c, 0x01, 0x01, 0x03, 0x0a, 0x00, 0x00, 0x01) == 0x82);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x04, 0x02) == 0x82);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x18, 0x00) == 0x82);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x09, 0x98, 0x02) == CC_PARAM_NOT_SUPPORTED);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x63, 0x00) == CC_PARAM_NOT_SUPPORTED);
	CHECK(get_lan(3) == CC_OK && answer_is("11 0a00000b"));
	/* lengths and channels */
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0c, 0x01, 0x01, 0x00, 0x01, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0c, 0x01, 0x01) == CC_REQ_LEN_INVALID);
	CHECK(RUN0(0x0c, 0x01) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0c, 0x01, 0x05, 0x00, 0x01) == CC_INVALID_DATA_FIELD);
	CHECK(ipmi.set_in_progress_lan == 0);
}

/* ---- storage ---- */

static void test_sel(void)
{
	uint32_t t;
	time_t now;

	reset();
	CHECK(RUN0(0x0a, 0x40) == CC_OK && answer_is("51 0000 0000 ffffffff ffffffff 02"));
	CHECK(RUN(0x0a, 0x40, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN0(0x0a, 0x42) == CC_OK && answer_is("0100"));
	CHECK(RUN0(0x0a, 0x42) == CC_OK && answer_is("0200"));
	CHECK(RUN(0x0a, 0x42, 0x00) == CC_REQ_LEN_INVALID);
	ipmi.sel_reservation = 0xffff; /* never 0 */
	CHECK(RUN0(0x0a, 0x42) == CC_OK && answer_is("0100"));

	CHECK(RUN(0x0a, 0x43, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff) == CC_NOT_PRESENT);
	CHECK(RUN(0x0a, 0x43, 0x00, 0x00, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);

	/* "sel clear": reserve, then clear with 'CLR' AAh, then poll with 00h */
	CHECK(RUN(0x0a, 0x47, 0x01, 0x00, 'C', 'L', 'R', 0xaa) == CC_OK && answer_is("01"));
	CHECK(RUN(0x0a, 0x47, 0x01, 0x00, 'C', 'L', 'R', 0x00) == CC_OK && answer_is("01"));
	CHECK(RUN(0x0a, 0x47, 0x02, 0x00, 'C', 'L', 'R', 0xaa) == CC_INVALID_RESERVATION);
	CHECK(RUN(0x0a, 0x47, 0x01, 0x00, 'C', 'L', 'X', 0xaa) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x0a, 0x47, 0x01, 0x00, 'C', 'L', 'R', 0x55) == CC_INVALID_DATA_FIELD);
	CHECK(RUN(0x0a, 0x47, 0x01, 0x00, 'C', 'L', 'R') == CC_REQ_LEN_INVALID);
	ipmi.sel_reservation = 0;
	CHECK(RUN(0x0a, 0x47, 0x00, 0x00, 'C', 'L', 'R', 0xaa) == CC_INVALID_RESERVATION);

	now = time(NULL);
	CHECK(RUN0(0x0a, 0x48) == CC_OK && rs.len == 4);
	t = get_le32(rs.data);
	CHECK(t + 2 >= (uint32_t)now && t <= (uint32_t)now + 2);
	CHECK(RUN(0x0a, 0x48, 0x00) == CC_REQ_LEN_INVALID);
}

static void test_sdr(void)
{
	reset();
	CHECK(RUN0(0x0a, 0x20) == CC_OK && answer_is("51 0100 0000 ffffffff ffffffff 02"));
	CHECK(RUN(0x0a, 0x20, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN0(0x0a, 0x22) == CC_OK && answer_is("0100"));
	CHECK(RUN(0x0a, 0x22, 0x00) == CC_REQ_LEN_INVALID);
	/* ipmitool's first Get SDR: record 0, header only; next id FFFFh */
	CHECK(RUN(0x0a, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05) == CC_OK &&
	      answer_is("ffff 0100 51 12 11"));
	/* the rest of the MC locator: slave address 20h, ..., ID string */
	CHECK(RUN(0x0a, 0x23, 0x01, 0x00, 0x01, 0x00, 0x05, 0xff) == CC_OK && rs.len == 2 + 17 &&
	      rs.data[2] == 0x20 && rs.data[9] == 0x06);
	/* partial read with a stale reservation */
	CHECK(RUN(0x0a, 0x23, 0x07, 0x00, 0x01, 0x00, 0x05, 0xff) == CC_INVALID_RESERVATION);
	CHECK(RUN(0x0a, 0x23, 0x01, 0x00, 0x02, 0x00, 0x00, 0xff) == CC_NOT_PRESENT);
	CHECK(RUN(0x0a, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
}

/* Read the whole FRU image the way ipmitool does, in chunks. */
static size_t read_fru_image(uint8_t *img, size_t size)
{
	size_t total, off = 0;

	if (RUN(0x0a, 0x10, 0x00) != CC_OK || rs.len != 3 || rs.data[2] != 0)
		return 0;
	total = get_le16(rs.data);
	if (total > size)
		return 0;
	while (off < total) {
		if (RUN(0x0a, 0x11, 0x00, (uint8_t)off, (uint8_t)(off >> 8), 0x20) != CC_OK)
			return 0;
		if (rs.len < 2 || rs.data[0] == 0 || rs.len != 1u + rs.data[0])
			return 0;
		memcpy(img + off, rs.data + 1, rs.data[0]);
		off += rs.data[0];
	}
	return total;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Walk the product area's fields into names[] (NUL-terminated). */
static int product_fields(const uint8_t *area, size_t len, char names[8][64])
{
	size_t off = 3, n;
	int i = 0;

	while (off < len && area[off] != 0xc1 && i < 8) {
		if ((area[off] & 0xc0) != 0xc0)
			return -1;
		n = area[off] & 0x3f;
		if (off + 1 + n > len)
			return -1;
		memcpy(names[i], area + off + 1, n);
		names[i][n] = 0;
		off += 1 + n;
		i++;
	}
	return off < len && area[off] == 0xc1 ? i : -1;
}

static void check_fru(const char *node, const char *want_name)
{
	uint8_t img[256];
	char names[8][64];
	size_t size, plen;
	const uint8_t *area;

	reset();
	snprintf(ipmi.cfg.node, sizeof(ipmi.cfg.node), "%s", node);
	size = read_fru_image(img, sizeof(img));
	CHECK(size >= 16 && size % 8 == 0);
	if (size < 16)
		return;
	/* common header: version 1, only a product area, at offset 8 */
	CHECK(img[0] == 0x01 && img[1] == 0 && img[2] == 0 && img[3] == 0);
	CHECK(img[4] == 1 && img[5] == 0 && sum(img, 8) == 0);
	area = img + 8;
	plen = (size_t)area[1] * 8;
	CHECK(area[0] == 0x01 && plen == size - 8 && area[2] == 0);
	CHECK(sum(area, plen) == 0);
	CHECK(product_fields(area, plen, names) == 7);
	CHECK(strcmp(names[0], "vbmc") == 0);
	CHECK(strcmp(names[1], want_name) == 0);
	CHECK(strcmp(names[2], "") == 0 && strcmp(names[3], "") == 0);
	CHECK(strcmp(names[4], "a123456789abcdef") == 0); /* serial: GUID bytes 0-7 */
}

static void test_fru(void)
{
	char long_name[NODE_NAME_MAX];

	check_fru("node-0", "node-0");
	check_fru("n", "n "); /* C1h would be the end marker */
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	check_fru(long_name, long_name); /* 63: the longest a field can be */
	check_fru("", "");

	reset();
	CHECK(RUN(0x0a, 0x10, 0x01) == CC_NOT_PRESENT);
	CHECK(RUN0(0x0a, 0x10) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0a, 0x10, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0a, 0x10, 0x00) == CC_OK);
	/* header 8, area 3 + 5 + 7 + 1 + 1 + 17 + 1 + 1 + end 1 + sum 1, padded to 40 */
	CHECK(get_le16(rs.data) == 48);
	/* reads: capped at 32, cut at the end, refused past it */
	CHECK(RUN(0x0a, 0x11, 0x00, 0x00, 0x00, 0xff) == CC_OK && rs.data[0] == 32);
	CHECK(rs.len == 33);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x2c, 0x00, 0x10) == CC_OK && rs.data[0] == 4);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x2f, 0x00, 0x01) == CC_OK && rs.data[0] == 1);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x30, 0x00, 0x01) == CC_PARAM_OUT_OF_RANGE);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x00, 0x01, 0x01) == CC_PARAM_OUT_OF_RANGE);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x00, 0x00, 0x00) == CC_OK && answer_is("00"));
	CHECK(RUN(0x0a, 0x11, 0x01, 0x00, 0x00, 0x08) == CC_NOT_PRESENT);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x00, 0x00) == CC_REQ_LEN_INVALID);
	CHECK(RUN(0x0a, 0x11, 0x00, 0x00, 0x00, 0x08, 0x00) == CC_REQ_LEN_INVALID);
}

int main(void)
{
	test_tables();
	test_resp_helpers();
	test_app_identity();
	test_app_channel();
	test_app_users();
	test_app_sysinfo();
	test_chassis_status();
	test_chassis_control_actions();
	test_chassis_control_results();
	test_chassis_power_event();
	test_chassis_identify();
	test_boot_ipmitool();
	test_boot_ironic_pyghmi();
	test_boot_freeipmi();
	test_boot_other_writers();
	test_boot_params();
	test_boot_errors();
	test_lan_get();
	test_lan_print();
	test_lan_set();
	test_sel();
	test_sdr();
	test_fru();
	return test_done();
}
