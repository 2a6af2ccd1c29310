/* Pieces every resource body is made of: the properties DSP0266 requires
 * of each resource (@odata.id, @odata.type, Id, Name), collections, links,
 * Status, and the names of our states in Redfish's enumerations. */
#include "internal.h"

#include <stdio.h>

json_t *rf_link(const char *fmt, ...)
{
	char path[RF_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "@odata.id", path);
}

json_t *rf_resource(const char *odata_id, const char *odata_type, const char *id, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "@odata.id", odata_id, "@odata.type", odata_type,
			 "Id", id, "Name", name);
}

/* Collections are unversioned: "#XCollection.XCollection". */
json_t *rf_collection(const char *odata_id, const char *type_name, const char *name)
{
	char type[96];

	snprintf(type, sizeof(type), "#%s.%s", type_name, type_name);
	return json_pack("{s:s, s:s, s:s, s:[], s:i}", "@odata.id", odata_id, "@odata.type", type,
			 "Name", name, "Members", "Members@odata.count", 0);
}

void rf_collection_add(json_t *coll, const char *fmt, ...)
{
	json_t *members = json_object_get(coll, "Members");
	char path[RF_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	json_array_append_new(members, json_pack("{s:s}", "@odata.id", path));
	json_object_set_new(coll, "Members@odata.count",
			    json_integer((json_int_t)json_array_size(members)));
}

json_t *rf_status_obj(const char *state, const char *health)
{
	return json_pack("{s:s, s:s}", "State", state, "Health", health);
}

json_t *rf_strings(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* Resource.PowerState has no "unknown": without QMP we say nothing. */
const char *rf_power_state_name(enum power_state s)
{
	switch (s) {
	case POWER_STATE_ON:
		return "On";
	case POWER_STATE_OFF:
		return "Off";
	case POWER_STATE_POWERING_ON:
		return "PoweringOn";
	case POWER_STATE_POWERING_OFF:
		return "PoweringOff";
	case POWER_STATE_UNKNOWN:
		break;
	}
	return NULL;
}

/* The 16 bytes in order, RFC 4122 text: the node GUID is built in that
 * layout (version nibble in byte 6, variant in byte 8). */
void rf_guid_str(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}
