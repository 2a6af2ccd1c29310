/* libFuzzer target for config_parse: the YAML loader, the schema walk and
 * the error text.  Password files named by the input usually do not exist;
 * that path is exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char *errs = NULL;
	int r;

	r = config_parse("/tmp/fuzz.yml", (const char *)data, size, &c, &errs);
	/* The contract: a config or an error text, never both, never neither. */
	if ((r == 0) != (c != NULL) || (r == 0) == (errs != NULL))
		abort();
	if (c) {
		FILE *f = fopen("/dev/null", "w");

		/* Printing must cope with whatever was accepted. */
		if (f) {
			config_print(c, f);
			fclose(f);
		}
	}
	config_free(c);
	free(errs);
	return 0;
}
