// SPDX-License-Identifier: GPL-2.0-only
/*
 * Directories: opendir builds the merged listing once (dirlist.c), readdir
 * and readdirplus page through it by index, releasedir frees it. The kernel
 * may cache the listing (cache_readdir, keep_cache): layers are immutable.
 * readdirplus replies carry entries, so each listed name counts a lookup on
 * its node, exactly as a LOOKUP reply would.
 */
#include "fuseboxd.h"

#include <dirent.h>
#include <fcntl.h>

#include "bpf/policy.h"

/* An open directory: its merged listing, built when first read. */
struct dir_handle {
	struct fbx_dirlist *l;
};

static struct dir_handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct dir_handle *)(uintptr_t)fi->fh;
}

/*
 * The listing to read from offset off: built on the first READDIR, not at
 * OPENDIR, since a kernel that still caches the listing sends none; built
 * again when read from the start (rewinddir, or the kernel's cache of it
 * invalidated by a change).
 */
static int dirlist_of(fuse_req_t req, fuse_ino_t ino, off_t off, struct fuse_file_info *fi,
		      const struct fbx_dirlist **out)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct dir_handle *h = handle_of(fi);
	struct fbx_node *n;
	struct fbx_dirlist *l;
	int r;

	if (h->l && off != 0) {
		*out = h->l;
		return 0;
	}
	n = fbx_node_get(fs, ino);
	if (!n)
		return -ESTALE;
	r = fbx_dirlist_build(fs, n, &l);
	if (r < 0)
		return r;
	fbx_dirlist_free(h->l);
	h->l = l;
	*out = l;
	return 0;
}

static const char *ent_name(const struct fbx_dirlist *l, size_t i)
{
	return l->names + l->ents[i].name_off;
}

void fbx_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	struct fbx_node *n = fbx_node_get(fs, ino);
	struct dir_handle *h;
	int r;

	if (!n || !S_ISDIR(n->type)) {
		fuse_reply_err(req, n ? ENOTDIR : ESTALE);
		return;
	}
	r = fbx_check(req, n, NULL, FB_RIGHT_READ);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		free(h);
}

void fbx_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	_cleanup_free_ char *buf = malloc(size ? size : 1);
	const struct fbx_dirlist *l;
	size_t rem = size, i;
	int r;

	r = buf ? dirlist_of(req, ino, off, fi, &l) : -ENOMEM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	for (i = off < 0 ? l->n : (size_t)off; i < l->n; i++) {
		struct stat st = {.st_ino = l->ents[i].ino, .st_mode = DTTOIF(l->ents[i].type)};
		size_t need = fuse_add_direntry(req, buf + size - rem, rem, ent_name(l, i), &st,
						(off_t)(i + 1));

		if (need > rem)
			break;
		rem -= need;
	}
	fuse_reply_buf(req, buf, size - rem);
}

/* An entry the kernel lists without creating a node for it. */
static void bare_entry(const struct fbx_dirent *d, struct fuse_entry_param *e)
{
	*e = (struct fuse_entry_param){0};
	e->attr.st_ino = d->ino;
	e->attr.st_mode = DTTOIF(d->type);
}

void fbx_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct fbx_fs *fs = fbx_fs_of(req);
	const struct fbx_dirlist *l;
	struct fbx_node *dir = fbx_node_get(fs, ino);
	size_t rem = size, nadded = 0, i, k;
	_cleanup_free_ struct fbx_node **added = NULL;
	_cleanup_free_ char *buf = NULL;
	struct fbx_dirfds d = {0};
	int r = 0;

	r = dir ? dirlist_of(req, ino, off, fi, &l) : -ESTALE;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	buf = malloc(size ? size : 1);
	/* At most one node per record; the smallest record has a 1-byte name. */
	added =
	    calloc(size / fuse_add_direntry_plus(req, NULL, 0, "x", NULL, 0) + 1, sizeof(*added));
	if (!buf || !added || fbx_dirfds_init(&d, fs, dir, O_PATH) < 0) {
		fbx_dirfds_close(&d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off < 0 ? l->n : (size_t)off; i < l->n; i++) {
		const char *name = ent_name(l, i);
		size_t need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
		struct fuse_entry_param e;
		struct fbx_found f;
		struct fbx_node *n;

		if (need > rem)
			break;
		if (streq(name, ".") || streq(name, "..")) {
			/* The kernel links no dentry for these: count nothing. */
			bare_entry(&l->ents[i], &e);
		} else {
			r = fbx_merge_lookup(&d, name, &f);
			if (r == 0)
				r = fbx_node_ref(fs, dir, name, &f, &n);
			if (r == 0) {
				fbx_fill_entry(fs, n, &f.st, &e);
				added[nadded++] = n;
			} else if (r == -ENOENT || r == -ESTALE) {
				bare_entry(&l->ents[i], &e);
				r = 0;
			} else {
				break;
			}
		}
		fuse_add_direntry_plus(req, buf + size - rem, rem, name, &e, (off_t)(i + 1));
		rem -= need;
	}
	fbx_dirfds_close(&d);
	if (r < 0 && rem == size) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fuse_reply_buf(req, buf, size - rem) != 0)
		for (k = 0; k < nadded; k++)
			fbx_node_forget(fs, added[k], 1);
}

void fbx_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *h = handle_of(fi);

	fbx_dirlist_free(h->l);
	free(h);
	fuse_reply_err(req, 0);
}
