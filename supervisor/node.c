/* The node table's rows: one node's address, announce reader, worker and
 * their life cycle.  An announcement is checked here against everything
 * that needs the whole table (other nodes' addresses, the rate limit);
 * the pure line rules are in addrrule.c. */
#include "supervisor.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define RATE_WINDOW_MS 10000
#define RATE_MAX_LINES 5 /* per window: a guest announces once per boot */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 10000 /* a worker that lived this long resets the back-off */

static void node_spawn(struct node *n);

static void on_retry(uv_timer_t *t)
{
	node_spawn(t->data);
}

struct node *node_new(struct sup *s, const struct config_node *c)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->sup = s;
	n->name = xstrdup(c->name);
	n->qmp_path = xstrdup(c->qmp);
	n->announce_path = xstrdup(c->announce);
	n->state = NODE_WAITING;
	n->backoff_ms = BACKOFF_MIN_MS;
	n->last.power = POWER_STATE_UNKNOWN;
	uv_timer_init(s->loop, &n->retry_timer);
	n->retry_timer.data = n;
	n->ann = announce_start(s->loop, n->announce_path, n);
	return n;
}

void node_set_error(struct node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->last_error, sizeof(n->last_error), fmt, ap);
	va_end(ap);
}

static void set_state(struct node *n, enum node_state st)
{
	if (n->state == st)
		return;
	n->state = st;
	sup_status_changed(n->sup);
}

static void timer_closed(uv_handle_t *h)
{
	struct node *n = h->data;

	free(n->name);
	free(n->qmp_path);
	free(n->announce_path);
	free(n->boot);
	free(n);
}

static void node_free(struct node *n)
{
	uv_timer_stop(&n->retry_timer);
	uv_close((uv_handle_t *)&n->retry_timer, timer_closed);
}

static void link_del(struct node *n)
{
	int r;

	if (!n->addr_on_link)
		return;
	n->addr_on_link = false;
	/* where we added it, not what the (maybe reloaded) config says now */
	r = nl_addr_del(n->link_if, &n->addr, n->link_prefix);
	if (r < 0 && r != -EADDRNOTAVAIL && r != -ENODEV)
		log_node(LOG_WARNING, n->name, n->addr_text, "removing %s from %s: %s",
			 n->addr_text, n->link_if, strerror(-r));
	else
		log_node(LOG_INFO, n->name, n->addr_text, "removed %s from %s", n->addr_text,
			 n->link_if);
	free(n->link_if);
	n->link_if = NULL;
}

static int link_add(struct node *n)
{
	const struct config *c = n->sup->cfg;
	const struct net_cidr *net;
	int r;

	if (!c->interface)
		return 0;
	net = addr_network_of(&n->addr, c->networks, c->n_networks);
	r = nl_addr_add(c->interface, &n->addr, net ? net->prefix : 32);
	if (r < 0 && r != -EEXIST) {
		node_set_error(n, "adding %s to %s: %s", n->addr_text, c->interface, strerror(-r));
		log_node(LOG_ERR, n->name, n->addr_text, "%s", n->last_error);
		return r;
	}
	/* EEXIST: left by an earlier run of ours (state restored): adopt it. */
	n->addr_on_link = true;
	n->link_if = xstrdup(c->interface);
	n->link_prefix = net ? net->prefix : 32;
	log_node(LOG_INFO, n->name, n->addr_text, "%s %s on %s",
		 r == -EEXIST ? "adopted" : "added", n->addr_text, c->interface);
	return 0;
}

void node_remove(struct node *n)
{
	n->removing = true;
	announce_stop(n->ann);
	n->ann = NULL;
	link_del(n);
	if (n->w)
		worker_stop(n->w); /* node_worker_exited() frees the node */
	else
		node_free(n);
}

static void schedule_retry(struct node *n)
{
	uv_timer_start(&n->retry_timer, on_retry, n->backoff_ms, 0);
	n->backoff_ms = n->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : n->backoff_ms * 2;
}

static void node_spawn(struct node *n)
{
	char err[REASON_MAX];
	int r;

	if (n->w || !n->has_addr || n->removing || n->sup->stopping)
		return;
	/* interface: changed or gone (reload): take the address off the old link */
	if (n->addr_on_link &&
	    (!n->sup->cfg->interface || strcmp(n->link_if, n->sup->cfg->interface) != 0))
		link_del(n);
	if (n->sup->cfg->interface && !n->addr_on_link && link_add(n) < 0) {
		set_state(n, NODE_FAILED);
		schedule_retry(n);
		return;
	}
	r = worker_spawn(n, &n->w, err, sizeof(err));
	if (r < 0) {
		node_set_error(n, "%s", err);
		log_node(LOG_ERR, n->name, n->addr_text, "cannot start worker: %s", err);
		set_state(n, NODE_FAILED);
		schedule_retry(n);
		return;
	}
	log_node(LOG_INFO, n->name, n->addr_text, "worker started, pid %ld",
		 (long)worker_pid(n->w));
	set_state(n, NODE_STARTING);
}

/* Move the node's BMC to a (or set it for the first time). */
static void node_set_address(struct node *n, const struct net_addr *a, bool save)
{
	link_del(n);
	n->addr = *a;
	n->has_addr = true;
	net_addr_str(a, n->addr_text);
	if (save)
		state_save_soon(n->sup);
	uv_timer_stop(&n->retry_timer);
	n->backoff_ms = BACKOFF_MIN_MS;
	if (n->w) {
		n->stop_requested = true;
		/* the old worker still serves the old address: not "serving" here */
		set_state(n, NODE_STARTING);
		worker_stop(n->w); /* node_worker_exited() spawns at the new address */
	}
	else
		node_spawn(n);
}

/* Printable excerpt of a hostile line for the log. */
static void sanitize(const char *line, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)line[i];
		if (isprint(c) && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static void reject(struct node *n, const char *reason, const char *line, size_t len)
{
	char shown[4 * ANNOUNCE_LINE_MAX + 8];

	sanitize(line ? line : "", line ? len : 0, shown, sizeof(shown));
	node_set_error(n, "announcement rejected: %s", reason);
	log_node(LOG_WARNING, n->name, n->addr_text, "announcement rejected: %s (line \"%s\")",
		 reason, shown);
}

/* A flood of lines must not flood the log or the state file. */
static bool rate_ok(struct node *n)
{
	uint64_t now = now_ms();

	if (now - n->rate_window_ms >= RATE_WINDOW_MS) {
		if (n->rate_dropped)
			log_node(LOG_WARNING, n->name, n->addr_text,
				 "announcement rate limit: %u lines dropped", n->rate_dropped);
		n->rate_window_ms = now;
		n->rate_count = 0;
		n->rate_dropped = 0;
	}
	if (n->rate_count < RATE_MAX_LINES) {
		n->rate_count++;
		return true;
	}
	if (n->rate_dropped++ == 0) {
		node_set_error(n, "announcement rejected: rate limit");
		log_node(LOG_WARNING, n->name, n->addr_text,
			 "announcement rejected: rate limit (%d lines per %d s); dropping until "
			 "the window ends",
			 RATE_MAX_LINES, RATE_WINDOW_MS / 1000);
	}
	return false;
}

static struct node *holder_of(struct node *n, const struct net_addr *a)
{
	struct sup *s = n->sup;

	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i] != n && s->nodes[i]->has_addr &&
		    net_addr_equal(&s->nodes[i]->addr, a))
			return s->nodes[i];
	return NULL;
}

static int check_address(struct node *n, const char *line, size_t len, struct net_addr *a)
{
	const struct config *c = n->sup->cfg;
	const char *reason;
	struct node *other;

	if (addr_check_line(line, len, c->networks, c->n_networks, a, &reason) < 0) {
		reject(n, reason, line, len);
		return -EINVAL;
	}
	other = holder_of(n, a);
	if (other) {
		char why[REASON_MAX];
		snprintf(why, sizeof(why), "address already held by node %s", other->name);
		reject(n, why, line, len);
		return -EEXIST;
	}
	return 0;
}

void node_announced(struct node *n, const char *line, size_t len, bool too_long)
{
	struct net_addr a;
	char text[NET_ADDRSTRLEN];

	if (!rate_ok(n))
		return;
	if (too_long) {
		reject(n, "line longer than 64 bytes", NULL, 0);
		return;
	}
	if (check_address(n, line, len, &a) < 0)
		return;
	if (n->has_addr && net_addr_equal(&n->addr, &a)) {
		log_node(LOG_INFO, n->name, n->addr_text, "announced %s again: no change",
			 n->addr_text);
		return;
	}
	net_addr_str(&a, text);
	if (n->has_addr)
		log_node(LOG_NOTICE, n->name, text, "BMC moves from %s to %s", n->addr_text, text);
	else
		log_node(LOG_NOTICE, n->name, text, "announced BMC address %s", text);
	node_set_address(n, &a, true);
}

void node_restore(struct node *n, const char *addr_text)
{
	struct net_addr a;

	if (check_address(n, addr_text, strlen(addr_text), &a) < 0)
		return;
	log_node(LOG_NOTICE, n->name, addr_text, "restored BMC address %s from state", addr_text);
	node_set_address(n, &a, false);
}

void node_worker_ready(struct node *n)
{
	log_node(LOG_INFO, n->name, n->addr_text, "worker serving on %s", n->addr_text);
	set_state(n, NODE_SERVING);
}

void node_worker_state(struct node *n, const struct msg_state *m)
{
	bool changed = n->last.power != m->power;

	n->last = *m;
	if (m->last_error[0])
		strlcpy0(n->last_error, m->last_error, sizeof(n->last_error));
	if (changed)
		log_node(LOG_INFO, n->name, n->addr_text, "power %s", power_state_name(m->power));
}

void node_set_boot(struct node *n, const struct msg_boot *m, bool save)
{
	static const struct msg_boot none; /* what a node without one is given */

	/* decoded states are zero-filled, so equal states compare equal */
	if (memcmp(n->boot ? n->boot : &none, m, sizeof(*m)) == 0)
		return;
	if (!n->boot)
		n->boot = xmalloc(sizeof(*n->boot));
	*n->boot = *m;
	log_node(LOG_DEBUG, n->name, n->addr_text, "boot state: %s, %s, %u devices saved",
		 boot_target_name(m->target), m->persistent ? "persistent" : "once",
		 m->n_devs);
	if (save)
		state_save_soon(n->sup);
}

void node_forget_boot_order(struct node *n)
{
	if (!n->boot || n->boot->n_devs == 0)
		return;
	log_node(LOG_INFO, n->name, n->addr_text,
		 "QMP socket changed: saved original bootindexes dropped");
	n->boot->n_devs = 0;
	memset(n->boot->devs, 0, sizeof(n->boot->devs));
	state_save_soon(n->sup);
}

void node_worker_exited(struct node *n, int64_t status, int term_signal)
{
	uint64_t lived = now_ms() - worker_started_ms(n->w);

	n->w = NULL;
	n->last.power = POWER_STATE_UNKNOWN;
	n->last.qmp_connected = 0;
	if (n->removing) {
		node_free(n);
		return;
	}
	if (n->sup->stopping) {
		sup_status_changed(n->sup);
		return;
	}
	if (n->stop_requested) {
		/* stopped by us to move or restart: start again right away */
		n->stop_requested = false;
		set_state(n, n->has_addr ? NODE_STARTING : NODE_WAITING);
		node_spawn(n);
		return;
	}
	if (term_signal)
		node_set_error(n, "worker killed by signal %d", term_signal);
	else
		node_set_error(n, "worker exited with status %lld", (long long)status);
	log_node(LOG_WARNING, n->name, n->addr_text, "%s after %llu ms; restarting",
		 n->last_error, (unsigned long long)lived);
	n->restarts++;
	if (lived >= STABLE_MS)
		n->backoff_ms = BACKOFF_MIN_MS;
	set_state(n, NODE_RESTARTING);
	schedule_retry(n);
}

void node_drop_address(struct node *n)
{
	link_del(n);
	n->has_addr = false;
	set_state(n, NODE_WAITING);
	if (n->w) {
		n->stop_requested = true;
		worker_stop(n->w);
	}
}

void node_restart(struct node *n)
{
	if (n->w) {
		n->stop_requested = true;
		worker_stop(n->w);
	}
	else if (n->has_addr)
		node_spawn(n);
}

void node_status(const struct node *n, struct ctl_node *r)
{
	memset(r, 0, sizeof(*r));
	strlcpy0(r->name, n->name, sizeof(r->name));
	if (n->has_addr)
		strlcpy0(r->address, n->addr_text, sizeof(r->address));
	r->pid = n->w ? (int32_t)worker_pid(n->w) : 0;
	r->state = n->state;
	r->power = n->w ? n->last.power : POWER_STATE_UNKNOWN;
	r->uptime_s = n->w ? (now_ms() - worker_started_ms(n->w)) / 1000 : 0;
	r->restarts = n->restarts;
	r->ipmi_rx = n->last.ipmi_rx;
	r->redfish_rx = n->last.redfish_rx;
	r->power_actions = n->last.power_actions;
	strlcpy0(r->last_error, n->last_error, sizeof(r->last_error));
}
