/* The IPMI-over-LAN server of one node: RMCP/ASF, IPMI v1.5 sessions and
 * RMCP+ (v2.0) sessions, and the command table.  It owns no socket and no
 * clock: datagrams come in through ipmi_input(), answers leave through
 * ops->send(), time comes from ops->now_ms(), power goes through
 * ops->power().  That is what lets the fuzz target drive the whole
 * datagram -> response path with a fake clock and a fake power core. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/net.h"
#include "proto/proto.h"
#include "worker/boot.h"

#define IPMI_MAX_USERS 15 /* user ids 1..15; id 1 is the null user, unused */
#define IPMI_NAME_MAX 16
#define IPMI_PASSWORD_MAX 20

/* Privilege levels (spec table 22-?, "requested maximum privilege"). */
enum ipmi_priv {
	IPMI_PRIV_NONE = 0, /* "highest available" in requests */
	IPMI_PRIV_CALLBACK = 1,
	IPMI_PRIV_USER = 2,
	IPMI_PRIV_OPERATOR = 3,
	IPMI_PRIV_ADMIN = 4,
	IPMI_PRIV_OEM = 5,
};

struct ipmi_user {
	char name[IPMI_NAME_MAX + 1];
	uint8_t password[IPMI_PASSWORD_MAX];
	uint8_t pwlen;
	uint8_t max_priv; /* enum ipmi_priv: USER, OPERATOR or ADMIN */
};

struct ipmi_config {
	char node[NODE_NAME_MAX];  /* FRU product name, system name */
	uint8_t guid[16];          /* system and device GUID, stable per node */
	struct net_addr addr;      /* the BMC address */
	uint8_t prefix;            /* its IPv4 prefix length (subnet mask); 0: unknown */
	uint16_t port;
	uint8_t mac[6];            /* the BMC's (virtual) MAC for Get LAN Config */
	struct ipmi_user users[IPMI_MAX_USERS];
	size_t n_users;
	unsigned max_sessions;     /* default 32 */
	unsigned session_timeout_ms; /* idle; default 60000 */
	bool allow_suite0;         /* RMCP+ cipher suite 0: no auth at all (off) */
	bool allow_authnone;       /* IPMI v1.5 auth type none (off) */
	bool allow_straight;       /* IPMI v1.5 straight password (off) */
};

struct ipmi_ops {
	void (*send)(void *arg, const uint8_t *buf, size_t len, const struct sockaddr *to,
		     socklen_t tolen);
	uint64_t (*now_ms)(void *arg);
	int (*random)(void *arg, void *buf, size_t len); /* 0 or -errno */
	enum power_state (*power_state)(void *arg);
	/* cb is called exactly once, maybe before power() returns */
	void (*power)(void *arg, enum power_action a,
		      void (*cb)(void *cbarg, enum power_result r, const char *detail),
		      void *cbarg);
	struct boot_state *(*boot)(void *arg);  /* shared with Redfish */
	void (*boot_changed)(void *arg);        /* boot state written */
	void (*identify)(void *arg, unsigned seconds); /* chassis identify (log) */
};

struct ipmi_stats {
	uint64_t rx, tx, dropped, sessions_opened, auth_failures;
};

struct ipmi;

struct ipmi *ipmi_new(const struct ipmi_config *cfg, const struct ipmi_ops *ops, void *arg);
void ipmi_input(struct ipmi *ipmi, const uint8_t *pkt, size_t len, const struct sockaddr *from,
		socklen_t fromlen);
/* Expire idle sessions; call about once a second. */
void ipmi_tick(struct ipmi *ipmi);
const struct ipmi_stats *ipmi_get_stats(const struct ipmi *ipmi);
void ipmi_free(struct ipmi *ipmi);
