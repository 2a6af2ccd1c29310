/* `vbmc-supervisor run`: the daemon.  Set-up order: config, user lookup,
 * directories, control socket, nodes (restoring saved addresses), then
 * READY=1 to systemd.  SIGTERM/SIGINT stop every worker and take our
 * addresses off the link; SIGHUP re-reads the config and touches only the
 * nodes whose settings changed. */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/log_loop.h"
#include "common/util.h"
#include "vbmc-build.h"

#define STOP_WAIT_MS 5000

struct node *sup_find_node(struct sup *s, const char *name)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (strcmp(s->nodes[i]->name, name) == 0)
			return s->nodes[i];
	return NULL;
}

void sup_status_changed(struct sup *s)
{
	size_t serving = 0;

	for (size_t i = 0; i < s->n_nodes; i++)
		serving += s->nodes[i]->state == NODE_SERVING;
	sd_notifyf(0, "STATUS=%zu of %zu nodes serving", serving, s->n_nodes);
}

/* The worker binary: next to us in the build tree, else where meson
 * installed it; VBMC_WORKER overrides both (tests, odd layouts). */
static char *find_worker(void)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	const char *env = getenv("VBMC_WORKER");
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/../worker/vbmc-worker", self);
			if (access(path, X_OK) == 0)
				return xstrdup(path);
		}
	}
	snprintf(path, sizeof(path), "%s/vbmc/vbmc-worker", VBMC_LIBEXECDIR);
	return xstrdup(path);
}

static int lookup_user(struct sup *s)
{
	struct passwd *pw = getpwnam(s->cfg->user);

	if (!pw) {
		log_errx("user '%s' (config key user) does not exist; contrib/install-deps.sh "
			 "creates 'vbmc'",
			 s->cfg->user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		log_errx("user '%s' is root: workers must run unprivileged", s->cfg->user);
		return -EPERM;
	}
	s->uid = pw->pw_uid;
	s->gid = pw->pw_gid;
	return 0;
}

static void add_node(struct sup *s, const struct config_node *c)
{
	s->nodes = xrealloc(s->nodes, (s->n_nodes + 1) * sizeof(*s->nodes));
	s->nodes[s->n_nodes++] = node_new(s, c);
}

static void drop_node_at(struct sup *s, size_t i)
{
	struct node *n = s->nodes[i];

	log_node(LOG_NOTICE, n->name, n->addr_text, "node removed from the configuration");
	s->nodes[i] = s->nodes[--s->n_nodes];
	node_remove(n);
}

static bool users_changed(const struct config *a, const struct config *b)
{
	if (a->n_users != b->n_users)
		return true;
	for (size_t i = 0; i < a->n_users; i++)
		if (strcmp(a->users[i].name, b->users[i].name) != 0 ||
		    strcmp(a->users[i].password, b->users[i].password) != 0 ||
		    a->users[i].role != b->users[i].role)
			return true;
	return false;
}

static bool str_changed(const char *a, const char *b)
{
	return !a != !b || (a && strcmp(a, b) != 0);
}

static bool globals_changed(const struct config *a, const struct config *b)
{
	/* a new tls: pair (or none any more) needs new workers */
	if (str_changed(a->tls_cert, b->tls_cert) || str_changed(a->tls_key, b->tls_key))
		return true;
	if (users_changed(a, b) || memcmp(&a->ipmi, &b->ipmi, sizeof(a->ipmi)) != 0)
		return true;
	if (a->ipmi_port != b->ipmi_port || a->redfish_port != b->redfish_port)
		return true;
	if (strcmp(a->user, b->user) != 0)
		return true;
	if (!a->interface != !b->interface ||
	    (a->interface && strcmp(a->interface, b->interface) != 0))
		return true;
	return false;
}

static bool boot_devs_changed(const struct config_node *a, const struct config_node *b)
{
	for (int k = 0; k < 3; k++) {
		if (a->n_boot_devs[k] != b->n_boot_devs[k])
			return true;
		for (size_t j = 0; j < a->n_boot_devs[k]; j++)
			if (strcmp(a->boot_devs[k][j], b->boot_devs[k][j]) != 0)
				return true;
	}
	return false;
}

/* A node keeps its worker only if nothing it was started with changed. */
static void reconcile_node(struct sup *s, struct node *n, const struct config_node *c,
			   const struct config_node *was, bool globals)
{
	bool paths = strcmp(n->qmp_path, c->qmp) != 0 || strcmp(n->announce_path, c->announce);

	globals = globals || (was && boot_devs_changed(was, c));
	if (paths) {
		if (strcmp(n->qmp_path, c->qmp) != 0)
			node_forget_boot_order(n);
		free(n->qmp_path);
		n->qmp_path = xstrdup(c->qmp);
		if (strcmp(n->announce_path, c->announce) != 0) {
			announce_stop(n->ann);
			free(n->announce_path);
			n->announce_path = xstrdup(c->announce);
			n->ann = announce_start(s->loop, n->announce_path, n);
		}
	}
	if (n->has_addr && !addr_network_of(&n->addr, s->cfg->networks, s->cfg->n_networks)) {
		log_node(LOG_WARNING, n->name, n->addr_text,
			 "address no longer inside the configured networks: BMC stopped");
		node_drop_address(n);
		return;
	}
	if (paths || globals) {
		log_node(LOG_INFO, n->name, n->addr_text, "settings changed: restarting worker");
		node_restart(n);
	}
}

static void reload(struct sup *s)
{
	struct config *nc, *old = s->cfg;
	char *errors = NULL;
	bool globals;

	if (config_load(s->config_path, &nc, &errors) < 0) {
		log_errx("reload: configuration not changed:\n%s", errors ? errors : "");
		free(errors);
		return;
	}
	if (strcmp(nc->user, old->user) != 0) {
		s->cfg = nc;
		if (lookup_user(s) < 0) {
			s->cfg = old;
			config_free(nc);
			return;
		}
	}
	globals = globals_changed(old, nc);
	s->cfg = nc;
	for (size_t i = s->n_nodes; i-- > 0;)
		if (!config_find_node(nc, s->nodes[i]->name))
			drop_node_at(s, i);
	for (size_t i = 0; i < nc->n_nodes; i++) {
		struct node *n = sup_find_node(s, nc->nodes[i].name);
		if (n) {
			reconcile_node(s, n, &nc->nodes[i], config_find_node(old, n->name),
				       globals);
		} else {
			log_node(LOG_NOTICE, nc->nodes[i].name, NULL, "node added");
			add_node(s, &nc->nodes[i]);
		}
	}
	config_free(old);
	state_save(s);
	sup_status_changed(s);
	log_notice("configuration reloaded: %zu nodes", s->n_nodes);
}

static void check_stopped(uv_timer_t *t)
{
	struct sup *s = t->data;
	bool any = false;

	for (size_t i = 0; i < s->n_nodes; i++)
		any |= s->nodes[i]->w != NULL;
	if (any && now_ms() < s->stop_deadline_ms) {
		uv_timer_start(t, check_stopped, 50, 0);
		return;
	}
	uv_stop(s->loop);
}

static void shutdown_all(struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->state_pending)
		state_save(s); /* a batched save must not be lost on the way out */
	log_notice("stopping %zu nodes", s->n_nodes);
	sd_notify(0, "STOPPING=1");
	control_stop(s->ctl);
	s->ctl = NULL;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct node *n = s->nodes[i];
		announce_stop(n->ann);
		n->ann = NULL;
		if (n->w)
			worker_stop(n->w);
	}
	s->stop_deadline_ms = now_ms() + STOP_WAIT_MS;
	s->stop_timer.data = s;
	uv_timer_start(&s->stop_timer, check_stopped, 0, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct sup *s = h->data;

	if (signum == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		reload(s);
		sd_notify(0, "READY=1");
		return;
	}
	shutdown_all(s);
}

static void start_signals(struct sup *s)
{
	uv_signal_t *sigs[] = {&s->sig_term, &s->sig_int, &s->sig_hup};
	int nums[] = {SIGTERM, SIGINT, SIGHUP};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		uv_signal_init(s->loop, sigs[i]);
		sigs[i]->data = s;
		uv_signal_start(sigs[i], on_signal, nums[i]);
	}
}

static int prepare_dirs(struct sup *s)
{
	int r = mkdir_p(s->cfg->state_dir, 0700);

	if (r < 0) {
		log_errx("state-dir %s: %s", s->cfg->state_dir, strerror(-r));
		return r;
	}
	r = mkdir_p(s->cfg->run_dir, 0755);
	if (r < 0)
		log_errx("run-dir %s: %s", s->cfg->run_dir, strerror(-r));
	return r;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void cleanup(struct sup *s)
{
	/* Take our addresses off the link; workers are gone by now. */
	for (size_t i = 0; i < s->n_nodes; i++)
		node_remove(s->nodes[i]);
	s->n_nodes = 0;
	uv_walk(s->loop, close_walk, NULL);
	uv_run(s->loop, UV_RUN_DEFAULT);
	uv_loop_close(s->loop);
	free(s->nodes);
	free(s->worker_path);
	config_free(s->cfg);
}

static int setup(struct sup *s)
{
	char *errors = NULL;
	int r;

	if (config_load(s->config_path, &s->cfg, &errors) < 0) {
		log_errx("configuration errors:\n%s", errors ? errors : "");
		free(errors);
		return -EINVAL;
	}
	r = lookup_user(s);
	if (r == 0)
		r = prepare_dirs(s);
	if (r == 0) {
		r = control_start(s, &s->ctl);
		if (r < 0)
			log_errx("control socket in %s: %s", s->cfg->run_dir, strerror(-r));
	}
	return r;
}

int cmd_run(const char *config_path, int verbose)
{
	struct sup s = {0};
	int r;

	s.loop = uv_default_loop();
	log_attach_loop(s.loop);
	s.config_path = (char *)config_path;
	s.verbose = verbose;
	s.worker_path = find_worker();
	uv_timer_init(s.loop, &s.state_retry);
	uv_timer_init(s.loop, &s.stop_timer);
	r = setup(&s);
	if (r < 0) {
		cleanup(&s);
		return 1;
	}
	start_signals(&s);
	for (size_t i = 0; i < s.cfg->n_nodes; i++)
		add_node(&s, &s.cfg->nodes[i]);
	state_load(&s);
	log_notice("vbmc-supervisor %s started: %zu nodes, worker %s", VBMC_VERSION, s.n_nodes,
		   s.worker_path);
	sd_notify(0, "READY=1");
	sup_status_changed(&s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	cleanup(&s);
	log_notice("stopped");
	return 0;
}
