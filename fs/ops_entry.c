// SPDX-License-Identifier: GPL-2.0-only
/*
 * Name and attribute requests: lookup, forget, getattr, readlink, access,
 * statfs. Replies carry long timeouts (immutable layers), misses included,
 * so the kernel asks each question about a name once.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/statvfs.h>

void fbx_fill_entry(struct fbx_fs *fs, const struct fbx_node *n, const struct stat *st,
		    struct fuse_entry_param *e)
{
	*e = (struct fuse_entry_param){
	    .ino = n->id,
	    .generation = n->generation,
	    .attr = *st,
	    .attr_timeout = FBX_TIMEOUT,
	    .entry_timeout = FBX_TIMEOUT,
	};
	fbx_attr_fixup(fs, n->layer, n->bottom, &e->attr);
}

void fbx_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *dir = fbx_node_get(fs, parent), *n;
	struct fuse_entry_param e;
	struct fbx_dirfds d;
	struct fbx_found f;
	int r;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!S_ISDIR(dir->type)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	r = fbx_dirfds_init(&d, fs, dir, O_PATH);
	if (r == 0) {
		r = fbx_merge_lookup(&d, name, &f);
		fbx_dirfds_close(&d);
	}
	if (r == -ENOENT) {
		/* Negative entry: the kernel caches the miss for the timeout. */
		e = (struct fuse_entry_param){.entry_timeout = FBX_TIMEOUT};
		fuse_reply_entry(req, &e);
		return;
	}
	if (r == 0)
		r = fbx_node_ref(fs, dir, name, &f, &n);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fbx_fill_entry(fs, n, &f.st, &e);
	if (fuse_reply_entry(req, &e) != 0)
		fbx_node_forget(fs, n, 1); /* the kernel never got it */
}

void fbx_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);

	if (n)
		fbx_node_forget(fs, n, nlookup);
	fuse_reply_none(req);
}

void fbx_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	size_t i;

	for (i = 0; i < count; i++) {
		struct fbx_node *n = fbx_node_get(fs, forgets[i].ino);

		if (n)
			fbx_node_forget(fs, n, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

void fbx_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	struct stat st;
	int r;

	r = n ? fbx_node_stat(fs, n, &st) : -ESTALE;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, FBX_TIMEOUT);
}

void fbx_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	_cleanup_close_ int fd = -1;
	char buf[PATH_MAX + 1];
	ssize_t len;

	if (!n || !S_ISLNK(n->type)) {
		fuse_reply_err(req, n ? EINVAL : ESTALE);
		return;
	}
	fd = fbx_node_open(fs, n, n->layer, O_PATH);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	len = readlinkat(fd, "", buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		fuse_reply_err(req, len < 0 ? errno : ENAMETOOLONG);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Only asked when the mount lacks default_permissions (e.g. a /dev/fd/N mount). */
void fbx_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	struct stat st;
	mode_t bits;
	int r;

	r = n ? fbx_node_stat(fs, n, &st) : -ESTALE;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((mask & W_OK) && !fs->has_upper) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (ctx->uid == 0) {
		bool x_ok = S_ISDIR(st.st_mode) || (st.st_mode & 0111);

		fuse_reply_err(req, (mask & X_OK) && !x_ok ? EACCES : 0);
		return;
	}
	if (ctx->uid == st.st_uid)
		bits = (st.st_mode >> 6) & 7;
	else if (fbx_caller_in_group(req, st.st_gid))
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	fuse_reply_err(req, ((mode_t)mask & 7 & ~bits) ? EACCES : 0);
}

void fbx_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct statvfs sv;

	if (fstatvfs(fs->layers[0].fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}
