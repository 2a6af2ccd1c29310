/* The state file: every node's announced address, so that a restarted
 * supervisor restores each BMC without waiting for the guest (guests
 * announce once per boot), and its boot state (override, IPMI boot option
 * bytes, original bootindexes), so that no restart loses or corrupts an
 * override.  JSON, written atomically with mode 0600:
 *   {"version": 2, "nodes": {NAME: {"address": ADDR, "boot": {...}}}}
 * both members optional, "boot" as in MSG_BOOT_STATE.  Version 1,
 * {"version": 1, "nodes": {NAME: ADDR}}, is still read. */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"

#define STATE_FILE "nodes.json"
#define STATE_MAX (16 * 1024 * 1024) /* ~4 KiB per node at most, with 16 boot devices */
#define RETRY_MS 5000
#define SAVE_BATCH_MS 50

static void state_path(const struct sup *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", s->cfg->state_dir, STATE_FILE);
}

static void retry(uv_timer_t *t)
{
	state_save(t->data);
}

/* Announcements come in bursts (a rack powering on): one write for the
 * burst instead of a rewrite and two fsyncs per node, which made a
 * thousand announcements cost seconds.  SAVE_BATCH_MS is the longest an
 * announced address waits to reach the disk. */
void state_save_soon(struct sup *s)
{
	/* stopping: the loop may end before the batch would be written */
	if (s->stopping) {
		state_save(s);
		return;
	}
	s->state_retry.data = s;
	if (!s->state_pending) {
		s->state_pending = true;
		uv_timer_start(&s->state_retry, retry, SAVE_BATCH_MS, 0);
	}
}

static json_t *node_entry(const struct node *n)
{
	json_t *o = json_object(), *boot = NULL;
	char *text;

	if (n->has_addr)
		json_object_set_new(o, "address", json_string(n->addr_text));
	if (n->boot) {
		text = msg_boot_encode(n->boot);
		boot = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
	}
	if (boot)
		json_object_set_new(o, "boot", boot);
	return o;
}

static char *state_text(const struct sup *s)
{
	json_t *root = json_object(), *nodes = json_object();
	char *text;

	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i]->has_addr || s->nodes[i]->boot)
			json_object_set_new(nodes, s->nodes[i]->name, node_entry(s->nodes[i]));
	json_object_set_new(root, "version", json_integer(2));
	json_object_set_new(root, "nodes", nodes);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	return text;
}

/* A full or read-only state directory must not stop any BMC: log, keep
 * serving, and try again until the write goes through. */
int state_save(struct sup *s)
{
	char path[PATH_MAX];
	char *text;
	int r;

	s->state_pending = false;
	text = state_text(s);
	state_path(s, path, sizeof(path));
	r = text ? write_file_atomic(path, text, strlen(text), 0600) : -ENOMEM;
	free(text);
	if (r < 0) {
		if (!s->state_dirty)
			log_warnx("cannot write state file %s: %s; retrying every %d s", path,
				  strerror(-r), RETRY_MS / 1000);
		s->state_dirty = true;
		s->state_retry.data = s;
		uv_timer_start(&s->state_retry, retry, RETRY_MS, 0);
		return r;
	}
	if (s->state_dirty)
		log_info("state file %s written again", path);
	s->state_dirty = false;
	uv_timer_stop(&s->state_retry);
	return 0;
}

/* The same strict decoder as a worker's report: a state file edited by
 * hand (or damaged) cannot hand a worker anything a worker could not send. */
static void restore_boot(struct node *n, json_t *boot)
{
	char *text = json_dumps(boot, JSON_COMPACT);
	struct msg_boot m;

	if (text && msg_boot_decode(text, strlen(text), &m) == 0)
		node_set_boot(n, &m, false);
	else
		log_node(LOG_WARNING, n->name, NULL, "state file: boot state not valid: ignored");
	free(text);
}

/* The boot state first: restoring the address spawns the worker, which
 * gets the boot state right after its config. */
static void restore_node(struct node *n, json_t *v, json_int_t version)
{
	json_t *addr = version == 1 ? v : json_object_get(v, "address");
	json_t *boot = version == 1 ? NULL : json_object_get(v, "boot");

	if ((version == 2 && !json_is_object(v)) || (addr && !json_is_string(addr))) {
		log_node(LOG_WARNING, n->name, NULL, "state file: entry not valid: ignored");
		return;
	}
	if (boot)
		restore_boot(n, boot);
	if (addr)
		node_restore(n, json_string_value(addr));
}

int state_load(struct sup *s)
{
	char path[PATH_MAX];
	char *text;
	json_t *root, *nodes, *v;
	json_int_t version;
	const char *name;
	int r;

	state_path(s, path, sizeof(path));
	r = read_file(path, STATE_MAX, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warnx("cannot read state file %s: %s", path, strerror(-r));
		return r;
	}
	root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	nodes = json_object_get(root, "nodes");
	version = json_integer_value(json_object_get(root, "version"));
	if (!json_is_object(nodes) || (version != 1 && version != 2)) {
		log_warnx("state file %s is not valid: ignored", path);
		json_decref(root);
		return -EBADMSG;
	}
	json_object_foreach(nodes, name, v) {
		struct node *n = sup_find_node(s, name);
		if (!n) {
			log_info("state file: dropping unknown node %s", name);
			continue;
		}
		restore_node(n, v, version);
	}
	json_decref(root);
	return 0;
}
