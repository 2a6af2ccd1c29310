/* Answers to GETs of resources whose body depends only on the config and
 * on a few pieces of live state (the stamp: power state, boot override,
 * facts read from QEMU).  Clients poll those resources all the time (Ironic
 * and metal3 read the ComputerSystem for its PowerState in a loop), and
 * building the JSON tree and dumping it was most of the CPU a request cost:
 * a body is kept, with every header it went out with, until the stamp
 * changes.  Authentication and privilege checks run before the cache is
 * consulted (router.c), so a cached answer never skips them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void rf_cache_stamp(struct rf *rf, struct rf_stamp *out)
{
	const struct boot_state *b = rf->ops->boot(rf->arg);

	memset(out, 0, sizeof(*out)); /* padding too: stamps are compared with memcmp */
	out->power = (int)rf->ops->power_state(rf->arg);
	out->boot_target = -1;
	if (b) {
		out->boot_generation = b->generation;
		out->boot_target = (int)b->target;
		out->boot_persistent = b->persistent;
		out->boot_efi = b->efi;
	}
	out->facts_gen = rf->facts.gen;
	out->facts_changes = rf->facts.changes;
}

static struct rf_cached *find(struct rf *rf, const struct rf_route *route, const char *path)
{
	for (size_t i = 0; i < RF_CACHE_SLOTS; i++)
		if (rf->cache[i].route == route && !strcmp(rf->cache[i].path, path))
			return &rf->cache[i];
	return NULL;
}

static bool wanted(const struct rf_call *c)
{
	return c->route && c->route->cacheable && (c->method == RF_GET || c->method == RF_HEAD);
}

bool rf_cache_serve(struct rf_call *c)
{
	struct rf_cached *e;

	if (!wanted(c))
		return false;
	rf_cache_stamp(c->rf, &c->stamp);
	e = find(c->rf, c->route, c->path);
	if (!e || memcmp(&e->stamp, &c->stamp, sizeof(c->stamp)) != 0)
		return false;
	c->res.body = malloc(e->body_len ? e->body_len : 1);
	if (!c->res.body)
		return false;
	memcpy(c->res.body, e->body, e->body_len);
	c->res.body_len = e->body_len;
	c->res.status = 200;
	c->res.content_type = e->content_type;
	memcpy(c->res.headers, e->headers, e->n_headers * sizeof(e->headers[0]));
	c->res.n_headers = e->n_headers;
	c->from_cache = true;
	return true;
}

static struct rf_cached *slot_for(struct rf *rf, const struct rf_call *c)
{
	struct rf_cached *e = find(rf, c->route, c->path);

	for (size_t i = 0; !e && i < RF_CACHE_SLOTS; i++)
		if (!rf->cache[i].route)
			e = &rf->cache[i];
	if (!e)
		e = &rf->cache[rf->cache_next++ % RF_CACHE_SLOTS];
	free(e->body);
	memset(e, 0, sizeof(*e));
	return e;
}

/* Only a complete synchronous 200: a pending call may have seen the state
 * change under it, and errors are cheap to build again. */
void rf_cache_store(struct rf_call *c)
{
	struct rf_cached *e;

	if (!wanted(c) || c->from_cache || !c->in_handle || c->res.status != 200 ||
	    !c->res.body || strlen(c->path) >= sizeof(e->path))
		return;
	e = slot_for(c->rf, c);
	e->body = malloc(c->res.body_len ? c->res.body_len : 1);
	if (!e->body)
		return;
	memcpy(e->body, c->res.body, c->res.body_len);
	e->body_len = c->res.body_len;
	e->route = c->route;
	strcpy(e->path, c->path);
	e->stamp = c->stamp;
	e->content_type = c->res.content_type;
	memcpy(e->headers, c->res.headers, c->res.n_headers * sizeof(e->headers[0]));
	e->n_headers = c->res.n_headers;
}

void rf_cache_free(struct rf *rf)
{
	for (size_t i = 0; i < RF_CACHE_SLOTS; i++) {
		free(rf->cache[i].body);
		rf->cache[i].body = NULL;
		rf->cache[i].route = NULL;
	}
}
