/* The Redfish engine's front door: the route table, request checks in the
 * order DSP0266 implies (protocol headers, size, authentication, method,
 * privilege), dispatch, and the headers every answer carries. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last column: may cache.c serve the body again while its stamp holds?
 * Not for sessions and accounts, whose bodies change without a stamp. */
/* clang-format off */
static const struct rf_route routes[] = {
	{"/redfish",                                  RF_GET,    RF_PRIV_NONE,       rf_versions_get, true},
	{"/redfish/v1",                               RF_GET,    RF_PRIV_NONE,       rf_root_get, true},
	{"/redfish/v1/odata",                         RF_GET,    RF_PRIV_NONE,       rf_odata_get, true},
	{"/redfish/v1/$metadata",                     RF_GET,    RF_PRIV_NONE,       rf_metadata_get, true},
	{"/redfish/v1/Systems",                       RF_GET,    RF_PRIV_LOGIN,      rf_systems_get, true},
	{"/redfish/v1/Systems/*",                     RF_GET,    RF_PRIV_LOGIN,      rf_system_get, true},
	{"/redfish/v1/Systems/*",                     RF_PATCH,  RF_PRIV_COMPONENTS, rf_system_patch, false},
	{"/redfish/v1/Systems/*/Actions/ComputerSystem.Reset",
	                                              RF_POST,   RF_PRIV_COMPONENTS, rf_system_reset, false},
	{"/redfish/v1/Systems/*/EthernetInterfaces",  RF_GET,    RF_PRIV_LOGIN,      rf_nics_get, true},
	{"/redfish/v1/Systems/*/EthernetInterfaces/*", RF_GET,   RF_PRIV_LOGIN,      rf_nic_get, true},
	{"/redfish/v1/Chassis",                       RF_GET,    RF_PRIV_LOGIN,      rf_chassis_coll_get, true},
	{"/redfish/v1/Chassis/*",                     RF_GET,    RF_PRIV_LOGIN,      rf_chassis_get, true},
	{"/redfish/v1/Chassis/*/Actions/Chassis.Reset", RF_POST, RF_PRIV_COMPONENTS, rf_chassis_reset, false},
	{"/redfish/v1/Managers",                      RF_GET,    RF_PRIV_LOGIN,      rf_managers_get, true},
	{"/redfish/v1/Managers/*",                    RF_GET,    RF_PRIV_LOGIN,      rf_manager_get, true},
	{"/redfish/v1/Managers/*/NetworkProtocol",    RF_GET,    RF_PRIV_LOGIN,      rf_netproto_get, true},
	{"/redfish/v1/SessionService",                RF_GET,    RF_PRIV_LOGIN,      rf_session_service_get, false},
	{"/redfish/v1/SessionService",                RF_PATCH,  RF_PRIV_MANAGER,    rf_session_service_patch, false},
	{"/redfish/v1/SessionService/Sessions",       RF_GET,    RF_PRIV_LOGIN,      rf_sessions_get, false},
	/* login: the credentials are in the body */
	{"/redfish/v1/SessionService/Sessions",       RF_POST,   RF_PRIV_NONE,       rf_sessions_post, false},
	{"/redfish/v1/SessionService/Sessions/*",     RF_GET,    RF_PRIV_LOGIN,      rf_session_get, false},
	{"/redfish/v1/SessionService/Sessions/*",     RF_DELETE, RF_PRIV_LOGIN,      rf_session_delete, false},
	{"/redfish/v1/AccountService",                RF_GET,    RF_PRIV_LOGIN,      rf_account_service_get, false},
	{"/redfish/v1/AccountService/Accounts",       RF_GET,    RF_PRIV_LOGIN,      rf_accounts_get, false},
	{"/redfish/v1/AccountService/Accounts/*",     RF_GET,    RF_PRIV_LOGIN,      rf_account_get, false},
	{"/redfish/v1/AccountService/Roles",          RF_GET,    RF_PRIV_LOGIN,      rf_roles_get, false},
	{"/redfish/v1/AccountService/Roles/*",        RF_GET,    RF_PRIV_LOGIN,      rf_role_get, false},
};
/* clang-format on */

/* ---- small helpers ---- */

void rf_sanitize(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (!size)
		return;
	for (; src && *src && n + 1 < size; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[n] = '\0';
}

void rf_log(struct rf *rf, int prio, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!rf->ops->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rf->ops->log(rf->arg, prio, text);
}

const char *rf_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Unknown";
}

static unsigned method_of(const char *m)
{
	static const struct {
		const char *name;
		unsigned bit;
	} methods[] = {{"GET", RF_GET},	  {"HEAD", RF_HEAD},	 {"PATCH", RF_PATCH},
		       {"POST", RF_POST}, {"DELETE", RF_DELETE}, {"PUT", RF_PUT}};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (m && !strcmp(m, methods[i].name))
			return methods[i].bit;
	return RF_OTHER;
}

static void allow_text(unsigned allow, char *buf, size_t size)
{
	static const char *const names[] = {"GET", "PATCH", "POST", "DELETE", "HEAD"};
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (allow & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i]);
}

/* ---- the response ---- */

void rf_add_header(struct rf_call *c, const char *name, const char *fmt, ...)
{
	struct rf_header *h;
	va_list ap;

	if (c->res.n_headers == RF_MAX_HEADERS)
		return;
	h = &c->res.headers[c->res.n_headers++];
	h->name = name;
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}

void rf_reply(struct rf_call *c, int status, json_t *body)
{
	c->res.status = status;
	json_decref(c->res.json);
	c->res.json = body;
}

/* "#ComputerSystem.v1_20_0.ComputerSystem" -> the DMTF JSON schema of that
 * version, which is what DSP0266 wants the Link header to describe. */
static void schema_link(struct rf_call *c)
{
	const char *t = json_string_value(json_object_get(c->res.json, "@odata.type"));
	const char *dot;

	if (t && t[0] == '#' && (dot = strrchr(t, '.')) && dot > t + 1)
		rf_add_header(c, "Link",
			      "<https://redfish.dmtf.org/schemas/v1/%.*s.json>; rel=describedby",
			      (int)(dot - t - 1), t + 1);
	else
		rf_add_header(c, "Link", "</redfish/v1/$metadata>; rel=describedby");
}

static void common_headers(struct rf_call *c)
{
	char allow[64];

	rf_add_header(c, "OData-Version", "4.0");
	rf_add_header(c, "Cache-Control", "no-cache");
	rf_add_header(c, "X-Frame-Options", "DENY");
	rf_add_header(c, "Strict-Transport-Security", "max-age=31536000");
	schema_link(c);
	if (c->allow) {
		allow_text(c->allow, allow, sizeof(allow));
		rf_add_header(c, "Allow", "%s", allow);
	}
}

static void serialize(struct rf_call *c)
{
	if (c->res.json && c->res.status != 204) {
		c->res.body = json_dumps(c->res.json, JSON_PRESERVE_ORDER | JSON_INDENT(2));
		c->res.body_len = c->res.body ? strlen(c->res.body) : 0;
		c->res.content_type = "application/json; charset=utf-8";
	}
	if (c->res.body && !c->res.content_type)
		c->res.content_type = "application/json; charset=utf-8";
}

static void call_free(struct rf_call *c)
{
	json_decref(c->res.json);
	free(c->res.body);
	json_decref(c->messages);
	free(c);
}

void rf_finish(struct rf_call *c)
{
	if (c->finished)
		return;
	if (!c->from_cache) {
		common_headers(c);
		serialize(c);
		rf_cache_store(c);
	}
	if (!c->cancelled && c->done)
		c->done(c->arg, &c->res);
	c->finished = true;
	if (!c->in_handle) {
		c->rf->pending--;
		call_free(c);
	}
}

void rf_call_cancel(struct rf_call *c)
{
	if (c)
		c->cancelled = true;
}

/* ---- the request ---- */

json_t *rf_body_object(struct rf_call *c, bool empty_ok)
{
	const struct rf_request *rq = c->rq;
	json_error_t e;
	json_t *j;

	if (!rq->body_len && empty_ok)
		return json_object();
	j = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(j)) {
		json_decref(j);
		rf_error(c, 400, MSG_MALFORMED_JSON, NULL, NULL, NULL);
		return NULL;
	}
	return j;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The path without query, percent-decoded, without trailing slashes (the
 * same resource is served with and without).  -EINVAL if it cannot be a
 * resource of ours. */
static int decode_path(const char *raw, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = raw; *p && *p != '?' && *p != '#'; p++) {
		int ch = (unsigned char)*p;
		if (ch == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -EINVAL;
			ch = hi << 4 | lo;
			p += 2;
		}
		if (ch < 0x20 || ch >= 0x7f || n + 1 >= size)
			return -EINVAL;
		out[n++] = (char)ch;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return n && out[0] == '/' ? 0 : -EINVAL;
}

/* Match path against pattern segment by segment; "*" captures into ids. */
static bool match(const char *pattern, const char *path, char ids[2][RF_ID_MAX])
{
	const char *p = pattern, *s = path;
	int nid = 0;

	while (*p && *s) {
		size_t pl = strcspn(p + 1, "/") + 1, sl = strcspn(s + 1, "/") + 1;
		if (pl == 2 && p[1] == '*') {
			if (sl < 2 || sl - 1 >= RF_ID_MAX || nid == 2)
				return false;
			memcpy(ids[nid], s + 1, sl - 1);
			ids[nid++][sl - 1] = '\0';
		} else if (pl != sl || memcmp(p, s, pl) != 0) {
			return false;
		}
		p += pl;
		s += sl;
	}
	return !*p && !*s;
}

/* Find the row for path and method; c->allow collects the methods the
 * path has.  *public: some row of the path needs no credentials. */
static const struct rf_route *lookup(struct rf_call *c, bool *public)
{
	const struct rf_route *found = NULL;
	unsigned want = c->method == RF_HEAD ? RF_GET : c->method;
	char ids[2][RF_ID_MAX];

	*public = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, c->path, ids))
			continue;
		c->allow |= routes[i].method | (routes[i].method == RF_GET ? RF_HEAD : 0);
		*public |= routes[i].priv == RF_PRIV_NONE;
		if (!found && routes[i].method == want) {
			found = &routes[i];
			memcpy(c->id, ids, sizeof(ids));
		}
	}
	return found;
}

/* Checks before any resource is looked at.  RF_DONE if answered. */
static int precheck(struct rf_call *c)
{
	const struct rf_request *rq = c->rq;

	/* DSP0266: a request for an OData version we do not speak fails */
	if (rq->odata_version && strcmp(rq->odata_version, "4.0") != 0)
		return rf_error(c, 412, MSG_HEADER_INVALID, "OData-Version", NULL, NULL);
	if (rq->body_len > RF_BODY_MAX)
		return rf_error(c, 413, MSG_PAYLOAD_TOO_LARGE, NULL, NULL, NULL);
	return RF_PENDING;
}

static int dispatch(struct rf_call *c)
{
	const struct rf_route *r;
	bool public;

	c->method = method_of(c->rq->method);
	if (precheck(c) == RF_DONE)
		return RF_DONE;
	if (decode_path(c->rq->path ? c->rq->path : "", c->path, sizeof(c->path)) < 0)
		c->path[0] = '\0';
	r = lookup(c, &public);
	c->route = r;
	/* every resource but the public ones is behind authentication, and so
	 * is the answer "no such resource" for everything else */
	if ((r && r->priv != RF_PRIV_NONE) || (!r && !public)) {
		if (rf_authenticate(c) < 0)
			return rf_unauthorized(c);
	}
	if (!r && !c->allow)
		return rf_not_found(c, "Resource", c->path[0] ? c->path : "?");
	if (!r)
		return rf_error(c, 405, MSG_OPERATION_NOT_ALLOWED, NULL, NULL, NULL);
	if (!rf_role_has(c->who.role, r->priv) && r->priv != RF_PRIV_NONE)
		return rf_error(c, 403, MSG_INSUFFICIENT_PRIVILEGE, NULL, NULL, NULL);
	if (rf_cache_serve(c))
		return RF_DONE;
	return r->handler(c);
}

struct rf_call *rf_handle(struct rf *rf, const struct rf_request *rq, rf_done_cb done, void *arg)
{
	struct rf_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL; /* the HTTP layer answers 500 when done never came */
	c->rf = rf;
	c->rq = rq;
	c->done = done;
	c->arg = arg;
	c->who.session = -1;
	c->in_handle = true;
	if (dispatch(c) == RF_DONE)
		rf_finish(c);
	c->in_handle = false;
	c->rq = NULL;
	if (c->finished) {
		call_free(c);
		return NULL;
	}
	rf->pending++;
	return c;
}

/* ---- the service object ---- */

struct rf *rf_new(const struct rf_config *cfg, const struct rf_ops *ops, void *arg)
{
	struct rf *rf = calloc(1, sizeof(*rf));

	if (!rf)
		return NULL;
	rf->cfg = *cfg;
	if (!rf->cfg.session_timeout_s)
		rf->cfg.session_timeout_s = RF_SESSION_TIMEOUT_S;
	rf->ops = ops;
	rf->arg = arg;
	return rf;
}

/* Only with no call pending: a pending call points back at rf. */
void rf_free(struct rf *rf)
{
	if (!rf)
		return;
	rf_cache_free(rf);
	explicit_bzero(rf, sizeof(*rf));
	free(rf);
}
