/* The node's boot override state (worker/boot.h). */
#include "boot.h"

const char *boot_target_name(enum boot_target t)
{
	switch (t) {
	case BOOT_NONE: return "none";
	case BOOT_PXE: return "pxe";
	case BOOT_DISK: return "disk";
	case BOOT_CD: return "cd";
	case BOOT_BIOS: return "bios";
	case BOOT_TARGET_COUNT: break;
	}
	return "?";
}
