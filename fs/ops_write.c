// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests that change the merged namespace: mknod, mkdir, symlink, create
 * (ops_file.c opens it), link, unlink, rmdir, rename. Each runs under
 * fs->ns_lock: look the names up in the merged view, copy the parents up,
 * then change the upper layer with whiteouts and opaque directories where
 * the layers below must stay hidden (see upper.c). Directories that have
 * lower parts are not renamed (EXDEV), as overlayfs without redirect_dir.
 * Without an upper layer every one of them fails with EROFS.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <linux/fs.h>

#include "bpf/policy.h"

/*
 * The merged lookup of NAME in DIR. With pfd, when the name is free and DIR
 * is an upper directory, *pfd gets the O_PATH fd the lookup used (else -1).
 */
static int lookup_name(struct fbx_fs *fs, struct fbx_node *dir, const char *name,
		       struct fbx_found *f, int *pfd)
{
	struct fbx_dirfds d;
	int r;

	if (pfd)
		*pfd = -1;
	if (!S_ISDIR(dir->type))
		return -ENOTDIR;
	r = fbx_dirfds_init(&d, fs, dir, O_PATH);
	if (r < 0)
		return r;
	r = fbx_merge_lookup(&d, name, f);
	if (r == -ENOENT && pfd && fs->has_upper && dir->layer == 0)
		*pfd = fbx_dirfds_take(&d, 0);
	fbx_dirfds_close(&d);
	return r;
}

/*
 * Is this the object's last name? Hard links share one node in the kernel,
 * which must stay alive (and found by look-ups) while another name remains.
 */
static bool last_name(struct fbx_fs *fs, const struct fbx_found *f)
{
	return S_ISDIR(f->st.st_mode) || f->st.st_nlink <= 1 + fbx_orphan_links(fs, &f->st);
}

/* The live node of what a lookup found, if the kernel holds one. */
static struct fbx_node *live_node(struct fbx_fs *fs, const struct fbx_found *f)
{
	return fbx_node_find_key(fs, f->st.st_dev, f->st.st_ino);
}

/*
 * A stand-in node for an object that the kernel holds no node for, so that
 * the helpers that take nodes (copy-up, emptiness) can work on it.
 */
static void temp_node(struct fbx_node *t, struct fbx_node *dir, const char *name,
		      const struct fbx_found *f)
{
	*t = (struct fbx_node){
	    .dev = f->st.st_dev,
	    .ino = f->st.st_ino,
	    .parent = dir,
	    .type = f->st.st_mode & S_IFMT,
	    .layer = (uint16_t)f->layer,
	    .bottom = (uint16_t)f->bottom,
	    .name = (char *)name,
	};
}

/* Remove a whiteout at NAME in the upper directory, if there is one. 1 if removed. */
static int drop_whiteout(int pfd, const char *name)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!fbx_stat_is_whiteout(&st))
		return -EEXIST;
	return unlinkat(pfd, name, 0) < 0 ? -errno : 1;
}

/* Owner of a new object: the caller, or the directory's group when it is setgid. */
static int set_owner(int pfd, const char *name, fuse_req_t req, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat dst;
	gid_t gid = ctx->gid;

	/* Made by us, root: the upper file system gave it a setgid directory's group. */
	if (ctx->uid == 0 && ctx->gid == 0)
		return 0;
	if (fstat(pfd, &dst) == 0 && (dst.st_mode & S_ISGID))
		gid = dst.st_gid;
	if (fchownat(pfd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* chown cleared the set-id bits the caller asked for. */
	if ((mode & (S_ISUID | S_ISGID)) && !S_ISLNK(mode)) {
		_cleanup_close_ int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char p[32];

		if (fd < 0)
			return -errno;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (chmod(p, mode & 07777) < 0)
			return -errno;
	}
	return 0;
}

/* Reply with the entry of the upper object NAME just made in DIR. */
static int reply_upper_entry(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *dir, int pfd,
			     const char *name)
{
	struct fuse_entry_param e;
	struct fbx_found f = {0};
	struct fbx_node *n;
	int r;

	if (fstatat(pfd, name, &f.st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	r = fbx_node_ref(fs, dir, name, &f, &n);
	if (r < 0)
		return r;
	fbx_fill_entry(fs, n, &f.st, &e);
	if (fuse_reply_entry(req, &e) != 0)
		fbx_node_forget(fs, n, 1);
	return 0;
}

/*
 * Make a new object NAME in DIR with make(): the name must be free in the
 * merged view; a whiteout in the upper is replaced, and a new directory
 * over one is made opaque so that the lower one stays hidden.
 * Returns the O_PATH fd of the upper parent, or -errno.
 */
static int prepare_new(struct fbx_fs *fs, struct fbx_node *dir, const char *name, bool is_dir,
		       bool *opaque)
{
	_cleanup_close_ int pfd = -1;
	struct fbx_found f;
	int r;

	r = lookup_name(fs, dir, name, &f, &pfd);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	if (pfd < 0)
		pfd = fbx_upper_dirfd(fs, dir);
	if (pfd < 0)
		return pfd;
	/* An upper directory the lookup found empty there has no whiteout. */
	r = dir->layer == 0 && f.top_absent ? 0 : drop_whiteout(pfd, name);
	if (r < 0)
		return r;
	*opaque = is_dir && (r == 1 || fbx_lower_has(fs, dir, name) > 0);
	return TAKE_FD(pfd);
}

struct new_obj {
	mode_t mode;
	dev_t rdev;
	const char *link;
};

static int make_obj(int pfd, const char *name, const struct new_obj *o)
{
	int r;

	if (S_ISDIR(o->mode))
		r = mkdirat(pfd, name, o->mode & 07777);
	else if (S_ISLNK(o->mode))
		r = symlinkat(o->link, pfd, name);
	else
		r = mknodat(pfd, name, o->mode, o->rdev);
	return r < 0 ? -errno : 0;
}

static void new_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		      const struct new_obj *o)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *dir = fbx_node_get(fs, parent);
	_cleanup_close_ int pfd = -1;
	bool opaque = false;
	int r;

	r = fbx_can_change(fs, dir, dir);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Whiteouts are the overlay's own; so are names that look like them. */
	if (fbx_name_is_whiteout(name) || (S_ISCHR(o->mode) && o->rdev == 0)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	r = fbx_check(req, dir, name, FB_RIGHT_CREATE);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&fs->ns_lock);
	r = pfd = prepare_new(fs, dir, name, S_ISDIR(o->mode), &opaque);
	if (r >= 0)
		r = make_obj(pfd, name, o);
	if (r == 0) {
		if (opaque)
			r = fbx_set_opaque(pfd, name);
		if (r == 0)
			r = set_owner(pfd, name, req, o->mode);
		/* What was made goes again. */
		if (r < 0)
			unlinkat(pfd, name, S_ISDIR(o->mode) ? AT_REMOVEDIR : 0);
	}
	fbx_dircache_changed(fs, dir);
	if (r == 0)
		r = reply_upper_entry(req, fs, dir, pfd, name);
	pthread_mutex_unlock(&fs->ns_lock);
	if (r < 0)
		fuse_reply_err(req, -r);
}

static void fbx_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 dev_t rdev)
{
	struct new_obj o = {.mode = mode, .rdev = rdev};

	new_entry(req, parent, name, &o);
}

static void fbx_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct new_obj o = {.mode = S_IFDIR | (mode & 07777)};

	new_entry(req, parent, name, &o);
}

static void fbx_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct new_obj o = {.mode = S_IFLNK | 0777, .link = link};

	new_entry(req, parent, name, &o);
}

/* create: a new regular file, opened (ops_file.c attaches the open). */
int fbx_create_file(fuse_req_t req, struct fbx_node *dir, const char *name, mode_t mode,
		    int flags, int *fdp, int *pfdp)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int pfd = -1, fd = -1;
	bool opaque;
	int r;

	if (fbx_name_is_whiteout(name))
		return -EPERM;
	r = pfd = prepare_new(fs, dir, name, false, &opaque);
	if (r < 0)
		return r;
	fd = openat(pfd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | flags, mode & 07777);
	if (fd < 0)
		return -errno;
	r = set_owner(pfd, name, req, S_IFREG | mode);
	if (r < 0) {
		unlinkat(pfd, name, 0);
		return r;
	}
	*fdp = TAKE_FD(fd);
	*pfdp = TAKE_FD(pfd);
	return 0;
}

static void fbx_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino), *dir = fbx_node_get(fs, newparent);
	_cleanup_close_ int pfd = -1, src = -1;
	bool opaque;
	int r;

	r = fbx_can_change(fs, n, dir);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (S_ISDIR(n->type) || fbx_name_is_whiteout(newname)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	r = fbx_check(req, n, NULL, FB_RIGHT_LINK);
	if (r == 0)
		r = fbx_check(req, dir, newname, FB_RIGHT_LINK);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&fs->ns_lock);
	r = n->unlinked ? -ENOENT : fbx_copy_up(fs, n, true);
	if (r == 0)
		r = pfd = prepare_new(fs, dir, newname, false, &opaque);
	if (r >= 0)
		r = src = fbx_node_open(fs, n, 0, O_PATH);
	if (r >= 0 && linkat(src, "", pfd, newname, AT_EMPTY_PATH) < 0)
		r = -errno;
	fbx_dircache_changed(fs, dir);
	if (r >= 0)
		r = reply_upper_entry(req, fs, dir, pfd, newname);
	pthread_mutex_unlock(&fs->ns_lock);
	if (r < 0)
		fuse_reply_err(req, -r);
}

/*
 * Remove NAME from DIR: the upper object goes (or, while the kernel holds its
 * node, moves to the work dir), and a whiteout stays where a lower layer
 * shows the name.
 */
static int remove_name(struct fbx_fs *fs, struct fbx_node *dir, const char *name, bool want_dir)
{
	_cleanup_close_ int pfd = -1;
	struct fbx_node *live, tmp;
	struct fbx_found f;
	int r, lower;

	r = lookup_name(fs, dir, name, &f, NULL);
	if (r < 0)
		return r;
	if (want_dir && !S_ISDIR(f.st.st_mode))
		return -ENOTDIR;
	if (!want_dir && S_ISDIR(f.st.st_mode))
		return -EISDIR;
	live = live_node(fs, &f);
	temp_node(&tmp, dir, name, &f);
	if (!S_ISDIR(f.st.st_mode) && f.st.st_nlink > 1 && f.layer != 0) {
		/* Its other names stay: they become links of an upper copy. */
		r = fbx_copy_up(fs, live ? live : &tmp, true);
		if (r == 0)
			r = lookup_name(fs, dir, name, &f, NULL);
		if (r < 0)
			return r;
	}
	if (want_dir) {
		r = fbx_dir_is_empty(fs, live ? live : &tmp);
		if (r <= 0)
			return r < 0 ? r : -ENOTEMPTY;
	}
	pfd = fbx_upper_dirfd(fs, dir);
	if (pfd < 0)
		return pfd;
	if (f.layer != 0) {
		/* Only in lower layers: hide it. */
		r = fbx_make_whiteout(pfd, name);
		if (r == 0 && live)
			fbx_node_unhash(fs, live);
		return r;
	}
	lower = (want_dir && f.bottom > 0) ? 1 : fbx_lower_has(fs, dir, name);
	if (lower < 0)
		return lower;
	if (want_dir) {
		_cleanup_close_ int dfd =
		    openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0)
			return -errno;
		r = fbx_clear_whiteouts(dfd);
		if (r < 0)
			return r;
	}
	if (live)
		return fbx_orphan(fs, live, pfd, name, lower, last_name(fs, &f));
	return fbx_upper_remove(fs, pfd, name, lower, want_dir);
}

static void remove_op(fuse_req_t req, fuse_ino_t parent, const char *name, bool want_dir)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *dir = fbx_node_get(fs, parent);
	int r;

	r = fbx_can_change(fs, dir, dir);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = fbx_check(req, dir, name, FB_RIGHT_DELETE);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&fs->ns_lock);
	r = remove_name(fs, dir, name, want_dir);
	fbx_dircache_changed(fs, dir);
	pthread_mutex_unlock(&fs->ns_lock);
	fuse_reply_err(req, -r);
}

static void fbx_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_op(req, parent, name, false);
}

static void fbx_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_op(req, parent, name, true);
}

/* One side of a rename: the name, what it holds, its live node. */
struct rn_side {
	struct fbx_node *dir;
	const char *name;
	int pfd;
	bool exists;
	struct fbx_found f;
	struct fbx_node *live;
	struct fbx_node tmp; /* stands in for live when there is none */
};

static struct fbx_node *side_node(struct rn_side *s)
{
	return s->live ? s->live : &s->tmp;
}

/* A directory with lower parts cannot move: its lower halves stay where they are. */
static bool has_lower_parts(const struct rn_side *s)
{
	return S_ISDIR(s->f.st.st_mode) && (s->f.layer != 0 || s->f.bottom != 0);
}

static int rename_exchange(struct fbx_fs *fs, struct rn_side *a, struct rn_side *b)
{
	int r, la, lb;

	if (has_lower_parts(a) || has_lower_parts(b))
		return -EXDEV;
	r = fbx_copy_up(fs, side_node(a), true);
	if (r == 0)
		r = fbx_copy_up(fs, side_node(b), true);
	if (r < 0)
		return r;
	/* A directory arriving where a lower layer has the name hides it. */
	la = S_ISDIR(a->f.st.st_mode) ? fbx_lower_has(fs, b->dir, b->name) : 0;
	lb = S_ISDIR(b->f.st.st_mode) ? fbx_lower_has(fs, a->dir, a->name) : 0;
	if (la < 0 || lb < 0)
		return la < 0 ? la : lb;
	if ((la && (r = fbx_set_opaque(a->pfd, a->name)) < 0) ||
	    (lb && (r = fbx_set_opaque(b->pfd, b->name)) < 0))
		return r;
	if (renameat2(a->pfd, a->name, b->pfd, b->name, RENAME_EXCHANGE) < 0)
		return -errno;
	if (a->live && (r = fbx_node_move(fs, a->live, b->dir, b->name)) < 0)
		return r;
	if (b->live && (r = fbx_node_move(fs, b->live, a->dir, a->name)) < 0)
		return r;
	return 0;
}

static int rename_plain(struct fbx_fs *fs, struct rn_side *s, struct rn_side *d)
{
	bool src_dir = S_ISDIR(s->f.st.st_mode);
	int r, src_lower, dst_lower;

	if (has_lower_parts(s))
		return -EXDEV;
	if (d->exists) {
		bool dst_dir = S_ISDIR(d->f.st.st_mode);

		if (src_dir && !dst_dir)
			return -ENOTDIR;
		if (!src_dir && dst_dir)
			return -EISDIR;
		if (dst_dir) {
			r = fbx_dir_is_empty(fs, side_node(d));
			if (r <= 0)
				return r < 0 ? r : -ENOTEMPTY;
		}
	}
	r = fbx_copy_up(fs, side_node(s), true);
	/* A lower destination with other names: they stay, as upper links. */
	if (r == 0 && d->exists && d->f.layer != 0 && !S_ISDIR(d->f.st.st_mode) &&
	    d->f.st.st_nlink > 1) {
		r = fbx_copy_up(fs, side_node(d), true);
		if (r == 0)
			r = lookup_name(fs, d->dir, d->name, &d->f, NULL);
	}
	if (r < 0)
		return r;
	src_lower = fbx_lower_has(fs, s->dir, s->name);
	dst_lower = fbx_lower_has(fs, d->dir, d->name);
	if (src_lower < 0 || dst_lower < 0)
		return src_lower < 0 ? src_lower : dst_lower;

	/* Make room at the destination in the upper layer. */
	if (d->exists && d->f.layer == 0) {
		if (S_ISDIR(d->f.st.st_mode)) {
			_cleanup_close_ int dfd = openat(d->pfd, d->name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							     O_CLOEXEC);

			if (dfd < 0)
				return -errno;
			r = fbx_clear_whiteouts(dfd);
			if (r < 0)
				return r;
		}
		if (d->live) {
			r = fbx_orphan(fs, d->live, d->pfd, d->name, false, last_name(fs, &d->f));
			if (r < 0)
				return r;
		}
	} else if (!d->exists) {
		r = drop_whiteout(d->pfd, d->name);
		if (r < 0)
			return r;
		/* A non-directory would replace a whiteout by itself; a
		 * directory cannot, so it goes first (done above). */
	} else if (d->live) {
		fbx_node_unhash(fs, d->live); /* lower only: hidden from now on */
	}
	if (src_dir && dst_lower) {
		r = fbx_set_opaque(s->pfd, s->name);
		if (r < 0)
			return r;
	}
	if (renameat2(s->pfd, s->name, d->pfd, d->name, src_lower ? RENAME_WHITEOUT : 0) < 0) {
		r = -errno;
		if (r != -EINVAL || !src_lower)
			return r;
		if (renameat(s->pfd, s->name, d->pfd, d->name) < 0)
			return -errno;
		r = fbx_make_whiteout(s->pfd, s->name);
		if (r < 0)
			return r;
	}
	return s->live ? fbx_node_move(fs, s->live, d->dir, d->name) : 0;
}

static int side_init(struct fbx_fs *fs, struct rn_side *s, struct fbx_node *dir, const char *name)
{
	int r;

	*s = (struct rn_side){.dir = dir, .name = name, .pfd = -1};
	if (fbx_name_is_whiteout(name))
		return -EPERM;
	r = lookup_name(fs, dir, name, &s->f, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	s->exists = r == 0;
	if (s->exists) {
		s->live = live_node(fs, &s->f);
		temp_node(&s->tmp, dir, name, &s->f);
	}
	return 0;
}

static int do_rename(struct fbx_fs *fs, struct fbx_node *sdir, const char *sname,
		     struct fbx_node *ddir, const char *dname, unsigned int flags)
{
	struct rn_side s, d;
	int r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	r = side_init(fs, &s, sdir, sname);
	if (r == 0)
		r = side_init(fs, &d, ddir, dname);
	if (r < 0)
		return r;
	if (!s.exists)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && d.exists)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !d.exists)
		return -ENOENT;
	/* Two names of one object: nothing to do. */
	if (d.exists && s.f.st.st_dev == d.f.st.st_dev && s.f.st.st_ino == d.f.st.st_ino)
		return 0;
	s.pfd = fbx_upper_dirfd(fs, sdir);
	if (s.pfd < 0)
		return s.pfd;
	d.pfd = fbx_upper_dirfd(fs, ddir);
	if (d.pfd < 0) {
		close(s.pfd);
		return d.pfd;
	}
	r = flags & RENAME_EXCHANGE ? rename_exchange(fs, &s, &d) : rename_plain(fs, &s, &d);
	close(s.pfd);
	close(d.pfd);
	return r;
}

static void fbx_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *sdir = fbx_node_get(fs, parent), *ddir = fbx_node_get(fs, newparent);
	int r;

	r = fbx_can_change(fs, sdir, ddir);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = fbx_check(req, sdir, name, FB_RIGHT_RENAME);
	if (r == 0)
		r = fbx_check(req, ddir, newname, FB_RIGHT_RENAME);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&fs->ns_lock);
	r = do_rename(fs, sdir, name, ddir, newname, flags);
	fbx_dircache_changed(fs, sdir);
	fbx_dircache_changed(fs, ddir);
	pthread_mutex_unlock(&fs->ns_lock);
	fuse_reply_err(req, -r);
}

void fbx_ops_write_fill(struct fuse_lowlevel_ops *ops)
{
	ops->mknod = fbx_op_mknod;
	ops->mkdir = fbx_op_mkdir;
	ops->symlink = fbx_op_symlink;
	ops->create = fbx_op_create;
	ops->link = fbx_op_link;
	ops->unlink = fbx_op_unlink;
	ops->rmdir = fbx_op_rmdir;
	ops->rename = fbx_op_rename;
}
