/*
 * Response helpers for the command handlers.  A handler builds its answer
 * by appending fields; the helpers are the only code that writes into
 * rs->data, so the bound check lives here once instead of in every
 * handler.
 */
#include <string.h>

#include "worker/ipmi/internal.h"

/* Room for n more bytes?  If not, the answer cannot be built: say so
 * with CAh ("cannot return number of requested data bytes", 5.2) rather
 * than sending a truncated field. */
static bool resp_room(struct ipmi_resp *rs, size_t n)
{
	if (rs->cc != CC_OK)
		return false;
	if (rs->len > IPMI_DATA_MAX || n > IPMI_DATA_MAX - rs->len) {
		rs->cc = CC_CANT_RETURN_BYTES;
		rs->len = 0;
		return false;
	}
	return true;
}

void resp_u8(struct ipmi_resp *rs, uint8_t v)
{
	if (resp_room(rs, 1))
		rs->data[rs->len++] = v;
}

void resp_u16(struct ipmi_resp *rs, uint16_t v)
{
	if (!resp_room(rs, 2))
		return;
	put_le16(rs->data + rs->len, v);
	rs->len += 2;
}

void resp_u32(struct ipmi_resp *rs, uint32_t v)
{
	if (!resp_room(rs, 4))
		return;
	put_le32(rs->data + rs->len, v);
	rs->len += 4;
}

void resp_bytes(struct ipmi_resp *rs, const void *p, size_t n)
{
	if (!resp_room(rs, n) || n == 0)
		return;
	memcpy(rs->data + rs->len, p, n);
	rs->len += n;
}

bool req_len_ok(const struct ipmi_req *rq, struct ipmi_resp *rs, size_t min, size_t max)
{
	if (rq->len < min || rq->len > max) {
		rs->cc = CC_REQ_LEN_INVALID;
		return false;
	}
	return true;
}
