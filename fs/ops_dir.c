// SPDX-License-Identifier: GPL-2.0-only
/*
 * Directories: readdir and readdirplus page through the merged listing of
 * the directory, a snapshot shared by all its readers (dircache.c), whose
 * offsets say which snapshot they belong to. The kernel may cache the
 * listing (cache_readdir, keep_cache) until it sees a change in the
 * directory. Opens carry nothing: where the policy cannot deny read, the
 * first OPENDIR is answered ENOSYS and no OPENDIR or RELEASEDIR follows
 * (the kernel then caches listings as if asked to). readdirplus replies carry entries, so each listed name counts
 * a lookup on its node, exactly as a LOOKUP reply would.
 */
#include "fuseboxd.h"

#include <dirent.h>
#include <fcntl.h>

#include "bpf/policy.h"

void fbx_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	int r;

	if (!n || !S_ISDIR(n->type)) {
		fuse_reply_err(req, n ? ENOTDIR : ESTALE);
		return;
	}
	if (fs->noopendir) {
		/* From now on the kernel opens directories without asking. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	r = fbx_check(req, n, NULL, FB_RIGHT_READ);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* No handle: the listing lives in the directory cache. */
	fi->fh = 0;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* A directory read: the snapshot, where to start in it, the inodes of . and .. */
struct dir_read {
	struct fbx_node *dir;
	struct fbx_dirsnap *snap;
	const struct fbx_dirlist *l;
	size_t first;
	uint64_t dot_ino[2];
};

/*
 * "." and ".." get the inode numbers the directory and its parent have now:
 * a copy-up or a rename changes them without changing the listing.
 */
static int dir_read_start(struct fbx_fs *fs, fuse_ino_t ino, off_t off, struct dir_read *d)
{
	const struct fbx_node *up;
	int r;

	d->dir = fbx_node_get(fs, ino);
	if (!d->dir)
		return -ESTALE;
	r = fbx_dircache_get(fs, d->dir, off, &d->snap, &d->first);
	if (r < 0)
		return r;
	d->l = fbx_dirsnap_list(d->snap);
	pthread_rwlock_rdlock(&fs->tree_lock);
	pthread_mutex_lock(&fs->itable.lock);
	up = d->dir->parent ? d->dir->parent : d->dir;
	d->dot_ino[0] = fbx_layer_ino(&fs->layers[d->dir->layer], d->dir->ino);
	d->dot_ino[1] = fbx_layer_ino(&fs->layers[up->layer], up->ino);
	pthread_mutex_unlock(&fs->itable.lock);
	pthread_rwlock_unlock(&fs->tree_lock);
	return 0;
}

static const char *ent_name(const struct dir_read *d, size_t i)
{
	return d->l->names + d->l->ents[i].name_off;
}

/* What the kernel is told of entry i without a node: inode number and type. */
static void bare_attr(const struct dir_read *d, size_t i, struct stat *st)
{
	*st = (struct stat){
	    .st_ino = i < 2 ? d->dot_ino[i] : d->l->ents[i].ino,
	    .st_mode = DTTOIF(d->l->ents[i].type),
	};
}

void fbx_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_free_ char *buf = malloc(size ? size : 1);
	struct dir_read d;
	size_t rem = size, i;
	int r;

	r = buf ? dir_read_start(fs, ino, off, &d) : -ENOMEM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	for (i = d.first; i < d.l->n; i++) {
		struct stat st;
		size_t need;

		bare_attr(&d, i, &st);
		need = fuse_add_direntry(req, buf + size - rem, rem, ent_name(&d, i), &st,
					 fbx_dirsnap_off(d.snap, i));
		if (need > rem)
			break;
		rem -= need;
	}
	fbx_dircache_put(fs, d.snap);
	fuse_reply_buf(req, buf, size - rem);
}

void fbx_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	size_t rem = size, nadded = 0, i, k;
	_cleanup_free_ struct fbx_node **added = NULL;
	_cleanup_free_ char *buf = NULL;
	struct fbx_dirfds dfds = {0};
	struct dir_read d;
	int r;

	r = dir_read_start(fs, ino, off, &d);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	buf = malloc(size ? size : 1);
	/* At most one node per record; the smallest record has a 1-byte name. */
	added =
	    calloc(size / fuse_add_direntry_plus(req, NULL, 0, "x", NULL, 0) + 1, sizeof(*added));
	if (!buf || !added || fbx_dirfds_init(&dfds, fs, d.dir, O_PATH) < 0) {
		fbx_dirfds_close(&dfds);
		fbx_dircache_put(fs, d.snap);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = d.first; i < d.l->n; i++) {
		const char *name = ent_name(&d, i);
		size_t need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
		struct fuse_entry_param e = {0};
		struct fbx_found f;
		struct fbx_node *n;

		if (need > rem)
			break;
		if (i < 2) {
			/* . and ..: the kernel links no dentry for these, count nothing. */
			bare_attr(&d, i, &e.attr);
		} else {
			r = fbx_merge_lookup(&dfds, name, &f);
			if (r == 0)
				r = fbx_node_ref(fs, d.dir, name, &f, &n);
			if (r == 0) {
				fbx_fill_entry(fs, n, &f.st, &e);
				added[nadded++] = n;
			} else if (r == -ENOENT || r == -ESTALE) {
				/* Gone since the snapshot: listed without a node. */
				bare_attr(&d, i, &e.attr);
				r = 0;
			} else {
				break;
			}
		}
		fuse_add_direntry_plus(req, buf + size - rem, rem, name, &e,
				       fbx_dirsnap_off(d.snap, i));
		rem -= need;
	}
	fbx_dirfds_close(&dfds);
	fbx_dircache_put(fs, d.snap);
	if (r < 0 && rem == size) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fuse_reply_buf(req, buf, size - rem) != 0)
		for (k = 0; k < nadded; k++)
			fbx_node_forget(fs, added[k], 1);
	else if (off == 0)
		fbx_prefetch_walked(fs, d.dir);
}

void fbx_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}
