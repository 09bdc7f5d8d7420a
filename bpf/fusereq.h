/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * FUSE request counter: what bpf/fusereq.bpf.c and its loader bpf/fusereq.c
 * share, plus the loader's API (user space only).
 *
 * The kernel side counts every request that passes the fuse_request_send
 * tracepoint, by opcode, and on fuse_request_end the replies, the error
 * replies and the time between the two. FORGET, BATCH_FORGET and INTERRUPT
 * are queued to the daemon without that tracepoint and are never counted.
 */
#ifndef FUSEBOX_FUSEREQ_H
#define FUSEBOX_FUSEREQ_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Opcodes 1..FUSEREQ_OP_MAX-1 have their own slot; slot 0 holds any other. */
#define FUSEREQ_OP_MAX 64
/* Requests in flight whose send time is kept for the latency sum. */
#define FUSEREQ_INFLIGHT_MAX 4096

/* One slot per opcode, summed over CPUs by the loader. */
struct fusereq_stat {
	__u64 sent;   /* requests sent to the daemon */
	__u64 ended;  /* requests completed (answered or aborted) */
	__u64 errors; /* completed with a nonzero error (ENOENT, ENOSYS, ...) */
	__u64 lat_ns; /* sum of send-to-end times of the timed ones */
	__u64 timed;  /* completed requests whose time is in lat_ns */
};

#ifndef __bpf__
#include <stddef.h>
#include <sys/types.h>

struct fusereq;

/* Open the BPF object (not loaded yet). */
int fusereq_open(struct fusereq **out);
/*
 * Before load: count only the FUSE connection whose files have this st_dev
 * (as from stat(2) on its mount point). Without it every connection counts.
 */
int fusereq_set_dev(struct fusereq *fr, dev_t st_dev);
int fusereq_load(struct fusereq *fr);
int fusereq_attach(struct fusereq *fr);
/* Sum the per-CPU counters into out[FUSEREQ_OP_MAX], indexed by opcode. */
int fusereq_read(struct fusereq *fr, struct fusereq_stat *out, size_t n);
/* Zero all counters of a loaded counter, attached or not. */
int fusereq_reset(struct fusereq *fr);
void fusereq_destroy(struct fusereq *fr);
static inline void fusereq_destroyp(struct fusereq **fr)
{
	fusereq_destroy(*fr);
}

/* "LOOKUP", "READ", ... for an opcode slot; NULL when unnamed. */
const char *fusereq_op_name(unsigned int op);
#endif

#endif
