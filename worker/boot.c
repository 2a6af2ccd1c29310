/* The boot override (worker/boot.h) carried out on QEMU: the devices that
 * can boot are found in QOM (/machine/peripheral and peripheral-anon) and
 * classified by type; an override gives the chosen class bootindex 1, 2,
 * ... and moves the others behind it.  QEMU rebuilds the firmware's
 * "bootorder" at every reset, so setting bootindex now takes effect at the
 * next reset, whoever causes it.  A "once" override is used up by the
 * first reset after it was set, then the original order is put back.
 * What must outlive this worker (the override, the original order) goes to
 * the supervisor through boot_saved.c. */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define OTHERS_BASE 100
/* The chosen devices start at 1, not 0: QEMU gives bootindex 0 to the
 * boot code it loads itself with -kernel (linuxboot), and refuses a
 * duplicate.  Such a VM boots its kernel first whatever we do. */
#define TARGET_BASE 1

static bool prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* QOM type -> what it boots as.  NICs boot over PXE (their option ROM). */
enum boot_target boot_classify(const char *type)
{
	static const char *const nics[] = {"virtio-net", "e1000", "rtl8139", "pcnet", "ne2k",
					   "vmxnet3", "igb", "usb-net", "i82559", "i8255"};
	static const char *const cds[] = {"ide-cd", "scsi-cd"};
	static const char *const disks[] = {"virtio-blk", "ide-hd", "scsi-hd", "nvme",
					    "usb-storage", "scsi-disk", "virtio-scsi-disk"};

	for (size_t i = 0; i < sizeof(cds) / sizeof(cds[0]); i++)
		if (prefix(type, cds[i]))
			return BOOT_CD;
	for (size_t i = 0; i < sizeof(nics) / sizeof(nics[0]); i++)
		if (prefix(type, nics[i]))
			return BOOT_PXE;
	for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++)
		if (prefix(type, disks[i]))
			return BOOT_DISK;
	return BOOT_NONE;
}

static struct bootctl *bc_of(struct worker_ctx *w)
{
	return &w->bootctl;
}

static void set_done(void *arg, json_t *ret, const char *error)
{
	struct worker_ctx *w = arg;
	char text[REASON_MAX];

	(void)ret;
	if (!error)
		return;
	/* what we think QEMU holds is now wrong: re-apply on the next change */
	bc_of(w)->applied_valid = false;
	snprintf(text, sizeof(text), "boot order: qom-set bootindex failed: %s", error);
	log_warnx("%s", text);
	strlcpy0(w->st.last_error, text, sizeof(w->st.last_error));
	channel_report(w, 1);
}

static void qom_set(struct worker_ctx *w, const char *path, int value)
{
	json_t *args = json_pack("{s:s, s:s, s:i}", "path", path, "property", "bootindex",
				 "value", value);

	if (power_qmp_command(w->power, "qom-set", args, set_done, w) < 0)
		log_warnx("boot order: no QMP connection");
}

/* The bootindex every device should have for target t (-1: none). */
static int wanted(const struct bootctl *bc, size_t i, enum boot_target t, int *rank)
{
	const struct boot_dev *d = &bc->devs[i];

	if (d->orig == -2)
		return -2; /* no bootindex property: nothing to set */
	if (t == BOOT_NONE || t == BOOT_BIOS)
		return d->orig;
	if (d->cls == t)
		return TARGET_BASE + (*rank)++;
	return d->orig >= 0 ? OTHERS_BASE + d->orig : -1;
}

/* Two passes so that no two devices ever hold the same bootindex (QEMU
 * refuses that): each device that moves goes to a unique temporary value,
 * then to its place.  A device that stays put is not touched: its value is
 * wanted by no other device, and a new worker that finds QEMU already in
 * the wanted order (a restart under an override) changes nothing, so the
 * firmware never sees a half-done order.  QMP runs commands in order, so
 * they can all be sent at once. */
static void apply(struct worker_ctx *w, enum boot_target t)
{
	struct bootctl *bc = bc_of(w);
	int want[BOOT_MAX_DEVS];
	int rank = 0;

	for (size_t i = 0; i < bc->n; i++)
		want[i] = wanted(bc, i, t, &rank);
	for (size_t i = 0; i < bc->n; i++)
		if (bc->devs[i].cur >= 0 && bc->devs[i].cur != want[i]) {
			qom_set(w, bc->devs[i].path, BOOT_TEMP_BASE + (int)i);
			bc->devs[i].cur = BOOT_TEMP_BASE + (int)i;
		}
	for (size_t i = 0; i < bc->n; i++)
		if (want[i] != bc->devs[i].cur) {
			qom_set(w, bc->devs[i].path, want[i]);
			bc->devs[i].cur = want[i];
		}
	bc->applied = t;
	bc->applied_valid = true;
	if (t != BOOT_NONE && t != BOOT_BIOS && rank == 0)
		log_warnx("boot override %s: this VM has no such device", boot_target_name(t));
	else
		log_info("boot order set for %s (%zu bootable devices)", boot_target_name(t), bc->n);
}

void boot_apply(struct worker_ctx *w)
{
	struct bootctl *bc = bc_of(w);

	/* Before discovery there is nothing to reorder, and without QMP the
	 * bootindexes cannot change (what is saved must say what QEMU holds):
	 * the next discovery applies it.  IPMI writes several parameters per
	 * "bootdev": only a new target changes the order. */
	if (bc->discovered && power_qmp_connected(w->power) &&
	    !(bc->applied_valid && bc->applied == w->boot.target))
		apply(w, w->boot.target);
	boot_report(w);
}

/* ---- discovery ---- */

/* Some device is not where QEMU started it: an override is in force, or
 * one was undone while QEMU was out of reach. */
static bool moved(const struct bootctl *bc)
{
	for (size_t i = 0; i < bc->n; i++)
		if (bc->devs[i].orig != -2 && bc->devs[i].cur != bc->devs[i].orig)
			return true;
	return false;
}

static void discovery_step_done(struct worker_ctx *w)
{
	struct bootctl *bc = bc_of(w);

	if (--bc->outstanding > 0)
		return;
	bc->discovered = true;
	log_info("boot devices: %zu found", bc->n);
	boot_adopt_saved(bc);
	if (w->boot.target != BOOT_NONE || moved(bc)) {
		apply(w, w->boot.target);
	} else {
		bc->applied = BOOT_NONE; /* QEMU holds the original order already */
		bc->applied_valid = true;
	}
	boot_report(w);
}

struct get_ctx {
	struct worker_ctx *w;
	size_t idx;
	uint32_t gen;
};

static void bootindex_done(void *arg, json_t *ret, const char *error)
{
	struct get_ctx *g = arg;
	struct worker_ctx *w = g->w;
	struct bootctl *bc = bc_of(w);
	bool current = g->gen == bc->gen;

	if (current && g->idx < bc->n) {
		struct boot_dev *d = &bc->devs[g->idx];
		/* no bootindex property: not something the firmware boots */
		d->orig = d->cur = error || !json_is_integer(ret) ? -2
								 : (int)json_integer_value(ret);
	}
	free(g);
	if (current)
		discovery_step_done(w);
}

static void add_device(struct worker_ctx *w, const char *dir, const char *name,
		       enum boot_target cls)
{
	struct bootctl *bc = bc_of(w);
	struct boot_dev *d;
	struct get_ctx *g;
	json_t *args;

	if (bc->n == BOOT_MAX_DEVS)
		return;
	d = &bc->devs[bc->n];
	if (*dir)
		snprintf(d->path, sizeof(d->path), "%s/%s", dir, name);
	else
		snprintf(d->path, sizeof(d->path), "%s", name);
	d->cls = cls;
	g = malloc(sizeof(*g));
	if (!g)
		return;
	*g = (struct get_ctx){w, bc->n++, bc->gen};
	args = json_pack("{s:s, s:s}", "path", d->path, "property", "bootindex");
	bc->outstanding++;
	if (power_qmp_command(w->power, "qom-get", args, bootindex_done, g) < 0) {
		bc->outstanding--;
		free(g);
	}
}

/* The config's boot-devices lists (msg_config) name devices by QOM id
 * (under /machine/peripheral) or by absolute path. */
static bool listed(const struct msg_config *c, int k, const char *path)
{
	for (size_t j = 0; j < c->n_boot_devs[k]; j++) {
		const char *ref = c->boot_devs[k][j];
		if (ref[0] == '/' ? strcmp(ref, path) == 0
				  : strncmp(path, "/machine/peripheral/", 20) == 0 &&
					    strcmp(path + 20, ref) == 0)
			return true;
	}
	return false;
}

/* Override classes first; a class with a list takes only what it lists. */
static enum boot_target class_for(const struct msg_config *c, const char *path,
				  enum boot_target by_type)
{
	static const enum boot_target cls[3] = {BOOT_PXE, BOOT_DISK, BOOT_CD};

	for (int k = 0; k < 3; k++)
		if (listed(c, k, path))
			return cls[k];
	for (int k = 0; k < 3; k++)
		if (by_type == cls[k] && c->n_boot_devs[k])
			return BOOT_NONE; /* kept, as "another device" */
	return by_type;
}

static bool known(const struct bootctl *bc, const char *path)
{
	for (size_t i = 0; i < bc->n; i++)
		if (strcmp(bc->devs[i].path, path) == 0)
			return true;
	return false;
}

/* Absolute paths in the lists that are not under the peripheral dirs. */
static void add_listed_paths(struct worker_ctx *w)
{
	static const enum boot_target cls[3] = {BOOT_PXE, BOOT_DISK, BOOT_CD};

	for (int k = 0; k < 3; k++)
		for (size_t j = 0; j < w->cfg.n_boot_devs[k]; j++) {
			const char *ref = w->cfg.boot_devs[k][j];
			if (ref[0] == '/' && !known(bc_of(w), ref))
				add_device(w, "", ref, cls[k]);
		}
}

/* qom-list answer: [{"name": N, "type": "child<TYPE>"}, ...] */
static void list_done(void *arg, json_t *ret, const char *error)
{
	struct get_ctx *g = arg;
	struct worker_ctx *w = g->w;
	const char *dir = g->idx ? "/machine/peripheral-anon" : "/machine/peripheral";
	json_t *e;
	size_t i;

	if (g->gen != bc_of(w)->gen) {
		free(g);
		return;
	}
	if (!error && json_is_array(ret))
		json_array_foreach(ret, i, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			const char *type = json_string_value(json_object_get(e, "type"));
			char t[96], path[200];
			enum boot_target by_type;
			if (!name || !type || sscanf(type, "child<%95[^>]>", t) != 1)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			by_type = boot_classify(t);
			if (by_type != BOOT_NONE || class_for(&w->cfg, path, BOOT_NONE) != BOOT_NONE)
				add_device(w, dir, name, class_for(&w->cfg, path, by_type));
		}
	if (g->idx == 1)
		add_listed_paths(w); /* both lists are in by now (QMP answers in order) */
	free(g);
	/* the order in bc->devs follows QOM's listing: stable across runs */
	discovery_step_done(w);
}

static void list_dir(struct worker_ctx *w, int anon)
{
	struct bootctl *bc = bc_of(w);
	struct get_ctx *g = malloc(sizeof(*g));
	json_t *args;

	if (!g)
		return;
	*g = (struct get_ctx){w, (size_t)anon, bc->gen};
	args = json_pack("{s:s}", "path", anon ? "/machine/peripheral-anon" : "/machine/peripheral");
	bc->outstanding++;
	if (power_qmp_command(w->power, "qom-list", args, list_done, g) < 0) {
		bc->outstanding--;
		free(g);
	}
}

void boot_qmp_connected(struct worker_ctx *w)
{
	struct bootctl *bc = bc_of(w);

	/* A new connection may be a new QEMU: discover again. */
	bc->gen++;
	bc->n = 0;
	bc->discovered = false;
	bc->applied_valid = false; /* bc->known stays: the originals */
	bc->outstanding = 1; /* held until both lists are sent */
	list_dir(w, 0);
	list_dir(w, 1);
	discovery_step_done(w);
}

/* A reset uses a "once" override, but the normal order is only put back
 * when resets have stopped for ONCE_SETTLE_MS: QEMU's system_reset is
 * followed within ~100 ms by one or more guest resets (SeaBIOS's "hard
 * reboot"), each of which takes a new snapshot of the boot order for the
 * firmware (fw_cfg "bootorder").  Undoing the override at the first RESET
 * event raced with those, and the firmware then booted the normal order. */
#define ONCE_SETTLE_MS 2000


static void once_used(uv_timer_t *t)
{
	struct worker_ctx *w = t->data;
	struct boot_state *b = &w->boot;

	/* an override written since that reset is for the next boot */
	if (b->generation != bc_of(w)->once_gen || b->target == BOOT_NONE || b->persistent)
		return;
	log_info("boot override %s used by this reset; back to the normal order",
		 boot_target_name(b->target));
	b->target = BOOT_NONE;
	b->raw_flags1 &= (uint8_t)~0x80; /* IPMI: boot flags no longer valid */
	b->generation++;
	boot_apply(w);
}

void boot_reset_observed(struct worker_ctx *w)
{
	struct boot_state *b = &w->boot;
	struct bootctl *bc = bc_of(w);

	if (b->target == BOOT_NONE || b->persistent)
		return;
	if (!bc->once_timer_ready) {
		uv_timer_init(w->loop, &bc->once_timer);
		bc->once_timer_ready = true;
	}
	bc->once_timer.data = w;
	bc->once_gen = b->generation;
	uv_timer_start(&bc->once_timer, once_used, ONCE_SETTLE_MS, 0);
}
