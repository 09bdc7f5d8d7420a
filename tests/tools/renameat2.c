// SPDX-License-Identifier: GPL-2.0-only
/*
 * renameat2 [--noreplace | --exchange] OLD NEW: rename(2) with flags, for
 * tests (coreutils' mv has no RENAME_EXCHANGE here). Prints the error text
 * and exits 1 on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int main(int argc, char **argv)
{
	unsigned int flags = 0;
	int i = 1;

	if (argc == 4 && streq(argv[1], "--noreplace"))
		flags = RENAME_NOREPLACE, i = 2;
	else if (argc == 4 && streq(argv[1], "--exchange"))
		flags = RENAME_EXCHANGE, i = 2;
	else if (argc != 3) {
		fprintf(stderr, "usage: renameat2 [--noreplace | --exchange] OLD NEW\n");
		return 2;
	}
	if (renameat2(AT_FDCWD, argv[i], AT_FDCWD, argv[i + 1], flags) < 0) {
		fprintf(stderr, "renameat2: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
