// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loader of the FUSE request counter (bpf/fusereq.bpf.c): a thin API over the
 * generated skeleton. Library code: returns negative errno, does not log;
 * libbpf's own messages go to stderr only when FUSEBOX_BPF_DEBUG is set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fusereq.h"
#include "fusereq.skel.h"
#include "util.h"

struct fusereq {
	struct fusereq_bpf *skel;
	int ncpus;
	bool loaded;
};

/* Wire opcodes from the FUSE protocol (include/uapi/linux/fuse.h); a stable ABI. */
/* clang-format off */
static const char *const op_names[FUSEREQ_OP_MAX] = {
	[1] = "LOOKUP",
	[2] = "FORGET",
	[3] = "GETATTR",
	[4] = "SETATTR",
	[5] = "READLINK",
	[6] = "SYMLINK",
	[8] = "MKNOD",
	[9] = "MKDIR",
	[10] = "UNLINK",
	[11] = "RMDIR",
	[12] = "RENAME",
	[13] = "LINK",
	[14] = "OPEN",
	[15] = "READ",
	[16] = "WRITE",
	[17] = "STATFS",
	[18] = "RELEASE",
	[20] = "FSYNC",
	[21] = "SETXATTR",
	[22] = "GETXATTR",
	[23] = "LISTXATTR",
	[24] = "REMOVEXATTR",
	[25] = "FLUSH",
	[26] = "INIT",
	[27] = "OPENDIR",
	[28] = "READDIR",
	[29] = "RELEASEDIR",
	[30] = "FSYNCDIR",
	[31] = "GETLK",
	[32] = "SETLK",
	[33] = "SETLKW",
	[34] = "ACCESS",
	[35] = "CREATE",
	[36] = "INTERRUPT",
	[37] = "BMAP",
	[38] = "DESTROY",
	[39] = "IOCTL",
	[40] = "POLL",
	[41] = "NOTIFY_REPLY",
	[42] = "BATCH_FORGET",
	[43] = "FALLOCATE",
	[44] = "READDIRPLUS",
	[45] = "RENAME2",
	[46] = "LSEEK",
	[47] = "COPY_FILE_RANGE",
	[48] = "SETUPMAPPING",
	[49] = "REMOVEMAPPING",
	[50] = "SYNCFS",
	[51] = "TMPFILE",
	[52] = "STATX",
	[53] = "COPY_FILE_RANGE_64",
};
/* clang-format on */

const char *fusereq_op_name(unsigned int op)
{
	if (op == 0)
		return "OTHER";
	return op < FUSEREQ_OP_MAX ? op_names[op] : NULL;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

int fusereq_open(struct fusereq **out)
{
	_cleanup_free_ struct fusereq *fr = NULL;
	int ncpus;

	libbpf_set_print(secure_getenv("FUSEBOX_BPF_DEBUG") ? print_libbpf : NULL);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	fr = calloc(1, sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	fr->ncpus = ncpus;
	fr->skel = fusereq_bpf__open();
	if (!fr->skel)
		return errno ? -errno : -EINVAL;
	*out = TAKE_PTR(fr);
	return 0;
}

int fusereq_set_dev(struct fusereq *fr, dev_t st_dev)
{
	if (fr->loaded)
		return -EBUSY;
	/* The kernel's dev_t (MKDEV) is major << 20 | minor, not glibc's st_dev. */
	if (major(st_dev) >= (1U << 12) || minor(st_dev) >= (1U << 20))
		return -EOVERFLOW;
	fr->skel->rodata->target_dev = (__u32)(major(st_dev) << 20 | minor(st_dev));
	fr->skel->rodata->filter_dev = true;
	return 0;
}

/* Kernels before 6.x have no FUSE tracepoints: say so rather than "not found". */
static bool kernel_has_fuse_tracepoints(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id;

	if (!vmlinux)
		return true; /* can't tell: keep the load error */
	id = btf__find_by_name_kind(vmlinux, "btf_trace_fuse_request_send", BTF_KIND_TYPEDEF);
	btf__free(vmlinux);
	return id > 0;
}

int fusereq_load(struct fusereq *fr)
{
	int r;

	if (fr->loaded)
		return -EALREADY;
	r = fusereq_bpf__load(fr->skel);
	if (r < 0)
		return kernel_has_fuse_tracepoints() ? r : -EOPNOTSUPP;
	fr->loaded = true;
	return 0;
}

int fusereq_attach(struct fusereq *fr)
{
	if (!fr->loaded)
		return -EINVAL;
	return fusereq_bpf__attach(fr->skel);
}

int fusereq_read(struct fusereq *fr, struct fusereq_stat *out, size_t n)
{
	_cleanup_free_ struct fusereq_stat *percpu = NULL;
	struct fusereq_stat sum[FUSEREQ_OP_MAX] = {};
	int fd;

	if (!fr->loaded)
		return -EINVAL;
	if (n < FUSEREQ_OP_MAX)
		return -ENOBUFS;
	percpu = calloc(fr->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	fd = bpf_map__fd(fr->skel->maps.stats);
	for (__u32 op = 0; op < FUSEREQ_OP_MAX; op++) {
		if (bpf_map_lookup_elem(fd, &op, percpu) < 0)
			return -errno;
		for (int cpu = 0; cpu < fr->ncpus; cpu++) {
			sum[op].sent += percpu[cpu].sent;
			sum[op].ended += percpu[cpu].ended;
			sum[op].errors += percpu[cpu].errors;
			sum[op].lat_ns += percpu[cpu].lat_ns;
			sum[op].timed += percpu[cpu].timed;
		}
	}
	memcpy(out, sum, sizeof(sum));
	return 0;
}

int fusereq_reset(struct fusereq *fr)
{
	_cleanup_free_ struct fusereq_stat *zero = NULL;
	int fd;

	if (!fr->loaded)
		return -EINVAL;
	zero = calloc(fr->ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	fd = bpf_map__fd(fr->skel->maps.stats);
	for (__u32 op = 0; op < FUSEREQ_OP_MAX; op++)
		if (bpf_map_update_elem(fd, &op, zero, BPF_EXIST) < 0)
			return -errno;
	return 0;
}

void fusereq_destroy(struct fusereq *fr)
{
	if (!fr)
		return;
	fusereq_bpf__destroy(fr->skel);
	free(fr);
}
