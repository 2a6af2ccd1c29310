/* The state file: every node's announced address, so that a restarted
 * supervisor restores each BMC without waiting for the guest (guests
 * announce once per boot).  JSON, written atomically with mode 0600. */
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
#define STATE_MAX (4 * 1024 * 1024)
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
	s->state_retry.data = s;
	if (!s->state_pending) {
		s->state_pending = true;
		uv_timer_start(&s->state_retry, retry, SAVE_BATCH_MS, 0);
	}
}

/* A full or read-only state directory must not stop any BMC: log, keep
 * serving, and try again until the write goes through. */
int state_save(struct sup *s)
{
	char path[PATH_MAX];
	json_t *root = json_object(), *nodes = json_object();
	char *text;
	int r;

	s->state_pending = false;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i]->has_addr)
			json_object_set_new(nodes, s->nodes[i]->name,
					    json_string(s->nodes[i]->addr_text));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "nodes", nodes);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
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

int state_load(struct sup *s)
{
	char path[PATH_MAX];
	char *text;
	json_t *root, *nodes, *v;
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
	if (!json_is_object(nodes) || json_integer_value(json_object_get(root, "version")) != 1) {
		log_warnx("state file %s is not valid: ignored", path);
		json_decref(root);
		return -EBADMSG;
	}
	json_object_foreach(nodes, name, v) {
		struct node *n = sup_find_node(s, name);
		if (!n || !json_is_string(v)) {
			log_info("state file: dropping unknown node %s", name);
			continue;
		}
		node_restore(n, json_string_value(v));
	}
	json_decref(root);
	return 0;
}
