// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm-deny-open: load deny_open.bpf.c for one cgroup and one file, pin the
 * attachment in bpffs and exit. Removing the pin detaches the policy.
 *   vm-deny-open global|cgroup CGROUP_DIR FILE PIN
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "deny_open.skel.h"

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static void deny_open_bpf_destroyp(struct deny_open_bpf **skel)
{
	deny_open_bpf__destroy(*skel);
}

static void bpf_link_destroyp(struct bpf_link **link)
{
	bpf_link__destroy(*link);
}

int main(int argc, char **argv)
{
	_cleanup_(deny_open_bpf_destroyp) struct deny_open_bpf *skel = NULL;
	_cleanup_(bpf_link_destroyp) struct bpf_link *link = NULL;
	_cleanup_close_ int cgfd = -1;
	struct bpf_program *prog, *other;
	struct stat cg, target;
	bool global;
	int r;

	if (argc != 5 || (!streq(argv[1], "global") && !streq(argv[1], "cgroup"))) {
		fprintf(stderr, "usage: vm-deny-open global|cgroup CGROUP_DIR FILE PIN\n");
		return 2;
	}
	global = streq(argv[1], "global");
	libbpf_set_print(print_libbpf);

	cgfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || fstat(cgfd, &cg) < 0) {
		fprintf(stderr, "vm-deny-open: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (stat(argv[3], &target) < 0) {
		fprintf(stderr, "vm-deny-open: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}

	skel = deny_open_bpf__open();
	if (!skel) {
		fprintf(stderr, "vm-deny-open: open BPF object: %s\n", strerror(errno));
		return 1;
	}
	/* A cgroup2 directory's inode number is its cgroup id. */
	skel->rodata->target_cgid = cg.st_ino;
	skel->rodata->target_ino = target.st_ino;
	skel->rodata->target_dev = major(target.st_dev) << 20 | minor(target.st_dev);
	prog = global ? skel->progs.vm_deny_open : skel->progs.vm_deny_open_cgroup;
	other = global ? skel->progs.vm_deny_open_cgroup : skel->progs.vm_deny_open;
	bpf_program__set_autoload(other, false);
	r = deny_open_bpf__load(skel);
	if (r < 0) {
		fprintf(stderr, "vm-deny-open: load %s program: %s\n", argv[1], strerror(-r));
		return 1;
	}
	link = global ? bpf_program__attach_lsm(prog) : bpf_program__attach_cgroup(prog, cgfd);
	if (!link) {
		fprintf(stderr, "vm-deny-open: attach %s program: %s\n", argv[1], strerror(errno));
		return 1;
	}
	r = bpf_link__pin(link, argv[4]);
	if (r < 0) {
		fprintf(stderr, "vm-deny-open: pin %s: %s\n", argv[4], strerror(-r));
		return 1;
	}
	return 0;
}
