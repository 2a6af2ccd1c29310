/* worker/boot_saved.c: which bootindexes a new worker (or a new QMP
 * connection) takes as the VM's own, given the saved state and what QEMU
 * holds now. */
#include <string.h>

#include "tap.h"
#include "worker/worker.h"

static struct bootctl bc;

static void saved(const char *path, int orig, int current)
{
	struct msg_boot_dev *k = &bc.known[bc.n_known++];

	memset(k, 0, sizeof(*k));
	strcpy(k->path, path);
	k->orig = orig;
	k->current = current;
}

/* Discovery found path holding v (orig and cur both v until adopted). */
static void found(const char *path, int v)
{
	struct boot_dev *d = &bc.devs[bc.n++];

	memset(d, 0, sizeof(*d));
	strcpy(d->path, path);
	d->orig = d->cur = v;
}

static void reset(void)
{
	memset(&bc, 0, sizeof(bc));
}

/* QEMU still holds what vbmc set (or a reordering cut short): the saved
 * originals count, and QEMU's values stay the current ones. */
static void test_moved_by_us(void)
{
	reset();
	saved("/machine/peripheral/net0", 2, 1);
	saved("/machine/peripheral/disk0", 1, 101);
	saved("/machine/peripheral/cd0", -1, -1);
	saved("/machine/peripheral/nvme0", 3, 103);
	found("/machine/peripheral/net0", 1);                        /* last set */
	found("/machine/peripheral/disk0", BOOT_TEMP_BASE + 1);      /* mid-reorder */
	found("/machine/peripheral/cd0", -1);
	found("/machine/peripheral/nvme0", 3);                       /* original */
	boot_adopt_saved(&bc);
	CHECK(bc.devs[0].orig == 2 && bc.devs[0].cur == 1);
	CHECK(bc.devs[1].orig == 1 && bc.devs[1].cur == BOOT_TEMP_BASE + 1);
	CHECK(bc.devs[2].orig == -1 && bc.devs[2].cur == -1);
	CHECK(bc.devs[3].orig == 3 && bc.devs[3].cur == 3);
}

/* QEMU started again with other devices or bootindexes: what it holds is
 * its own; a device without a bootindex property is left alone. */
static void test_other_qemu(void)
{
	reset();
	saved("/machine/peripheral/net0", 2, 1);
	saved("/machine/peripheral/disk0", 1, 101);
	saved("/machine/peripheral/gone0", 4, 4);
	found("/machine/peripheral/net0", 5);
	found("/machine/peripheral/disk0", 101);
	found("/machine/peripheral/new0", 7);
	found("/machine/peripheral-anon/device[0]", -2);
	boot_adopt_saved(&bc);
	CHECK(bc.devs[0].orig == 5);
	CHECK(bc.devs[1].orig == 1); /* still as vbmc left it */
	CHECK(bc.devs[2].orig == 7);
	CHECK(bc.devs[3].orig == -2);
}

/* Nothing saved (first worker of a node): discovery as it was. */
static void test_nothing_saved(void)
{
	reset();
	found("/machine/peripheral/net0", 1);
	found("/machine/peripheral/disk0", 101);
	boot_adopt_saved(&bc);
	CHECK(bc.devs[0].orig == 1 && bc.devs[1].orig == 101);
}

int main(void)
{
	test_moved_by_us();
	test_other_qemu();
	test_nothing_saved();
	return test_done();
}
