// SPDX-License-Identifier: GPL-2.0-only
/*
 * Merged directory listings (kept and shared by dircache.c): the layers of
 * the directory's range are read top-most first; a name is listed from the
 * first layer that shows it, and whiteouts (both formats) and the opaque
 * marker are never listed. A whiteout hides its name from the layers below
 * its own only (OCI: "files present in the same layer as a whiteout file can
 * only be hidden by whiteout files in subsequent layers").
 */
#include "fuseboxd.h"

#include <dirent.h>
#include <fcntl.h>

#define GETDENTS_BUF (64 * 1024)
#define NAMES_MAX_BYTES (1ull << 30)

/* Open-addressing set of names (offsets into the listing's name arena). */
struct nameset {
	uint32_t *slots; /* name_off + 1, 0 = empty */
	size_t cap;	 /* power of two */
	size_t count;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static bool nameset_has(const struct nameset *set, const char *names, const char *name)
{
	size_t i;

	if (!set->cap)
		return false;
	for (i = hash_name(name) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
		if (streq(names + set->slots[i] - 1, name))
			return true;
	return false;
}

static int nameset_add(struct nameset *set, const char *names, uint32_t off)
{
	size_t i;

	if ((set->count + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 256, j;
		uint32_t *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (j = 0; j < set->cap; j++) {
			uint32_t s = set->slots[j];

			if (!s)
				continue;
			for (i = hash_name(names + s - 1) & (cap - 1); slots[i];
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = s;
		}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	for (i = hash_name(names + off) & (set->cap - 1); set->slots[i];
	     i = (i + 1) & (set->cap - 1))
		;
	set->slots[i] = off + 1;
	set->count++;
	return 0;
}

static int names_add(struct fbx_dirlist *l, const char *name, uint32_t *off)
{
	size_t len = strlen(name) + 1;

	if (l->names_len + len > l->names_cap) {
		size_t cap = l->names_cap ? l->names_cap * 2 : 4096;
		char *n;

		while (cap < l->names_len + len)
			cap *= 2;
		if (cap > NAMES_MAX_BYTES)
			return -EFBIG;
		n = realloc(l->names, cap);
		if (!n)
			return -ENOMEM;
		l->names = n;
		l->names_cap = cap;
	}
	memcpy(l->names + l->names_len, name, len);
	*off = (uint32_t)l->names_len;
	l->names_len += len;
	return 0;
}

static int ents_add(struct fbx_dirlist *l, uint32_t name_off, uint8_t type, uint64_t ino)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct fbx_dirent *e;

		if (l->n >= FBX_DIR_MAX_ENTRIES)
			return -EFBIG;
		e = realloc(l->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		l->ents = e;
		l->cap = cap;
	}
	l->ents[l->n++] = (struct fbx_dirent){.ino = ino, .name_off = name_off, .type = type};
	return 0;
}

static int list_add(struct fbx_dirlist *l, const char *name, uint8_t type, uint64_t ino,
		    uint32_t *off)
{
	int r = names_add(l, name, off);

	return r < 0 ? r : ents_add(l, *off, type, ino);
}

/* Give back what growing left unused; the bytes the listing holds now. */
size_t fbx_dirlist_trim(struct fbx_dirlist *l)
{
	struct fbx_dirent *e = l->n ? realloc(l->ents, l->n * sizeof(*e)) : NULL;
	char *names = l->names_len ? realloc(l->names, l->names_len) : NULL;

	if (e) {
		l->ents = e;
		l->cap = l->n;
	}
	if (names) {
		l->names = names;
		l->names_cap = l->names_len;
	}
	return sizeof(*l) + l->cap * sizeof(*l->ents) + l->names_cap;
}

void fbx_dirlist_free(struct fbx_dirlist *l)
{
	if (!l)
		return;
	free(l->ents);
	free(l->names);
	free(l);
}

static int open_layer_dir(struct fbx_fs *fs, struct fbx_node *dir, unsigned int layer)
{
	/* Listing a lower directory must not write its atime. */
	int fd = fbx_node_open(fs, dir, layer, O_RDONLY | O_DIRECTORY | O_NOATIME);

	if (fd == -EPERM)
		fd = fbx_node_open(fs, dir, layer, O_RDONLY | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == -EXDEV)
		fd = -ENOENT;
	return fd;
}

/* Whiteouts seen in the layer being read; they apply from the next layer on. */
struct pending {
	uint32_t *off;
	size_t n, cap;
};

static int pending_add(struct fbx_dirlist *l, struct pending *p, const char *name)
{
	uint32_t off;
	int r;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		uint32_t *o = realloc(p->off, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		p->off = o;
		p->cap = cap;
	}
	r = names_add(l, name, &off);
	if (r < 0)
		return r;
	p->off[p->n++] = off;
	return 0;
}

static int read_layer(struct fbx_fs *fs, struct fbx_dirlist *l, struct nameset *seen, int fd,
		      unsigned int layer, bool merge, bool last, char *buf)
{
	struct pending wh = {0};
	ssize_t n;
	int r = 0;

	while ((n = getdents64(fd, buf, GETDENTS_BUF)) > 0) {
		ssize_t pos;

		for (pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);
			const char *name = d->d_name;
			uint8_t type = d->d_type;
			uint32_t off;

			pos += d->d_reclen;
			if (streq(name, ".") || streq(name, "..") || streq(name, ".wh..wh..opq"))
				continue;
			if (fbx_name_is_whiteout(name)) {
				if (merge && !last && name[4]) {
					r = pending_add(l, &wh, name + 4);
					if (r < 0)
						goto out;
				}
				continue;
			}
			if (type == DT_CHR || type == DT_UNKNOWN) {
				struct stat st;

				if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				if (fbx_stat_is_whiteout(&st)) {
					if (merge && !last) {
						r = pending_add(l, &wh, name);
						if (r < 0)
							goto out;
					}
					continue;
				}
				type = IFTODT(st.st_mode);
			}
			if (merge && nameset_has(seen, l->names, name))
				continue;
			r = list_add(l, name, type, fbx_layer_ino(&fs->layers[layer], d->d_ino),
				     &off);
			if (r == 0 && merge && !last)
				r = nameset_add(seen, l->names, off);
			if (r < 0)
				goto out;
		}
	}
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (size_t i = 0; i < wh.n && r == 0; i++)
		if (!nameset_has(seen, l->names, l->names + wh.off[i]))
			r = nameset_add(seen, l->names, wh.off[i]);
out:
	free(wh.off);
	return r;
}

int fbx_dirlist_build(struct fbx_fs *fs, struct fbx_node *dir, struct fbx_dirlist **out)
{
	bool merge = dir->bottom > dir->layer;
	struct nameset seen = {0};
	struct fbx_dirlist *l;
	_cleanup_free_ char *buf = NULL;
	const struct fbx_node *up = dir->parent ? dir->parent : dir;
	unsigned int layer;
	uint32_t off;
	int r;

	l = calloc(1, sizeof(*l));
	buf = malloc(GETDENTS_BUF);
	if (!l || !buf) {
		free(l);
		return -ENOMEM;
	}
	r = list_add(l, ".", DT_DIR, fbx_layer_ino(&fs->layers[dir->layer], dir->ino), &off);
	if (r == 0)
		r = list_add(l, "..", DT_DIR, fbx_layer_ino(&fs->layers[up->layer], up->ino), &off);
	for (layer = dir->layer; r == 0 && layer <= dir->bottom; layer++) {
		int fd = open_layer_dir(fs, dir, layer);

		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			r = fd;
			break;
		}
		r = read_layer(fs, l, &seen, fd, layer, merge, layer == dir->bottom, buf);
		close(fd);
	}
	free(seen.slots);
	if (r < 0) {
		fbx_dirlist_free(l);
		return r;
	}
	*out = l;
	return 0;
}
