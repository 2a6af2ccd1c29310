/*
 * Chassis netfn (00h): power state and control, identify, restart cause
 * and the system boot options that carry the boot override.
 *
 * Power goes through ops->power(), the worker's power core (DESIGN.md
 * "Power semantics over QMP"); its answer can come later, so Chassis
 * Control answers through ipmi_async_begin()/ipmi_async_done().  Boot
 * options live in the boot_state shared with Redfish (worker/boot.h).
 *
 * Section numbers are IPMI v2.0 rev 1.1, chapter 28.
 */
#include <limits.h>
#include <stdlib.h>

#include "worker/ipmi/internal.h"

/* Get Chassis Status (28.2) */
#define STATUS_POWER_ON		  0x01
#define STATUS_RESTORE_UNKNOWN	  (3 << 5) /* no power restore policy here */
#define STATUS_IDENTIFY_SUPPORTED 0x40
#define EVENT_POWER_ON_BY_COMMAND 0x10

/* Chassis Control (28.3) */
enum {
	CTL_POWER_DOWN = 0,
	CTL_POWER_UP = 1,
	CTL_POWER_CYCLE = 2,
	CTL_HARD_RESET = 3,
	CTL_DIAG_INTERRUPT = 4,
	CTL_SOFT_SHUTDOWN = 5,
};

/* Chassis Identify (28.5) */
#define IDENTIFY_DEFAULT_S  15
#define IDENTIFY_OFF	    0
#define IDENTIFY_TIMED	    1
#define IDENTIFY_INDEFINITE 2

/* Get System Restart Cause (28.11) */
#define RESTART_CAUSE_COMMAND 0x01

/* System boot options (28.12, 28.13, table 28-14) */
#define BOOT_PARAM_VERSION   0x01
#define CC_SET_IN_PROGRESS   0x81 /* 'set in progress' while not 'set complete' */
#define BOOT_FLAG_VALID	     0x80
#define BOOT_FLAG_PERSISTENT 0x40
#define BOOT_FLAG_EFI	     0x20
#define BOOT_DEV_SHIFT	     2
#define BOOT_DEV_MASK	     (0x0f << BOOT_DEV_SHIFT)

/* Boot device selectors, parameter 5 data 2 bits 5:2. */
enum {
	SEL_NONE = 0x0,
	SEL_PXE = 0x1,
	SEL_DISK = 0x2,
	SEL_DISK_SAFE = 0x3,
	SEL_DIAG = 0x4,
	SEL_CD = 0x5,
	SEL_BIOS = 0x6,
	SEL_REMOTE_FLOPPY = 0x7,
	SEL_REMOTE_CD = 0x8,
	SEL_REMOTE_PRIMARY = 0x9,
	SEL_REMOTE_DISK = 0xb,
	SEL_FLOPPY = 0xf,
};

/* ---- power ---- */

static void get_chassis_caps(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, 0x00);	    /* no intrusion sensor, lockout, diag button, interlock */
	resp_u8(rs, IPMI_BMC_ADDR); /* FRU info device */
	resp_u8(rs, IPMI_BMC_ADDR); /* SDR device */
	resp_u8(rs, IPMI_BMC_ADDR); /* SEL device */
	resp_u8(rs, IPMI_BMC_ADDR); /* system management device */
}

/* Identify state for Get Chassis Status byte 3 bits 5:4; a timed
 * identify goes off by itself. */
static uint8_t identify_state(struct ipmi *ipmi)
{
	if (ipmi->identify_until_ms == UINT64_MAX)
		return IDENTIFY_INDEFINITE;
	if (ipmi->ops->now_ms(ipmi->arg) < ipmi->identify_until_ms)
		return IDENTIFY_TIMED;
	return IDENTIFY_OFF;
}

static void get_chassis_status(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	enum power_state st;
	uint8_t power;

	if (!req_len_ok(rq, rs, 0, 0))
		return;
	/* Without QMP we cannot tell on from off, and either answer would
	 * send a provisioning tool the wrong way. */
	st = ipmi->ops->power_state(ipmi->arg);
	if (st == POWER_STATE_UNKNOWN) {
		rs->cc = CC_NOT_SUPPORTED_NOW;
		return;
	}
	/* A guest asked to shut down is still on; one being powered on is
	 * not yet. */
	power = (st == POWER_STATE_ON || st == POWER_STATE_POWERING_OFF) ? STATUS_POWER_ON : 0;
	resp_u8(rs, power | STATUS_RESTORE_UNKNOWN);
	resp_u8(rs, ipmi->last_power_event);
	resp_u8(rs, STATUS_IDENTIFY_SUPPORTED | (uint8_t)(identify_state(ipmi) << 4));
}

static bool ctl_action(uint8_t ctl, enum power_action *ret)
{
	static const enum power_action actions[] = {
		[CTL_POWER_DOWN] = POWER_OFF,
		[CTL_POWER_UP] = POWER_ON,
		[CTL_POWER_CYCLE] = POWER_CYCLE,
		[CTL_HARD_RESET] = POWER_RESET,
		[CTL_DIAG_INTERRUPT] = POWER_NMI,
		[CTL_SOFT_SHUTDOWN] = POWER_SOFT,
	};

	if (ctl >= sizeof(actions) / sizeof(actions[0]))
		return false;
	*ret = actions[ctl];
	return true;
}

static uint8_t power_cc(enum power_result r)
{
	switch (r) {
	case POWER_OK:
		return CC_OK;
	case POWER_E_STATE:	  /* e.g. diag interrupt while off */
	case POWER_E_UNAVAILABLE: /* no QEMU to talk to */
		return CC_NOT_SUPPORTED_NOW;
	case POWER_E_BUSY:
		return CC_NODE_BUSY;
	case POWER_E_TIMEOUT:
		return CC_TIMEOUT;
	case POWER_E_FAILED:
	default:
		return CC_UNSPECIFIED;
	}
}

/* One Chassis Control waiting for the power core.  The core may answer
 * before ops->power() returns ("already on", "busy"): that answer is
 * given synchronously, and the asynchronous one is only set up once the
 * call has returned without an answer. */
struct power_pending {
	struct ipmi *ipmi;
	struct ipmi_async *async;
	uint8_t ctl;
	bool in_call; /* inside ops->power() */
	bool done;    /* answered while in_call */
	uint8_t cc;
};

static void power_done(void *arg, enum power_result r, const char *detail)
{
	struct power_pending *p = arg;
	uint8_t cc = power_cc(r);

	(void)detail;
	/* What Get Chassis Status and Get System Restart Cause report
	 * afterwards: the system came (back) up because of a command. */
	if (cc == CC_OK &&
	    (p->ctl == CTL_POWER_UP || p->ctl == CTL_POWER_CYCLE || p->ctl == CTL_HARD_RESET)) {
		p->ipmi->last_power_event = EVENT_POWER_ON_BY_COMMAND;
		p->ipmi->restart_cause = RESTART_CAUSE_COMMAND;
	}
	if (p->in_call) {
		p->done = true;
		p->cc = cc;
		return;
	}
	if (p->async)
		ipmi_async_done(p->async, cc);
	free(p);
}

static void chassis_control(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	struct power_pending *p;
	enum power_action action;
	uint8_t ctl;

	if (!req_len_ok(rq, rs, 1, 1))
		return;
	ctl = rq->data[0] & 0x0f; /* bits 7:4 reserved */
	if (!ctl_action(ctl, &action)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rs->cc = CC_OUT_OF_SPACE;
		return;
	}
	p->ipmi = ipmi;
	p->ctl = ctl;
	p->in_call = true;
	ipmi->ops->power(ipmi->arg, action, power_done, p);
	p->in_call = false;
	if (p->done) {
		rs->cc = p->cc;
		free(p);
		return;
	}
	/* The action is running; if no asynchronous answer can be set up
	 * (no memory), say that it was started, as a real BMC does. */
	p->async = ipmi_async_begin(rq, rs);
}

static void chassis_identify(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	unsigned secs = IDENTIFY_DEFAULT_S;
	bool force = false;

	/* Both bytes are optional; the force byte only follows an interval. */
	if (!req_len_ok(rq, rs, 0, 2))
		return;
	if (rq->len >= 1)
		secs = rq->data[0];
	if (rq->len == 2)
		force = rq->data[1] & 0x01;
	ipmi->identify_until_ms = force ? UINT64_MAX
					: ipmi->ops->now_ms(ipmi->arg) + secs * 1000ull;
	if (ipmi->ops->identify)
		ipmi->ops->identify(ipmi->arg, force ? UINT_MAX : secs);
}

static void get_restart_cause(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, rq->ipmi->restart_cause & 0x0f);
	resp_u8(rs, IPMI_CHANNEL_LAN); /* the only channel a command can come from */
}

/* ---- boot options ---- */

/* Boot device selector -> what the boot code can do on a VM.  Selectors
 * not listed (diagnostic partition, floppies, remote media) are valid
 * and kept as written, but set no target. */
static const struct {
	uint8_t sel;
	enum boot_target target;
} boot_devices[] = {
	{SEL_PXE, BOOT_PXE},
	{SEL_DISK, BOOT_DISK},
	{SEL_DISK_SAFE, BOOT_DISK},
	{SEL_CD, BOOT_CD},
	{SEL_REMOTE_CD, BOOT_CD},
	{SEL_BIOS, BOOT_BIOS},
};

#define N_BOOT_DEVICES (sizeof(boot_devices) / sizeof(boot_devices[0]))

static bool boot_selector_valid(uint8_t sel)
{
	return sel <= SEL_REMOTE_PRIMARY || sel == SEL_REMOTE_DISK || sel == SEL_FLOPPY;
}

/* The target that parameter 5 bytes 1 and 2 ask for. */
static enum boot_target boot_flags_target(uint8_t flags1, uint8_t device)
{
	uint8_t sel = (device & BOOT_DEV_MASK) >> BOOT_DEV_SHIFT;
	size_t i;

	if (!(flags1 & BOOT_FLAG_VALID))
		return BOOT_NONE;
	for (i = 0; i < N_BOOT_DEVICES; i++)
		if (boot_devices[i].sel == sel)
			return boot_devices[i].target;
	return BOOT_NONE;
}

static uint8_t boot_target_selector(enum boot_target t)
{
	size_t i;

	for (i = 0; i < N_BOOT_DEVICES; i++)
		if (boot_devices[i].target == t)
			return boot_devices[i].sel;
	return SEL_NONE;
}

static void set_u8(uint8_t *field, uint8_t v, bool *changed)
{
	if (*field != v) {
		*field = v;
		*changed = true;
	}
}

/* Parameter 0.  Everything we store takes effect at once, so "commit
 * write" has nothing to do; a second "set in progress" gets 81h as the
 * spec asks (ipmitool then simply stops using the lock). */
static uint8_t set_boot_progress(struct boot_state *b, const uint8_t *d, bool *changed)
{
	switch (d[0] & 0x03) {
	case 0x00:
		set_u8(&b->set_in_progress, 0x00, changed);
		return CC_OK;
	case 0x01:
		if (b->set_in_progress == 0x01)
			return CC_SET_IN_PROGRESS;
		set_u8(&b->set_in_progress, 0x01, changed);
		return CC_OK;
	case 0x02:
		return CC_OK;
	default:
		return CC_INVALID_DATA_FIELD;
	}
}

static void get_boot_progress(const struct boot_state *b, uint8_t *out)
{
	out[0] = b->set_in_progress;
}

static uint8_t set_boot_partition(struct boot_state *b, const uint8_t *d, bool *changed)
{
	set_u8(&b->service_partition_selector, d[0], changed);
	return CC_OK;
}

static void get_boot_partition(const struct boot_state *b, uint8_t *out)
{
	out[0] = b->service_partition_selector;
}

static uint8_t set_boot_scan(struct boot_state *b, const uint8_t *d, bool *changed)
{
	set_u8(&b->service_partition_scan, d[0] & 0x03, changed);
	return CC_OK;
}

static void get_boot_scan(const struct boot_state *b, uint8_t *out)
{
	out[0] = b->service_partition_scan;
}

/* Parameter 3: which events do not clear the valid bit.  Ironic sets
 * 08h (no 60 s timeout), ipmi-config 1Fh; the boot code reads it. */
static uint8_t set_boot_timer(struct boot_state *b, const uint8_t *d, bool *changed)
{
	set_u8(&b->timer_control, d[0] & 0x1f, changed);
	return CC_OK;
}

static void get_boot_timer(const struct boot_state *b, uint8_t *out)
{
	out[0] = b->timer_control;
}

/* Parameter 4: data 1 is a write mask for data 2; the mask itself reads
 * back as 00h. */
static uint8_t set_boot_ack(struct boot_state *b, const uint8_t *d, bool *changed)
{
	uint8_t mask = d[0];

	set_u8(&b->ack_mask, mask, changed);
	set_u8(&b->ack_data, (uint8_t)((b->ack_data & ~mask) | (d[1] & mask)), changed);
	return CC_OK;
}

static void get_boot_ack(const struct boot_state *b, uint8_t *out)
{
	out[0] = 0x00;
	out[1] = b->ack_data;
}

/* Parameter 5: the boot override.  The raw bytes are kept so that a Get
 * returns what was set, including bits and selectors we do not act on. */
static uint8_t set_boot_flags(struct boot_state *b, const uint8_t *d, bool *changed)
{
	enum boot_target t;
	bool persistent, efi;

	if (!boot_selector_valid((d[1] & BOOT_DEV_MASK) >> BOOT_DEV_SHIFT))
		return CC_INVALID_DATA_FIELD;
	t = boot_flags_target(d[0], d[1]);
	/* A valid override we cannot carry out on a VM (BIOS setup, floppy,
	 * diagnostic partition, remote media other than CD) is refused, not
	 * accepted and ignored. */
	if ((d[0] & BOOT_FLAG_VALID) && ((d[1] & BOOT_DEV_MASK) >> BOOT_DEV_SHIFT) != SEL_NONE &&
	    (t == BOOT_NONE || t == BOOT_BIOS))
		return CC_INVALID_DATA_FIELD;
	persistent = d[0] & BOOT_FLAG_PERSISTENT;
	efi = d[0] & BOOT_FLAG_EFI;
	if (b->target != t || b->persistent != persistent || b->efi != efi)
		*changed = true;
	b->target = t;
	b->persistent = persistent;
	b->efi = efi;
	set_u8(&b->raw_flags1, d[0], changed);
	set_u8(&b->raw_device, d[1], changed);
	set_u8(&b->raw_flags3, d[2], changed);
	set_u8(&b->raw_flags4, d[3], changed);
	set_u8(&b->raw_flags5, d[4], changed);
	return CC_OK;
}

/* The raw bytes while they still say what the fields say; otherwise
 * someone else (Redfish, or the boot code clearing a once-override after
 * the boot) changed the fields, and the bytes are rebuilt from them,
 * keeping the bits only IPMI knows about. */
static void get_boot_flags(const struct boot_state *b, uint8_t *out)
{
	uint8_t f1 = b->raw_flags1, dev = b->raw_device;

	if (boot_flags_target(f1, dev) != b->target ||
	    !!(f1 & BOOT_FLAG_PERSISTENT) != b->persistent || !!(f1 & BOOT_FLAG_EFI) != b->efi) {
		f1 &= (uint8_t) ~(BOOT_FLAG_VALID | BOOT_FLAG_PERSISTENT | BOOT_FLAG_EFI);
		if (b->target != BOOT_NONE)
			f1 |= BOOT_FLAG_VALID;
		if (b->persistent)
			f1 |= BOOT_FLAG_PERSISTENT;
		if (b->efi)
			f1 |= BOOT_FLAG_EFI;
		if (b->target != BOOT_NONE && boot_flags_target(f1, dev) != b->target)
			dev = (uint8_t)((dev & ~BOOT_DEV_MASK) |
					(boot_target_selector(b->target) << BOOT_DEV_SHIFT));
	}
	out[0] = f1;
	out[1] = dev;
	out[2] = b->raw_flags3;
	out[3] = b->raw_flags4;
	out[4] = b->raw_flags5;
}

static uint8_t set_boot_initiator(struct boot_state *b, const uint8_t *d, bool *changed)
{
	size_t i;

	for (i = 0; i < sizeof(b->initiator); i++)
		set_u8(&b->initiator[i], d[i], changed);
	return CC_OK;
}

static void get_boot_initiator(const struct boot_state *b, uint8_t *out)
{
	size_t i;

	for (i = 0; i < sizeof(b->initiator); i++)
		out[i] = b->initiator[i];
}

/* The parameters we keep.  7 (boot initiator mailbox) and the OEM range
 * are not among them: 80h "parameter not supported". */
static const struct boot_param {
	uint8_t id;
	uint8_t len; /* data bytes, the same for Set and Get */
	uint8_t (*set)(struct boot_state *b, const uint8_t *d, bool *changed);
	void (*get)(const struct boot_state *b, uint8_t *out);
} boot_params[] = {
	{0, 1, set_boot_progress, get_boot_progress},
	{1, 1, set_boot_partition, get_boot_partition},
	{2, 1, set_boot_scan, get_boot_scan},
	{3, 1, set_boot_timer, get_boot_timer},
	{4, 2, set_boot_ack, get_boot_ack},
	{5, 5, set_boot_flags, get_boot_flags},
	{6, 9, set_boot_initiator, get_boot_initiator},
};

#define BOOT_PARAM_DATA_MAX 9

static const struct boot_param *boot_param_find(uint8_t id)
{
	size_t i;

	for (i = 0; i < sizeof(boot_params) / sizeof(boot_params[0]); i++)
		if (boot_params[i].id == id)
			return &boot_params[i];
	return NULL;
}

/* Byte 1 is the parameter selector; its bit 7 ("mark parameter invalid /
 * locked") is not supported and ignored, as ipmitool never sets it. */
static void set_boot_options(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	const struct boot_param *p;
	struct boot_state *b;
	bool changed = false;
	uint8_t cc;

	if (!req_len_ok(rq, rs, 1, IPMI_DATA_MAX))
		return;
	p = boot_param_find(rq->data[0] & 0x7f);
	if (!p) {
		rs->cc = CC_PARAM_NOT_SUPPORTED;
		return;
	}
	if (!req_len_ok(rq, rs, 1u + p->len, 1u + p->len))
		return;
	b = ipmi->ops->boot(ipmi->arg);
	if (!b) {
		rs->cc = CC_NOT_SUPPORTED_NOW;
		return;
	}
	cc = p->set(b, rq->data + 1, &changed);
	if (cc != CC_OK) {
		rs->cc = cc;
		return;
	}
	if (changed) {
		b->generation++;
		if (ipmi->ops->boot_changed)
			ipmi->ops->boot_changed(ipmi->arg);
	}
}

/* Request: parameter selector, set selector, block selector; the two
 * selectors only mean something for parameter 7, which we do not have. */
static void get_boot_options(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	struct ipmi *ipmi = rq->ipmi;
	uint8_t buf[BOOT_PARAM_DATA_MAX];
	const struct boot_param *p;
	struct boot_state *b;

	if (!req_len_ok(rq, rs, 3, 3))
		return;
	p = boot_param_find(rq->data[0] & 0x7f);
	if (!p) {
		rs->cc = CC_PARAM_NOT_SUPPORTED;
		return;
	}
	b = ipmi->ops->boot(ipmi->arg);
	if (!b) {
		rs->cc = CC_NOT_SUPPORTED_NOW;
		return;
	}
	p->get(b, buf);
	resp_u8(rs, BOOT_PARAM_VERSION);
	resp_u8(rs, p->id); /* bit 7 clear: parameter valid / unlocked */
	resp_bytes(rs, buf, p->len);
}

const struct ipmi_cmd ipmi_chassis_cmds[] = {
	{NETFN_CHASSIS, 0x00, IPMI_PRIV_USER, 0, get_chassis_caps, "Get Chassis Capabilities"},
	{NETFN_CHASSIS, 0x01, IPMI_PRIV_USER, 0, get_chassis_status, "Get Chassis Status"},
	{NETFN_CHASSIS, 0x02, IPMI_PRIV_OPERATOR, 0, chassis_control, "Chassis Control"},
	{NETFN_CHASSIS, 0x04, IPMI_PRIV_OPERATOR, 0, chassis_identify, "Chassis Identify"},
	{NETFN_CHASSIS, 0x07, IPMI_PRIV_USER, 0, get_restart_cause, "Get System Restart Cause"},
	{NETFN_CHASSIS, 0x08, IPMI_PRIV_OPERATOR, 0, set_boot_options, "Set System Boot Options"},
	{NETFN_CHASSIS, 0x09, IPMI_PRIV_OPERATOR, 0, get_boot_options, "Get System Boot Options"},
	{0},
};
