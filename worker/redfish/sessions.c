/* Redfish sessions (DSP0266 "Session login"): POST the credentials to the
 * Sessions collection, get an X-Auth-Token (32 random bytes, hex) and the
 * session's URI in Location; DELETE that URI to log out.  A session idle
 * longer than SessionTimeout is gone.  At most RF_MAX_SESSIONS at once:
 * one more is refused, none is pushed out. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ipmi/crypto.h"

#define TOKEN_BYTES 32
#define ID_BYTES    8

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void session_clear(struct rf_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

void rf_sessions_expire(struct rf *rf)
{
	uint64_t now = rf->ops->now_ms(rf->arg);
	uint64_t limit = (uint64_t)rf->cfg.session_timeout_s * 1000;

	for (size_t i = 0; i < RF_MAX_SESSIONS; i++)
		if (rf->sessions[i].used && now - rf->sessions[i].last_ms > limit)
			session_clear(&rf->sessions[i]);
}

/* Compared in constant time against every session, so the time taken says
 * nothing about how much of a token was right. */
struct rf_session *rf_session_by_token(struct rf *rf, const char *token)
{
	struct rf_session *found = NULL;
	char want[2 * TOKEN_BYTES + 1] = {0};

	if (strlen(token) != 2 * TOKEN_BYTES)
		return NULL;
	memcpy(want, token, sizeof(want) - 1);
	for (size_t i = 0; i < RF_MAX_SESSIONS; i++) {
		struct rf_session *s = &rf->sessions[i];
		bool same = ipmi_memcmp_ct(s->token, want, sizeof(want)) == 0;
		if (same && s->used)
			found = s;
	}
	return found;
}

static struct rf_session *session_by_id(struct rf *rf, const char *id)
{
	rf_sessions_expire(rf);
	for (size_t i = 0; i < RF_MAX_SESSIONS; i++)
		if (rf->sessions[i].used && !strcmp(rf->sessions[i].id, id))
			return &rf->sessions[i];
	return NULL;
}

/* One's own sessions need Login; other users' ConfigureManager. */
static bool may_see(const struct rf_call *c, const struct rf_session *s)
{
	return !strcmp(s->user, c->who.user) || rf_role_has(c->who.role, RF_PRIV_MANAGER);
}

static json_t *session_body(const struct rf_session *s)
{
	char path[RF_PATH_MAX];
	json_t *j;

	snprintf(path, sizeof(path), RF_SESSIONS "/%s", s->id);
	j = rf_resource(path, "#" V_SESSION ".Session", s->id, "User Session");
	json_object_set_new(j, "UserName", json_string(s->user));
	if (s->client[0])
		json_object_set_new(j, "ClientOriginIPAddress", json_string(s->client));
	return j;
}

static json_t *session_service_body(struct rf *rf)
{
	json_t *j = rf_resource(RF_ROOT "/SessionService", "#" V_SESSION_SERVICE ".SessionService",
				"SessionService", "Session Service");

	json_object_set_new(j, "ServiceEnabled", json_true());
	json_object_set_new(j, "SessionTimeout", json_integer(rf->cfg.session_timeout_s));
	json_object_set_new(j, "Status", rf_status_obj("Enabled", "OK"));
	json_object_set_new(j, "Sessions", rf_link(RF_SESSIONS));
	return j;
}

int rf_session_service_get(struct rf_call *c)
{
	rf_reply(c, 200, session_service_body(c->rf));
	return RF_DONE;
}

/* SessionTimeout as the schema bounds it; 0 after adding the message. */
static unsigned parse_timeout(struct rf_call *c, json_t *v)
{
	char text[64];
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	snprintf(text, sizeof(text), "%s", dump ? dump : "?");
	free(dump);
	if (!json_is_integer(v)) {
		rf_msg(c, MSG_PROPERTY_VALUE_TYPE_ERROR, text, "SessionTimeout", NULL);
		return 0;
	}
	if (json_integer_value(v) < RF_SESSION_TIMEOUT_MIN_S ||
	    json_integer_value(v) > RF_SESSION_TIMEOUT_MAX_S) {
		rf_msg(c, MSG_PROPERTY_VALUE_OUT_OF_RANGE, text, "SessionTimeout", NULL);
		return 0;
	}
	return (unsigned)json_integer_value(v);
}

/* PATCH SessionService: SessionTimeout is the one writable property (as on
 * real BMCs).  It holds for every session, open ones included, until the
 * worker restarts; then the default applies again (docs/REDFISH.md). */
int rf_session_service_patch(struct rf_call *c)
{
	json_t *body, *current, *v;
	const char *key;
	unsigned timeout = 0;

	if (!(body = rf_body_object(c, false)))
		return RF_DONE;
	if (json_object_size(body) == 0) {
		json_decref(body);
		return rf_error(c, 400, MSG_EMPTY_JSON, NULL, NULL, NULL);
	}
	current = session_service_body(c->rf);
	json_object_foreach(body, key, v)
	{
		if (!strcmp(key, "SessionTimeout"))
			timeout = parse_timeout(c, v);
		else
			rf_msg(c,
			       json_object_get(current, key) ? MSG_PROPERTY_NOT_WRITABLE
							     : MSG_PROPERTY_UNKNOWN,
			       key, NULL, NULL);
	}
	json_decref(current);
	json_decref(body);
	if (c->messages)
		return rf_fail(c, 400, NULL);
	if (timeout && timeout != c->rf->cfg.session_timeout_s) {
		rf_log(c->rf, LOG_INFO, "Redfish: SessionTimeout %u s -> %u s by %s",
		       c->rf->cfg.session_timeout_s, timeout, c->who.user);
		c->rf->cfg.session_timeout_s = timeout;
	}
	return rf_session_service_get(c);
}

int rf_sessions_get(struct rf_call *c)
{
	struct rf *rf = c->rf;
	json_t *j = rf_collection(RF_SESSIONS, "SessionCollection", "Session Collection");

	rf_sessions_expire(rf);
	for (size_t i = 0; i < RF_MAX_SESSIONS; i++)
		if (rf->sessions[i].used && may_see(c, &rf->sessions[i]))
			rf_collection_add(j, RF_SESSIONS "/%s", rf->sessions[i].id);
	rf_reply(c, 200, j);
	return RF_DONE;
}

/* UserName and Password, both strings; Context is allowed and ignored.
 * Returns 0, or -1 after answering 400. */
static int login_fields(struct rf_call *c, json_t *body, const char **user, const char **pw,
			size_t *pwlen)
{
	json_t *u = json_object_get(body, "UserName"), *p = json_object_get(body, "Password");
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v) if (strcmp(key, "UserName") && strcmp(key, "Password") &&
					      strcmp(key, "Context"))
	    rf_msg(c, MSG_PROPERTY_UNKNOWN, key, NULL, NULL);
	if (!u)
		rf_msg(c, MSG_CREATE_FAILED_MISSING_REQ_PROPERTIES, "UserName", NULL, NULL);
	else if (!json_is_string(u))
		rf_msg(c, MSG_PROPERTY_VALUE_TYPE_ERROR, "(not a string)", "UserName", NULL);
	if (!p)
		rf_msg(c, MSG_CREATE_FAILED_MISSING_REQ_PROPERTIES, "Password", NULL, NULL);
	else if (!json_is_string(p))
		rf_msg(c, MSG_PROPERTY_VALUE_TYPE_ERROR, "(not a string)", "Password", NULL);
	if (c->messages) {
		rf_fail(c, 400, NULL);
		return -1;
	}
	*user = json_string_value(u);
	*pw = json_string_value(p);
	*pwlen = json_string_length(p);
	return 0;
}

static struct rf_session *session_new(struct rf *rf)
{
	uint8_t rnd[TOKEN_BYTES + ID_BYTES];
	struct rf_session *s = NULL;

	rf_sessions_expire(rf);
	for (size_t i = 0; i < RF_MAX_SESSIONS && !s; i++)
		if (!rf->sessions[i].used)
			s = &rf->sessions[i];
	if (!s || rf->ops->random(rf->arg, rnd, sizeof(rnd)) < 0)
		return NULL;
	hex(rnd, TOKEN_BYTES, s->token);
	hex(rnd + TOKEN_BYTES, ID_BYTES, s->id);
	explicit_bzero(rnd, sizeof(rnd));
	s->used = true;
	s->last_ms = rf->ops->now_ms(rf->arg);
	return s;
}

static bool sessions_full(struct rf *rf)
{
	rf_sessions_expire(rf);
	for (size_t i = 0; i < RF_MAX_SESSIONS; i++)
		if (!rf->sessions[i].used)
			return false;
	return true;
}

int rf_sessions_post(struct rf_call *c)
{
	struct rf *rf = c->rf;
	const char *user, *pw, *client = c->rq->client ? c->rq->client : "?";
	const struct rf_user *u;
	struct rf_session *s;
	json_t *body;
	size_t pwlen;

	if (!(body = rf_body_object(c, false)))
		return RF_DONE;
	if (login_fields(c, body, &user, &pw, &pwlen) < 0) {
		json_decref(body);
		return RF_DONE;
	}
	u = rf_check_password(rf, client, user, (const uint8_t *)pw, pwlen);
	json_decref(body);
	if (!u)
		return rf_unauthorized(c);
	if (sessions_full(rf))
		return rf_error(c, 503, MSG_SESSION_LIMIT_EXCEEDED, NULL, NULL, NULL);
	if (!(s = session_new(rf)))
		return rf_error(c, 500, MSG_INTERNAL_ERROR, NULL, NULL, NULL);
	strlcpy0(s->user, u->name, sizeof(s->user));
	s->role = u->role;
	strlcpy0(s->client, client, sizeof(s->client));
	rf_log(rf, LOG_INFO, "Redfish: session %s for %s from %s", s->id, s->user, client);
	rf_add_header(c, "X-Auth-Token", "%s", s->token);
	rf_add_header(c, "Location", RF_SESSIONS "/%s", s->id);
	rf_reply(c, 201, session_body(s));
	return RF_DONE;
}

int rf_session_get(struct rf_call *c)
{
	struct rf_session *s = session_by_id(c->rf, c->id[0]);

	if (!s || !may_see(c, s))
		return rf_not_found(c, "Session", c->id[0]);
	rf_reply(c, 200, session_body(s));
	return RF_DONE;
}

int rf_session_delete(struct rf_call *c)
{
	struct rf_session *s = session_by_id(c->rf, c->id[0]);

	if (!s || !may_see(c, s))
		return rf_not_found(c, "Session", c->id[0]);
	rf_log(c->rf, LOG_INFO, "Redfish: session %s of %s closed by %s", s->id, s->user,
	       c->who.user);
	session_clear(s);
	rf_reply(c, 204, NULL);
	return RF_DONE;
}
