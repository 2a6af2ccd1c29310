/* Inside the Redfish engine: the service object, one call per request, the
 * route table's row type, and the helpers every resource file uses. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "common/util.h"
#include "redfish.h"

#define RF_PATH_MAX    512
#define RF_ID_MAX      64
#define RF_MAX_CLIENTS 64 /* rate-limit table: client addresses with failures */
#define RF_MAX_NICS    16
#define RF_ADDR_MAX    48 /* an IPv6 address as text */

#define RF_SYSTEM_ID  "System.Embedded.1" /* fixed by the seed (SEED.md) */
#define RF_CHASSIS_ID "System.Embedded.1"
#define RF_MANAGER_ID "BMC"

#define RF_ROOT	    "/redfish/v1"
#define RF_SYSTEM   RF_ROOT "/Systems/" RF_SYSTEM_ID
#define RF_CHASSIS  RF_ROOT "/Chassis/" RF_CHASSIS_ID
#define RF_MANAGER  RF_ROOT "/Managers/" RF_MANAGER_ID
#define RF_SESSIONS RF_ROOT "/SessionService/Sessions"
#define RF_ACCOUNTS RF_ROOT "/AccountService/Accounts"
#define RF_ROLES    RF_ROOT "/AccountService/Roles"

/* Schema versions, one place: the @odata.type of each resource and the
 * references in $metadata (service.c) are built from these. */
#define V_SERVICE_ROOT	   "ServiceRoot.v1_15_0"
#define V_SYSTEM	   "ComputerSystem.v1_20_0"
#define V_CHASSIS	   "Chassis.v1_22_0"
#define V_MANAGER	   "Manager.v1_14_0"
#define V_NETPROTO	   "ManagerNetworkProtocol.v1_9_0"
#define V_SESSION_SERVICE  "SessionService.v1_1_8"
#define V_SESSION	   "Session.v1_6_0"
#define V_ACCOUNT_SERVICE  "AccountService.v1_13_0"
#define V_ACCOUNT	   "ManagerAccount.v1_10_0"
#define V_ROLE		   "Role.v1_3_1"
#define V_NIC		   "EthernetInterface.v1_9_0"
#define V_MESSAGE	   "Message.v1_1_1"
#define RF_REDFISH_VERSION "1.17.0" /* DSP0266 */

/* Privileges of the Redfish privilege model that this service checks. */
enum rf_priv {
	RF_PRIV_NONE,	    /* no credentials needed */
	RF_PRIV_LOGIN,	    /* any authenticated user */
	RF_PRIV_COMPONENTS, /* ConfigureComponents: reset, boot override */
	RF_PRIV_MANAGER,    /* ConfigureManager: other users' sessions and accounts */
};

enum rf_method {
	RF_GET = 1 << 0,
	RF_PATCH = 1 << 1,
	RF_POST = 1 << 2,
	RF_DELETE = 1 << 3,
	RF_HEAD = 1 << 4, /* served as GET; the HTTP layer drops the body */
	RF_PUT = 1 << 5,
	RF_OTHER = 1 << 6,
};

/* Handlers return RF_DONE when c->res is complete, RF_PENDING when they
 * will call rf_finish(c) later (power actions). */
enum { RF_DONE = 0, RF_PENDING = 1 };

struct rf_call;
typedef int (*rf_handler)(struct rf_call *c);

struct rf_route {
	const char *pattern; /* "*" matches one path segment */
	unsigned method;
	enum rf_priv priv;
	rf_handler handler;
	/* The body of a 200 depends on nothing but the config and the stamp
	 * (power, boot override, facts): cache.c may serve it again. */
	bool cacheable;
};

struct rf_session {
	bool used;
	char id[17];
	char token[65];
	char user[RF_NAME_MAX + 1];
	enum rf_role role;
	char client[RF_ADDR_MAX];
	uint64_t last_ms;
};

/* Failed logins per client address (auth.c). */
struct rf_client {
	char addr[RF_ADDR_MAX];
	uint64_t window_ms; /* start of the current counting window */
	unsigned fails;
	uint64_t blocked_until_ms;
};

/* What QEMU told us about the VM (facts.c).  Unknown stays unset. */
struct rf_nic {
	char id[24];
	char mac[18];
	bool have_mac;
};

struct rf_facts {
	uint32_t gen; /* bumped per QMP connection: late replies are dropped */
	uint32_t changes; /* bumped whenever a fact is stored (cache.c stamps) */
	bool have_uuid, have_mem, have_cpus;
	char uuid[37];
	uint64_t mem_bytes;
	unsigned cpus;
	struct rf_nic nics[RF_MAX_NICS];
	size_t n_nics;
};

/* What a cacheable body depends on besides the config (cache.c). */
struct rf_stamp {
	int power;
	uint32_t boot_generation;
	int boot_target;
	bool boot_persistent, boot_efi;
	uint32_t facts_gen, facts_changes;
};

/* One serialised 200 answer, with every header it went out with. */
struct rf_cached {
	const struct rf_route *route; /* NULL: slot free */
	char path[RF_PATH_MAX];
	struct rf_stamp stamp;
	char *body;
	size_t body_len;
	const char *content_type;
	struct rf_header headers[RF_MAX_HEADERS];
	size_t n_headers;
};

#define RF_CACHE_SLOTS 16 /* more than the cacheable resources we have */

struct rf {
	struct rf_config cfg;
	const struct rf_ops *ops;
	void *arg;
	struct rf_session sessions[RF_MAX_SESSIONS];
	struct rf_client clients[RF_MAX_CLIENTS];
	struct rf_facts facts;
	unsigned pending; /* calls waiting for the power core */
	struct rf_cached cache[RF_CACHE_SLOTS];
	unsigned cache_next; /* round-robin victim when every slot is taken */
};

/* Who is asking (auth.c). */
struct rf_who {
	bool authed;
	char user[RF_NAME_MAX + 1];
	enum rf_role role;
	int session; /* index into rf->sessions, -1 for Basic */
};

struct rf_call {
	struct rf *rf;
	const struct rf_request *rq; /* NULL once rf_handle() has returned */
	const struct rf_route *route;
	unsigned allow; /* methods the matched path supports */
	unsigned method;
	char path[RF_PATH_MAX]; /* decoded, no query, no trailing slash */
	char id[2][RF_ID_MAX];	/* the segments "*" matched, in order */
	struct rf_who who;
	json_t *messages; /* @Message.ExtendedInfo being collected */
	struct rf_response res;
	rf_done_cb done;
	void *arg;
	bool in_handle, finished, cancelled;
	bool from_cache;      /* res was filled by rf_cache_serve(): sent as is */
	struct rf_stamp stamp; /* taken before a cacheable handler ran */
	char action[40]; /* running action, for its answer */
};

/* ---- router.c ---- */
void rf_finish(struct rf_call *c);
void rf_reply(struct rf_call *c, int status, json_t *body); /* body stolen, may be NULL */
void rf_add_header(struct rf_call *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse the request body as a JSON object: NULL after answering 400. An
 * empty body is an empty object when empty_ok. */
json_t *rf_body_object(struct rf_call *c, bool empty_ok);
void rf_log(struct rf *rf, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* printable ASCII only, for logging what a client sent */
void rf_sanitize(char *dst, size_t size, const char *src);

/* ---- cache.c: bodies of cacheable GETs, served again while the stamp holds ---- */
void rf_cache_stamp(struct rf *rf, struct rf_stamp *out);
bool rf_cache_serve(struct rf_call *c); /* true: c->res filled from the cache */
void rf_cache_store(struct rf_call *c);	/* after serialising a cacheable answer */
void rf_cache_free(struct rf *rf);

/* ---- errors.c: Base.1.16.0 messages ---- */
enum rf_msgid {
	MSG_ACTION_PARAMETER_MISSING,
	MSG_ACTION_PARAMETER_UNKNOWN,
	MSG_ACTION_PARAMETER_VALUE_NOT_IN_LIST,
	MSG_ACTION_PARAMETER_VALUE_TYPE_ERROR,
	MSG_CREATE_FAILED_MISSING_REQ_PROPERTIES,
	MSG_EMPTY_JSON,
	MSG_HEADER_INVALID,
	MSG_INSUFFICIENT_PRIVILEGE,
	MSG_INTERNAL_ERROR,
	MSG_MALFORMED_JSON,
	MSG_NO_VALID_SESSION,
	MSG_OPERATION_NOT_ALLOWED,
	MSG_PAYLOAD_TOO_LARGE,
	MSG_PRECONDITION_FAILED,
	MSG_PROPERTY_NOT_WRITABLE,
	MSG_PROPERTY_UNKNOWN,
	MSG_PROPERTY_VALUE_NOT_IN_LIST,
	MSG_PROPERTY_VALUE_OUT_OF_RANGE,
	MSG_PROPERTY_VALUE_TYPE_ERROR,
	MSG_RESOURCE_IN_STANDBY,
	MSG_RESOURCE_IN_USE,
	MSG_RESOURCE_NOT_FOUND,
	MSG_SERVICE_TEMPORARILY_UNAVAILABLE,
	MSG_SESSION_LIMIT_EXCEEDED,
	MSG_COUNT
};
#define RF_REGISTRY "Base.1.16.0"

/* Add a message (args as the registry numbers them; NULL for unused). */
void rf_msg(struct rf_call *c, enum rf_msgid id, const char *a1, const char *a2, const char *a3);
/* Answer with the messages collected so far; detail, if not NULL, is added
 * to the top-level message (what QEMU said, for example). */
int rf_fail(struct rf_call *c, int status, const char *detail);
/* One message and answer. */
int rf_error(struct rf_call *c, int status, enum rf_msgid id, const char *a1, const char *a2,
	     const char *a3);
/* The MessageId text of a message ("Base.1.16.0.ResourceNotFound"). */
const char *rf_msgid_name(enum rf_msgid id, char *buf, size_t size);
/* Shorthand answers. */
int rf_not_found(struct rf_call *c, const char *type, const char *id);

/* ---- resource.c: building blocks of bodies ---- */
json_t *rf_link(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
json_t *rf_resource(const char *odata_id, const char *odata_type, const char *id, const char *name);
json_t *rf_collection(const char *odata_id, const char *type_name, const char *name);
void rf_collection_add(json_t *coll, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *rf_status_obj(const char *state, const char *health);
json_t *rf_strings(const char *const *list, size_t n);
const char *rf_power_state_name(enum power_state s); /* NULL if unknown */
void rf_guid_str(const uint8_t g[16], char out[37]);

/* ---- auth.c ---- */
/* Fill c->who from the request: 0 ok, -EACCES answer 401. */
int rf_authenticate(struct rf_call *c);
bool rf_role_has(enum rf_role role, enum rf_priv p);
const char *rf_role_name(enum rf_role role);
/* Check a name and password (constant time over the password); records
 * failures per client and refuses while the client is blocked.  Returns the
 * user or NULL. */
const struct rf_user *rf_check_password(struct rf *rf, const char *client, const char *user,
					const uint8_t *pw, size_t pwlen);
int rf_unauthorized(struct rf_call *c);

/* ---- sessions.c ---- */
struct rf_session *rf_session_by_token(struct rf *rf, const char *token);
void rf_sessions_expire(struct rf *rf);
int rf_session_service_get(struct rf_call *c);
int rf_session_service_patch(struct rf_call *c);
int rf_sessions_get(struct rf_call *c);
int rf_sessions_post(struct rf_call *c);
int rf_session_get(struct rf_call *c);
int rf_session_delete(struct rf_call *c);

/* ---- service.c ---- */
int rf_versions_get(struct rf_call *c);
int rf_root_get(struct rf_call *c);
int rf_odata_get(struct rf_call *c);
int rf_metadata_get(struct rf_call *c);

/* ---- systems.c ---- */
int rf_systems_get(struct rf_call *c);
int rf_system_get(struct rf_call *c);
int rf_system_patch(struct rf_call *c);
int rf_system_reset(struct rf_call *c);
int rf_nics_get(struct rf_call *c);
int rf_nic_get(struct rf_call *c);
/* The system's ETag (W/"...") for the current boot and power state. */
void rf_system_etag(struct rf *rf, char out[32]);

/* ---- chassis.c ---- */
int rf_chassis_coll_get(struct rf_call *c);
int rf_chassis_get(struct rf_call *c);
int rf_chassis_reset(struct rf_call *c);

/* ---- actions.c: Reset on the system and the chassis ---- */
enum { RF_RESET_SYSTEM = 1, RF_RESET_CHASSIS = 2 };
int rf_reset(struct rf_call *c, const char *action, unsigned scope);
json_t *rf_reset_types(unsigned scope); /* ResetType@Redfish.AllowableValues */

/* ---- managers.c ---- */
int rf_managers_get(struct rf_call *c);
int rf_manager_get(struct rf_call *c);
int rf_netproto_get(struct rf_call *c);

/* ---- accounts.c ---- */
int rf_account_service_get(struct rf_call *c);
int rf_accounts_get(struct rf_call *c);
int rf_account_get(struct rf_call *c);
int rf_roles_get(struct rf_call *c);
int rf_role_get(struct rf_call *c);

/* ---- facts.c ---- */
void rf_facts_fetch(struct rf *rf);
