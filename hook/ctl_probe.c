// SPDX-License-Identifier: GPL-2.0-only
/*
 * `fuseboxctl probe`: which kernel features fusebox relies on work here.
 * One `name: value` line each; the value starts with yes, no, off or unknown,
 * then says why in parentheses. Every answer comes from trying the feature or
 * from what the running kernel exposes (BTF, sysfs, securityfs), never from
 * the kernel version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "ctl.h"
#include "lsm_probe.h"

#define MOUNTINFO_PATH "/proc/self/mountinfo"
#define LSM_LIST_PATH "/sys/kernel/security/lsm"
#define FUSE_URING_PARAM "/sys/module/fuse/parameters/enable_uring"

struct cgroup_mounts {
	char *cgroup2; /* first cgroup2 mount point, NULL if none */
	bool v1;       /* some cgroup v1 hierarchy is mounted too */
};

static void cgroup_mounts_done(struct cgroup_mounts *m)
{
	free(m->cgroup2);
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static int find_cgroup_mounts(struct cgroup_mounts *m)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	m->cgroup2 = NULL;
	m->v1 = false;
	f = fopen(MOUNTINFO_PATH, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *sep, *fstype, *mnt, *save = NULL;
		int i;

		/* id parent major:minor root mountpoint options... - fstype source ... */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		if (!fstype)
			continue;
		if (streq(fstype, "cgroup")) {
			m->v1 = true;
			continue;
		}
		if (!streq(fstype, "cgroup2") || m->cgroup2)
			continue;
		save = NULL;
		mnt = strtok_r(line, " ", &save);
		for (i = 0; mnt && i < 4; i++)
			mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		unescape_octal(mnt);
		m->cgroup2 = strdup(mnt);
		if (!m->cgroup2)
			return -ENOMEM;
	}
	return 0;
}

static void print_lsm_result(const char *name, int r, const struct fb_lsm_probe *why)
{
	if (r > 0) {
		printf("%s: yes\n", name);
	} else if (r == 0 && why->stage && streq(why->stage, "lsm-list")) {
		printf("%s: no (bpf is not in %s; boot with lsm=...,bpf)\n", name, LSM_LIST_PATH);
	} else if (r == 0 && why->stage && streq(why->stage, "run")) {
		printf("%s: no (attached, but never ran: bpf is not an active LSM)\n", name);
	} else if (r == 0) {
		printf("%s: no (%s: %s%s)\n", name, why->stage ? why->stage : "?",
		       strerror(why->err), geteuid() != 0 ? "; not running as root" : "");
	} else {
		printf("%s: unknown (%s: %s)\n", name, why->stage ? why->stage : "?", strerror(-r));
	}
}

static int probe_lsm_cgroup(const struct cgroup_mounts *m)
{
	_cleanup_close_ int fd = -1;
	struct fb_lsm_probe why;
	int r;

	if (m->cgroup2)
		fd = open(m->cgroup2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fb_probe_bpf_lsm_cgroup_why(fd, &why);
	if (r > 0 && fd < 0)
		printf("bpf-lsm-cgroup: yes (loaded; not attached: no cgroup2 mount)\n");
	else
		print_lsm_result("bpf-lsm-cgroup", r, &why);
	return r;
}

static void print_cgroup2(const struct cgroup_mounts *m, int r)
{
	if (r < 0)
		printf("cgroup2: unknown (%s: %s)\n", MOUNTINFO_PATH, strerror(-r));
	else if (!m->cgroup2)
		printf("cgroup2: no (not mounted)\n");
	else
		printf("cgroup2: %s (%s)\n", m->cgroup2, m->v1 ? "hybrid" : "unified");
}

static bool fuse_registered(void)
{
	_cleanup_free_ char *fs = NULL;
	char *line, *save = NULL;

	if (read_full_file(AT_FDCWD, "/proc/filesystems", 65536, &fs) < 0)
		return false;
	for (line = strtok_r(fs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name = strrchr(line, '\t');

		if (streq(name ? name + 1 : line, "fuse"))
			return true;
	}
	return false;
}

static void print_fuse(void)
{
	struct stat st;

	if (fuse_registered())
		printf("fuse: yes\n");
	else if (stat("/dev/fuse", &st) == 0 && S_ISCHR(st.st_mode))
		printf("fuse: unknown (module not loaded; opening /dev/fuse loads it)\n");
	else
		printf("fuse: no (not in /proc/filesystems, no /dev/fuse)\n");
}

static bool btf_has_func(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}

/*
 * CONFIG_FUSE_PASSTHROUGH builds fuse_passthrough_open(); the kernel's BTF
 * lists it when it exists (in vmlinux, or in the fuse module's BTF).
 */
static void print_fuse_passthrough(void)
{
	static const char func[] = "fuse_passthrough_open";
	struct btf *vmlinux, *mod = NULL;
	struct stat st;
	bool builtin;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		printf("fuse-passthrough: unknown (no kernel BTF)\n");
		return;
	}
	if (btf_has_func(vmlinux, func)) {
		printf("fuse-passthrough: yes\n");
		goto out;
	}
	if (stat("/sys/kernel/btf/fuse", &st) == 0) {
		mod = btf__load_module_btf("fuse", vmlinux);
		if (!mod)
			printf("fuse-passthrough: unknown (fuse module BTF unreadable)\n");
		else if (btf_has_func(mod, func))
			printf("fuse-passthrough: yes\n");
		else
			printf("fuse-passthrough: no (fuse module BTF has no %s)\n", func);
		goto out;
	}
	/* Only loadable modules have initstate in sysfs. */
	builtin = fuse_registered() && stat("/sys/module/fuse/initstate", &st) < 0;
	if (builtin)
		printf("fuse-passthrough: no (kernel BTF has no %s)\n", func);
	else
		printf("fuse-passthrough: unknown (fuse module not loaded or without BTF)\n");
out:
	btf__free(mod);
	btf__free(vmlinux);
}

static void print_fuse_uring(void)
{
	_cleanup_free_ char *val = NULL;
	ssize_t n;

	n = read_full_file(AT_FDCWD, FUSE_URING_PARAM, 64, &val);
	if (n == -ENOENT)
		printf("fuse-io-uring: no (no %s)\n", FUSE_URING_PARAM);
	else if (n < 0)
		printf("fuse-io-uring: unknown (%s: %s)\n", FUSE_URING_PARAM, strerror((int)-n));
	else if (val[0] == 'Y' || val[0] == '1')
		printf("fuse-io-uring: yes\n");
	else
		printf("fuse-io-uring: off (write 1 to %s)\n", FUSE_URING_PARAM);
}

static void print_lsm_list(void)
{
	_cleanup_free_ char *list = NULL;
	ssize_t n;

	n = read_full_file(AT_FDCWD, LSM_LIST_PATH, 4096, &list);
	if (n < 0) {
		printf("lsm: unknown (%s: %s; is securityfs mounted?)\n", LSM_LIST_PATH,
		       strerror((int)-n));
		return;
	}
	list[strcspn(list, "\n")] = '\0';
	printf("lsm: %s\n", list);
}

int ctl_probe(int argc, char **argv)
{
	_cleanup_(cgroup_mounts_done) struct cgroup_mounts cg = {};
	struct fb_lsm_probe why;
	struct utsname u;
	struct stat st;
	int r, cgr, failed = 0;

	if (argc > 1) {
		fprintf(stderr, "fuseboxctl probe: takes no arguments (got '%s')\n", argv[1]);
		return 2;
	}
	/* The BTF lookups below would print libbpf warnings on kernels without BTF. */
	if (!secure_getenv("FUSEBOX_LIBBPF_DEBUG"))
		libbpf_set_print(NULL);

	if (uname(&u) == 0)
		printf("kernel: %s\n", u.release);
	print_lsm_list();

	r = fb_probe_bpf_lsm_why(&why);
	print_lsm_result("bpf-lsm", r, &why);
	failed |= r < 0;

	cgr = find_cgroup_mounts(&cg);
	failed |= probe_lsm_cgroup(&cg) < 0;

	printf("btf: %s\n", stat("/sys/kernel/btf/vmlinux", &st) == 0 ? "yes" : "no");
	print_cgroup2(&cg, cgr);
	print_fuse();
	print_fuse_passthrough();
	print_fuse_uring();
	fflush(stdout);
	return failed ? 1 : 0;
}
