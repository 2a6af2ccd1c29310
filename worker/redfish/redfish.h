/* The Redfish service of one node, without HTTP.  A request comes in as a
 * struct rf_request (method, path, the few headers Redfish needs, body,
 * client address) and leaves as a struct rf_response (status, headers,
 * body).  The engine owns no socket, no clock and no QEMU: time, random
 * bytes, power, boot state and QMP come through struct rf_ops.  That is
 * what lets tests/unit/test-redfish.c and tests/fuzz/fuzz-redfish.c drive
 * every resource without h2o, and what worker/redfish/server.c glues to h2o.
 *
 * Schema versions and the Base message registry used are listed in
 * docs/REDFISH.md; they are the strings in the resource files. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/proto.h"
#include "worker/boot.h"
#include "worker/qmp.h"

#define RF_MAX_USERS	     MSG_MAX_USERS
#define RF_NAME_MAX	     MSG_USER_NAME_MAX
#define RF_PASSWORD_MAX	     MSG_PASSWORD_MAX
#define RF_BODY_MAX	     (16 * 1024) /* larger request bodies get 413 */
#define RF_MAX_SESSIONS	     64
#define RF_SESSION_TIMEOUT_S 600 /* idle; DSP0266 allows 30..86400 */
#define RF_SESSION_TIMEOUT_MIN_S 30
#define RF_SESSION_TIMEOUT_MAX_S 86400
#define RF_MAX_HEADERS	     16
#define RF_HEADER_VALUE_MAX  192

/* Redfish roles carry the numbers of the IPMI levels the config uses. */
enum rf_role {
	RF_ROLE_READONLY = 2,
	RF_ROLE_OPERATOR = 3,
	RF_ROLE_ADMIN = 4,
};

struct rf_user {
	char name[RF_NAME_MAX + 1];
	uint8_t password[RF_PASSWORD_MAX];
	uint8_t pwlen;
	enum rf_role role;
};

struct rf_config {
	char node[NODE_NAME_MAX];
	uint8_t guid[16]; /* the node GUID: service root, manager, fallback system UUID */
	uint16_t redfish_port, ipmi_port;
	struct rf_user users[RF_MAX_USERS];
	size_t n_users;
	unsigned session_timeout_s; /* 0: RF_SESSION_TIMEOUT_S */
};

typedef void (*rf_power_cb)(void *cbarg, enum power_result r, const char *detail);

struct rf_ops {
	uint64_t (*now_ms)(void *arg);
	int (*random)(void *arg, void *buf, size_t len); /* 0 or -errno */
	enum power_state (*power_state)(void *arg);
	/* cb is called exactly once, maybe before power() returns */
	void (*power)(void *arg, enum power_action a, rf_power_cb cb, void *cbarg);
	struct boot_state *(*boot)(void *arg); /* shared with IPMI */
	void (*boot_changed)(void *arg);       /* boot state written: apply it */
	/* A QMP command for the facts (facts.c): 0 and cb called exactly once
	 * later, or -errno and cb never called.  args is stolen. */
	int (*qmp)(void *arg, const char *cmd, json_t *args, qmp_reply_cb cb, void *cbarg);
	/* One line for the log (login failures, power actions, boot changes). */
	void (*log)(void *arg, int prio, const char *text);
};

/* Strings are NUL-terminated and need only live until rf_handle() returns. */
struct rf_request {
	const char *method;
	const char *path;	   /* as sent: percent-encoded, may carry a query */
	const char *authorization; /* header values, NULL when absent */
	const char *x_auth_token;
	const char *if_match;
	const char *odata_version;
	const uint8_t *body;
	size_t body_len;
	const char *client; /* peer address text: rate limiting and logs */
};

struct rf_header {
	const char *name; /* static */
	char value[RF_HEADER_VALUE_MAX];
};

struct rf_response {
	int status;
	json_t *json; /* the JSON body while it is built (owned) */
	char *body;   /* the body as sent (owned), NULL for none */
	size_t body_len;
	const char *content_type; /* static */
	struct rf_header headers[RF_MAX_HEADERS];
	size_t n_headers;
};

struct rf;
struct rf_call;

/* res and everything in it are valid during the call only. */
typedef void (*rf_done_cb)(void *arg, const struct rf_response *res);

struct rf *rf_new(const struct rf_config *cfg, const struct rf_ops *ops, void *arg);
void rf_free(struct rf *rf);

/* Serve one request.  done is called exactly once unless the call is
 * cancelled.  If it was called before rf_handle() returns, the return value
 * is NULL; otherwise the call is still running (a power action waiting for
 * QEMU) and the handle may be passed to rf_call_cancel(). */
struct rf_call *rf_handle(struct rf *rf, const struct rf_request *rq, rf_done_cb done, void *arg);
/* The client went away: done will not be called.  The call's memory is
 * released when the operation it waits for finishes. */
void rf_call_cancel(struct rf_call *c);

/* A QMP connection came up (maybe to a new QEMU): fetch the facts again. */
void rf_qmp_connected(struct rf *rf);

/* For the tests: the status text of a code ("Not Found"). */
const char *rf_status_text(int status);
