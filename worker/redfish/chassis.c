/* The chassis of the one system (same id as the system, as the seed has
 * it).  A VM fits none of the physical ChassisType values, hence "Other".
 * Reset offers what a chassis can do on its own: On and ForceOff. */
#include "internal.h"

#include <string.h>

static bool is_chassis(struct rf_call *c)
{
	return !strcmp(c->id[0], RF_CHASSIS_ID);
}

int rf_chassis_coll_get(struct rf_call *c)
{
	json_t *j = rf_collection(RF_ROOT "/Chassis", "ChassisCollection", "Chassis Collection");

	rf_collection_add(j, RF_CHASSIS);
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_chassis_get(struct rf_call *c)
{
	struct rf *rf = c->rf;
	const char *power = rf_power_state_name(rf->ops->power_state(rf->arg));
	json_t *j;

	if (!is_chassis(c))
		return rf_not_found(c, "Chassis", c->id[0]);
	j = rf_resource(RF_CHASSIS, "#" V_CHASSIS ".Chassis", RF_CHASSIS_ID, rf->cfg.node);
	json_object_set_new(j, "ChassisType", json_string("Other"));
	if (power)
		json_object_set_new(j, "PowerState", json_string(power));
	json_object_set_new(j, "Status",
			    power ? rf_status_obj("Enabled", "OK")
				  : rf_status_obj("UnavailableOffline", "Warning"));
	json_object_set_new(j, "Links",
			    json_pack("{s:[o], s:[o]}", "ComputerSystems", rf_link(RF_SYSTEM),
				      "ManagedBy", rf_link(RF_MANAGER)));
	json_object_set_new(j, "Actions",
			    json_pack("{s:{s:s, s:o}}", "#Chassis.Reset", "target",
				      RF_CHASSIS "/Actions/Chassis.Reset",
				      "ResetType@Redfish.AllowableValues",
				      rf_reset_types(RF_RESET_CHASSIS)));
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_chassis_reset(struct rf_call *c)
{
	if (!is_chassis(c))
		return rf_not_found(c, "Chassis", c->id[0]);
	return rf_reset(c, "#Chassis.Reset", RF_RESET_CHASSIS);
}
