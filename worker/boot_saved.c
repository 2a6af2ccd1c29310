/* The boot state a restarted worker must not lose (worker/boot.c keeps it
 * in QEMU): the override and IPMI's boot option bytes, and the bootindex
 * each device had before vbmc moved it.  The worker reports it to the
 * supervisor on every change (MSG_BOOT_STATE); the supervisor keeps it in
 * its state file and hands it to the node's next worker (MSG_BOOT_RESTORE),
 * which then takes the saved originals instead of the moved values it
 * finds in QEMU. */
#include "worker.h"

#include <string.h>

#include "common/log.h"
#include "common/util.h"

static const struct msg_boot_dev *find_saved(const struct msg_boot_dev *list, size_t n,
					     const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].path, path) == 0)
			return &list[i];
	return NULL;
}

/* A value vbmc itself may have left on a saved device: the original, the
 * last one set, or a temporary one of a reordering cut short. */
static bool left_by_us(const struct msg_boot_dev *k, int v)
{
	return v == k->orig || v == k->current ||
	       (v >= BOOT_TEMP_BASE && v < BOOT_TEMP_BASE + BOOT_MAX_DEVS);
}

/* Discovery reads what QEMU holds now: the reordered bootindexes if an
 * override was in force when this worker or its QMP connection started.
 * A saved device keeps its saved original while QEMU still holds a value
 * vbmc could have left there; a new device, or one holding something
 * else (QEMU started again with other settings), is taken as it is. */
void boot_adopt_saved(struct bootctl *bc)
{
	size_t adopted = 0, moved = 0, fresh = 0;

	for (size_t i = 0; i < bc->n; i++) {
		struct boot_dev *d = &bc->devs[i];
		const struct msg_boot_dev *k;

		if (d->orig == -2)
			continue; /* no bootindex property */
		k = find_saved(bc->known, bc->n_known, d->path);
		if (k && left_by_us(k, d->cur)) {
			moved += d->cur != k->orig;
			d->orig = k->orig;
			adopted++;
		} else {
			fresh++;
		}
	}
	if (bc->n_known && (adopted < bc->n_known || fresh))
		log_warnx("boot order: %zu of %zu saved devices found as vbmc left them, %zu "
			  "new or changed (QEMU restarted?): those keep the bootindex QEMU has now",
			  adopted, bc->n_known, fresh);
	if (moved)
		log_info("boot order: %zu devices found moved by an override; their original "
			 "bootindexes come from the saved state", moved);
}

/* The devices to save, from the last discovery: every one with a
 * bootindex that the message can carry, as many as it holds (the others
 * are taken as QEMU has them after a restart). */
static void remember(struct bootctl *bc)
{
	size_t k = 0;

	for (size_t i = 0; i < bc->n && k < MSG_BOOT_SAVED_DEVS; i++) {
		const struct boot_dev *d = &bc->devs[i];
		struct msg_boot_dev *s = &bc->known[k];

		/* only what the supervisor accepts (it kills a worker that
		 * sends anything else): in range, a sane path, once */
		if (d->orig < -1 || d->orig > MSG_BOOTINDEX_MAX || d->cur < -1 ||
		    d->cur > MSG_BOOTINDEX_MAX || !msg_boot_path_ok(d->path) ||
		    find_saved(bc->known, k, d->path))
			continue;
		memset(s, 0, sizeof(*s));
		strlcpy0(s->path, d->path, sizeof(s->path));
		s->orig = d->orig;
		s->current = d->cur;
		k++;
	}
	bc->n_known = k;
}

static void ipmi_bytes_from(const struct boot_state *b, struct msg_boot_ipmi *p)
{
	p->flags[0] = b->raw_flags1;
	p->flags[1] = b->raw_device;
	p->flags[2] = b->raw_flags3;
	p->flags[3] = b->raw_flags4;
	p->flags[4] = b->raw_flags5;
	p->partition_selector = b->service_partition_selector;
	p->partition_scan = b->service_partition_scan;
	p->timer_control = b->timer_control;
	p->ack_data = b->ack_data;
	memcpy(p->initiator, b->initiator, sizeof(p->initiator));
}

static void ipmi_bytes_into(struct boot_state *b, const struct msg_boot_ipmi *p)
{
	b->raw_flags1 = p->flags[0];
	b->raw_device = p->flags[1];
	b->raw_flags3 = p->flags[2];
	b->raw_flags4 = p->flags[3];
	b->raw_flags5 = p->flags[4];
	b->service_partition_selector = p->partition_selector;
	b->service_partition_scan = p->partition_scan;
	b->timer_control = p->timer_control;
	b->ack_data = p->ack_data;
	memcpy(b->initiator, p->initiator, sizeof(b->initiator));
}

/* To the supervisor, which keeps it for the next worker of this node. */
void boot_report(struct worker_ctx *w)
{
	const struct boot_state *b = &w->boot;
	struct bootctl *bc = &w->bootctl;
	struct msg_boot m;

	if (bc->discovered)
		remember(bc);
	memset(&m, 0, sizeof(m));
	m.target = b->target;
	m.persistent = b->persistent;
	m.efi = b->efi;
	ipmi_bytes_from(b, &m.ipmi);
	memcpy(m.devs, bc->known, bc->n_known * sizeof(m.devs[0]));
	m.n_devs = (uint32_t)bc->n_known;
	channel_send_boot(w, &m);
}

void boot_restore(struct worker_ctx *w, const struct msg_boot *m)
{
	struct boot_state *b = &w->boot;
	struct bootctl *bc = &w->bootctl;

	b->target = m->target;
	b->efi = m->efi;
	ipmi_bytes_into(b, &m->ipmi);
	/* "disabled" has no once/continuous: IPMI's persistent bit (byte 1
	 * bit 6) keeps what Get System Boot Options showed */
	b->persistent = m->target == BOOT_NONE ? (b->raw_flags1 & 0x40) != 0 : m->persistent;
	memcpy(bc->known, m->devs, m->n_devs * sizeof(bc->known[0]));
	bc->n_known = m->n_devs;
	if (b->target != BOOT_NONE)
		log_info("boot override %s, %s, kept from the previous worker",
			 boot_target_name(b->target), b->persistent ? "persistent" : "once");
}
