// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-container file-access policy, enforced by global BPF LSM programs.
 * One program set serves every container on the node: each program finds the
 * container of the current task by cgroup id (fb_policy_cfg), and judges the
 * access by walking from the object up to the container's root, looking each
 * (dev, ino) up in fb_policy_obj. The semantics, the map layout and why it is
 * keyed by inode are at the top of policy.h.
 *
 * Every program receives the verdict of the LSMs before it (ret) and passes a
 * denial on unchanged. A deny is reported through the ring buffer and, in
 * enforce mode, returns -EACCES; in audit mode the access goes ahead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "policy.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel constants that BTF does not carry (include/linux/fs.h, mman.h). */
#define FB_EACCES 13
#define FB_FMODE_READ 0x1
#define FB_FMODE_WRITE 0x2
#define FB_FMODE_EXEC 0x20
#define FB_O_TRUNC 01000
#define FB_PROT_EXEC 0x4
#define FB_ATTR_MODE (1u << 0)
#define FB_ATTR_UID (1u << 1)
#define FB_ATTR_GID (1u << 2)
#define FB_ATTR_SIZE (1u << 3)
#define FB_ATTR_ATIME (1u << 4)
#define FB_ATTR_MTIME (1u << 5)
#define FB_ATTR_ATIME_SET (1u << 7)
#define FB_ATTR_MTIME_SET (1u << 8)
#define FB_ATTR_TIMES (FB_ATTR_ATIME | FB_ATTR_MTIME | FB_ATTR_ATIME_SET | FB_ATTR_MTIME_SET)

/* Loop bounds: levels, plus mount crossings (which are no level). */
#define FB_WALK_STEPS (FB_WALK_MAX + 1 + 16)
/* Mounts of one superblock looked at to find the one a dentry-only hook is in. */
#define FB_SB_SCAN 16
#define FB_CANDS 4

/* Not preallocated: a cfg is about 1 KiB, and most nodes run few containers with a policy. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FB_POLICY_MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct fb_policy_cfg);
} fb_policy_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FB_POLICY_MAX_OBJS);
	__type(key, struct fb_obj_key);
	__type(value, struct fb_obj_val);
} fb_policy_obj SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fb_policy_levels);
} fb_policy_levels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FB_AUDIT_RINGBUF_SIZE);
} fb_audit_events SEC(".maps");

/*
 * Two layouts of "the mounts of a superblock": a list_head up to 6.15, a
 * singly linked list of struct mount from 6.16. CO-RE picks one at load time.
 */
struct super_block___lh {
	struct list_head s_mounts;
} __attribute__((preserve_access_index));

struct mount___lh {
	struct list_head mnt_instance;
} __attribute__((preserve_access_index));

struct super_block___next {
	struct mount *s_mounts;
} __attribute__((preserve_access_index));

struct mount___next {
	struct mount *mnt_next_for_sb;
} __attribute__((preserve_access_index));

/* ---- finding the container ---------------------------------------------------- */

/*
 * The highest set bit of x (not 0), without branches: a branch per step
 * would make the verifier walk every combination at every level of the loop
 * below, which took minutes to load.
 */
static __always_inline int top_bit(__u64 x)
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	/* Bits set in x, less one. */
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (int)((x * 0x0101010101010101ull) >> 56) - 1;
}

/*
 * The policy of the task's container, or NULL: not ours. Runs for every task
 * on the node at every hook, so it looks only at the levels in use and looks
 * a cgroup up only when its bit says a container may have that id.
 */
static __always_inline struct fb_policy_cfg *container_cfg(__u64 *cgid)
{
	__u32 zero = 0;
	struct fb_policy_levels *lv = bpf_map_lookup_elem(&fb_policy_levels, &zero);
	__u64 mask;

	if (!lv)
		return NULL;
	mask = lv->levels;
	/* Nearest first: a nested cgroup of the container is still the container. */
	for (int i = 0; i < FB_CGROUP_LEVEL_MAX && mask; i++) {
		int l = top_bit(mask);
		struct fb_policy_cfg *cfg;
		__u32 bit;
		__u64 id;

		mask &= ~(1ull << l);
		/* 0 for a level deeper than the task's cgroup. */
		id = bpf_get_current_ancestor_cgroup_id(l);
		if (!id)
			continue;
		bit = fb_cgroup_bit(id);
		if (!(lv->cgroups[bit / 64] & (1ull << (bit % 64))))
			continue;
		cfg = bpf_map_lookup_elem(&fb_policy_cfg, &id);
		if (cfg) {
			*cgid = id;
			return cfg;
		}
	}
	return NULL;
}

/* ---- the walk ------------------------------------------------------------------ */

/* What a judgement has decided so far. */
struct decision {
	__u32 want;   /* rights not decided yet */
	__u32 denied; /* rights decided: deny */
	__u32 by;     /* how the first denied right was decided */
	__u32 rule;   /* and by which rule */
};

/*
 * State of one slow walk (see judge_at). Kernel pointers are kept as
 * numbers: they are only compared and read through BPF_CORE_READ.
 */
struct walk {
	__u64 cgid;
	__u64 d;		 /* struct dentry * */
	__u64 m;		 /* struct mount *, 0 while not known */
	__u64 cand_root[FB_CANDS]; /* dentry-only hooks: roots of the superblock's mounts */
	__u64 cand_mnt[FB_CANDS];  /* ... in the task's mount namespace */
	__u64 root_ino;
	__u32 root_dev;
	__u32 dflt;
	struct decision dec;
	__u32 level;
	__u32 looked; /* d was looked at already (by the fast walk) */
	__u32 cands_complete;
	/* Of the mount mnt_of (a cache: read once per mount on the way up). */
	__u64 mnt_of;
	__u64 mnt_root; /* its root dentry */
	__u32 mnt_dev;	/* its superblock's s_dev: the dev of every dentry under it */
};

/* Collect the mounts of d's superblock in the task's mount namespace. */
struct sb_scan {
	__u64 ns;
	__u64 head; /* list_head layout: address of sb->s_mounts */
	__u64 pos;  /* list_head layout: a list_head; else a struct mount * */
	__u64 cand_root[FB_CANDS];
	__u64 cand_mnt[FB_CANDS];
	__u32 found;
	__u32 lh;
	__u32 complete;
};

/*
 * The state of the loops (the walk, the superblock scan, the audit event's
 * name walk) lives in task storage, not on the stack: the verifier tracks
 * stack values exactly and explored every combination of level, rights and
 * counters across the bpf_loop() iterations (over its 1M instruction limit),
 * while values in a map are unknown to it, so each loop body is verified
 * about once. Per task, not per CPU: a task preempted mid-walk would
 * otherwise find its walk overwritten by another task's on the same CPU.
 */
struct scratch {
	struct walk w;	/* the access being judged */
	struct walk nw; /* the audit event's names */
	struct sb_scan s;
	/* Larger than the BPF stack: built here, then copied to the ring buffer. */
	struct fb_audit_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scratch);
} fb_scratch SEC(".maps");

static __always_inline struct scratch *scratch(void)
{
	return bpf_task_storage_get(&fb_scratch, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline void decide(struct decision *dec, __u32 allow, __u32 deny, __u32 by,
				   __u32 rule)
{
	__u32 names = (allow | deny) & dec->want;
	__u32 denies = deny & names;

	if (denies && !dec->denied) {
		dec->by = by;
		dec->rule = rule;
	}
	dec->denied |= denies;
	dec->want &= ~names;
}

static __always_inline void decide_rest(struct decision *dec, __u32 verdict, __u32 by)
{
	if (verdict == FB_DENY)
		decide(dec, 0, dec->want, by, FB_RULE_NONE);
	else
		decide(dec, dec->want, 0, by, FB_RULE_NONE);
}

static __always_inline struct fb_obj_val *obj_lookup(__u64 cgid, __u32 dev, __u64 ino)
{
	struct fb_obj_key k = { .cgroup_id = cgid, .ino = ino, .dev = dev };

	return bpf_map_lookup_elem(&fb_policy_obj, &k);
}

/* Rights (and FB_SLOT_PINNED) that the container's entry for (dev, ino) may name. */
static __always_inline __u32 obj_may_name(const struct fb_policy_cfg *cfg, __u32 dev, __u64 ino)
{
	return cfg->names[fb_obj_slot(dev, ino)];
}

/* Outside the container's tree: judged as an entry of the container's "/". */
static __always_inline void decide_outside(struct walk *w)
{
	struct fb_obj_val *v = obj_lookup(w->cgid, w->root_dev, w->root_ino);

	if (v)
		decide(&w->dec, v->allow, v->deny, FB_AUDIT_BY_RULE, v->rule);
	if (w->dec.want)
		decide_rest(&w->dec, w->dflt, FB_AUDIT_BY_DEFAULT);
}

/* Dentry-only hooks: is d the root of one of the mounts found? */
static __always_inline void match_candidate(struct walk *w)
{
	for (int c = 0; c < FB_CANDS; c++) {
		if (w->cand_root[c] && w->cand_root[c] == w->d) {
			w->m = w->cand_mnt[c];
			return;
		}
	}
}

/* Fill the walk's cache of facts about its current mount w->m (not 0). */
static __always_inline void mount_cache(struct walk *w)
{
	struct mount *m = (struct mount *)w->m;

	if (w->mnt_of == w->m)
		return;
	w->mnt_root = (__u64)BPF_CORE_READ(m, mnt.mnt_root);
	w->mnt_dev = BPF_CORE_READ(m, mnt.mnt_sb, s_dev);
	w->mnt_of = w->m;
}

enum step {
	STEP_ON = 0,	/* moved up: go on */
	STEP_OUTSIDE,	/* above the top of the task's tree: not beneath the container */
	STEP_UNKNOWN,	/* a filesystem root whose mount was not found */
	STEP_TOO_DEEP,	/* more than FB_WALK_MAX levels */
};

/*
 * Step to the next dentry to look at: across a mount root to its mountpoint
 * (same path, no level) or to d_parent (one level, if levels count).
 */
static __always_inline enum step step_up(struct walk *w, bool count_levels)
{
	struct dentry *d = (struct dentry *)w->d;
	__u64 parent;

	if (!w->m)
		match_candidate(w);
	if (w->m) {
		struct mount *m = (struct mount *)w->m;

		mount_cache(w);
		if (w->mnt_root == w->d) {
			__u64 pm = (__u64)BPF_CORE_READ(m, mnt_parent);

			if (!pm || pm == w->m)
				return STEP_OUTSIDE;
			w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
			w->m = pm;
			return STEP_ON;
		}
	}
	parent = (__u64)BPF_CORE_READ(d, d_parent);
	if (!parent || parent == w->d) {
		/* The root of a filesystem, and not of a mount we know of. */
		return !w->m && !w->cands_complete ? STEP_UNKNOWN : STEP_OUTSIDE;
	}
	if (count_levels && ++w->level > FB_WALK_MAX)
		return STEP_TOO_DEEP;
	w->d = parent;
	return STEP_ON;
}

/* What the walk's loop body gets: the task's scratch, found once per walk. */
struct walk_ctx {
	struct scratch *sc;
};

static long walk_step(__u32 i, void *ctx)
{
	struct scratch *sc = ((struct walk_ctx *)ctx)->sc;
	struct walk *w;
	struct dentry *d;
	struct inode *inode;
	enum step r;

	if (!sc)
		return 1;
	w = &sc->w;
	d = (struct dentry *)w->d;
	inode = w->looked ? NULL : BPF_CORE_READ(d, d_inode);
	w->looked = 0;

	if (inode) {
		__u64 ino = BPF_CORE_READ(inode, i_ino);
		__u32 dev;
		struct fb_obj_val *v;

		/* A dentry under a known mount is on that mount's superblock. */
		if (w->m) {
			mount_cache(w);
			dev = w->mnt_dev;
		} else {
			dev = BPF_CORE_READ(inode, i_sb, s_dev);
		}
		v = obj_lookup(w->cgid, dev, ino);

		if (v)
			decide(&w->dec, v->allow, v->deny, FB_AUDIT_BY_RULE, v->rule);
		if (!w->dec.want)
			return 1;
		if (dev == w->root_dev && ino == w->root_ino) {
			decide_rest(&w->dec, w->dflt, FB_AUDIT_BY_DEFAULT);
			return 1;
		}
	}
	r = step_up(w, true);
	if (r == STEP_ON)
		return 0;
	if (r == STEP_OUTSIDE) {
		/*
		 * Code with no path in the container's tree (memfd, shm, a file
		 * from another mount namespace) escapes every exec rule, which
		 * can only name paths: a policy that denies exec anywhere
		 * denies it. (Exec is asked only when it may be denied.)
		 */
		decide(&w->dec, 0, w->dec.want & FB_RIGHT_EXEC, FB_AUDIT_BY_NO_PATH,
		       FB_RULE_NONE);
		decide_outside(w);
	} else
		decide_rest(&w->dec, FB_DENY, FB_AUDIT_BY_WALK_LIMIT);
	return 1;
}

static long sb_scan_step(__u32 i, void *ctx)
{
	struct scratch *sc = scratch();
	struct sb_scan *s;
	__u64 mnt;

	if (!sc)
		return 1;
	s = &sc->s;
	/*
	 * A load-time constant, not s->lh: the verifier must see the other
	 * layout's branch as dead, its CO-RE relocation cannot be resolved.
	 */
	if (bpf_core_field_exists(struct mount___lh, mnt_instance)) {
		if (!s->pos || s->pos == s->head) {
			s->complete = 1;
			return 1;
		}
		mnt = s->pos - bpf_core_field_offset(struct mount___lh, mnt_instance);
		s->pos = (__u64)BPF_CORE_READ((struct mount___lh *)mnt, mnt_instance.next);
	} else {
		if (!s->pos) {
			s->complete = 1;
			return 1;
		}
		mnt = s->pos;
		s->pos = (__u64)BPF_CORE_READ((struct mount___next *)mnt, mnt_next_for_sb);
	}
	if ((__u64)BPF_CORE_READ((struct mount *)mnt, mnt_ns) != s->ns)
		return 0;
	if (s->found >= FB_CANDS)
		return 1; /* more mounts here than we can track: incomplete */
	s->cand_root[s->found & (FB_CANDS - 1)] =
		(__u64)BPF_CORE_READ((struct mount *)mnt, mnt.mnt_root);
	s->cand_mnt[s->found & (FB_CANDS - 1)] = mnt;
	s->found++;
	return 0;
}

/* Fills w's candidates; w is sc->w. */
static __always_inline void find_mounts(struct scratch *sc, struct walk *w, struct dentry *dentry)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct super_block *sb = BPF_CORE_READ(dentry, d_sb);
	struct sb_scan *s = &sc->s;

	__builtin_memset(s, 0, sizeof(*s));
	s->ns = (__u64)BPF_CORE_READ(task, nsproxy, mnt_ns);
	if (bpf_core_field_exists(struct mount___lh, mnt_instance)) {
		s->lh = 1;
		s->head = (__u64)sb + bpf_core_field_offset(struct super_block___lh, s_mounts);
		s->pos = (__u64)BPF_CORE_READ((struct super_block___lh *)sb, s_mounts.next);
	} else {
		s->pos = (__u64)BPF_CORE_READ((struct super_block___next *)sb, s_mounts);
	}
	bpf_loop(FB_SB_SCAN, sb_scan_step, NULL, 0);
	for (int c = 0; c < FB_CANDS; c++) {
		w->cand_root[c] = s->cand_root[c];
		w->cand_mnt[c] = s->cand_mnt[c];
	}
	w->cands_complete = s->complete;
}

/* ---- audit events ---------------------------------------------------------------- */

/* The event's path: names from the object up to the container's root. */
static long name_step(__u32 i, void *ctx)
{
	struct scratch *sc = scratch();
	struct walk *w;
	struct dentry *d;
	struct inode *inode;
	struct fb_audit_event *ev;
	const unsigned char *name;
	struct mount *mnt;
	__u32 n;
	enum step r;

	if (!sc)
		return 1;
	ev = &sc->ev;
	w = &sc->nw;
	d = (struct dentry *)w->d;
	inode = BPF_CORE_READ(d, d_inode);
	if (inode && BPF_CORE_READ(inode, i_ino) == w->root_ino &&
	    BPF_CORE_READ(inode, i_sb, s_dev) == w->root_dev)
		return 1;
	if (!w->m)
		match_candidate(w);
	/*
	 * A mount's root has no name of its own: its mountpoint's comes next.
	 * (The pointer goes through a local: a cast of w->m inside BPF_CORE_READ
	 * would make struct walk itself a CO-RE relocation, which fails to load.)
	 */
	mnt = (struct mount *)w->m;
	if (!mnt || (__u64)BPF_CORE_READ(mnt, mnt.mnt_root) != w->d) {
		n = ev->n_comps;
		if (n >= FB_AUDIT_COMPS) {
			ev->flags |= FB_AUDIT_TRUNCATED;
			return 1;
		}
		name = BPF_CORE_READ(d, d_name.name);
		bpf_probe_read_kernel_str(ev->comp[n & (FB_AUDIT_COMPS - 1)], FB_AUDIT_COMP_LEN,
					  name);
		ev->n_comps = n + 1;
	}
	r = step_up(w, false);
	if (r == STEP_ON)
		return 0;
	ev->flags |= FB_AUDIT_OUTSIDE;
	return 1;
}

/*
 * Report a deny: built in the task's scratch event, copied to the ring
 * buffer. A full ring buffer is counted in the container's cfg->dropped.
 */
static __always_inline void report(struct fb_policy_cfg *cfg, const struct walk *w, __u32 op,
				   __u64 d, __u64 m)
{
	struct fb_audit_event *ev;
	struct scratch *sc = scratch();
	struct walk *nw;

	if (!sc) {
		__sync_fetch_and_add(&cfg->dropped, 1);
		return;
	}
	ev = &sc->ev;
	ev->cgroup_id = w->cgid;
	ev->ktime_ns = bpf_ktime_get_boot_ns();
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->rights = w->dec.denied;
	ev->op = op;
	ev->by = w->dec.by;
	ev->rule = w->dec.rule;
	ev->mode = cfg->mode;
	ev->n_comps = 0;
	ev->flags = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));

	nw = &sc->nw;
	__builtin_memset(nw, 0, sizeof(*nw));
	nw->d = d;
	nw->m = m;
	nw->root_dev = w->root_dev;
	nw->root_ino = w->root_ino;
	for (int c = 0; c < FB_CANDS; c++) {
		nw->cand_root[c] = w->cand_root[c];
		nw->cand_mnt[c] = w->cand_mnt[c];
	}
	nw->cands_complete = w->cands_complete;
	bpf_loop(FB_WALK_STEPS, name_step, NULL, 0);
	if (bpf_ringbuf_output(&fb_audit_events, ev, sizeof(*ev), 0))
		__sync_fetch_and_add(&cfg->dropped, 1);
}

/* ---- judging ----------------------------------------------------------------------- */

struct judge {
	struct fb_policy_cfg *cfg;
	__u64 cgid;
	__u32 op;
};

static __always_inline void walk_init(struct walk *w, const struct judge *j,
				      const struct decision *dec)
{
	w->cgid = j->cgid;
	w->root_dev = j->cfg->root_dev;
	w->root_ino = j->cfg->root_ino;
	w->dflt = j->cfg->dflt;
	w->dec = *dec;
}

/* Finish a judged walk: report a deny, and say what to return. */
static __always_inline int verdict(const struct judge *j, struct walk *w, __u64 ev_d, __u64 ev_m)
{
	if (w->dec.want) /* steps ran out: too many mounts on the way */
		decide_rest(&w->dec, FB_DENY, FB_AUDIT_BY_WALK_LIMIT);
	if (!w->dec.denied)
		return 0;
	report(j->cfg, w, j->op, ev_d, ev_m);
	return j->cfg->mode == FB_MODE_AUDIT ? 0 : -FB_EACCES;
}

/* The same for a decision taken without a slow walk (nothing left to decide). */
static __always_inline int verdict_of(const struct judge *j, const struct decision *dec,
				      __u64 ev_d, __u64 ev_m)
{
	struct walk w;

	if (!dec->denied && !dec->want)
		return 0;
	__builtin_memset(&w, 0, sizeof(w));
	walk_init(&w, j, dec);
	return verdict(j, &w, ev_d, ev_m);
}

static __always_inline __u64 mount_of(struct vfsmount *vfsmnt)
{
	if (!vfsmnt)
		return 0;
	return (__u64)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/*
 * The fast walk: from *dp up to the root of its mount vm, as the slow walk
 * (walk_step) would, but reading the kernel's structures directly through
 * their BTF pointers (one load each, where BPF_CORE_READ calls a helper per
 * field) with its state on the BPF stack, so it needs no scratch. Crossing a
 * mount needs struct mount, which is reached from a vfsmount only by address
 * arithmetic (through BPF_CORE_READ): there, or at a filesystem root that is
 * no mount root, it stops and the slow walk goes on from *dp (already looked
 * at). True when it decided everything.
 */
static __always_inline bool walk_fast(const struct judge *j, struct decision *dec,
				      struct dentry **dp, struct vfsmount *vm, __u32 *level)
{
	struct dentry *mnt_root = vm->mnt_root;
	__u32 dev = vm->mnt_sb->s_dev;
	__u32 root_dev = j->cfg->root_dev;
	__u64 root_ino = j->cfg->root_ino;
	struct dentry *d = *dp;
	__u32 l;

	/*
	 * The level is the loop's counter, tested where the loop jumps back:
	 * the 6.1 verifier refuses a loop entered again by falling through.
	 */
	for (l = 0; l <= FB_WALK_MAX; l++) {
		struct inode *inode = d->d_inode;
		struct dentry *parent;

		if (inode) {
			__u64 ino = inode->i_ino;

			if (obj_may_name(j->cfg, dev, ino) & dec->want) {
				struct fb_obj_val *v = obj_lookup(j->cgid, dev, ino);

				if (v)
					decide(dec, v->allow, v->deny, FB_AUDIT_BY_RULE,
					       v->rule);
				if (!dec->want)
					return true;
			}
			if (dev == root_dev && ino == root_ino) {
				decide_rest(dec, j->cfg->dflt, FB_AUDIT_BY_DEFAULT);
				return true;
			}
		}
		if (d == mnt_root)
			break;
		parent = d->d_parent;
		if (!parent || parent == d)
			break;
		d = parent;
	}
	if (l > FB_WALK_MAX) {
		decide_rest(dec, FB_DENY, FB_AUDIT_BY_WALK_LIMIT);
		return true;
	}
	*dp = d;
	*level = l;
	return false;
}

/*
 * Judge rights on the object d under the mount vm; vm NULL: the hook has no
 * mount, find it. The event names ev_d: the object, or for entry rights the
 * entry (under the same mount).
 */
static __always_inline int judge_at(const struct judge *j, __u32 rights, struct dentry *d,
				    struct vfsmount *vm, struct dentry *ev_d)
{
	struct decision dec = { .want = rights & j->cfg->may_deny, .rule = FB_RULE_NONE };
	__u64 m = mount_of(vm);
	__u32 level = 0;
	struct scratch *sc;
	struct walk *w;

	if (!dec.want || !d)
		return 0;
	if (vm && walk_fast(j, &dec, &d, vm, &level))
		return verdict_of(j, &dec, (__u64)ev_d, m);
	sc = scratch();
	if (!sc) {
		/* No memory for the walk: fail closed. */
		decide_rest(&dec, FB_DENY, FB_AUDIT_BY_WALK_LIMIT);
		return verdict_of(j, &dec, (__u64)ev_d, m);
	}
	w = &sc->w;
	__builtin_memset(w, 0, sizeof(*w));
	walk_init(w, j, &dec);
	w->d = (__u64)d;
	w->m = m;
	w->level = level;
	w->looked = vm != NULL;
	if (!vm)
		find_mounts(sc, w, d);
	struct walk_ctx wc = { .sc = sc };

	bpf_loop(FB_WALK_STEPS, walk_step, &wc, 0);
	return verdict(j, w, (__u64)ev_d, m);
}

/* A pinned victim (delete, rename, replaced by a rename) cannot go. */
static __always_inline int judge_pin(const struct judge *j, __u32 right, struct dentry *victim,
				     __u64 m)
{
	struct decision dec = { .want = right };
	struct inode *inode;
	struct fb_obj_val *v;
	__u32 dev;
	__u64 ino;

	if (!(j->cfg->may_deny & right) || !victim)
		return 0;
	inode = victim->d_inode;
	if (!inode)
		return 0;
	dev = inode->i_sb->s_dev;
	ino = inode->i_ino;
	if (!(obj_may_name(j->cfg, dev, ino) & FB_SLOT_PINNED))
		return 0;
	v = obj_lookup(j->cgid, dev, ino);
	if (!v || !(v->flags & FB_OBJ_PINNED))
		return 0;
	decide(&dec, 0, right, FB_AUDIT_BY_PIN, v->rule);
	return verdict_of(j, &dec, (__u64)victim, m);
}

/* Entry rights (create, delete, rename, link): judged on the entry's directory. */
static __always_inline int judge_entry(const struct judge *j, __u32 right, const struct path *dir,
				       struct dentry *entry)
{
	return judge_at(j, right, dir->dentry, dir->mnt, entry);
}

static __always_inline int judge_path(const struct judge *j, __u32 rights, const struct path *p)
{
	return judge_at(j, rights, p->dentry, p->mnt, p->dentry);
}

static __always_inline int judge_file(const struct judge *j, __u32 rights, struct file *file)
{
	return judge_at(j, rights, file->f_path.dentry, file->f_path.mnt, file->f_path.dentry);
}

/* Set up j for the current task; false when the task is in no container of ours. */
static __always_inline bool judge_begin(struct judge *j, __u32 op)
{
	j->cfg = container_cfg(&j->cgid);
	j->op = op;
	return j->cfg != NULL;
}

/* ---- the hooks ------------------------------------------------------------------ */

SEC("lsm/file_open")
int BPF_PROG(fb_file_open, struct file *file, int ret)
{
	struct judge j;
	__u32 fmode, flags, rights = 0;

	if (ret || !judge_begin(&j, FB_OP_OPEN))
		return ret;
	fmode = file->f_mode;
	flags = file->f_flags;
	/* The kernel's own open of an executable: bprm_check_security judges exec. */
	if (fmode & FB_FMODE_EXEC)
		return 0;
	if (fmode & FB_FMODE_READ)
		rights |= FB_RIGHT_READ;
	if ((fmode & FB_FMODE_WRITE) || (flags & FB_O_TRUNC))
		rights |= FB_RIGHT_WRITE;
	return judge_file(&j, rights, file);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(fb_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_EXEC))
		return ret;
	return judge_file(&j, FB_RIGHT_EXEC, bprm->file);
}

SEC("lsm/mmap_file")
int BPF_PROG(fb_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct judge j;

	if (ret || !file || !(prot & FB_PROT_EXEC) || !judge_begin(&j, FB_OP_MMAP))
		return ret;
	return judge_file(&j, FB_RIGHT_EXEC, file);
}

SEC("lsm/file_mprotect")
int BPF_PROG(fb_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	struct file *file;
	struct judge j;

	if (ret || !(prot & FB_PROT_EXEC))
		return ret;
	file = vma->vm_file;
	if (!file || !judge_begin(&j, FB_OP_MPROTECT))
		return 0;
	return judge_file(&j, FB_RIGHT_EXEC, file);
}

SEC("lsm/path_mknod")
int BPF_PROG(fb_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_MKNOD))
		return ret;
	return judge_entry(&j, FB_RIGHT_CREATE, dir, dentry);
}

SEC("lsm/path_mkdir")
int BPF_PROG(fb_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_MKDIR))
		return ret;
	return judge_entry(&j, FB_RIGHT_CREATE, dir, dentry);
}

SEC("lsm/path_symlink")
int BPF_PROG(fb_path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_SYMLINK))
		return ret;
	return judge_entry(&j, FB_RIGHT_CREATE, dir, dentry);
}

static __always_inline int judge_delete(const struct judge *j, const struct path *dir,
					struct dentry *dentry)
{
	int r = judge_pin(j, FB_RIGHT_DELETE, dentry, mount_of(dir->mnt));

	if (r)
		return r;
	return judge_entry(j, FB_RIGHT_DELETE, dir, dentry);
}

SEC("lsm/path_unlink")
int BPF_PROG(fb_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_UNLINK))
		return ret;
	return judge_delete(&j, dir, dentry);
}

SEC("lsm/path_rmdir")
int BPF_PROG(fb_path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_RMDIR))
		return ret;
	return judge_delete(&j, dir, dentry);
}

SEC("lsm/path_rename")
int BPF_PROG(fb_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	__u64 m = 0;
	struct judge j;
	int r;

	if (ret || !judge_begin(&j, FB_OP_RENAME_FROM))
		return ret;
	m = mount_of(old_dir->mnt);
	/* The object moves, and an existing target is replaced (or, exchanged, moves). */
	r = judge_pin(&j, FB_RIGHT_RENAME, old_dentry, m);
	if (!r)
		r = judge_entry(&j, FB_RIGHT_RENAME, old_dir, old_dentry);
	if (r)
		return r;
	j.op = FB_OP_RENAME_TO;
	r = judge_pin(&j, FB_RIGHT_RENAME, new_dentry, m);
	if (!r)
		r = judge_entry(&j, FB_RIGHT_RENAME, new_dir, new_dentry);
	return r;
}

SEC("lsm/path_link")
int BPF_PROG(fb_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct judge j;
	int r;

	if (ret || !judge_begin(&j, FB_OP_LINK_FROM))
		return ret;
	/* A hard link never crosses a mount: the source is under new_dir's mount. */
	r = judge_at(&j, FB_RIGHT_LINK, old_dentry->d_parent, new_dir->mnt, old_dentry);
	if (r)
		return r;
	j.op = FB_OP_LINK_TO;
	return judge_entry(&j, FB_RIGHT_LINK, new_dir, new_dentry);
}

SEC("lsm/path_chmod")
int BPF_PROG(fb_path_chmod, const struct path *path, umode_t mode, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_CHMOD))
		return ret;
	return judge_path(&j, FB_RIGHT_SETATTR, path);
}

/* kuid_t and kgid_t are passed as 32-bit values. */
SEC("lsm/path_chown")
int BPF_PROG(fb_path_chown, const struct path *path, unsigned int uid, unsigned int gid, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_CHOWN))
		return ret;
	return judge_path(&j, FB_RIGHT_SETATTR, path);
}

SEC("lsm/path_truncate")
int BPF_PROG(fb_path_truncate, const struct path *path, int ret)
{
	struct judge j;

	if (ret || !judge_begin(&j, FB_OP_TRUNCATE))
		return ret;
	return judge_path(&j, FB_RIGHT_WRITE, path);
}

/*
 * inode_setattr: only what no path hook sees, time changes (utimes). Mode and
 * owner are judged by path_chmod/path_chown, size by path_truncate and
 * file_open, and each change would otherwise be judged and reported twice.
 */
static __always_inline int judge_setattr(struct dentry *dentry, struct iattr *attr)
{
	unsigned int valid = attr->ia_valid;
	struct judge j;

	if (valid & (FB_ATTR_MODE | FB_ATTR_UID | FB_ATTR_GID | FB_ATTR_SIZE) ||
	    !(valid & FB_ATTR_TIMES))
		return 0;
	if (!judge_begin(&j, FB_OP_UTIMES))
		return 0;
	return judge_at(&j, FB_RIGHT_SETATTR, dentry, NULL, dentry);
}

/* 6.3 and later: inode_setattr(idmap, dentry, attr). */
SEC("lsm/inode_setattr")
int BPF_PROG(fb_inode_setattr, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr,
	     int ret)
{
	if (ret)
		return ret;
	return judge_setattr(dentry, attr);
}

/* Up to 6.2: inode_setattr(dentry, attr). The loader picks one of the two. */
SEC("lsm/inode_setattr")
int BPF_PROG(fb_inode_setattr_2, struct dentry *dentry, struct iattr *attr, int ret)
{
	if (ret)
		return ret;
	return judge_setattr(dentry, attr);
}

/* The xattr and ACL hooks: (idmap or user namespace, dentry, ...) on 6.1 and 6.12. */
static __always_inline int judge_dentry_setattr(struct dentry *dentry, __u32 op)
{
	struct judge j;

	if (!judge_begin(&j, op))
		return 0;
	return judge_at(&j, FB_RIGHT_SETATTR, dentry, NULL, dentry);
}

SEC("lsm/inode_setxattr")
int BPF_PROG(fb_inode_setxattr, void *idmap, struct dentry *dentry, const char *name,
	     const void *value, size_t size, int flags, int ret)
{
	if (ret)
		return ret;
	return judge_dentry_setattr(dentry, FB_OP_SETXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(fb_inode_removexattr, void *idmap, struct dentry *dentry, const char *name, int ret)
{
	if (ret)
		return ret;
	return judge_dentry_setattr(dentry, FB_OP_REMOVEXATTR);
}

/* 6.2 and later: POSIX ACLs no longer go through inode_setxattr. */
SEC("lsm/inode_set_acl")
int BPF_PROG(fb_inode_set_acl, struct mnt_idmap *idmap, struct dentry *dentry, const char *acl_name,
	     struct posix_acl *kacl, int ret)
{
	if (ret)
		return ret;
	return judge_dentry_setattr(dentry, FB_OP_SETACL);
}

SEC("lsm/inode_remove_acl")
int BPF_PROG(fb_inode_remove_acl, struct mnt_idmap *idmap, struct dentry *dentry,
	     const char *acl_name, int ret)
{
	if (ret)
		return ret;
	return judge_dentry_setattr(dentry, FB_OP_REMOVEACL);
}
