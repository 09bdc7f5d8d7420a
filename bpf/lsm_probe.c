// SPDX-License-Identifier: GPL-2.0-only
/*
 * Does this kernel run BPF LSM programs? Try it: load the allow-all programs
 * of lsm_probe.bpf.c, attach, open a file, see that the program ran, detach.
 * Library code: no output, negative errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "lsm_probe.h"
#include "lsm_probe.skel.h"

#define LSM_LIST_PATH "/sys/kernel/security/lsm"

/* The kernel's "operation not supported" (include/linux/errno.h), not in libc. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

static int libbpf_print_none(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int libbpf_print_stderr(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

static void lsm_probe_bpf_destroyp(struct lsm_probe_bpf **skel)
{
	lsm_probe_bpf__destroy(*skel);
}

/* 1 if `bpf` is an active LSM, 0 if not, -errno if the list can't be read. */
static int bpf_in_lsm_list(void)
{
	_cleanup_free_ char *list = NULL;
	char *tok, *save = NULL;
	ssize_t n;

	n = read_full_file(AT_FDCWD, LSM_LIST_PATH, 4096, &list);
	if (n < 0)
		return n;
	for (tok = strtok_r(list, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save))
		if (streq(tok, "bpf"))
			return 1;
	return 0;
}

/*
 * Errors by which a kernel says "not here": no BPF LSM or lsm_cgroup support
 * (EINVAL, ENOTSUPP, EOPNOTSUPP), trampolines refused (EPERM, EACCES), no BTF
 * for the hook or no kernel BTF at all (ESRCH, ENOENT).
 */
static bool kernel_refused(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
	case EINVAL:
	case ENOTSUPP:
	case EOPNOTSUPP:
	case ESRCH:
	case ENOENT:
		return true;
	default:
		return false;
	}
}

/* Record where the probe stopped; 0 for a refusal, -errno for anything else. */
static int stop(struct fb_lsm_probe *why, const char *stage, int err)
{
	why->stage = stage;
	why->err = err;
	if (err == 0 || kernel_refused(err))
		return 0;
	return err > 0 ? -err : -EIO;
}

static int try_lsm(bool cgroup, int cgroup_fd, struct fb_lsm_probe *why)
{
	_cleanup_(lsm_probe_bpf_destroyp) struct lsm_probe_bpf *skel = NULL;
	struct bpf_program *prog, *other;
	struct bpf_link *link;
	bool ran;
	int r, fd;

	why->stage = NULL;
	why->err = 0;

	r = bpf_in_lsm_list();
	if (r == 0)
		return stop(why, "lsm-list", 0);
	/* r < 0: securityfs is not mounted here; loading is still a fair test. */

	skel = lsm_probe_bpf__open();
	if (!skel) {
		/* Our own object failed to parse: nothing the kernel said. */
		why->stage = "open";
		why->err = errno;
		return -errno;
	}
	prog = cgroup ? skel->progs.fb_probe_cgroup_file_open : skel->progs.fb_probe_file_open;
	other = cgroup ? skel->progs.fb_probe_file_open : skel->progs.fb_probe_cgroup_file_open;
	bpf_program__set_autoload(other, false);

	r = lsm_probe_bpf__load(skel);
	if (r < 0)
		return stop(why, "load", -r);

	if (cgroup && cgroup_fd < 0)
		return 1;
	link = cgroup ? bpf_program__attach_cgroup(prog, cgroup_fd) : bpf_program__attach_lsm(prog);
	if (!link)
		return stop(why, "attach", errno);
	/*
	 * Any open runs the file_open hook (an lsm_cgroup program on a cgroup2
	 * root covers every process). If the program did not run, the kernel
	 * does not call the bpf LSM: it is not in the active list, even though
	 * securityfs was not there to say so.
	 */
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	ran = __atomic_load_n(&skel->bss->fb_probe_calls, __ATOMIC_RELAXED) > 0;
	bpf_link__destroy(link);
	if (!ran)
		return stop(why, "run", 0);
	return 1;
}

static int probe(bool cgroup, int cgroup_fd, struct fb_lsm_probe *why)
{
	libbpf_print_fn_t old;
	int r;

	old = libbpf_set_print(secure_getenv("FUSEBOX_LIBBPF_DEBUG") ? libbpf_print_stderr
								     : libbpf_print_none);
	r = try_lsm(cgroup, cgroup_fd, why);
	libbpf_set_print(old);
	return r;
}

int fb_probe_bpf_lsm_why(struct fb_lsm_probe *why)
{
	return probe(false, -1, why);
}

int fb_probe_bpf_lsm(void)
{
	struct fb_lsm_probe why;

	return fb_probe_bpf_lsm_why(&why);
}

int fb_probe_bpf_lsm_cgroup_why(int cgroup_fd, struct fb_lsm_probe *why)
{
	return probe(true, cgroup_fd, why);
}
