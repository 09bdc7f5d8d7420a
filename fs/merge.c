// SPDX-License-Identifier: GPL-2.0-only
/*
 * Merged lookup: which layer's object a name in a merged directory stands
 * for. The top-most layer that has the name wins; a directory merges with
 * directories of the same name below it until a layer makes it opaque, and
 * a non-directory hides everything below. Whiteouts hide the name in the
 * layers below theirs, in both formats found in the wild:
 *   - overlayfs: a character device 0/0 named NAME;
 *   - OCI layer tarballs: a file `.wh.NAME` (same layer's NAME stays visible);
 * and opaque directories are marked by the xattr trusted.overlay.opaque,
 * user.overlay.opaque or user.fuseoverlayfs.opaque = "y", or by a
 * `.wh..wh..opq` file inside them.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static const char *const opaque_xattrs[] = {
    "trusted.overlay.opaque",
    "user.overlay.opaque",
    "user.fuseoverlayfs.opaque",
};

bool fbx_name_is_whiteout(const char *name)
{
	return startswith(name, WH_PREFIX);
}

bool fbx_stat_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque_xattr(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opaque_xattrs); i++)
		if (streq(name, opaque_xattrs[i]))
			return true;
	return false;
}

/* 1 if the directory (a readable fd, not O_PATH) is opaque, 0 if not, -errno. */
int fbx_fd_is_opaque(int dirfd)
{
	_cleanup_free_ char *heap = NULL;
	char small[1024], *list = small, *p;
	struct stat st;
	ssize_t n;

	n = flistxattr(dirfd, small, sizeof(small));
	if (n < 0 && errno == ERANGE) {
		n = flistxattr(dirfd, NULL, 0);
		if (n > 0) {
			heap = malloc((size_t)n);
			if (!heap)
				return -ENOMEM;
			list = heap;
			n = flistxattr(dirfd, heap, (size_t)n);
		}
	}
	if (n < 0 && errno != ENOTSUP)
		return -errno;
	for (p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
		char v[2];

		if (is_opaque_xattr(p) && fgetxattr(dirfd, p, v, sizeof(v)) == 1 && v[0] == 'y')
			return 1;
	}
	if (fstatat(dirfd, WH_OPAQUE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* Does this layer's directory hold an OCI whiteout `.wh.NAME`? */
static int has_oci_whiteout(int dirfd, const char *name)
{
	char wh[NAME_MAX + 1];
	struct stat st;

	if (strlen(WH_PREFIX) + strlen(name) > NAME_MAX)
		return 0;
	snprintf(wh, sizeof(wh), WH_PREFIX "%s", name);
	if (fstatat(dirfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* Does directory NAME of this layer stop the merge with the layers below? */
static int dir_stops_merge(int dirfd, const char *name)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = has_oci_whiteout(dirfd, name);
	if (r)
		return r;
	/* One component, validated by the caller, no symlink followed. */
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fbx_fd_is_opaque(fd);
}

int fbx_dirfds_init(struct fbx_dirfds *d, struct fbx_fs *fs, struct fbx_node *dir, int flags)
{
	size_t n = (size_t)dir->bottom - dir->layer + 1, i;

	*d = (struct fbx_dirfds){.fs = fs, .dir = dir, .flags = flags};
	d->fd = malloc(n * sizeof(*d->fd));
	if (!d->fd)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		d->fd[i] = FBX_DIRFD_UNSET;
	return 0;
}

/* The root's O_PATH lookups use the layer root fds themselves. */
static bool borrows_layer_fd(const struct fbx_dirfds *d)
{
	return d->dir == d->fs->root && (d->flags & O_PATH);
}

/* The directory's fd in `layer`, or -ENOENT when the layer has no such directory. */
int fbx_dirfds_get(struct fbx_dirfds *d, unsigned int layer)
{
	int *slot = &d->fd[layer - d->dir->layer];
	int fd;

	if (*slot != FBX_DIRFD_UNSET)
		return *slot;
	if (borrows_layer_fd(d)) {
		fd = d->fs->layers[layer].fd;
	} else {
		fd = fbx_node_open(d->fs, d->dir, layer, d->flags | O_DIRECTORY);
		/* Absent, not a directory, a symlink or a mount in this layer:
		 * the layer does not contribute below this point. */
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == -EXDEV)
			fd = -ENOENT;
	}
	*slot = fd;
	return fd;
}

/* The directory's fd in `layer`, now the caller's to close (a layer root is dup'ed). */
int fbx_dirfds_take(struct fbx_dirfds *d, unsigned int layer)
{
	int fd = fbx_dirfds_get(d, layer);

	if (fd < 0)
		return fd;
	if (borrows_layer_fd(d)) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	d->fd[layer - d->dir->layer] = FBX_DIRFD_UNSET;
	return fd;
}

void fbx_dirfds_close(struct fbx_dirfds *d)
{
	size_t n, i;

	if (!d->fd)
		return;
	n = (size_t)d->dir->bottom - d->dir->layer + 1;
	for (i = 0; i < n && !borrows_layer_fd(d); i++)
		if (d->fd[i] >= 0)
			close(d->fd[i]);
	free(d->fd);
	d->fd = NULL;
}

/*
 * Look NAME up in the merged directory d->dir. Returns 0 and fills *out,
 * -ENOENT when no layer shows the name (absent or whited out), or -errno.
 */
int fbx_merge_lookup(struct fbx_dirfds *d, const char *name, struct fbx_found *out)
{
	struct fbx_fs *fs = d->fs;
	bool found = false;
	unsigned int l;

	if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return -ENOENT;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	out->top_absent = false;
	if (fbx_name_is_whiteout(name))
		return -ENOENT;

	for (l = d->dir->layer; l <= d->dir->bottom; l++) {
		bool last = l == d->dir->bottom; /* nothing below to hide */
		int dfd = fbx_dirfds_get(d, l), r;
		struct stat st;

		if (dfd == -ENOENT)
			continue;
		if (dfd < 0)
			return dfd;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return -errno;
			out->top_absent |= l == d->dir->layer;
			if (last)
				break;
			r = has_oci_whiteout(dfd, name);
			if (r < 0)
				return r;
			if (r)
				break;
			continue;
		}
		/* A mount point inside a layer: its content is not part of it. */
		if (st.st_dev != fs->layers[l].dev)
			continue;
		if (fbx_stat_is_whiteout(&st))
			break;
		if (!found) {
			out->st = st;
			out->layer = out->bottom = l;
			found = true;
		} else if (S_ISDIR(st.st_mode)) {
			out->bottom = l;
		}
		if (!S_ISDIR(st.st_mode) || last)
			break;
		r = dir_stops_merge(dfd, name);
		if (r < 0)
			return r;
		if (r)
			break;
	}
	return found ? 0 : -ENOENT;
}
