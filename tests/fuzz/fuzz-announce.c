/* Fuzz the announce path: bytes from a guest go through line assembly and
 * the address rules, exactly as supervisor/announce.c feeds them. */
#include <stddef.h>
#include <stdint.h>

#include "supervisor/supervisor.h"

static struct net_cidr nets[2];
static int ready;

static void on_line(void *arg, const char *line, size_t len, bool too_long)
{
	struct net_addr a;
	const char *why;

	(void)arg;
	if (!too_long)
		addr_check_line(line, len, nets, 2, &a, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb = {0};
	struct net_addr a;
	const char *why;

	if (!ready) {
		net_parse_cidr("10.0.0.0/8", &nets[0]);
		net_parse_cidr("fd00::/8", &nets[1]);
		ready = 1;
	}
	linebuf_feed(&lb, (const char *)data, size, on_line, NULL);
	addr_check_line((const char *)data, size, nets, 2, &a, &why);
	return 0;
}
