// SPDX-License-Identifier: GPL-2.0-only
/*
 * File data: open, read, release. With FUSE passthrough the kernel reads the
 * backing file itself and never sends FUSE_READ; the daemon keeps one
 * backing id per node, shared by all its opens (the kernel refuses two
 * different backing files on one inode), and closes it on the last release.
 * Without passthrough the open keeps an fd and reads are spliced from it.
 */
#include "fuseboxd.h"

#include <fcntl.h>

static int open_backing(struct fbx_fs *fs, const struct fbx_node *n)
{
	/* Reading a lower file must not write its atime. */
	int fd = fbx_node_open(fs, n, n->layer, O_RDONLY | O_NOATIME);

	if (fd == -EPERM)
		fd = fbx_node_open(fs, n, n->layer, O_RDONLY);
	return fd;
}

/* Attach the node's backing file to this open. Returns false to fall back. */
static bool passthrough_attach(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n, int fd,
			       struct fuse_file_info *fi)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);
	bool ok;

	pthread_mutex_lock(lock);
	if (n->backing_id <= 0) {
		int id = fuse_passthrough_open(req, fd);

		if (id > 0)
			n->backing_id = id;
	}
	ok = n->backing_id > 0;
	if (ok) {
		n->nopen++;
		fi->backing_id = n->backing_id;
		fi->fh = FBX_FH_PASSTHROUGH;
	}
	pthread_mutex_unlock(lock);
	if (!ok && !atomic_exchange(&fs->passthrough_failed_logged, true))
		fbx_log(FUSE_LOG_WARNING,
			"passthrough refused for a file of %s: its reads go through the daemon",
			fs->layers[n->layer].path);
	return ok;
}

/* Drop one open's share of the backing id; the last one closes it. */
static void passthrough_detach(fuse_req_t req, struct fbx_fs *fs, struct fbx_node *n, bool close_id)
{
	pthread_mutex_t *lock = fbx_open_lock(fs, n);

	pthread_mutex_lock(lock);
	if (n->nopen > 0 && --n->nopen == 0 && close_id && n->backing_id > 0) {
		fuse_passthrough_close(req, n->backing_id);
		n->backing_id = 0;
	}
	pthread_mutex_unlock(lock);
}

void fbx_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	int fd;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!S_ISREG(n->type)) {
		fuse_reply_err(req, S_ISDIR(n->type) ? EISDIR : EINVAL);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fd = open_backing(fs, n);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	/* Immutable layers: closing needs no FLUSH. */
	fi->noflush = 1;
	/* The kernel refuses any open flag but direct_io, noflush and
	 * parallel_direct_writes with passthrough: keep_cache only without. */
	if (fs->passthrough && passthrough_attach(req, fs, n, fd, fi)) {
		/* The kernel holds the backing file now; no fd stays open. */
		close(fd);
		if (fuse_reply_open(req, fi) != 0)
			/* req is gone: leave the id to the node's next release. */
			passthrough_detach(NULL, fs, n, false);
		return;
	}
	/* Page cache of the FUSE inode survives closes. */
	fi->keep_cache = 1;
	fi->fh = (uint64_t)fd;
	if (fuse_reply_open(req, fi) != 0)
		close(fd);
}

void fbx_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	_cleanup_close_ int own = -1;
	int fd = (int)fi->fh;

	if (fi->fh == FBX_FH_PASSTHROUGH) {
		/* Not expected: the kernel reads passthrough files itself. */
		struct fbx_node *n = fbx_node_get(fs, ino);

		own = n ? open_backing(fs, n) : -ESTALE;
		if (own < 0) {
			fuse_reply_err(req, -own);
			return;
		}
		fd = own;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	/* Spliced from the backing file when the kernel allows it. */
	fuse_reply_data(req, &buf, 0);
}

void fbx_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);

	if (fi->fh == FBX_FH_PASSTHROUGH) {
		struct fbx_node *n = fbx_node_get(fs, ino);

		if (n)
			passthrough_detach(req, fs, n, true);
	} else {
		close((int)fi->fh);
	}
	fuse_reply_err(req, 0);
}
