// SPDX-License-Identifier: GPL-2.0-only
/*
 * The seed-determined tree builder (--build-tree DIR --seed N --layers K).
 * It writes DIR/ref, a native directory holding the merged view, and
 * DIR/l0 .. DIR/l<K-1>, the layers (l0 top-most) that an overlay of them
 * must show as DIR/ref. Names come from the generator's pool, so the
 * operations hit what the builder made. Entries: directories, regular files
 * (empty, small, larger, sparse), symlinks (the generator's kinds of
 * target), FIFOs, hard links (within one layer), user.* xattrs, owners,
 * modes with setuid/setgid/sticky, and explicit mtimes (in the tester's
 * explicit range) on everything. With K > 1 the layers also hold what the
 * merged view must not show: files shadowed by an upper entry, a lower
 * directory under an upper file, whiteouts (character device 0/0) over
 * lower entries, and opaque directories (trusted.overlay.opaque=y) over
 * lower entries.
 */
#include "fsdiff.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define B_MAX_NODES 1024
#define B_MAX_LAYERS 16

enum btype { B_DIR, B_FILE, B_SYMLINK, B_FIFO, B_HARDLINK, B_WHITEOUT };

struct bnode {
	char path[FD_PATH_MAX];
	enum btype type;
	int parent; /* node index, -1: the root */
	unsigned int depth;
	unsigned int mode;
	uid_t uid;
	gid_t gid;
	int64_t sec;
	long nsec;
	uint64_t fill;
	int64_t size;
	unsigned int nseg; /* sparse: data extents; 0: all data */
	int64_t seg_off[3], seg_len[3];
	char target[FD_PATH_MAX];
	unsigned int nx;
	char xname[2][FD_XNAME_MAX];
	uint64_t xfill[2];
	size_t xlen[2];
	unsigned int layer;
	int link_to;
	bool visible;
	bool opaque;
	unsigned int floor; /* dir: descendants live in layers 0..floor */
	uint32_t copies;    /* dir: layers that hold a copy */
	unsigned int names; /* dir: pool names used by visible children (bits) */
};

struct builder {
	struct rng r;
	unsigned int layers;
	struct bnode *n;
	size_t count;
	struct bnode root;
	int dirfd;
};

static struct bnode *node_of(struct builder *b, int idx)
{
	return idx < 0 ? &b->root : &b->n[idx];
}

static int add_node(struct builder *b, int parent, const char *name, enum btype type)
{
	struct bnode *p = node_of(b, parent), *c;

	if (b->count == B_MAX_NODES)
		return -1;
	c = &b->n[b->count];
	memset(c, 0, sizeof(*c));
	if (parent >= 0 && strlen(p->path) + strlen(name) + 2 > sizeof(c->path))
		return -1;
	if (parent >= 0) {
		strcpy(c->path, p->path);
		strcat(c->path, "/");
	}
	strcat(c->path, name);
	c->type = type;
	c->parent = parent;
	c->depth = p->depth + 1;
	c->link_to = -1;
	c->visible = true;
	return (int)b->count++;
}

static void gen_meta(struct builder *b, struct bnode *c)
{
	static const unsigned int fmodes[] = {0644, 0644,  0600,  0755, 0444,
					      0640, 04755, 02755, 0000};
	static const unsigned int dmodes[] = {0755, 0755, 0700, 0775, 01777, 0555, 02775};
	static const unsigned int ids[] = {0, 0, 1000, 65534};
	static const char *const xn[] = {"user.a", "user.b", "user.fsdiff.long-name"};
	unsigned int i;

	c->mode = c->type == B_DIR ? dmodes[rng_below(&b->r, ARRAY_SIZE(dmodes))]
				   : fmodes[rng_below(&b->r, ARRAY_SIZE(fmodes))];
	if (c->type == B_FIFO)
		c->mode &= 0777;
	c->uid = ids[rng_below(&b->r, ARRAY_SIZE(ids))];
	c->gid = ids[rng_below(&b->r, ARRAY_SIZE(ids))];
	c->sec = FD_TIME_EXPLICIT_MIN + (int64_t)rng_below(&b->r, 400000000);
	c->nsec = (long)rng_below(&b->r, 1000000000);
	c->fill = rng_next(&b->r);
	if ((c->type == B_DIR || c->type == B_FILE) && rng_chance(&b->r, 25)) {
		c->nx = 1 + (unsigned int)rng_below(&b->r, 2);
		for (i = 0; i < c->nx; i++) {
			snprintf(c->xname[i], sizeof(c->xname[i]), "%s",
				 xn[i + rng_below(&b->r, 2)]);
			c->xfill[i] = rng_next(&b->r);
			c->xlen[i] = (size_t)rng_below(&b->r, 200);
		}
		if (c->nx == 2 && streq(c->xname[0], c->xname[1]))
			c->nx = 1;
	}
}

static void gen_file(struct builder *b, struct bnode *c)
{
	unsigned int roll = (unsigned int)rng_below(&b->r, 100), i;

	if (roll < 10)
		c->size = 0;
	else if (roll < 35)
		c->size = 1 + (int64_t)rng_below(&b->r, 100);
	else if (roll < 70)
		c->size = 1 + (int64_t)rng_below(&b->r, 16384);
	else if (roll < 88)
		c->size = 16384 + (int64_t)rng_below(&b->r, 200000);
	else {
		/* Sparse: a few 4 KiB-aligned data extents in up to 3 MiB. */
		c->size = 65536 + (int64_t)rng_below(&b->r, 3 << 20);
		c->nseg = 1 + (unsigned int)rng_below(&b->r, 3);
		for (i = 0; i < c->nseg; i++) {
			c->seg_off[i] = (int64_t)rng_below(&b->r, (uint64_t)c->size / 4096) * 4096;
			c->seg_len[i] = 4096 * (1 + (int64_t)rng_below(&b->r, 16));
		}
	}
}

/* Layers 0..max where a child of p may live. */
static unsigned int pick_layer(struct builder *b, const struct bnode *p)
{
	return (unsigned int)rng_below(&b->r, p->floor + 1);
}

/* Mark that layer l holds a copy of every directory from the root to p. */
static void need_dirs(struct builder *b, int p, unsigned int l)
{
	while (p >= 0) {
		b->n[p].copies |= 1u << l;
		p = b->n[p].parent;
	}
}

static void gen_dir(struct builder *b, int self, unsigned int depth)
{
	struct bnode *d = node_of(b, self);
	unsigned int i;

	for (i = 0; i < fd_nnames; i++) {
		unsigned int roll;
		enum btype t;
		int c;

		if (!rng_chance(&b->r, depth == 0 ? 85 : depth == 1 ? 60 : 45))
			continue;
		roll = (unsigned int)rng_below(&b->r, 100);
		t = roll < 28 && depth < 2 ? B_DIR
		    : roll < 70		   ? B_FILE
		    : roll < 82		   ? B_SYMLINK
		    : roll < 87		   ? B_FIFO
					   : B_HARDLINK;
		c = add_node(b, self, fd_names[i], t);
		if (c < 0)
			return;
		d->names |= 1u << i;
		b->n[c].layer = pick_layer(b, d);
		if (t == B_HARDLINK) {
			/* A link to an earlier file in the same layer, else a file. */
			size_t k, tries = (size_t)rng_below(&b->r, b->count);

			b->n[c].type = B_FILE;
			for (k = 0; k < b->count; k++) {
				size_t j = (tries + k) % b->count;

				if (b->n[j].type == B_FILE && b->n[j].visible && (int)j != c &&
				    b->n[j].layer <= d->floor) {
					b->n[c].type = B_HARDLINK;
					b->n[c].link_to = (int)j;
					b->n[c].layer = b->n[j].layer;
					break;
				}
			}
		}
		gen_meta(b, &b->n[c]);
		need_dirs(b, self, b->n[c].layer);
		switch (b->n[c].type) {
		case B_FILE:
			gen_file(b, &b->n[c]);
			break;
		case B_SYMLINK:
			gen_target(&b->r, b->n[c].target, sizeof(b->n[c].target));
			break;
		case B_DIR:
			b->n[c].floor = d->floor;
			b->n[c].copies = 1u << b->n[c].layer;
			if (b->layers > 1 && rng_chance(&b->r, 20)) {
				b->n[c].opaque = true;
				b->n[c].floor = b->n[c].layer;
			}
			gen_dir(b, c, depth + 1);
			break;
		default:
			break;
		}
	}
}

/* A hidden node at path parent/name in layer l (and what it needs). */
static int add_hidden(struct builder *b, int parent, const char *name, enum btype t, unsigned int l)
{
	int c = add_node(b, parent, name, t);

	if (c < 0)
		return -1;
	b->n[c].visible = false;
	b->n[c].layer = l;
	gen_meta(b, &b->n[c]);
	if (t == B_FILE)
		gen_file(b, &b->n[c]);
	if (t == B_DIR)
		b->n[c].copies = 1u << l;
	need_dirs(b, parent, l);
	return c;
}

static const char *unused_name(struct builder *b, const struct bnode *d)
{
	unsigned int i, start = (unsigned int)rng_below(&b->r, fd_nnames);

	for (i = 0; i < fd_nnames; i++) {
		unsigned int k = (start + i) % fd_nnames;

		if (!(d->names & (1u << k)))
			return fd_names[k];
	}
	return NULL;
}

static unsigned int name_bit(const char *name)
{
	unsigned int k;

	for (k = 0; k < fd_nnames; k++)
		if (streq(name, fd_names[k]))
			return 1u << k;
	return 0;
}

/* What the layers hold and the merged view must not show. */
static void gen_hidden(struct builder *b)
{
	size_t nvis = b->count, i;
	int d;

	for (i = 0; i < nvis; i++) {
		struct bnode *v = &b->n[i];
		const struct bnode *p = node_of(b, v->parent);
		const char *name = strrchr(v->path, '/') ? strrchr(v->path, '/') + 1 : v->path;
		unsigned int l;

		if (v->type == B_DIR || v->layer >= p->floor)
			continue;
		l = v->layer + 1 + (unsigned int)rng_below(&b->r, p->floor - v->layer);
		if (rng_chance(&b->r, 15)) {
			add_hidden(b, v->parent, name, B_FILE, l); /* shadowed by v */
		} else if (rng_chance(&b->r, 5)) {
			d = add_hidden(b, v->parent, name, B_DIR, l); /* a lower dir under v */
			if (d >= 0)
				add_hidden(b, d, fd_names[rng_below(&b->r, fd_nnames)], B_FILE, l);
		}
	}
	/* Whiteouts over lower entries, and lower entries under opaque dirs. */
	for (d = -1; d < (int)nvis; d++) {
		struct bnode *dir = node_of(b, d);
		const char *name;
		unsigned int w, l;
		int h;

		if (d >= 0 && dir->type != B_DIR)
			continue;
		if (dir->floor > 0 && rng_chance(&b->r, 30) && (name = unused_name(b, dir))) {
			w = (unsigned int)rng_below(&b->r, dir->floor);
			l = w + 1 + (unsigned int)rng_below(&b->r, dir->floor - w);
			dir->names |= name_bit(name);
			add_hidden(b, d, name, B_WHITEOUT, w);
			h = add_hidden(b, d, name, rng_chance(&b->r, 70) ? B_FILE : B_DIR, l);
			if (h >= 0 && b->n[h].type == B_DIR)
				add_hidden(b, h, "a", B_FILE, l);
		}
		if (d >= 0 && dir->opaque) {
			const struct bnode *p = node_of(b, dir->parent);

			if (dir->layer < p->floor) {
				l = dir->layer + 1 +
				    (unsigned int)rng_below(&b->r, p->floor - dir->layer);
				name = rng_chance(&b->r, 50) ? unused_name(b, dir) : NULL;
				add_hidden(b, d,
					   name ? name : fd_names[rng_below(&b->r, fd_nnames)],
					   B_FILE, l);
			}
		}
	}
}

/* ---- writing ------------------------------------------------------------------ */

static int write_file(int dfd, const char *path, const struct bnode *c)
{
	_cleanup_close_ int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	unsigned char *buf;
	unsigned int i;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (c->nseg == 0) {
		buf = malloc((size_t)c->size + 1);
		if (!buf)
			return -ENOMEM;
		fill_bytes(c->fill, buf, (size_t)c->size);
		r = write_full(fd, buf, (size_t)c->size);
		free(buf);
		return r;
	}
	if (ftruncate(fd, c->size) < 0)
		return -errno;
	buf = malloc(65536);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < c->nseg && r == 0; i++) {
		int64_t len = c->seg_len[i];

		if (c->seg_off[i] + len > c->size)
			len = c->size - c->seg_off[i];
		fill_bytes(c->fill + i, buf, (size_t)len);
		if (pwrite(fd, buf, (size_t)len, c->seg_off[i]) != len)
			r = -EIO;
	}
	free(buf);
	return r;
}

static int set_meta(int dfd, const char *path, const struct bnode *c)
{
	struct timespec ts[2] = {{.tv_sec = c->sec, .tv_nsec = c->nsec},
				 {.tv_sec = c->sec, .tv_nsec = c->nsec}};
	char proc[64 + FD_PATH_MAX];
	unsigned char val[256];
	unsigned int i;

	if (fchownat(dfd, path, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (c->type != B_SYMLINK && fchmodat(dfd, path, c->mode, 0) < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, path);
	for (i = 0; i < c->nx; i++) {
		fill_bytes(c->xfill[i], val, c->xlen[i]);
		if (lsetxattr(proc, c->xname[i], val, c->xlen[i], 0) < 0)
			return -errno;
	}
	if (utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Create node c in the tree at dfd (the ref or one layer). */
static int make_node(struct builder *b, int dfd, const struct bnode *c)
{
	int r = 0;

	switch (c->type) {
	case B_DIR:
		if (mkdirat(dfd, c->path, 0700) < 0)
			return -errno;
		return 0; /* metadata at the end: children change the mtime */
	case B_FILE:
		r = write_file(dfd, c->path, c);
		break;
	case B_SYMLINK:
		if (symlinkat(c->target, dfd, c->path) < 0)
			return -errno;
		break;
	case B_FIFO:
		if (mkfifoat(dfd, c->path, 0600) < 0)
			return -errno;
		break;
	case B_HARDLINK:
		if (linkat(dfd, b->n[c->link_to].path, dfd, c->path, 0) < 0)
			return -errno;
		return 0;
	case B_WHITEOUT:
		if (mknodat(dfd, c->path, S_IFCHR | 0000, makedev(0, 0)) < 0)
			return -errno;
		return 0;
	}
	return r < 0 ? r : set_meta(dfd, c->path, c);
}

static int open_layer(struct builder *b, unsigned int l)
{
	char name[16];

	snprintf(name, sizeof(name), "l%u", l);
	return openat(b->dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int materialize(struct builder *b)
{
	int fds[B_MAX_LAYERS + 1], r = 0;
	unsigned int l, nfd = b->layers + 1;
	size_t i;

	for (l = 0; l < nfd; l++)
		fds[l] = -1;
	fds[b->layers] = openat(b->dirfd, "ref", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (l = 0; l < b->layers; l++)
		fds[l] = open_layer(b, l);
	for (l = 0; l < nfd; l++)
		if (fds[l] < 0)
			r = -errno;
	for (i = 0; i < b->count && r == 0; i++) {
		const struct bnode *c = &b->n[i];

		if (c->visible)
			r = make_node(b, fds[b->layers], c);
		for (l = 0; l < b->layers && r == 0; l++) {
			bool here = c->type == B_DIR ? (c->copies >> l) & 1 : c->layer == l;

			if (here)
				r = make_node(b, fds[l], c);
		}
	}
	/* Directory metadata last, deepest first; the opaque marker with it. */
	for (i = b->count; i-- > 0 && r == 0;) {
		const struct bnode *c = &b->n[i];

		if (c->type != B_DIR)
			continue;
		if (c->visible)
			r = set_meta(fds[b->layers], c->path, c);
		for (l = 0; l < b->layers && r == 0; l++) {
			char proc[64 + FD_PATH_MAX];

			if (!((c->copies >> l) & 1))
				continue;
			if (c->opaque && l == c->layer) {
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", fds[l],
					 c->path);
				if (lsetxattr(proc, "trusted.overlay.opaque", "y", 1, 0) < 0)
					r = -errno;
			}
			if (r == 0)
				r = set_meta(fds[l], c->path, c);
		}
	}
	for (l = 0; l < nfd && r == 0; l++) {
		struct timespec ts[2] = {{.tv_sec = b->root.sec, .tv_nsec = b->root.nsec},
					 {.tv_sec = b->root.sec, .tv_nsec = b->root.nsec}};

		if (fchmodat(fds[l], ".", 0755, 0) < 0 || utimensat(fds[l], ".", ts, 0) < 0)
			r = -errno;
	}
	for (l = 0; l < nfd; l++)
		if (fds[l] >= 0)
			close(fds[l]);
	return r;
}

int build_tree(const char *dir, uint64_t seed, unsigned int layers)
{
	struct builder b = {.layers = layers};
	unsigned int l;
	char name[16];
	int r;

	if (layers < 1 || layers > B_MAX_LAYERS)
		return -EINVAL;
	rng_seed(&b.r, seed ^ 0x6275696c64ULL); /* not the op stream of the same seed */
	b.n = calloc(B_MAX_NODES, sizeof(*b.n));
	if (!b.n)
		return -ENOMEM;
	b.root.type = B_DIR;
	b.root.floor = layers - 1;
	b.root.parent = -1;
	b.root.sec = FD_TIME_EXPLICIT_MIN + (int64_t)rng_below(&b.r, 400000000);
	b.root.nsec = (long)rng_below(&b.r, 1000000000);
	gen_dir(&b, -1, 0);
	if (layers > 1)
		gen_hidden(&b);

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	b.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b.dirfd < 0) {
		r = -errno;
		goto out;
	}
	r = mkdirat(b.dirfd, "ref", 0755) < 0 ? -errno : 0;
	for (l = 0; l < layers && r == 0; l++) {
		snprintf(name, sizeof(name), "l%u", l);
		if (mkdirat(b.dirfd, name, 0755) < 0)
			r = -errno;
	}
	if (r == 0)
		r = materialize(&b);
	close(b.dirfd);
out:
	free(b.n);
	return r;
}
