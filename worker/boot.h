/* The node's boot override, shared by IPMI (Set/Get System Boot Options)
 * and Redfish (Boot.*), applied to QEMU by worker/boot.c. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h" /* enum boot_target */

struct boot_state {
	enum boot_target target;
	bool persistent; /* else once: cleared after the next boot */
	bool efi;        /* UEFI (else legacy) boot type */
	/* IPMI param 5 data byte 1 as last written (valid, persistent, EFI bits).
	 * Get System Boot Options returns the raw bytes while they still agree
	 * with target/persistent/efi, else bytes built from those fields: so a
	 * writer that only sets the fields (Redfish, the boot code clearing a
	 * once-override) is reflected without having to touch the raw bytes. */
	uint8_t raw_flags1;
	uint8_t raw_device; /* IPMI param 5 data byte 2 as last written (keeps unknown selectors) */
	uint8_t raw_flags3, raw_flags4, raw_flags5; /* IPMI param 5 bytes 3..5 as written */
	uint8_t set_in_progress; /* IPMI param 0 */
	uint8_t service_partition_selector; /* param 1 */
	uint8_t service_partition_scan;     /* param 2 */
	uint8_t timer_control; /* IPMI param 3 (bit 3: don't clear on 60 s timeout) */
	uint8_t ack_mask, ack_data; /* IPMI param 4 */
	uint8_t initiator[9];       /* param 6 */
	uint32_t generation; /* bumped on every change: Redfish ETag */
};
