/*
 * Transport netfn (0Ch): the LAN configuration parameters of our one LAN
 * channel (23.1, 23.2).  They describe how the BMC is reached and are all
 * read-only here: the address belongs to whatever the guest announced,
 * and the supervisor, not a network client, decides it.
 *
 * "ipmitool lan print" asks for most parameters and treats 80h (and C9h,
 * CCh) as "not supported"; any other error aborts the whole listing.
 *
 * Section numbers are IPMI v2.0 rev 1.1.
 */
#include <string.h>

#include "worker/ipmi/internal.h"

#define LAN_PARAM_REVISION     0x11 /* 23.2: present 1, oldest compatible 1 */
#define LAN_REV_ONLY	       0x80
#define CC_LAN_SET_IN_PROGRESS 0x81
#define CC_LAN_READ_ONLY       0x82

/* Authentication type bits (parameters 1 and 2, 22.13). */
#define AUTH_NONE     0x01
#define AUTH_MD5      0x04
#define AUTH_PASSWORD 0x10

#define IP_SOURCE_STATIC   0x01
#define COMMUNITY_LEN	   18
#define CIPHER_SUITES_MAX  16
#define PRIV_NIBBLES_ADMIN ((IPMI_PRIV_ADMIN << 4) | IPMI_PRIV_ADMIN)

enum lan_param {
	LAN_SET_IN_PROGRESS = 0,
	LAN_AUTH_SUPPORT = 1,
	LAN_AUTH_ENABLES = 2,
	LAN_IP = 3,
	LAN_IP_SOURCE = 4,
	LAN_MAC = 5,
	LAN_NETMASK = 6,
	LAN_IP_HEADER = 7,
	LAN_RMCP_PORT = 8,
	LAN_ARP_CONTROL = 10,
	LAN_GARP_INTERVAL = 11,
	LAN_GW_IP = 12,
	LAN_GW_MAC = 13,
	LAN_BACKUP_GW_IP = 14,
	LAN_BACKUP_GW_MAC = 15,
	LAN_COMMUNITY = 16,
	LAN_DEST_COUNT = 17,
	LAN_DEST_TYPE = 18,
	LAN_DEST_ADDR = 19,
	LAN_VLAN_ID = 20,
	LAN_VLAN_PRIORITY = 21,
	LAN_CIPHER_COUNT = 22,
	LAN_CIPHER_IDS = 23,
	LAN_CIPHER_PRIVS = 24,
};

/* v1.5 auth types we accept: MD5 always, the weak ones only if the
 * configuration turned them on. */
static uint8_t auth_types(const struct ipmi_config *cfg)
{
	uint8_t t = AUTH_MD5;

	if (cfg->allow_authnone)
		t |= AUTH_NONE;
	if (cfg->allow_straight)
		t |= AUTH_PASSWORD;
	return t;
}

static void lan_auth_enables(const struct ipmi *ipmi, struct ipmi_resp *rs)
{
	uint8_t t = auth_types(&ipmi->cfg);

	resp_u8(rs, t); /* callback */
	resp_u8(rs, t); /* user */
	resp_u8(rs, t); /* operator */
	resp_u8(rs, t); /* administrator */
	resp_u8(rs, 0); /* OEM: no such privilege here */
}

/* The BMC's IPv4 address; an IPv6 BMC has none (the IPv6 parameters of
 * 23.1 are not implemented) and reports 0.0.0.0. */
static void lan_ip(const struct ipmi *ipmi, struct ipmi_resp *rs)
{
	static const uint8_t none[4];

	if (ipmi->cfg.addr.family == AF_INET)
		resp_bytes(rs, ipmi->cfg.addr.bytes, 4);
	else
		resp_bytes(rs, none, sizeof(none));
}

static void lan_netmask(const struct ipmi *ipmi, struct ipmi_resp *rs)
{
	unsigned prefix = ipmi->cfg.prefix;
	uint32_t mask;

	if (ipmi->cfg.addr.family != AF_INET || prefix > 32)
		prefix = 0;
	mask = prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
	resp_u8(rs, (uint8_t)(mask >> 24));
	resp_u8(rs, (uint8_t)(mask >> 16));
	resp_u8(rs, (uint8_t)(mask >> 8));
	resp_u8(rs, (uint8_t)mask);
}

/* Alert destinations: there are none (parameter 17 says 0), but set 0,
 * the volatile destination, always exists (23.1 parameters 18, 19). */
static void lan_dest(uint8_t param, uint8_t set, struct ipmi_resp *rs)
{
	static const uint8_t zeros[12];

	if (set != 0) {
		rs->cc = CC_PARAM_OUT_OF_RANGE;
		return;
	}
	resp_u8(rs, LAN_PARAM_REVISION);
	resp_u8(rs, 0); /* set selector */
	if (param == LAN_DEST_TYPE)
		resp_bytes(rs, zeros, 3); /* PET trap, no ack, no retries */
	else
		resp_bytes(rs, zeros, 12); /* IPv4, default gateway, 0.0.0.0, 00:..:00 */
}

/* Parameters 22 and 23: the suites lanplus.c offers, in its order. */
static void lan_ciphers(const struct ipmi *ipmi, uint8_t param, struct ipmi_resp *rs)
{
	uint8_t ids[CIPHER_SUITES_MAX];
	size_t n = cipher_suite_ids(ipmi, ids, sizeof(ids));

	if (n > sizeof(ids))
		n = sizeof(ids);
	if (param == LAN_CIPHER_COUNT) {
		resp_u8(rs, (uint8_t)n);
		return;
	}
	resp_u8(rs, 0); /* reserved */
	resp_bytes(rs, ids, n);
}

/* Parameter 24: one nibble per entry of parameter 23; the user's own
 * limit applies on top, so the suites themselves allow up to ADMIN. */
static void lan_cipher_privs(struct ipmi_resp *rs)
{
	int i;

	resp_u8(rs, 0); /* reserved */
	for (i = 0; i < CIPHER_SUITES_MAX / 2; i++)
		resp_u8(rs, PRIV_NIBBLES_ADMIN);
}

/* Fixed-value parameters; the rest are answered by lan_param_data(). */
static const struct lan_fixed {
	uint8_t param;
	uint8_t len;
	uint8_t data[COMMUNITY_LEN];
} lan_fixed[] = {
	{LAN_IP_SOURCE, 1, {IP_SOURCE_STATIC}},
	{LAN_IP_HEADER, 3, {0x40, 0x40, 0x10}}, /* TTL 64, don't fragment, TOS low delay */
	{LAN_ARP_CONTROL, 1, {0x00}},           /* the host's kernel answers ARP */
	{LAN_GARP_INTERVAL, 1, {0x00}},
	{LAN_GW_IP, 4, {0}},
	{LAN_GW_MAC, 6, {0}},
	{LAN_BACKUP_GW_IP, 4, {0}},
	{LAN_BACKUP_GW_MAC, 6, {0}},
	{LAN_COMMUNITY, COMMUNITY_LEN, "public"},
	{LAN_DEST_COUNT, 1, {0x00}},
	{LAN_VLAN_ID, 2, {0x00, 0x00}}, /* bit 15 clear: no VLAN */
	{LAN_VLAN_PRIORITY, 1, {0x00}},
};

static const struct lan_fixed *lan_fixed_find(uint8_t param)
{
	size_t i;

	for (i = 0; i < sizeof(lan_fixed) / sizeof(lan_fixed[0]); i++)
		if (lan_fixed[i].param == param)
			return &lan_fixed[i];
	return NULL;
}

/* Is this a parameter we answer (for Get) or refuse as read-only (Set)? */
static bool lan_param_known(uint8_t param)
{
	switch (param) {
	case LAN_SET_IN_PROGRESS:
	case LAN_AUTH_SUPPORT:
	case LAN_AUTH_ENABLES:
	case LAN_IP:
	case LAN_MAC:
	case LAN_NETMASK:
	case LAN_RMCP_PORT:
	case LAN_DEST_TYPE:
	case LAN_DEST_ADDR:
	case LAN_CIPHER_COUNT:
	case LAN_CIPHER_IDS:
	case LAN_CIPHER_PRIVS:
		return true;
	default:
		return lan_fixed_find(param) != NULL;
	}
}

/* The data of a known parameter other than 18 and 19, after the
 * revision byte. */
static void lan_param_data(const struct ipmi *ipmi, uint8_t param, struct ipmi_resp *rs)
{
	const struct lan_fixed *f = lan_fixed_find(param);

	if (f) {
		resp_bytes(rs, f->data, f->len);
		return;
	}
	switch (param) {
	case LAN_SET_IN_PROGRESS:
		resp_u8(rs, ipmi->set_in_progress_lan);
		break;
	case LAN_AUTH_SUPPORT:
		resp_u8(rs, auth_types(&ipmi->cfg));
		break;
	case LAN_AUTH_ENABLES:
		lan_auth_enables(ipmi, rs);
		break;
	case LAN_IP:
		lan_ip(ipmi, rs);
		break;
	case LAN_MAC:
		resp_bytes(rs, ipmi->cfg.mac, sizeof(ipmi->cfg.mac));
		break;
	case LAN_NETMASK:
		lan_netmask(ipmi, rs);
		break;
	case LAN_RMCP_PORT:
		resp_u16(rs, ipmi->cfg.port);
		break;
	case LAN_CIPHER_COUNT:
	case LAN_CIPHER_IDS:
		lan_ciphers(ipmi, param, rs);
		break;
	case LAN_CIPHER_PRIVS:
		lan_cipher_privs(rs);
		break;
	}
}

/* Request: channel (bit 7: revision only), parameter, set selector,
 * block selector.  The secondary RMCP port (9) is not reported: we do
 * not listen on 664. */
static void get_lan_config(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t param;

	if (!req_len_ok(rq, rs, 4, 4))
		return;
	if (!ipmi_our_channel(rq->data[0])) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	param = rq->data[1];
	if (!lan_param_known(param)) {
		rs->cc = CC_PARAM_NOT_SUPPORTED;
		return;
	}
	if (rq->data[0] & LAN_REV_ONLY) {
		resp_u8(rs, LAN_PARAM_REVISION);
		return;
	}
	if (param == LAN_DEST_TYPE || param == LAN_DEST_ADDR) {
		lan_dest(param, rq->data[2], rs);
		return;
	}
	resp_u8(rs, LAN_PARAM_REVISION);
	lan_param_data(rq->ipmi, param, rs);
}

/* Only the set-in-progress lock can be written (ipmitool takes it around
 * every "lan set"); everything else is read-only: 82h. */
static void set_lan_in_progress(struct ipmi *ipmi, const uint8_t *d, struct ipmi_resp *rs)
{
	switch (d[0] & 0x03) {
	case 0x00:
		ipmi->set_in_progress_lan = 0x00;
		break;
	case 0x01:
		if (ipmi->set_in_progress_lan == 0x01)
			rs->cc = CC_LAN_SET_IN_PROGRESS;
		else
			ipmi->set_in_progress_lan = 0x01;
		break;
	case 0x02: /* commit write: nothing is ever pending */
		break;
	default:
		rs->cc = CC_INVALID_DATA_FIELD;
		break;
	}
}

static void set_lan_config(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t param;

	if (!req_len_ok(rq, rs, 2, IPMI_DATA_MAX))
		return;
	if (!ipmi_our_channel(rq->data[0])) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	param = rq->data[1];
	if (param != LAN_SET_IN_PROGRESS) {
		rs->cc = lan_param_known(param) ? CC_LAN_READ_ONLY : CC_PARAM_NOT_SUPPORTED;
		return;
	}
	if (!req_len_ok(rq, rs, 3, 3))
		return;
	set_lan_in_progress(rq->ipmi, rq->data + 2, rs);
}

const struct ipmi_cmd ipmi_transport_cmds[] = {
	{NETFN_TRANSPORT, 0x01, IPMI_PRIV_ADMIN, 0, set_lan_config, "Set LAN Configuration Parameters"},
	{NETFN_TRANSPORT, 0x02, IPMI_PRIV_OPERATOR, 0, get_lan_config,
     "Get LAN Configuration Parameters"},
	{0},
};
