/* The YAML configuration.
 *
 * libyaml's event stream is first turned into a small tree (so that every
 * problem can be reported with its key path, not only the first one), then
 * the tree is checked against the schema, one table of fields per mapping.
 * The tree is bounded in depth and size and aliases are never expanded: the
 * file is trusted only as far as it is checked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, strndup, explicit_bzero */
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"

#define CONFIG_TEXT_MAX (1024 * 1024)
/* The schema nests at most three containers deep: top, users, users[i]. */
#define TREE_DEPTH_MAX 5 /* top, nodes, a node, boot-devices, a list */
#define TREE_NODES_MAX 65536
#define ERRORS_MAX     100
#define KEY_TEXT_MAX   128
#define QUOTE_MAX      72
#define USER_NAME_MAX  16 /* IPMI user names are at most 16 bytes */
#define UNIX_USER_MAX  32
#define IFNAME_MAX     15 /* IFNAMSIZ - 1 */
#define SUN_PATH_MAX   (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define CONTROL_SOCKET "control.sock"

#define DEFAULT_IPMI_PORT    623
#define DEFAULT_REDFISH_PORT 443
#define DEFAULT_STATE_DIR    "/var/lib/vbmc"
#define DEFAULT_RUN_DIR	     "/run/vbmc"
#define DEFAULT_USER	     "vbmc"

/* ---- collected error text ---------------------------------------------- */

struct errbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void errbuf_vadd(struct errbuf *e, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (e->oom)
		return;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (e->len + n + 1 > e->cap) {
		size_t cap = (e->len + n + 1) * 2;
		char *p = realloc(e->buf, cap);

		if (!p) {
			e->oom = true;
			return;
		}
		e->buf = p;
		e->cap = cap;
	}
	vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
	e->len += n;
}

static void errbuf_add(struct errbuf *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void errbuf_add(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vadd(e, fmt, ap);
	va_end(ap);
}

/* ---- parse context ----------------------------------------------------- */

struct ctx {
	const char *name; /* the config file, for messages */
	const char *text;
	size_t len;
	char *dir; /* absolute directory of the config file */
	struct config *c;
	struct errbuf errs;
	unsigned n_errors;
	bool oom;
};

/* A bounded, printable rendering of text taken from the file, so that an
 * error line stays one line whatever the input holds. */
static const char *quote(const char *s, size_t len, char buf[QUOTE_MAX])
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (o + 8 > QUOTE_MAX) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = ch;
		else
			o += snprintf(buf + o, QUOTE_MAX - o, "\\x%02x", ch);
	}
	buf[o] = '\0';
	return buf;
}

/* Past the limit, one closing line; the rest only counts. */
static bool error_room(struct ctx *x)
{
	x->n_errors++;
	if (x->n_errors == ERRORS_MAX + 1)
		errbuf_add(&x->errs, "%s: too many errors, not showing more\n", x->name);
	return x->n_errors <= ERRORS_MAX;
}

static void report_at(struct ctx *x, size_t line, size_t col, const char *key, const char *fmt,
		      va_list ap)
{
	if (!error_room(x))
		return;
	errbuf_add(&x->errs, "%s:%zu:%zu: %s: ", x->name, line + 1, col + 1, key);
	errbuf_vadd(&x->errs, fmt, ap);
	errbuf_add(&x->errs, "\n");
}

static void report(struct ctx *x, const yaml_mark_t *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct ctx *x, const yaml_mark_t *m, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_at(x, m->line, m->column, key, fmt, ap);
	va_end(ap);
}

static void report_file(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_file(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (!error_room(x))
		return;
	errbuf_add(&x->errs, "%s: ", x->name);
	va_start(ap, fmt);
	errbuf_vadd(&x->errs, fmt, ap);
	va_end(ap);
	errbuf_add(&x->errs, "\n");
}

static char *xdup(struct ctx *x, const char *s)
{
	char *p = strdup(s);

	if (!p)
		x->oom = true;
	return p;
}

/* ---- the YAML tree ----------------------------------------------------- */

enum ytype {
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
	Y_BAD, /* alias or too deep: kept so that the walk can name the key */
};

struct ynode {
	enum ytype type;
	yaml_mark_t mark;
	const char *why; /* Y_BAD */
	char *str;	 /* Y_SCALAR, NUL-terminated copy */
	size_t len;
	bool plain;	    /* plain style and no tag: may be null or a number */
	struct ynode **kid; /* Y_MAP: key, value, key, value... */
	size_t n, cap;
};

struct loader {
	struct ctx *x;
	struct ynode *root;
	struct ynode *stack[TREE_DEPTH_MAX];
	size_t depth;
	size_t skip; /* > 0: inside a container too deep to keep */
	size_t count;
	unsigned docs;
};

static void ynode_free(struct ynode *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++)
		ynode_free(y->kid[i]);
	free(y->kid);
	free(y->str);
	free(y);
}

static struct ynode *ynode_new(enum ytype type, const yaml_mark_t *mark)
{
	struct ynode *y = calloc(1, sizeof(*y));

	if (y) {
		y->type = type;
		y->mark = *mark;
	}
	return y;
}

static int ynode_append(struct ynode *parent, struct ynode *y)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct ynode **p = realloc(parent->kid, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		parent->kid = p;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = y;
	return 0;
}

static int loader_attach(struct loader *l, struct ynode *y)
{
	if (!y)
		return -ENOMEM;
	if (++l->count > TREE_NODES_MAX) {
		report(l->x, &y->mark, "yaml", "more than %d nodes", TREE_NODES_MAX);
		ynode_free(y);
		return -E2BIG;
	}
	if (l->depth == 0) {
		ynode_free(l->root);
		l->root = y;
		return 0;
	}
	if (ynode_append(l->stack[l->depth - 1], y) < 0) {
		ynode_free(y);
		return -ENOMEM;
	}
	return 0;
}

static int loader_bad(struct loader *l, const yaml_mark_t *mark, const char *why)
{
	struct ynode *y = ynode_new(Y_BAD, mark);

	if (y)
		y->why = why;
	return loader_attach(l, y);
}

static int loader_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct ynode *y = ynode_new(Y_SCALAR, &ev->start_mark);

	if (!y)
		return -ENOMEM;
	y->str = malloc(ev->data.scalar.length + 1);
	if (!y->str) {
		free(y);
		return -ENOMEM;
	}
	memcpy(y->str, ev->data.scalar.value, ev->data.scalar.length);
	y->str[ev->data.scalar.length] = '\0';
	y->len = ev->data.scalar.length;
	y->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
	return loader_attach(l, y);
}

static int loader_open(struct loader *l, enum ytype type, const yaml_event_t *ev)
{
	struct ynode *y;
	int r;

	/* Deeper than the schema goes: keep a marker, drop the contents. */
	if (l->depth == TREE_DEPTH_MAX) {
		l->skip = 1;
		return loader_bad(l, &ev->start_mark, "nested deeper than the schema allows");
	}
	y = ynode_new(type, &ev->start_mark);
	r = loader_attach(l, y);
	if (r < 0)
		return r;
	l->stack[l->depth++] = y;
	return 0;
}

static int loader_skip(struct loader *l, const yaml_event_t *ev)
{
	if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT)
		l->skip++;
	else if (ev->type == YAML_MAPPING_END_EVENT || ev->type == YAML_SEQUENCE_END_EVENT)
		l->skip--;
	return 0;
}

static int loader_event(struct loader *l, const yaml_event_t *ev)
{
	if (l->skip)
		return loader_skip(l, ev);

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->docs == 1)
			return 0;
		report(l->x, &ev->start_mark, "yaml", "only one document is allowed");
		return -EINVAL;
	case YAML_MAPPING_START_EVENT:
		return loader_open(l, Y_MAP, ev);
	case YAML_SEQUENCE_START_EVENT:
		return loader_open(l, Y_SEQ, ev);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		l->depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		return loader_scalar(l, ev);
	case YAML_ALIAS_EVENT:
		/* Never expanded: that is how a few bytes become gigabytes. */
		return loader_bad(l, &ev->start_mark, "aliases are not allowed");
	default:
		return 0;
	}
}

/* libyaml's reader reports a byte offset only; turn it into line:col. */
static void offset_mark(const struct ctx *x, size_t offset, yaml_mark_t *m)
{
	m->line = 0;
	m->column = 0;
	for (size_t i = 0; i < offset && i < x->len; i++) {
		if (x->text[i] == '\n') {
			m->line++;
			m->column = 0;
		} else {
			m->column++;
		}
	}
}

static int syntax_error(struct ctx *x, const yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;
	const char *problem = p->problem ? p->problem : "malformed input";

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR)
		offset_mark(x, p->problem_offset, &m);
	if (p->context)
		report(x, &m, "yaml", "%s, %s started at %zu:%zu", problem, p->context,
		       p->context_mark.line + 1, p->context_mark.column + 1);
	else
		report(x, &m, "yaml", "%s", problem);
	return -EINVAL;
}

static int load_tree(struct ctx *x, struct ynode **ret)
{
	struct loader l = {.x = x};
	yaml_parser_t p;
	int r = 0;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)x->text, x->len);
	for (;;) {
		yaml_event_t ev;
		bool end;

		if (!yaml_parser_parse(&p, &ev)) {
			r = syntax_error(x, &p);
			break;
		}
		r = loader_event(&l, &ev);
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (r < 0 || end)
			break;
	}
	yaml_parser_delete(&p);
	if (r < 0) {
		ynode_free(l.root);
		return r;
	}
	*ret = l.root;
	return 0;
}

/* ---- paths ------------------------------------------------------------- */

/* Lexical clean-up of an absolute path: no "//", ".", "..", trailing "/".
 * ".." is resolved on the text, not on the file system: the files need not
 * exist yet (sockets appear when QEMU starts). */
static char *path_normalise(const char *in)
{
	size_t len = strlen(in);
	char *out = malloc(len + 2);
	size_t o = 1;

	if (!out)
		return NULL;
	out[0] = '/';
	while (*in) {
		size_t n;

		in += strspn(in, "/");
		n = strcspn(in, "/");
		if (n == 0 || (n == 1 && in[0] == '.')) {
			in += n;
			continue;
		}
		if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			in += n;
			continue;
		}
		if (o > 1)
			out[o++] = '/';
		memcpy(out + o, in, n);
		o += n;
		in += n;
	}
	out[o] = '\0';
	return out;
}

/* Directory of the config file, absolute, for relative paths inside it. */
static int config_dir(const char *name, char **ret)
{
	const char *slash = strrchr(name, '/');
	int dirlen = slash ? (int)(slash - name) : 0;
	char *cwd = NULL, *joined;

	if (name[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
	}
	if (asprintf(&joined, "%s/%.*s", cwd ? cwd : "", dirlen, name) < 0) {
		free(cwd);
		return -ENOMEM;
	}
	free(cwd);
	*ret = path_normalise(joined);
	free(joined);
	return *ret ? 0 : -ENOMEM;
}

static char *path_resolve(struct ctx *x, const char *p)
{
	char *joined, *out;

	if (p[0] == '/')
		out = path_normalise(p);
	else if (asprintf(&joined, "%s/%s", x->dir, p) < 0)
		out = NULL;
	else {
		out = path_normalise(joined);
		free(joined);
	}
	if (!out)
		x->oom = true;
	return out;
}

/* ---- scalar access ----------------------------------------------------- */

static bool is_null(const struct ynode *y)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(y->str, nulls[i]) == 0)
			return true;
	return false;
}

static const char *type_name(const struct ynode *y)
{
	switch (y->type) {
	case Y_MAP:
		return "a mapping";
	case Y_SEQ:
		return "a sequence";
	default:
		return is_null(y) ? "nothing" : "a scalar";
	}
}

static bool expect(struct ctx *x, const struct ynode *y, const char *key, enum ytype type)
{
	static const char *const want[] = {
	    [Y_SCALAR] = "a scalar",
	    [Y_SEQ] = "a sequence",
	    [Y_MAP] = "a mapping",
	};

	if (y->type == type)
		return true;
	if (y->type == Y_BAD)
		report(x, &y->mark, key, "%s", y->why);
	else
		report(x, &y->mark, key, "expected %s, found %s", want[type], type_name(y));
	return false;
}

/* A non-empty string of at most max bytes, or NULL (reported). */
static const char *get_str(struct ctx *x, const struct ynode *y, const char *key, size_t max)
{
	if (!expect(x, y, key, Y_SCALAR))
		return NULL;
	if (is_null(y)) {
		report(x, &y->mark, key, "a value is required");
		return NULL;
	}
	if (strlen(y->str) != y->len) {
		report(x, &y->mark, key, "contains a NUL byte");
		return NULL;
	}
	if (y->len == 0) {
		report(x, &y->mark, key, "must not be empty");
		return NULL;
	}
	if (y->len > max) {
		report(x, &y->mark, key, "too long (at most %zu bytes)", max);
		return NULL;
	}
	return y->str;
}

/* Decimal only: YAML 1.1 would read "0x.." as hex and "0.." as octal, and
 * a port is never negative. */
static long get_number(struct ctx *x, const struct ynode *y, const char *key, long lo, long hi)
{
	char q[QUOTE_MAX];
	unsigned long v = 0;

	if (!expect(x, y, key, Y_SCALAR))
		return -1;
	if (!y->plain || y->len == 0 || strspn(y->str, "0123456789") != y->len ||
	    (y->len > 1 && y->str[0] == '0')) {
		report(x, &y->mark, key, "'%s' is not a decimal number", quote(y->str, y->len, q));
		return -1;
	}
	for (size_t i = 0; i < y->len && v <= (unsigned long)hi; i++)
		v = v * 10 + (unsigned long)(y->str[i] - '0');
	if (v < (unsigned long)lo || v > (unsigned long)hi) {
		report(x, &y->mark, key, "out of range (%ld..%ld)", lo, hi);
		return -1;
	}
	return (long)v;
}

static int get_port(struct ctx *x, const struct ynode *y, const char *key)
{
	return (int)get_number(x, y, key, 1, 65535);
}

/* YAML 1.2 core booleans only: no yes/no/on/off surprises. */
static int get_bool(struct ctx *x, const struct ynode *y, const char *key)
{
	char q[QUOTE_MAX];

	if (!expect(x, y, key, Y_SCALAR))
		return -1;
	if (y->plain && y->len == 4 && memcmp(y->str, "true", 4) == 0)
		return 1;
	if (y->plain && y->len == 5 && memcmp(y->str, "false", 5) == 0)
		return 0;
	report(x, &y->mark, key, "'%s' is not true or false", quote(y->str, y->len, q));
	return -1;
}

/* ---- the schema walk --------------------------------------------------- */

typedef void field_fn(struct ctx *x, const struct ynode *v, const char *key, void *obj);

struct field {
	const char *key;
	field_fn *parse;
	bool required;
};

static const char *join_key(char buf[KEY_TEXT_MAX], const char *parent, const char *key)
{
	snprintf(buf, KEY_TEXT_MAX, "%s%s%s", parent, parent[0] ? "." : "", key);
	return buf;
}

static const char *index_key(char buf[KEY_TEXT_MAX], const char *parent, size_t i)
{
	snprintf(buf, KEY_TEXT_MAX, "%s[%zu]", parent, i);
	return buf;
}

static int find_field(const struct field *f, size_t nf, const struct ynode *k)
{
	for (size_t i = 0; i < nf; i++)
		if (strlen(f[i].key) == k->len && memcmp(f[i].key, k->str, k->len) == 0)
			return (int)i;
	return -1;
}

static void unknown_key(struct ctx *x, const struct ynode *k, const char *parent)
{
	char kb[KEY_TEXT_MAX], q[QUOTE_MAX];

	report(x, &k->mark, join_key(kb, parent, quote(k->str, k->len, q)), "unknown key");
}

/* Walks one mapping against its table; returns a bit per field seen. */
static unsigned walk_map(struct ctx *x, const struct ynode *m, const char *parent,
			 const struct field *f, size_t nf, void *obj)
{
	const struct ynode *seen[16] = {NULL};
	char kb[KEY_TEXT_MAX];
	unsigned mask = 0;

	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i];
		int idx;

		if (k->type != Y_SCALAR) {
			report(x, &k->mark, parent[0] ? parent : "(top)", "%s",
			       k->type == Y_BAD ? k->why : "keys must be scalars");
			continue;
		}
		idx = find_field(f, nf, k);
		if (idx < 0) {
			unknown_key(x, k, parent);
			continue;
		}
		join_key(kb, parent, f[idx].key);
		if (seen[idx]) {
			report(x, &k->mark, kb, "duplicate key (first at %zu:%zu)",
			       seen[idx]->mark.line + 1, seen[idx]->mark.column + 1);
			continue;
		}
		seen[idx] = k;
		mask |= 1u << idx;
		f[idx].parse(x, m->kid[i + 1], kb, obj);
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i].required && !seen[i])
			report(x, &m->mark, join_key(kb, parent, f[i].key),
			       "required key is missing");
	return mask;
}

/* ---- fields ------------------------------------------------------------ */

static bool all_chars(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == '\0';
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static void set_path(struct ctx *x, const struct ynode *v, const char *key, char **dst)
{
	const char *s = get_str(x, v, key, PATH_MAX - 1);
	char *p;

	if (!s)
		return;
	p = path_resolve(x, s);
	if (p && strlen(p) > PATH_MAX - 1) {
		report(x, &v->mark, key, "path too long (at most %d bytes)", PATH_MAX - 1);
		free(p);
		return;
	}
	*dst = p;
}

static void parse_networks(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	char kb[KEY_TEXT_MAX], q[QUOTE_MAX];

	if (!expect(x, v, key, Y_SEQ))
		return;
	if (v->n == 0) {
		report(x, &v->mark, key, "at least one network is required");
		return;
	}
	c->networks = calloc(v->n, sizeof(*c->networks));
	if (!c->networks) {
		x->oom = true;
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *y = v->kid[i];
		const char *s = get_str(x, y, index_key(kb, key, i), 128);
		struct net_cidr cidr;
		int r;

		if (!s)
			continue;
		r = net_parse_cidr(s, &cidr);
		if (r == -ERANGE)
			report(x, &y->mark, kb, "prefix length too large for the address family");
		else if (r == -EDOM)
			report(x, &y->mark, kb, "host bits are set in '%s'", quote(s, y->len, q));
		else if (r < 0)
			report(x, &y->mark, kb, "'%s' is not a network (ADDRESS/PREFIX)",
			       quote(s, y->len, q));
		else if (net_addr_is_v4mapped(&cidr.addr))
			report(x, &y->mark, kb,
			       "IPv4-mapped IPv6 is not allowed: write the IPv4 network");
		else
			c->networks[c->n_networks++] = cidr;
	}
}

/* The kernel's rules (dev_valid_name), limited to printable ASCII. */
static bool ifname_ok(const char *s)
{
	if (strlen(s) > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '/' || *s == ':')
			return false;
	return true;
}

static void parse_interface(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	char q[QUOTE_MAX];
	const char *s;

	if (is_null(v))
		return;
	s = get_str(x, v, key, 64);
	if (!s)
		return;
	if (!ifname_ok(s)) {
		report(x, &v->mark, key,
		       "'%s' is not an interface name (1..%d characters, no '/', ':' or spaces)",
		       quote(s, v->len, q), IFNAME_MAX);
		return;
	}
	c->interface = xdup(x, s);
}

static void parse_ipmi_port(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	int port = get_port(x, v, key);

	if (port > 0)
		c->ipmi_port = port;
}

static void parse_redfish_port(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	int port = get_port(x, v, key);

	if (port > 0)
		c->redfish_port = port;
}

static const struct field port_fields[] = {
    {"ipmi", parse_ipmi_port, false},
    {"redfish", parse_redfish_port, false},
};

static void parse_ports(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	if (expect(x, v, key, Y_MAP))
		walk_map(x, v, key, port_fields, sizeof(port_fields) / sizeof(port_fields[0]), obj);
}

/* ---- ipmi -------------------------------------------------------------- */

static void parse_suite0(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	int b = get_bool(x, v, key);

	if (b >= 0)
		((struct config *)obj)->ipmi.cipher_suite_0 = b;
}

static void parse_auth_none(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	int b = get_bool(x, v, key);

	if (b >= 0)
		((struct config *)obj)->ipmi.auth_none = b;
}

static void parse_straight(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	int b = get_bool(x, v, key);

	if (b >= 0)
		((struct config *)obj)->ipmi.straight_password = b;
}

static void parse_max_sessions(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	long n = get_number(x, v, key, 1, 256);

	if (n > 0)
		((struct config *)obj)->ipmi.max_sessions = (unsigned)n;
}

static void parse_session_timeout(struct ctx *x, const struct ynode *v, const char *key,
				  void *obj)
{
	long n = get_number(x, v, key, 1, 3600);

	if (n > 0)
		((struct config *)obj)->ipmi.session_timeout_s = (unsigned)n;
}

static const struct field ipmi_fields[] = {
    {"cipher-suite-0", parse_suite0, false},
    {"auth-none", parse_auth_none, false},
    {"straight-password", parse_straight, false},
    {"max-sessions", parse_max_sessions, false},
    {"session-timeout", parse_session_timeout, false},
};

static void parse_ipmi(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	if (expect(x, v, key, Y_MAP))
		walk_map(x, v, key, ipmi_fields, sizeof(ipmi_fields) / sizeof(ipmi_fields[0]), obj);
}

static void set_abs_dir(struct ctx *x, const struct ynode *v, const char *key, char **dst)
{
	const char *s = get_str(x, v, key, PATH_MAX - 1);

	if (!s)
		return;
	if (s[0] != '/') {
		report(x, &v->mark, key, "must be an absolute path");
		return;
	}
	*dst = path_normalise(s);
	if (!*dst)
		x->oom = true;
}

static void parse_state_dir(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;

	set_abs_dir(x, v, key, &c->state_dir);
}

static void parse_run_dir(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	size_t max = SUN_PATH_MAX - strlen("/" CONTROL_SOCKET);

	set_abs_dir(x, v, key, &c->run_dir);
	/* The control socket lives there and must fit in sun_path. */
	if (c->run_dir && strlen(c->run_dir) > max) {
		report(x, &v->mark, key, "too long for %s (at most %zu bytes)", CONTROL_SOCKET,
		       max);
		free(c->run_dir);
		c->run_dir = NULL;
	}
}

/* Portable user names; a leading '-' would read as an option to tools. */
static void parse_unix_user(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	char q[QUOTE_MAX];
	const char *s = get_str(x, v, key, UNIX_USER_MAX);

	if (!s)
		return;
	if (!all_chars(s, NAME_CHARS) || s[0] == '-') {
		report(x, &v->mark, key, "'%s' is not a valid user name", quote(s, v->len, q));
		return;
	}
	c->user = xdup(x, s);
}

/* ---- users ------------------------------------------------------------- */

static struct config_user *user_of(struct ctx *x, void *obj, size_t *ret_index)
{
	struct config_user *u = obj;

	*ret_index = u - x->c->users;
	return u;
}

/* Printable, no spaces (IPMI tools split on them), no ':' (it would end
 * the user name in HTTP Basic credentials). */
static void parse_user_name(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	char q[QUOTE_MAX];
	size_t idx;
	struct config_user *u = user_of(x, obj, &idx);
	const char *s = get_str(x, v, key, USER_NAME_MAX);

	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == ':') {
			report(x, &v->mark, key,
			       "'%s' is not a user name (printable, no spaces or ':')",
			       quote(s, v->len, q));
			return;
		}
	}
	for (size_t j = 0; j < idx; j++) {
		if (x->c->users[j].name && strcmp(x->c->users[j].name, s) == 0) {
			report(x, &v->mark, key, "duplicate user '%s' (also users[%zu])", s, j);
			break;
		}
	}
	u->name = xdup(x, s);
}

/* Checks the file before opening it: opening some devices has effects. */
static int password_open(struct ctx *x, const struct ynode *v, const char *key, const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		report(x, &v->mark, key, "cannot read password file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		report(x, &v->mark, key, "password file %s is not a regular file", path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		report(x, &v->mark, key, "cannot read password file %s: %s", path, strerror(errno));
		return -1;
	}
	/* Swapped since stat(): check what was opened. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		report(x, &v->mark, key, "password file %s is not a regular file", path);
		close(fd);
		return -1;
	}
	/* A secret others can read is not a secret: refuse, do not warn. */
	if (st.st_mode & 077) {
		report(x, &v->mark, key,
		       "password file %s is accessible by group or others (mode %04o), "
		       "it must be 0600 or stricter",
		       path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one byte more than a password plus "\r\n" can take, to see excess. */
static ssize_t read_some(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += r;
	}
	return n;
}

static void check_password(struct ctx *x, const struct ynode *v, const char *key, const char *path,
			   const char *buf, size_t n, struct config_user *u)
{
	if (n > 0 && buf[n - 1] == '\n')
		n -= (n > 1 && buf[n - 2] == '\r') ? 2 : 1;
	if (n == 0)
		report(x, &v->mark, key, "password in %s is empty", path);
	else if (n > CONFIG_PASSWORD_MAX)
		report(x, &v->mark, key, "password in %s is longer than %d bytes", path,
		       CONFIG_PASSWORD_MAX);
	else if (memchr(buf, '\0', n))
		report(x, &v->mark, key, "password in %s contains a NUL byte", path);
	else if (!(u->password = strndup(buf, n)))
		x->oom = true;
}

static void read_password(struct ctx *x, const struct ynode *v, const char *key,
			  struct config_user *u)
{
	char buf[CONFIG_PASSWORD_MAX + 3];
	int fd = password_open(x, v, key, u->password_file);
	ssize_t n;

	if (fd < 0)
		return;
	n = read_some(fd, buf, sizeof(buf));
	if (n < 0)
		report(x, &v->mark, key, "cannot read password file %s: %s", u->password_file,
		       strerror(errno));
	else
		check_password(x, v, key, u->password_file, buf, n, u);
	explicit_bzero(buf, sizeof(buf));
	close(fd);
}

static void parse_password_file(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config_user *u = obj;

	set_path(x, v, key, &u->password_file);
	if (u->password_file)
		read_password(x, v, key, u);
}

static void parse_role(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	static const enum role roles[] = {ROLE_ADMINISTRATOR, ROLE_OPERATOR, ROLE_READONLY};
	struct config_user *u = obj;
	char q[QUOTE_MAX];
	const char *s = get_str(x, v, key, 64);

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(s, role_name(roles[i])) == 0) {
			u->role = roles[i];
			return;
		}
	}
	report(x, &v->mark, key, "unknown role '%s' (administrator, operator or readonly)",
	       quote(s, v->len, q));
}

static const struct field user_fields[] = {
    {"name", parse_user_name, true},
    {"password-file", parse_password_file, true},
    {"role", parse_role, true},
};

static void parse_users(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	char kb[KEY_TEXT_MAX];

	if (is_null(v) || !expect(x, v, key, Y_SEQ) || v->n == 0)
		return;
	c->users = calloc(v->n, sizeof(*c->users));
	if (!c->users) {
		x->oom = true;
		return;
	}
	c->n_users = v->n;
	for (size_t i = 0; i < v->n; i++) {
		index_key(kb, key, i);
		if (expect(x, v->kid[i], kb, Y_MAP))
			walk_map(x, v->kid[i], kb, user_fields,
				 sizeof(user_fields) / sizeof(user_fields[0]), &c->users[i]);
	}
}

/* ---- tls --------------------------------------------------------------- */

static void parse_tls_cert(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;

	set_path(x, v, key, &c->tls_cert);
}

static void parse_tls_key(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;

	set_path(x, v, key, &c->tls_key);
}

static const struct field tls_fields[] = {
    {"cert", parse_tls_cert, false},
    {"key", parse_tls_key, false},
};

static void parse_tls(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	unsigned seen;

	if (is_null(v) || !expect(x, v, key, Y_MAP))
		return;
	seen = walk_map(x, v, key, tls_fields, sizeof(tls_fields) / sizeof(tls_fields[0]), obj);
	if (seen == 1 || seen == 2)
		report(x, &v->mark, key, "cert and key must be given together");
}

/* ---- nodes ------------------------------------------------------------- */

static size_t node_index(struct ctx *x, const struct config_node *n)
{
	return n - x->c->nodes;
}

/* Node names become file names under state-dir and CLI arguments: no
 * leading '.' or '-'. */
static void parse_node_name(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config_node *n = obj;
	size_t idx = node_index(x, n);
	char q[QUOTE_MAX];
	const char *s = get_str(x, v, key, CONFIG_NAME_MAX);

	if (!s)
		return;
	if (!all_chars(s, NAME_CHARS) || s[0] == '.' || s[0] == '-') {
		report(x, &v->mark, key,
		       "'%s' is not a node name ([A-Za-z0-9._-], not starting with '.' or '-')",
		       quote(s, v->len, q));
		return;
	}
	for (size_t j = 0; j < idx; j++) {
		if (x->c->nodes[j].name && strcmp(x->c->nodes[j].name, s) == 0) {
			report(x, &v->mark, key, "duplicate node name '%s' (also nodes[%zu])", s,
			       j);
			break;
		}
	}
	n->name = xdup(x, s);
}

/* One socket, one use: a path may appear once among all qmp and announce. */
static void check_socket_unique(struct ctx *x, const struct ynode *v, const char *key,
				const struct config_node *self, const char *path)
{
	const struct config_node *nodes = x->c->nodes;
	size_t idx = node_index(x, self);

	for (size_t j = 0; j <= idx; j++) {
		const char *other = NULL;

		if (nodes[j].qmp && nodes[j].qmp != path && strcmp(nodes[j].qmp, path) == 0)
			other = "qmp";
		else if (nodes[j].announce && nodes[j].announce != path &&
			 strcmp(nodes[j].announce, path) == 0)
			other = "announce";
		if (other) {
			report(x, &v->mark, key, "%s is already used by nodes[%zu].%s", path, j,
			       other);
			return;
		}
	}
}

static void set_socket_path(struct ctx *x, const struct ynode *v, const char *key,
			    struct config_node *n, char **dst)
{
	set_path(x, v, key, dst);
	if (!*dst)
		return;
	if (strlen(*dst) > SUN_PATH_MAX) {
		report(x, &v->mark, key, "%s is too long for a unix socket (at most %zu bytes)",
		       *dst, SUN_PATH_MAX);
		free(*dst);
		*dst = NULL;
		return;
	}
	check_socket_unique(x, v, key, n, *dst);
}

static void parse_node_qmp(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config_node *n = obj;

	set_socket_path(x, v, key, n, &n->qmp);
}

static void parse_node_announce(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config_node *n = obj;

	set_socket_path(x, v, key, n, &n->announce);
}

/* boot-devices: {pxe: [IDS], disk: [IDS], cd: [IDS]}: QOM device ids
 * (-device ...,id=X) or absolute QOM paths, overriding what worker/boot.c
 * would pick by device type. */
static bool qom_ref_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-/[]", *s))
			return false;
	return true;
}

static void parse_boot_list(struct ctx *x, const struct ynode *v, const char *key,
			    struct config_node *n, int cls)
{
	char kb[KEY_TEXT_MAX], q[QUOTE_MAX];

	if (!expect(x, v, key, Y_SEQ))
		return;
	if (v->n > CONFIG_BOOT_DEVS_MAX) {
		report(x, &v->mark, key, "at most %d devices", CONFIG_BOOT_DEVS_MAX);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const char *s = get_str(x, v->kid[i], index_key(kb, key, i), CONFIG_QOM_REF_MAX);
		if (!s)
			continue;
		if (!qom_ref_ok(s)) {
			report(x, &v->kid[i]->mark, kb, "'%s' is not a QOM device id or path",
			       quote(s, v->kid[i]->len, q));
			continue;
		}
		n->boot_devs[cls][n->n_boot_devs[cls]++] = xdup(x, s);
	}
}

static void parse_boot_pxe(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	parse_boot_list(x, v, key, obj, 0);
}

static void parse_boot_disk(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	parse_boot_list(x, v, key, obj, 1);
}

static void parse_boot_cd(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	parse_boot_list(x, v, key, obj, 2);
}

static const struct field boot_dev_fields[] = {
    {"pxe", parse_boot_pxe, false},
    {"disk", parse_boot_disk, false},
    {"cd", parse_boot_cd, false},
};

static void parse_node_boot(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	if (expect(x, v, key, Y_MAP))
		walk_map(x, v, key, boot_dev_fields,
			 sizeof(boot_dev_fields) / sizeof(boot_dev_fields[0]), obj);
}

static const struct field node_fields[] = {
    {"name", parse_node_name, true},
    {"qmp", parse_node_qmp, true},
    {"announce", parse_node_announce, true},
    {"boot-devices", parse_node_boot, false},
};

static void parse_nodes(struct ctx *x, const struct ynode *v, const char *key, void *obj)
{
	struct config *c = obj;
	char kb[KEY_TEXT_MAX];

	if (!expect(x, v, key, Y_SEQ))
		return;
	if (v->n == 0) {
		report(x, &v->mark, key, "at least one node is required");
		return;
	}
	c->nodes = calloc(v->n, sizeof(*c->nodes));
	if (!c->nodes) {
		x->oom = true;
		return;
	}
	c->n_nodes = v->n;
	for (size_t i = 0; i < v->n; i++) {
		index_key(kb, key, i);
		if (expect(x, v->kid[i], kb, Y_MAP))
			walk_map(x, v->kid[i], kb, node_fields,
				 sizeof(node_fields) / sizeof(node_fields[0]), &c->nodes[i]);
	}
}

/* ---- top level --------------------------------------------------------- */

static const struct field top_fields[] = {
    {"networks", parse_networks, true}, {"interface", parse_interface, false},
    {"ports", parse_ports, false},	{"state-dir", parse_state_dir, false},
    {"run-dir", parse_run_dir, false},	{"user", parse_unix_user, false},
    {"users", parse_users, false},	{"tls", parse_tls, false},
    {"nodes", parse_nodes, true},	{"ipmi", parse_ipmi, false},
};

static void set_default(struct ctx *x, char **dst, const char *value)
{
	if (!*dst)
		*dst = xdup(x, value);
}

static void walk_config(struct ctx *x, const struct ynode *root)
{
	static const struct ynode empty = {.type = Y_MAP};
	struct config *c = x->c;

	/* An empty file is an empty mapping: it reports what is missing. */
	if (!root || is_null(root))
		root = &empty;
	c->ipmi_port = DEFAULT_IPMI_PORT;
	c->redfish_port = DEFAULT_REDFISH_PORT;
	c->ipmi.max_sessions = 32;
	c->ipmi.session_timeout_s = 60;
	if (expect(x, root, "(top)", Y_MAP))
		walk_map(x, root, "", top_fields, sizeof(top_fields) / sizeof(top_fields[0]), c);
	set_default(x, &c->state_dir, DEFAULT_STATE_DIR);
	set_default(x, &c->run_dir, DEFAULT_RUN_DIR);
	set_default(x, &c->user, DEFAULT_USER);
}

static int parse_into(struct ctx *x)
{
	struct ynode *root = NULL;
	int r;

	if (x->len > CONFIG_TEXT_MAX) {
		report_file(x, "too large (more than %d bytes)", CONFIG_TEXT_MAX);
		return 0;
	}
	r = config_dir(x->name, &x->dir);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		report_file(x, "cannot find the current directory: %s", strerror(-r));
		return 0;
	}
	x->c = calloc(1, sizeof(*x->c));
	if (!x->c || !(x->c->path = strdup(x->name)))
		return -ENOMEM;
	r = load_tree(x, &root);
	if (r == -ENOMEM)
		return r;
	if (r == 0)
		walk_config(x, root);
	ynode_free(root);
	return x->oom ? -ENOMEM : 0;
}

static int out_of_memory(char **ret_errors)
{
	if (ret_errors)
		*ret_errors = strdup("out of memory\n");
	return -ENOMEM;
}

int config_parse(const char *name, const char *text, size_t len, struct config **ret,
		 char **ret_errors)
{
	struct ctx x = {
	    .name = name ? name : "(config)",
	    .text = text ? text : "",
	    .len = text ? len : 0,
	};
	int r;

	*ret = NULL;
	if (ret_errors)
		*ret_errors = NULL;
	r = parse_into(&x);
	free(x.dir);
	if (r < 0 || x.errs.oom || x.n_errors) {
		config_free(x.c);
		if (r < 0 || x.errs.oom) {
			free(x.errs.buf);
			return out_of_memory(ret_errors);
		}
		if (ret_errors)
			*ret_errors = x.errs.buf;
		else
			free(x.errs.buf);
		return -EINVAL;
	}
	*ret = x.c;
	return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* Reads at most one byte past the limit, so that config_parse can say the
 * file is too large without us reading all of it. */
static int read_text(const char *path, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd, r = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while (len <= CONFIG_TEXT_MAX) {
		ssize_t n;

		if (len == cap) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int config_load(const char *path, struct config **ret, char **ret_errors)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (ret_errors)
		*ret_errors = NULL;
	r = read_text(path, &text, &len);
	if (r < 0) {
		if (ret_errors &&
		    asprintf(ret_errors, "%s: cannot read: %s\n", path, strerror(-r)) < 0)
			*ret_errors = NULL;
		return r;
	}
	r = config_parse(path, text, len, ret, ret_errors);
	free(text);
	return r;
}

/* ---- the rest of the API ----------------------------------------------- */

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_users; i++) {
		struct config_user *u = &c->users[i];

		if (u->password) {
			explicit_bzero(u->password, strlen(u->password));
			free(u->password);
		}
		free(u->name);
		free(u->password_file);
	}
	for (size_t i = 0; i < c->n_nodes; i++) {
		free(c->nodes[i].name);
		free(c->nodes[i].qmp);
		free(c->nodes[i].announce);
		for (int k = 0; k < 3; k++)
			for (size_t j = 0; j < c->nodes[i].n_boot_devs[k]; j++)
				free(c->nodes[i].boot_devs[k][j]);
	}
	free(c->users);
	free(c->nodes);
	free(c->networks);
	free(c->path);
	free(c->interface);
	free(c->state_dir);
	free(c->run_dir);
	free(c->user);
	free(c->tls_cert);
	free(c->tls_key);
	free(c);
}

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_ADMINISTRATOR:
		return "administrator";
	case ROLE_OPERATOR:
		return "operator";
	case ROLE_READONLY:
		return "readonly";
	}
	return "unknown";
}

const struct config_node *config_find_node(const struct config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].name && strcmp(c->nodes[i].name, name) == 0)
			return &c->nodes[i];
	return NULL;
}

/* One UTF-8 sequence at s; returns its length, 0 if it is not valid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret)
{
	static const uint8_t lead_bits[] = {0, 0, 0x1f, 0x0f, 0x07};
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	uint32_t cp;

	if (n == 0 || s[0] > 0xf4)
		return 0;
	cp = s[0] & lead_bits[n];
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*ret = cp;
	return n;
}

/* What YAML lets stand unescaped beyond ASCII; NEL, LS and PS would be
 * read as line breaks and folded, the rest is refused by parsers. */
static bool yaml_printable(uint32_t cp)
{
	return (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Double-quoted YAML: valid whatever the string holds, and read back as
 * the same bytes as long as they were UTF-8 (all text from YAML is). */
static void print_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		uint32_t cp;
		size_t n;

		if (*s < 0x80) {
			if (*s == '"' || *s == '\\')
				fprintf(f, "\\%c", *s);
			else if (*s < 0x20 || *s == 0x7f)
				fprintf(f, "\\x%02x", *s);
			else
				fputc(*s, f);
			s++;
			continue;
		}
		n = utf8_decode(s, &cp);
		if (n == 0)
			fprintf(f, "\\x%02x", *s++);
		else if (yaml_printable(cp))
			fwrite(s, 1, n, f);
		else
			fprintf(f, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
		s += n;
	}
	fputc('"', f);
}

static void print_key_str(FILE *f, const char *indent, const char *key, const char *s)
{
	fprintf(f, "%s%s: ", indent, key);
	if (s)
		print_str(f, s);
	else
		fputs("null", f);
	fputc('\n', f);
}

static void print_networks(const struct config *c, FILE *f)
{
	char buf[NET_ADDRSTRLEN + 4];

	fputs(c->n_networks ? "networks:\n" : "networks: []\n", f);
	for (size_t i = 0; i < c->n_networks; i++)
		fprintf(f, "  - \"%s\"\n", net_cidr_str(&c->networks[i], buf));
}

static void print_users(const struct config *c, FILE *f)
{
	fputs(c->n_users ? "users:\n" : "users: []\n", f);
	for (size_t i = 0; i < c->n_users; i++) {
		print_key_str(f, "  - ", "name", c->users[i].name);
		print_key_str(f, "    ", "password-file", c->users[i].password_file);
		fprintf(f, "    role: %s\n", role_name(c->users[i].role));
	}
}

static void print_boot_devs(const struct config_node *n, FILE *f)
{
	static const char *const names[3] = {"pxe", "disk", "cd"};

	if (!n->n_boot_devs[0] && !n->n_boot_devs[1] && !n->n_boot_devs[2])
		return;
	fputs("    boot-devices:\n", f);
	for (int k = 0; k < 3; k++) {
		if (!n->n_boot_devs[k])
			continue;
		fprintf(f, "      %s:\n", names[k]);
		for (size_t j = 0; j < n->n_boot_devs[k]; j++) {
			fputs("        - ", f);
			print_str(f, n->boot_devs[k][j]);
			fputc('\n', f);
		}
	}
}

static void print_nodes(const struct config *c, FILE *f)
{
	fputs(c->n_nodes ? "nodes:\n" : "nodes: []\n", f);
	for (size_t i = 0; i < c->n_nodes; i++) {
		print_key_str(f, "  - ", "name", c->nodes[i].name);
		print_key_str(f, "    ", "qmp", c->nodes[i].qmp);
		print_key_str(f, "    ", "announce", c->nodes[i].announce);
		print_boot_devs(&c->nodes[i], f);
	}
}

void config_print(const struct config *c, FILE *f)
{
	print_networks(c, f);
	print_key_str(f, "", "interface", c->interface);
	fprintf(f, "ports:\n  ipmi: %u\n  redfish: %u\n", c->ipmi_port, c->redfish_port);
	print_key_str(f, "", "state-dir", c->state_dir);
	print_key_str(f, "", "run-dir", c->run_dir);
	print_key_str(f, "", "user", c->user);
	print_users(c, f);
	fprintf(f, "ipmi:\n  cipher-suite-0: %s\n  auth-none: %s\n  straight-password: %s\n"
		   "  max-sessions: %u\n  session-timeout: %u\n",
		c->ipmi.cipher_suite_0 ? "true" : "false", c->ipmi.auth_none ? "true" : "false",
		c->ipmi.straight_password ? "true" : "false", c->ipmi.max_sessions,
		c->ipmi.session_timeout_s);
	if (c->tls_cert && c->tls_key) {
		fputs("tls:\n", f);
		print_key_str(f, "  ", "cert", c->tls_cert);
		print_key_str(f, "  ", "key", c->tls_key);
	} else {
		fputs("tls: null\n", f);
	}
	print_nodes(c, f);
}
