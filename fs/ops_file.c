// SPDX-License-Identifier: GPL-2.0-only
/*
 * File data: open, read, release. With FUSE passthrough the kernel reads the
 * backing file itself and never sends FUSE_READ; the daemon keeps one
 * backing id per node, shared by all its opens (the kernel refuses two
 * different backing files on one inode). An upper file's id is closed on the
 * last release; a lower file's is kept until the kernel forgets the node (up
 * to FBX_BACKING_KEEP_MAX per mount), so opening it again costs the daemon
 * no system call but the request's own read and reply.
 * Without passthrough the open keeps an fd and reads are spliced from it.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>

/* Kernel ABI since 6.9; Debian 12's kernel headers predate it. */
#ifndef FUSE_DEV_IOC_BACKING_CLOSE
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)
#endif

#include "bpf/policy.h"

/*
 * The file the kernel reads (and, for upper files, writes) for this node:
 * upper files are opened read-write once and shared by every open.
 */
static int open_backing(struct fbx_fs *fs, const struct fbx_node *n, bool *rw)
{
	int fd;

	*rw = false;
	if (fs->has_upper && n->layer == 0) {
		fd = fbx_node_open(fs, n, 0, O_RDWR);
		if (fd >= 0) {
			*rw = true;
			return fd;
		}
	}
	/* Reading a lower file must not write its atime. */
	fd = fbx_node_open(fs, n, n->layer, O_RDONLY | O_NOATIME);
	if (fd == -EPERM)
		fd = fbx_node_open(fs, n, n->layer, O_RDONLY);
	return fd;
}

/*
 * Close n's backing id (its open lock held, or n dead). req may be NULL when
 * there is none: the kernel only needs the connection.
 */
void fbx_backing_drop(struct fbx_fs *fs, fuse_req_t req, struct fbx_node *n)
{
	if (n->backing_id <= 0)
		return;
	if (req)
		fuse_passthrough_close(req, n->backing_id);
	else
		ioctl(fuse_session_fd(fs->se), FUSE_DEV_IOC_BACKING_CLOSE, &n->backing_id);
	n->backing_id = 0;
	if (n->backing_kept) {
		n->backing_kept = false;
		atomic_fetch_sub(&fs->backing_kept, 1);
	}
}

/* May n's backing id outlive its last open? Only a lower file's. */
static bool keep_backing(struct fbx_fs *fs, struct fbx_node *n)
{
	if (n->backing_kept)
		return true;
	if (fs->has_upper && n->backing_layer == 0)
		return false;
	if (atomic_fetch_add(&fs->backing_kept, 1) >= FBX_BACKING_KEEP_MAX) {
		atomic_fetch_sub(&fs->backing_kept, 1);
		return false;
	}
	n->backing_kept = true;
	return true;
}

/* This open of n is passed through with its backing id; its lock held. */
static void attach_locked(struct fbx_node *n, struct fuse_file_info *fi)
{
	n->nopen++;
	fi->backing_id = n->backing_id;
	fi->fh = FBX_FH_PASSTHROUGH;
}

/*
 * Attach the node's backing file to this open: 1 when attached, 0 to serve
 * the open in the daemon instead, -ETXTBSY when it can be neither. The kernel
 * keeps one io mode per inode: while one open of it is passed through, every
 * other must be, with the same backing file; while one is served by the
 * daemon (cached), none may be passed through. So an open is served by the
 * daemon while others are and when the kernel refuses the file. A file just
 * created is passed through too: its first write then costs no WRITE round
 * trip, which is dearer than setting up and closing the backing file.
 * -ETXTBSY: the node's open backing file is not this one (the lower file,
 * still open, after a copy-up).
 */
static int passthrough_attach(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n, int fd,
			      bool fd_rw, bool writing, struct fuse_file_info *fi)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);
	bool refused = false;
	int r;

	pthread_mutex_lock(lock);
	if (n->ncached > 0) {
		n->ncached++;
		pthread_mutex_unlock(lock);
		return 0;
	}
	/* A kept id of a file copied up since, or read-only for a writer. */
	if (n->backing_id > 0 && n->nopen == 0 &&
	    (n->backing_layer != n->layer || (writing && !n->backing_rw)))
		fbx_backing_drop(fs, req, n);
	if (n->backing_id <= 0) {
		int id = fuse_passthrough_open(req, fd);

		if (id > 0) {
			n->backing_id = id;
			n->backing_layer = n->layer;
			n->backing_rw = fd_rw;
		}
		refused = id <= 0;
	}
	if (n->backing_id <= 0)
		r = 0;
	else if (n->backing_layer != n->layer || (writing && !n->backing_rw))
		r = -ETXTBSY;
	else
		r = 1;
	if (r == 1)
		attach_locked(n, fi);
	else if (r == 0)
		n->ncached++;
	pthread_mutex_unlock(lock);
	if (refused && !atomic_exchange(&fs->passthrough_failed_logged, true))
		fbx_log(FUSE_LOG_WARNING,
			"passthrough refused for a file of %s: its reads go through the daemon",
			fs->layers[n->layer].path);
	return r;
}

/* A daemon-served open of n ends. */
static void cached_detach(struct fbx_fs *fs, struct fbx_node *n)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);

	pthread_mutex_lock(lock);
	if (n->ncached > 0)
		n->ncached--;
	pthread_mutex_unlock(lock);
}

/* Drop one open's share of the backing id; the last one closes it unless
 * it is kept. */
static void passthrough_detach(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n, bool close_id)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);

	pthread_mutex_lock(lock);
	if (n->nopen > 0 && --n->nopen == 0 && close_id && !keep_backing(fs, n))
		fbx_backing_drop(fs, req, n);
	pthread_mutex_unlock(lock);
}

/*
 * A read-only open of a file whose backing id is kept: passed through with
 * that id, no file opened. False when there is none (or the daemon serves
 * other opens of it), for the full open.
 */
static bool open_kept(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n,
		      struct fuse_file_info *fi)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);
	bool ok;

	pthread_mutex_lock(lock);
	ok = n->backing_id > 0 && n->ncached == 0 && n->backing_layer == n->layer;
	if (ok)
		attach_locked(n, fi);
	pthread_mutex_unlock(lock);
	if (!ok)
		return false;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0)
		passthrough_detach(NULL, fs, n, false);
	return true;
}

/*
 * Finish an open of node n: fd is its backing file (fd_rw: opened for
 * writing), taken over. Replies to the request.
 */
static void open_reply(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n, int fd, bool fd_rw,
		       struct fuse_file_info *fi, const struct fuse_entry_param *e)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	int r;

	/* Closing needs no FLUSH: locks are the kernel's, data is written through. */
	fi->noflush = 1;
	/* The kernel refuses any open flag but direct_io, noflush and
	 * parallel_direct_writes with passthrough: keep_cache only without. */
	r = fs->passthrough ? passthrough_attach(req, fs, n, fd, fd_rw, writing, fi) : 0;
	if (r < 0) {
		fuse_reply_err(req, -r);
		close(fd);
		return;
	}
	if (r == 1) {
		/* The kernel holds the backing file now; no fd stays open. */
		close(fd);
		r = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
		if (r != 0)
			/* req is gone: leave the id to the node's next release. */
			passthrough_detach(NULL, fs, n, false);
		return;
	}
	if (writing && !fd_rw) {
		fuse_reply_err(req, EROFS);
		close(fd);
		if (fs->passthrough)
			cached_detach(fs, n);
		return;
	}
	/* Page cache of the FUSE inode survives closes: lower files never change. */
	fi->keep_cache = n->layer != 0;
	fi->fh = (uint64_t)fd;
	r = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	if (r != 0) {
		close(fd);
		if (fs->passthrough)
			cached_detach(fs, n);
	}
}

static bool lower_backing_busy(struct fbx_fs *fs, struct fbx_node *n)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);
	bool busy;

	pthread_mutex_lock(lock);
	busy = n->backing_id > 0 && n->nopen > 0;
	pthread_mutex_unlock(lock);
	return busy;
}

/*
 * O_TRUNC, done here (FUSE_CAP_ATOMIC_O_TRUNC): the kernel sends no SETATTR,
 * so the set-id bits this caller must not leave go here too, and the kernel,
 * which still has the old mode, is told to ask again.
 */
static int truncate_at_open(fuse_req_t req, struct fbx_fs *fs, fuse_ino_t ino, int fd)
{
	int r;

	if (ftruncate(fd, 0) < 0)
		return -errno;
	if (!fs->killpriv)
		return 0;
	r = fbx_kill_setid(req, fd, FBX_KILL_DATA);
	if (r > 0)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	return r < 0 ? r : 0;
}

void fbx_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC), rw;
	int fd, r = 0;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!S_ISREG(n->type)) {
		fuse_reply_err(req, S_ISDIR(n->type) ? EISDIR : EINVAL);
		return;
	}
	r = fbx_check(req, n, NULL, fbx_open_rights(fi->flags));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fs->noopen) {
		/* From now on the kernel opens files without asking. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (writing && !fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!writing && fs->passthrough && open_kept(req, fs, n, fi))
		return;
	if (writing && n->layer != 0 && lower_backing_busy(fs, n)) {
		/* The kernel takes one backing file per inode and all its opens
		 * must use it: while the lower file is open with passthrough, an
		 * open of the upper copy can be served neither way. */
		fuse_reply_err(req, ETXTBSY);
		return;
	}
	if (writing && n->layer != 0) {
		pthread_mutex_lock(&fs->ns_lock);
		/* Truncating: no need to copy the data first. */
		r = fbx_copy_up(fs, n, !(fi->flags & O_TRUNC));
		pthread_mutex_unlock(&fs->ns_lock);
	}
	fd = r < 0 ? r : open_backing(fs, n, &rw);
	if (fd >= 0 && (fi->flags & O_TRUNC)) {
		r = truncate_at_open(req, fs, ino, fd);
		if (r < 0) {
			close(fd);
			fd = r;
		}
	}
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	open_reply(req, fs, n, fd, rw, fi, NULL);
	if (!writing)
		fbx_prefetch_opened(fs, n);
}

void fbx_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *dir = fbx_node_get(fs, parent), *n;
	_cleanup_close_ int pfd = -1, fd = -1;
	struct fuse_entry_param e;
	struct fbx_found f = {0};
	int r;

	r = fbx_can_change(fs, dir, dir);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = fbx_check(req, dir, name, FB_RIGHT_CREATE | fbx_open_rights(fi->flags));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	pthread_mutex_lock(&fs->ns_lock);
	r = fbx_create_file(req, dir, name, mode, O_RDWR, &fd, &pfd);
	fbx_dircache_changed(fs, dir);
	if (r == 0 && fstat(fd, &f.st) < 0)
		r = -errno;
	if (r == 0)
		r = fbx_node_ref(fs, dir, name, &f, &n);
	if (r == 0)
		n->no_caps = true;
	pthread_mutex_unlock(&fs->ns_lock);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fbx_fill_entry(fs, n, &f.st, &e);
	/* A reply that does not reach the kernel leaves a lookup it never counted;
	 * the node then lives until the daemon exits. */
	open_reply(req, fs, n, TAKE_FD(fd), true, fi, &e);
}

/* Is fd an open of the lower file of a node that has been copied up since? */
static bool stale_lower_fd(struct fbx_fs *fs, fuse_ino_t ino, int fd)
{
	struct fbx_node *n;
	struct stat st;

	if (!fs->has_upper)
		return false;
	n = fbx_node_get(fs, ino);
	return n && n->layer == 0 && fstat(fd, &st) == 0 &&
	       (st.st_ino != n->ino || st.st_dev != n->dev);
}

/*
 * An fd of the open file for a request that the kernel sends even for
 * passthrough opens (fsync, fallocate, lseek, copy_file_range, truncate):
 * the open's own fd, or the node's object opened with flags into *own.
 */
int fbx_file_fd(struct fbx_fs *fs, fuse_ino_t ino, struct fuse_file_info *fi, int flags, int *own)
{
	struct fbx_node *n;
	int r;

	/* Without OPEN (noopen) fh is 0 and means nothing; an open of the
	 * lower file of a node copied up since reads what is no longer there
	 * (an open for writing is always of the upper file). */
	if (fi && !fs->noopen && fi->fh != FBX_FH_PASSTHROUGH &&
	    ((flags & O_ACCMODE) != O_RDONLY || !stale_lower_fd(fs, ino, (int)fi->fh)))
		return (int)fi->fh;
	n = fbx_node_get(fs, ino);
	if (!n)
		return -ESTALE;
	if ((flags & O_ACCMODE) != O_RDONLY && n->layer != 0) {
		/* Only without OPEN can a write reach a lower file: copy it up. */
		pthread_mutex_lock(&fs->ns_lock);
		r = fbx_copy_up(fs, n, true);
		pthread_mutex_unlock(&fs->ns_lock);
		if (r < 0)
			return r;
	}
	*own = fbx_node_open(fs, n, n->layer, flags);
	return *own;
}

void fbx_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	_cleanup_close_ int own = -1;
	int fd;

	fd = fbx_file_fd(fs, ino, fi, O_RDONLY, &own);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	/* Spliced from the backing file when the kernel allows it. */
	fuse_reply_data(req, &buf, 0);
	if (fs->noopen && off == 0) {
		struct fbx_node *n = fbx_node_get(fs, ino);

		if (n)
			fbx_prefetch_opened(fs, n);
	}
}

void fbx_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);

	struct fbx_node *n = fs->passthrough ? fbx_node_get(fs, ino) : NULL;

	if (fi->fh == FBX_FH_PASSTHROUGH) {
		if (n)
			passthrough_detach(req, fs, n, true);
	} else {
		close((int)fi->fh);
		if (n)
			cached_detach(fs, n);
	}
	fuse_reply_err(req, 0);
}
