/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuseboxd: a FUSE overlay of immutable image layers (libfuse low-level API).
 *
 * Layers are numbered top-most first: layer 0 wins. This first cut serves
 * lower (read-only) layers only; the writable upper layer will become layer 0
 * with its own struct fbx_layer flag, and copy-up will move a node's `layer`
 * to 0, so nothing here assumes that a node's layer never changes except the
 * places marked "immutable layers" below.
 *
 * Memory is bounded by what the kernel holds: a node exists while the kernel
 * has it looked up (nlookup > 0) or while a looked-up node names it as
 * parent. No fd is kept per node: every operation re-resolves the node's
 * path beneath the layer root with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV).
 *
 * Lock order (take left before right, never the reverse):
 *   fs->itable.lock  ->  fs->open_locks[i]
 * itable.lock guards both node hash tables, node creation and destruction,
 * nchildren, and every transition of a node's nlookup to or from zero.
 * open_locks[] (striped by node id) guard a node's passthrough backing id and
 * its count of opens. No lock is held across a reply to the kernel.
 *
 * With a writable upper layer, changes to the namespace (create, unlink,
 * rename, copy-up, ...) are serialised by fs->ns_lock, taken first. A node's
 * parent and name change only under fs->tree_lock held for writing (briefly,
 * by an ns_lock holder); path walks hold it for reading. A node's layer and
 * key (dev, ino) change only on copy-up, under ns_lock and itable.lock.
 *   ns_lock  ->  tree_lock  ->  itable.lock  ->  open_locks[i]
 * The directory listing cache's lock (dircache.c) is a leaf like open_locks:
 * taken after itable.lock, never before another.
 */
#ifndef FUSEBOXD_H
#define FUSEBOXD_H

#define FUSE_USE_VERSION 317

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util.h"

/* overlayfs accepts at most 500 lower layers; so do we. */
#define FBX_MAX_LAYERS 500
/* Layers are immutable: the kernel may cache names, attributes and misses. */
#define FBX_TIMEOUT 86400.0
/* Entries of one merged directory listing (dirlist.c). */
#define FBX_DIR_MAX_ENTRIES (1u << 22)
#define FBX_OPEN_LOCKS 64
#define FBX_MAX_THREADS 64
/* --spin default and limit, and the first window, in microseconds (loop.c). */
#define FBX_SPIN_DEFAULT_US 200
#define FBX_SPIN_MAX_US 1000
#define FBX_SPIN_GROW_US 50
/* Directory prefetch (prefetch.c): files per directory, and their size limit. */
#define FBX_PREFETCH_DEFAULT 256
#define FBX_PREFETCH_MAX 4096
#define FBX_PREFETCH_FILE_MAX (128 * 1024)
#define FBX_PREFETCH_RESIDENT 16
/* XATTR_NAME_CAPS of the kernel: a file's capabilities. */
#define FBX_XATTR_CAPS "security.capability"
/* fi->fh of a file whose reads the kernel passes through to the backing file. */
#define FBX_FH_PASSTHROUGH UINT64_MAX
/*
 * Backing ids of lower files kept registered after their last release, so a
 * file opened again costs no open, BACKING_OPEN, BACKING_CLOSE and close. Each
 * keeps a struct file in the kernel (a few hundred bytes, no fd of ours) until
 * the kernel forgets the inode; the cap bounds that kernel memory per mount.
 */
#define FBX_BACKING_KEEP_MAX 65536

struct fbx_layer {
	char *path;
	int fd;		  /* O_RDONLY | O_DIRECTORY root of the layer */
	dev_t dev;	  /* objects on another device (mounts inside) are not part of it */
	uint64_t ino_tag; /* OR-ed into st_ino so that inode numbers of layers on
			     different devices do not collide */
	bool stacked;	  /* on overlayfs or FUSE: passthrough needs a deeper stack */
	bool upper;	  /* the writable layer: always layer 0 when present */
};

struct fbx_node {
	fuse_ino_t id; /* FUSE node id, never reused while the daemon runs */
	uint64_t generation;
	dev_t dev; /* key: the backing object in layer `layer` */
	ino_t ino;
	struct fbx_node *parent; /* NULL for the root */
	atomic_uint_fast64_t nlookup;
	uint64_t nchildren; /* nodes whose parent is this one (itable.lock) */
	mode_t type;	    /* S_IFMT bits */
	uint16_t layer;	    /* top-most layer that holds the object */
	uint16_t bottom;    /* directories: lowest layer merged into it */
	int backing_id;	    /* passthrough backing file, 0 if none (open_locks) */
	uint16_t backing_layer; /* the layer backing_id was opened in */
	bool backing_rw;	/* backing_id was opened for writing too */
	bool backing_kept;	/* counted in fs->backing_kept (open_locks) */
	bool hashed;		/* in by_key: lookups may find it */
	bool unlinked;		/* its name is gone: nlink is reported one less */
	bool orphan;		/* upper object moved to the work dir ("#<id>") */
	atomic_bool no_caps;	/* made by CREATE, given no security.capability since;
				 * atomic: setxattr clears it without a lock */
	atomic_int caps_dropped_by; /* pid whose REMOVEXATTR of security.capability
				     * came last, until the next empty SETATTR */
	unsigned int nopen;	/* opens sharing backing_id (open_locks) */
	unsigned int ncached;	/* opens served by the daemon (open_locks) */
	uint32_t dir_changes;	/* directories: changes seen by dircache.c (its lock) */
	uint8_t prefetch_hits;	/* directories: cold opens of files counted (prefetch.c) */
	struct fbx_node *next_key;
	struct fbx_node *next_id;
	struct fbx_node *next_orphan; /* fs->orphans list (itable.lock) */
	char *name; /* "" for the root; tree_lock */
};

struct fbx_itable {
	pthread_mutex_t lock;
	struct fbx_node **by_key;
	struct fbx_node **by_id;
	size_t nbuckets; /* power of two, both tables */
	size_t count;
	fuse_ino_t next_id;
	uint64_t next_generation;
};

struct fbx_options {
	char **lowerdirs; /* top-most first */
	size_t nlower;
	char *upperdir;	  /* NULL: read-only overlay */
	char *workdir;	  /* same file system as upperdir */
	char *mountpoint;
	char *fuse_opts;      /* comma-separated, passed to libfuse */
	int ready_fd;	      /* -1: none */
	unsigned int threads; /* 1: single-threaded loop; more: worker threads */
	unsigned int spin_us; /* single-threaded: poll this long before sleeping */
	unsigned int prefetch; /* files per directory prefetched (prefetch.c), 0: off */
	bool foreground;
	bool debug;
	bool passthrough;
	bool nosync; /* volatile / fsync=0: fsync requests do nothing */
	bool noopen; /* no OPEN/RELEASE round trips, page-cached reads */
	char *policy;	   /* file-access policy to enforce (access.c), or NULL */
	char *policy_root; /* the mount's container path, for the policy's paths */
	char *audit_log;   /* the container's audit log (hook/lib/auditlog.h), or NULL */
};

struct fbx_hl_index;
struct fbx_access;
struct fbx_dircache;
struct fbx_prefetch;
struct fbx_dirsnap;

struct fbx_fs {
	struct fbx_layer *layers;
	unsigned int nlayers;
	struct fbx_itable itable;
	struct fbx_node *root;
	bool want_passthrough; /* option, before negotiation */
	bool want_noopen;      /* option, before negotiation */
	bool noopen;	       /* the kernel sends no OPEN/RELEASE for files */
	bool noopendir;	       /* ... nor OPENDIR/RELEASEDIR for directories */
	bool passthrough;      /* negotiated in init */
	bool killpriv;	       /* we clear set-id bits after writes (killpriv.c) */
	struct fuse_session *se; /* for notifications to the kernel */
	bool debug;
	atomic_bool passthrough_failed_logged;
	atomic_uint backing_kept; /* backing ids of lower files kept past release */
	pthread_mutex_t open_locks[FBX_OPEN_LOCKS];
	/* Writable overlay: layers[0] is the upper layer. */
	bool has_upper;
	bool nosync;
	int work_fd;	  /* private directory beside the upper, same file system */
	int work_lock_fd; /* the workdir itself, flock()ed */
	pthread_mutex_t ns_lock;
	pthread_rwlock_t tree_lock;
	struct fbx_hl_index **hl; /* per layer, built on first use (hardlink.c) */
	struct fbx_node *orphans; /* their work-dir links are not the file's names */
	struct fbx_access *access; /* the policy this daemon enforces, or NULL */
	struct fbx_dircache *dircache; /* listings of directories read lately */
	struct fbx_prefetch *prefetch; /* NULL: --prefetch=0 */
	atomic_uint_fast64_t tmp_seq;
};

/* What a merged lookup found for a name. */
struct fbx_found {
	struct stat st;	     /* of the object in `layer`, as the backing fs says */
	unsigned int layer;  /* top-most layer that has the name */
	unsigned int bottom; /* directories: lowest layer merged */
	bool top_absent;     /* not found: the directory's top layer has nothing by
				that name, not even a whiteout */
};

/* Directory fds of one directory node, per layer, opened on first use. */
struct fbx_dirfds {
	struct fbx_fs *fs;
	struct fbx_node *dir;
	int flags;
	int *fd; /* index layer - dir->layer; FBX_DIRFD_UNSET, -errno or an fd */
};
#define FBX_DIRFD_UNSET (-1000000)

/* A merged directory listing (dirlist.c), shared through dircache.c. */
struct fbx_dirent {
	uint64_t ino;	   /* as reported to the kernel */
	uint32_t name_off; /* into fbx_dirlist.names */
	uint8_t type;	   /* DT_* */
};

struct fbx_dirlist {
	struct fbx_dirent *ents;
	size_t n;
	size_t cap;
	char *names;
	size_t names_len;
	size_t names_cap;
};

#define fbx_log(level, fmt, ...) fuse_log(level, "fuseboxd: " fmt "\n", ##__VA_ARGS__)
#define fbx_err(fmt, ...) fbx_log(FUSE_LOG_ERR, fmt, ##__VA_ARGS__)
#define fbx_debug(fs, fmt, ...)                                                                    \
	do {                                                                                       \
		if ((fs)->debug)                                                                   \
			fbx_log(FUSE_LOG_DEBUG, fmt, ##__VA_ARGS__);                               \
	} while (0)

static inline struct fbx_fs *fbx_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* options.c */
int fbx_options_parse(int argc, char **argv, struct fbx_options *o);
void fbx_options_free(struct fbx_options *o);
void fbx_usage(FILE *f);

/* layer.c */
int fbx_layers_open(char **paths, size_t n, struct fbx_layer **out, size_t *failed);
void fbx_layers_close(struct fbx_layer *layers, size_t n);
int fbx_openat_beneath(int dirfd, const char *path, int flags);
int fbx_node_open(struct fbx_fs *fs, const struct fbx_node *node, unsigned int layer, int flags);
/* The same with fs->tree_lock held (when there is an upper layer). */
int fbx_node_open_locked(struct fbx_fs *fs, const struct fbx_node *node, unsigned int layer,
			 int flags);
int fbx_node_stat(struct fbx_fs *fs, const struct fbx_node *node, struct stat *st);
int fbx_node_parent_at(struct fbx_fs *fs, const struct fbx_node *node, int *dirfd,
		       char **name);
uint64_t fbx_layer_ino(const struct fbx_layer *l, ino_t ino);
void fbx_attr_fixup(struct fbx_fs *fs, unsigned int layer, unsigned int bottom, struct stat *st);

/* inode.c */
int fbx_itable_init(struct fbx_itable *t);
void fbx_itable_destroy(struct fbx_itable *t);
int fbx_root_create(struct fbx_fs *fs);
struct fbx_node *fbx_node_get(struct fbx_fs *fs, fuse_ino_t id);
int fbx_node_ref(struct fbx_fs *fs, struct fbx_node *parent, const char *name,
		 const struct fbx_found *f, struct fbx_node **out);
void fbx_node_forget(struct fbx_fs *fs, struct fbx_node *node, uint64_t n);
struct fbx_node *fbx_node_find_key(struct fbx_fs *fs, dev_t dev, ino_t ino);
void fbx_node_rekey(struct fbx_fs *fs, struct fbx_node *n, const struct stat *st,
		    unsigned int layer);
void fbx_node_unhash(struct fbx_fs *fs, struct fbx_node *n);
int fbx_node_move(struct fbx_fs *fs, struct fbx_node *n, struct fbx_node *parent,
		  const char *name);
void fbx_orphan_name(const struct fbx_node *n, char buf[static 24]);
int fbx_can_change(const struct fbx_fs *fs, const struct fbx_node *a, const struct fbx_node *b);
pthread_mutex_t *fbx_open_lock(struct fbx_fs *fs, const struct fbx_node *node);
int fbx_serve_spinning(struct fuse_session *se, unsigned int spin_us);
void fbx_backing_drop(struct fbx_fs *fs, fuse_req_t req, struct fbx_node *n);

/* merge.c */
bool fbx_name_is_whiteout(const char *name);
bool fbx_stat_is_whiteout(const struct stat *st);
int fbx_fd_is_opaque(int dirfd);
int fbx_dirfds_init(struct fbx_dirfds *d, struct fbx_fs *fs, struct fbx_node *dir, int flags);
int fbx_dirfds_get(struct fbx_dirfds *d, unsigned int layer);
int fbx_dirfds_take(struct fbx_dirfds *d, unsigned int layer);
void fbx_dirfds_close(struct fbx_dirfds *d);
int fbx_merge_lookup(struct fbx_dirfds *d, const char *name, struct fbx_found *out);

/* upper.c: the writable layer (copy-up, whiteouts, orphans) */
int fbx_upper_init(struct fbx_fs *fs, const char *workdir);
void fbx_upper_fini(struct fbx_fs *fs);
int fbx_copy_up(struct fbx_fs *fs, struct fbx_node *n, bool with_data);
int fbx_upper_dirfd(struct fbx_fs *fs, struct fbx_node *dir);
int fbx_lower_has(struct fbx_fs *fs, struct fbx_node *dir, const char *name);
int fbx_make_whiteout(int dirfd, const char *name);
void fbx_keep_times(int dirfd, const struct stat *before);
int fbx_set_opaque(int dirfd, const char *name);
int fbx_clear_whiteouts(int dirfd);
int fbx_orphan(struct fbx_fs *fs, struct fbx_node *n, int dirfd, const char *name,
	       bool leave_whiteout, bool last);
int fbx_upper_remove(struct fbx_fs *fs, int dirfd, const char *name, bool leave_whiteout,
		     bool is_dir);
void fbx_orphan_drop(struct fbx_fs *fs, struct fbx_node *n);
void fbx_orphan_mark(struct fbx_fs *fs, struct fbx_node *n);
unsigned int fbx_orphan_links(struct fbx_fs *fs, const struct stat *st);
int fbx_dir_is_empty(struct fbx_fs *fs, struct fbx_node *dir);

/* access.c: the file-access policy, where fuseboxd enforces it */
int fbx_access_load(struct fbx_fs *fs, const char *file, const char *root, const char *audit_log);
void fbx_access_free(struct fbx_access *a);
bool fbx_access_may_deny(const struct fbx_fs *fs, uint32_t right);
int fbx_check(fuse_req_t req, const struct fbx_node *n, const char *name, uint32_t rights);
uint32_t fbx_open_rights(int flags);

/* caller.c: who sent the request */
bool fbx_caller_in_group(fuse_req_t req, gid_t gid);
bool fbx_caller_has_fsetid(fuse_req_t req);

/* killpriv.c */
/* Why fbx_kill_setid() is called (killpriv.c). */
enum fbx_kill_why {
	FBX_KILL_TRUNCATE,	  /* SETATTR(size) from a caller without CAP_FSETID */
	FBX_KILL_DATA,		  /* a change of data (O_TRUNC) by any caller */
	FBX_KILL_CHOWN_OR_WRITE, /* a SETATTR with nothing to set */
};
int fbx_kill_setid(fuse_req_t req, int fd, enum fbx_kill_why why);

/* hardlink.c */
int fbx_hardlinks_copy_up(struct fbx_fs *fs, unsigned int layer, ino_t ino, int ufd);
void fbx_hardlinks_free(struct fbx_fs *fs);

/* dirlist.c */
int fbx_dirlist_build(struct fbx_fs *fs, struct fbx_node *dir, struct fbx_dirlist **out);
size_t fbx_dirlist_trim(struct fbx_dirlist *l);
void fbx_dirlist_free(struct fbx_dirlist *l);

/* dircache.c: snapshots of merged listings, shared by a directory's readers */
int fbx_dircache_init(struct fbx_fs *fs);
void fbx_dircache_free(struct fbx_fs *fs);
int fbx_dircache_get(struct fbx_fs *fs, struct fbx_node *dir, off_t off,
		     struct fbx_dirsnap **out, size_t *first);
const struct fbx_dirlist *fbx_dirsnap_list(const struct fbx_dirsnap *s);
off_t fbx_dirsnap_off(const struct fbx_dirsnap *s, size_t i);
void fbx_dircache_put(struct fbx_fs *fs, struct fbx_dirsnap *s);
void fbx_dircache_changed(struct fbx_fs *fs, struct fbx_node *dir);
void fbx_dircache_forget(struct fbx_fs *fs, fuse_ino_t id);

/* prefetch.c: readahead of a lower directory's small files on cold opens */
int fbx_prefetch_init(struct fbx_fs *fs, unsigned int max_files);
void fbx_prefetch_free(struct fbx_fs *fs);
void fbx_prefetch_opened(struct fbx_fs *fs, struct fbx_node *n);
void fbx_prefetch_walked(struct fbx_fs *fs, struct fbx_node *dir);

/* ops_*.c: request handlers, each answers its request exactly once. */
void fbx_ops_fill(struct fuse_lowlevel_ops *ops);
void fbx_ops_write_fill(struct fuse_lowlevel_ops *ops);
void fbx_ops_data_fill(struct fuse_lowlevel_ops *ops);
void fbx_fill_entry(struct fbx_fs *fs, const struct fbx_node *n, const struct stat *st,
		    struct fuse_entry_param *e);
void fbx_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fbx_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fbx_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void fbx_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fbx_op_readlink(fuse_req_t req, fuse_ino_t ino);
void fbx_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void fbx_op_statfs(fuse_req_t req, fuse_ino_t ino);
void fbx_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fbx_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fbx_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fbx_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi);
int fbx_create_file(fuse_req_t req, struct fbx_node *dir, const char *name, mode_t mode,
		    int flags, int *fdp, int *pfdp);
int fbx_file_fd(struct fbx_fs *fs, fuse_ino_t ino, struct fuse_file_info *fi, int flags,
		int *own);
void fbx_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fbx_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void fbx_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
void fbx_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
bool fbx_xattr_is_private(const char *name);
void fbx_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fbx_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

#endif
