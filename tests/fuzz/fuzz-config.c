/* libFuzzer target for config_parse: the YAML loader, the schema walk and
 * the error text.  Password files named by the input usually do not exist;
 * that path is exercised too.  Whatever is accepted must print as YAML
 * that parses back to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

#define NAME "/tmp/fuzz.yml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print_config(const struct config *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	config_print(c, f);
	fclose(f);
	return text;
}

static void round_trip(const struct config *c)
{
	struct config *c2 = NULL;
	char *errs = NULL, *again;
	size_t len, len2;
	char *text = print_config(c, &len);

	if (config_parse(NAME, text, len, &c2, &errs) != 0) {
		fprintf(stderr, "printed config does not parse:\n%s---\n%s", text, errs);
		abort();
	}
	again = print_config(c2, &len2);
	if (len != len2 || memcmp(text, again, len) != 0)
		abort();
	free(again);
	free(text);
	config_free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char *errs = NULL;
	int r = config_parse(NAME, (const char *)data, size, &c, &errs);

	/* The contract: a config or an error text, never both or neither. */
	if ((r == 0) != (c != NULL) || (r == 0) == (errs != NULL))
		abort();
	if (c)
		round_trip(c);
	config_free(c);
	free(errs);
	return 0;
}
