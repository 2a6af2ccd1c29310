/* What the ComputerSystem reports about the VM, asked of QEMU once per QMP
 * connection and kept: the SMBIOS UUID (query-uuid), the memory size
 * (query-memory-size-summary), the CPU count (query-cpus-fast) and the
 * NICs' MAC addresses (qom-get "mac" on every NIC in QOM, found the way
 * worker/boot.c finds bootable devices).  What QEMU does not answer stays
 * unknown and is left out of the resource; nothing is made up. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"

struct fact_req {
	struct rf *rf;
	uint32_t gen;
	size_t nic; /* qom-get mac: which NIC */
	bool anon;  /* qom-list: which directory */
};

static struct fact_req *req_new(struct rf *rf)
{
	struct fact_req *r = calloc(1, sizeof(*r));

	if (r) {
		r->rf = rf;
		r->gen = rf->facts.gen;
	}
	return r;
}

/* Sends cmd; the reply goes to cb with r (freed by cb), unless QMP is down. */
static void ask(struct rf *rf, const char *cmd, json_t *args, qmp_reply_cb cb, struct fact_req *r)
{
	if (!r) {
		json_decref(args);
		return;
	}
	if (!rf->ops->qmp || rf->ops->qmp(rf->arg, cmd, args, cb, r) < 0)
		free(r);
}

/* The reply is for the current connection's questions; frees r. */
static struct rf *current(struct fact_req *r, const char *error)
{
	struct rf *rf = r->rf;
	bool ok = r->gen == rf->facts.gen && !error;

	if (ok)
		return rf;
	free(r);
	return NULL;
}

static bool all_zero_uuid(const char *s)
{
	for (; *s; s++)
		if (*s != '0' && *s != '-')
			return false;
	return true;
}

/* {"UUID": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}; QEMU started without
 * -uuid says all zeros: then the node GUID stands for it. */
static void uuid_done(void *arg, json_t *ret, const char *error)
{
	struct fact_req *r = arg;
	struct rf *rf = current(r, error);
	const char *u = json_string_value(json_object_get(ret, "UUID"));

	if (!rf)
		return;
	free(r);
	if (!u || strlen(u) != 36)
		return;
	if (all_zero_uuid(u))
		rf_guid_str(rf->cfg.guid, rf->facts.uuid);
	else
		rf_sanitize(rf->facts.uuid, sizeof(rf->facts.uuid), u);
	rf->facts.have_uuid = true;
	rf->facts.changes++;
}

/* {"base-memory": N, "plugged-memory": M}: what the guest has is both. */
static void memory_done(void *arg, json_t *ret, const char *error)
{
	struct fact_req *r = arg;
	struct rf *rf = current(r, error);
	json_t *base = json_object_get(ret, "base-memory");
	json_t *plugged = json_object_get(ret, "plugged-memory");

	if (!rf)
		return;
	free(r);
	if (!json_is_integer(base) || json_integer_value(base) <= 0)
		return;
	rf->facts.mem_bytes = (uint64_t)json_integer_value(base);
	if (json_is_integer(plugged) && json_integer_value(plugged) > 0)
		rf->facts.mem_bytes += (uint64_t)json_integer_value(plugged);
	rf->facts.have_mem = true;
	rf->facts.changes++;
}

/* An array with one entry per vCPU. */
static void cpus_done(void *arg, json_t *ret, const char *error)
{
	struct fact_req *r = arg;
	struct rf *rf = current(r, error);

	if (!rf)
		return;
	free(r);
	if (!json_is_array(ret) || json_array_size(ret) == 0)
		return;
	rf->facts.cpus = (unsigned)json_array_size(ret);
	rf->facts.have_cpus = true;
	rf->facts.changes++;
}

static bool valid_mac(const char *s)
{
	if (!s || strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		bool colon = i % 3 == 2;
		if (colon ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

static void mac_done(void *arg, json_t *ret, const char *error)
{
	struct fact_req *r = arg;
	struct rf *rf = current(r, error);
	const char *mac = json_string_value(ret);
	struct rf_nic *n;

	if (!rf)
		return;
	if (r->nic < rf->facts.n_nics && valid_mac(mac)) {
		n = &rf->facts.nics[r->nic];
		memcpy(n->mac, mac, sizeof(n->mac));
		n->have_mac = true;
		rf->facts.changes++;
	}
	free(r);
}

static void add_nic(struct rf *rf, const char *dir, const char *name)
{
	struct rf_facts *f = &rf->facts;
	struct fact_req *r;
	char path[200];

	if (f->n_nics == RF_MAX_NICS)
		return;
	snprintf(f->nics[f->n_nics].id, sizeof(f->nics[0].id), "NIC.%zu", f->n_nics + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = req_new(rf);
	if (r)
		r->nic = f->n_nics;
	f->n_nics++;
	f->changes++;
	ask(rf, "qom-get", json_pack("{s:s, s:s}", "path", path, "property", "mac"), mac_done, r);
}

/* [{"name": N, "type": "child<TYPE>"}, ...]: NICs are what boots over PXE. */
static void list_done(void *arg, json_t *ret, const char *error)
{
	struct fact_req *r = arg;
	const char *dir = r->anon ? "/machine/peripheral-anon" : "/machine/peripheral";
	struct rf *rf = current(r, error);
	json_t *e;
	size_t i;

	if (!rf)
		return;
	free(r);
	if (!json_is_array(ret))
		return;
	json_array_foreach(ret, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *type = json_string_value(json_object_get(e, "type"));
		char t[96];
		if (!name || !type || strlen(name) > 64 || sscanf(type, "child<%95[^>]>", t) != 1)
			continue;
		if (boot_classify(t) == BOOT_PXE)
			add_nic(rf, dir, name);
	}
}

static void list_dir(struct rf *rf, bool anon)
{
	struct fact_req *r = req_new(rf);

	if (r)
		r->anon = anon;
	ask(rf, "qom-list",
	    json_pack("{s:s}", "path", anon ? "/machine/peripheral-anon" : "/machine/peripheral"),
	    list_done, r);
}

/* A new connection may be a new QEMU: forget, then ask again.  QMP answers
 * in order, so the NICs of peripheral come before the anonymous ones. */
void rf_facts_fetch(struct rf *rf)
{
	uint32_t gen = rf->facts.gen + 1;

	memset(&rf->facts, 0, sizeof(rf->facts));
	rf->facts.gen = gen;
	ask(rf, "query-uuid", NULL, uuid_done, req_new(rf));
	ask(rf, "query-memory-size-summary", NULL, memory_done, req_new(rf));
	ask(rf, "query-cpus-fast", NULL, cpus_done, req_new(rf));
	list_dir(rf, false);
	list_dir(rf, true);
}

void rf_qmp_connected(struct rf *rf)
{
	rf_facts_fetch(rf);
}
