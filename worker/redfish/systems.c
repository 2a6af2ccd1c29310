/* The one ComputerSystem (System.Embedded.1, fixed by the seed): live power
 * state, what QEMU told us about the VM (facts.c), the boot override shared
 * with IPMI (PATCH Boot, guarded by ETag/If-Match), its NICs, and Reset. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *const boot_targets[] = {"None", "Pxe", "Hdd", "Cd"};
static const char *const boot_enabled[] = {"Disabled", "Once", "Continuous"};
static const char *const boot_modes[] = {"UEFI", "Legacy"};

enum { ENABLED_DISABLED, ENABLED_ONCE, ENABLED_CONTINUOUS };

static const char *target_name(enum boot_target t)
{
	switch (t) {
	case BOOT_NONE:
		return "None";
	case BOOT_PXE:
		return "Pxe";
	case BOOT_DISK:
		return "Hdd";
	case BOOT_CD:
		return "Cd";
	case BOOT_BIOS:
		return "BiosSetup"; /* never set by us; IPMI refuses it too */
	case BOOT_TARGET_COUNT:
		break;
	}
	return "None";
}

static bool is_system(struct rf_call *c)
{
	return !strcmp(c->id[0], RF_SYSTEM_ID);
}

/* ---- the resource ---- */

static json_t *boot_obj(const struct boot_state *b)
{
	const char *enabled = b->target == BOOT_NONE ? "Disabled"
			      : b->persistent	     ? "Continuous"
						     : "Once";

	return json_pack(
	    "{s:s, s:o, s:s, s:o, s:s, s:o}", "BootSourceOverrideTarget", target_name(b->target),
	    "BootSourceOverrideTarget@Redfish.AllowableValues", rf_strings(boot_targets, 4),
	    "BootSourceOverrideEnabled", enabled,
	    "BootSourceOverrideEnabled@Redfish.AllowableValues", rf_strings(boot_enabled, 3),
	    "BootSourceOverrideMode", b->efi ? "UEFI" : "Legacy",
	    "BootSourceOverrideMode@Redfish.AllowableValues", rf_strings(boot_modes, 2));
}

static void add_facts(struct rf *rf, json_t *j)
{
	const struct rf_facts *f = &rf->facts;

	if (f->have_uuid)
		json_object_set_new(j, "UUID", json_string(f->uuid));
	if (f->have_mem)
		json_object_set_new(j, "MemorySummary",
				    json_pack("{s:f}", "TotalSystemMemoryGiB",
					      (double)f->mem_bytes / (1024.0 * 1024 * 1024)));
	if (f->have_cpus)
		json_object_set_new(j, "ProcessorSummary", json_pack("{s:i}", "Count", f->cpus));
}

static json_t *system_body(struct rf *rf)
{
	const char *power = rf_power_state_name(rf->ops->power_state(rf->arg));
	struct boot_state *b = rf->ops->boot(rf->arg);
	json_t *j =
	    rf_resource(RF_SYSTEM, "#" V_SYSTEM ".ComputerSystem", RF_SYSTEM_ID, rf->cfg.node);

	json_object_set_new(j, "SystemType", json_string("Virtual"));
	add_facts(rf, j);
	/* PowerState has no "unknown": without QMP it is left out */
	if (power)
		json_object_set_new(j, "PowerState", json_string(power));
	json_object_set_new(j, "Status",
			    power ? rf_status_obj("Enabled", "OK")
				  : rf_status_obj("UnavailableOffline", "Warning"));
	if (b)
		json_object_set_new(j, "Boot", boot_obj(b));
	json_object_set_new(j, "EthernetInterfaces", rf_link(RF_SYSTEM "/EthernetInterfaces"));
	json_object_set_new(j, "Links",
			    json_pack("{s:[o], s:[o]}", "Chassis", rf_link(RF_CHASSIS), "ManagedBy",
				      rf_link(RF_MANAGER)));
	json_object_set_new(j, "Actions",
			    json_pack("{s:{s:s, s:o}}", "#ComputerSystem.Reset", "target",
				      RF_SYSTEM "/Actions/ComputerSystem.Reset",
				      "ResetType@Redfish.AllowableValues",
				      rf_reset_types(RF_RESET_SYSTEM)));
	return j;
}

/* FNV-1a over what a PATCH could conflict with, the boot override and the
 * power state, and nothing else: the same state gives the same tag, also in
 * a restarted worker (the override is restored), as a weak validator of
 * the representation should. */
void rf_system_etag(struct rf *rf, char out[32])
{
	struct boot_state *b = rf->ops->boot(rf->arg);
	uint64_t h = 0xcbf29ce484222325ull;
	char text[96];

	snprintf(text, sizeof(text), "%d:%d:%d:%d", b ? (int)b->target : -1,
		 b ? b->persistent : 0, b ? b->efi : 0, (int)rf->ops->power_state(rf->arg));
	for (const char *p = text; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(out, 32, "W/\"%016llx\"", (unsigned long long)h);
}

static int reply_system(struct rf_call *c)
{
	char etag[32];

	rf_system_etag(c->rf, etag);
	rf_add_header(c, "ETag", "%s", etag);
	rf_reply(c, 200, system_body(c->rf));
	return RF_DONE;
}

int rf_systems_get(struct rf_call *c)
{
	json_t *j = rf_collection(RF_ROOT "/Systems", "ComputerSystemCollection",
				  "Computer System Collection");

	rf_collection_add(j, RF_SYSTEM);
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_system_get(struct rf_call *c)
{
	if (!is_system(c))
		return rf_not_found(c, "ComputerSystem", c->id[0]);
	return reply_system(c);
}

/* ---- PATCH: the boot override ---- */

struct boot_req {
	bool has_target, has_enabled, has_mode;
	enum boot_target target;
	int enabled;
	bool efi;
};

static int index_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return (int)i;
	return -1;
}

/* A string property out of a list; -1 after adding the message. */
static int enum_value(struct rf_call *c, const char *prop, json_t *v, const char *const *list,
		      size_t n)
{
	char text[64];
	char *dump;
	int i;

	if (!json_is_string(v)) {
		dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(text, sizeof(text), "%s", dump ? dump : "?");
		free(dump);
		rf_msg(c, MSG_PROPERTY_VALUE_TYPE_ERROR, text, prop, NULL);
		return -1;
	}
	i = index_of(json_string_value(v), list, n);
	if (i < 0)
		rf_msg(c, MSG_PROPERTY_VALUE_NOT_IN_LIST, json_string_value(v), prop, NULL);
	return i;
}

static void parse_boot_key(struct rf_call *c, const char *key, json_t *v, struct boot_req *r)
{
	static const enum boot_target targets[] = {BOOT_NONE, BOOT_PXE, BOOT_DISK, BOOT_CD};
	char prop[128];
	int i;

	snprintf(prop, sizeof(prop), "Boot/%s", key);
	if (!strcmp(key, "BootSourceOverrideTarget")) {
		if ((i = enum_value(c, prop, v, boot_targets, 4)) >= 0) {
			r->has_target = true;
			r->target = targets[i];
		}
	} else if (!strcmp(key, "BootSourceOverrideEnabled")) {
		if ((i = enum_value(c, prop, v, boot_enabled, 3)) >= 0) {
			r->has_enabled = true;
			r->enabled = i;
		}
	} else if (!strcmp(key, "BootSourceOverrideMode")) {
		if ((i = enum_value(c, prop, v, boot_modes, 2)) >= 0) {
			r->has_mode = true;
			r->efi = i == 0;
		}
	} else if (strstr(key, "@Redfish.AllowableValues")) {
		rf_msg(c, MSG_PROPERTY_NOT_WRITABLE, prop, NULL, NULL);
	} else {
		rf_msg(c, MSG_PROPERTY_UNKNOWN, prop, NULL, NULL);
	}
}

static void parse_patch(struct rf_call *c, json_t *body, struct boot_req *r)
{
	json_t *current = system_body(c->rf), *v, *bv;
	const char *key, *bkey;

	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "Boot") != 0) {
			/* what we show but do not take is read-only, the rest unknown */
			rf_msg(c,
			       json_object_get(current, key) ? MSG_PROPERTY_NOT_WRITABLE
							     : MSG_PROPERTY_UNKNOWN,
			       key, NULL, NULL);
		} else if (!json_is_object(v)) {
			rf_msg(c, MSG_PROPERTY_VALUE_TYPE_ERROR,
			       json_is_null(v) ? "null" : "(not an object)", "Boot", NULL);
		} else {
			json_object_foreach(v, bkey, bv) parse_boot_key(c, bkey, bv, r);
		}
	}
	json_decref(current);
}

/* Redfish semantics on the shared state: Disabled clears the override; a
 * target set while none was active starts as Once; Mode is independent. */
static bool apply(struct boot_state *b, const struct boot_req *r)
{
	enum boot_target target = b->target;
	bool persistent = b->persistent, efi = b->efi;

	if (r->has_mode)
		efi = r->efi;
	if (r->has_target)
		target = r->target;
	if (r->has_enabled && r->enabled == ENABLED_DISABLED)
		target = BOOT_NONE;
	else if (r->has_enabled)
		persistent = r->enabled == ENABLED_CONTINUOUS;
	else if (r->has_target && target != BOOT_NONE && b->target == BOOT_NONE)
		persistent = false;
	if (target == b->target && persistent == b->persistent && efi == b->efi)
		return false;
	b->target = target;
	b->persistent = persistent;
	b->efi = efi;
	b->generation++;
	return true;
}

static bool etag_matches(const char *if_match, const char *etag)
{
	const char *tag = etag + 2; /* compare without W/: weak comparison */
	size_t len = strlen(tag);

	for (const char *p = if_match; *p;) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (!strncmp(p, tag, len) && (p[len] == '\0' || strchr(" \t,", p[len])))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

int rf_system_patch(struct rf_call *c)
{
	struct rf *rf = c->rf;
	struct boot_req r = {0};
	struct boot_state *b;
	char etag[32];
	json_t *body;

	if (!is_system(c))
		return rf_not_found(c, "ComputerSystem", c->id[0]);
	rf_system_etag(rf, etag);
	if (c->rq->if_match && !etag_matches(c->rq->if_match, etag))
		return rf_error(c, 412, MSG_PRECONDITION_FAILED, NULL, NULL, NULL);
	if (!(body = rf_body_object(c, false)))
		return RF_DONE;
	if (json_object_size(body) == 0) {
		json_decref(body);
		return rf_error(c, 400, MSG_EMPTY_JSON, NULL, NULL, NULL);
	}
	parse_patch(c, body, &r);
	json_decref(body);
	if (c->messages)
		return rf_fail(c, 400, NULL);
	if (!(b = rf->ops->boot(rf->arg)))
		return rf_error(c, 500, MSG_INTERNAL_ERROR, NULL, NULL, NULL);
	if (apply(b, &r)) {
		rf_log(rf, LOG_INFO, "Redfish: boot override %s, %s, %s by %s",
		       target_name(b->target), b->persistent ? "Continuous" : "Once",
		       b->efi ? "UEFI" : "Legacy", c->who.user);
		rf->ops->boot_changed(rf->arg);
	}
	return reply_system(c);
}

int rf_system_reset(struct rf_call *c)
{
	if (!is_system(c))
		return rf_not_found(c, "ComputerSystem", c->id[0]);
	return rf_reset(c, "#ComputerSystem.Reset", RF_RESET_SYSTEM);
}

/* ---- EthernetInterfaces: the VM's NICs as QOM shows them ---- */

static const struct rf_nic *nic_by_id(struct rf *rf, const char *id)
{
	for (size_t i = 0; i < rf->facts.n_nics; i++)
		if (rf->facts.nics[i].have_mac && !strcmp(rf->facts.nics[i].id, id))
			return &rf->facts.nics[i];
	return NULL;
}

int rf_nics_get(struct rf_call *c)
{
	struct rf *rf = c->rf;
	json_t *j;

	if (!is_system(c))
		return rf_not_found(c, "ComputerSystem", c->id[0]);
	j = rf_collection(RF_SYSTEM "/EthernetInterfaces", "EthernetInterfaceCollection",
			  "Ethernet Interface Collection");
	for (size_t i = 0; i < rf->facts.n_nics; i++)
		if (rf->facts.nics[i].have_mac)
			rf_collection_add(j, RF_SYSTEM "/EthernetInterfaces/%s",
					  rf->facts.nics[i].id);
	rf_reply(c, 200, j);
	return RF_DONE;
}

int rf_nic_get(struct rf_call *c)
{
	const struct rf_nic *n;
	char path[RF_PATH_MAX], name[64];
	json_t *j;

	if (!is_system(c))
		return rf_not_found(c, "ComputerSystem", c->id[0]);
	if (!(n = nic_by_id(c->rf, c->id[1])))
		return rf_not_found(c, "EthernetInterface", c->id[1]);
	snprintf(path, sizeof(path), RF_SYSTEM "/EthernetInterfaces/%s", n->id);
	snprintf(name, sizeof(name), "Ethernet Interface %s", n->id);
	j = rf_resource(path, "#" V_NIC ".EthernetInterface", n->id, name);
	/* QEMU knows the configured address; a guest may change it unseen */
	json_object_set_new(j, "MACAddress", json_string(n->mac));
	json_object_set_new(j, "PermanentMACAddress", json_string(n->mac));
	/* the device is there and usable; Ironic registers ports for Enabled */
	json_object_set_new(j, "Status", rf_status_obj("Enabled", "OK"));
	/* EthernetInterface.v1_9_0: Links.Chassis is one link, not an array */
	json_object_set_new(j, "Links", json_pack("{s:o}", "Chassis", rf_link(RF_CHASSIS)));
	rf_reply(c, 200, j);
	return RF_DONE;
}
