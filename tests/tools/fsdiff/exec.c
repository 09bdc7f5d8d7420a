// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running one operation on one side. Every path is resolved beneath the side's
 * root with openat2(RESOLVE_IN_ROOT), so ".." and absolute symlink targets stay
 * inside the tree on both sides; the operation itself then runs on the parent
 * directory fd and the last name (the *at calls), or, where it follows the last
 * symlink, on "/proc/self/fd/N" of the object that openat2 found. Opens add
 * O_NONBLOCK so a FIFO never blocks the tester. The result keeps the return
 * value, errno, any data read and the stat of the path(s) afterwards.
 */
#include "fsdiff.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	int tries = 0;

	/* EAGAIN: a rename anywhere on the system raced with a ".." step of the
	 * in-root walk; it says nothing about the file system under test. */
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < 1000);
	return fd < 0 ? -errno : (int)fd;
}

int side_open(struct side *s, const char *label, const char *path)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->label = label;
	s->path = path;
	for (i = 0; i < FD_NSLOTS; i++)
		s->fd[i] = -1;
	s->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root < 0)
		return -errno;
	return 0;
}

void side_close(struct side *s)
{
	int i;

	for (i = 0; i < FD_NSLOTS; i++)
		if (s->fd[i] >= 0) {
			close(s->fd[i]);
			s->fd[i] = -1;
		}
	if (s->root >= 0)
		close(s->root);
	s->root = -1;
}

static void pre_close(struct pre_rename *pre)
{
	if (!pre->valid)
		return;
	if (pre->dfd >= 0)
		close(pre->dfd);
	if (pre->dfd2 >= 0)
		close(pre->dfd2);
	pre->valid = false;
}

void result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
}

void result_free(struct result *r)
{
	pre_close(&r->pre);
	free(r->data);
	result_init(r);
}

/* Reuse the buffer across ops: results are reset, not freed, per op. */
static void result_reset(struct result *r)
{
	unsigned char *data = r->data;
	size_t cap = r->cap;

	pre_close(&r->pre);
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->cap = cap;
}

static unsigned char *payload_buf(struct result *r, size_t len)
{
	if (len + 1 > r->cap) {
		unsigned char *p = realloc(r->data, len + 1);

		if (!p) {
			fprintf(stderr, "fsdiff: out of memory\n");
			abort();
		}
		r->data = p;
		r->cap = len + 1;
	}
	return r->data;
}

void payload_set(struct result *r, enum payload pay, const void *data, size_t len)
{
	unsigned char *p = payload_buf(r, len);

	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	r->pay = pay;
	r->len = len;
}

/* The parent directory of path (O_PATH) and its last name; "a" -> root, "a". */
int resolve_parent(struct side *s, const char *path, const char **leaf)
{
	const char *slash = strrchr(path, '/');
	char dir[FD_PATH_MAX];

	if (!slash) {
		*leaf = path;
		return sys_openat2(s->root, ".", O_PATH | O_DIRECTORY, 0);
	}
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*leaf = slash + 1;
	return sys_openat2(s->root, dir[0] ? dir : "/", O_PATH | O_DIRECTORY, 0);
}

/* An O_PATH fd of path itself, the last symlink followed or not. */
int resolve_path(struct side *s, const char *path, bool follow)
{
	return sys_openat2(s->root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
}

/*
 * A path string the plain syscalls can use: follow -> "/proc/self/fd/N" of the
 * object (the kernel follows the magic link, nothing else); no follow ->
 * "/proc/self/fd/P/leaf" (leaf is one name, looked up in P, not followed by
 * the l* calls). *fdp receives the fd to close.
 */
static int proc_path(struct side *s, const char *path, bool follow, char *buf, size_t size,
		     int *fdp)
{
	const char *leaf;
	int fd;

	if (follow) {
		fd = resolve_path(s, path, true);
		if (fd < 0)
			return fd;
		snprintf(buf, size, "/proc/self/fd/%d", fd);
	} else {
		fd = resolve_parent(s, path, &leaf);
		if (fd < 0)
			return fd;
		snprintf(buf, size, "/proc/self/fd/%d/%s", fd, leaf);
	}
	*fdp = fd;
	return 0;
}

void stat_capture(const struct stat *st, struct fd_stat *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = st->st_mode;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	out->size = st->st_size;
	out->nlink = st->st_nlink;
	out->mtime_sec = st->st_mtim.tv_sec;
	out->mtime_nsec = st->st_mtim.tv_nsec;
	out->rdev = (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) ? st->st_rdev : 0;
}

void lstat_path(struct side *s, const char *path, struct fd_stat *out)
{
	_cleanup_close_ int dfd = -1;
	const char *leaf;
	struct stat st;

	memset(out, 0, sizeof(*out));
	dfd = resolve_parent(s, path, &leaf);
	if (dfd < 0) {
		out->err = -dfd;
		return;
	}
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		out->err = errno;
		return;
	}
	stat_capture(&st, out);
}

static void fstat_slot(struct side *s, int slot, struct fd_stat *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (s->fd[slot] < 0) {
		out->err = EBADF;
		return;
	}
	if (fstat(s->fd[slot], &st) < 0) {
		out->err = errno;
		return;
	}
	stat_capture(&st, out);
}

bool xattr_private(const char *name)
{
	static const char *const prefixes[] = {"trusted.overlay.", "user.overlay.",
					       "user.fuseoverlayfs.", "security."};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (startswith(name, prefixes[i]))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible xattr names of path, sorted, one per line. Returns the count. */
int xattr_names(const char *path, bool follow, char **out)
{
	_cleanup_free_ char *buf = NULL, *text = NULL;
	_cleanup_free_ char **names = NULL;
	ssize_t len;
	size_t n = 0, i, tl = 0;
	char *p;

	len = follow ? listxattr(path, NULL, 0) : llistxattr(path, NULL, 0);
	if (len < 0)
		return -errno;
	buf = malloc((size_t)len + 1);
	names = calloc((size_t)len + 1, sizeof(*names));
	text = malloc((size_t)len + 1);
	if (!buf || !names || !text)
		return -ENOMEM;
	len = follow ? listxattr(path, buf, (size_t)len) : llistxattr(path, buf, (size_t)len);
	if (len < 0)
		return -errno;
	for (p = buf; p < buf + len; p += strlen(p) + 1)
		if (*p && !xattr_private(p))
			names[n++] = p;
	qsort(names, n, sizeof(*names), cmp_str);
	text[0] = '\0';
	for (i = 0; i < n; i++)
		tl += (size_t)sprintf(text + tl, "%s\n", names[i]);
	*out = TAKE_PTR(text);
	return (int)n;
}

/* Names of a directory with their types, sorted: "name f\n" (f/d/l/p/s/c/b). */
static int list_dir(int dfd, char **out)
{
	_cleanup_free_ char *text = NULL;
	size_t i, tl = 0, tcap = 1;
	struct names nm;
	int r;

	r = read_names(dfd, &nm);
	if (r < 0)
		return r;
	for (i = 0; i < nm.n; i++)
		tcap += strlen(nm.v[i]) + 3;
	text = malloc(tcap);
	if (!text) {
		names_free(&nm);
		return -ENOMEM;
	}
	text[0] = '\0';
	for (i = 0; i < nm.n; i++) {
		struct stat st;
		char t = '?';

		if (fstatat(dfd, nm.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			t = S_ISREG(st.st_mode)	   ? 'f'
			    : S_ISDIR(st.st_mode)  ? 'd'
			    : S_ISLNK(st.st_mode)  ? 'l'
			    : S_ISFIFO(st.st_mode) ? 'p'
			    : S_ISSOCK(st.st_mode) ? 's'
			    : S_ISCHR(st.st_mode)  ? 'c'
						   : 'b';
		tl += (size_t)sprintf(text + tl, "%s %c\n", nm.v[i], t);
	}
	r = (int)nm.n;
	names_free(&nm);
	*out = TAKE_PTR(text);
	return r;
}

static void set_ret(struct result *r, long long ret)
{
	r->ret = ret;
	r->err = ret < 0 ? errno : 0;
}

static void fail(struct result *r, int negerr)
{
	r->ret = -1;
	r->err = -negerr;
}

static int slot_fd(struct side *s, int slot)
{
	return slot >= 0 && slot < FD_NSLOTS ? s->fd[slot] : -1;
}

/* Read a whole file (at most FD_MAX_FILE bytes) into the payload. */
static void read_whole(int fd, struct result *r)
{
	size_t len = 0;
	unsigned char *buf = payload_buf(r, FD_MAX_FILE);

	for (;;) {
		ssize_t n = read(fd, buf + len, FD_MAX_FILE - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_ret(r, -1);
			return;
		}
		if (n == 0 || (len += (size_t)n) >= FD_MAX_FILE)
			break;
	}
	buf[len] = '\0';
	r->pay = PAY_BYTES;
	r->len = len;
	r->ret = (long long)len;
}

static void exec_xattr(struct side *s, const struct op *op, struct result *r)
{
	_cleanup_close_ int fd = -1;
	char path[64 + FD_PATH_MAX];
	unsigned char val[FD_MAX_XATTR];
	int e;

	e = proc_path(s, op->path, op->follow, path, sizeof(path), &fd);
	if (e < 0) {
		fail(r, e);
		return;
	}
	switch (op->kind) {
	case OP_SETXATTR: {
		size_t len = (size_t)op->len < sizeof(val) ? (size_t)op->len : sizeof(val);

		fill_bytes(op->fill, val, len);
		set_ret(r, op->follow ? setxattr(path, op->name, val, len, (int)op->flags)
				      : lsetxattr(path, op->name, val, len, (int)op->flags));
		break;
	}
	case OP_GETXATTR: {
		ssize_t n = op->follow ? getxattr(path, op->name, val, sizeof(val))
				       : lgetxattr(path, op->name, val, sizeof(val));

		set_ret(r, n);
		if (n >= 0)
			payload_set(r, PAY_BYTES, val, (size_t)n);
		break;
	}
	case OP_LISTXATTR: {
		_cleanup_free_ char *text = NULL;
		int n = xattr_names(path, op->follow, &text);

		if (n < 0) {
			fail(r, n);
			break;
		}
		r->ret = n;
		payload_set(r, PAY_TEXT, text, strlen(text));
		break;
	}
	case OP_REMOVEXATTR:
		set_ret(r, op->follow ? removexattr(path, op->name) : lremovexattr(path, op->name));
		break;
	default:
		break;
	}
}

/* Operations on a path that take a (possibly followed) object. */
static void exec_path_obj(struct side *s, const struct op *op, struct result *r)
{
	_cleanup_close_ int fd = -1;
	char path[64 + FD_PATH_MAX];
	bool follow = op->follow;
	int e;

	/* chmod, truncate, readfile, access have no follow field: they follow,
	 * as their system calls do. */
	if (op->kind == OP_CHMOD || op->kind == OP_TRUNCATE || op->kind == OP_ACCESS)
		follow = true;
	e = proc_path(s, op->path, follow, path, sizeof(path), &fd);
	if (e < 0) {
		fail(r, e);
		return;
	}
	switch (op->kind) {
	case OP_CHMOD:
		set_ret(r, chmod(path, op->mode));
		break;
	case OP_TRUNCATE:
		set_ret(r, truncate(path, op->len));
		break;
	case OP_ACCESS:
		set_ret(r, access(path, (int)op->flags));
		break;
	case OP_CHOWN:
		set_ret(r, follow ? chown(path, (uid_t)op->uid, (gid_t)op->gid)
				  : lchown(path, (uid_t)op->uid, (gid_t)op->gid));
		break;
	case OP_UTIMENS: {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = op->sec}};

		ts[1].tv_nsec = op->nsec == FD_TIME_NOW	   ? UTIME_NOW
				: op->nsec == FD_TIME_OMIT ? UTIME_OMIT
							   : op->nsec;
		set_ret(r, utimensat(AT_FDCWD, path, ts, follow ? 0 : AT_SYMLINK_NOFOLLOW));
		break;
	}
	case OP_STAT: {
		struct stat st;
		int rc = follow ? stat(path, &st) : lstat(path, &st);

		set_ret(r, rc);
		if (rc == 0) {
			/* The stat of the object itself is the result. */
			r->has_st = true;
			stat_capture(&st, &r->st);
		}
		break;
	}
	default:
		break;
	}
}

static void exec_entry(struct side *s, const struct op *op, struct result *r)
{
	_cleanup_close_ int dfd = -1, dfd2 = -1;
	const char *leaf, *leaf2 = NULL;

	dfd = resolve_parent(s, op->path, &leaf);
	if (dfd < 0) {
		fail(r, dfd);
		return;
	}
	if (op->kind == OP_RENAME || op->kind == OP_LINK) {
		dfd2 = resolve_parent(s, op->path2, &leaf2);
		if (dfd2 < 0) {
			fail(r, dfd2);
			return;
		}
	}
	switch (op->kind) {
	case OP_MKDIR:
		set_ret(r, mkdirat(dfd, leaf, op->mode));
		break;
	case OP_RMDIR:
		set_ret(r, unlinkat(dfd, leaf, AT_REMOVEDIR));
		break;
	case OP_UNLINK:
		set_ret(r, unlinkat(dfd, leaf, 0));
		break;
	case OP_MKFIFO:
		set_ret(r, mkfifoat(dfd, leaf, op->mode));
		break;
	case OP_SYMLINK:
		set_ret(r, symlinkat(op->path2, dfd, leaf));
		break;
	case OP_LINK:
		set_ret(r, linkat(dfd, leaf, dfd2, leaf2, 0));
		break;
	case OP_RENAME: {
		struct stat st;

		r->pre.valid = true;
		lstat_path(s, op->path, &r->pre.src);
		lstat_path(s, op->path2, &r->pre.dst);
		if (fstat(dfd, &st) == 0)
			stat_capture(&st, &r->pre.srcdir);
		if (fstat(dfd2, &st) == 0)
			stat_capture(&st, &r->pre.dstdir);
		set_ret(r, renameat2(dfd, leaf, dfd2, leaf2, op->flags));
		r->pre.dfd = TAKE_FD(dfd);
		r->pre.dfd2 = TAKE_FD(dfd2);
		break;
	}
	case OP_READLINK: {
		char buf[FD_PATH_MAX * 2];
		ssize_t n = readlinkat(dfd, leaf, buf, sizeof(buf));

		set_ret(r, n);
		if (n >= 0)
			payload_set(r, PAY_BYTES, buf, (size_t)n);
		break;
	}
	default:
		break;
	}
}

static void exec_slot(struct side *s, const struct op *op, struct result *r)
{
	int fd = slot_fd(s, op->slot);
	unsigned char *buf;
	size_t len = op->len < 0 ? 0 : (size_t)op->len;

	if (fd < 0 && op->kind != OP_OPEN) {
		fail(r, -EBADF);
		return;
	}
	switch (op->kind) {
	case OP_CLOSE:
		set_ret(r, close(fd));
		s->fd[op->slot] = -1;
		break;
	case OP_PREAD: {
		ssize_t n;

		buf = payload_buf(r, len);
		n = pread(fd, buf, len, op->off);
		set_ret(r, n);
		if (n >= 0) {
			r->pay = PAY_BYTES;
			r->len = (size_t)n;
		}
		break;
	}
	case OP_PWRITE:
	case OP_WRITE:
		buf = payload_buf(r, len);
		fill_bytes(op->fill, buf, len);
		set_ret(r, op->kind == OP_PWRITE ? pwrite(fd, buf, len, op->off)
						 : write(fd, buf, len));
		break;
	case OP_FTRUNCATE:
		set_ret(r, ftruncate(fd, op->len));
		break;
	case OP_FALLOCATE:
		set_ret(r, fallocate(fd, (int)op->flags, op->off, op->len));
		break;
	case OP_FCHMOD:
		set_ret(r, fchmod(fd, op->mode));
		break;
	case OP_FSTAT:
		set_ret(r, 0);
		break;
	case OP_FSYNC:
		set_ret(r, op->flags ? fdatasync(fd) : fsync(fd));
		break;
	case OP_COPY: {
		int fd2 = slot_fd(s, op->slot2);
		loff_t in = op->off, out = op->off2;

		if (fd2 < 0) {
			fail(r, -EBADF);
			break;
		}
		set_ret(r, copy_file_range(fd, &in, fd2, &out, len, 0));
		break;
	}
	case OP_LSEEK: {
		struct stat st;

		/* Directory offsets are cookies private to each file system. */
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			r->ret = 0;
			payload_set(r, PAY_TEXT, "(directory offset not compared)", 31);
			break;
		}
		set_ret(r, lseek(fd, op->off, (int)op->flags));
		break;
	}
	default:
		break;
	}
}

/* Ops whose stat after the op is the slot's (fstat), not a path's. */
bool op_uses_slot(enum op_kind k)
{
	switch (k) {
	case OP_OPEN:
	case OP_PREAD:
	case OP_PWRITE:
	case OP_WRITE:
	case OP_FTRUNCATE:
	case OP_FALLOCATE:
	case OP_FCHMOD:
	case OP_FSTAT:
	case OP_FSYNC:
	case OP_COPY:
	case OP_LSEEK:
		return true;
	default:
		return false;
	}
}

void exec_op(struct run *run, struct side *s, const struct op *op, struct result *r)
{
	(void)run;
	result_reset(r);
	errno = 0;
	switch (op->kind) {
	case OP_OPEN: {
		int fd;

		/* A failed open leaves the slot as it was: more ops find an fd. */
		fd = sys_openat2(s->root, op->path, op->flags | O_NONBLOCK, op->mode);
		if (fd < 0) {
			fail(r, fd);
		} else {
			if (s->fd[op->slot] >= 0)
				close(s->fd[op->slot]);
			s->fd[op->slot] = fd;
			r->ret = 0;
		}
		break;
	}
	case OP_READFILE: {
		_cleanup_close_ int fd = sys_openat2(s->root, op->path, O_RDONLY | O_NONBLOCK, 0);

		if (fd < 0)
			fail(r, fd);
		else
			read_whole(fd, r);
		break;
	}
	case OP_READDIR: {
		_cleanup_close_ int fd = sys_openat2(s->root, op->path, O_RDONLY | O_DIRECTORY, 0);
		_cleanup_free_ char *text = NULL;
		int n;

		if (fd < 0) {
			fail(r, fd);
			break;
		}
		n = list_dir(fd, &text);
		if (n < 0) {
			fail(r, n);
			break;
		}
		r->ret = n;
		payload_set(r, PAY_TEXT, text, strlen(text));
		break;
	}
	case OP_CLOSE:
	case OP_PREAD:
	case OP_PWRITE:
	case OP_WRITE:
	case OP_FTRUNCATE:
	case OP_FALLOCATE:
	case OP_FCHMOD:
	case OP_FSTAT:
	case OP_FSYNC:
	case OP_COPY:
	case OP_LSEEK:
		exec_slot(s, op, r);
		break;
	case OP_MKDIR:
	case OP_RMDIR:
	case OP_UNLINK:
	case OP_RENAME:
	case OP_LINK:
	case OP_SYMLINK:
	case OP_READLINK:
	case OP_MKFIFO:
		exec_entry(s, op, r);
		break;
	case OP_SETXATTR:
	case OP_GETXATTR:
	case OP_LISTXATTR:
	case OP_REMOVEXATTR:
		exec_xattr(s, op, r);
		break;
	case OP_TRUNCATE:
	case OP_CHMOD:
	case OP_CHOWN:
	case OP_UTIMENS:
	case OP_STAT:
	case OP_ACCESS:
		exec_path_obj(s, op, r);
		break;
	case OP_CHECK:
	case OP__COUNT:
		break;
	}
	/* The state afterwards: the slot for fd operations, else the path(s). */
	if (op->kind == OP_CHECK || op->kind == OP_CLOSE)
		return;
	if (op_uses_slot(op->kind)) {
		r->has_st = true;
		fstat_slot(s, op->slot, &r->st);
		if (op->kind == OP_OPEN && r->ret < 0)
			lstat_path(s, op->path, &r->st);
		return;
	}
	if (!r->has_st) {
		r->has_st = true;
		lstat_path(s, op->path, &r->st);
	}
	if (op->kind == OP_RENAME || op->kind == OP_LINK) {
		r->has_st2 = true;
		lstat_path(s, op->path2, &r->st2);
	}
}

/* copy_file_range done as cp does when the kernel call is refused: pread and
 * pwrite until len bytes or the end of the input. */
void exec_copy_fallback(struct side *s, const struct op *op, struct result *r)
{
	int in = slot_fd(s, op->slot), out = slot_fd(s, op->slot2);
	unsigned char *buf;
	int64_t done = 0, len = op->len;

	result_reset(r);
	if (in < 0 || out < 0) {
		fail(r, -EBADF);
		return;
	}
	buf = malloc(FD_MAX_IO);
	if (!buf) {
		fail(r, -ENOMEM);
		return;
	}
	while (done < len) {
		size_t chunk = len - done < FD_MAX_IO ? (size_t)(len - done) : FD_MAX_IO;
		ssize_t n = pread(in, buf, chunk, op->off + done), w;

		if (n < 0) {
			free(buf);
			set_ret(r, -1);
			return;
		}
		if (n == 0)
			break;
		w = pwrite(out, buf, (size_t)n, op->off2 + done);
		if (w < 0) {
			free(buf);
			set_ret(r, -1);
			return;
		}
		done += w;
		if (w < n)
			break;
	}
	free(buf);
	r->ret = done;
	r->has_st = true;
	fstat_slot(s, op->slot, &r->st);
}

static void set_times(int dfd, const char *leaf, const struct fd_stat *st, int flags)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
				 {.tv_sec = st->mtime_sec, .tv_nsec = st->mtime_nsec}};

	utimensat(dfd, leaf, ts, flags);
}

/*
 * Undo a directory rename that succeeded on s (the reference) because the
 * other side answered EXDEV: rename back, recreate the empty directory it
 * replaced (metadata from pre, xattrs copied from model, which still has it),
 * and put back the parents' mtimes.
 */
int exec_undo_rename(struct side *s, const struct op *op, const struct pre_rename *pre,
		     struct side *model)
{
	const char *leaf = strrchr(op->path, '/'), *leaf2 = strrchr(op->path2, '/');
	int dfd = pre->dfd, dfd2 = pre->dfd2, r;

	leaf = leaf ? leaf + 1 : op->path;
	leaf2 = leaf2 ? leaf2 + 1 : op->path2;
	if (!pre->valid || dfd < 0 || dfd2 < 0)
		return -EBADF;
	if (op->flags & RENAME_EXCHANGE) {
		if (renameat2(dfd2, leaf2, dfd, leaf, RENAME_EXCHANGE) < 0)
			return -errno;
	} else {
		if (renameat2(dfd2, leaf2, dfd, leaf, RENAME_NOREPLACE) < 0)
			return -errno;
		if (pre->dst.err == 0) {
			char mpath[64 + FD_PATH_MAX], spath[64 + FD_PATH_MAX];
			_cleanup_close_ int mfd = -1;
			_cleanup_free_ char *names = NULL;
			const char *mleaf;
			char *name, *save = NULL;

			if (!S_ISDIR(pre->dst.mode))
				return -ENOTDIR; /* a rename over a non-directory cannot EXDEV here
						  */
			if (mkdirat(dfd2, leaf2, pre->dst.mode & 07777) < 0)
				return -errno;
			if (fchownat(dfd2, leaf2, pre->dst.uid, pre->dst.gid, AT_SYMLINK_NOFOLLOW) <
				0 ||
			    fchmodat(dfd2, leaf2, pre->dst.mode & 07777, 0) < 0)
				return -errno;
			mfd = resolve_parent(model, op->path2, &mleaf);
			snprintf(spath, sizeof(spath), "/proc/self/fd/%d/%s", dfd2, leaf2);
			if (mfd >= 0) {
				snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d/%s", mfd, mleaf);
				if (xattr_names(mpath, false, &names) > 0)
					for (name = strtok_r(names, "\n", &save); name;
					     name = strtok_r(NULL, "\n", &save)) {
						unsigned char val[FD_MAX_XATTR];
						ssize_t n =
						    lgetxattr(mpath, name, val, sizeof(val));

						if (n >= 0)
							lsetxattr(spath, name, val, (size_t)n, 0);
					}
			}
			set_times(dfd2, leaf2, &pre->dst, AT_SYMLINK_NOFOLLOW);
		}
	}
	r = 0;
	if (pre->srcdir.err == 0)
		set_times(dfd, "", &pre->srcdir, AT_EMPTY_PATH);
	if (pre->dstdir.err == 0)
		set_times(dfd2, "", &pre->dstdir, AT_EMPTY_PATH);
	return r;
}
