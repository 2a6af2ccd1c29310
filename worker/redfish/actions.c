/* #ComputerSystem.Reset and #Chassis.Reset: one ResetType each, carried out
 * by the power core per DESIGN.md's table, answered when QEMU has answered
 * (204), or with the Base message that says why not. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every ResetType we carry out, and who offers it: the system all of
 * them, the chassis what a chassis can do on its own. */
static const struct {
	const char *name;
	enum power_action action;
	unsigned scope;
} reset_map[] = {
    {"On", POWER_ON, RF_RESET_SYSTEM | RF_RESET_CHASSIS},
    {"ForceOff", POWER_OFF, RF_RESET_SYSTEM | RF_RESET_CHASSIS},
    {"GracefulShutdown", POWER_SOFT, RF_RESET_SYSTEM},
    {"GracefulRestart", POWER_GRACEFUL_RESTART, RF_RESET_SYSTEM},
    {"ForceRestart", POWER_RESET, RF_RESET_SYSTEM},
    {"PowerCycle", POWER_CYCLE, RF_RESET_SYSTEM},
    {"PushPowerButton", POWER_PUSH_BUTTON, RF_RESET_SYSTEM},
    {"Nmi", POWER_NMI, RF_RESET_SYSTEM},
};

#define N_RESETS (sizeof(reset_map) / sizeof(reset_map[0]))

json_t *rf_reset_types(unsigned scope)
{
	json_t *a = json_array();

	for (size_t i = 0; i < N_RESETS; i++)
		if (reset_map[i].scope & scope)
			json_array_append_new(a, json_string(reset_map[i].name));
	return a;
}

#define RETRY_S 5 /* the power core retries QMP within this */

static void reset_done(void *arg, enum power_result r, const char *detail)
{
	struct rf_call *c = arg;

	switch (r) {
	case POWER_OK:
		rf_reply(c, 204, NULL);
		break;
	case POWER_E_STATE:
		rf_msg(c, MSG_RESOURCE_IN_STANDBY, NULL, NULL, NULL);
		rf_fail(c, 409, detail);
		break;
	case POWER_E_BUSY:
		rf_msg(c, MSG_RESOURCE_IN_USE, NULL, NULL, NULL);
		rf_fail(c, 409, detail);
		break;
	case POWER_E_UNAVAILABLE:
		rf_add_header(c, "Retry-After", "%d", RETRY_S);
		rf_msg(c, MSG_SERVICE_TEMPORARILY_UNAVAILABLE, "5", NULL, NULL);
		rf_fail(c, 503, detail);
		break;
	case POWER_E_FAILED:
	case POWER_E_TIMEOUT:
	default:
		rf_msg(c, MSG_INTERNAL_ERROR, NULL, NULL, NULL);
		rf_fail(c, 500, detail);
		break;
	}
	if (r != POWER_OK)
		rf_log(c->rf, LOG_NOTICE, "Redfish: ResetType %s not done: %s", c->action,
		       detail ? detail : power_result_name(r));
	rf_finish(c);
}

/* The value as the client wrote it, for the type error message. */
static void value_text(json_t *v, char *buf, size_t size)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
}

/* The ResetType of a reset body, or NULL after answering 400. */
static const char *reset_type(struct rf_call *c, json_t *body, const char *action)
{
	const char *key;
	char text[64];
	json_t *v;

	json_object_foreach(body, key, v) if (strcmp(key, "ResetType") != 0)
	    rf_msg(c, MSG_ACTION_PARAMETER_UNKNOWN, action, key, NULL);
	if (c->messages) {
		rf_fail(c, 400, NULL);
		return NULL;
	}
	v = json_object_get(body, "ResetType");
	if (!v) {
		rf_error(c, 400, MSG_ACTION_PARAMETER_MISSING, action, "ResetType", NULL);
		return NULL;
	}
	if (!json_is_string(v)) {
		value_text(v, text, sizeof(text));
		rf_error(c, 400, MSG_ACTION_PARAMETER_VALUE_TYPE_ERROR, text, "ResetType", action);
		return NULL;
	}
	return json_string_value(v);
}

int rf_reset(struct rf_call *c, const char *action, unsigned scope)
{
	struct rf *rf = c->rf;
	json_t *body = rf_body_object(c, true);
	const char *type;
	size_t i;

	if (!body)
		return RF_DONE;
	type = reset_type(c, body, action);
	if (!type) {
		json_decref(body);
		return RF_DONE;
	}
	for (i = 0; i < N_RESETS; i++)
		if (!strcmp(type, reset_map[i].name) && (reset_map[i].scope & scope))
			break;
	if (i == N_RESETS) {
		rf_error(c, 400, MSG_ACTION_PARAMETER_VALUE_NOT_IN_LIST, type, "ResetType", action);
		json_decref(body);
		return RF_DONE;
	}
	strlcpy0(c->action, type, sizeof(c->action));
	json_decref(body);
	rf_log(rf, LOG_INFO, "Redfish: %s ResetType %s (power %s) by %s from %s", action, c->action,
	       power_action_name(reset_map[i].action), c->who.user,
	       c->rq->client ? c->rq->client : "?");
	rf->ops->power(rf->arg, reset_map[i].action, reset_done, c);
	return RF_PENDING;
}
