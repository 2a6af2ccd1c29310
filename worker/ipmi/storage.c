/*
 * Storage netfn (0Ah): the FRU inventory of the node, an SEL that is
 * always empty (a VM logs no platform events), and an SDR repository with
 * the BMC's own locator record only (a VM has no sensors), answered so
 * that the clients' listing commands work.
 *
 * Section numbers are IPMI v2.0 rev 1.1 (chapters 31, 33, 34) and the
 * Platform Management FRU Information Storage Definition v1.0 ("FRU").
 */
#include <string.h>
#include <time.h>

#include "worker/ipmi/internal.h"

#define SEL_VERSION	     0x51 /* IPMI 1.5/2.0 format */
#define SDR_VERSION	     0x51
#define TIMESTAMP_NONE	     0xffffffffu /* "unspecified" */
#define OP_RESERVE_SUPPORTED 0x02	 /* SEL and SDR info: Reserve is implemented */
#define CLEAR_SEL_ERASE	     0xaa
#define CLEAR_SEL_STATUS     0x00
#define CLEAR_SEL_DONE	     0x01

/* FRU image: common header + product info area (FRU 8, 12). */
#define FRU_DEVICE_BMC	 0
#define FRU_FORMAT	 0x01
#define FRU_BLOCK	 8    /* area offsets and lengths count in these */
#define FRU_TL_ASCII	 0xc0 /* type/length: 8-bit ASCII + Latin 1 */
#define FRU_END		 0xc1 /* end of fields */
#define FRU_FIELD_MAX	 63   /* 6-bit length */
#define FRU_IMAGE_MAX	 128  /* header 8 + area <= 3 + 7 fields + end + pad + sum */
#define FRU_READ_MAX	 32   /* what clients ask for at most in one read */
#define FRU_MANUFACTURER "vbmc"

/* Reservation ids are never 0: 0 means "no reservation" in requests. */
static uint16_t next_reservation(uint16_t *r)
{
	if (++*r == 0)
		++*r;
	return *r;
}

/* ---- SEL (31) ---- */

static void get_sel_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, SEL_VERSION);
	resp_u16(rs, 0);	      /* entries */
	resp_u16(rs, 0);	      /* free bytes: we keep no events */
	resp_u32(rs, TIMESTAMP_NONE); /* most recent addition */
	resp_u32(rs, TIMESTAMP_NONE); /* most recent erase */
	resp_u8(rs, OP_RESERVE_SUPPORTED);
}

static void reserve_sel(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u16(rs, next_reservation(&rq->ipmi->sel_reservation));
}

/* Reservation id (2), record id (2), offset, bytes to read. */
static void get_sel_entry(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 6, 6))
		return;
	rs->cc = CC_NOT_PRESENT;
}

/* Reservation id (2), 'C' 'L' 'R', AAh to erase or 00h for the status.
 * Nothing to erase, so it is always complete. */
static void clear_sel(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	const uint8_t *d = rq->data;

	if (!req_len_ok(rq, rs, 6, 6))
		return;
	if (get_le16(d) != rq->ipmi->sel_reservation || rq->ipmi->sel_reservation == 0) {
		rs->cc = CC_INVALID_RESERVATION;
		return;
	}
	if (memcmp(d + 2, "CLR", 3) != 0 || (d[5] != CLEAR_SEL_ERASE && d[5] != CLEAR_SEL_STATUS)) {
		rs->cc = CC_INVALID_DATA_FIELD;
		return;
	}
	resp_u8(rs, CLEAR_SEL_DONE);
}

/* The host's clock: the worker may read it (vDSO), and a VM has no RTC
 * of its own that we could ask. */
static void get_sel_time(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u32(rs, (uint32_t)time(NULL));
}

/* ---- SDR repository (33) ---- */

/* The repository holds one record: the BMC's own Management Controller
 * Device Locator (43.9).  An empty repository is legal, but ipmitool then
 * tries to rebuild it ("Could not build SDRR!") on every `sdr list`. */
#define SDR_RECORD_ID 0x0001
#define SDR_TYPE_MC_LOCATOR 0x12
#define SDR_MAX 64

static size_t sdr_mc_locator(const struct ipmi *ipmi, uint8_t *r)
{
	size_t len = strnlen(ipmi->cfg.node, 16); /* ID string: 16 bytes at most */
	size_t n = 0;

	r[n++] = SDR_RECORD_ID & 0xff;
	r[n++] = SDR_RECORD_ID >> 8;
	r[n++] = SDR_VERSION;
	r[n++] = SDR_TYPE_MC_LOCATOR;
	r[n++] = (uint8_t)(11 + len); /* bytes after this 5-byte header */
	r[n++] = IPMI_BMC_ADDR;       /* device slave address */
	r[n++] = 0x00;                /* channel 0 (primary IPMB) */
	r[n++] = 0x00;                /* no event generation/notification */
	/* capabilities: chassis, FRU inventory, SEL, SDR repository (as Get Device ID) */
	r[n++] = 0x8e;
	r[n++] = 0;
	r[n++] = 0;
	r[n++] = 0;
	r[n++] = 0x06; /* entity: system management module */
	r[n++] = 0x01; /* instance */
	r[n++] = 0x00; /* OEM */
	r[n++] = (uint8_t)(0xc0 | len); /* 8-bit ASCII */
	memcpy(r + n, ipmi->cfg.node, len);
	return n + len;
}

static void get_sdr_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u8(rs, SDR_VERSION);
	resp_u16(rs, 1); /* records */
	resp_u16(rs, 0); /* free bytes: the repository is read-only */
	resp_u32(rs, TIMESTAMP_NONE);
	resp_u32(rs, TIMESTAMP_NONE);
	resp_u8(rs, OP_RESERVE_SUPPORTED);
}

static void reserve_sdr(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	if (!req_len_ok(rq, rs, 0, 0))
		return;
	resp_u16(rs, next_reservation(&rq->ipmi->sdr_reservation));
}

/* Reservation id (2), record id (2), offset, bytes to read (FFh: all).
 * Record id 0000h is "the first record". */
static void get_sdr(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t rec[SDR_MAX];
	uint16_t id, resv;
	size_t len, off, want;

	if (!req_len_ok(rq, rs, 6, 6))
		return;
	resv = get_le16(rq->data);
	id = get_le16(rq->data + 2);
	off = rq->data[4];
	want = rq->data[5];
	if (id != 0 && id != SDR_RECORD_ID) {
		rs->cc = CC_NOT_PRESENT;
		return;
	}
	/* a partial read needs the current reservation (33.12) */
	if (off && resv != rq->ipmi->sdr_reservation) {
		rs->cc = CC_INVALID_RESERVATION;
		return;
	}
	len = sdr_mc_locator(rq->ipmi, rec);
	if (off > len) {
		rs->cc = CC_PARAM_OUT_OF_RANGE;
		return;
	}
	if (want == 0xff || off + want > len)
		want = len - off;
	if (want > IPMI_DATA_MAX - 2) {
		rs->cc = CC_CANT_RETURN_BYTES;
		return;
	}
	resp_u16(rs, 0xffff); /* next record: none */
	resp_bytes(rs, rec + off, want);
}

/* ---- FRU inventory (34) ---- */

/* One type/length-prefixed 8-bit ASCII field.  A length of 1 would make
 * the type/length byte C1h, the end marker (FRU 13): pad with a space. */
static size_t fru_field(uint8_t *p, const char *s, size_t len)
{
	if (len > FRU_FIELD_MAX)
		len = FRU_FIELD_MAX;
	if (len == 1) {
		p[0] = FRU_TL_ASCII | 2;
		p[1] = (uint8_t)s[0];
		p[2] = ' ';
		return 3;
	}
	p[0] = (uint8_t)(FRU_TL_ASCII | len);
	memcpy(p + 1, s, len);
	return 1 + len;
}

/* Zero checksum: the bytes of the area, this one included, sum to 0. */
static uint8_t fru_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* Product Info Area (FRU 12): manufacturer "vbmc", product name the node
 * name, serial number the first half of the node's GUID in hex, the rest
 * empty.  Returns its length, a multiple of 8. */
static size_t fru_product_area(const struct ipmi *ipmi, uint8_t *p)
{
	static const char hex[] = "0123456789abcdef";
	char serial[16];
	size_t n = 0, i;

	for (i = 0; i < 8; i++) {
		serial[2 * i] = hex[ipmi->cfg.guid[i] >> 4];
		serial[2 * i + 1] = hex[ipmi->cfg.guid[i] & 0x0f];
	}
	p[n++] = FRU_FORMAT;
	p[n++] = 0; /* length, below */
	p[n++] = 0; /* language: English */
	n += fru_field(p + n, FRU_MANUFACTURER, strlen(FRU_MANUFACTURER));
	n += fru_field(p + n, ipmi->cfg.node, strnlen(ipmi->cfg.node, sizeof(ipmi->cfg.node)));
	n += fru_field(p + n, "", 0); /* part / model number */
	n += fru_field(p + n, "", 0); /* version */
	n += fru_field(p + n, serial, sizeof(serial));
	n += fru_field(p + n, "", 0); /* asset tag */
	n += fru_field(p + n, "", 0); /* FRU file id */
	p[n++] = FRU_END;
	while ((n + 1) % FRU_BLOCK)
		p[n++] = 0;
	p[1] = (uint8_t)((n + 1) / FRU_BLOCK);
	p[n] = fru_checksum(p, n);
	return n + 1;
}

/* The whole FRU image, rebuilt on each request: it is small and depends
 * on nothing but the configuration. */
static size_t fru_image(const struct ipmi *ipmi, uint8_t out[FRU_IMAGE_MAX])
{
	memset(out, 0, FRU_IMAGE_MAX);
	out[0] = FRU_FORMAT;
	out[4] = 1; /* product area right after the 8-byte header */
	out[7] = fru_checksum(out, 7);
	return FRU_BLOCK + fru_product_area(ipmi, out + FRU_BLOCK);
}

static void get_fru_info(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t img[FRU_IMAGE_MAX];

	if (!req_len_ok(rq, rs, 1, 1))
		return;
	if (rq->data[0] != FRU_DEVICE_BMC) {
		rs->cc = CC_NOT_PRESENT;
		return;
	}
	resp_u16(rs, (uint16_t)fru_image(rq->ipmi, img));
	resp_u8(rs, 0x00); /* accessed by bytes */
}

/* FRU device, offset (2), count.  Reads past the end are cut short, as
 * the "count returned" byte allows; a read starting past it fails. */
static void read_fru(struct ipmi_req *rq, struct ipmi_resp *rs)
{
	uint8_t img[FRU_IMAGE_MAX];
	size_t size, off, count;

	if (!req_len_ok(rq, rs, 4, 4))
		return;
	if (rq->data[0] != FRU_DEVICE_BMC) {
		rs->cc = CC_NOT_PRESENT;
		return;
	}
	size = fru_image(rq->ipmi, img);
	off = get_le16(rq->data + 1);
	count = rq->data[3];
	if (off >= size) {
		rs->cc = CC_PARAM_OUT_OF_RANGE;
		return;
	}
	if (count > FRU_READ_MAX)
		count = FRU_READ_MAX;
	if (count > size - off)
		count = size - off;
	resp_u8(rs, (uint8_t)count);
	resp_bytes(rs, img + off, count);
}

const struct ipmi_cmd ipmi_storage_cmds[] = {
	{NETFN_STORAGE, 0x10, IPMI_PRIV_USER, 0, get_fru_info, "Get FRU Inventory Area Info"},
	{NETFN_STORAGE, 0x11, IPMI_PRIV_USER, 0, read_fru, "Read FRU Data"},
	{NETFN_STORAGE, 0x20, IPMI_PRIV_USER, 0, get_sdr_info, "Get SDR Repository Info"},
	{NETFN_STORAGE, 0x22, IPMI_PRIV_USER, 0, reserve_sdr, "Reserve SDR Repository"},
	{NETFN_STORAGE, 0x23, IPMI_PRIV_USER, 0, get_sdr, "Get SDR"},
	{NETFN_STORAGE, 0x40, IPMI_PRIV_USER, 0, get_sel_info, "Get SEL Info"},
	{NETFN_STORAGE, 0x42, IPMI_PRIV_USER, 0, reserve_sel, "Reserve SEL"},
	{NETFN_STORAGE, 0x43, IPMI_PRIV_USER, 0, get_sel_entry, "Get SEL Entry"},
	{NETFN_STORAGE, 0x47, IPMI_PRIV_ADMIN, 0, clear_sel, "Clear SEL"},
	{NETFN_STORAGE, 0x48, IPMI_PRIV_USER, 0, get_sel_time, "Get SEL Time"},
	{0},
};
