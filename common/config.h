/* The YAML configuration (DESIGN.md "Configuration").  Parsing only: no
 * logging, no side effects but reading the config and its password files. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "net.h"

#define CONFIG_DEFAULT_PATH "/etc/vbmc/vbmc.yml"
#define CONFIG_NAME_MAX 63
#define CONFIG_PASSWORD_MAX 20 /* IPMI v2.0 passwords are at most 20 bytes */

enum role {
	ROLE_READONLY = 2,      /* IPMI USER */
	ROLE_OPERATOR = 3,      /* IPMI OPERATOR */
	ROLE_ADMINISTRATOR = 4, /* IPMI ADMINISTRATOR */
};

struct config_user {
	char *name;
	char *password_file;
	char *password; /* read from password_file; never printed or logged */
	enum role role;
};

#define CONFIG_BOOT_DEVS_MAX 8
#define CONFIG_QOM_REF_MAX 127

struct config_node {
	char *name;
	char *qmp;
	char *announce;
	/* boot-devices: [0] pxe, [1] disk, [2] cd: QOM ids or paths */
	char *boot_devs[3][CONFIG_BOOT_DEVS_MAX];
	size_t n_boot_devs[3];
};

/* IPMI security switches: the weak modes are off unless asked for. */
struct config_ipmi {
	bool cipher_suite_0;    /* RMCP+ suite 0: no authentication at all */
	bool auth_none;         /* IPMI v1.5 auth type none */
	bool straight_password; /* IPMI v1.5 password in clear */
	unsigned max_sessions;  /* per node, default 32 */
	unsigned session_timeout_s; /* idle, default 60 */
};

struct config {
	char *path;
	struct net_cidr *networks;
	size_t n_networks;
	char *interface; /* NULL: do not add addresses to a link */
	uint16_t ipmi_port;
	uint16_t redfish_port;
	char *state_dir;
	char *run_dir;
	char *user;
	struct config_user *users;
	size_t n_users;
	char *tls_cert; /* both NULL: generate one per node */
	char *tls_key;
	struct config_node *nodes;
	size_t n_nodes;
	struct config_ipmi ipmi;
};

/* Parse path.  On error returns -EINVAL (or -errno if the file cannot be
 * read) and sets *ret_errors to a malloc'd text, one line per problem:
 * "FILE:LINE:COL: KEY: message". */
int config_load(const char *path, struct config **ret, char **ret_errors);
/* Same from memory; name is used in messages and relative password paths
 * resolve against dirname(name). */
int config_parse(const char *name, const char *text, size_t len, struct config **ret,
		 char **ret_errors);
void config_free(struct config *c);
/* The normalised config as YAML, every default spelled out, passwords not shown. */
void config_print(const struct config *c, FILE *f);
const char *role_name(enum role r);
const struct config_node *config_find_node(const struct config *c, const char *name);
