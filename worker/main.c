/* vbmc-worker: one node's BMC.  Started by vbmc-supervisor with
 *   fd 3  the channel (SOCK_SEQPACKET), first MSG_CONFIG, then MSG_BOOT_RESTORE
 *   fd 4  IPMI UDP socket bound to ADDR:ipmi-port
 *   fd 5  Redfish TCP socket bound to ADDR:redfish-port
 * Fixed set-up order: receive the config and the saved boot state, build
 * the loop and servers, drop privileges, install seccomp last, then say
 * READY and ask for QMP. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_loop.h"
#include "common/util.h"
#include "worker.h"

#define CONFIG_WAIT_MS 10000

static struct worker_ctx W;

static void check_fds(void)
{
	int fds[] = {WORKER_FD_CHANNEL, WORKER_FD_UDP, WORKER_FD_TCP};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fcntl(fds[i], F_GETFD) < 0)
			fatalx("fd %d missing: vbmc-worker is started by vbmc-supervisor", fds[i]);
}

/* The first messages are read before the loop exists, in the order the
 * supervisor sends them. */
static struct proto_frame *receive(uint16_t type, const char *what)
{
	struct pollfd p = {.fd = WORKER_FD_CHANNEL, .events = POLLIN};
	static struct proto_frame f;

	if (poll(&p, 1, CONFIG_WAIT_MS) != 1)
		fatalx("no %s from the supervisor", what);
	if (proto_recv(WORKER_FD_CHANNEL, &f) < 0 || f.type != type || f.nfds)
		fatalx("bad %s message from the supervisor", what);
	return &f;
}

static void receive_config(struct msg_config *cfg)
{
	struct proto_frame *f = receive(MSG_CONFIG, "configuration");

	if (msg_config_decode(f->payload, f->len, cfg) < 0)
		fatalx("bad configuration message from the supervisor");
}

/* Before anything is served: no request may see the state of a worker
 * that forgot the override. */
static void receive_boot(struct worker_ctx *w)
{
	struct proto_frame *f = receive(MSG_BOOT_RESTORE, "boot state");
	struct msg_boot m;

	if (msg_boot_decode(f->payload, f->len, &m) < 0)
		fatalx("bad boot state message from the supervisor");
	boot_restore(w, &m);
}

static void on_state(void *arg, enum power_state s)
{
	(void)arg;
	log_info("power %s", power_state_name(s));
	channel_report(&W, 1);
}

static void on_want_qmp(void *arg)
{
	(void)arg;
	priv_qmp_connect(&W);
}

static void on_error(void *arg, const char *text)
{
	(void)arg;
	log_warnx("%s", text);
	strlcpy0(W.st.last_error, text, sizeof(W.st.last_error));
	channel_report(&W, 1);
}

static void on_reset(void *arg)
{
	(void)arg;
	log_info("the VM was reset");
	boot_reset_observed(&W);
}

static void on_connected(void *arg)
{
	(void)arg;
	boot_qmp_connected(&W);
	redfish_qmp_connected(&W);
}

static const struct power_callbacks power_cbs = {
	.state_changed = on_state,
	.want_qmp = on_want_qmp,
	.error = on_error,
	.reset = on_reset,
	.connected = on_connected,
};

static void on_sigterm(uv_signal_t *h, int sig)
{
	(void)h;
	(void)sig;
	log_info("stopping");
	log_flush_final();
	/* Everything is process-local; the supervisor reaps us. */
	exit(0);
}

static void build(void)
{
	struct power_limits lim = {0};

	W.loop = uv_default_loop();
	log_attach_loop(W.loop);
	channel_start(&W);
	W.power = power_new(W.loop, &lim, &power_cbs, &W);
	ipmi_server_start(&W);
	redfish_start(&W); /* TLS keys and the listener, before the sandbox */
	uv_signal_init(W.loop, &W.sig_term);
	uv_signal_start(&W.sig_term, on_sigterm, SIGTERM);
}

static int selftest(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	return sandbox_selftest((uid_t)atoi(argv[2]), (gid_t)atoi(argv[3]));
}

int main(int argc, char **argv)
{
	int r;

	if (argc >= 2 && strcmp(argv[1], "--sandbox-selftest") == 0)
		return selftest(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	log_init("vbmc-worker", 0);
	check_fds();
	receive_config(&W.cfg);
	log_init("vbmc-worker", W.cfg.verbose);
	log_set_node(W.cfg.node, W.cfg.address);
	log_open();
	receive_boot(&W);
	build();
	r = sandbox_drop_privileges(W.cfg.uid, W.cfg.gid);
	if (r < 0)
		fatalx("dropping privileges to %u:%u: %s", W.cfg.uid, W.cfg.gid, strerror(-r));
	r = sandbox_seccomp();
	if (r < 0)
		fatalx("installing the seccomp filter: %s", strerror(-r));
	log_info("serving %s (ipmi udp/%u; uid %u, seccomp on)", W.cfg.address, W.cfg.ipmi_port,
		 W.cfg.uid);
	explicit_bzero(W.cfg.users, sizeof(W.cfg.users)); /* the IPMI engine has its copy */
	channel_send_ready(&W);
	power_qmp_attach(W.power, -1);
	uv_run(W.loop, UV_RUN_DEFAULT);
	return 0;
}
