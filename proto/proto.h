/*
 * Everything that crosses a process boundary in vbmc, and nothing else.
 *
 * Two channels use it, both AF_UNIX SOCK_SEQPACKET so that one send is one
 * message and the kernel keeps the boundaries:
 *   - supervisor <-> worker: a socketpair, fd 3 in the worker.  File
 *     descriptors travel only here (SCM_RIGHTS).
 *   - CLI <-> supervisor: control.sock in run-dir.  No fds, peer uid checked.
 *
 * A frame is struct proto_hdr followed by a JSON object (the payload).  The
 * header carries PROTO_VERSION; a peer with another version is dropped.
 * Every payload has one encode/decode pair in proto/msg.c; decoding is
 * strict (unknown or missing members, wrong types, out-of-range values are
 * errors) and a bad frame closes that channel, never crashes the reader.
 *
 * Bump PROTO_VERSION if anything in this file changes meaning.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 5
#define PROTO_MAGIC 0x76626d63u /* "vbmc" */
#define PROTO_MAX_PAYLOAD (60 * 1024)
#define PROTO_MAX_FDS 4

/* Fixed fd numbers in a freshly exec'd worker. */
#define WORKER_FD_CHANNEL 3 /* socketpair to the supervisor */
#define WORKER_FD_UDP 4     /* IPMI, bound to ADDR:ipmi-port */
#define WORKER_FD_TCP 5     /* Redfish, bound to ADDR:redfish-port (not listening) */
/* The QMP socket is not inherited: the worker asks for it with MSG_QMP_WANT
 * at start and after every loss, so there is one path for both. */

struct proto_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len; /* payload bytes after the header */
} __attribute__((packed));

enum proto_type {
	/* supervisor -> worker: 100..199 */
	MSG_CONFIG = 100,   /* first message: the node's configuration */
	MSG_POWER = 101,    /* run a power action */
	MSG_QMP_FD = 102,   /* answer to MSG_QMP_WANT: a connected QMP fd attached */
	MSG_QMP_NONE = 103, /* answer to MSG_QMP_WANT: could not connect (reason) */
	MSG_BOOT_RESTORE = 104, /* right after MSG_CONFIG: the saved boot state (maybe empty) */

	/* worker -> supervisor: 200..299 */
	MSG_READY = 200,        /* config applied, sandbox on, serving */
	MSG_STATE = 201,        /* power state or counters changed */
	MSG_POWER_RESULT = 202, /* answer to MSG_POWER */
	MSG_QMP_WANT = 203,     /* priv_qmp_connect(): please connect QMP for me */
	MSG_BOOT_STATE = 204,   /* the boot override or the saved boot order changed */

	/* CLI -> supervisor (control.sock): 300..399 */
	CTL_STATUS = 300, /* answered by CTL_NODE* then CTL_END */
	CTL_POWER = 301,  /* answered by CTL_RESULT */

	/* supervisor -> CLI: 400..499 */
	CTL_NODE = 400,   /* one node's status */
	CTL_END = 401,    /* end of a status listing */
	CTL_RESULT = 402, /* outcome of CTL_POWER, or an error for any request */
};

/* Power actions: the rows of DESIGN.md's power table. */
enum power_action {
	POWER_ON,
	POWER_OFF,            /* force off */
	POWER_SOFT,           /* ACPI power button, wait for the guest */
	POWER_RESET,          /* hard reset */
	POWER_CYCLE,          /* off, reset, on */
	POWER_NMI,            /* diagnostic interrupt */
	POWER_PUSH_BUTTON,    /* Redfish PushPowerButton */
	POWER_GRACEFUL_RESTART,
	POWER_ACTION_COUNT
};

enum power_state {
	POWER_STATE_UNKNOWN, /* no QMP connection */
	POWER_STATE_OFF,
	POWER_STATE_ON,
	POWER_STATE_POWERING_OFF, /* soft off requested, guest not down yet */
	POWER_STATE_POWERING_ON,
};

/* Result of a power action, as both protocols need to tell them apart. */
enum power_result {
	POWER_OK = 0,
	POWER_E_STATE = 1,       /* not possible in the current state (e.g. NMI while off) */
	POWER_E_UNAVAILABLE = 2, /* no QMP connection (QEMU absent) */
	POWER_E_FAILED = 3,      /* QEMU answered with an error */
	POWER_E_TIMEOUT = 4,     /* QEMU did not answer in time */
	POWER_E_BUSY = 5,        /* another action is running */
};

/* What a boot override boots (IPMI parameter 5, Redfish Boot). */
enum boot_target {
	BOOT_NONE = 0, /* no override */
	BOOT_PXE,
	BOOT_DISK,
	BOOT_CD,
	BOOT_BIOS, /* firmware setup */
	BOOT_TARGET_COUNT
};

#define NODE_NAME_MAX 64
#define ADDR_TEXT_MAX 46
#define REASON_MAX 200

#define MSG_PEM_MAX (16 * 1024)
#define MSG_BOOT_DEVS_MAX 8
#define MSG_QOM_REF_MAX 127
#define MSG_MAX_USERS 15
#define MSG_USER_NAME_MAX 16
#define MSG_PASSWORD_MAX 20

struct msg_user {
	char name[MSG_USER_NAME_MAX + 1];
	uint8_t password[MSG_PASSWORD_MAX]; /* hex on the wire; never logged */
	uint8_t pwlen;
	uint8_t role; /* 2 readonly, 3 operator, 4 administrator (IPMI levels) */
};

struct msg_config {
	char node[NODE_NAME_MAX];
	char address[ADDR_TEXT_MAX];
	uint8_t prefix; /* of the BMC network the address is in */
	uint16_t ipmi_port;
	uint16_t redfish_port;
	uint32_t uid, gid; /* drop to these after set-up */
	int verbose;
	struct msg_user users[MSG_MAX_USERS];
	uint32_t n_users;
	uint8_t ipmi_suite0, ipmi_auth_none, ipmi_straight;
	uint32_t ipmi_max_sessions, ipmi_session_timeout_s;
	/* Redfish TLS: PEM text, the key only ever as this message, never a
	 * path the worker could open (it cannot open files anyway) */
	char tls_cert[MSG_PEM_MAX];
	char tls_key[MSG_PEM_MAX];
	/* boot-devices override: [0] pxe, [1] disk, [2] cd; QOM ids or paths */
	char boot_devs[3][MSG_BOOT_DEVS_MAX][MSG_QOM_REF_MAX + 1];
	uint8_t n_boot_devs[3];
};

struct msg_power {
	uint32_t id;
	enum power_action action;
};

struct msg_power_result {
	uint32_t id;
	enum power_result result;
	char detail[REASON_MAX]; /* human-readable, may be empty */
};

struct msg_qmp_none {
	char reason[REASON_MAX];
};

/* The boot state a worker must not lose when it restarts: the override,
 * the IPMI boot option bytes Get System Boot Options reads back, and the
 * bootindex each device had before vbmc reordered them (a restarted worker
 * would otherwise take the reordered ones as the VM's own).  The worker
 * sends it when it changes, the supervisor keeps it in its state file and
 * gives it back to every new worker of the node.  The same payload and
 * decoder serve both directions and the state file. */
#define MSG_BOOT_SAVED_DEVS 16 /* devices whose original bootindex is kept */
#define MSG_BOOT_PATH_MAX 159  /* QOM path of one (printable, starts with '/') */
#define MSG_BOOTINDEX_MAX 65535 /* QEMU takes -1 (none) and 0.. */

struct msg_boot_ipmi {
	uint8_t flags[5];           /* parameter 5 (boot flags) as last written */
	uint8_t partition_selector; /* parameter 1 */
	uint8_t partition_scan;     /* parameter 2, 0..3 */
	uint8_t timer_control;      /* parameter 3, 0..1fh */
	uint8_t ack_data;           /* parameter 4, data 2 */
	uint8_t initiator[9];       /* parameter 6 */
};

struct msg_boot_dev {
	char path[MSG_BOOT_PATH_MAX + 1];
	int32_t orig;    /* bootindex QEMU was started with, -1 none */
	int32_t current; /* what vbmc last set it to */
};

struct msg_boot {
	enum boot_target target;
	uint8_t persistent; /* "continuous", else "once"; "disabled" when target is none */
	uint8_t efi;        /* mode UEFI, else legacy */
	struct msg_boot_ipmi ipmi;
	struct msg_boot_dev devs[MSG_BOOT_SAVED_DEVS]; /* empty until discovered */
	uint32_t n_devs;
};

struct msg_state {
	enum power_state power;
	uint64_t ipmi_rx;      /* datagrams received */
	uint64_t redfish_rx;   /* HTTP requests received */
	uint64_t power_actions;
	uint8_t qmp_connected;
	char last_error[REASON_MAX];
};

/* Node states as the supervisor sees them. */
enum node_state {
	NODE_WAITING,    /* no address announced yet */
	NODE_STARTING,   /* worker spawned, no MSG_READY yet */
	NODE_SERVING,
	NODE_RESTARTING, /* worker died; back-off timer running */
	NODE_FAILED,     /* cannot bind/spawn; retried with back-off */
};

struct ctl_status {
	char node[NODE_NAME_MAX]; /* empty: all nodes */
};

struct ctl_power {
	char node[NODE_NAME_MAX];
	enum power_action action;
};

struct ctl_node {
	char name[NODE_NAME_MAX];
	char address[ADDR_TEXT_MAX]; /* empty while waiting */
	int32_t pid;                 /* 0 if none */
	enum node_state state;
	enum power_state power;
	uint64_t uptime_s; /* of the current worker */
	uint32_t restarts;
	uint64_t ipmi_rx, redfish_rx, power_actions;
	char last_error[REASON_MAX];
};

struct ctl_result {
	int32_t ok; /* 1 ok, 0 failed */
	enum power_result power;
	char message[REASON_MAX];
};

/* --- names, for logs and the CLI (proto/names.c) --- */
const char *power_action_name(enum power_action a);
int power_action_parse(const char *s, enum power_action *ret);
const char *power_state_name(enum power_state s);
const char *power_result_name(enum power_result r);
const char *node_state_name(enum node_state s);
const char *boot_target_name(enum boot_target t);
int boot_target_parse(const char *s, enum boot_target *ret);

/* --- framing (proto/frame.c) --- */
/* Send one frame; fds (may be NULL/0) attached with SCM_RIGHTS.  Returns 0 or -errno. */
int proto_send(int sock, uint16_t type, const char *payload, size_t len, const int *fds,
	       size_t nfds);
struct proto_frame {
	uint16_t type;
	char payload[PROTO_MAX_PAYLOAD + 1]; /* NUL-terminated */
	size_t len;
	int fds[PROTO_MAX_FDS];
	size_t nfds;
};
/* Receive one frame.  0 ok; -EAGAIN nothing pending; -EPIPE peer closed;
 * -EBADMSG malformed (bad magic/version/length, truncated, stray fds closed). */
int proto_recv(int sock, struct proto_frame *f);
/* Validate a raw frame already in memory (fuzzing, and proto_recv's core). */
int proto_frame_parse(const uint8_t *buf, size_t n, struct proto_frame *f);
void proto_frame_close_fds(struct proto_frame *f);

/* --- payloads (proto/msg.c): encode returns a malloc'd JSON text,
 *     decode returns 0 or -EBADMSG --- */
char *msg_config_encode(const struct msg_config *m);
int msg_config_decode(const char *json, size_t len, struct msg_config *m);
char *msg_power_encode(const struct msg_power *m);
int msg_power_decode(const char *json, size_t len, struct msg_power *m);
char *msg_power_result_encode(const struct msg_power_result *m);
int msg_power_result_decode(const char *json, size_t len, struct msg_power_result *m);
char *msg_qmp_none_encode(const struct msg_qmp_none *m);
int msg_qmp_none_decode(const char *json, size_t len, struct msg_qmp_none *m);
char *msg_state_encode(const struct msg_state *m);
int msg_state_decode(const char *json, size_t len, struct msg_state *m);
char *msg_boot_encode(const struct msg_boot *m);
/* The rule the decoder applies to a device path, for the worker to keep to. */
int msg_boot_path_ok(const char *path);
int msg_boot_decode(const char *json, size_t len, struct msg_boot *m);
char *msg_empty_encode(void);
int msg_empty_decode(const char *json, size_t len);
char *ctl_status_encode(const struct ctl_status *m);
int ctl_status_decode(const char *json, size_t len, struct ctl_status *m);
char *ctl_power_encode(const struct ctl_power *m);
int ctl_power_decode(const char *json, size_t len, struct ctl_power *m);
char *ctl_node_encode(const struct ctl_node *m);
int ctl_node_decode(const char *json, size_t len, struct ctl_node *m);
char *ctl_result_encode(const struct ctl_result *m);
int ctl_result_decode(const char *json, size_t len, struct ctl_result *m);

/* Encode + send in one step; returns 0 or -errno. */
int proto_send_json(int sock, uint16_t type, char *json_owned, const int *fds, size_t nfds);
