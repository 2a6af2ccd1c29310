/* vbmc-supervisor: the command table.  `run` is the daemon; the others are
 * the CLI (DESIGN.md "Command line"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor.h"
#include "vbmc-build.h"

struct args {
	const char *config;
	int verbose;
	bool json;
	int argc; /* positional arguments after the command */
	char **argv;
};

static int run_run(struct args *a)
{
	if (a->argc)
		return -1;
	return cmd_run(a->config, a->verbose);
}

static int run_check(struct args *a)
{
	if (a->argc)
		return -1;
	return cmd_check(a->config);
}

static int run_status(struct args *a)
{
	if (a->argc > 1)
		return -1;
	return cmd_status(a->config, a->argc ? a->argv[0] : NULL, a->json);
}

static int run_power(struct args *a)
{
	if (a->argc != 2)
		return -1;
	return cmd_power(a->config, a->argv[0], a->argv[1]);
}

static const struct command {
	const char *name;
	const char *usage;
	int (*run)(struct args *a);
} commands[] = {
	{"run", "run [-c FILE] [-v]", run_run},
	{"check", "check [-c FILE]", run_check},
	{"status", "status [-c FILE] [--json] [NODE]", run_status},
	{"power", "power [-c FILE] NODE on|off|soft|reset|cycle|nmi", run_power},
};

static void usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  vbmc-supervisor %s\n", commands[i].usage);
	fprintf(f, "  vbmc-supervisor --version\n\nFILE defaults to %s.\n", CONFIG_DEFAULT_PATH);
}

static int parse_options(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+c:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'j': a->json = true; break;
		case 'v': a->verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {.config = CONFIG_DEFAULT_PATH};
	const struct command *cmd = NULL;
	int r;

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("vbmc-supervisor %s\n", VBMC_VERSION);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "vbmc-supervisor: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	/* options may follow the command: `status -c FILE --json NODE` */
	if (parse_options(argc - 1, argv + 1, &a) < 0) {
		fprintf(stderr, "usage: vbmc-supervisor %s\n", cmd->usage);
		return 2;
	}
	log_init("vbmc-supervisor", a.verbose);
	r = cmd->run(&a);
	log_flush_final(); /* lines journald had no room for yet */
	if (r < 0) {
		fprintf(stderr, "usage: vbmc-supervisor %s\n", cmd->usage);
		return 2;
	}
	return r;
}
