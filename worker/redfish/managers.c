/* The BMC itself: vbmc's worker for this node, its version, and the two
 * protocols it serves on the node's BMC address. */
#include "internal.h"

#include <string.h>

#include "vbmc-build.h"

static bool is_manager(struct rf_call *c)
{
	return !strcmp(c->id[0], RF_MANAGER_ID);
}

int rf_managers_get(struct rf_call *c)
{
	json_t *j = rf_collection(RF_ROOT "/Managers", "ManagerCollection", "Manager Collection");

	rf_collection_add(j, RF_MANAGER);
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_manager_get(struct rf_call *c)
{
	char uuid[37];
	json_t *j;

	if (!is_manager(c))
		return rf_not_found(c, "Manager", c->id[0]);
	rf_guid_str(c->rf->cfg.guid, uuid);
	j = rf_resource(RF_MANAGER, "#" V_MANAGER ".Manager", RF_MANAGER_ID, "vbmc");
	json_object_set_new(j, "ManagerType", json_string("BMC"));
	json_object_set_new(j, "Model", json_string("vbmc"));
	json_object_set_new(j, "FirmwareVersion", json_string(VBMC_VERSION));
	json_object_set_new(j, "UUID", json_string(uuid));
	json_object_set_new(j, "PowerState", json_string("On")); /* we answer: we are on */
	json_object_set_new(j, "Status", rf_status_obj("Enabled", "OK"));
	json_object_set_new(j, "NetworkProtocol", rf_link(RF_MANAGER "/NetworkProtocol"));
	json_object_set_new(j, "Links",
			    json_pack("{s:[o], s:[o]}", "ManagerForServers", rf_link(RF_SYSTEM),
				      "ManagerForChassis", rf_link(RF_CHASSIS)));
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_netproto_get(struct rf_call *c)
{
	const struct rf_config *cfg = &c->rf->cfg;
	json_t *j;

	if (!is_manager(c))
		return rf_not_found(c, "Manager", c->id[0]);
	j = rf_resource(RF_MANAGER "/NetworkProtocol", "#" V_NETPROTO ".ManagerNetworkProtocol",
			"NetworkProtocol", "Manager Network Protocol");
	json_object_set_new(
	    j, "HTTPS", json_pack("{s:i, s:b}", "Port", cfg->redfish_port, "ProtocolEnabled", 1));
	json_object_set_new(j, "IPMI",
			    json_pack("{s:i, s:b}", "Port", cfg->ipmi_port, "ProtocolEnabled", 1));
	/* plain HTTP is never served */
	json_object_set_new(j, "HTTP", json_pack("{s:b}", "ProtocolEnabled", 0));
	json_object_set_new(j, "Status", rf_status_obj("Enabled", "OK"));
	rf_reply(c, 200, j);
	return RF_DONE;
}
