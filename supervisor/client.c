/* The CLI side: `check`, `status` and `power`.  status prints one line per
 * node, like `tmux ls`, or JSON with --json. */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "common/util.h"

#define CLI_TIMEOUT_MS 90000 /* a graceful restart may take a while */

static struct config *load_config(const char *path)
{
	struct config *c;
	char *errors = NULL;
	int r = config_load(path, &c, &errors);

	if (r < 0) {
		fprintf(stderr, "%s", errors ? errors : "cannot load the configuration\n");
		free(errors);
		return NULL;
	}
	return c;
}

int cmd_check(const char *path)
{
	struct config *c = load_config(path);

	if (!c)
		return 1;
	config_print(c, stdout);
	config_free(c);
	return 0;
}

static int ctl_connect(const char *config_path)
{
	struct config *c = load_config(config_path);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (!c)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control.sock", c->run_dir);
	config_free(c);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "vbmc-supervisor: cannot reach the supervisor at %s: %s\n",
			sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Wait for one frame; -ETIMEDOUT if the supervisor stays silent. */
static int recv_frame(int fd, struct proto_frame *f)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	for (;;) {
		r = proto_recv(fd, f);
		if (r != -EAGAIN)
			break;
		r = poll(&p, 1, CLI_TIMEOUT_MS);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	if (r == 0 && f->nfds) {
		proto_frame_close_fds(f);
		return -EBADMSG;
	}
	return r;
}

static void print_line(const struct ctl_node *n)
{
	printf("%s: %s pid %d %s power %s uptime %llus restarts %u ipmi %llu redfish %llu "
	       "actions %llu",
	       n->name, n->address[0] ? n->address : "-", n->pid, node_state_name(n->state),
	       power_state_name(n->power), (unsigned long long)n->uptime_s, n->restarts,
	       (unsigned long long)n->ipmi_rx, (unsigned long long)n->redfish_rx,
	       (unsigned long long)n->power_actions);
	if (n->last_error[0])
		printf(" error \"%s\"", n->last_error);
	putchar('\n');
}

static void add_json(json_t *arr, const struct ctl_node *n)
{
	json_array_append_new(
		arr, json_pack("{s:s, s:s?, s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "name",
			       n->name, "address", n->address[0] ? n->address : NULL, "pid",
			       (int)n->pid, "state", node_state_name(n->state), "power",
			       power_state_name(n->power), "uptime", (json_int_t)n->uptime_s,
			       "restarts", (json_int_t)n->restarts, "ipmi_rx",
			       (json_int_t)n->ipmi_rx, "redfish_rx", (json_int_t)n->redfish_rx,
			       "power_actions", (json_int_t)n->power_actions, "last_error",
			       n->last_error[0] ? n->last_error : NULL));
}

static int status_loop(int fd, bool json, json_t *arr)
{
	struct proto_frame *f = xmalloc(sizeof(*f));
	struct ctl_node n;
	struct ctl_result res;
	int r;

	for (;;) {
		r = recv_frame(fd, f);
		if (r < 0)
			break;
		if (f->type == CTL_END) {
			r = msg_empty_decode(f->payload, f->len) < 0 ? -EBADMSG : 0;
			break;
		}
		if (f->type == CTL_RESULT && ctl_result_decode(f->payload, f->len, &res) == 0) {
			fprintf(stderr, "vbmc-supervisor: %s\n", res.message);
			r = -ENOENT;
			break;
		}
		if (f->type != CTL_NODE || ctl_node_decode(f->payload, f->len, &n) < 0) {
			r = -EBADMSG;
			break;
		}
		if (json)
			add_json(arr, &n);
		else
			print_line(&n);
	}
	free(f);
	return r;
}

int cmd_status(const char *config_path, const char *node, bool json)
{
	struct ctl_status q = {0};
	json_t *arr = json_array();
	int fd, r;

	if (node && strlcpy0(q.node, node, sizeof(q.node)) >= sizeof(q.node)) {
		fprintf(stderr, "vbmc-supervisor: node name too long\n");
		return 2;
	}
	fd = ctl_connect(config_path);
	if (fd < 0)
		return 1;
	r = proto_send_json(fd, CTL_STATUS, ctl_status_encode(&q), NULL, 0);
	if (r == 0)
		r = status_loop(fd, json, arr);
	close(fd);
	if (r == 0 && json) {
		json_t *root = json_pack("{s:o}", "nodes", arr);
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(root);
	} else {
		json_decref(arr);
	}
	if (r < 0 && r != -ENOENT)
		fprintf(stderr, "vbmc-supervisor: status: %s\n", strerror(-r));
	return r < 0 ? 1 : 0;
}

int cmd_power(const char *config_path, const char *node, const char *action)
{
	struct ctl_power q = {0};
	struct ctl_result res;
	struct proto_frame *f;
	int fd, r;

	if (power_action_parse(action, &q.action) < 0) {
		fprintf(stderr, "vbmc-supervisor: unknown power action '%s' (on, off, soft, "
				"reset, cycle, nmi)\n",
			action);
		return 2;
	}
	if (strlcpy0(q.node, node, sizeof(q.node)) >= sizeof(q.node)) {
		fprintf(stderr, "vbmc-supervisor: node name too long\n");
		return 2;
	}
	fd = ctl_connect(config_path);
	if (fd < 0)
		return 1;
	f = xmalloc(sizeof(*f));
	r = proto_send_json(fd, CTL_POWER, ctl_power_encode(&q), NULL, 0);
	if (r == 0)
		r = recv_frame(fd, f);
	if (r == 0 && (f->type != CTL_RESULT || ctl_result_decode(f->payload, f->len, &res) < 0))
		r = -EBADMSG;
	free(f);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "vbmc-supervisor: power: %s\n", strerror(-r));
		return 1;
	}
	/* a refusal is an error: stderr, so scripts can tell */
	fprintf(res.ok ? stdout : stderr, "%s: power %s: %s\n", node, action, res.message);
	return res.ok ? 0 : 1;
}
