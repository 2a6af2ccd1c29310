/* The configured users and the three predefined roles, read-only: users
 * come from the config file, so nothing here can change them.  A body
 * never carries a password.  Account ids are the users' positions in the
 * config, 1-based. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	enum rf_role role;
	const char *privileges[5];
	size_t n;
} roles[] = {
    {RF_ROLE_ADMIN,
     {"Login", "ConfigureManager", "ConfigureUsers", "ConfigureSelf", "ConfigureComponents"},
     5},
    {RF_ROLE_OPERATOR, {"Login", "ConfigureSelf", "ConfigureComponents"}, 3},
    {RF_ROLE_READONLY, {"Login", "ConfigureSelf"}, 2},
};

int rf_account_service_get(struct rf_call *c)
{
	json_t *j = rf_resource(RF_ROOT "/AccountService", "#" V_ACCOUNT_SERVICE ".AccountService",
				"AccountService", "Account Service");

	json_object_set_new(j, "ServiceEnabled", json_true());
	json_object_set_new(j, "LocalAccountAuth", json_string("Enabled"));
	json_object_set_new(j, "Status", rf_status_obj("Enabled", "OK"));
	json_object_set_new(j, "Accounts", rf_link(RF_ACCOUNTS));
	json_object_set_new(j, "Roles", rf_link(RF_ROLES));
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_accounts_get(struct rf_call *c)
{
	json_t *j = rf_collection(RF_ACCOUNTS, "ManagerAccountCollection", "Accounts Collection");

	for (size_t i = 0; i < c->rf->cfg.n_users; i++)
		rf_collection_add(j, RF_ACCOUNTS "/%zu", i + 1);
	rf_reply(c, 200, j);
	return RF_DONE;
}

/* "1".."n" only: no signs, no leading zeros, nothing after the digits. */
static const struct rf_user *user_by_id(struct rf *rf, const char *id)
{
	char *end;
	unsigned long n;

	if (id[0] < '1' || id[0] > '9')
		return NULL;
	n = strtoul(id, &end, 10);
	if (*end || n > rf->cfg.n_users)
		return NULL;
	return &rf->cfg.users[n - 1];
}

int rf_account_get(struct rf_call *c)
{
	const struct rf_user *u = user_by_id(c->rf, c->id[0]);
	char path[RF_PATH_MAX];
	json_t *j;

	if (!u)
		return rf_not_found(c, "ManagerAccount", c->id[0]);
	/* ConfigureSelf for one's own account, ConfigureManager for others' */
	if (strcmp(u->name, c->who.user) != 0 && !rf_role_has(c->who.role, RF_PRIV_MANAGER))
		return rf_error(c, 403, MSG_INSUFFICIENT_PRIVILEGE, NULL, NULL, NULL);
	snprintf(path, sizeof(path), RF_ACCOUNTS "/%s", c->id[0]);
	j = rf_resource(path, "#" V_ACCOUNT ".ManagerAccount", c->id[0], "User Account");
	json_object_set_new(j, "UserName", json_string(u->name));
	json_object_set_new(j, "RoleId", json_string(rf_role_name(u->role)));
	json_object_set_new(j, "Enabled", json_true());
	json_object_set_new(j, "Locked", json_false());
	/* the same account logs in over IPMI too */
	json_object_set_new(j, "AccountTypes", json_pack("[s, s]", "Redfish", "IPMI"));
	json_object_set_new(
	    j, "Links", json_pack("{s:o}", "Role", rf_link(RF_ROLES "/%s", rf_role_name(u->role))));
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_roles_get(struct rf_call *c)
{
	json_t *j = rf_collection(RF_ROLES, "RoleCollection", "Roles Collection");

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		rf_collection_add(j, RF_ROLES "/%s", rf_role_name(roles[i].role));
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_role_get(struct rf_call *c)
{
	char path[RF_PATH_MAX];
	const char *name;
	json_t *j;

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		name = rf_role_name(roles[i].role);
		if (strcmp(c->id[0], name) != 0)
			continue;
		snprintf(path, sizeof(path), RF_ROLES "/%s", name);
		j = rf_resource(path, "#" V_ROLE ".Role", name, name);
		json_object_set_new(j, "RoleId", json_string(name));
		json_object_set_new(j, "IsPredefined", json_true());
		json_object_set_new(j, "AssignedPrivileges",
				    rf_strings(roles[i].privileges, roles[i].n));
		rf_reply(c, 200, j);
		return RF_DONE;
	}
	return rf_not_found(c, "Role", c->id[0]);
}
