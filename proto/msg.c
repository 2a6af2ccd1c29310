/* Payload encoding and decoding, one pair per message of proto.h.
 * Decoding is strict: the JSON must be an object with exactly the listed
 * members (JSON_STRICT), of the listed types, strings must fit their
 * buffers and contain no NUL, numbers and enums must be in range. */
#include "proto.h"

#include <errno.h>
#include <string.h>
#include <jansson.h>

static char *dump(json_t *o)
{
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static json_t *load(const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);

	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Copy a decoded string into a fixed buffer: too long or embedded NUL is
 * malformed rather than truncated. */
static int copy_str(char *dst, size_t size, const char *s, size_t len)
{
	if (len >= size || strlen(s) != len)
		return -EBADMSG;
	memcpy(dst, s, len + 1);
	return 0;
}

static int in_range(json_int_t v, json_int_t lo, json_int_t hi)
{
	return v >= lo && v <= hi;
}

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(const char *s, size_t len, uint8_t *out, size_t max)
{
	if (len % 2 || len / 2 > max)
		return -EBADMSG;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

static json_t *users_encode(const struct msg_config *m)
{
	json_t *arr = json_array();
	char hex[2 * MSG_PASSWORD_MAX + 1];

	for (uint32_t i = 0; i < m->n_users && i < MSG_MAX_USERS; i++) {
		hex_encode(m->users[i].password, m->users[i].pwlen, hex);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i}", "name", m->users[i].name,
						     "password", hex, "role", m->users[i].role));
	}
	return arr;
}

static json_t *boot_devs_encode(const struct msg_config *m)
{
	json_t *all = json_array();

	for (int k = 0; k < 3; k++) {
		json_t *l = json_array();
		for (size_t j = 0; j < m->n_boot_devs[k] && j < MSG_BOOT_DEVS_MAX; j++)
			json_array_append_new(l, json_string(m->boot_devs[k][j]));
		json_array_append_new(all, l);
	}
	return all;
}

static int boot_devs_decode(json_t *all, struct msg_config *m)
{
	if (!json_is_array(all) || json_array_size(all) != 3)
		return -EBADMSG;
	for (size_t k = 0; k < 3; k++) {
		json_t *l = json_array_get(all, k), *v;
		size_t j;
		if (!json_is_array(l) || json_array_size(l) > MSG_BOOT_DEVS_MAX)
			return -EBADMSG;
		json_array_foreach(l, j, v) {
			if (!json_is_string(v) ||
			    copy_str(m->boot_devs[k][j], sizeof(m->boot_devs[k][j]),
				     json_string_value(v), json_string_length(v)) < 0)
				return -EBADMSG;
		}
		m->n_boot_devs[k] = (uint8_t)json_array_size(l);
	}
	return 0;
}

char *msg_config_encode(const struct msg_config *m)
{
	return dump(json_pack("{s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:i, s:o, s:{s:b, s:b, s:b, "
			      "s:I, s:I}, s:s, s:s, s:o}",
			      "node", m->node, "address", m->address, "prefix", m->prefix,
			      "ipmi_port", m->ipmi_port, "redfish_port", m->redfish_port, "uid",
			      (json_int_t)m->uid, "gid", (json_int_t)m->gid, "verbose", m->verbose,
			      "users", users_encode(m), "ipmi", "suite0", m->ipmi_suite0,
			      "auth_none", m->ipmi_auth_none, "straight", m->ipmi_straight,
			      "max_sessions", (json_int_t)m->ipmi_max_sessions, "session_timeout",
			      (json_int_t)m->ipmi_session_timeout_s, "tls_cert", m->tls_cert,
			      "tls_key", m->tls_key, "boot_devices", boot_devs_encode(m)));
}

static int user_decode(json_t *o, struct msg_user *u)
{
	const char *name, *pw;
	size_t nl, pl;
	json_int_t role;
	int n;

	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%, s:s%, s:I}", "name", &name, &nl,
			   "password", &pw, &pl, "role", &role) < 0 ||
	    nl == 0 || copy_str(u->name, sizeof(u->name), name, nl) < 0 || !in_range(role, 2, 4))
		return -EBADMSG;
	n = hex_decode(pw, pl, u->password, sizeof(u->password));
	if (n <= 0)
		return -EBADMSG;
	u->pwlen = (uint8_t)n;
	u->role = (uint8_t)role;
	return 0;
}

static int users_decode(json_t *arr, struct msg_config *m)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > MSG_MAX_USERS)
		return -EBADMSG;
	json_array_foreach(arr, i, v)
		if (user_decode(v, &m->users[i]) < 0)
			return -EBADMSG;
	m->n_users = (uint32_t)json_array_size(arr);
	return 0;
}

int msg_config_decode(const char *json, size_t len, struct msg_config *m)
{
	json_t *o = load(json, len), *users, *bootdevs;
	const char *node, *addr, *cert, *key;
	size_t nl, al, cl, kl;
	json_int_t prefix, ip, rp, uid, gid, verbose, maxs, tmo;
	int s0, an, st;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	if (json_unpack_ex(o, NULL, JSON_STRICT,
			   "{s:s%, s:s%, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:b, s:b, s:b, s:I, "
			   "s:I}, s:s%, s:s%, s:o}",
			   "node", &node, &nl, "address", &addr, &al, "prefix", &prefix,
			   "ipmi_port", &ip, "redfish_port", &rp, "uid", &uid, "gid", &gid,
			   "verbose", &verbose, "users", &users, "ipmi", "suite0", &s0,
			   "auth_none", &an, "straight", &st, "max_sessions", &maxs,
			   "session_timeout", &tmo, "tls_cert", &cert, &cl, "tls_key", &key,
			   &kl, "boot_devices", &bootdevs) == 0 &&
	    in_range(prefix, 0, 128) && in_range(ip, 1, 65535) && in_range(rp, 1, 65535) &&
	    in_range(uid, 0, 0xfffffffe) && in_range(gid, 0, 0xfffffffe) &&
	    in_range(verbose, 0, 9) && in_range(maxs, 1, 256) && in_range(tmo, 1, 3600) &&
	    copy_str(m->node, sizeof(m->node), node, nl) == 0 && nl > 0 &&
	    copy_str(m->address, sizeof(m->address), addr, al) == 0 &&
	    copy_str(m->tls_cert, sizeof(m->tls_cert), cert, cl) == 0 &&
	    copy_str(m->tls_key, sizeof(m->tls_key), key, kl) == 0 &&
	    users_decode(users, m) == 0 && boot_devs_decode(bootdevs, m) == 0) {
		m->prefix = (uint8_t)prefix;
		m->ipmi_port = (uint16_t)ip;
		m->redfish_port = (uint16_t)rp;
		m->uid = (uint32_t)uid;
		m->gid = (uint32_t)gid;
		m->verbose = (int)verbose;
		m->ipmi_suite0 = (uint8_t)!!s0;
		m->ipmi_auth_none = (uint8_t)!!an;
		m->ipmi_straight = (uint8_t)!!st;
		m->ipmi_max_sessions = (uint32_t)maxs;
		m->ipmi_session_timeout_s = (uint32_t)tmo;
		r = 0;
	}
	json_decref(o);
	if (r < 0)
		memset(m, 0, sizeof(*m)); /* no half-decoded passwords left around */
	return r;
}

char *msg_power_encode(const struct msg_power *m)
{
	return dump(json_pack("{s:I, s:s}", "id", (json_int_t)m->id, "action",
			      power_action_name(m->action)));
}

static int decode_action(const char *name, enum power_action *a)
{
	return power_action_parse(name, a) == 0 ? 0 : -EBADMSG;
}

int msg_power_decode(const char *json, size_t len, struct msg_power *m)
{
	json_t *o = load(json, len);
	json_int_t id;
	const char *action;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:I, s:s}", "id", &id, "action", &action) ==
		    0 &&
	    in_range(id, 0, 0xffffffff) && decode_action(action, &m->action) == 0) {
		m->id = (uint32_t)id;
		r = 0;
	}
	json_decref(o);
	return r;
}

char *msg_power_result_encode(const struct msg_power_result *m)
{
	return dump(json_pack("{s:I, s:i, s:s}", "id", (json_int_t)m->id, "result",
			      (int)m->result, "detail", m->detail));
}

int msg_power_result_decode(const char *json, size_t len, struct msg_power_result *m)
{
	json_t *o = load(json, len);
	json_int_t id, res;
	const char *detail;
	size_t dl;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:I, s:I, s:s%}", "id", &id, "result", &res,
			   "detail", &detail, &dl) == 0 &&
	    in_range(id, 0, 0xffffffff) && in_range(res, POWER_OK, POWER_E_BUSY) &&
	    copy_str(m->detail, sizeof(m->detail), detail, dl) == 0) {
		m->id = (uint32_t)id;
		m->result = (enum power_result)res;
		r = 0;
	}
	json_decref(o);
	return r;
}

char *msg_qmp_none_encode(const struct msg_qmp_none *m)
{
	return dump(json_pack("{s:s}", "reason", m->reason));
}

int msg_qmp_none_decode(const char *json, size_t len, struct msg_qmp_none *m)
{
	json_t *o = load(json, len);
	const char *reason;
	size_t rl;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%}", "reason", &reason, &rl) == 0 &&
	    copy_str(m->reason, sizeof(m->reason), reason, rl) == 0)
		r = 0;
	json_decref(o);
	return r;
}

char *msg_state_encode(const struct msg_state *m)
{
	return dump(json_pack("{s:i, s:I, s:I, s:I, s:b, s:s}", "power", (int)m->power,
			      "ipmi_rx", (json_int_t)m->ipmi_rx, "redfish_rx",
			      (json_int_t)m->redfish_rx, "power_actions",
			      (json_int_t)m->power_actions, "qmp", m->qmp_connected,
			      "last_error", m->last_error));
}

int msg_state_decode(const char *json, size_t len, struct msg_state *m)
{
	json_t *o = load(json, len);
	json_int_t power, ipmi, redfish, actions;
	int qmp;
	const char *err;
	size_t el;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:I, s:I, s:I, s:I, s:b, s:s%}", "power",
			   &power, "ipmi_rx", &ipmi, "redfish_rx", &redfish, "power_actions",
			   &actions, "qmp", &qmp, "last_error", &err, &el) == 0 &&
	    in_range(power, POWER_STATE_UNKNOWN, POWER_STATE_POWERING_ON) && ipmi >= 0 &&
	    redfish >= 0 && actions >= 0 &&
	    copy_str(m->last_error, sizeof(m->last_error), err, el) == 0) {
		m->power = (enum power_state)power;
		m->ipmi_rx = (uint64_t)ipmi;
		m->redfish_rx = (uint64_t)redfish;
		m->power_actions = (uint64_t)actions;
		m->qmp_connected = qmp ? 1 : 0;
		r = 0;
	}
	json_decref(o);
	return r;
}

/* ---- boot state (MSG_BOOT_RESTORE, MSG_BOOT_STATE, the state file) ---- */

static const char *const boot_enabled_names[] = {"disabled", "once", "continuous"};

static const char *boot_enabled(const struct msg_boot *m)
{
	return boot_enabled_names[m->target == BOOT_NONE ? 0 : m->persistent ? 2 : 1];
}

static json_t *boot_ipmi_encode(const struct msg_boot_ipmi *p)
{
	char flags[2 * sizeof(p->flags) + 1], init[2 * sizeof(p->initiator) + 1];

	hex_encode(p->flags, sizeof(p->flags), flags);
	hex_encode(p->initiator, sizeof(p->initiator), init);
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:s}", "flags", flags, "partition",
			 p->partition_selector, "scan", p->partition_scan, "timer",
			 p->timer_control, "ack", p->ack_data, "initiator", init);
}

static json_t *boot_devs_saved_encode(const struct msg_boot *m)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; i < m->n_devs && i < MSG_BOOT_SAVED_DEVS; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i}", "path", m->devs[i].path,
						     "bootindex", (int)m->devs[i].orig, "current",
						     (int)m->devs[i].current));
	return arr;
}

char *msg_boot_encode(const struct msg_boot *m)
{
	return dump(json_pack("{s:s, s:s, s:s, s:o, s:o}", "target", boot_target_name(m->target),
			      "enabled", boot_enabled(m), "mode", m->efi ? "uefi" : "legacy",
			      "ipmi", boot_ipmi_encode(&m->ipmi), "devices",
			      boot_devs_saved_encode(m)));
}

/* Exactly n bytes as 2n hex digits. */
static int hex_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
	return len == 2 * n && hex_decode(s, len, out, n) == (int)n ? 0 : -EBADMSG;
}

static int boot_ipmi_decode(json_t *o, struct msg_boot_ipmi *p)
{
	const char *flags, *init;
	size_t fl, il;
	json_int_t part, scan, timer, ack;

	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%, s:I, s:I, s:I, s:I, s:s%}", "flags",
			   &flags, &fl, "partition", &part, "scan", &scan, "timer", &timer, "ack",
			   &ack, "initiator", &init, &il) < 0 ||
	    hex_exact(flags, fl, p->flags, sizeof(p->flags)) < 0 ||
	    hex_exact(init, il, p->initiator, sizeof(p->initiator)) < 0 ||
	    !in_range(part, 0, 255) || !in_range(scan, 0, 3) || !in_range(timer, 0, 0x1f) ||
	    !in_range(ack, 0, 255))
		return -EBADMSG;
	p->partition_selector = (uint8_t)part;
	p->partition_scan = (uint8_t)scan;
	p->timer_control = (uint8_t)timer;
	p->ack_data = (uint8_t)ack;
	return 0;
}

/* A QOM path: starts with '/', printable ASCII without blanks, fits. */
int msg_boot_path_ok(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || n > MSG_BOOT_PATH_MAX)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static int boot_dev_decode(json_t *o, struct msg_boot_dev *d)
{
	const char *path;
	size_t pl;
	json_int_t orig, cur;

	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%, s:I, s:I}", "path", &path, &pl,
			   "bootindex", &orig, "current", &cur) < 0 ||
	    copy_str(d->path, sizeof(d->path), path, pl) < 0 || !msg_boot_path_ok(d->path) ||
	    !in_range(orig, -1, MSG_BOOTINDEX_MAX) || !in_range(cur, -1, MSG_BOOTINDEX_MAX))
		return -EBADMSG;
	d->orig = (int32_t)orig;
	d->current = (int32_t)cur;
	return 0;
}

static int boot_devs_saved_decode(json_t *arr, struct msg_boot *m)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > MSG_BOOT_SAVED_DEVS)
		return -EBADMSG;
	json_array_foreach(arr, i, v) {
		if (boot_dev_decode(v, &m->devs[i]) < 0)
			return -EBADMSG;
		for (size_t j = 0; j < i; j++) /* one entry per device */
			if (strcmp(m->devs[j].path, m->devs[i].path) == 0)
				return -EBADMSG;
	}
	m->n_devs = (uint32_t)json_array_size(arr);
	return 0;
}

static int index_in(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* target "none" goes with "disabled" and nothing else, and the reverse */
static int boot_override_decode(const char *target, const char *enabled, const char *mode,
				struct msg_boot *m)
{
	static const char *const modes[] = {"legacy", "uefi"};
	int en = index_in(enabled, boot_enabled_names, 3), efi = index_in(mode, modes, 2);

	if (boot_target_parse(target, &m->target) < 0 || en < 0 || efi < 0 ||
	    (m->target == BOOT_NONE) != (en == 0))
		return -EBADMSG;
	m->persistent = en == 2;
	m->efi = (uint8_t)efi;
	return 0;
}

int msg_boot_decode(const char *json, size_t len, struct msg_boot *m)
{
	json_t *o = load(json, len), *ipmi, *devs;
	const char *target, *enabled, *mode;
	size_t tl, el, ml;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	memset(m, 0, sizeof(*m)); /* callers compare decoded states with memcmp */
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%, s:s%, s:s%, s:o, s:o}", "target",
			   &target, &tl, "enabled", &enabled, &el, "mode", &mode, &ml, "ipmi",
			   &ipmi, "devices", &devs) == 0 &&
	    strlen(target) == tl && strlen(enabled) == el && strlen(mode) == ml &&
	    boot_override_decode(target, enabled, mode, m) == 0 &&
	    boot_ipmi_decode(ipmi, &m->ipmi) == 0 && boot_devs_saved_decode(devs, m) == 0)
		r = 0;
	json_decref(o);
	if (r < 0)
		memset(m, 0, sizeof(*m));
	return r;
}

char *msg_empty_encode(void)
{
	return dump(json_object());
}

int msg_empty_decode(const char *json, size_t len)
{
	json_t *o = load(json, len);
	int r = o && json_object_size(o) == 0 ? 0 : -EBADMSG;

	json_decref(o);
	return r;
}

char *ctl_status_encode(const struct ctl_status *m)
{
	return dump(json_pack("{s:s}", "node", m->node));
}

int ctl_status_decode(const char *json, size_t len, struct ctl_status *m)
{
	json_t *o = load(json, len);
	const char *node;
	size_t nl;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%}", "node", &node, &nl) == 0 &&
	    copy_str(m->node, sizeof(m->node), node, nl) == 0)
		r = 0;
	json_decref(o);
	return r;
}

char *ctl_power_encode(const struct ctl_power *m)
{
	return dump(json_pack("{s:s, s:s}", "node", m->node, "action",
			      power_action_name(m->action)));
}

int ctl_power_decode(const char *json, size_t len, struct ctl_power *m)
{
	json_t *o = load(json, len);
	const char *node, *action;
	size_t nl;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s%, s:s}", "node", &node, &nl, "action",
			   &action) == 0 &&
	    copy_str(m->node, sizeof(m->node), node, nl) == 0 && nl > 0 &&
	    decode_action(action, &m->action) == 0)
		r = 0;
	json_decref(o);
	return r;
}

char *ctl_node_encode(const struct ctl_node *m)
{
	return dump(json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "name",
			      m->name, "address", m->address, "pid", (int)m->pid, "state",
			      node_state_name(m->state), "power", power_state_name(m->power),
			      "uptime", (json_int_t)m->uptime_s, "restarts",
			      (json_int_t)m->restarts, "ipmi_rx", (json_int_t)m->ipmi_rx,
			      "redfish_rx", (json_int_t)m->redfish_rx, "power_actions",
			      (json_int_t)m->power_actions, "last_error", m->last_error));
}

static int parse_node_state(const char *s, enum node_state *ret)
{
	for (int i = NODE_WAITING; i <= NODE_FAILED; i++)
		if (strcmp(s, node_state_name((enum node_state)i)) == 0) {
			*ret = (enum node_state)i;
			return 0;
		}
	return -EBADMSG;
}

static int parse_power_state(const char *s, enum power_state *ret)
{
	for (int i = POWER_STATE_UNKNOWN; i <= POWER_STATE_POWERING_ON; i++)
		if (strcmp(s, power_state_name((enum power_state)i)) == 0) {
			*ret = (enum power_state)i;
			return 0;
		}
	return -EBADMSG;
}

int ctl_node_decode(const char *json, size_t len, struct ctl_node *m)
{
	json_t *o = load(json, len);
	const char *name, *addr, *state, *power, *err;
	size_t nl, al, el;
	json_int_t pid, up, restarts, ipmi, redfish, actions;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT,
			   "{s:s%, s:s%, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s%}", "name",
			   &name, &nl, "address", &addr, &al, "pid", &pid, "state", &state,
			   "power", &power, "uptime", &up, "restarts", &restarts, "ipmi_rx", &ipmi,
			   "redfish_rx", &redfish, "power_actions", &actions, "last_error", &err,
			   &el) == 0 &&
	    copy_str(m->name, sizeof(m->name), name, nl) == 0 &&
	    copy_str(m->address, sizeof(m->address), addr, al) == 0 &&
	    copy_str(m->last_error, sizeof(m->last_error), err, el) == 0 &&
	    in_range(pid, 0, 0x7fffffff) && up >= 0 && in_range(restarts, 0, 0xffffffff) &&
	    ipmi >= 0 && redfish >= 0 && actions >= 0 &&
	    parse_node_state(state, &m->state) == 0 && parse_power_state(power, &m->power) == 0) {
		m->pid = (int32_t)pid;
		m->uptime_s = (uint64_t)up;
		m->restarts = (uint32_t)restarts;
		m->ipmi_rx = (uint64_t)ipmi;
		m->redfish_rx = (uint64_t)redfish;
		m->power_actions = (uint64_t)actions;
		r = 0;
	}
	json_decref(o);
	return r;
}

char *ctl_result_encode(const struct ctl_result *m)
{
	return dump(json_pack("{s:b, s:i, s:s}", "ok", m->ok, "power", (int)m->power, "message",
			      m->message));
}

int ctl_result_decode(const char *json, size_t len, struct ctl_result *m)
{
	json_t *o = load(json, len);
	int ok;
	json_int_t power;
	const char *msg;
	size_t ml;
	int r = -EBADMSG;

	if (!o)
		return -EBADMSG;
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:b, s:I, s:s%}", "ok", &ok, "power", &power,
			   "message", &msg, &ml) == 0 &&
	    in_range(power, POWER_OK, POWER_E_BUSY) &&
	    copy_str(m->message, sizeof(m->message), msg, ml) == 0) {
		m->ok = ok ? 1 : 0;
		m->power = (enum power_result)power;
		r = 0;
	}
	json_decref(o);
	return r;
}
