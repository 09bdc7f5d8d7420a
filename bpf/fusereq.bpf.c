// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counts FUSE requests by opcode, optionally for one connection only, from
 * the kernel's fuse_request_send / fuse_request_end tracepoints (tp_btf:
 * plain raw tracepoints, no trampoline, so it loads where fentry is refused).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fusereq.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. The kernel encoding: major << 20 | minor. */
const volatile bool filter_dev = false;
const volatile __u32 target_dev = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FUSEREQ_OP_MAX);
	__type(key, __u32);
	__type(value, struct fusereq_stat);
} stats SEC(".maps");

/* Send time of requests in flight, keyed by the struct fuse_req address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FUSEREQ_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, __u64);
} inflight SEC(".maps");

static __always_inline bool wanted(const struct fuse_req *req)
{
	if (!filter_dev)
		return true;
	return BPF_CORE_READ(req, fm, sb, s_dev) == target_dev;
}

static __always_inline struct fusereq_stat *op_slot(const struct fuse_req *req)
{
	__u32 op = BPF_CORE_READ(req, in.h.opcode);

	if (op >= FUSEREQ_OP_MAX)
		op = 0;
	return bpf_map_lookup_elem(&stats, &op);
}

SEC("tp_btf/fuse_request_send")
int BPF_PROG(fusereq_send, const struct fuse_req *req)
{
	struct fusereq_stat *st;
	__u64 key = (__u64)req;
	__u64 now;

	if (!wanted(req))
		return 0;
	st = op_slot(req);
	if (!st)
		return 0;
	st->sent++;
	now = bpf_ktime_get_ns();
	/* When the map is full this request just goes untimed. */
	bpf_map_update_elem(&inflight, &key, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/fuse_request_end")
int BPF_PROG(fusereq_end, const struct fuse_req *req)
{
	struct fusereq_stat *st;
	__u64 key = (__u64)req;
	__u64 *sent_at;

	if (!wanted(req))
		return 0;
	st = op_slot(req);
	if (!st)
		return 0;
	st->ended++;
	if (BPF_CORE_READ(req, out.h.error) != 0)
		st->errors++;
	sent_at = bpf_map_lookup_elem(&inflight, &key);
	if (sent_at) {
		st->lat_ns += bpf_ktime_get_ns() - *sent_at;
		st->timed++;
		bpf_map_delete_elem(&inflight, &key);
	}
	return 0;
}
