/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File-access policy: the map layout shared by the BPF LSM programs and the
 * user-space compiler (hook/lib/policy.c). __u32/__u64 only, no pointers.
 *
 * Why objects are keyed by (cgroup id, dev, ino) and not by path hashes
 * -------------------------------------------------------------------
 * A rule names a container path. At container start the hook resolves it in
 * the container's mount namespace to the inode it names, and the kernel side
 * recognises that inode by (sb->s_dev, i_ino) while walking d_parent upwards
 * from the object of an access. Compared with hashing path prefixes
 * (bpf_d_path + a hash per prefix):
 * - renames: moving a protected directory (mv /app/secrets /tmp/s) moves its
 *   inode, so its contents stay protected; a path-hash scheme would lose
 *   them. The opposite risk, a fresh directory taking the old name (mv /etc
 *   /e; mkdir /etc), is closed by pinning (FB_OBJ_PINNED below): the object
 *   of a rule that denies anything, and its ancestors up to but not including
 *   "/", cannot be renamed or deleted.
 * - hard links: a file rule matches the inode itself (level 0 of the walk),
 *   so every link to it is covered. Files under a directory rule are matched
 *   through their parent chain, which a new hard link elsewhere does not
 *   have; the compiler therefore makes a rule that denies read, write or
 *   setattr also deny link and rename (judged on the source's directory)
 *   unless the rule names them itself: the files cannot be moved or linked
 *   out from under it. Hard links that already exist in the image between a
 *   protected and an unprotected directory are not covered.
 * - bind mounts: the same directory mounted twice is the same inode; a path
 *   scheme covers only one of the two names.
 * - cost: bpf_d_path is allowed only in a few hooks (file_open, not
 *   inode_create/unlink/rename) and builds a string per access; the walk is
 *   at most FB_WALK_MAX + 1 hash lookups and stops at the first rule found.
 * - deep paths: the walk is bounded (the verifier needs a constant bound).
 *   Rule paths have at most FB_WALK_MAX components, so every object at depth
 *   <= FB_WALK_MAX is decided exactly. Deeper objects are decided by a rule
 *   found within the walk; when none is found before the bound, the access is
 *   denied (fail closed) unless the container's policy can never deny that
 *   right (fb_policy_cfg.may_deny).
 * Rule paths must exist when the policy is compiled: a rule that denies
 * something and names a missing path is a compile error (fail closed); an
 * allow-only rule on a missing path is dropped (dropping it only narrows).
 * Limits of this scheme: the hook must get (dev, ino) as the LSM hooks see the
 * inode (true for ext4, xfs, tmpfs, FUSE; overlayfs reports a per-layer
 * st_dev for non-directories when its layers span filesystems with xino off);
 * a recycled inode number inherits the rules of a deleted object, which only
 * unpinned (allow-only) objects can be.
 *
 * Decision in the kernel (bpf/policy.bpf.c), for right R on a dentry D (for
 * create, delete, rename and link: D is the parent directory of the entry;
 * rename and link check both the source's and the destination's directory):
 *   cfg = fb_policy_cfg[cgroup id of the task or of its nearest ancestor
 *         cgroup that has one]; none: not ours, allow. (fb_policy_levels
 *         says at which cgroup levels containers exist and has a bit per
 *         container's cgroup id, so a task outside every container costs
 *         an array lookup and a bit test per level in use.)
 *   R not in cfg->may_deny: allow.
 *   R is delete or rename and the victim (the entry itself, and for rename
 *         an existing target too) has FB_OBJ_PINNED: deny.
 *   for level 0..FB_WALK_MAX: v = fb_policy_obj[{cg, D's s_dev, D's i_ino}];
 *         if v names R ((v->allow | v->deny) & R): deny if v->deny & R, else
 *         allow. If D is the container's root (cfg->root_dev, root_ino: the
 *         inode, not the task's root directory, so a chroot inside the
 *         container changes nothing): cfg->dflt. D = parent of D; at the
 *         root of a mount D becomes its mountpoint, which is the same path
 *         and no new level (a mount over a rule's directory does not hide
 *         the rule).
 *   not at the root after the last level: deny.
 * Objects outside the container's tree (the root of a filesystem mounted
 * nowhere in the task's namespace, such as a pipe, socket or memfd, or a
 * disconnected dentry) are judged as if they were entries of "/": the rule
 * at the container's root if it names R, else cfg->dflt. Except exec (execve,
 * mmap and mprotect to PROT_EXEC): when R is exec and exec is in may_deny,
 * such an object is denied (FB_AUDIT_BY_NO_PATH). No rule can name it, and
 * otherwise copying a binary from an exec-denied directory into a memfd and
 * running it with execveat(AT_EMPTY_PATH) would escape the rule. A deleted
 * file is not outside: its dentry keeps its parent, whose rules apply.
 * Hooks that get a dentry without its mount (xattr, ACL and utimes changes)
 * find the mount among the superblock's mounts in the task's mount
 * namespace; if there are more than the kernel side can look at and none
 * fits, the access is denied when R can be denied.
 * A deny in FB_MODE_AUDIT is reported and allowed; in FB_MODE_ENFORCE the
 * access fails with EACCES. Either way an fb_audit_event goes to the ring
 * buffer fb_audit_events; when it is full, cfg->dropped counts the loss.
 */
#ifndef FUSEBOX_BPF_POLICY_H
#define FUSEBOX_BPF_POLICY_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Rights, one bit each. */
enum fb_right {
	FB_RIGHT_READ = 1u << 0,    /* open for read, readdir */
	FB_RIGHT_WRITE = 1u << 1,   /* open for write, truncate */
	FB_RIGHT_EXEC = 1u << 2,    /* execve, mmap PROT_EXEC of a file */
	FB_RIGHT_CREATE = 1u << 3,  /* any new entry (on the parent directory) */
	FB_RIGHT_DELETE = 1u << 4,  /* unlink, rmdir (on the parent directory) */
	FB_RIGHT_RENAME = 1u << 5,  /* rename (on both parent directories) */
	FB_RIGHT_LINK = 1u << 6,    /* hard link (on both parent directories) */
	FB_RIGHT_SETATTR = 1u << 7, /* chmod, chown, utimes, xattr changes */
};
#define FB_RIGHTS_ALL 0xffu
#define FB_NR_RIGHTS 8

/* Rights judged on the parent directory of the entry they act on. */
#define FB_RIGHTS_ON_PARENT (FB_RIGHT_CREATE | FB_RIGHT_DELETE | FB_RIGHT_RENAME | FB_RIGHT_LINK)

/*
 * d_parent levels the kernel walks above the object (level 0 is the object
 * itself). Rule paths have at most this many components.
 */
#define FB_WALK_MAX 32

enum fb_mode {
	FB_MODE_ENFORCE = 0, /* deny with EACCES (zero: a forgotten field enforces) */
	FB_MODE_AUDIT = 1,   /* allow, report what would be denied */
};

enum fb_verdict {
	FB_DENY = 0, /* zero: a forgotten field denies */
	FB_ALLOW = 1,
};

/*
 * fb_policy_cfg.names: for each slot fb_obj_slot(dev, ino), the rights named
 * (allowed or denied) by the container's objects that fall in it, plus
 * FB_SLOT_PINNED if one of them is pinned. The walk looks an object up only
 * when its slot names a right it still wants: an entry that names none of them
 * would change nothing. Most levels of most walks hold no rule on the right
 * asked for, and one load costs far less than the hash lookup it spares. Large
 * policies fill the slots: more lookups, never another answer.
 */
#define FB_OBJ_SLOTS_LOG2 9
#define FB_SLOT_PINNED (1u << FB_NR_RIGHTS)

static inline __u32 fb_obj_slot(__u32 dev, __u64 ino)
{
	return (__u32)(((ino ^ ((__u64)dev << 32)) * 0x9e3779b97f4a7c15ull) >>
		       (64 - FB_OBJ_SLOTS_LOG2));
}

/* fb_policy_cfg: one per container, keyed by its cgroup2 id (__u64). */
struct fb_policy_cfg {
	__u32 mode;	/* enum fb_mode */
	__u32 dflt;	/* enum fb_verdict when no rule names the right */
	__u32 may_deny; /* rights some rule, pin or the default can deny */
	__u32 nr_objs;	/* fb_policy_obj entries of this container */
	/* Set by the hook, not the compiler: */
	__u32 root_dev; /* the container's "/": kernel encoding of s_dev */
	__u32 level;	/* cgroup2 level of the container's cgroup (root: 0) */
	__u64 root_ino; /* the container's "/": i_ino */
	/* Written by the kernel side: */
	__u64 dropped; /* audit events lost because the ring buffer was full */
	/* By the compiler: see fb_obj_slot(). */
	__u16 names[1u << FB_OBJ_SLOTS_LOG2];
};

/*
 * fb_policy_levels[0]: which cgroups may have an fb_policy_cfg, so that a task
 * outside every container is told so without a hash lookup. Maintained by
 * user space from the keys and cfg->level of fb_policy_cfg.
 */
#define FB_CGROUP_LEVEL_MAX 62
#define FB_CGROUP_BITS_LOG2 12
struct fb_policy_levels {
	/* Bit L: some container's cgroup is at level L (1..FB_CGROUP_LEVEL_MAX). */
	__u64 levels;
	/* Bit fb_cgroup_bit(id) is set for each container's cgroup id (clear: none). */
	__u64 cgroups[(1u << FB_CGROUP_BITS_LOG2) / 64];
};

/* A cgroup id's bit in fb_policy_levels.cgroups (ids are small, spread them). */
static inline __u32 fb_cgroup_bit(__u64 id)
{
	return (__u32)((id * 0x9e3779b97f4a7c15ull) >> (64 - FB_CGROUP_BITS_LOG2));
}

/* fb_policy_obj key: one object (file or directory) of one container. */
struct fb_obj_key {
	__u64 cgroup_id; /* cgroup2 id of the container */
	__u64 ino;	 /* inode->i_ino */
	__u32 dev;	 /* inode->i_sb->s_dev: major << 20 | minor, not st_dev */
	__u32 pad;	 /* zero */
};

/* A rule that denies names it or a descendant of it: no rename, no delete. */
#define FB_OBJ_PINNED (1u << 0)
/* fb_obj_val.rule of an object that only carries FB_OBJ_PINNED. */
#define FB_RULE_NONE 0xffffffffu

struct fb_obj_val {
	__u32 allow; /* rights the rule at this object allows */
	__u32 deny;  /* rights it denies (as written plus implied) */
	__u32 flags; /* FB_OBJ_* */
	__u32 rule;  /* index of the rule in the effective policy, for audit events */
};

/* Map sizes: containers on a node, objects of all containers together. */
#define FB_POLICY_MAX_CONTAINERS 4096
#define FB_POLICY_MAX_OBJS 65536

/* ---- audit events ---------------------------------------------------------- */

/* What the denied access was, for the reader. */
enum fb_audit_op {
	FB_OP_OPEN = 1,
	FB_OP_EXEC,
	FB_OP_MMAP,
	FB_OP_MPROTECT,
	FB_OP_MKNOD, /* also open(O_CREAT) of a new file */
	FB_OP_MKDIR,
	FB_OP_SYMLINK,
	FB_OP_UNLINK,
	FB_OP_RMDIR,
	FB_OP_RENAME_FROM,
	FB_OP_RENAME_TO,
	FB_OP_LINK_FROM,
	FB_OP_LINK_TO,
	FB_OP_CHMOD,
	FB_OP_CHOWN,
	FB_OP_TRUNCATE,
	FB_OP_UTIMES,
	FB_OP_SETXATTR,
	FB_OP_REMOVEXATTR,
	FB_OP_SETACL,
	FB_OP_REMOVEACL,
	FB_OP_MAX,
};

/* How the deny was decided (the values of enum fb_decided_by). */
enum fb_audit_by {
	FB_AUDIT_BY_DEFAULT = 0,
	FB_AUDIT_BY_RULE = 1,
	FB_AUDIT_BY_PIN = 2,
	FB_AUDIT_BY_WALK_LIMIT = 3,
	FB_AUDIT_BY_NO_PATH = 4, /* exec of a file with no path in the container */
};

/* fb_audit_event.flags */
#define FB_AUDIT_TRUNCATED (1u << 0) /* more components above comp[n_comps - 1] */
#define FB_AUDIT_OUTSIDE (1u << 1)   /* not beneath the container's root */

#define FB_AUDIT_COMPS 16     /* path components an event carries, a power of 2 */
#define FB_AUDIT_COMP_LEN 64  /* bytes per component, NUL included */
#define FB_AUDIT_RINGBUF_SIZE (1u << 20)

/*
 * One denied (or, in audit mode, would-be denied) access. The path is the
 * object's (for create, delete, rename and link: the entry's) names from the
 * object upwards: comp[0] is its own name, comp[n_comps - 1] the topmost one
 * below the container's root.
 */
struct fb_audit_event {
	__u64 cgroup_id; /* the container's (key of fb_policy_cfg) */
	__u64 ktime_ns;	 /* bpf_ktime_get_boot_ns() */
	__u32 pid;	 /* thread group id, in the initial pid namespace */
	__u32 uid;
	__u32 rights; /* the denied rights, FB_RIGHT_* */
	__u32 op;     /* enum fb_audit_op */
	__u32 by;     /* enum fb_audit_by */
	__u32 rule;   /* index in the effective policy, FB_RULE_NONE for none */
	__u32 mode;   /* enum fb_mode: enforced, or only reported */
	__u32 n_comps;
	__u32 flags; /* FB_AUDIT_* */
	__u32 pad;
	char comm[16];
	char comp[FB_AUDIT_COMPS][FB_AUDIT_COMP_LEN];
};

/* Where the node's program set and the per-container links are pinned. */
#define FB_BPF_PIN_DIR "/sys/fs/bpf/fusebox"

#endif
