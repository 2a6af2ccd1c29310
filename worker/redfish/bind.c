/* Binds the Redfish engine (redfish.h) to this worker, as ipmi_server.c
 * does for IPMI: the power core, the shared boot state, QMP for the facts,
 * the log, the counters, and the HTTPS server on fd 5.  All of it is set
 * up in build(), before the sandbox. */
#include "worker/worker.h"

#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "redfish.h"
#include "server.h"
#include "worker/ipmi/crypto.h"

struct redfish {
	struct rf *rf;
	struct rf_server *srv;
};

static struct worker_ctx *ctx_of(void *arg)
{
	return arg;
}

static int op_qmp(void *arg, const char *cmd, json_t *args, qmp_reply_cb cb, void *cbarg)
{
	return power_qmp_command(ctx_of(arg)->power, cmd, args, cb, cbarg);
}

static void op_log(void *arg, int prio, const char *text)
{
	(void)arg;
	log_msg(prio, "%s", text);
}

static const struct rf_ops ops = {
    .now_ms = engine_now_ms,
    .random = engine_random,
    .power_state = engine_power_state,
    .power = engine_power,
    .boot = engine_boot,
    .boot_changed = engine_boot_changed,
    .qmp = op_qmp,
    .log = op_log,
};

/* The engine keeps its own copy of the users: main.c wipes the config's
 * once the sandbox is on. */
static void fill_config(const struct msg_config *m, struct rf_config *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy0(c->node, m->node, sizeof(c->node));
	node_guid(m->node, c->guid);
	c->redfish_port = m->redfish_port;
	c->ipmi_port = m->ipmi_port;
	for (uint32_t i = 0; i < m->n_users && i < RF_MAX_USERS; i++) {
		struct rf_user *u = &c->users[c->n_users++];
		strlcpy0(u->name, m->users[i].name, sizeof(u->name));
		memcpy(u->password, m->users[i].password, m->users[i].pwlen);
		u->pwlen = m->users[i].pwlen;
		u->role = (enum rf_role)m->users[i].role;
	}
}

static SSL_CTX *tls_from_config(struct worker_ctx *w)
{
	char err[256];
	SSL_CTX *ssl;

	if (!w->cfg.tls_cert[0] || !w->cfg.tls_key[0]) {
		log_errx("Redfish: no TLS certificate from the supervisor: Redfish is off");
		return NULL;
	}
	ssl = rf_tls_context(w->cfg.tls_cert, w->cfg.tls_key, err, sizeof(err));
	/* the key lives in the TLS context from now on */
	explicit_bzero(w->cfg.tls_key, sizeof(w->cfg.tls_key));
	if (!ssl)
		log_errx("Redfish: TLS: %s: Redfish is off", err);
	return ssl;
}

void redfish_start(struct worker_ctx *w)
{
	struct rf_config c;
	struct redfish *r;
	char err[256];
	SSL_CTX *ssl = tls_from_config(w);

	if (!ssl)
		return; /* the TCP socket stays bound, not listening */
	r = xcalloc(1, sizeof(*r));
	fill_config(&w->cfg, &c);
	r->rf = rf_new(&c, &ops, w);
	explicit_bzero(&c, sizeof(c));
	if (!r->rf)
		fatalx("Redfish: out of memory");
	r->srv = rf_server_start(w, r->rf, ssl, err, sizeof(err));
	if (!r->srv) {
		log_errx("Redfish: %s: Redfish is off", err);
		return;
	}
	w->redfish = r;
	log_info("Redfish: https on tcp/%u", w->cfg.redfish_port);
}

void redfish_qmp_connected(struct worker_ctx *w)
{
	if (w->redfish)
		rf_qmp_connected(w->redfish->rf);
}
