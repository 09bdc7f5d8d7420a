// SPDX-License-Identifier: GPL-2.0-only
/*
 * Layer roots and safe resolution beneath them. Every path the daemon opens
 * inside a layer goes through fbx_openat_beneath(): openat2() refuses any
 * symlink (so a layer's `x -> /etc` can never lead out of the layer),
 * magic links, `..` escapes and mount crossings. A node keeps no fd; its
 * path is rebuilt from its parent chain on each use.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* Inode numbers keep their low 48 bits; the layer's device index goes above. */
#define INO_TAG_SHIFT 48

int fbx_openat_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int tries = 0;
	long fd;

	do {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		/* EAGAIN: a concurrent rename or mount raced the walk. */
	} while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 16);
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Open the node's object in `layer` (its merged path is the same in every
 * layer). Paths longer than PATH_MAX are walked in pieces, each beneath the
 * directory reached so far.
 */
int fbx_node_open_locked(struct fbx_fs *fs, const struct fbx_node *node, unsigned int layer,
			 int flags)
{
	const struct fbx_layer *l = &fs->layers[layer];
	const char *small[64];
	_cleanup_free_ const char **heap = NULL;
	const char **names = small;
	_cleanup_close_ int owned = -1;
	const struct fbx_node *n;
	char path[PATH_MAX];
	size_t depth = 0, i, pos = 0;
	int dirfd = l->fd;

	if (node->orphan) {
		char name[24];

		if (layer != 0)
			return -ENOENT;
		fbx_orphan_name(node, name);
		return fbx_openat_beneath(fs->work_fd, name, flags);
	}
	if (!node->parent)
		return fbx_openat_beneath(l->fd, ".", flags);
	for (n = node; n->parent; n = n->parent)
		depth++;
	if (depth > ARRAY_SIZE(small)) {
		heap = calloc(depth, sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		names = heap;
	}
	i = depth;
	for (n = node; n->parent; n = n->parent)
		names[--i] = n->name;

	for (i = 0; i < depth; i++) {
		size_t len = strlen(names[i]);

		if (pos + len + 2 > sizeof(path)) {
			int fd;

			path[pos] = '\0';
			fd = fbx_openat_beneath(dirfd, path, O_PATH | O_DIRECTORY);
			if (fd < 0)
				return fd;
			closep(&owned);
			dirfd = owned = fd;
			pos = 0;
		}
		if (pos)
			path[pos++] = '/';
		memcpy(path + pos, names[i], len);
		pos += len;
	}
	path[pos] = '\0';
	return fbx_openat_beneath(dirfd, path, flags);
}

/*
 * Open the node's object in `layer` (its merged path is the same in every
 * layer). Paths longer than PATH_MAX are walked in pieces, each beneath the
 * directory reached so far. An orphan (unlinked while the kernel still knows
 * it) lives in the work directory.
 */
int fbx_node_open(struct fbx_fs *fs, const struct fbx_node *node, unsigned int layer, int flags)
{
	int r;

	if (!fs->has_upper)
		return fbx_node_open_locked(fs, node, layer, flags);
	pthread_rwlock_rdlock(&fs->tree_lock);
	r = fbx_node_open_locked(fs, node, layer, flags);
	pthread_rwlock_unlock(&fs->tree_lock);
	return r;
}

/*
 * The directory that holds the node's upper object (O_PATH) and the node's
 * name in it, for the *at() calls that must not follow a symlink.
 */
int fbx_node_parent_at(struct fbx_fs *fs, const struct fbx_node *node, int *dirfd, char **name)
{
	char buf[24];
	int fd;

	if (node->orphan) {
		fbx_orphan_name(node, buf);
		fd = fcntl(fs->work_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		*name = strdup(buf);
	} else {
		if (!node->parent)
			return -EBUSY; /* the root has no parent to change it through */
		pthread_rwlock_rdlock(&fs->tree_lock);
		fd = fbx_node_open_locked(fs, node->parent, 0, O_PATH | O_DIRECTORY);
		*name = fd >= 0 ? strdup(node->name) : NULL;
		pthread_rwlock_unlock(&fs->tree_lock);
		if (fd < 0)
			return fd;
	}
	if (!*name) {
		close(fd);
		return -ENOMEM;
	}
	*dirfd = fd;
	return 0;
}

uint64_t fbx_layer_ino(const struct fbx_layer *l, ino_t ino)
{
	/* Too large to tag: keep it; a collision only misleads hardlink detection. */
	if ((uint64_t)ino >> INO_TAG_SHIFT)
		return ino;
	return (uint64_t)ino | l->ino_tag;
}

void fbx_attr_fixup(struct fbx_fs *fs, unsigned int layer, unsigned int bottom, struct stat *st)
{
	if (layer == 0 && fs->has_upper) {
		unsigned int k = fbx_orphan_links(fs, st);

		st->st_nlink = st->st_nlink > k ? st->st_nlink - k : 0;
	}
	st->st_ino = fbx_layer_ino(&fs->layers[layer], st->st_ino);
	/* A merged directory's link count says nothing about its subdirectories. */
	if (S_ISDIR(st->st_mode) && bottom > layer)
		st->st_nlink = 1;
}

/* Attributes of a node as the kernel sees them. -ESTALE if the layer changed. */
int fbx_node_stat(struct fbx_fs *fs, const struct fbx_node *node, struct stat *st)
{
	_cleanup_close_ int fd = -1;

	fd = fbx_node_open(fs, node, node->layer, O_PATH);
	if (fd < 0)
		return fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP ? -ESTALE : fd;
	if (fstat(fd, st) < 0)
		return -errno;
	if (st->st_ino != node->ino || st->st_dev != node->dev ||
	    (st->st_mode & S_IFMT) != node->type)
		return -ESTALE;
	fbx_attr_fixup(fs, node->layer, node->bottom, st);
	/* An orphan's own work-dir link was not counted (fbx_attr_fixup). */
	if (node->unlinked && !node->orphan && st->st_nlink > 0 && !S_ISDIR(st->st_mode))
		st->st_nlink--;
	else if (node->unlinked && S_ISDIR(st->st_mode))
		st->st_nlink = 0;
	return 0;
}

static bool fs_is_stacked(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	return sfs.f_type == OVERLAYFS_SUPER_MAGIC || sfs.f_type == FUSE_SUPER_MAGIC ||
	       sfs.f_type == ECRYPTFS_SUPER_MAGIC;
}

void fbx_layers_close(struct fbx_layer *layers, size_t n)
{
	size_t i;

	if (!layers)
		return;
	for (i = 0; i < n; i++) {
		closep(&layers[i].fd);
		free(layers[i].path);
	}
	free(layers);
}

/* Open the layer roots. On failure *failed is the index of the layer at fault. */
int fbx_layers_open(char **paths, size_t n, struct fbx_layer **out, size_t *failed)
{
	struct fbx_layer *layers;
	uint64_t ndev = 0;
	size_t i, j;

	layers = calloc(n, sizeof(*layers));
	if (!layers)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		layers[i].fd = -1;
	for (i = 0; i < n; i++) {
		struct fbx_layer *l = &layers[i];
		struct stat st;

		*failed = i;
		l->path = strdup(paths[i]);
		if (!l->path)
			goto fail_errno;
		l->fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->fd < 0 || fstat(l->fd, &st) < 0)
			goto fail_errno;
		l->dev = st.st_dev;
		l->stacked = fs_is_stacked(l->fd);
		for (j = 0; j < i; j++)
			if (layers[j].dev == l->dev)
				break;
		l->ino_tag = j < i ? layers[j].ino_tag : (ndev++) << INO_TAG_SHIFT;
	}
	*out = layers;
	return 0;

fail_errno:;
	int r = -errno;

	fbx_layers_close(layers, n);
	return r;
}
