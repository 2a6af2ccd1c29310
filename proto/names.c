/* Names of the enums of proto.h, for logs, the CLI and JSON output. */
#include "proto.h"

#include <errno.h>
#include <string.h>

static const char *const action_names[POWER_ACTION_COUNT] = {
	[POWER_ON] = "on",
	[POWER_OFF] = "off",
	[POWER_SOFT] = "soft",
	[POWER_RESET] = "reset",
	[POWER_CYCLE] = "cycle",
	[POWER_NMI] = "nmi",
	[POWER_PUSH_BUTTON] = "push-button",
	[POWER_GRACEFUL_RESTART] = "graceful-restart",
};

const char *power_action_name(enum power_action a)
{
	return (unsigned)a < POWER_ACTION_COUNT ? action_names[a] : "?";
}

int power_action_parse(const char *s, enum power_action *ret)
{
	for (unsigned i = 0; i < POWER_ACTION_COUNT; i++)
		if (strcmp(s, action_names[i]) == 0) {
			*ret = (enum power_action)i;
			return 0;
		}
	return -EINVAL;
}

const char *power_state_name(enum power_state s)
{
	switch (s) {
	case POWER_STATE_UNKNOWN: return "unknown";
	case POWER_STATE_OFF: return "off";
	case POWER_STATE_ON: return "on";
	case POWER_STATE_POWERING_OFF: return "powering-off";
	case POWER_STATE_POWERING_ON: return "powering-on";
	}
	return "?";
}

const char *power_result_name(enum power_result r)
{
	switch (r) {
	case POWER_OK: return "ok";
	case POWER_E_STATE: return "not possible in the current power state";
	case POWER_E_UNAVAILABLE: return "QEMU not reachable";
	case POWER_E_FAILED: return "QEMU refused";
	case POWER_E_TIMEOUT: return "QEMU did not answer in time";
	case POWER_E_BUSY: return "busy";
	}
	return "?";
}

const char *node_state_name(enum node_state s)
{
	switch (s) {
	case NODE_WAITING: return "waiting";
	case NODE_STARTING: return "starting";
	case NODE_SERVING: return "serving";
	case NODE_RESTARTING: return "restarting";
	case NODE_FAILED: return "failed";
	}
	return "?";
}

static const char *const boot_target_names[BOOT_TARGET_COUNT] = {
	[BOOT_NONE] = "none",
	[BOOT_PXE] = "pxe",
	[BOOT_DISK] = "disk",
	[BOOT_CD] = "cd",
	[BOOT_BIOS] = "bios",
};

const char *boot_target_name(enum boot_target t)
{
	return (unsigned)t < BOOT_TARGET_COUNT ? boot_target_names[t] : "?";
}

int boot_target_parse(const char *s, enum boot_target *ret)
{
	for (unsigned i = 0; i < BOOT_TARGET_COUNT; i++)
		if (strcmp(s, boot_target_names[i]) == 0) {
			*ret = (enum boot_target)i;
			return 0;
		}
	return -EINVAL;
}
