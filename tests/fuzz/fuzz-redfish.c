/* Fuzz the Redfish engine (worker/redfish/) through rf_handle(), the same
 * request layer the HTTPS server uses, with a fake clock, fake random
 * bytes, a fake power core and a fake QMP.
 *
 * Input: byte 0 picks what the rest is fed to, byte 1 is flags, the rest
 * is the payload:
 *   0  PATCH the system's body           5  a path (GET, or the method in flags)
 *   1  POST ComputerSystem.Reset body    6  the Authorization header
 *   2  POST Chassis.Reset body           7  the X-Auth-Token header
 *   3  POST Sessions (login) body        8  the If-Match header of a boot PATCH
 *   4  DELETE a session, then the body   9  QMP answers for the facts, one JSON
 *      as a session path                    text per line, then GETs
 *  10  PATCH SessionService body, then a session idle 40 s is used
 * flags: bits 0-2 power result, bit 3 answer power later, bit 4 cancel
 * before that answer, bits 5-6 credentials (admin, operator, readonly,
 * none), bit 7 an ETag-shaped If-Match. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/redfish/internal.h"

static uint64_t clock_ms = 1000;
static uint8_t rng;
static enum power_state pstate = POWER_STATE_ON;
static struct boot_state boot;
static uint8_t flags;
static rf_power_cb held_cb;
static void *held_arg;
static size_t answers;

struct ask {
	qmp_reply_cb cb;
	void *arg;
};
static struct ask asks[16];
static size_t n_asks;

static uint64_t f_now(void *arg)
{
	(void)arg;
	return clock_ms;
}

static int f_random(void *arg, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)arg;
	for (size_t i = 0; i < len; i++)
		p[i] = rng++;
	return 0;
}

static enum power_state f_state(void *arg)
{
	(void)arg;
	return pstate;
}

static void f_power(void *arg, enum power_action a, rf_power_cb cb, void *cbarg)
{
	enum power_result r = (enum power_result)(flags & 7);

	(void)arg;
	if (r > POWER_E_BUSY)
		r = POWER_OK;
	if (flags & 8) {
		held_cb = cb;
		held_arg = cbarg;
		return;
	}
	pstate = a == POWER_OFF ? POWER_STATE_OFF : POWER_STATE_ON;
	cb(cbarg, r, "fuzz");
}

static struct boot_state *f_boot(void *arg)
{
	(void)arg;
	return &boot;
}

static void f_boot_changed(void *arg)
{
	(void)arg;
}

static int f_qmp(void *arg, const char *cmd, json_t *args, qmp_reply_cb cb, void *cbarg)
{
	(void)arg;
	(void)cmd;
	json_decref(args);
	if (n_asks == sizeof(asks) / sizeof(asks[0]))
		return -1;
	asks[n_asks++] = (struct ask){cb, cbarg};
	return 0;
}

static void f_log(void *arg, int prio, const char *text)
{
	(void)arg;
	(void)prio;
	(void)text;
}

static const struct rf_ops ops = {f_now,  f_random,	  f_state, f_power,
				  f_boot, f_boot_changed, f_qmp,   f_log};

static void on_done(void *arg, const struct rf_response *res)
{
	(void)arg;
	answers += res->body_len + (size_t)res->status;
}

/* "admin:password", "op:operator", "ro:readonly" */
static const char *const basic[] = {
    "Basic YWRtaW46cGFzc3dvcmQ=", "Basic b3A6b3BlcmF0b3I=", "Basic cm86cmVhZG9ubHk=", NULL};

static struct rf *make(void)
{
	struct rf_config c = {.redfish_port = 443, .ipmi_port = 623};
	static const char *const users[][2] = {
	    {"admin", "password"}, {"op", "operator"}, {"ro", "readonly"}};

	strcpy(c.node, "fuzz");
	for (int i = 0; i < 3; i++) {
		struct rf_user *u = &c.users[c.n_users++];
		strcpy(u->name, users[i][0]);
		memcpy(u->password, users[i][1], strlen(users[i][1]));
		u->pwlen = (uint8_t)strlen(users[i][1]);
		u->role = (enum rf_role)(4 - i);
	}
	return rf_new(&c, &ops, NULL);
}

/* One request; a held power answer is given (or cancelled first). */
static void submit(struct rf *rf, struct rf_request *rq)
{
	struct rf_call *c;

	held_cb = NULL;
	rq->client = "192.0.2.1";
	c = rf_handle(rf, rq, on_done, NULL);
	if (!c)
		return;
	if (flags & 16)
		rf_call_cancel(c);
	if (held_cb)
		held_cb(held_arg, (enum power_result)(flags & 7) % 6, "late");
	held_cb = NULL;
	clock_ms += 10;
}

static char *text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static const char *method_of(uint8_t f)
{
	static const char *const m[] = {"GET", "PATCH", "POST", "DELETE", "HEAD", "PUT", "X", ""};

	return m[(f >> 5) & 7];
}

/* Login as admin; the session's path in loc, its token in tok. */
static void login(struct rf *rf, char *loc, char *tok)
{
	static const char body[] = "{\"UserName\": \"admin\", \"Password\": \"password\"}";
	struct rf_request rq = {.method = "POST",
				.path = RF_SESSIONS,
				.body = (const uint8_t *)body,
				.body_len = sizeof(body) - 1};
	struct rf_session *s;

	submit(rf, &rq);
	loc[0] = tok[0] = '\0';
	for (size_t i = 0; i < RF_MAX_SESSIONS; i++) {
		s = &rf->sessions[i];
		if (s->used) {
			snprintf(loc, 128, RF_SESSIONS "/%s", s->id);
			snprintf(tok, 80, "%s", s->token);
		}
	}
}

/* Target 9: each line is QMP's answer to the next question. */
static void facts(struct rf *rf, const uint8_t *data, size_t size)
{
	static const char *const paths[] = {RF_SYSTEM, RF_SYSTEM "/EthernetInterfaces",
					    RF_SYSTEM "/EthernetInterfaces/NIC.1"};
	size_t next = 0;

	n_asks = 0;
	rf_qmp_connected(rf);
	while (next < n_asks) {
		const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
		size_t len = nl ? (size_t)(nl - data) : size;
		json_t *j = json_loadb((const char *)data, len, JSON_DECODE_ANY, NULL);
		struct ask a = asks[next++];
		a.cb(a.arg, j, j ? NULL : "fuzz error");
		json_decref(j);
		data += nl ? len + 1 : len;
		size -= nl ? len + 1 : len;
	}
	for (size_t i = 0; i < 3; i++) {
		struct rf_request rq = {
		    .method = "GET", .path = paths[i], .authorization = basic[0]};
		submit(rf, &rq);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {RF_SYSTEM, RF_SYSTEM "/Actions/ComputerSystem.Reset",
					    RF_CHASSIS "/Actions/Chassis.Reset", RF_SESSIONS};
	static const char *const methods[] = {"PATCH", "POST", "POST", "POST"};
	struct rf_request rq = {0};
	char loc[128], tok[80], etag[32];
	struct rf *rf;
	char *payload;
	uint8_t target;

	if (size < 2)
		return 0;
	target = data[0] % 11;
	flags = data[1];
	payload = text(data + 2, size - 2);
	rng = 1;
	memset(&boot, 0, sizeof(boot));
	pstate = (flags & 64) ? POWER_STATE_OFF : POWER_STATE_ON;
	rf = make();
	rq.authorization = basic[(flags >> 5) & 3];
	if (flags & 128) {
		rf_system_etag(rf, etag);
		rq.if_match = etag;
	}
	if (target < 4) {
		rq.method = methods[target];
		rq.path = paths[target];
		rq.body = data + 2;
		rq.body_len = size - 2;
		submit(rf, &rq);
	} else if (target == 4) {
		login(rf, loc, tok);
		rq = (struct rf_request){.method = "DELETE", .path = loc, .x_auth_token = tok};
		submit(rf, &rq);
		rq.path = payload;
		submit(rf, &rq);
	} else if (target == 5) {
		rq.method = method_of(flags);
		rq.path = payload;
		rq.body = data + 2;
		rq.body_len = size - 2;
		submit(rf, &rq);
	} else if (target == 6 || target == 7) {
		login(rf, loc, tok);
		rq = (struct rf_request){.method = "GET", .path = RF_SYSTEM};
		if (target == 6)
			rq.authorization = payload;
		else
			rq.x_auth_token = payload;
		submit(rf, &rq);
	} else if (target == 8) {
		static const char body[] = "{\"Boot\": {\"BootSourceOverrideTarget\": \"Cd\"}}";
		rq = (struct rf_request){.method = "PATCH",
					 .path = RF_SYSTEM,
					 .authorization = basic[0],
					 .if_match = payload,
					 .body = (const uint8_t *)body,
					 .body_len = sizeof(body) - 1};
		submit(rf, &rq);
	} else if (target == 9) {
		facts(rf, data + 2, size - 2);
	} else {
		rq.method = "PATCH";
		rq.path = RF_ROOT "/SessionService";
		rq.body = data + 2;
		rq.body_len = size - 2;
		submit(rf, &rq);
		/* then a session, in case the timeout changed */
		login(rf, loc, tok);
		clock_ms += 40 * 1000;
		rq = (struct rf_request){.method = "GET", .path = RF_SYSTEM, .x_auth_token = tok};
		submit(rf, &rq);
	}
	free(payload);
	rf_free(rf);
	return 0;
}
