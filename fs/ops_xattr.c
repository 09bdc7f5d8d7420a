// SPDX-License-Identifier: GPL-2.0-only
/*
 * Extended attributes, read-only. The overlay's private attributes
 * (trusted.overlay.*, user.overlay.*, user.fuseoverlayfs.*) are never shown.
 * Nodes are opened O_PATH (no side effects on devices or fifos), which the
 * f*xattr calls refuse, so attributes are read through /proc/self/fd/N: the
 * magic link lands on the opened object itself, symlinks included.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/xattr.h>

static const char *const private_prefixes[] = {
    "trusted.overlay.",
    "user.overlay.",
    "user.fuseoverlayfs.",
};

bool fbx_xattr_is_private(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(private_prefixes); i++)
		if (startswith(name, private_prefixes[i]))
			return true;
	return false;
}

/* O_PATH fd of the node and the /proc path that reaches it. */
static int open_for_xattr(struct fbx_fs *fs, const struct fbx_node *n, char path[static 32])
{
	int fd;

	if (!n)
		return -ESTALE;
	fd = fbx_node_open(fs, n, n->layer, O_PATH);
	if (fd >= 0)
		snprintf(path, 32, "/proc/self/fd/%d", fd);
	return fd;
}

void fbx_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char path[32];
	ssize_t len;

	/* The kernel asks for security.capability at a file's first write:
	 * a file made here has none until one is set through us. */
	if (fbx_xattr_is_private(name) || (n && n->no_caps && streq(name, FBX_XATTR_CAPS))) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	fd = open_for_xattr(fs, n, path);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	len = getxattr(path, name, buf, size);
	if (len < 0)
		fuse_reply_err(req, errno);
	else if (!size)
		fuse_reply_xattr(req, (size_t)len);
	else
		fuse_reply_buf(req, buf, (size_t)len);
}

void fbx_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *list = NULL;
	char path[32], *p, *w;
	ssize_t len;

	fd = open_for_xattr(fs, fbx_node_get(fs, ino), path);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	/* The full list, then filtered: what the caller sees is a subset. */
	list = malloc(XATTR_LIST_MAX);
	if (!list) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	len = listxattr(path, list, XATTR_LIST_MAX);
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	for (p = w = list; p < list + len;) {
		size_t l = strnlen(p, (size_t)(list + len - p)) + 1;

		if (!fbx_xattr_is_private(p)) {
			memmove(w, p, l);
			w += l;
		}
		p += l;
	}
	len = w - list;
	if (!size)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, (size_t)len);
}
