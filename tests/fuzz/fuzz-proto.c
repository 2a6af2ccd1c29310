/* Fuzz proto decoding: a raw frame as the supervisor or the worker would
 * receive it, then every payload decoder on its body.  A boot state that
 * decodes must encode and decode to the same state (the supervisor keeps
 * what it decoded and hands it to the next worker). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static struct proto_frame f;

static void boot_roundtrip(const char *body, size_t len)
{
	static struct msg_boot a, b;
	char *again;

	if (msg_boot_decode(body, len, &a) < 0)
		return;
	again = msg_boot_encode(&a);
	if (!again || msg_boot_decode(again, strlen(again), &b) < 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct msg_config c;
		struct msg_power p;
		struct msg_power_result pr;
		struct msg_qmp_none q;
		struct msg_state s;
		struct ctl_status cs;
		struct ctl_power cp;
		struct ctl_node cn;
		struct ctl_result cr;
	} u;
	const char *body;
	size_t len;

	if (size > sizeof(struct proto_hdr) + PROTO_MAX_PAYLOAD)
		return 0;
	f.nfds = 0;
	if (proto_frame_parse(data, size, &f) == 0) {
		body = f.payload;
		len = f.len;
	} else {
		body = (const char *)data;
		len = size;
	}
	msg_config_decode(body, len, &u.c);
	msg_power_decode(body, len, &u.p);
	msg_power_result_decode(body, len, &u.pr);
	msg_qmp_none_decode(body, len, &u.q);
	msg_state_decode(body, len, &u.s);
	boot_roundtrip(body, len);
	msg_empty_decode(body, len);
	ctl_status_decode(body, len, &u.cs);
	ctl_power_decode(body, len, &u.cp);
	if (ctl_node_decode(body, len, &u.cn) == 0)
		free(ctl_node_encode(&u.cn));
	ctl_result_decode(body, len, &u.cr);
	return 0;
}
