/*
 * App netfn (06h) commands a BMC answers about itself: identity, GUIDs,
 * the one LAN channel and its users, system info strings.  The session
 * commands of this netfn (Get Channel Authentication Capabilities, Set
 * Session Privilege Level, ...) live in session.c.
 *
 * Section numbers are IPMI v2.0 rev 1.1.
 */
#include <string.h>

#include "worker/ipmi/internal.h"

/* Get Device ID (20.1) */
#define DEVICE_ID	0x20
#define DEVICE_REVISION 0x01 /* bit 7 clear: no device SDRs (see below) */
#define FW_MAJOR	1
#define FW_MINOR	0x00 /* BCD: firmware 1.00 */
#define IPMI_VERSION_20 0x02 /* BCD, minor digit in the high nibble */
/* Additional device support: what we really answer.  Device SDRs are not
 * claimed, so ipmitool's sdr commands walk the (empty) SDR repository in
 * storage.c instead of asking the sensor netfn we do not implement. */
#define DEV_SUPPORT_SDR_REPO 0x02
#define DEV_SUPPORT_SEL	     0x04
#define DEV_SUPPORT_FRU	     0x08
#define DEV_SUPPORT_CHASSIS  0x80
/* Manufacturer 0 is IANA's "reserved/unspecified": we are nobody's
 * hardware, and clients (ipmitool, FreeIPMI, pyghmi) then use their
 * generic code paths instead of some vendor's OEM quirks. */
#define MANUFACTURER_ID 0x000000
#define PRODUCT_ID	0x0001

/* Get Channel Info (22.24) */
#define MEDIUM_LAN_8023	 0x04
#define PROTOCOL_IPMB_10 0x01
#define SESSION_MULTI	 0x80
#define IPMI_FORUM_IANA	 0x001bf2 /* 7154: owner of the IPMI protocol types */

/* Get Channel Access (22.23) byte 1: alerting disabled (bit 5), per-message
 * and user-level authentication enabled (bits 4, 3 clear), access mode
 * "always available" (2). */
#define CHANNEL_ACCESS_MODE 0x22

/* Get User Access (22.27) */
#define USER_ENABLED   0x40 /* bits 7:6 = 01b */
#define USER_DISABLED  0x80 /* bits 7:6 = 10b */
#define USER_LINK_AUTH 0x20
#define USER_IPMI_MSG  0x10
#define USER_NO_ACCESS 0x0f
#define MAX_USER_ID    (IPMI_MAX_USERS + 1) /* users[i] is user id i + 2 */

/* Get System Info Parameters (22.14b) */
#define SYSINFO_REVISION 0x11
#define SYSINFO_REV_ONLY 0x80
#define SYSINFO_BLOCK	 16
#define SYSINFO_FIRST	 14 /* string bytes in set 0, after encoding + length */

static void get_device_id(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	static const uint8_t aux_fw_rev[4];

	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, DEVICE_ID);
	resp_u8(rs, DEVICE_REVISION);
	resp_u8(rs, FW_MAJOR); /* bit 7 clear: device available */
	resp_u8(rs, FW_MINOR);
	resp_u8(rs, IPMI_VERSION_20);
	resp_u8(rs, DEV_SUPPORT_SDR_REPO | DEV_SUPPORT_SEL | DEV_SUPPORT_FRU | DEV_SUPPORT_CHASSIS);
	resp_u16(rs, MANUFACTURER_ID & 0xffff);
	resp_u8(rs, (MANUFACTURER_ID >> 16) & 0x0f);
	resp_u16(rs, PRODUCT_ID);
	resp_bytes(rs, aux_fw_rev, sizeof(aux_fw_rev));
}

static void get_self_test(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, 0x55); /* no error (20.4) */
	resp_u8(rs, 0x00);
}

/* Device and system GUID are the same thing for a VM's BMC: the node's
 * GUID, which RAKP2 also carries. */
static void get_guid(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_bytes(rs, rq->ipmi->cfg.guid, sizeof(rq->ipmi->cfg.guid));
}

static void get_channel_access(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t which;

	if (!req_len_ok(rq, rs, 2, 2))
		return;
	/* byte 2 bits 7:6: 01b non-volatile, 10b present volatile setting;
	 * both are the same here since nothing can be set. */
	which = rq->data[1] >> 6;
	if (!ipmi_our_channel(rq->data[0]) || (which != 1 && which != 2)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	resp_u8(rs, CHANNEL_ACCESS_MODE);
	resp_u8(rs, IPMI_PRIV_ADMIN); /* channel privilege limit */
}

/* Counted here rather than with ipmi_session_count() so that the command
 * files link without the session layer (unit tests, fuzz targets). */
static uint8_t active_sessions(const struct ipmi *ipmi)
{
	unsigned n = 0;
	size_t i;

	if (!ipmi->sessions)
		return 0;
	for (i = 0; i < ipmi->cfg.max_sessions; i++)
		if (ipmi->sessions[i].state == SS_ACTIVE)
			n++;
	return n > 0x3f ? 0x3f : (uint8_t)n; /* a 6-bit field */
}

/* FreeIPMI's bmc-info asks about channels 0-11 and skips those that fail:
 * every channel but ours gets CCh. */
static void get_channel_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 1, 1))
		return;
	if (!ipmi_our_channel(rq->data[0])) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	resp_u8(rs, IPMI_CHANNEL_LAN);
	resp_u8(rs, MEDIUM_LAN_8023);
	resp_u8(rs, PROTOCOL_IPMB_10);
	resp_u8(rs, SESSION_MULTI | active_sessions(rq->ipmi));
	resp_u16(rs, IPMI_FORUM_IANA & 0xffff);
	resp_u8(rs, IPMI_FORUM_IANA >> 16);
	resp_u16(rs, 0); /* auxiliary channel info: none for LAN */
}

/* The configured user behind a user id, or NULL (id 1 is the null user,
 * which we never enable; ids past the configured users are empty). */
static const struct ipmi_user *user_by_id(const struct ipmi *ipmi, uint8_t id)
{
	if (id < 2 || (size_t)(id - 2) >= ipmi->cfg.n_users)
		return NULL;
	return &ipmi->cfg.users[id - 2];
}

/* ipmitool's "user list" walks ids 1..max and gives up at the first
 * error, so every id in range answers, empty or not; only ids outside
 * it are invalid. */
static bool user_id_ok(uint8_t id)
{
	return id >= 1 && id <= MAX_USER_ID;
}

static void get_user_access(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	const struct ipmi_config *cfg = &rq->ipmi->cfg;
	const struct ipmi_user *u;
	uint8_t id, enabled;

	if (!req_len_ok(rq, rs, 2, 2))
		return;
	id = rq->data[1] & 0x3f;
	if (!ipmi_our_channel(rq->data[0]) || !user_id_ok(id)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	u = user_by_id(rq->ipmi, id);
	enabled = (uint8_t)(cfg->n_users & 0x3f);
	resp_u8(rs, MAX_USER_ID);
	resp_u8(rs, (u ? USER_ENABLED : USER_DISABLED) | enabled);
	/* names come from the configuration and cannot be set: all fixed */
	resp_u8(rs, (uint8_t)((cfg->n_users + 1) & 0x3f));
	if (u)
		resp_u8(rs, USER_LINK_AUTH | USER_IPMI_MSG | (u->max_priv & 0x0f));
	else
		resp_u8(rs, USER_NO_ACCESS);
}

static void get_user_name(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t name[IPMI_NAME_MAX] = {0};
	const struct ipmi_user *u;
	uint8_t id;

	if (!req_len_ok(rq, rs, 1, 1))
		return;
	id = rq->data[0] & 0x3f;
	if (!user_id_ok(id)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	u = user_by_id(rq->ipmi, id);
	if (u)
		memcpy(name, u->name, strnlen(u->name, IPMI_NAME_MAX));
	resp_bytes(rs, name, sizeof(name));
}

/* A system info string parameter (22.14b). */
struct sysinfo_str {
	const char *s;
	size_t len;
};

/* The string behind a system info parameter; false if we have none.  The
 * system firmware (1) is the VM's BIOS, which we do not know, and the
 * OS names (3, 4) would have to come from the guest: empty, but present,
 * because bmc-info stops at the first of these that is missing. */
static bool sysinfo_string(const struct ipmi *ipmi, uint8_t param, struct sysinfo_str *ret)
{
	switch (param) {
	case 1: /* system firmware version */
	case 3: /* primary operating system name */
	case 4: /* operating system name */
		*ret = (struct sysinfo_str){"", 0};
		return true;
	case 2: /* system name */
		*ret = (struct sysinfo_str){ipmi->cfg.node,
					    strnlen(ipmi->cfg.node, sizeof(ipmi->cfg.node))};
		return true;
	default:
		return false;
	}
}

/* One set (16-byte block) of a string parameter: set 0 is encoding,
 * length and the first 14 bytes; set n the next 16 each. */
static void sysinfo_string_set(const struct sysinfo_str *str, uint8_t set, struct ipmi_resp *rs)
{
	uint8_t block[SYSINFO_BLOCK] = {0};
	size_t len = str->len > 255 ? 255 : str->len, off, n, room;
	uint8_t *dst = block;

	if (set == 0) {
		block[0] = 0x00; /* ASCII+Latin1 */
		block[1] = (uint8_t)len;
		dst = block + 2;
		off = 0;
		room = SYSINFO_FIRST;
	} else {
		off = SYSINFO_FIRST + (size_t)(set - 1) * SYSINFO_BLOCK;
		room = SYSINFO_BLOCK;
		if (off >= len) {
			rs->cc = CC_PARAM_OUT_OF_RANGE;
			return;
		}
	}
	n = len > off ? len - off : 0;
	memcpy(dst, str->s + off, n < room ? n : room);
	resp_u8(rs, SYSINFO_REVISION);
	resp_u8(rs, set);
	resp_bytes(rs, block, sizeof(block));
}

/* Request: bit 7 "revision only", parameter, set selector, block
 * selector (unused by every parameter here). */
static void get_system_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct sysinfo_str str;
	uint8_t param;

	if (!req_len_ok(rq, rs, 4, 4))
		return;
	param = rq->data[1];
	if (param != 0 && !sysinfo_string(rq->ipmi, param, &str)) {
		rs->cc = CC_PARAM_NOT_SUPPORTED;
		return;
	}
	if (rq->data[0] & SYSINFO_REV_ONLY) {
		resp_u8(rs, SYSINFO_REVISION);
		return;
	}
	if (param == 0) { /* set in progress: nothing can be set */
		resp_u8(rs, SYSINFO_REVISION);
		resp_u8(rs, 0x00);
		return;
	}
	sysinfo_string_set(&str, rq->data[2], rs);
}

const struct ipmi_cmd ipmi_app_cmds[] = {
	{NETFN_APP, 0x01, IPMI_PRIV_USER, 0, get_device_id, "Get Device ID"},
	{NETFN_APP, 0x04, IPMI_PRIV_USER, 0, get_self_test, "Get Self Test Results"},
	{NETFN_APP, 0x08, IPMI_PRIV_USER, 0, get_guid, "Get Device GUID"},
	{NETFN_APP, 0x37, IPMI_PRIV_USER, 0, get_guid, "Get System GUID"},
	{NETFN_APP, 0x41, IPMI_PRIV_USER, 0, get_channel_access, "Get Channel Access"},
	{NETFN_APP, 0x42, IPMI_PRIV_USER, 0, get_channel_info, "Get Channel Info"},
	{NETFN_APP, 0x44, IPMI_PRIV_OPERATOR, 0, get_user_access, "Get User Access"},
	{NETFN_APP, 0x46, IPMI_PRIV_OPERATOR, 0, get_user_name, "Get User Name"},
	{NETFN_APP, 0x59, IPMI_PRIV_USER, 0, get_system_info, "Get System Info Parameters"},
	{0},
};
