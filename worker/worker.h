/* The worker's internal interfaces. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <uv.h>

#include "boot.h"
#include "proto/proto.h"
#include "power.h"

struct ipmi;
struct redfish;

#define BOOT_MAX_DEVS 32
#define BOOT_TEMP_BASE 1000 /* unique temporary bootindexes while reordering */

/* A device the firmware can boot from, as found in QOM (boot.c). */
struct boot_dev {
	char path[160];
	enum boot_target cls;
	int orig; /* bootindex QEMU was started with (-1 none, -2 no such property) */
	int cur;  /* what we last set */
};

struct bootctl {
	struct boot_dev devs[BOOT_MAX_DEVS];
	size_t n;
	bool discovered;
	bool applied_valid;
	enum boot_target applied; /* the target the current bootindexes express */
	int outstanding; /* discovery replies still to come */
	uint32_t gen;    /* bumped per QMP connection: late replies are ignored */
	uv_timer_t once_timer; /* resets have settled: a once-override is used */
	bool once_timer_ready;
	uint32_t once_gen; /* boot generation in force at the last reset */
	/* Each device's bootindex before vbmc moved it, and what vbmc last set:
	 * from the supervisor at start, then from every discovery.  A new QMP
	 * connection finds the moved values in QEMU; these are the originals. */
	struct msg_boot_dev known[MSG_BOOT_SAVED_DEVS];
	size_t n_known;
};

struct worker_ctx {
	uv_loop_t *loop;
	struct msg_config cfg;
	struct power *power;
	uv_poll_t chan_poll;
	uv_signal_t sig_term;
	uv_timer_t report_timer;
	struct msg_state st; /* what we last told, or will tell, the supervisor */
	int state_dirty;
	struct ipmi *ipmi;
	uv_timer_t ipmi_tick;
	struct boot_state boot; /* shared by IPMI and Redfish */
	struct bootctl bootctl;
	struct redfish *redfish; /* NULL while Redfish is off (no TLS certificate) */
	char *boot_sent; /* the last MSG_BOOT_STATE payload: not sent twice */
};

/* Boot override on QEMU (boot.c). */
enum boot_target boot_classify(const char *qom_type);
void boot_qmp_connected(struct worker_ctx *w);
void boot_apply(struct worker_ctx *w);
void boot_reset_observed(struct worker_ctx *w);

/* The boot state kept by the supervisor (boot_saved.c). */
/* MSG_BOOT_RESTORE, before anything is served. */
void boot_restore(struct worker_ctx *w, const struct msg_boot *m);
/* After discovery: the saved original bootindexes for devices QEMU still
 * holds as vbmc left them. */
void boot_adopt_saved(struct bootctl *bc);
/* MSG_BOOT_STATE if anything the supervisor keeps changed. */
void boot_report(struct worker_ctx *w);

/* Adapters the IPMI and Redfish engines share (engine_ops.c); arg is the
 * struct worker_ctx. */
uint64_t engine_now_ms(void *arg);
int engine_random(void *arg, void *buf, size_t len);
enum power_state engine_power_state(void *arg);
void engine_power(void *arg, enum power_action a, power_done_cb cb, void *cbarg);
struct boot_state *engine_boot(void *arg);
void engine_boot_changed(void *arg);

/* IPMI over LAN on fd 4 (ipmi_server.c). */
void ipmi_server_start(struct worker_ctx *w);
/* The node's stable GUID, derived from its name (ipmi_server.c). */
void node_guid(const char *node, uint8_t out[16]);

/* Redfish over HTTPS on fd 5 (redfish/bind.c); off without a TLS certificate. */
void redfish_start(struct worker_ctx *w);
/* A QMP connection is up: Redfish asks QEMU for the facts it reports. */
void redfish_qmp_connected(struct worker_ctx *w);

/* Supervisor channel (channel.c). */
void channel_start(struct worker_ctx *w);
/* Report state now (power changes) or soon (counters). */
void channel_report(struct worker_ctx *w, int now);
/* priv_qmp_connect(): the worker may not connect(); the supervisor does it
 * and answers with MSG_QMP_FD or MSG_QMP_NONE. */
void priv_qmp_connect(struct worker_ctx *w);
void channel_send_ready(struct worker_ctx *w);
/* MSG_BOOT_STATE, if it differs from the last one sent. */
void channel_send_boot(struct worker_ctx *w, const struct msg_boot *m);

/* Sandbox (sandbox.c): drop to uid/gid, then seccomp. */
int sandbox_drop_privileges(uid_t uid, gid_t gid);
int sandbox_seccomp(void);
/* `vbmc-worker --sandbox-selftest UID GID`: apply both in a child and show
 * that files, sockets and exec are out of reach.  Exit status 0 if so. */
int sandbox_selftest(uid_t uid, gid_t gid);
