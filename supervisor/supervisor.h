/* The supervisor's internal interfaces: one section per file. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/config.h"
#include "common/net.h"
#include "proto/proto.h"

struct node;
struct worker;
struct announce;

/* The daemon (daemon.c). */
struct sup {
	uv_loop_t *loop;
	struct config *cfg;
	char *config_path;
	struct node **nodes;
	size_t n_nodes;
	struct control *ctl;
	char *worker_path;
	uid_t uid; /* the unprivileged user of `user:` */
	gid_t gid;
	int verbose;
	bool stopping;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t state_retry; /* state file write failed: try again */
	bool state_dirty;
	bool state_pending; /* a batched save is scheduled */
	uv_timer_t stop_timer;
	uint64_t stop_deadline_ms;
};

int cmd_run(const char *config_path, int verbose);
/* Something a status line depends on changed: refresh sd_notify STATUS=. */
void sup_status_changed(struct sup *s);
struct node *sup_find_node(struct sup *s, const char *name);

/* Address rules for one announced line (addrrule.c): pure, fuzzable.
 * 0 and *ret on success; -EINVAL and a static *reason otherwise. */
#define ANNOUNCE_LINE_MAX 64
int addr_check_line(const char *line, size_t len, const struct net_cidr *nets, size_t n_nets,
		    struct net_addr *ret, const char **reason);
/* The configured network that contains a (for the prefix length), or NULL. */
const struct net_cidr *addr_network_of(const struct net_addr *a, const struct net_cidr *nets,
				       size_t n_nets);

/* Line assembly from the announce stream (addrrule.c), also pure. */
struct linebuf {
	char buf[ANNOUNCE_LINE_MAX + 1];
	size_t len;
	bool discarding; /* inside an over-long line: drop until '\n' */
};
/* line: a complete line (without '\n'), or NULL with too_long set when an
 * over-long line was dropped. */
typedef void (*linebuf_cb)(void *arg, const char *line, size_t len, bool too_long);
void linebuf_feed(struct linebuf *lb, const char *data, size_t n, linebuf_cb cb, void *arg);

/* Announce port readers (announce.c). */
struct announce *announce_start(uv_loop_t *loop, const char *path, struct node *n);
void announce_stop(struct announce *a);

/* Nodes (node.c). */
struct node {
	struct sup *sup;
	char *name;
	char *qmp_path;
	char *announce_path;
	enum node_state state;
	bool has_addr;
	struct net_addr addr;
	char addr_text[NET_ADDRSTRLEN];
	bool addr_on_link; /* we put addr on link_if */
	char *link_if;     /* the link and prefix we added it with: the */
	unsigned link_prefix; /* config may have changed since (reload) */
	struct announce *ann;
	struct worker *w;
	uint32_t restarts;
	unsigned backoff_ms;
	uv_timer_t retry_timer;
	struct msg_state last; /* from the worker */
	struct msg_boot *boot; /* from the worker or the state file; NULL: none known */
	char last_error[REASON_MAX];
	uint64_t rate_window_ms;
	unsigned rate_count;
	unsigned rate_dropped;
	bool removing;
	bool stop_requested; /* we stopped the worker to move or restart it */
};

struct node *node_new(struct sup *s, const struct config_node *c);
/* Stop everything of the node and free it (asynchronously if a worker runs). */
void node_remove(struct node *n);
void node_announced(struct node *n, const char *line, size_t len, bool too_long);
/* Restore an address from the state file (no rate limit, still validated). */
void node_restore(struct node *n, const char *addr_text);
void node_worker_ready(struct node *n);
void node_worker_state(struct node *n, const struct msg_state *m);
void node_worker_exited(struct node *n, int64_t status, int term_signal);
/* The node's boot state (worker report or state file), given to each new
 * worker; save: write the state file soon if it changed. */
void node_set_boot(struct node *n, const struct msg_boot *m, bool save);
/* Another QEMU (qmp: changed): the saved original bootindexes are not its own. */
void node_forget_boot_order(struct node *n);
/* Restart the worker (config change): keep the address if still valid. */
void node_restart(struct node *n);
/* The address is no longer allowed (reload): stop the BMC, take it off the link. */
void node_drop_address(struct node *n);
void node_status(const struct node *n, struct ctl_node *ret);
void node_set_error(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Workers (spawn.c). */
typedef void (*worker_power_cb)(void *arg, const struct msg_power_result *r);
int worker_spawn(struct node *n, struct worker **ret, char *err, size_t errlen);
/* SIGTERM now, SIGKILL after a grace period; node_worker_exited() follows. */
void worker_stop(struct worker *w);
pid_t worker_pid(const struct worker *w);
uint64_t worker_started_ms(const struct worker *w);
int worker_power(struct worker *w, enum power_action a, worker_power_cb cb, void *arg);
/* The control client that asked went away: forget its callbacks. */
void worker_forget_arg(struct worker *w, void *arg);

/* State file (state.c): node name -> announced address and boot state. */
int state_save(struct sup *s);
/* Save within a few tens of ms, once for a burst of changes. */
void state_save_soon(struct sup *s);
/* Calls node_set_boot() and node_restore() for every known node saved. */
int state_load(struct sup *s);

/* Redfish TLS material for a node (tls.c): the configured tls: cert/key,
 * or a per-node self-signed certificate generated with GnuTLS and kept in
 * state-dir/tls/ (0600), regenerated only when missing, unreadable or not
 * valid for the node's current address.  PEM text into cert/key.
 * 0, or -errno with a message in err. */
int tls_for_node(struct sup *s, const struct node *n, char *cert, size_t certsize, char *key,
		 size_t keysize, char *err, size_t errlen);

/* Addresses on a link (netlink.c), via rtnetlink. */
int nl_addr_add(const char *ifname, const struct net_addr *a, unsigned prefix);
int nl_addr_del(const char *ifname, const struct net_addr *a, unsigned prefix);

/* Control socket (control.c). */
struct control;
int control_start(struct sup *s, struct control **ret);
void control_stop(struct control *c);

/* CLI side (client.c). */
int cmd_status(const char *config_path, const char *node, bool json);
int cmd_power(const char *config_path, const char *node, const char *action);
int cmd_check(const char *config_path);
