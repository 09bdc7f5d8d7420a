// SPDX-License-Identifier: GPL-2.0-only
/*
 * The writable upper layer, in the formats of kernel overlayfs so that an
 * upper written here reads the same through `mount -t overlay` and
 * fuse-overlayfs, and the other way round:
 *   - copy-up: a lower object is copied into a private work directory (data
 *     with its holes, owner, mode, times, xattrs), then renamed into place;
 *     the node keeps its FUSE id and is re-keyed to the upper object;
 *   - whiteouts are character devices 0/0, left atomically by
 *     renameat2(RENAME_WHITEOUT) where a rename or removal needs one;
 *   - a directory that replaces a whited-out or lower name is made opaque
 *     (trusted.overlay.opaque = "y").
 * An upper object that is removed while the kernel still holds its node (an
 * open file, a cached inode) is moved into the work directory as "#<id>"
 * instead, so that the node keeps resolving to it and its inode number is
 * not reused; it is deleted when the kernel forgets the node.
 * Every function here runs under fs->ns_lock.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WORK_SUBDIR "fuseboxd"
#define COPY_CHUNK (1 << 20)

int fbx_upper_init(struct fbx_fs *fs, const char *workdir)
{
	_cleanup_close_ int wfd = -1;
	struct stat st;
	int r;

	wfd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0 || fstat(wfd, &st) < 0) {
		r = -errno;
		fbx_err("workdir %s: %s", workdir, strerror(-r));
		return r;
	}
	/* One daemon per work dir: a second would wipe the first's orphans. */
	if (flock(wfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		fbx_err("workdir %s: %s", workdir,
			r == -EWOULDBLOCK ? "in use by another fuseboxd" : strerror(-r));
		return r;
	}
	if (st.st_dev != fs->layers[0].dev) {
		fbx_err("workdir %s: not on the file system of upperdir %s", workdir,
			fs->layers[0].path);
		return -EXDEV;
	}
	/* Left over by a daemon that did not exit cleanly: nothing in it is live. */
	r = rm_rf_at(wfd, WORK_SUBDIR);
	if (r < 0 || (mkdirat(wfd, WORK_SUBDIR, 0700) < 0 && errno != EEXIST)) {
		r = r < 0 ? r : -errno;
		fbx_err("workdir %s: cannot prepare %s: %s", workdir, WORK_SUBDIR, strerror(-r));
		return r;
	}
	fs->work_fd = openat(wfd, WORK_SUBDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->work_fd < 0) {
		r = -errno;
		fbx_err("workdir %s: %s", workdir, strerror(-r));
		return r;
	}
	fs->work_lock_fd = TAKE_FD(wfd); /* the lock lives as long as the daemon */
	fs->has_upper = true;
	fs->layers[0].upper = true;
	return 0;
}

void fbx_upper_fini(struct fbx_fs *fs)
{
	if (fs->work_fd >= 0) {
		rm_rf_children_at(fs->work_fd);
		closep(&fs->work_fd);
	}
	closep(&fs->work_lock_fd);
}

/* Put back the times of a directory (O_PATH) that only the overlay changed. */
void fbx_keep_times(int dirfd, const struct stat *before)
{
	struct timespec ts[2] = {before->st_atim, before->st_mtim};

	utimensat(dirfd, "", ts, AT_EMPTY_PATH);
}

static void tmp_name(struct fbx_fs *fs, char buf[static 32])
{
	snprintf(buf, 32, "tmp.%llu", (unsigned long long)atomic_fetch_add(&fs->tmp_seq, 1));
}

int fbx_make_whiteout(int dirfd, const char *name)
{
	return mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) < 0 ? -errno : 0;
}

static int set_opaque_fd(int fd)
{
	if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) == 0)
		return 0;
	/* Without CAP_SYS_ADMIN (a user namespace): the userxattr format. */
	if ((errno == EPERM || errno == ENOTSUP) &&
	    fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) == 0)
		return 0;
	return -errno;
}

int fbx_set_opaque(int dirfd, const char *name)
{
	_cleanup_close_ int fd = -1;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return set_opaque_fd(fd);
}

/* Remove the whiteouts of an upper directory that is empty in the merged view. */
int fbx_clear_whiteouts(int dirfd)
{
	_cleanup_free_ char *buf = malloc(32768);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while ((n = getdents64(dirfd, buf, 32768)) > 0) {
		ssize_t pos;

		for (pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);
			struct stat st;

			pos += d->d_reclen;
			if (streq(d->d_name, ".") || streq(d->d_name, ".."))
				continue;
			if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
			if (!fbx_stat_is_whiteout(&st) && !fbx_name_is_whiteout(d->d_name))
				return -ENOTEMPTY;
			if (unlinkat(dirfd, d->d_name, 0) < 0)
				return -errno;
		}
	}
	return n < 0 ? -errno : 0;
}

/*
 * Does a layer below the upper show NAME in directory DIR? Then removing or
 * renaming the upper NAME must leave a whiteout. 1, 0 or -errno.
 */
int fbx_lower_has(struct fbx_fs *fs, struct fbx_node *dir, const char *name)
{
	struct fbx_dirfds d;
	struct fbx_found f;
	struct fbx_node probe;
	int r;

	if (dir->bottom == 0)
		return 0;
	/* The merged lookup of the lower part alone: the same rules, from layer 1. */
	probe = *dir;
	if (probe.layer == 0)
		probe.layer = 1;
	r = fbx_dirfds_init(&d, fs, &probe, O_PATH);
	if (r < 0)
		return r;
	r = fbx_merge_lookup(&d, name, &f);
	fbx_dirfds_close(&d);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* 1 if the merged directory lists nothing but . and .., 0 if it does, -errno. */
int fbx_dir_is_empty(struct fbx_fs *fs, struct fbx_node *dir)
{
	struct fbx_dirlist *l;
	int r;

	r = fbx_dirlist_build(fs, dir, &l);
	if (r < 0)
		return r;
	r = l->n <= 2;
	fbx_dirlist_free(l);
	return r;
}

/* The upper directory of a directory node (copied up first), O_PATH. */
int fbx_upper_dirfd(struct fbx_fs *fs, struct fbx_node *dir)
{
	int r = fbx_copy_up(fs, dir, true);

	if (r < 0)
		return r;
	return fbx_node_open(fs, dir, 0, O_PATH | O_DIRECTORY);
}

/* Copy data, keeping holes: only the data segments are copied. */
static int copy_data(int in, int out, off_t size)
{
	off_t pos = 0;

	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break; /* a hole up to the end */
			if (errno != EINVAL)
				return -errno;
			data = pos; /* no SEEK_DATA: copy everything */
			hole = size;
		} else {
			hole = lseek(in, data, SEEK_HOLE);
			if (hole < 0)
				hole = size;
		}
		while (data < hole) {
			off_t in_off = data, out_off = data;
			size_t len = (size_t)(hole - data) < COPY_CHUNK ? (size_t)(hole - data)
									 : COPY_CHUNK;
			ssize_t n = copy_file_range(in, &in_off, out, &out_off, len, 0);

			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
				      errno == ENOSYS)) {
				char buf[65536];

				n = pread(in, buf, len < sizeof(buf) ? len : sizeof(buf), data);
				if (n > 0 && pwrite(out, buf, (size_t)n, data) != n)
					return errno ? -errno : -EIO;
			}
			if (n < 0)
				return -errno;
			if (n == 0)
				return 0; /* the file shrank under us: keep what is there */
			data += n;
		}
		pos = hole;
	}
	return ftruncate(out, size) < 0 ? -errno : 0;
}

/* Copy the xattrs that are not the overlay's own; fd and dst are O_PATH. */
static int copy_xattrs(int src, int dst, bool is_link)
{
	char sp[32], dp[32];
	_cleanup_free_ char *list = NULL, *val = NULL;
	ssize_t n;
	char *p;

	snprintf(sp, sizeof(sp), "/proc/self/fd/%d", src);
	snprintf(dp, sizeof(dp), "/proc/self/fd/%d", dst);
	n = listxattr(sp, NULL, 0);
	if (n <= 0)
		return n < 0 && errno != ENOTSUP ? -errno : 0;
	list = malloc((size_t)n);
	val = malloc(XATTR_SIZE_MAX);
	if (!list || !val)
		return -ENOMEM;
	n = listxattr(sp, list, (size_t)n);
	if (n < 0)
		return -errno;
	for (p = list; p < list + n; p += strlen(p) + 1) {
		ssize_t len;

		if (fbx_xattr_is_private(p))
			continue;
		len = getxattr(sp, p, val, XATTR_SIZE_MAX);
		if (len < 0)
			continue; /* gone meanwhile, or not readable: nothing to copy */
		if (setxattr(dp, p, val, (size_t)len, 0) < 0) {
			/* Symlinks take no user.* attributes; a security module
			 * may refuse its own. Both are lost by overlayfs too. */
			if (is_link || errno == EPERM || errno == ENOTSUP)
				continue;
			return -errno;
		}
	}
	return 0;
}

/* Create a copy of the object src (O_PATH, attributes st) as work/tmp. */
static int copy_object(struct fbx_fs *fs, const struct fbx_node *n, int src,
		       const struct stat *st, const char *tmp, bool with_data)
{
	_cleanup_close_ int in = -1, out = -1, dst = -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	char target[PATH_MAX + 1];
	ssize_t len;
	int r = 0;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		out = openat(fs->work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (out < 0)
			return -errno;
		if (with_data && st->st_size > 0) {
			in = fbx_node_open(fs, n, n->layer, O_RDONLY | O_NOATIME);
			if (in == -EPERM)
				in = fbx_node_open(fs, n, n->layer, O_RDONLY);
			if (in < 0)
				return in;
			r = copy_data(in, out, st->st_size);
		}
		break;
	case S_IFDIR:
		if (mkdirat(fs->work_fd, tmp, 0700) < 0)
			return -errno;
		break;
	case S_IFLNK:
		len = readlinkat(src, "", target, sizeof(target));
		if (len < 0 || (size_t)len >= sizeof(target))
			return len < 0 ? -errno : -ENAMETOOLONG;
		target[len] = '\0';
		if (symlinkat(target, fs->work_fd, tmp) < 0)
			return -errno;
		break;
	default:
		if (mknodat(fs->work_fd, tmp, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
			return -errno;
		break;
	}
	if (r < 0)
		return r;
	dst = openat(fs->work_fd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return -errno;
	r = copy_xattrs(src, dst, S_ISLNK(st->st_mode));
	if (r < 0)
		return r;
	if (fchownat(dst, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0)
		return -errno;
	/* After chown, which clears set-id bits. */
	if (!S_ISLNK(st->st_mode)) {
		char dp[32];

		snprintf(dp, sizeof(dp), "/proc/self/fd/%d", dst);
		if (chmod(dp, st->st_mode & 07777) < 0)
			return -errno;
	}
	if (utimensat(dst, "", ts, AT_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/*
 * Make node n an upper object: copy its parents up, then n itself.
 * with_data false: a regular file is copied empty (it is about to be
 * truncated to 0). No-op for upper objects.
 */
int fbx_copy_up(struct fbx_fs *fs, struct fbx_node *n, bool with_data)
{
	_cleanup_close_ int src = -1, pfd = -1;
	struct stat st, pst;
	char tmp[32], dest[24];
	int r;

	if (!fs->has_upper)
		return -EROFS;
	if (n->layer == 0)
		return 0;
	if (!n->parent)
		return -EIO; /* the root is always an upper directory */
	if (!n->unlinked) {
		pfd = fbx_upper_dirfd(fs, n->parent);
		if (pfd < 0)
			return pfd;
	}
	src = fbx_node_open(fs, n, n->layer, O_PATH);
	if (src < 0)
		return src == -ENOENT ? -ESTALE : src;
	if (fstat(src, &st) < 0)
		return -errno;
	/* Copying up adds an entry to the upper parent, not to the merged one. */
	if (pfd >= 0 && fstat(pfd, &pst) < 0)
		return -errno;
	tmp_name(fs, tmp);
	r = copy_object(fs, n, src, &st, tmp, with_data);
	if (r == 0) {
		if (n->unlinked) {
			/* Open but unlinked: it stays nameless, in the work dir. */
			fbx_orphan_name(n, dest);
			if (renameat(fs->work_fd, tmp, fs->work_fd, dest) < 0)
				r = -errno;
		} else if (renameat2(fs->work_fd, tmp, pfd, n->name, RENAME_NOREPLACE) < 0) {
			r = -errno;
		} else {
			fbx_keep_times(pfd, &pst);
			/* The name now shows the copy, with its inode number. */
			fbx_dircache_changed(fs, n->parent);
		}
	}
	if (r < 0) {
		rm_rf_at(fs->work_fd, tmp);
		return r;
	}
	if (n->unlinked)
		fbx_orphan_mark(fs, n);
	closep(&src);
	src = fbx_node_open(fs, n, 0, O_PATH);
	if (src < 0)
		return src;
	/* The file's other lower names become links of the copy (hardlink.c). */
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !n->unlinked)
		r = fbx_hardlinks_copy_up(fs, n->layer, st.st_ino, src);
	if (r < 0 || fstat(src, &st) < 0)
		return r < 0 ? r : -errno;
	fbx_node_rekey(fs, n, &st, 0);
	return 0;
}

/*
 * Remove the upper object NAME from dirfd, leaving a whiteout in its place
 * in one step when a lower layer shows the name.
 */
int fbx_upper_remove(struct fbx_fs *fs, int dirfd, const char *name, bool leave_whiteout,
		     bool is_dir)
{
	char t[32];

	if (!leave_whiteout)
		return unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	snprintf(t, sizeof(t), "rm.%llu", (unsigned long long)atomic_fetch_add(&fs->tmp_seq, 1));
	if (renameat2(dirfd, name, fs->work_fd, t, RENAME_WHITEOUT) < 0)
		return -errno;
	return rm_rf_at(fs->work_fd, t);
}

/*
 * The upper object NAME in dirfd, whose node n the kernel still holds, goes
 * to the work directory as "#<id>" (with a whiteout left at NAME when a lower
 * layer shows the name), so that n keeps resolving to it. An orphan already
 * has its work-dir link: then only NAME goes. last: no other name of the
 * object remains, and look-ups must never find n again.
 */
int fbx_orphan(struct fbx_fs *fs, struct fbx_node *n, int dirfd, const char *name,
	       bool leave_whiteout, bool last)
{
	char dest[24];
	int r = 0;

	if (n->orphan) {
		r = fbx_upper_remove(fs, dirfd, name, leave_whiteout, S_ISDIR(n->type));
	} else {
		fbx_orphan_name(n, dest);
		if (renameat2(dirfd, name, fs->work_fd, dest,
			      leave_whiteout ? RENAME_WHITEOUT : 0) < 0) {
			if (!leave_whiteout || errno != EINVAL)
				return -errno;
			/* No RENAME_WHITEOUT on this file system: two steps. */
			if (renameat(dirfd, name, fs->work_fd, dest) < 0)
				return -errno;
			r = fbx_make_whiteout(dirfd, name);
		}
		fbx_orphan_mark(fs, n);
	}
	if (last)
		fbx_node_unhash(fs, n);
	return r;
}

/* n now lives in the work dir. */
void fbx_orphan_mark(struct fbx_fs *fs, struct fbx_node *n)
{
	pthread_rwlock_wrlock(&fs->tree_lock);
	pthread_mutex_lock(&fs->itable.lock);
	n->orphan = true;
	n->next_orphan = fs->orphans;
	fs->orphans = n;
	pthread_mutex_unlock(&fs->itable.lock);
	pthread_rwlock_unlock(&fs->tree_lock);
}

/*
 * How many of the links of the upper object st are work-dir links of
 * orphans: they are no names of the file, and nlink must not count them.
 */
unsigned int fbx_orphan_links(struct fbx_fs *fs, const struct stat *st)
{
	unsigned int k = 0;

	if (!fs->orphans || S_ISDIR(st->st_mode))
		return 0;
	pthread_mutex_lock(&fs->itable.lock);
	for (struct fbx_node *o = fs->orphans; o; o = o->next_orphan)
		if (o->ino == st->st_ino && o->dev == st->st_dev)
			k++;
	pthread_mutex_unlock(&fs->itable.lock);
	return k;
}

/* The kernel forgot an orphan: its object goes. itable.lock held. */
void fbx_orphan_drop(struct fbx_fs *fs, struct fbx_node *n)
{
	char name[24];

	for (struct fbx_node **p = &fs->orphans; *p; p = &(*p)->next_orphan)
		if (*p == n) {
			*p = n->next_orphan;
			break;
		}
	fbx_orphan_name(n, name);
	rm_rf_at(fs->work_fd, name);
}
