// SPDX-License-Identifier: GPL-2.0-only
/*
 * The full tree comparison ("check"): both trees are walked together, in name
 * order, and every entry must match in type, mode, owner, size (not for
 * directories), mtime (by the rule in compare.c), nlink, content, symlink
 * target and xattrs (overlay-private ones excluded). Hard links must group the
 * same paths on both sides. Sparse layouts (the SEEK_DATA/SEEK_HOLE segments)
 * must match where both sides answer SEEK_DATA. The walk stops at the first
 * difference and reports the path.
 */
#include "fsdiff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>

struct link_ent {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct links {
	struct link_ent *v;
	size_t n, cap;
};

struct walk {
	struct run *run;
	const struct op *op;
	size_t entries;
	struct links lref, ltest;
	unsigned char *bref, *btest;
};

static void links_free(struct links *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

/* The first path seen with this inode, or NULL (and remember this one). */
static const char *links_seen(struct links *l, const struct stat *st, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].dev == st->st_dev && l->v[i].ino == st->st_ino)
			return l->v[i].path;
	if (l->n == l->cap) {
		struct link_ent *nv =
		    realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof(*nv));

		if (!nv)
			abort();
		l->v = nv;
	}
	l->v[l->n].dev = st->st_dev;
	l->v[l->n].ino = st->st_ino;
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path)
		abort();
	l->n++;
	return NULL;
}

static void tree_report(struct walk *w, const char *path, const char *what, const char *ref,
			const char *test)
{
	report_header(w->run, w->op);
	printf("  tree: %s: %s\n", path, what);
	if (ref)
		printf("  ref:  %s\n", ref);
	if (test)
		printf("  test: %s\n", test);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void names_free(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	nm->v = NULL;
	nm->n = 0;
}

/* The names in directory fd (but . and ..), sorted; at most FD_MAX_ENTRIES. */
int read_names(int fd, struct names *out)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int dfd = dup(fd), r = 0;

	out->v = NULL;
	out->n = 0;
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			r = errno ? -errno : 0;
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (out->n == cap) {
			char **nv = realloc(out->v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			out->v = nv;
		}
		out->v[out->n] = strdup(de->d_name);
		if (!out->v[out->n]) {
			r = -ENOMEM;
			break;
		}
		if (++out->n > FD_MAX_ENTRIES) {
			r = -E2BIG;
			break;
		}
	}
	closedir(d);
	if (r < 0) {
		names_free(out);
		return r;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	return 0;
}

/* xattrs: the same visible names with the same values. */
static bool cmp_xattrs(struct walk *w, int rdir, int tdir, const char *name, const char *path)
{
	_cleanup_free_ char *nref = NULL, *ntest = NULL;
	char pref[64 + 256], ptest[64 + 256], *n, *save = NULL;
	unsigned char vref[FD_MAX_XATTR], vtest[FD_MAX_XATTR];
	int cr, ct;

	snprintf(pref, sizeof(pref), "/proc/self/fd/%d/%s", rdir, name);
	snprintf(ptest, sizeof(ptest), "/proc/self/fd/%d/%s", tdir, name);
	cr = xattr_names(pref, false, &nref);
	ct = xattr_names(ptest, false, &ntest);
	/* ENOTSUP/EPERM on one side only for entries without any visible xattr */
	if (cr < 0 && ct < 0)
		return true;
	if (cr < 0 || ct < 0) {
		if ((cr < 0 && ct == 0) || (ct < 0 && cr == 0))
			return true;
		tree_report(w, path, "listxattr", cr < 0 ? errno_name(-cr) : nref,
			    ct < 0 ? errno_name(-ct) : ntest);
		return false;
	}
	if (!streq(nref, ntest)) {
		tree_report(w, path, "xattr names differ", nref, ntest);
		return false;
	}
	for (n = strtok_r(nref, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
		ssize_t lr = lgetxattr(pref, n, vref, sizeof(vref));
		ssize_t lt = lgetxattr(ptest, n, vtest, sizeof(vtest));

		if (lr != lt || (lr > 0 && memcmp(vref, vtest, (size_t)lr))) {
			char a[64], b[64];

			snprintf(a, sizeof(a), "%zd bytes", lr);
			snprintf(b, sizeof(b), "%zd bytes", lt);
			tree_report(w, path, n, a, b);
			return false;
		}
	}
	return true;
}

/* Data segments [start, end) per SEEK_DATA/SEEK_HOLE; -EINVAL when unsupported. */
static int segments(int fd, off_t size, off_t *seg, size_t max, size_t *n)
{
	off_t pos = 0;

	*n = 0;
	while (pos < size && *n + 2 <= max) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0)
			return errno == ENXIO ? 0 : -errno;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		seg[(*n)++] = d;
		seg[(*n)++] = h;
		pos = h;
	}
	return 0;
}

/* Every data segment of b lies inside a data segment of a. */
static bool covers(const off_t *a, size_t na, const off_t *b, size_t nb)
{
	size_t i, j = 0;

	for (i = 0; i < nb; i += 2) {
		while (j < na && a[j + 1] <= b[i])
			j += 2;
		if (j >= na || a[j] > b[i] || a[j + 1] < b[i + 1])
			return false;
	}
	return true;
}

static bool cmp_file(struct walk *w, int rdir, int tdir, const char *name, const char *path,
		     off_t size)
{
	_cleanup_close_ int rfd =
	    openat(rdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int tfd =
	    openat(tdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	static off_t sref[FD_MAX_SEGMENTS], stest[FD_MAX_SEGMENTS];
	off_t off = 0;
	size_t nr, nt;
	int er, et;

	if (rfd < 0 || tfd < 0) {
		tree_report(w, path, "open", rfd < 0 ? strerror(errno) : "ok",
			    tfd < 0 ? strerror(errno) : "ok");
		return false;
	}
	for (;;) {
		ssize_t a = pread(rfd, w->bref, FD_MAX_IO, off);
		ssize_t b = pread(tfd, w->btest, FD_MAX_IO, off);
		char sa[64], sb[64];

		if (a != b || (a > 0 && memcmp(w->bref, w->btest, (size_t)a))) {
			ssize_t i = 0;

			while (i < a && i < b && w->bref[i] == w->btest[i])
				i++;
			char what[96];

			snprintf(sa, sizeof(sa), "read %zd bytes at %lld", a, (long long)off);
			snprintf(sb, sizeof(sb), "read %zd bytes at %lld", b, (long long)off);
			snprintf(what, sizeof(what), "content differs from byte %lld",
				 (long long)(off + i));
			tree_report(w, path, what, sa, sb);
			return false;
		}
		if (a <= 0)
			break;
		off += a;
	}
	er = segments(rfd, size, sref, FD_MAX_SEGMENTS, &nr);
	et = segments(tfd, size, stest, FD_MAX_SEGMENTS, &nt);
	if (er == -EINVAL || et == -EINVAL || er == -EOPNOTSUPP || et == -EOPNOTSUPP) {
		if (er == -EINVAL || er == -EOPNOTSUPP)
			w->run->ref.seek_data = false;
		if (et == -EINVAL || et == -EOPNOTSUPP)
			w->run->test.seek_data = false;
		return true;
	}
	if (er == 0 && et == 0 && (nr != nt || memcmp(sref, stest, nr * sizeof(off_t))) &&
	    covers(stest, nt, sref, nr) && equiv_ok(w->run, EQ_SPARSE_FILLED))
		return true;
	if (er != et || nr != nt || memcmp(sref, stest, nr * sizeof(off_t))) {
		char a[512], b[512];
		size_t i, la = 0, lb = 0;

		for (i = 0; i < nr && la < sizeof(a) - 48; i += 2)
			la += (size_t)snprintf(a + la, sizeof(a) - la, "[%lld,%lld) ",
					       (long long)sref[i], (long long)sref[i + 1]);
		for (i = 0; i < nt && lb < sizeof(b) - 48; i += 2)
			lb += (size_t)snprintf(b + lb, sizeof(b) - lb, "[%lld,%lld) ",
					       (long long)stest[i], (long long)stest[i + 1]);
		snprintf(a + la, sizeof(a) - la, "%s", er ? errno_name(-er) : "");
		snprintf(b + lb, sizeof(b) - lb, "%s", et ? errno_name(-et) : "");
		tree_report(w, path, "sparse layout (data segments) differs", a, b);
		return false;
	}
	return true;
}

static bool cmp_entry(struct walk *w, int rdir, int tdir, const char *name, const char *path,
		      int depth);

static bool cmp_dir(struct walk *w, int rfd, int tfd, const char *path, int depth)
{
	struct names nr, nt;
	size_t i = 0, j = 0;
	bool ok = true;
	int r;

	if (depth > FD_MAX_DEPTH) {
		tree_report(w, path, "deeper than the walk's limit", NULL, NULL);
		return false;
	}
	r = read_names(rfd, &nr);
	if (r < 0) {
		tree_report(w, path, "readdir failed on ref", errno_name(-r), NULL);
		return false;
	}
	r = read_names(tfd, &nt);
	if (r < 0) {
		names_free(&nr);
		tree_report(w, path, "readdir failed on test", NULL, errno_name(-r));
		return false;
	}
	while (ok && (i < nr.n || j < nt.n)) {
		int c = i == nr.n ? 1 : j == nt.n ? -1 : strcmp(nr.v[i], nt.v[j]);
		char sub[4096];

		const char *nm = c <= 0 ? nr.v[i] : nt.v[j];

		if (streq(path, "."))
			snprintf(sub, sizeof(sub), "%s", nm);
		else
			snprintf(sub, sizeof(sub), "%s/%s", path, nm);
		if (c < 0) {
			tree_report(w, sub, "only in ref", "present", "missing");
			ok = false;
		} else if (c > 0) {
			tree_report(w, sub, "only in test", "missing", "present");
			ok = false;
		} else {
			if (++w->entries > FD_MAX_ENTRIES) {
				tree_report(w, sub, "more entries than the walk's limit", NULL,
					    NULL);
				ok = false;
			} else {
				ok = cmp_entry(w, rfd, tfd, nr.v[i], sub, depth);
			}
			i++;
			j++;
		}
	}
	names_free(&nr);
	names_free(&nt);
	return ok;
}

static bool cmp_entry(struct walk *w, int rdir, int tdir, const char *name, const char *path,
		      int depth)
{
	struct stat sr, stt;
	struct fd_stat fr, ft;
	const char *field, *lr, *lt;
	char a[256], b[256];

	memset(&fr, 0, sizeof(fr));
	memset(&ft, 0, sizeof(ft));
	if (fstatat(rdir, name, &sr, AT_SYMLINK_NOFOLLOW) < 0)
		fr.err = errno;
	else
		stat_capture(&sr, &fr);
	if (fstatat(tdir, name, &stt, AT_SYMLINK_NOFOLLOW) < 0)
		ft.err = errno;
	else
		stat_capture(&stt, &ft);
	if (!stat_equal(w->run, &fr, &ft, &field)) {
		stat_format(&fr, a, sizeof(a));
		stat_format(&ft, b, sizeof(b));
		tree_report(w, path, field, a, b);
		return false;
	}
	if (fr.err)
		return true;
	if (!cmp_xattrs(w, rdir, tdir, name, path))
		return false;
	if (!S_ISDIR(sr.st_mode) && (sr.st_nlink > 1 || stt.st_nlink > 1)) {
		lr = links_seen(&w->lref, &sr, path);
		lt = links_seen(&w->ltest, &stt, path);
		if ((lr == NULL) != (lt == NULL) || (lr && !streq(lr, lt))) {
			snprintf(a, sizeof(a), "hard link of %s", lr ? lr : "(none seen yet)");
			snprintf(b, sizeof(b), "hard link of %s", lt ? lt : "(none seen yet)");
			tree_report(w, path, "hard link structure", a, b);
			return false;
		}
	}
	if (S_ISREG(sr.st_mode))
		return cmp_file(w, rdir, tdir, name, path, sr.st_size);
	if (S_ISLNK(sr.st_mode)) {
		ssize_t n1 = readlinkat(rdir, name, a, sizeof(a) - 1);
		ssize_t n2 = readlinkat(tdir, name, b, sizeof(b) - 1);

		a[n1 < 0 ? 0 : n1] = '\0';
		b[n2 < 0 ? 0 : n2] = '\0';
		if (n1 != n2 || !streq(a, b)) {
			tree_report(w, path, "symlink target", a, b);
			return false;
		}
		return true;
	}
	if (S_ISDIR(sr.st_mode)) {
		_cleanup_close_ int rfd = -1, tfd = -1;

		rfd = openat(rdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		tfd = openat(tdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (rfd < 0 || tfd < 0) {
			tree_report(w, path, "open directory", rfd < 0 ? "failed" : "ok",
				    tfd < 0 ? "failed" : "ok");
			return false;
		}
		return cmp_dir(w, rfd, tfd, path, depth + 1);
	}
	return true;
}

bool compare_trees(struct run *run, const struct op *op)
{
	struct walk w = {.run = run, .op = op};
	_cleanup_close_ int rfd = -1, tfd = -1;
	bool ok;

	w.bref = malloc(FD_MAX_IO);
	w.btest = malloc(FD_MAX_IO);
	rfd = openat(run->ref.root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tfd = openat(run->test.root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!w.bref || !w.btest || rfd < 0 || tfd < 0) {
		report_header(run, op);
		printf("  tree: cannot open the roots or allocate buffers\n");
		ok = false;
	} else {
		/* The roots themselves: the same metadata, then their contents. */
		ok = cmp_entry(&w, rfd, tfd, ".", ".", 0);
	}
	free(w.bref);
	free(w.btest);
	links_free(&w.lref);
	links_free(&w.ltest);
	return ok;
}
