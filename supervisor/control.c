/* The control socket (run-dir/control.sock) the CLI talks to: SEQPACKET,
 * mode 0600, and the peer's uid checked as well (root or our own uid), so
 * that neither the file mode nor a mis-set umask alone guards power. */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define MAX_CLIENTS 16          /* beyond: idle ones closed, else the backlog waits */
#define CLIENT_IDLE_MS 60000
#define STATUS_SEND_MS 2000 /* a listing may block the loop this long at most */

struct client {
	struct control *ctl;
	int fd;
	uv_poll_t poll;
	uv_timer_t idle;
	int open_handles;
	struct node *waiting_on; /* power request in flight */
	uint64_t last_ms;        /* last request (or the accept) */
	bool closing;
};

struct control {
	struct sup *sup;
	int fd;
	uv_poll_t poll;
	char path[PATH_MAX];
	size_t n_clients;
	struct client *clients[MAX_CLIENTS];
	bool paused; /* full: new connections wait in the backlog */
};

static void on_accept(uv_poll_t *h, int status, int events);

/* Room again (a client left or was answered): take the waiting ones. */
static void resume_accept(struct control *ctl)
{
	if (!ctl->paused)
		return;
	ctl->paused = false;
	uv_poll_start(&ctl->poll, UV_READABLE, on_accept);
}

static void client_handle_closed(uv_handle_t *h)
{
	struct client *c = h->data;

	if (--c->open_handles == 0)
		free(c);
}

static void client_close(struct client *c)
{
	struct control *ctl = c->ctl;

	if (c->closing)
		return;
	c->closing = true;
	if (c->waiting_on && c->waiting_on->w)
		worker_forget_arg(c->waiting_on->w, c);
	for (size_t i = 0; i < ctl->n_clients; i++)
		if (ctl->clients[i] == c) {
			ctl->clients[i] = ctl->clients[--ctl->n_clients];
			break;
		}
	uv_close((uv_handle_t *)&c->poll, client_handle_closed);
	uv_close((uv_handle_t *)&c->idle, client_handle_closed);
	close(c->fd);
	resume_accept(ctl);
}

static void reply_result(struct client *c, int ok, enum power_result pr, const char *msg)
{
	struct ctl_result r = {.ok = ok, .power = pr};

	strlcpy0(r.message, msg, sizeof(r.message));
	proto_send_json(c->fd, CTL_RESULT, ctl_result_encode(&r), NULL, 0);
}

/* A listing of many nodes outgrows the socket buffer (one frame per node):
 * wait for the CLI to read, within a bound, rather than fail. */
static int send_waiting(int fd, uint16_t type, char *json, uint64_t deadline)
{
	size_t len;
	int r;

	if (!json)
		return -ENOMEM;
	len = strlen(json);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		uint64_t now = now_ms();
		r = proto_send(fd, type, json, len, NULL, 0);
		if (r != -EAGAIN || now >= deadline)
			break;
		poll(&p, 1, (int)(deadline - now));
	}
	free(json);
	return r;
}

static int handle_status(struct client *c, const struct proto_frame *f)
{
	uint64_t deadline = now_ms() + STATUS_SEND_MS;
	struct sup *s = c->ctl->sup;
	struct ctl_status q;
	struct ctl_node st;
	bool found = false;

	if (ctl_status_decode(f->payload, f->len, &q) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (q.node[0] && strcmp(q.node, s->nodes[i]->name) != 0)
			continue;
		found = true;
		node_status(s->nodes[i], &st);
		if (send_waiting(c->fd, CTL_NODE, ctl_node_encode(&st), deadline) < 0)
			return -EIO;
	}
	if (q.node[0] && !found) {
		char msg[REASON_MAX];
		snprintf(msg, sizeof(msg), "no node named %s", q.node);
		reply_result(c, 0, POWER_OK, msg);
		return 0;
	}
	send_waiting(c->fd, CTL_END, msg_empty_encode(), deadline);
	return 0;
}

static void power_done(void *arg, const struct msg_power_result *r)
{
	struct client *c = arg;
	char msg[REASON_MAX];

	c->waiting_on = NULL;
	if (r->detail[0])
		snprintf(msg, sizeof(msg), "%s", r->detail);
	else
		snprintf(msg, sizeof(msg), "%s", power_result_name(r->result));
	reply_result(c, r->result == POWER_OK, r->result, msg);
}

static int handle_power(struct client *c, const struct proto_frame *f)
{
	struct ctl_power q;
	struct node *n;
	int r;

	if (ctl_power_decode(f->payload, f->len, &q) < 0)
		return -EBADMSG;
	n = sup_find_node(c->ctl->sup, q.node);
	if (!n) {
		reply_result(c, 0, POWER_OK, "no such node");
		return 0;
	}
	if (!n->w || n->state != NODE_SERVING) {
		reply_result(c, 0, POWER_E_UNAVAILABLE, "node has no serving worker");
		return 0;
	}
	if (c->waiting_on) {
		reply_result(c, 0, POWER_E_BUSY, "one request at a time per connection");
		return 0;
	}
	log_node(LOG_INFO, n->name, n->addr_text, "power %s requested from the CLI",
		 power_action_name(q.action));
	r = worker_power(n->w, q.action, power_done, c);
	if (r < 0) {
		reply_result(c, 0, POWER_E_UNAVAILABLE, strerror(-r));
		return 0;
	}
	c->waiting_on = n;
	return 0;
}

static const struct {
	uint16_t type;
	int (*handler)(struct client *c, const struct proto_frame *f);
} handlers[] = {
	{CTL_STATUS, handle_status},
	{CTL_POWER, handle_power},
};

static int dispatch(struct client *c, const struct proto_frame *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (handlers[i].type == f->type)
			return handlers[i].handler(c, f);
	return -EBADMSG;
}

static void on_client(uv_poll_t *h, int status, int events)
{
	struct client *c = h->data;
	struct proto_frame *f = xmalloc(sizeof(*f));
	int r = proto_recv(c->fd, f);

	(void)status;
	(void)events;
	if (r == -EAGAIN) {
		free(f);
		return;
	}
	if (r == 0 && f->nfds) {
		proto_frame_close_fds(f);
		r = -EBADMSG;
	}
	if (r == 0)
		r = dispatch(c, f);
	if (r == -EBADMSG) {
		log_warnx("control: malformed request; closing the connection");
		reply_result(c, 0, POWER_OK, "malformed request");
	}
	free(f);
	if (r < 0) {
		client_close(c);
	} else {
		c->last_ms = now_ms();
		uv_timer_again(&c->idle);
		resume_accept(c->ctl);
	}
}

static void on_idle(uv_timer_t *t)
{
	client_close(t->data);
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* Full: close the client idle longest that has nothing in flight and
 * nothing unread (every request of it answered, or it never asked), so
 * that idle connections cannot keep status from answering.  False if
 * every client is busy. */
static bool evict_idle(struct control *ctl)
{
	struct client *victim = NULL;
	char b;

	for (size_t i = 0; i < ctl->n_clients; i++) {
		struct client *c = ctl->clients[i];
		if (c->waiting_on || (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0))
			continue;
		if (!victim || c->last_ms < victim->last_ms)
			victim = c;
	}
	if (!victim)
		return false;
	log_debug("control: %zu clients: closing an idle one", ctl->n_clients);
	client_close(victim);
	return true;
}

static void accept_one(struct control *ctl, int fd)
{
	struct client *c;

	if (!peer_allowed(fd)) {
		log_warnx("control: refused a connection from an unprivileged uid");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->fd = fd;
	c->open_handles = 2;
	c->last_ms = now_ms();
	uv_poll_init(ctl->sup->loop, &c->poll, fd);
	c->poll.data = c;
	uv_timer_init(ctl->sup->loop, &c->idle);
	c->idle.data = c;
	uv_timer_start(&c->idle, on_idle, CLIENT_IDLE_MS, CLIENT_IDLE_MS);
	uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_client);
	ctl->clients[ctl->n_clients++] = c;
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct control *ctl = h->data;

	(void)status;
	(void)events;
	for (int i = 0; i < 16; i++) {
		int fd;

		if (ctl->n_clients == MAX_CLIENTS && !evict_idle(ctl)) {
			/* every client has a request in flight: the next ones
			 * wait in the listen backlog until one is answered */
			uv_poll_stop(&ctl->poll);
			ctl->paused = true;
			return;
		}
		fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE: the next poll retries */
		accept_one(ctl, fd);
	}
}

int control_start(struct sup *s, struct control **ret)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t old;
	int r;

	ctl->sup = s;
	snprintf(ctl->path, sizeof(ctl->path), "%s/control.sock", s->cfg->run_dir);
	if (strlcpy0(sun.sun_path, ctl->path, sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		free(ctl);
		return -ENAMETOOLONG;
	}
	ctl->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0) {
		free(ctl);
		return -errno;
	}
	unlink(ctl->path);
	old = umask(0177); /* the socket file is created 0600 */
	r = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(ctl->fd, 32) < 0) {
		r = -errno;
		close(ctl->fd);
		free(ctl);
		return r;
	}
	uv_poll_init(s->loop, &ctl->poll, ctl->fd);
	ctl->poll.data = ctl;
	uv_poll_start(&ctl->poll, UV_READABLE, on_accept);
	*ret = ctl;
	return 0;
}

static void ctl_closed(uv_handle_t *h)
{
	struct control *ctl = h->data;

	close(ctl->fd);
	free(ctl);
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->n_clients)
		client_close(ctl->clients[0]);
	unlink(ctl->path);
	uv_close((uv_handle_t *)&ctl->poll, ctl_closed);
}
