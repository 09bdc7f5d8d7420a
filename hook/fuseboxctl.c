// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuseboxctl: the operator's CLI. One subcommand per hook/ctl_NAME.c.
 */
#include <stdio.h>

#include "ctl.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "status", ctl_status, "status [--config FILE] [ID]   containers, mounts, daemons" },
	{ "cleanup", ctl_cleanup,
	  "cleanup [--config FILE] ID    undo what the hook made for ID (as poststop)" },
	{ "policy", ctl_policy,
	  "policy check FILE [--profile-dir DIR] [--profile NAME] | explain FILE PATH RIGHT\n"
	  "                                lint a file-access policy, show how it resolves" },
	{ "audit", ctl_audit,
	  "audit [--config FILE] [--follow] [ID]\n"
	  "                                print the policy's audit events (log_dir/ID.log)" },
	{ "probe", ctl_probe, "probe                         kernel features fusebox uses" },
	{ "reqstat", ctl_reqstat,
	  "reqstat [--mount DIR] [--json] -- CMD [ARGS]\n"
	  "                                count the FUSE requests CMD causes (BPF)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "fuseboxctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
