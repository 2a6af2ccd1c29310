/*
 * Unit tests for the Redfish engine (worker/redfish/): requests go straight
 * to rf_handle() with fake ops — a clock the test moves, counting "random"
 * bytes, a power core that answers at once or when told, a boot state in
 * memory, and a QMP the test answers by hand — and no HTTP at all.
 *
 * Checked: the required properties of every resource, the headers of every
 * answer, authentication (none, wrong, right; Basic and session tokens;
 * expiry; the failed-login brake), roles, every error path with its Base
 * message, the boot PATCH with all its enums, If-Match and the IPMI-shared
 * state, the ResetType -> power action mapping with every power result,
 * answers that come later or never (client gone), and the QMP facts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/redfish/internal.h"
#include "tap.h"

/* ---- fake ops ---- */

struct qmp_ask {
	char cmd[32];
	char path[160];
	qmp_reply_cb cb;
	void *arg;
	bool answered;
};

static struct {
	uint64_t now;
	uint8_t rnd;
	enum power_state state;
	bool defer;		  /* keep the power callback for later */
	enum power_result result; /* what power() answers */
	const char *detail;
	int calls;
	enum power_action action;
	rf_power_cb cb;
	void *cbarg;
	struct boot_state boot;
	int boot_changed;
	struct qmp_ask asks[32];
	size_t n_asks;
	bool qmp_down;
	char log[512];
	int logs;
} F;

static uint64_t f_now(void *arg)
{
	(void)arg;
	return F.now;
}

static int f_random(void *arg, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)arg;
	for (size_t i = 0; i < len; i++)
		p[i] = F.rnd++;
	return 0;
}

static enum power_state f_state(void *arg)
{
	(void)arg;
	return F.state;
}

static void f_power(void *arg, enum power_action a, rf_power_cb cb, void *cbarg)
{
	(void)arg;
	F.calls++;
	F.action = a;
	if (F.defer) {
		F.cb = cb;
		F.cbarg = cbarg;
		return;
	}
	cb(cbarg, F.result, F.detail);
}

static struct boot_state *f_boot(void *arg)
{
	(void)arg;
	return &F.boot;
}

static void f_boot_changed(void *arg)
{
	(void)arg;
	F.boot_changed++;
}

static int f_qmp(void *arg, const char *cmd, json_t *args, qmp_reply_cb cb, void *cbarg)
{
	struct qmp_ask *q;

	(void)arg;
	if (F.qmp_down || F.n_asks == 32) {
		json_decref(args);
		return -107;
	}
	q = &F.asks[F.n_asks++];
	snprintf(q->cmd, sizeof(q->cmd), "%s", cmd);
	snprintf(q->path, sizeof(q->path), "%s",
		 json_string_value(json_object_get(args, "path")) ?: "");
	q->cb = cb;
	q->arg = cbarg;
	q->answered = false;
	json_decref(args);
	return 0;
}

static void f_log(void *arg, int prio, const char *text)
{
	(void)arg;
	(void)prio;
	snprintf(F.log, sizeof(F.log), "%s", text);
	F.logs++;
}

static const struct rf_ops ops = {f_now,  f_random,	  f_state, f_power,
				  f_boot, f_boot_changed, f_qmp,   f_log};

/* ---- the service under test ---- */

static struct rf *RF;

static void add_user(struct rf_config *c, const char *name, const char *pw, enum rf_role role)
{
	struct rf_user *u = &c->users[c->n_users++];

	snprintf(u->name, sizeof(u->name), "%s", name);
	memcpy(u->password, pw, strlen(pw));
	u->pwlen = (uint8_t)strlen(pw);
	u->role = role;
}

static void setup(void)
{
	struct rf_config c = {.redfish_port = 443, .ipmi_port = 623};

	rf_free(RF);
	memset(&F, 0, sizeof(F));
	F.now = 1000000;
	F.state = POWER_STATE_ON;
	snprintf(c.node, sizeof(c.node), "node-1");
	for (int i = 0; i < 16; i++)
		c.guid[i] = (uint8_t)(0x10 + i);
	add_user(&c, "admin", "adminpw", RF_ROLE_ADMIN);
	add_user(&c, "op", "operatorpw", RF_ROLE_OPERATOR);
	add_user(&c, "ro", "readonlypw", RF_ROLE_READONLY);
	RF = rf_new(&c, &ops, NULL);
}

/* ---- requests and answers ---- */

static struct {
	bool done;
	int status;
	size_t n_headers;
	char names[RF_MAX_HEADERS][32];
	char values[RF_MAX_HEADERS][RF_HEADER_VALUE_MAX];
	char content_type[64];
	char *text;
	json_t *json;
} R;

static void reset_answer(void)
{
	free(R.text);
	json_decref(R.json);
	memset(&R, 0, sizeof(R));
}

static void on_done(void *arg, const struct rf_response *res)
{
	(void)arg;
	reset_answer();
	R.done = true;
	R.status = res->status;
	R.n_headers = res->n_headers;
	for (size_t i = 0; i < res->n_headers; i++) {
		snprintf(R.names[i], sizeof(R.names[i]), "%s", res->headers[i].name);
		snprintf(R.values[i], sizeof(R.values[i]), "%s", res->headers[i].value);
	}
	snprintf(R.content_type, sizeof(R.content_type), "%s",
		 res->content_type ? res->content_type : "");
	if (res->body) {
		R.text = strndup(res->body, res->body_len);
		R.json = json_loadb(res->body, res->body_len, 0, NULL);
	}
}

static const char *hdr(const char *name)
{
	for (size_t i = 0; i < R.n_headers; i++)
		if (!strcasecmp(R.names[i], name))
			return R.values[i];
	return NULL;
}

static void b64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(uint8_t)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)(uint8_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint8_t)in[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

struct req_opts {
	const char *user, *pw; /* Basic */
	const char *token;
	const char *if_match;
	const char *odata_version;
	const char *client;
	const char *raw_auth;
	size_t body_len; /* 0: strlen(body) */
};

/* Returns the pending call (NULL if answered at once). */
static struct rf_call *request_opts(const char *method, const char *path, const char *body,
				    const struct req_opts *o)
{
	char userpass[128], auth[200];
	struct rf_request rq = {.method = method, .path = path, .client = "192.0.2.1"};

	reset_answer();
	if (o->user) {
		snprintf(userpass, sizeof(userpass), "%s:%s", o->user, o->pw ? o->pw : "");
		strcpy(auth, "Basic ");
		b64(userpass, auth + 6);
		rq.authorization = auth;
	}
	if (o->raw_auth)
		rq.authorization = o->raw_auth;
	rq.x_auth_token = o->token;
	rq.if_match = o->if_match;
	rq.odata_version = o->odata_version;
	if (o->client)
		rq.client = o->client;
	if (body) {
		rq.body = (const uint8_t *)body;
		rq.body_len = o->body_len ? o->body_len : strlen(body);
	}
	return rf_handle(RF, &rq, on_done, NULL);
}

static int as(const char *user, const char *method, const char *path, const char *body)
{
	static const char *pws[][2] = {
	    {"admin", "adminpw"}, {"op", "operatorpw"}, {"ro", "readonlypw"}};
	struct req_opts o = {.user = user};

	for (size_t i = 0; i < 3 && user; i++)
		if (!strcmp(user, pws[i][0]))
			o.pw = pws[i][1];
	request_opts(method, path, body, &o);
	return R.status;
}

static int get(const char *path)
{
	return as("admin", "GET", path, NULL);
}

static json_t *at(json_t *j, const char *key)
{
	return json_object_get(j, key);
}

static const char *str_at(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static const char *error_code(void)
{
	return str_at(at(R.json, "error"), "code");
}

static const char *ext_id(size_t i)
{
	return str_at(json_array_get(at(at(R.json, "error"), "@Message.ExtendedInfo"), i),
		      "MessageId");
}

static bool is_code(const char *id)
{
	char want[96];

	snprintf(want, sizeof(want), "Base.1.16.0.%s", id);
	return error_code() && !strcmp(error_code(), want);
}

/* ---- shape checks ---- */

static bool versioned_type(const char *t)
{
	/* "#Name.v1_2_3.Name" */
	const char *v = t ? strstr(t, ".v1_") : NULL;

	return t && t[0] == '#' && v && strchr(v + 1, '.');
}

static void check_common_headers(void)
{
	CHECK(hdr("OData-Version") && !strcmp(hdr("OData-Version"), "4.0"));
	CHECK(hdr("Cache-Control") != NULL);
	CHECK(hdr("Link") && strstr(hdr("Link"), "rel=describedby"));
	if (R.status != 204)
		CHECK(R.text != NULL);
}

static void check_resource(const char *path)
{
	CHECK(get(path) == 200);
	check_common_headers();
	CHECK(!strcmp(R.content_type, "application/json; charset=utf-8"));
	CHECK(json_is_object(R.json));
	CHECK(json_is_string(at(R.json, "@odata.id")));
	CHECK(versioned_type(str_at(R.json, "@odata.type")));
	CHECK(json_is_string(at(R.json, "Id")) && strlen(str_at(R.json, "Id")) > 0);
	CHECK(json_is_string(at(R.json, "Name")) && strlen(str_at(R.json, "Name")) > 0);
	CHECK(hdr("Link") && strstr(hdr("Link"), "redfish.dmtf.org/schemas/v1/"));
	if (!versioned_type(str_at(R.json, "@odata.type")))
		fprintf(stderr, "  (%s: type %s)\n", path, str_at(R.json, "@odata.type"));
}

static void check_collection(const char *path, size_t members)
{
	json_t *m;

	CHECK(get(path) == 200);
	check_common_headers();
	CHECK(json_is_string(at(R.json, "@odata.id")));
	CHECK(str_at(R.json, "@odata.type") &&
	      strstr(str_at(R.json, "@odata.type"), "Collection."));
	CHECK(json_is_string(at(R.json, "Name")));
	m = at(R.json, "Members");
	CHECK(json_is_array(m) && json_array_size(m) == members);
	CHECK(json_integer_value(at(R.json, "Members@odata.count")) == (json_int_t)members);
	for (size_t i = 0; i < json_array_size(m); i++)
		CHECK(json_is_string(at(json_array_get(m, i), "@odata.id")));
}

/* Every error: the DSP0266 error body with a Base.1.16.0 message. */
static void check_error_body(int status)
{
	json_t *e = at(R.json, "error"), *info, *m;

	CHECK(R.status == status);
	check_common_headers();
	CHECK(json_is_object(e));
	CHECK(error_code() && !strncmp(error_code(), "Base.1.16.0.", 12));
	CHECK(json_is_string(at(e, "message")));
	info = at(e, "@Message.ExtendedInfo");
	CHECK(json_is_array(info) && json_array_size(info) >= 1);
	m = json_array_get(info, 0);
	CHECK(!strcmp(str_at(m, "@odata.type") ?: "", "#Message.v1_1_1.Message"));
	CHECK(str_at(m, "MessageId") && !strcmp(str_at(m, "MessageId"), error_code()));
	CHECK(json_is_string(at(m, "Message")));
	CHECK(json_is_string(at(m, "MessageSeverity")));
	CHECK(json_is_string(at(m, "Resolution")));
	CHECK(json_is_array(at(m, "MessageArgs")));
}

/* ---- the tests ---- */

static void test_public(void)
{
	setup();
	CHECK(as(NULL, "GET", "/redfish", NULL) == 200);
	CHECK(!strcmp(str_at(R.json, "v1") ?: "", "/redfish/v1/"));
	CHECK(as(NULL, "GET", "/redfish/", NULL) == 200);
	CHECK(as(NULL, "GET", "/redfish/v1/", NULL) == 200);
	CHECK(as(NULL, "GET", "/redfish/v1", NULL) == 200);
	CHECK(!strcmp(str_at(R.json, "UUID") ?: "", "10111213-1415-1617-1819-1a1b1c1d1e1f"));
	CHECK(!strcmp(str_at(R.json, "RedfishVersion") ?: "", "1.17.0"));
	CHECK(!strcmp(str_at(at(R.json, "Systems"), "@odata.id") ?: "", "/redfish/v1/Systems"));
	CHECK(str_at(at(R.json, "Chassis"), "@odata.id"));
	CHECK(str_at(at(R.json, "Managers"), "@odata.id"));
	CHECK(str_at(at(R.json, "SessionService"), "@odata.id"));
	CHECK(str_at(at(R.json, "AccountService"), "@odata.id"));
	CHECK(!strcmp(str_at(at(at(R.json, "Links"), "Sessions"), "@odata.id") ?: "",
		      "/redfish/v1/SessionService/Sessions"));
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "GET, HEAD"));
	CHECK(as(NULL, "GET", "/redfish/v1/odata", NULL) == 200);
	CHECK(json_array_size(at(R.json, "value")) >= 6);
	CHECK(!strcmp(str_at(json_array_get(at(R.json, "value"), 0), "url") ?: "", "/redfish/v1/"));
	CHECK(as(NULL, "GET", "/redfish/v1/$metadata", NULL) == 200);
	CHECK(!strcmp(R.content_type, "application/xml"));
	CHECK(R.text && strstr(R.text, "<edmx:Edmx"));
	CHECK(R.text && strstr(R.text, "Namespace=\"ComputerSystem.v1_20_0\""));
	CHECK(R.text && strstr(R.text, "ServiceRoot_v1.xml"));
	CHECK(R.text && strstr(R.text, "Extends=\"ServiceRoot.v1_15_0.ServiceContainer\""));
	CHECK(as(NULL, "GET", "/redfish/v1/%24metadata", NULL) == 200);
	CHECK(as(NULL, "HEAD", "/redfish/v1/", NULL) == 200);
	/* the public ones do not mind wrong credentials */
	struct req_opts o = {.user = "admin", .pw = "wrong"};
	request_opts("GET", "/redfish/v1/", NULL, &o);
	CHECK(R.status == 200);
}

static void test_resources(void)
{
	setup();
	check_resource("/redfish/v1/");
	check_collection("/redfish/v1/Systems", 1);
	check_collection("/redfish/v1/Systems/", 1);
	check_resource("/redfish/v1/Systems/System.Embedded.1");
	check_resource("/redfish/v1/Systems/System.Embedded.1/");
	check_collection("/redfish/v1/Chassis", 1);
	check_resource("/redfish/v1/Chassis/System.Embedded.1");
	CHECK(!strcmp(str_at(R.json, "ChassisType") ?: "", "Other"));
	CHECK(!strcmp(str_at(R.json, "PowerState") ?: "", "On"));
	CHECK(json_array_size(at(at(R.json, "Links"), "ComputerSystems")) == 1);
	CHECK(json_array_size(at(at(R.json, "Links"), "ManagedBy")) == 1);
	CHECK(json_array_size(at(at(at(R.json, "Actions"), "#Chassis.Reset"),
				 "ResetType@Redfish.AllowableValues")) == 2);
	check_collection("/redfish/v1/Managers", 1);
	check_resource("/redfish/v1/Managers/BMC");
	CHECK(!strcmp(str_at(R.json, "ManagerType") ?: "", "BMC"));
	CHECK(json_is_string(at(R.json, "FirmwareVersion")));
	CHECK(!strcmp(str_at(R.json, "UUID") ?: "", "10111213-1415-1617-1819-1a1b1c1d1e1f"));
	CHECK(json_array_size(at(at(R.json, "Links"), "ManagerForServers")) == 1);
	check_resource("/redfish/v1/Managers/BMC/NetworkProtocol");
	CHECK(json_integer_value(at(at(R.json, "HTTPS"), "Port")) == 443);
	CHECK(json_is_true(at(at(R.json, "HTTPS"), "ProtocolEnabled")));
	CHECK(json_integer_value(at(at(R.json, "IPMI"), "Port")) == 623);
	CHECK(json_is_true(at(at(R.json, "IPMI"), "ProtocolEnabled")));
	check_resource("/redfish/v1/SessionService");
	CHECK(json_integer_value(at(R.json, "SessionTimeout")) == 600);
	check_collection("/redfish/v1/SessionService/Sessions", 0);
	check_resource("/redfish/v1/AccountService");
	check_collection("/redfish/v1/AccountService/Accounts", 3);
	check_resource("/redfish/v1/AccountService/Accounts/1");
	CHECK(!strcmp(str_at(R.json, "UserName") ?: "", "admin"));
	CHECK(!strcmp(str_at(R.json, "RoleId") ?: "", "Administrator"));
	CHECK(at(R.json, "Password") == NULL);
	CHECK(R.text && !strstr(R.text, "adminpw"));
	check_resource("/redfish/v1/AccountService/Accounts/3");
	CHECK(!strcmp(str_at(R.json, "RoleId") ?: "", "ReadOnly"));
	check_collection("/redfish/v1/AccountService/Roles", 3);
	check_resource("/redfish/v1/AccountService/Roles/Administrator");
	CHECK(json_array_size(at(R.json, "AssignedPrivileges")) == 5);
	check_resource("/redfish/v1/AccountService/Roles/Operator");
	CHECK(json_array_size(at(R.json, "AssignedPrivileges")) == 3);
	check_resource("/redfish/v1/AccountService/Roles/ReadOnly");
	CHECK(!strcmp(str_at(R.json, "RoleId") ?: "", "ReadOnly"));
	check_collection("/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces", 0);
}

static void test_system_body(void)
{
	json_t *boot, *reset;

	setup();
	CHECK(get("/redfish/v1/Systems/System.Embedded.1") == 200);
	CHECK(hdr("ETag") && !strncmp(hdr("ETag"), "W/\"", 3));
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "GET, PATCH, HEAD"));
	CHECK(!strcmp(str_at(R.json, "PowerState") ?: "", "On"));
	CHECK(!strcmp(str_at(at(R.json, "Status"), "State") ?: "", "Enabled"));
	CHECK(!strcmp(str_at(R.json, "SystemType") ?: "", "Virtual"));
	/* nothing from QEMU yet: nothing made up */
	CHECK(at(R.json, "UUID") == NULL);
	CHECK(at(R.json, "MemorySummary") == NULL);
	CHECK(at(R.json, "ProcessorSummary") == NULL);
	boot = at(R.json, "Boot");
	CHECK(!strcmp(str_at(boot, "BootSourceOverrideTarget") ?: "", "None"));
	CHECK(!strcmp(str_at(boot, "BootSourceOverrideEnabled") ?: "", "Disabled"));
	CHECK(!strcmp(str_at(boot, "BootSourceOverrideMode") ?: "", "Legacy"));
	CHECK(json_array_size(at(boot, "BootSourceOverrideTarget@Redfish.AllowableValues")) == 4);
	reset = at(at(R.json, "Actions"), "#ComputerSystem.Reset");
	CHECK(!strcmp(str_at(reset, "target") ?: "",
		      "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset"));
	CHECK(json_array_size(at(reset, "ResetType@Redfish.AllowableValues")) == 8);
	CHECK(!strcmp(str_at(json_array_get(at(at(R.json, "Links"), "Chassis"), 0), "@odata.id")
			  ?: "",
		      "/redfish/v1/Chassis/System.Embedded.1"));
	CHECK(!strcmp(str_at(json_array_get(at(at(R.json, "Links"), "ManagedBy"), 0), "@odata.id")
			  ?: "",
		      "/redfish/v1/Managers/BMC"));
	/* every power state by its Redfish name; unknown: left out */
	F.state = POWER_STATE_OFF;
	get("/redfish/v1/Systems/System.Embedded.1");
	CHECK(!strcmp(str_at(R.json, "PowerState") ?: "", "Off"));
	F.state = POWER_STATE_POWERING_ON;
	get("/redfish/v1/Systems/System.Embedded.1");
	CHECK(!strcmp(str_at(R.json, "PowerState") ?: "", "PoweringOn"));
	F.state = POWER_STATE_POWERING_OFF;
	get("/redfish/v1/Chassis/System.Embedded.1");
	CHECK(!strcmp(str_at(R.json, "PowerState") ?: "", "PoweringOff"));
	F.state = POWER_STATE_UNKNOWN;
	get("/redfish/v1/Systems/System.Embedded.1");
	CHECK(R.status == 200 && at(R.json, "PowerState") == NULL);
	CHECK(!strcmp(str_at(at(R.json, "Status"), "State") ?: "", "UnavailableOffline"));
}

static void test_auth(void)
{
	struct req_opts o = {0};

	setup();
	/* none */
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	check_error_body(401);
	CHECK(is_code("NoValidSession"));
	CHECK(hdr("WWW-Authenticate") && !strcmp(hdr("WWW-Authenticate"), "Basic realm=\"vbmc\""));
	/* wrong password, unknown user, prefix of the password, longer */
	o = (struct req_opts){.user = "admin", .pw = "wrong", .client = "192.0.2.10"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401 && is_code("NoValidSession"));
	CHECK(F.logs > 0 && strstr(F.log, "admin") && !strstr(F.log, "wrong"));
	o = (struct req_opts){.user = "nobody", .pw = "adminpw", .client = "192.0.2.11"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	o = (struct req_opts){.user = "admin", .pw = "admin", .client = "192.0.2.12"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	o = (struct req_opts){.user = "admin", .pw = "adminpwx", .client = "192.0.2.12"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	/* malformed Basic */
	o = (struct req_opts){.raw_auth = "Basic !!!!", .client = "192.0.2.13"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	o = (struct req_opts){.raw_auth = "Basic YWRtaW4=", .client = "192.0.2.13"}; /* "admin" */
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	o = (struct req_opts){.raw_auth = "Bearer abc", .client = "192.0.2.13"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	/* right, with the scheme in any case */
	CHECK(as("admin", "GET", "/redfish/v1/Systems", NULL) == 200);
	o = (struct req_opts){.raw_auth = "basic YWRtaW46YWRtaW5wdw=="}; /* admin:adminpw */
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 200);
	/* an unknown path is no business of strangers either */
	o = (struct req_opts){0};
	request_opts("GET", "/redfish/v1/Nothing", NULL, &o);
	CHECK(R.status == 401);
	CHECK(get("/redfish/v1/Nothing") == 404);
}

static void login(const char *user, const char *pw, char *token, char *location)
{
	char body[200];
	struct req_opts o = {0};

	snprintf(body, sizeof(body), "{\"UserName\": \"%s\", \"Password\": \"%s\"}", user, pw);
	request_opts("POST", "/redfish/v1/SessionService/Sessions", body, &o);
	token[0] = location[0] = '\0';
	if (hdr("X-Auth-Token"))
		strcpy(token, hdr("X-Auth-Token"));
	if (hdr("Location"))
		strcpy(location, hdr("Location"));
}

/* GET the systems collection after seconds of idling; the status. */
static int get_after(unsigned seconds, struct req_opts *o)
{
	F.now += seconds * 1000ull;
	request_opts("GET", "/redfish/v1/Systems", NULL, o);
	return R.status;
}

static void test_sessions(void)
{
	char token[80], loc[128], token2[80], loc2[128];
	struct req_opts o = {0};

	setup();
	login("op", "operatorpw", token, loc);
	CHECK(R.status == 201);
	CHECK(strlen(token) == 64);
	CHECK(!strncmp(loc, "/redfish/v1/SessionService/Sessions/", 36));
	CHECK(!strcmp(str_at(R.json, "UserName") ?: "", "op"));
	CHECK(!strcmp(str_at(R.json, "@odata.id") ?: "", loc));
	CHECK(versioned_type(str_at(R.json, "@odata.type")));
	CHECK(at(R.json, "Password") == NULL && !strstr(R.text, "operatorpw"));
	CHECK(!strcmp(str_at(R.json, "ClientOriginIPAddress") ?: "", "192.0.2.1"));
	/* the token is the credential */
	o.token = token;
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 200);
	request_opts("GET", loc, NULL, &o);
	CHECK(R.status == 200 && !strcmp(str_at(R.json, "UserName") ?: "", "op"));
	/* a bad token is not rescued by good Basic credentials */
	o = (struct req_opts){.token = "00", .user = "admin", .pw = "adminpw"};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	token[0] ^= 1;
	o = (struct req_opts){.token = token};
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	token[0] ^= 1;
	/* a second user's session: op sees only its own, admin sees both */
	login("ro", "readonlypw", token2, loc2);
	CHECK(R.status == 201 && strcmp(token, token2) != 0 && strcmp(loc, loc2) != 0);
	o = (struct req_opts){.token = token};
	request_opts("GET", "/redfish/v1/SessionService/Sessions", NULL, &o);
	CHECK(json_array_size(at(R.json, "Members")) == 1);
	request_opts("GET", loc2, NULL, &o);
	CHECK(R.status == 404);
	request_opts("DELETE", loc2, NULL, &o);
	CHECK(R.status == 404);
	CHECK(get("/redfish/v1/SessionService/Sessions") == 200);
	CHECK(json_array_size(at(R.json, "Members")) == 2);
	/* logout */
	request_opts("DELETE", loc, NULL, &o);
	CHECK(R.status == 204 && R.text == NULL);
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	/* admin may end another user's session */
	CHECK(as("admin", "DELETE", loc2, NULL) == 204);
	o.token = token2;
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 401);
	/* idle expiry, and use keeps a session alive */
	login("admin", "adminpw", token, loc);
	o.token = token;
	CHECK(get_after(599, &o) == 200);
	CHECK(get_after(599, &o) == 200);
	CHECK(get_after(601, &o) == 401);
	/* bad logins */
	login("admin", "nope", token, loc);
	check_error_body(401);
	CHECK(token[0] == '\0');
	o = (struct req_opts){0};
	request_opts("POST", "/redfish/v1/SessionService/Sessions", "{\"UserName\": \"admin\"}",
		     &o);
	check_error_body(400);
	CHECK(is_code("CreateFailedMissingReqProperties"));
	request_opts("POST", "/redfish/v1/SessionService/Sessions",
		     "{\"UserName\": 1, \"Password\": \"x\"}", &o);
	CHECK(R.status == 400 && is_code("PropertyValueTypeError"));
	request_opts("POST", "/redfish/v1/SessionService/Sessions",
		     "{\"UserName\": \"admin\", \"Password\": \"adminpw\", \"X\": 1}", &o);
	CHECK(R.status == 400 && is_code("PropertyUnknown"));
	request_opts("POST", "/redfish/v1/SessionService/Sessions", "{", &o);
	CHECK(R.status == 400 && is_code("MalformedJSON"));
	request_opts("POST", "/redfish/v1/SessionService/Sessions",
		     "{\"UserName\": \"admin\", \"Password\": \"adminpw\", \"Context\": \"x\"}",
		     &o);
	CHECK(R.status == 201);
	/* the table is bounded: one more is refused, nobody is pushed out */
	setup();
	for (int i = 0; i < RF_MAX_SESSIONS; i++) {
		login("admin", "adminpw", token, loc);
		if (R.status != 201)
			break;
	}
	CHECK(R.status == 201);
	o = (struct req_opts){.token = token};
	login("admin", "adminpw", token2, loc2);
	check_error_body(503);
	CHECK(is_code("SessionLimitExceeded"));
	request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	CHECK(R.status == 200);
}

/* PATCH SessionService: SessionTimeout within the schema's 30..86400 s, by
 * ConfigureManager only; it applies to open sessions at once. */
static void test_session_timeout(void)
{
	static const struct {
		const char *body;
		const char *id;
	} bad[] = {
	    {"{\"SessionTimeout\": 29}", "PropertyValueOutOfRange"},
	    {"{\"SessionTimeout\": 86401}", "PropertyValueOutOfRange"},
	    {"{\"SessionTimeout\": -1}", "PropertyValueOutOfRange"},
	    {"{\"SessionTimeout\": \"60\"}", "PropertyValueTypeError"},
	    {"{\"SessionTimeout\": 60.5}", "PropertyValueTypeError"},
	    {"{\"SessionTimeout\": null}", "PropertyValueTypeError"},
	    {"{\"ServiceEnabled\": false}", "PropertyNotWritable"},
	    {"{\"Timeout\": 60}", "PropertyUnknown"},
	    {"{}", "EmptyJSON"},
	    {"[60]", "MalformedJSON"},
	};
	char token[80], loc[128];
	struct req_opts o = {0};

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(as("admin", "PATCH", "/redfish/v1/SessionService", bad[i].body) == 400);
		check_error_body(400);
		CHECK(is_code(bad[i].id));
	}
	/* a good value next to a bad one changes nothing either */
	CHECK(as("admin", "PATCH", "/redfish/v1/SessionService",
		 "{\"SessionTimeout\": 60, \"Id\": \"x\"}") == 400);
	CHECK(as("op", "PATCH", "/redfish/v1/SessionService", "{\"SessionTimeout\": 60}") == 403);
	CHECK(as("ro", "PATCH", "/redfish/v1/SessionService", "{\"SessionTimeout\": 60}") == 403);
	CHECK(get("/redfish/v1/SessionService") == 200);
	CHECK(json_integer_value(at(R.json, "SessionTimeout")) == RF_SESSION_TIMEOUT_S);
	/* an open session follows the new timeout */
	login("op", "operatorpw", token, loc);
	CHECK(as("admin", "PATCH", "/redfish/v1/SessionService", "{\"SessionTimeout\": 30}") ==
	      200);
	CHECK(json_integer_value(at(R.json, "SessionTimeout")) == 30);
	CHECK(strstr(F.log, "SessionTimeout 600 s -> 30 s by admin"));
	CHECK(get("/redfish/v1/SessionService") == 200);
	CHECK(json_integer_value(at(R.json, "SessionTimeout")) == 30);
	o.token = token;
	CHECK(get_after(29, &o) == 200);
	CHECK(get_after(31, &o) == 401);
	CHECK(as("admin", "PATCH", "/redfish/v1/SessionService",
		 "{\"SessionTimeout\": 86400}") == 200);
	CHECK(json_integer_value(at(R.json, "SessionTimeout")) == 86400);
}

static void test_rate_limit(void)
{
	struct req_opts bad = {.user = "admin", .pw = "x", .client = "198.51.100.7"};
	struct req_opts good = {.user = "admin", .pw = "adminpw", .client = "198.51.100.7"};
	struct req_opts other = {.user = "admin", .pw = "adminpw", .client = "198.51.100.8"};
	char token[80], loc[128];

	setup();
	for (int i = 0; i < 4; i++)
		request_opts("GET", "/redfish/v1/Systems", NULL, &bad);
	request_opts("GET", "/redfish/v1/Systems", NULL, &good);
	CHECK(R.status == 200); /* four failures, then the right one: fine, and forgiven */
	for (int i = 0; i < 5; i++)
		request_opts("GET", "/redfish/v1/Systems", NULL, &bad);
	CHECK(strstr(F.log, "refusing"));
	request_opts("GET", "/redfish/v1/Systems", NULL, &good);
	CHECK(R.status == 401);
	request_opts("GET", "/redfish/v1/Systems", NULL, &other);
	CHECK(R.status == 200);
	/* login through the session service is braked alike (192.0.2.1) */
	for (int i = 0; i < 5; i++)
		login("admin", "x", token, loc);
	login("admin", "adminpw", token, loc);
	CHECK(R.status == 401);
	F.now += 61 * 1000;
	request_opts("GET", "/redfish/v1/Systems", NULL, &good);
	CHECK(R.status == 200);
	login("admin", "adminpw", token, loc);
	CHECK(R.status == 201);
	/* a failure spread beyond the window does not add up */
	for (int i = 0; i < 4; i++)
		request_opts("GET", "/redfish/v1/Systems", NULL, &bad);
	F.now += 61 * 1000;
	request_opts("GET", "/redfish/v1/Systems", NULL, &bad);
	request_opts("GET", "/redfish/v1/Systems", NULL, &good);
	CHECK(R.status == 200);
	/* many clients: the table stays bounded and still works */
	for (int i = 0; i < 3 * RF_MAX_CLIENTS; i++) {
		char addr[32];
		struct req_opts o = {.user = "admin", .pw = "x", .client = addr};
		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		request_opts("GET", "/redfish/v1/Systems", NULL, &o);
	}
	request_opts("GET", "/redfish/v1/Systems", NULL, &other);
	CHECK(R.status == 200);
}

static void test_roles(void)
{
	const char *reset = "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset";
	const char *sys = "/redfish/v1/Systems/System.Embedded.1";

	setup();
	CHECK(as("ro", "GET", sys, NULL) == 200);
	CHECK(as("ro", "POST", reset, "{\"ResetType\": \"On\"}") == 403);
	check_error_body(403);
	CHECK(is_code("InsufficientPrivilege"));
	CHECK(F.calls == 0);
	CHECK(as("ro", "PATCH", sys, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\"}}") == 403);
	CHECK(F.boot.target == BOOT_NONE);
	CHECK(as("ro", "POST", "/redfish/v1/Chassis/System.Embedded.1/Actions/Chassis.Reset",
		 "{\"ResetType\": \"On\"}") == 403);
	CHECK(as("op", "POST", reset, "{\"ResetType\": \"On\"}") == 204);
	CHECK(F.calls == 1);
	CHECK(as("op", "PATCH", sys, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\"}}") == 200);
	CHECK(F.boot.target == BOOT_PXE);
	CHECK(as("admin", "POST", reset, "{\"ResetType\": \"ForceOff\"}") == 204);
	/* accounts: one's own for everyone, the others' for administrators */
	CHECK(as("ro", "GET", "/redfish/v1/AccountService/Accounts/3", NULL) == 200);
	CHECK(as("ro", "GET", "/redfish/v1/AccountService/Accounts/1", NULL) == 403);
	CHECK(as("op", "GET", "/redfish/v1/AccountService/Accounts/1", NULL) == 403);
	CHECK(as("admin", "GET", "/redfish/v1/AccountService/Accounts/2", NULL) == 200);
	CHECK(!strcmp(str_at(R.json, "RoleId") ?: "", "Operator"));
	CHECK(as("ro", "GET", "/redfish/v1/AccountService/Accounts", NULL) == 200);
}

static void test_errors(void)
{
	static const char *const missing[] = {
	    "/redfish/v1/Systems/System.Embedded.2",
	    "/redfish/v1/Systems/1",
	    "/redfish/v1/Chassis/Foo",
	    "/redfish/v1/Managers/iDRAC.Embedded.1",
	    "/redfish/v1/Managers/x/NetworkProtocol",
	    "/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces/NIC.1",
	    "/redfish/v1/Systems/x/EthernetInterfaces",
	    "/redfish/v1/AccountService/Accounts/0",
	    "/redfish/v1/AccountService/Accounts/01",
	    "/redfish/v1/AccountService/Accounts/4",
	    "/redfish/v1/AccountService/Accounts/1x",
	    "/redfish/v1/AccountService/Roles/Root",
	    "/redfish/v1/SessionService/Sessions/abc",
	    "/redfish/v1/Foo",
	    "/redfish/v2",
	    "/redfish/v1//Systems",
	    "/redfish/v1/Systems/%zz",
	    "/redfish/v1/Systems/%00",
	    "",
	    "relative",
	};
	char longpath[2000];

	setup();
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		get(missing[i]);
		check_error_body(404);
		CHECK(is_code("ResourceNotFound"));
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK(get(longpath) == 404);
	/* 405 with Allow, with or without credentials for public paths */
	CHECK(as("admin", "DELETE", "/redfish/v1/Systems", NULL) == 405);
	check_error_body(405);
	CHECK(is_code("OperationNotAllowed"));
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "GET, HEAD"));
	CHECK(as(NULL, "POST", "/redfish/v1/", "{}") == 405);
	CHECK(as(NULL, "DELETE", "/redfish/v1/Systems", NULL) == 401);
	CHECK(as("admin", "PUT", "/redfish/v1/Systems/System.Embedded.1", "{}") == 405);
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "GET, PATCH, HEAD"));
	CHECK(as("admin", "GET",
		 "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset",
		 NULL) == 405);
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "POST"));
	CHECK(as("admin", "BREW", "/redfish/v1/Systems", NULL) == 405);
	CHECK(as("admin", "PUT", "/redfish/v1/SessionService", "{}") == 405);
	CHECK(hdr("Allow") && !strcmp(hdr("Allow"), "GET, PATCH, HEAD"));
	/* 413 before anything is parsed */
	{
		static char big[RF_BODY_MAX + 2];
		struct req_opts o = {.user = "admin", .pw = "adminpw", .body_len = RF_BODY_MAX + 1};
		memset(big, ' ', sizeof(big) - 1);
		request_opts("PATCH", "/redfish/v1/Systems/System.Embedded.1", big, &o);
		check_error_body(413);
		CHECK(is_code("PayloadTooLarge"));
	}
	/* OData-Version we do not speak */
	{
		struct req_opts o = {.user = "admin", .pw = "adminpw", .odata_version = "4.01"};
		request_opts("GET", "/redfish/v1/Systems", NULL, &o);
		check_error_body(412);
		o.odata_version = "4.0";
		request_opts("GET", "/redfish/v1/Systems", NULL, &o);
		CHECK(R.status == 200);
	}
	/* query strings are ignored */
	CHECK(get("/redfish/v1/Systems?$expand=.") == 200);
	CHECK(get("/redfish/v1/Systems/?$top=1") == 200);
	CHECK(R.status == 200 && json_array_size(at(R.json, "Members")) == 1);
}

static const char *sysp = "/redfish/v1/Systems/System.Embedded.1";

static int patch(const char *body)
{
	return as("admin", "PATCH", sysp, body);
}

static void test_boot_patch(void)
{
	static const struct {
		const char *name;
		enum boot_target t;
	} targets[] = {{"None", BOOT_NONE}, {"Pxe", BOOT_PXE}, {"Hdd", BOOT_DISK}, {"Cd", BOOT_CD}};
	static const char *const enabled[] = {"Disabled", "Once", "Continuous"};
	static const char *const modes[] = {"UEFI", "Legacy"};
	char body[256];
	uint32_t gen;

	setup();
	for (size_t t = 0; t < 4; t++)
		for (size_t e = 0; e < 3; e++)
			for (size_t m = 0; m < 2; m++) {
				snprintf(body, sizeof(body),
					 "{\"Boot\": {\"BootSourceOverrideTarget\": \"%s\", "
					 "\"BootSourceOverrideEnabled\": \"%s\", "
					 "\"BootSourceOverrideMode\": \"%s\"}}",
					 targets[t].name, enabled[e], modes[m]);
				CHECK(patch(body) == 200);
				CHECK(F.boot.target == (e == 0 ? BOOT_NONE : targets[t].t));
				if (e && targets[t].t != BOOT_NONE)
					CHECK(F.boot.persistent == (e == 2));
				CHECK(F.boot.efi == (m == 0));
				/* the answer is the resource as it is now */
				json_t *b = at(R.json, "Boot");
				CHECK(!strcmp(str_at(b, "BootSourceOverrideTarget") ?: "",
					      e == 0 ? "None" : targets[t].name));
				CHECK(!strcmp(str_at(b, "BootSourceOverrideEnabled") ?: "",
					      e == 0 || t == 0 ? "Disabled" : enabled[e]));
				CHECK(!strcmp(str_at(b, "BootSourceOverrideMode") ?: "", modes[m]));
				CHECK(hdr("ETag") != NULL);
			}
	/* a fresh target alone starts as Once; Continuous stays when the target changes */
	setup();
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\"}}") == 200);
	CHECK(F.boot.target == BOOT_PXE && !F.boot.persistent && F.boot_changed == 1);
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideEnabled\": \"Continuous\"}}") == 200);
	CHECK(F.boot.target == BOOT_PXE && F.boot.persistent);
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"Hdd\"}}") == 200);
	CHECK(F.boot.target == BOOT_DISK && F.boot.persistent);
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"None\"}}") == 200);
	CHECK(F.boot.target == BOOT_NONE);
	/* a write that changes nothing changes nothing, not even the ETag */
	gen = F.boot.generation;
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"None\"}}") == 200);
	CHECK(F.boot.generation == gen);
	/* what IPMI writes is what Redfish reads */
	F.boot.target = BOOT_CD;
	F.boot.persistent = false;
	F.boot.efi = true;
	F.boot.generation++;
	get(sysp);
	CHECK(!strcmp(str_at(at(R.json, "Boot"), "BootSourceOverrideTarget") ?: "", "Cd"));
	CHECK(!strcmp(str_at(at(R.json, "Boot"), "BootSourceOverrideEnabled") ?: "", "Once"));
	CHECK(!strcmp(str_at(at(R.json, "Boot"), "BootSourceOverrideMode") ?: "", "UEFI"));
	F.boot.target = BOOT_BIOS;
	get(sysp);
	CHECK(!strcmp(str_at(at(R.json, "Boot"), "BootSourceOverrideTarget") ?: "", "BiosSetup"));
	F.boot.target = BOOT_NONE;

	/* refusals leave the state alone */
	setup();
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"BiosSetup\"}}") == 400);
	check_error_body(400);
	CHECK(is_code("PropertyValueNotInList"));
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"pxe\"}}") == 400);
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideEnabled\": \"Always\"}}") == 400);
	CHECK(is_code("PropertyValueNotInList"));
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideMode\": \"EFI\"}}") == 400);
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": 1}}") == 400);
	CHECK(is_code("PropertyValueTypeError"));
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideMode\": null}}") == 400);
	CHECK(is_code("PropertyValueTypeError"));
	CHECK(patch("{\"Boot\": \"Pxe\"}") == 400);
	CHECK(is_code("PropertyValueTypeError"));
	CHECK(patch("{\"Boot\": {\"UefiTargetBootSourceOverride\": \"x\"}}") == 400);
	CHECK(is_code("PropertyUnknown"));
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget@Redfish.AllowableValues\": []}}") ==
	      400);
	CHECK(is_code("PropertyNotWritable"));
	CHECK(patch("{\"AssetTag\": \"x\"}") == 400);
	CHECK(is_code("PropertyUnknown"));
	CHECK(patch("{\"PowerState\": \"Off\"}") == 400);
	CHECK(is_code("PropertyNotWritable"));
	CHECK(patch("{}") == 400);
	CHECK(is_code("EmptyJSON"));
	CHECK(patch("") == 400);
	CHECK(is_code("MalformedJSON"));
	CHECK(patch("[1]") == 400);
	CHECK(is_code("MalformedJSON"));
	CHECK(patch("{\"Boot\": {} , \"Boot\": {}}") == 400);
	CHECK(is_code("MalformedJSON"));
	/* one bad field spoils the whole request, and each is reported */
	CHECK(patch("{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\", "
		    "\"BootSourceOverrideMode\": \"x\", \"Y\": 1}}") == 400);
	CHECK(json_array_size(at(at(R.json, "error"), "@Message.ExtendedInfo")) == 2);
	CHECK(ext_id(1) && strstr(ext_id(1), "PropertyUnknown"));
	CHECK(F.boot.target == BOOT_NONE && F.boot_changed == 0 && F.boot.generation == 0);
	CHECK(as("admin", "PATCH", "/redfish/v1/Systems/Other", "{}") == 404);
}

static void test_if_match(void)
{
	char etag[64], etag2[64], list[200];
	struct req_opts o = {.user = "admin", .pw = "adminpw"};
	const char *body = "{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\"}}";

	setup();
	get(sysp);
	snprintf(etag, sizeof(etag), "%s", hdr("ETag"));
	get(sysp);
	CHECK(!strcmp(etag, hdr("ETag"))); /* stable while nothing changes */
	o.if_match = "W/\"0123456789abcdef\"";
	request_opts("PATCH", sysp, body, &o);
	check_error_body(412);
	CHECK(is_code("PreconditionFailed"));
	CHECK(F.boot.target == BOOT_NONE);
	o.if_match = etag;
	request_opts("PATCH", sysp, body, &o);
	CHECK(R.status == 200 && F.boot.target == BOOT_PXE);
	snprintf(etag2, sizeof(etag2), "%s", hdr("ETag"));
	CHECK(strcmp(etag, etag2) != 0);
	/* the old tag is stale now */
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Cd\"}}", &o);
	CHECK(R.status == 412);
	/* a power change moves the ETag too */
	F.state = POWER_STATE_OFF;
	o.if_match = etag2;
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Cd\"}}", &o);
	CHECK(R.status == 412);
	get(sysp);
	snprintf(etag2, sizeof(etag2), "%s", hdr("ETag"));
	/* the strong form, a list, and * */
	snprintf(list, sizeof(list), "\"x\", %s", etag2 + 2);
	o.if_match = list;
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Cd\"}}", &o);
	CHECK(R.status == 200 && F.boot.target == BOOT_CD);
	o.if_match = "*";
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Hdd\"}}", &o);
	CHECK(R.status == 200 && F.boot.target == BOOT_DISK);
	/* the tag names the state, not its history: the same state again (or
	 * in a new engine, as after a worker restart) has the same tag */
	snprintf(etag2, sizeof(etag2), "%s", hdr("ETag"));
	o.if_match = NULL;
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Cd\"}}", &o);
	CHECK(R.status == 200 && strcmp(hdr("ETag"), etag2) != 0);
	request_opts("PATCH", sysp, "{\"Boot\": {\"BootSourceOverrideTarget\": \"Hdd\"}}", &o);
	CHECK(R.status == 200 && !strcmp(hdr("ETag"), etag2));
	F.boot.generation += 7;
	get(sysp);
	CHECK(!strcmp(hdr("ETag"), etag2));
}

static void test_reset_map(void)
{
	static const struct {
		const char *type;
		enum power_action a;
	} map[] = {
	    {"On", POWER_ON},
	    {"ForceOff", POWER_OFF},
	    {"GracefulShutdown", POWER_SOFT},
	    {"GracefulRestart", POWER_GRACEFUL_RESTART},
	    {"ForceRestart", POWER_RESET},
	    {"PowerCycle", POWER_CYCLE},
	    {"PushPowerButton", POWER_PUSH_BUTTON},
	    {"Nmi", POWER_NMI},
	};
	const char *reset = "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset";
	const char *creset = "/redfish/v1/Chassis/System.Embedded.1/Actions/Chassis.Reset";
	char body[96];

	setup();
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		snprintf(body, sizeof(body), "{\"ResetType\": \"%s\"}", map[i].type);
		F.calls = 0;
		CHECK(as("admin", "POST", reset, body) == 204);
		CHECK(F.calls == 1 && F.action == map[i].a);
		CHECK(R.text == NULL);
		check_common_headers();
		CHECK(strstr(F.log, map[i].type) && strstr(F.log, "admin"));
	}
	/* the chassis: On and ForceOff only */
	F.calls = 0;
	CHECK(as("op", "POST", creset, "{\"ResetType\": \"On\"}") == 204 && F.action == POWER_ON);
	CHECK(as("op", "POST", creset, "{\"ResetType\": \"ForceOff\"}") == 204 &&
	      F.action == POWER_OFF);
	CHECK(as("op", "POST", creset, "{\"ResetType\": \"Nmi\"}") == 400);
	CHECK(is_code("ActionParameterValueNotInList"));
	CHECK(F.calls == 2);
	CHECK(as("op", "POST", "/redfish/v1/Chassis/X/Actions/Chassis.Reset",
		 "{\"ResetType\": \"On\"}") == 404);
	CHECK(as("op", "POST", "/redfish/v1/Systems/X/Actions/ComputerSystem.Reset",
		 "{\"ResetType\": \"On\"}") == 404);

	/* bad requests never reach the power core */
	F.calls = 0;
	CHECK(as("admin", "POST", reset, "{}") == 400);
	check_error_body(400);
	CHECK(is_code("ActionParameterMissing"));
	CHECK(as("admin", "POST", reset, NULL) == 400);
	CHECK(is_code("ActionParameterMissing"));
	CHECK(as("admin", "POST", reset, "{\"ResetType\": \"Suspend\"}") == 400);
	CHECK(is_code("ActionParameterValueNotInList"));
	CHECK(as("admin", "POST", reset, "{\"ResetType\": \"on\"}") == 400);
	CHECK(as("admin", "POST", reset, "{\"ResetType\": 1}") == 400);
	CHECK(is_code("ActionParameterValueTypeError"));
	CHECK(as("admin", "POST", reset, "{\"ResetType\": \"On\", \"Delay\": 5}") == 400);
	CHECK(is_code("ActionParameterUnknown"));
	CHECK(as("admin", "POST", reset, "{\"ResetType\": ") == 400);
	CHECK(is_code("MalformedJSON"));
	CHECK(F.calls == 0);
}

static void test_reset_results(void)
{
	const char *reset = "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset";
	static const struct {
		enum power_result r;
		int status;
		const char *id;
	} results[] = {
	    {POWER_OK, 204, NULL},
	    {POWER_E_STATE, 409, "ResourceInStandby"},
	    {POWER_E_BUSY, 409, "ResourceInUse"},
	    {POWER_E_UNAVAILABLE, 503, "ServiceTemporarilyUnavailable"},
	    {POWER_E_FAILED, 500, "InternalError"},
	    {POWER_E_TIMEOUT, 500, "InternalError"},
	};

	setup();
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		F.result = results[i].r;
		F.detail = "QEMU said no";
		CHECK(as("admin", "POST", reset, "{\"ResetType\": \"Nmi\"}") == results[i].status);
		if (!results[i].id)
			continue;
		check_error_body(results[i].status);
		CHECK(is_code(results[i].id));
		CHECK(strstr(str_at(at(R.json, "error"), "message") ?: "", "QEMU said no"));
	}
	F.result = POWER_E_UNAVAILABLE;
	as("admin", "POST", reset, "{\"ResetType\": \"On\"}");
	CHECK(hdr("Retry-After") && !strcmp(hdr("Retry-After"), "5"));
}

static void test_async(void)
{
	const char *reset = "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset";
	struct req_opts o = {.user = "op", .pw = "operatorpw"};
	struct rf_call *c;

	setup();
	F.defer = true;
	c = request_opts("POST", reset, "{\"ResetType\": \"ForceRestart\"}", &o);
	CHECK(c != NULL && !R.done);
	CHECK(RF->pending == 1);
	F.cb(F.cbarg, POWER_OK, "reset");
	CHECK(R.done && R.status == 204);
	CHECK(RF->pending == 0);
	/* the client went away: the late answer goes nowhere and frees the call */
	c = request_opts("POST", reset, "{\"ResetType\": \"ForceRestart\"}", &o);
	CHECK(c != NULL);
	rf_call_cancel(c);
	F.cb(F.cbarg, POWER_E_TIMEOUT, "late");
	CHECK(!R.done && RF->pending == 0);
	/* other requests are served meanwhile */
	c = request_opts("POST", reset, "{\"ResetType\": \"On\"}", &o);
	CHECK(c && !R.done);
	CHECK(as("op", "GET", "/redfish/v1/Systems", NULL) == 200);
	F.cb(F.cbarg, POWER_E_STATE, "power is off");
	CHECK(R.done && R.status == 409);
}

/* Answer the oldest question QEMU was asked. */
static size_t next_ask;

static void qmp_answer(const char *cmd, const char *ret_json, const char *error)
{
	json_t *ret = ret_json ? json_loads(ret_json, JSON_DECODE_ANY, NULL) : NULL;
	struct qmp_ask *q;

	CHECK(next_ask < F.n_asks);
	if (next_ask >= F.n_asks)
		return;
	q = &F.asks[next_ask++];
	q->answered = true;
	CHECK(!strcmp(q->cmd, cmd));
	q->cb(q->arg, error ? NULL : ret, error);
	json_decref(ret);
}

/* Whatever is still unanswered: the connection went away. */
static void qmp_drain(void)
{
	for (size_t i = 0; i < F.n_asks; i++)
		if (!F.asks[i].answered) {
			F.asks[i].answered = true;
			F.asks[i].cb(F.asks[i].arg, NULL, "disconnected");
		}
}

static void test_facts(void)
{
	json_t *m;

	setup();
	next_ask = 0;
	rf_qmp_connected(RF);
	CHECK(F.n_asks == 5);
	qmp_answer("query-uuid", "{\"UUID\": \"0b5e4b7c-9d1a-4c1e-8f00-1234567890ab\"}", NULL);
	qmp_answer("query-memory-size-summary",
		   "{\"base-memory\": 2147483648, \"plugged-memory\": 1073741824}", NULL);
	qmp_answer("query-cpus-fast", "[{\"cpu-index\": 0}, {\"cpu-index\": 1}, {}, {}]", NULL);
	qmp_answer("qom-list",
		   "[{\"name\": \"net0\", \"type\": \"child<virtio-net-pci>\"},"
		   " {\"name\": \"cd0\", \"type\": \"child<ide-cd>\"},"
		   " {\"name\": \"type\", \"type\": \"string\"}]",
		   NULL);
	qmp_answer("qom-list", "[{\"name\": \"device[3]\", \"type\": \"child<e1000>\"}]", NULL);
	CHECK(F.n_asks == 7);
	CHECK(!strcmp(F.asks[5].path, "/machine/peripheral/net0"));
	CHECK(!strcmp(F.asks[6].path, "/machine/peripheral-anon/device[3]"));
	qmp_answer("qom-get", "\"52:54:00:12:34:56\"", NULL);
	qmp_answer("qom-get", "\"not a mac\"", NULL);
	get(sysp);
	CHECK(!strcmp(str_at(R.json, "UUID") ?: "", "0b5e4b7c-9d1a-4c1e-8f00-1234567890ab"));
	CHECK(json_real_value(at(at(R.json, "MemorySummary"), "TotalSystemMemoryGiB")) == 3.0);
	CHECK(json_integer_value(at(at(R.json, "ProcessorSummary"), "Count")) == 4);
	check_collection("/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces", 1);
	m = json_array_get(at(R.json, "Members"), 0);
	CHECK(!strcmp(str_at(m, "@odata.id") ?: "",
		      "/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces/NIC.1"));
	check_resource("/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces/NIC.1");
	CHECK(!strcmp(str_at(R.json, "MACAddress") ?: "", "52:54:00:12:34:56"));
	CHECK(get("/redfish/v1/Systems/System.Embedded.1/EthernetInterfaces/NIC.2") == 404);

	/* a new connection forgets; errors and zero UUIDs; stale answers ignored */
	next_ask = 0;
	F.n_asks = 0;
	rf_qmp_connected(RF);
	get(sysp);
	CHECK(at(R.json, "UUID") == NULL && at(R.json, "ProcessorSummary") == NULL);
	qmp_answer("query-uuid", "{\"UUID\": \"00000000-0000-0000-0000-000000000000\"}", NULL);
	qmp_answer("query-memory-size-summary", NULL, "CommandNotFound");
	qmp_answer("query-cpus-fast", "{}", NULL);
	get(sysp);
	CHECK(!strcmp(str_at(R.json, "UUID") ?: "", "10111213-1415-1617-1819-1a1b1c1d1e1f"));
	CHECK(at(R.json, "MemorySummary") == NULL && at(R.json, "ProcessorSummary") == NULL);
	{
		struct qmp_ask old = F.asks[3]; /* a qom-list of this generation */
		rf_qmp_connected(RF);		/* ... becomes stale */
		json_t *l = json_loads("[{\"name\": \"n\", \"type\": \"child<e1000>\"}]", 0, NULL);
		size_t before = F.n_asks;
		F.asks[3].answered = true;
		old.cb(old.arg, l, NULL);
		json_decref(l);
		qmp_drain();
		CHECK(F.n_asks == before); /* no qom-get for a stale listing */
	}
	/* QMP down: nothing asked, nothing leaked */
	F.qmp_down = true;
	rf_qmp_connected(RF);
	get(sysp);
	CHECK(R.status == 200 && at(R.json, "UUID") == NULL);
}

/* cache.c: a second GET is the same answer, headers and all; any change of
 * power state, boot override or facts shows at once; and the checks before
 * the cache still apply to every request. */
static void test_cache(void)
{
	char first[4096], etag[RF_HEADER_VALUE_MAX];
	size_t n_headers;

	setup();
	F.state = POWER_STATE_ON;
	CHECK(get(sysp) == 200);
	snprintf(first, sizeof(first), "%s", R.text);
	snprintf(etag, sizeof(etag), "%s", hdr("ETag") ?: "");
	n_headers = R.n_headers;
	CHECK(get(sysp) == 200 && !strcmp(R.text, first) && R.n_headers == n_headers);
	CHECK(!strcmp(hdr("ETag") ?: "", etag) && hdr("Link") && hdr("OData-Version"));
	check_common_headers();
	CHECK(get("/redfish/v1/Systems/System.Embedded.1/") == 200 && !strcmp(R.text, first));

	F.state = POWER_STATE_OFF;
	CHECK(get(sysp) == 200 && !strcmp(str_at(R.json, "PowerState") ?: "", "Off"));
	CHECK(strcmp(hdr("ETag") ?: "", etag) != 0);
	F.state = POWER_STATE_ON;
	F.boot.target = BOOT_PXE;
	F.boot.generation++;
	CHECK(get(sysp) == 200);
	CHECK(!strcmp(str_at(at(R.json, "Boot"), "BootSourceOverrideTarget") ?: "", "Pxe"));
	F.boot.target = BOOT_NONE;
	F.boot.generation++;

	/* authentication and privileges come first */
	CHECK(as(NULL, "GET", sysp, NULL) == 401);
	CHECK(as("ro", "GET", sysp, NULL) == 200 && !strcmp(R.text, first));
	CHECK(get("/redfish/v1/Systems/Other") == 404);
	CHECK(as("admin", "DELETE", sysp, NULL) == 405);
	CHECK(get(sysp) == 200 && !strcmp(R.text, first));
}

static void test_no_secrets(void)
{
	static const char *const paths[] = {
	    "/redfish/v1/AccountService/Accounts/1", "/redfish/v1/AccountService/Accounts/2",
	    "/redfish/v1/AccountService/Accounts/3", "/redfish/v1/AccountService/Accounts",
	    "/redfish/v1/SessionService/Sessions",   "/redfish/v1/AccountService",
	};
	char token[80], loc[128];

	setup();
	login("admin", "adminpw", token, loc);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i]);
		CHECK(R.status == 200);
		CHECK(!strstr(R.text, "adminpw") && !strstr(R.text, "operatorpw") &&
		      !strstr(R.text, "readonlypw") && !strstr(R.text, "\"Password\""));
		CHECK(!strstr(R.text, token));
	}
	get(loc);
	CHECK(!strstr(R.text, token));
	CHECK(!strstr(F.log, "adminpw"));
}

int main(void)
{
	test_public();
	test_resources();
	test_system_body();
	test_auth();
	test_sessions();
	test_session_timeout();
	test_rate_limit();
	test_roles();
	test_errors();
	test_boot_patch();
	test_if_match();
	test_reset_map();
	test_reset_results();
	test_async();
	test_facts();
	test_cache();
	test_no_secrets();
	rf_free(RF);
	reset_answer();
	return test_done();
}
