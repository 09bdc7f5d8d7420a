// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hard links of lower layers are copied up once: when one name of a lower
 * non-directory with more than one link is copied up, every other name of it that the
 * merged tree shows is linked to the same upper inode, so the names stay one
 * file with one link count (what overlayfs does with index=on).
 *
 * A layer has no map from inode to names, so the first such copy-up from a
 * layer walks it once and keeps the names of its multiply-linked regular
 * non-directories (only those) for the daemon's life: layers are immutable.
 * Runs under fs->ns_lock.
 */
#include "fuseboxd.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#define HL_BUCKETS 1024
#define HL_MAX_DEPTH 256

struct hl_name {
	ino_t ino;
	struct hl_name *next;
	char path[]; /* relative to the layer root */
};

struct fbx_hl_index {
	bool built;
	struct hl_name *b[HL_BUCKETS];
};

static size_t hl_bucket(ino_t ino)
{
	return (size_t)(ino * 0x9e3779b97f4a7c15ULL >> 32) & (HL_BUCKETS - 1);
}

static int hl_add(struct fbx_hl_index *x, ino_t ino, const char *path)
{
	size_t len = strlen(path);
	struct hl_name *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return -ENOMEM;
	e->ino = ino;
	memcpy(e->path, path, len + 1);
	e->next = x->b[hl_bucket(ino)];
	x->b[hl_bucket(ino)] = e;
	return 0;
}

/* Walk directory fd (path rel, of length len in buf) of a layer on device dev. */
static int hl_scan_dir(struct fbx_hl_index *x, int fd, dev_t dev, char *buf, size_t len,
		       int depth)
{
	_cleanup_free_ char *dents = malloc(32768);
	ssize_t n;
	int r = 0;

	if (!dents)
		return -ENOMEM;
	if (depth > HL_MAX_DEPTH)
		return 0; /* deeper than any walk of ours: such names stay unlinked */
	while (r == 0 && (n = getdents64(fd, dents, 32768)) > 0) {
		for (ssize_t pos = 0; r == 0 && pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + pos);
			size_t nl = strlen(d->d_name);
			struct stat st;

			pos += d->d_reclen;
			if (streq(d->d_name, ".") || streq(d->d_name, ".."))
				continue;
			if (len + nl + 2 > PATH_MAX ||
			    fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
				continue;
			snprintf(buf + len, PATH_MAX - len, "%s%s", len ? "/" : "", d->d_name);
			if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
				r = hl_add(x, st.st_ino, buf);
			} else if (S_ISDIR(st.st_mode)) {
				int sub = openat(fd, d->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				if (sub >= 0) {
					r = hl_scan_dir(x, sub, dev, buf, strlen(buf), depth + 1);
					close(sub);
				}
			}
			buf[len] = '\0';
		}
	}
	return r;
}

static struct fbx_hl_index *hl_index(struct fbx_fs *fs, unsigned int layer)
{
	struct fbx_hl_index *x;
	char buf[PATH_MAX] = "";
	int fd;

	if (!fs->hl) {
		fs->hl = calloc(fs->nlayers, sizeof(*fs->hl));
		if (!fs->hl)
			return NULL;
	}
	if (!fs->hl[layer]) {
		fs->hl[layer] = calloc(1, sizeof(*fs->hl[layer]));
		if (!fs->hl[layer])
			return NULL;
	}
	x = fs->hl[layer];
	if (!x->built) {
		fd = openat(fs->layers[layer].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		if (hl_scan_dir(x, fd, fs->layers[layer].dev, buf, 0, 0) < 0)
			fbx_err("indexing the hard links of %s: incomplete",
				fs->layers[layer].path);
		close(fd);
		x->built = true;
	}
	return x;
}

void fbx_hardlinks_free(struct fbx_fs *fs)
{
	if (!fs->hl)
		return;
	for (unsigned int l = 0; l < fs->nlayers; l++) {
		if (!fs->hl[l])
			continue;
		for (size_t i = 0; i < HL_BUCKETS; i++)
			for (struct hl_name *e = fs->hl[l]->b[i], *next; e; e = next) {
				next = e->next;
				free(e);
			}
		free(fs->hl[l]);
	}
	free(fs->hl);
	fs->hl = NULL;
}

/*
 * Link PATH (relative to the merged root) to the upper inode ufd if the
 * merged tree shows the lower object (layer, ino) there. Directories on the
 * way are copied up through their live nodes where the kernel holds them.
 */
static int link_name(struct fbx_fs *fs, char *path, unsigned int layer, ino_t ino, int ufd)
{
	struct fbx_node *dir = fs->root, *temps[HL_MAX_DEPTH + 1];
	size_t ntemps = 0;
	char *comp = path, *slash;
	_cleanup_close_ int pfd = -1;
	struct fbx_dirfds d;
	struct fbx_found f;
	int r = 0;

	for (;;) {
		slash = strchr(comp, '/');
		if (slash)
			*slash = '\0';
		r = fbx_dirfds_init(&d, fs, dir, O_PATH);
		if (r == 0) {
			r = fbx_merge_lookup(&d, comp, &f);
			fbx_dirfds_close(&d);
		}
		if (r < 0 || !slash)
			break;
		if (!S_ISDIR(f.st.st_mode) || ntemps == ARRAY_SIZE(temps)) {
			r = -ENOENT;
			break;
		}
		struct fbx_node *next = fbx_node_find_key(fs, f.st.st_dev, f.st.st_ino);

		if (!next) {
			next = calloc(1, sizeof(*next));
			if (!next) {
				r = -ENOMEM;
				break;
			}
			*next = (struct fbx_node){.dev = f.st.st_dev, .ino = f.st.st_ino,
						  .parent = dir, .type = S_IFDIR,
						  .layer = (uint16_t)f.layer,
						  .bottom = (uint16_t)f.bottom, .name = comp};
			temps[ntemps++] = next;
		}
		dir = next;
		*slash = '/';
		comp = slash + 1;
	}
	/* Only a name that shows this very object gets the link. */
	if (r == 0 && f.layer == layer && f.st.st_ino == ino &&
	    f.st.st_dev == fs->layers[layer].dev) {
		struct stat pst;

		pfd = fbx_upper_dirfd(fs, dir);
		r = pfd < 0 ? pfd : fstat(pfd, &pst) < 0 ? -errno : 0;
		if (r == 0 && linkat(ufd, "", pfd, comp, AT_EMPTY_PATH) < 0)
			r = errno == EEXIST ? 0 : -errno;
		else if (r == 0)
			fbx_keep_times(pfd, &pst);
		fbx_dircache_changed(fs, dir);
	} else if (r == -ENOENT) {
		r = 0;
	}
	while (ntemps)
		free(temps[--ntemps]);
	return r;
}

/* The lower file (layer, ino) was copied up as ufd: give it its other names. */
int fbx_hardlinks_copy_up(struct fbx_fs *fs, unsigned int layer, ino_t ino, int ufd)
{
	struct fbx_hl_index *x = hl_index(fs, layer);
	char path[PATH_MAX];
	int r;

	if (!x)
		return -ENOMEM;
	for (struct hl_name *e = x->b[hl_bucket(ino)]; e; e = e->next) {
		if (e->ino != ino)
			continue;
		snprintf(path, sizeof(path), "%s", e->path);
		r = link_name(fs, path, layer, ino, ufd);
		if (r < 0)
			return r;
	}
	return 0;
}
