/* Who is asking: HTTP Basic or an X-Auth-Token session (DSP0266
 * "Authentication"), the role's privileges, and a brake on password
 * guessing: a client address with RF_FAIL_MAX failures within
 * RF_FAIL_WINDOW_MS is refused without any check for RF_BLOCK_MS. */
#include "internal.h"

#include <errno.h>
#include <strings.h>
#include <string.h>

#include "worker/ipmi/crypto.h"

#define RF_FAIL_MAX	  5
#define RF_FAIL_WINDOW_MS 60000
#define RF_BLOCK_MS	  60000

bool rf_role_has(enum rf_role role, enum rf_priv p)
{
	bool known = role == RF_ROLE_READONLY || role == RF_ROLE_OPERATOR || role == RF_ROLE_ADMIN;

	switch (p) {
	case RF_PRIV_NONE:
		return true;
	case RF_PRIV_LOGIN:
		return known;
	case RF_PRIV_COMPONENTS:
		return known && role >= RF_ROLE_OPERATOR;
	case RF_PRIV_MANAGER:
		return known && role >= RF_ROLE_ADMIN;
	}
	return false;
}

const char *rf_role_name(enum rf_role role)
{
	switch (role) {
	case RF_ROLE_ADMIN:
		return "Administrator";
	case RF_ROLE_OPERATOR:
		return "Operator";
	case RF_ROLE_READONLY:
		return "ReadOnly";
	}
	return "ReadOnly";
}

/* ---- failed logins per client ---- */

/* Better to forget an old failure than a client being refused now. */
static bool evict_before(const struct rf_client *a, const struct rf_client *b)
{
	if (!a->addr[0] || !b->addr[0])
		return !a->addr[0] && b->addr[0];
	if (!a->blocked_until_ms != !b->blocked_until_ms)
		return !a->blocked_until_ms;
	return a->window_ms < b->window_ms;
}

static struct rf_client *client_find(struct rf *rf, const char *addr, bool create)
{
	struct rf_client *victim = &rf->clients[0];

	for (size_t i = 0; i < RF_MAX_CLIENTS; i++) {
		struct rf_client *cl = &rf->clients[i];
		if (cl->addr[0] && !strcmp(cl->addr, addr))
			return cl;
		if (evict_before(cl, victim))
			victim = cl;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strlcpy0(victim->addr, addr, sizeof(victim->addr));
	return victim;
}

static bool client_blocked(struct rf *rf, const char *addr, uint64_t now)
{
	struct rf_client *cl = client_find(rf, addr, false);

	return cl && cl->blocked_until_ms > now;
}

static void client_failed(struct rf *rf, const char *addr, uint64_t now)
{
	struct rf_client *cl = client_find(rf, addr, true);

	if (!cl)
		return;
	if (now - cl->window_ms > RF_FAIL_WINDOW_MS || cl->blocked_until_ms) {
		cl->window_ms = now;
		cl->fails = 0;
		cl->blocked_until_ms = 0;
	}
	if (++cl->fails >= RF_FAIL_MAX) {
		cl->blocked_until_ms = now + RF_BLOCK_MS;
		rf_log(rf, LOG_WARNING, "Redfish: %u failed logins from %s: refusing it for %u s",
		       cl->fails, addr, RF_BLOCK_MS / 1000);
	}
}

static void client_succeeded(struct rf *rf, const char *addr)
{
	struct rf_client *cl = client_find(rf, addr, false);

	if (cl)
		memset(cl, 0, sizeof(*cl));
}

/* ---- passwords ---- */

/* Equal length and bytes, in time that depends on neither. */
static bool password_equal(const struct rf_user *u, const uint8_t *pw, size_t len)
{
	uint8_t a[RF_PASSWORD_MAX + 1] = {0}, b[RF_PASSWORD_MAX + 1] = {0};
	bool same_len = u->pwlen == len;

	memcpy(a, u->password, u->pwlen);
	memcpy(b, pw, len < sizeof(b) ? len : sizeof(b));
	return (ipmi_memcmp_ct(a, b, sizeof(a)) == 0) & same_len;
}

const struct rf_user *rf_check_password(struct rf *rf, const char *client, const char *user,
					const uint8_t *pw, size_t pwlen)
{
	static const struct rf_user nobody = {.pwlen = 1};
	const struct rf_user *u = NULL;
	uint64_t now = rf->ops->now_ms(rf->arg);
	char safe[RF_NAME_MAX * 2 + 1];
	bool ok;

	if (client_blocked(rf, client, now))
		return NULL;
	for (size_t i = 0; i < rf->cfg.n_users; i++)
		if (!strcmp(rf->cfg.users[i].name, user))
			u = &rf->cfg.users[i];
	/* the same work whether or not the user exists */
	ok = password_equal(u ? u : &nobody, pw, pwlen) && u;
	if (ok) {
		client_succeeded(rf, client);
		return u;
	}
	rf_sanitize(safe, sizeof(safe), user);
	rf_log(rf, LOG_WARNING, "Redfish: authentication failed for user '%s' from %s", safe,
	       client);
	client_failed(rf, client, now);
	return NULL;
}

/* ---- Basic ---- */

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* RFC 4648 base64 with padding; returns the decoded length or -EINVAL. */
static int b64_decode(const char *in, uint8_t *out, size_t size)
{
	size_t len = strlen(in), n = 0;
	unsigned acc = 0;
	int bits = 0;

	while (len && in[len - 1] == '=')
		len--;
	if (strlen(in) % 4 != 0 || strlen(in) - len > 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == size)
				return -EINVAL;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

static int basic_auth(struct rf_call *c, const char *value)
{
	uint8_t buf[RF_NAME_MAX + 1 + RF_PASSWORD_MAX + 8];
	const struct rf_user *u;
	char name[RF_NAME_MAX + 1];
	uint8_t *colon;
	int n;

	if (strncasecmp(value, "Basic ", 6) != 0)
		return -EACCES;
	value += 6;
	while (*value == ' ')
		value++;
	n = b64_decode(value, buf, sizeof(buf));
	if (n < 0 || !(colon = memchr(buf, ':', (size_t)n)) || colon - buf > RF_NAME_MAX ||
	    memchr(buf, '\0', (size_t)n))
		return -EACCES;
	memcpy(name, buf, (size_t)(colon - buf));
	name[colon - buf] = '\0';
	u = rf_check_password(c->rf, c->rq->client ? c->rq->client : "?", name, colon + 1,
			      (size_t)(buf + n - colon - 1));
	explicit_bzero(buf, sizeof(buf));
	if (!u)
		return -EACCES;
	c->who.authed = true;
	strlcpy0(c->who.user, u->name, sizeof(c->who.user));
	c->who.role = u->role;
	c->who.session = -1;
	return 0;
}

static int token_auth(struct rf_call *c, const char *token)
{
	struct rf *rf = c->rf;
	struct rf_session *s;

	rf_sessions_expire(rf);
	s = rf_session_by_token(rf, token);
	if (!s)
		return -EACCES;
	s->last_ms = rf->ops->now_ms(rf->arg);
	c->who.authed = true;
	strlcpy0(c->who.user, s->user, sizeof(c->who.user));
	c->who.role = s->role;
	c->who.session = (int)(s - rf->sessions);
	return 0;
}

/* A token, when sent, is the credential: a bad one is not rescued by Basic. */
int rf_authenticate(struct rf_call *c)
{
	const struct rf_request *rq = c->rq;

	if (rq->x_auth_token)
		return token_auth(c, rq->x_auth_token);
	if (rq->authorization)
		return basic_auth(c, rq->authorization);
	return -EACCES;
}

int rf_unauthorized(struct rf_call *c)
{
	rf_add_header(c, "WWW-Authenticate", "Basic realm=\"vbmc\"");
	return rf_error(c, 401, MSG_NO_VALID_SESSION, NULL, NULL, NULL);
}
