/* The entry points every client reads first, all without credentials
 * (DSP0266 "Service root request"): /redfish, the service root, the OData
 * service document and the CSDL $metadata naming the DMTF schemas used. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rf_versions_get(struct rf_call *c)
{
	rf_reply(c, 200, json_pack("{s:s}", "v1", RF_ROOT "/"));
	return RF_DONE;
}

static json_t *protocol_features(void)
{
	/* we serve whole resources only; query parameters are ignored */
	return json_pack("{s:{s:b}, s:b, s:b, s:b, s:b}", "ExpandQuery", "ExpandAll", 0,
			 "FilterQuery", 0, "SelectQuery", 0, "OnlyMemberQuery", 0, "ExcerptQuery",
			 0);
}

int rf_root_get(struct rf_call *c)
{
	char uuid[37];
	json_t *j = rf_resource(RF_ROOT "/", "#" V_SERVICE_ROOT ".ServiceRoot", "RootService",
				"Root Service");

	rf_guid_str(c->rf->cfg.guid, uuid);
	json_object_set_new(j, "RedfishVersion", json_string(RF_REDFISH_VERSION));
	json_object_set_new(j, "UUID", json_string(uuid));
	json_object_set_new(j, "Product", json_string("vbmc"));
	json_object_set_new(j, "ProtocolFeaturesSupported", protocol_features());
	json_object_set_new(j, "Systems", rf_link(RF_ROOT "/Systems"));
	json_object_set_new(j, "Chassis", rf_link(RF_ROOT "/Chassis"));
	json_object_set_new(j, "Managers", rf_link(RF_ROOT "/Managers"));
	json_object_set_new(j, "SessionService", rf_link(RF_ROOT "/SessionService"));
	json_object_set_new(j, "AccountService", rf_link(RF_ROOT "/AccountService"));
	json_object_set_new(j, "Links", json_pack("{s:o}", "Sessions", rf_link(RF_SESSIONS)));
	rf_reply(c, 200, j);
	return RF_DONE;
}

/* The top-level entries of the OData service document. */
static const struct {
	const char *name, *url;
} singletons[] = {
    {"Service", RF_ROOT "/"},
    {"Systems", RF_ROOT "/Systems"},
    {"Chassis", RF_ROOT "/Chassis"},
    {"Managers", RF_ROOT "/Managers"},
    {"SessionService", RF_ROOT "/SessionService"},
    {"Sessions", RF_SESSIONS},
    {"AccountService", RF_ROOT "/AccountService"},
};

int rf_odata_get(struct rf_call *c)
{
	json_t *value = json_array();

	for (size_t i = 0; i < sizeof(singletons) / sizeof(singletons[0]); i++)
		json_array_append_new(value,
				      json_pack("{s:s, s:s, s:s}", "name", singletons[i].name,
						"kind", "Singleton", "url", singletons[i].url));
	rf_reply(c, 200,
		 json_pack("{s:s, s:o}", "@odata.context", RF_ROOT "/$metadata", "value", value));
	return RF_DONE;
}

/* Every DMTF schema file whose types appear in our bodies, with the
 * namespaces used from it (the versioned one included where we use it). */
static const struct {
	const char *file;
	const char *ns[2];
} schemas[] = {
    {"ServiceRoot_v1", {"ServiceRoot", V_SERVICE_ROOT}},
    {"ComputerSystemCollection_v1", {"ComputerSystemCollection", NULL}},
    {"ComputerSystem_v1", {"ComputerSystem", V_SYSTEM}},
    {"EthernetInterfaceCollection_v1", {"EthernetInterfaceCollection", NULL}},
    {"EthernetInterface_v1", {"EthernetInterface", V_NIC}},
    {"ChassisCollection_v1", {"ChassisCollection", NULL}},
    {"Chassis_v1", {"Chassis", V_CHASSIS}},
    {"ManagerCollection_v1", {"ManagerCollection", NULL}},
    {"Manager_v1", {"Manager", V_MANAGER}},
    {"ManagerNetworkProtocol_v1", {"ManagerNetworkProtocol", V_NETPROTO}},
    {"SessionService_v1", {"SessionService", V_SESSION_SERVICE}},
    {"SessionCollection_v1", {"SessionCollection", NULL}},
    {"Session_v1", {"Session", V_SESSION}},
    {"AccountService_v1", {"AccountService", V_ACCOUNT_SERVICE}},
    {"ManagerAccountCollection_v1", {"ManagerAccountCollection", NULL}},
    {"ManagerAccount_v1", {"ManagerAccount", V_ACCOUNT}},
    {"RoleCollection_v1", {"RoleCollection", NULL}},
    {"Role_v1", {"Role", V_ROLE}},
    {"Message_v1", {"Message", V_MESSAGE}},
    {"Resource_v1", {"Resource", NULL}},
};

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!*buf)
		return;
	va_start(ap, fmt);
	n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= *cap - *len) {
		free(*buf); /* the buffer is sized for all of it; never here */
		*buf = NULL;
		return;
	}
	*len += (size_t)n;
}

int rf_metadata_get(struct rf_call *c)
{
	size_t len = 0, cap = 8192;
	char *x = malloc(cap);

	put(&x, &len, &cap,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<edmx:Edmx xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\" "
	    "Version=\"4.0\">\n");
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		put(&x, &len, &cap,
		    "  <edmx:Reference Uri=\"http://redfish.dmtf.org/schemas/v1/%s.xml\">\n",
		    schemas[i].file);
		for (int k = 0; k < 2 && schemas[i].ns[k]; k++)
			put(&x, &len, &cap, "    <edmx:Include Namespace=\"%s\"/>\n",
			    schemas[i].ns[k]);
		put(&x, &len, &cap, "  </edmx:Reference>\n");
	}
	put(&x, &len, &cap,
	    "  <edmx:DataServices>\n"
	    "    <Schema xmlns=\"http://docs.oasis-open.org/odata/ns/edm\" Namespace=\"Service\">\n"
	    "      <EntityContainer Name=\"Service\" Extends=\"%s.ServiceContainer\"/>\n"
	    "    </Schema>\n"
	    "  </edmx:DataServices>\n"
	    "</edmx:Edmx>\n",
	    V_SERVICE_ROOT);
	if (!x)
		return rf_error(c, 500, MSG_INTERNAL_ERROR, NULL, NULL, NULL);
	c->res.status = 200;
	c->res.body = x;
	c->res.body_len = len;
	c->res.content_type = "application/xml";
	return RF_DONE;
}
