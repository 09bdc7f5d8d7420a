// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests that change an object, not the namespace: setattr (chmod, chown,
 * truncate, utimens), setxattr/removexattr, write (opens the kernel does not
 * pass through), fallocate, copy_file_range; and fsync, lseek. There is no
 * flush: locks are the kernel's and data is written through, so FLUSH gets
 * ENOSYS once and the kernel stops sending it (noopen has no noflush). A lower
 * object is copied up first (under ns_lock); then the upper object is
 * changed through an O_PATH fd of it, never through a path that a symlink
 * could redirect. Without an upper layer the changing ones fail with EROFS.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <sys/xattr.h>

#include "bpf/policy.h"

/* FATTR_KILL_SUIDGID of the kernel, which libfuse 3.17 passes on under this name. */
#define FBX_SET_ATTR_KILL_SUIDGID FUSE_SET_ATTR_KILL_SUID

/* Copy n up and open its upper object with flags. */
static int upper_open(struct fbx_fs *fs, struct fbx_node *n, int flags, bool with_data)
{
	int r;

	if (!fs->has_upper)
		return -EROFS;
	pthread_mutex_lock(&fs->ns_lock);
	r = fbx_copy_up(fs, n, with_data);
	pthread_mutex_unlock(&fs->ns_lock);
	return r < 0 ? r : fbx_node_open(fs, n, 0, flags);
}

static int set_attrs(fuse_req_t req, struct fbx_node *n, const struct stat *attr, int to_set,
		     struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	bool truncate_only = (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size == 0;
	/* A truncate by a caller without CAP_FSETID. */
	bool truncate_kill = (to_set & FUSE_SET_ATTR_SIZE) && (to_set & FBX_SET_ATTR_KILL_SUIDGID);
	_cleanup_close_ int fd = -1;
	char p[32];
	int r;

	r = fbx_check(req, n, NULL,
		      (to_set & FUSE_SET_ATTR_SIZE ? FB_RIGHT_WRITE : 0) |
			  (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
				     FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)
			       ? FB_RIGHT_SETATTR
			       : 0));
	if (r < 0)
		return r;
	fd = upper_open(fs, n, O_PATH, !truncate_only);
	if (fd < 0)
		return fd;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
			return -errno;
	}
	if ((to_set & FUSE_SET_ATTR_MODE) && !S_ISLNK(n->type) && chmod(p, attr->st_mode & 07777) < 0)
		return -errno;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		_cleanup_close_ int own = -1;
		int wfd;

		if (!S_ISREG(n->type))
			return S_ISDIR(n->type) ? -EISDIR : -EINVAL;
		wfd = fbx_file_fd(fs, n->id, fi, O_WRONLY, &own);
		if (wfd < 0)
			return wfd;
		if (ftruncate(wfd, attr->st_size) < 0)
			return -errno;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};

		if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = to_set & FUSE_SET_ATTR_ATIME_NOW ? (struct timespec){.tv_nsec = UTIME_NOW}
								 : attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = to_set & FUSE_SET_ATTR_MTIME_NOW ? (struct timespec){.tv_nsec = UTIME_NOW}
								 : attr->st_mtim;
		if (utimensat(fd, "", ts, AT_EMPTY_PATH) < 0)
			return -errno;
	}
	if (fs->killpriv && S_ISREG(n->type) && (to_set == 0 || truncate_kill)) {
		/* Nothing to set: the kernel's file_remove_privs() before a write,
		 * or chown(f, -1, -1), told apart as killpriv.c says. On chown to
		 * an owner or group the upper file system clears them. */
		enum fbx_kill_why why = FBX_KILL_CHOWN_OR_WRITE;

		if (truncate_kill)
			why = FBX_KILL_TRUNCATE;
		else if (atomic_exchange(&n->caps_dropped_by, 0) == fuse_req_ctx(req)->pid)
			why = FBX_KILL_DATA;
		r = fbx_kill_setid(req, fd, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static void fbx_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			   struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	struct stat st;
	int r;

	r = n ? set_attrs(req, n, attr, to_set, fi) : -ESTALE;
	if (r == 0)
		r = fbx_node_stat(fs, n, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, FBX_TIMEOUT);
}

static int change_xattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags, bool remove)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	_cleanup_close_ int fd = -1;
	char p[32];
	int r;

	if (!n)
		return -ESTALE;
	/* The overlay's own markers are not the container's to set. */
	if (fbx_xattr_is_private(name))
		return -EPERM;
	r = fbx_check(req, n, NULL, FB_RIGHT_SETATTR);
	if (r < 0)
		return r;
	fd = upper_open(fs, n, O_PATH, true);
	if (fd < 0)
		return fd;
	if (streq(name, FBX_XATTR_CAPS))
		n->no_caps = false;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	r = remove ? removexattr(p, name) : setxattr(p, name, value, size, flags);
	if (r < 0)
		return -errno;
	if (remove && streq(name, FBX_XATTR_CAPS))
		n->caps_dropped_by = fuse_req_ctx(req)->pid;
	return 0;
}

static void fbx_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			    size_t size, int flags)
{
	fuse_reply_err(req, -change_xattr(req, ino, name, value, size, flags, false));
}

static void fbx_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -change_xattr(req, ino, name, NULL, 0, 0, true));
}

static void fbx_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			     struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	_cleanup_close_ int own = -1;
	ssize_t n;
	int fd;

	fd = fbx_file_fd(fs, ino, fi, O_WRONLY, &own);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void fbx_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int own = -1;
	int fd;

	if (fs->nosync) {
		fuse_reply_err(req, 0);
		return;
	}
	fd = fbx_file_fd(fs, ino, fi, O_RDONLY, &own);
	if (fd < 0)
		fuse_reply_err(req, -fd);
	else
		fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0);
}

static void fbx_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			    struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	_cleanup_close_ int fd = -1;

	if (fs->nosync) {
		fuse_reply_err(req, 0);
		return;
	}
	fd = n ? fbx_node_open(fs, n, n->layer, O_RDONLY | O_DIRECTORY) : -ESTALE;
	if (fd < 0)
		fuse_reply_err(req, -fd);
	else
		fuse_reply_err(req, fsync(fd) < 0 ? errno : 0);
}

static void fbx_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			     struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int own = -1;
	int fd;

	if (!fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* The open file is an upper one: it was opened for writing. */
	fd = fbx_file_fd(fs, ino, fi, O_WRONLY, &own);
	if (fd < 0)
		fuse_reply_err(req, -fd);
	else
		fuse_reply_err(req, fallocate(fd, mode, offset, length) < 0 ? errno : 0);
}

static void fbx_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			 struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int own = -1;
	off_t res;
	int fd;

	fd = fbx_file_fd(fs, ino, fi, O_RDONLY, &own);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	res = lseek(fd, off, whence);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

static void fbx_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
				   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
				   off_t off_out, struct fuse_file_info *fi_out, size_t len,
				   int flags)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int own_in = -1, own_out = -1;
	int in, out;
	ssize_t n;

	if (!fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	in = fbx_file_fd(fs, ino_in, fi_in, O_RDONLY, &own_in);
	out = in < 0 ? in : fbx_file_fd(fs, ino_out, fi_out, O_WRONLY, &own_out);
	if (out < 0) {
		fuse_reply_err(req, -out);
		return;
	}
	n = copy_file_range(in, &off_in, out, &off_out, len, (unsigned int)flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

void fbx_ops_data_fill(struct fuse_lowlevel_ops *ops)
{
	ops->setattr = fbx_op_setattr;
	ops->setxattr = fbx_op_setxattr;
	ops->removexattr = fbx_op_removexattr;
	ops->write_buf = fbx_op_write_buf;
	ops->fsync = fbx_op_fsync;
	ops->fsyncdir = fbx_op_fsyncdir;
	ops->fallocate = fbx_op_fallocate;
	ops->lseek = fbx_op_lseek;
	ops->copy_file_range = fbx_op_copy_file_range;
}
