/* Workers: bind the node's sockets, fork+exec vbmc-worker with them at fixed
 * fd numbers, talk to it over a SOCK_SEQPACKET socketpair, answer its
 * privileged requests (priv_qmp_connect) and notice when it dies. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define STOP_GRACE_MS 2000     /* SIGTERM, then SIGKILL */
#define POWER_TIMEOUT_MS 30000 /* the worker bounds QMP itself; this is a backstop */
#define QMP_MIN_INTERVAL_MS 100
#define MAX_PENDING 32

struct pending {
	uint32_t id;
	worker_power_cb cb;
	void *arg;
	uint64_t deadline_ms;
};

struct worker {
	struct node *node;
	uv_process_t proc;
	uv_poll_t poll;
	uv_timer_t timer; /* kill grace and power deadlines */
	int chan;
	pid_t pid;
	uint64_t started_ms;
	uint64_t last_qmp_ms;
	bool stopping;
	bool exited;
	bool distrusted; /* sent something malformed: nothing more is read */
	int open_handles;
	uint32_t next_id;
	struct pending pending[MAX_PENDING];
	size_t n_pending;
};

static int bind_socket(const struct net_addr *a, uint16_t port, int type, bool freebind)
{
	struct sockaddr_storage ss;
	socklen_t sl = net_addr_sockaddr(a, port, &ss);
	int one = 1, fd;

	fd = socket(a->family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* An address we just put on a link may still be tentative (IPv6 DAD). */
	if (freebind)
		setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int connect_qmp(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlcpy0(sun.sun_path, path, sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "QMP path too long");
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* AF_UNIX connect completes at once or fails (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = -errno;
		snprintf(err, errlen, "connecting QMP %s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

static void handle_closed(uv_handle_t *h)
{
	struct worker *w = h->data;

	if (--w->open_handles == 0)
		free(w);
}

static void fail_pending(struct worker *w, enum power_result res, const char *why)
{
	while (w->n_pending) {
		struct pending p = w->pending[--w->n_pending];
		struct msg_power_result r = {.id = p.id, .result = res};
		strlcpy0(r.detail, why, sizeof(r.detail));
		p.cb(p.arg, &r);
	}
}

static void worker_close(struct worker *w)
{
	uv_close((uv_handle_t *)&w->poll, handle_closed);
	close(w->chan);
	w->chan = -1;
	uv_close((uv_handle_t *)&w->timer, handle_closed);
	uv_close((uv_handle_t *)&w->proc, handle_closed);
}

static void read_frames(struct worker *w);

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct worker *w = p->data;
	struct node *n = w->node;

	w->exited = true;
	/* What it sent just before it died still counts: a boot override set
	 * right before a crash must reach the state file. */
	if (!w->distrusted)
		read_frames(w);
	fail_pending(w, POWER_E_UNAVAILABLE, "worker exited");
	worker_close(w);
	node_worker_exited(n, status, term_signal);
}

/* The worker misbehaved: it cannot be trusted to keep talking. */
static void kill_worker(struct worker *w, const char *why)
{
	log_node(LOG_ERR, w->node->name, w->node->addr_text, "killing worker %ld: %s",
		 (long)w->pid, why);
	node_set_error(w->node, "worker killed: %s", why);
	w->distrusted = true;
	uv_poll_stop(&w->poll);
	if (!w->exited) /* reaped already: the pid may be someone else's now */
		kill(w->pid, SIGKILL);
}

static void send_qmp(struct worker *w)
{
	struct node *n = w->node;
	struct msg_qmp_none none = {0};
	uint64_t now = now_ms();
	int fd, r;

	if (now - w->last_qmp_ms < QMP_MIN_INTERVAL_MS) {
		strlcpy0(none.reason, "asked again too soon", sizeof(none.reason));
		proto_send_json(w->chan, MSG_QMP_NONE, msg_qmp_none_encode(&none), NULL, 0);
		return;
	}
	w->last_qmp_ms = now;
	fd = connect_qmp(n->qmp_path, none.reason, sizeof(none.reason));
	if (fd < 0) {
		log_node(LOG_DEBUG, n->name, n->addr_text, "%s", none.reason);
		proto_send_json(w->chan, MSG_QMP_NONE, msg_qmp_none_encode(&none), NULL, 0);
		return;
	}
	/* answer first, then the fd: the fd rides on the answer itself */
	r = proto_send_json(w->chan, MSG_QMP_FD, msg_empty_encode(), &fd, 1);
	if (r < 0)
		log_node(LOG_WARNING, n->name, n->addr_text, "passing QMP fd: %s", strerror(-r));
	close(fd);
}

static void handle_power_result(struct worker *w, const struct msg_power_result *m)
{
	for (size_t i = 0; i < w->n_pending; i++) {
		if (w->pending[i].id != m->id)
			continue;
		struct pending p = w->pending[i];
		w->pending[i] = w->pending[--w->n_pending];
		p.cb(p.arg, m);
		return;
	}
	/* late answer after our deadline: nothing waits for it any more */
}

static int handle_boot(struct worker *w, const struct proto_frame *f)
{
	struct msg_boot m;

	if (msg_boot_decode(f->payload, f->len, &m) < 0)
		return -EBADMSG;
	node_set_boot(w->node, &m, true);
	return 0;
}

/* One row per message a worker may send; anything else is a protocol error.
 * After the worker exited only what it reported still counts (read_frames
 * from on_exit_cb): it is no longer serving, nor wants QMP. */
static int dispatch(struct worker *w, const struct proto_frame *f)
{
	struct msg_state st;
	struct msg_power_result pr;

	switch (f->type) {
	case MSG_READY:
		if (msg_empty_decode(f->payload, f->len) < 0)
			return -EBADMSG;
		if (!w->exited)
			node_worker_ready(w->node);
		return 0;
	case MSG_STATE:
		if (msg_state_decode(f->payload, f->len, &st) < 0)
			return -EBADMSG;
		node_worker_state(w->node, &st);
		return 0;
	case MSG_POWER_RESULT:
		if (msg_power_result_decode(f->payload, f->len, &pr) < 0)
			return -EBADMSG;
		handle_power_result(w, &pr);
		return 0;
	case MSG_QMP_WANT:
		if (msg_empty_decode(f->payload, f->len) < 0)
			return -EBADMSG;
		if (!w->exited)
			send_qmp(w);
		return 0;
	case MSG_BOOT_STATE:
		return handle_boot(w, f);
	}
	return -EBADMSG;
}

static void read_frames(struct worker *w)
{
	struct proto_frame *f = xmalloc(sizeof(*f));

	for (int i = 0; i < 64; i++) {
		int r = proto_recv(w->chan, f);
		if (r == -EAGAIN)
			break;
		if (r == -EPIPE || r == -ECONNRESET) {
			uv_poll_stop(&w->poll); /* exit callback follows */
			break;
		}
		if (r == 0 && f->nfds) {
			proto_frame_close_fds(f);
			r = -EBADMSG; /* workers never send fds */
		}
		if (r == 0)
			r = dispatch(w, f);
		if (r < 0) {
			kill_worker(w, "malformed message on the worker channel");
			break;
		}
	}
	free(f);
}

static void on_chan(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	read_frames(h->data);
}

static void on_timer(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now = now_ms();

	if (w->stopping && !w->exited) {
		log_node(LOG_WARNING, w->node->name, w->node->addr_text,
			 "worker %ld ignored SIGTERM; killing", (long)w->pid);
		kill(w->pid, SIGKILL);
	}
	for (size_t i = 0; i < w->n_pending;) {
		if (w->pending[i].deadline_ms > now) {
			i++;
			continue;
		}
		struct pending p = w->pending[i];
		struct msg_power_result r = {.id = p.id, .result = POWER_E_TIMEOUT};
		w->pending[i] = w->pending[--w->n_pending];
		strlcpy0(r.detail, "worker did not answer", sizeof(r.detail));
		p.cb(p.arg, &r);
	}
	if (w->n_pending && !w->stopping)
		uv_timer_start(&w->timer, on_timer, 1000, 0);
}

#if defined(__SANITIZE_ADDRESS__)
#define VBMC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VBMC_ASAN 1
#endif
#endif

#ifdef VBMC_ASAN
/* Sanitizer builds (-Dsanitize_all=true) only.  LeakSanitizer's check at
 * exit stops the world with clone + ptrace and lists /proc/self/task: the
 * worker's seccomp filter kills that with SIGSYS, so every worker would die
 * of SIGSYS instead of exiting.  Workers therefore run with detect_leaks=0
 * appended (later flags win, and LSAN_OPTIONS is parsed after ASAN_OPTIONS);
 * every other ASan/UBSan check stays on.  The worker's code is leak-checked
 * outside the sandbox: unit tests (ASan+LSan, valgrind) and fuzz targets. */
static char *no_leaks(char *buf, size_t size, const char *var)
{
	size_t n = strlen(var);

	snprintf(buf, size, "%s%sdetect_leaks=0", var, var[n - 1] == '=' ? "" : ":");
	return buf;
}
#endif

/* Keep only what a worker needs from our environment; NOTIFY_SOCKET in
 * particular must not leak (only the supervisor talks to systemd). */
static char **worker_env(void)
{
	static const char *const keep[] = {"VBMC_LOG=", "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
					   "LSAN_OPTIONS=", "TZ="};
	extern char **environ;
	static char *env[ARRAY_SIZE(keep) + 2];
	size_t k = 0;
#ifdef VBMC_ASAN
	static char asan[1024], lsan[1024];
	bool have_asan = false;
#endif

	for (char **e = environ; *e; e++)
		for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0 && k < ARRAY_SIZE(keep))
				env[k++] = *e;
#ifdef VBMC_ASAN
	for (size_t i = 0; i < k; i++) {
		if (strncmp(env[i], "ASAN_OPTIONS=", 13) == 0) {
			env[i] = no_leaks(asan, sizeof(asan), env[i]);
			have_asan = true;
		} else if (strncmp(env[i], "LSAN_OPTIONS=", 13) == 0) {
			env[i] = no_leaks(lsan, sizeof(lsan), env[i]);
		}
	}
	if (!have_asan)
		env[k++] = no_leaks(asan, sizeof(asan), "ASAN_OPTIONS=");
#endif
	env[k] = NULL;
	return env;
}

static int start_process(struct worker *w, int chan_child, int udp, int tcp)
{
	struct node *n = w->node;
	char *args[] = {n->sup->worker_path, "--node", n->name, NULL};
	uv_stdio_container_t stdio[6] = {
		{.flags = UV_IGNORE},
		{.flags = UV_INHERIT_FD, .data.fd = 1},
		{.flags = UV_INHERIT_FD, .data.fd = 2},
		{.flags = UV_INHERIT_FD, .data.fd = chan_child},
		{.flags = UV_INHERIT_FD, .data.fd = udp},
		{.flags = UV_INHERIT_FD, .data.fd = tcp},
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = n->sup->worker_path,
		.args = args,
		.env = worker_env(),
		.stdio = stdio,
		.stdio_count = 6,
	};

	w->proc.data = w;
	return uv_spawn(n->sup->loop, &w->proc, &o);
}

static void boot_devs_into(const struct config_node *cn, struct msg_config *m)
{
	for (int k = 0; cn && k < 3; k++)
		for (size_t j = 0; j < cn->n_boot_devs[k] && j < MSG_BOOT_DEVS_MAX; j++)
			strlcpy0(m->boot_devs[k][m->n_boot_devs[k]++], cn->boot_devs[k][j],
				 sizeof(m->boot_devs[k][0]));
}

/* m arrives with the TLS material already in it (worker_spawn). */
static int send_config(struct worker *w, struct msg_config *m)
{
	struct node *n = w->node;
	const struct config *c = n->sup->cfg;
	const struct net_cidr *net = addr_network_of(&n->addr, c->networks, c->n_networks);

	m->ipmi_port = c->ipmi_port;
	m->redfish_port = c->redfish_port;
	m->uid = n->sup->uid;
	m->gid = n->sup->gid;
	m->verbose = n->sup->verbose;
	strlcpy0(m->node, n->name, sizeof(m->node));
	strlcpy0(m->address, n->addr_text, sizeof(m->address));
	m->prefix = (uint8_t)(net ? net->prefix : (n->addr.family == AF_INET ? 32 : 128));
	m->ipmi_suite0 = c->ipmi.cipher_suite_0;
	m->ipmi_auth_none = c->ipmi.auth_none;
	m->ipmi_straight = c->ipmi.straight_password;
	m->ipmi_max_sessions = c->ipmi.max_sessions;
	m->ipmi_session_timeout_s = c->ipmi.session_timeout_s;
	boot_devs_into(config_find_node(c, n->name), m);
	for (size_t i = 0; i < c->n_users && m->n_users < MSG_MAX_USERS; i++) {
		struct msg_user *u = &m->users[m->n_users++];
		size_t pl = strlen(c->users[i].password);
		strlcpy0(u->name, c->users[i].name, sizeof(u->name));
		u->pwlen = (uint8_t)(pl > MSG_PASSWORD_MAX ? MSG_PASSWORD_MAX : pl);
		memcpy(u->password, c->users[i].password, u->pwlen);
		u->role = (uint8_t)c->users[i].role;
	}
	return proto_send_json(w->chan, MSG_CONFIG, msg_config_encode(m), NULL, 0);
}

/* Right after the config, always: what the node's last worker reported
 * (or the state file kept), else the empty state. */
static int send_boot(struct worker *w)
{
	static const struct msg_boot none;
	const struct msg_boot *b = w->node->boot ? w->node->boot : &none;

	return proto_send_json(w->chan, MSG_BOOT_RESTORE, msg_boot_encode(b), NULL, 0);
}

static int open_sockets(struct node *n, int *udp, int *tcp, char *err, size_t errlen)
{
	const struct config *c = n->sup->cfg;
	bool fb = c->interface != NULL;

	*udp = bind_socket(&n->addr, c->ipmi_port, SOCK_DGRAM, fb);
	if (*udp < 0) {
		snprintf(err, errlen, "binding %s udp/%u: %s", n->addr_text, c->ipmi_port,
			 strerror(-*udp));
		return *udp;
	}
	*tcp = bind_socket(&n->addr, c->redfish_port, SOCK_STREAM, fb);
	if (*tcp < 0) {
		int r = *tcp;
		snprintf(err, errlen, "binding %s tcp/%u: %s", n->addr_text, c->redfish_port,
			 strerror(-r));
		close(*udp);
		return r;
	}
	return 0;
}

static int spawn_with(struct node *n, struct msg_config *m, struct worker **ret, char *err,
		      size_t errlen)
{
	struct worker *w;
	int sv[2], udp, tcp, r;

	r = open_sockets(n, &udp, &tcp, err, errlen);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		close(udp);
		close(tcp);
		return r;
	}
	w = xcalloc(1, sizeof(*w));
	w->node = n;
	w->chan = sv[0];
	r = start_process(w, sv[1], udp, tcp);
	close(sv[1]);
	close(udp);
	close(tcp);
	if (r < 0) {
		snprintf(err, errlen, "spawning %s: %s", n->sup->worker_path, uv_strerror(r));
		close(sv[0]);
		/* uv_spawn failed: the handle still has to be closed */
		w->open_handles = 1;
		w->proc.data = w;
		uv_close((uv_handle_t *)&w->proc, handle_closed);
		return r;
	}
	w->pid = w->proc.pid;
	w->started_ms = now_ms();
	w->open_handles = 3;
	fd_nonblock(w->chan);
	uv_timer_init(n->sup->loop, &w->timer);
	w->timer.data = w;
	uv_poll_init(n->sup->loop, &w->poll, w->chan);
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_chan);
	r = send_config(w, m);
	if (r == 0)
		r = send_boot(w);
	if (r < 0)
		kill_worker(w, "cannot send its configuration");
	*ret = w;
	return 0;
}

int worker_spawn(struct node *n, struct worker **ret, char *err, size_t errlen)
{
	/* too big for the stack; it carries passwords and the TLS key: wiped */
	struct msg_config *m = xcalloc(1, sizeof(*m));
	int r;

	/* TLS first: a bad certificate or key fails the spawn before anything
	 * is bound or started, with the reason as the node's last error */
	r = tls_for_node(n->sup, n, m->tls_cert, sizeof(m->tls_cert), m->tls_key,
			 sizeof(m->tls_key), err, errlen);
	if (r == 0)
		r = spawn_with(n, m, ret, err, errlen);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return r;
}

void worker_stop(struct worker *w)
{
	if (w->stopping || w->exited)
		return;
	w->stopping = true;
	kill(w->pid, SIGTERM);
	uv_timer_start(&w->timer, on_timer, STOP_GRACE_MS, 0);
}

pid_t worker_pid(const struct worker *w)
{
	return w->pid;
}

uint64_t worker_started_ms(const struct worker *w)
{
	return w->started_ms;
}

int worker_power(struct worker *w, enum power_action a, worker_power_cb cb, void *arg)
{
	struct msg_power m = {.action = a};
	int r;

	if (w->stopping || w->exited)
		return -ESRCH;
	if (w->n_pending == MAX_PENDING)
		return -EBUSY;
	m.id = ++w->next_id;
	r = proto_send_json(w->chan, MSG_POWER, msg_power_encode(&m), NULL, 0);
	if (r < 0)
		return r;
	w->pending[w->n_pending++] = (struct pending){m.id, cb, arg, now_ms() + POWER_TIMEOUT_MS};
	if (!uv_is_active((uv_handle_t *)&w->timer))
		uv_timer_start(&w->timer, on_timer, 1000, 0);
	return 0;
}

void worker_forget_arg(struct worker *w, void *arg)
{
	for (size_t i = 0; i < w->n_pending;) {
		if (w->pending[i].arg == arg)
			w->pending[i] = w->pending[--w->n_pending];
		else
			i++;
	}
}
