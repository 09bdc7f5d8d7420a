// SPDX-License-Identifier: GPL-2.0-only
/*
 * Comparing the two results of one operation, and the report when they differ.
 * Some differences are between correct implementations and are allowed unless
 * --strict (each use is counted and printed at the end):
 *   rename-dir-exdev  overlayfs without redirect_dir refuses to rename a
 *                     directory that comes from a lower layer with EXDEV (as mv
 *                     expects); the reference rename is undone so both sides
 *                     go on from the same tree.
 *   dir-nlink         a merged directory reports nlink 1 ("unknown", as find
 *                     and fts accept) instead of 2 + subdirectories.
 *   copy-fallback     copy_file_range refused with EXDEV/EOPNOTSUPP/ENOSYS on
 *                     one side: the copy is done with pread/pwrite there, as cp
 *                     does.
 *   sparse-filled     the test side has data (zeros: the content is equal)
 *                     where the reference has a hole, and a hole nowhere the
 *                     reference has data: overlayfs copies up in 1 MiB chunks
 *                     from each data start, filling the holes inside them;
 *                     SEEK_DATA then finds data no later, SEEK_HOLE a hole no
 *                     earlier than on the reference.
 *   fifo-mtime        (opt-in) I/O on a FIFO does not update its mtime:
 *                     overlayfs updates its own inode, not the upper one.
 *   unlinked-nlink    (opt-in) an open file or directory that was removed
 *                     keeps nlink >= 1 in fstat (a lower inode is not
 *                     unlinked, a whiteout hides it; a removed upper
 *                     directory goes through the workdir), where the
 *                     reference says 0.
 *   seek-dense        (opt-in) SEEK_DATA/SEEK_HOLE answered as if the file
 *                     had no holes (the kernel's generic answer when a FUSE
 *                     server does not implement lseek).
 *   orphan-copyup     (opt-in) changing an open lower file that has since
 *                     been unlinked or replaced fails (EEXIST/ENOENT):
 *                     overlayfs cannot copy up an orphan. The slot is closed
 *                     on both sides: both fds point at files nobody sees.
 * The first three are on unless --strict; the opt-in ones (known deviations of
 * a peer, not allowed for fusebox) need --allow NAME.
 * Timestamps: an mtime set by the tester or the builder (inside
 * FD_TIME_EXPLICIT_MIN..MAX) must match to the nanosecond; one set to "now" by
 * the file system differs between sides by the time between the two calls and
 * is only checked to be outside that range.
 */
#include "fsdiff.h"

#include <fcntl.h>

const char *equiv_name(enum equiv e)
{
	static const char *const names[EQ__COUNT] = {
	    [EQ_RENAME_DIR_EXDEV] = "rename-dir-exdev",
	    [EQ_DIR_NLINK] = "dir-nlink",
	    [EQ_COPY_FALLBACK] = "copy-fallback",
	    [EQ_SPARSE_FILLED] = "sparse-filled",
	    [EQ_FIFO_MTIME] = "fifo-mtime",
	    [EQ_UNLINKED_NLINK] = "unlinked-nlink",
	    [EQ_SEEK_DENSE] = "seek-dense",
	    [EQ_ORPHAN_COPYUP] = "orphan-copyup",
	};

	return e < EQ__COUNT ? names[e] : "?";
}

bool equiv_ok(struct run *run, enum equiv e)
{
	if (run->strict || (e >= EQ_OPT_IN_FIRST && !(run->allowed & (1u << e))))
		return false;
	run->equiv_used[e]++;
	return true;
}

static bool explicit_time(const struct fd_stat *st)
{
	return st->mtime_sec >= FD_TIME_EXPLICIT_MIN && st->mtime_sec <= FD_TIME_EXPLICIT_MAX;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "chardev";
	case S_IFBLK:
		return "blockdev";
	default:
		return "?";
	}
}

bool stat_equal(struct run *run, const struct fd_stat *a, const struct fd_stat *b,
		const char **field)
{
	bool dir = S_ISDIR(a->mode);

	*field = NULL;
	if (a->err != b->err)
		*field = "error";
	else if (a->err)
		return true;
	else if ((a->mode & S_IFMT) != (b->mode & S_IFMT))
		*field = "type";
	else if (a->mode != b->mode)
		*field = "mode";
	else if (a->uid != b->uid || a->gid != b->gid)
		*field = "owner";
	else if (!dir && a->size != b->size) /* directory sizes are private to each fs */
		*field = "size";
	else if (a->rdev != b->rdev)
		*field = "rdev";
	else if ((explicit_time(a) || explicit_time(b)) &&
		 (a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec) &&
		 !(S_ISFIFO(a->mode) && equiv_ok(run, EQ_FIFO_MTIME)))
		*field = "mtime";
	else if (a->nlink != b->nlink &&
		 !(dir && (a->nlink == 1 || b->nlink == 1) && equiv_ok(run, EQ_DIR_NLINK)) &&
		 !(a->nlink == 0 && equiv_ok(run, EQ_UNLINKED_NLINK)))
		*field = "nlink";
	return *field == NULL;
}

void stat_format(const struct fd_stat *st, char *buf, size_t size)
{
	if (st->err) {
		snprintf(buf, size, "%s", errno_name(st->err));
		return;
	}
	snprintf(buf, size, "%s mode=%04o uid=%u gid=%u size=%lld nlink=%llu mtime=%lld.%09ld%s",
		 type_name(st->mode), (unsigned int)(st->mode & 07777), (unsigned int)st->uid,
		 (unsigned int)st->gid, (long long)st->size, (unsigned long long)st->nlink,
		 (long long)st->mtime_sec, st->mtime_nsec, explicit_time(st) ? "" : " (now)");
}

void report_header(struct run *run, const struct op *op)
{
	char text[1024];

	op_format(op, text, sizeof(text));
	printf("DIVERGENCE seed=%llu profile=%s op #%lu\n", (unsigned long long)run->seed,
	       run->profile == PROFILE_RW ? "rw" : "ro", run->index);
	printf("  op:   %s\n", text);
}

static void format_ret(const struct result *r, char *buf, size_t size)
{
	if (r->ret < 0)
		snprintf(buf, size, "ret=%lld %s", r->ret, errno_name(r->err));
	else
		snprintf(buf, size, "ret=%lld", r->ret);
}

static void print_payload(const char *label, const struct result *r, size_t from)
{
	size_t i, end;

	if (r->pay == PAY_TEXT) {
		printf("  %s text (%zu bytes):\n", label, r->len);
		printf("%.*s%s", (int)(r->len > 2048 ? 2048 : r->len), (const char *)r->data,
		       r->len && r->data[r->len - 1] != '\n' ? "\n" : "");
		return;
	}
	printf("  %s data: %zu bytes; from offset %zu:", label, r->len, from);
	end = from + 32 < r->len ? from + 32 : r->len;
	for (i = from; i < end; i++)
		printf(" %02x", r->data[i]);
	printf("%s\n", end < r->len ? " ..." : "");
}

static void report_results(struct run *run, const char *what)
{
	char a[256], b[256];

	format_ret(&run->rref, a, sizeof(a));
	format_ret(&run->rtest, b, sizeof(b));
	printf("  what: %s\n", what);
	printf("  ref:  %s (%s)\n", a, run->ref.path);
	printf("  test: %s (%s)\n", b, run->test.path);
}

static bool copy_refused(const struct result *r)
{
	return r->ret < 0 && (r->err == EXDEV || r->err == EOPNOTSUPP || r->err == ENOSYS);
}

static bool dir_rename(const struct op *op, const struct pre_rename *pre)
{
	if (!pre->valid)
		return false;
	if (pre->src.err == 0 && S_ISDIR(pre->src.mode))
		return true;
	return (op->flags & RENAME_EXCHANGE) && pre->dst.err == 0 && S_ISDIR(pre->dst.mode);
}

/* Apply the allowed equivalences; false when applying one failed (reported). */
static bool apply_equivalences(struct run *run, const struct op *op)
{
	struct result *a = &run->rref, *b = &run->rtest;

	if (run->strict)
		return true;
	if (op->kind == OP_RENAME && b->ret < 0 && b->err == EXDEV && dir_rename(op, &a->pre)) {
		if (a->ret == 0) {
			int r = exec_undo_rename(&run->ref, op, &a->pre, &run->test);

			if (r < 0) {
				report_header(run, op);
				printf("  what: test answered EXDEV; undoing the reference rename "
				       "failed: %s\n",
				       errno_name(-r));
				return false;
			}
			lstat_path(&run->ref, op->path, &a->st);
			lstat_path(&run->ref, op->path2, &a->st2);
			a->ret = -1;
			a->err = EXDEV;
			equiv_ok(run, EQ_RENAME_DIR_EXDEV);
		} else if (a->err == ENOTEMPTY) {
			/* overlayfs refuses before it looks at the target. */
			a->err = EXDEV;
			equiv_ok(run, EQ_RENAME_DIR_EXDEV);
		}
	}
	if (op->kind == OP_LSEEK && (op->flags == SEEK_DATA || op->flags == SEEK_HOLE) &&
	    b->has_st && b->st.err == 0 && S_ISREG(b->st.mode) && a->ret != b->ret) {
		int64_t size = b->st.size;
		bool past = op->off < 0 || op->off >= size;
		long long dense = past ? -1 : op->flags == SEEK_DATA ? op->off : size;

		/* Filled holes: data is found no later, a hole no earlier. */
		bool filled =
		    b->ret >= 0 && (op->flags == SEEK_HOLE ? a->ret >= 0 && b->ret > a->ret
							   : (a->ret < 0 && a->err == ENXIO) ||
								 (a->ret >= 0 && b->ret < a->ret));

		if (((b->ret == dense && (past ? b->err == ENXIO : b->err == 0) &&
		      equiv_ok(run, EQ_SEEK_DENSE)) ||
		     (filled && equiv_ok(run, EQ_SPARSE_FILLED)))) {
			/* Both fds go on from the same offset. */
			if (b->ret >= 0 && run->ref.fd[op->slot] >= 0)
				lseek(run->ref.fd[op->slot], b->ret, SEEK_SET);
			a->ret = b->ret;
			a->err = b->err;
		}
	}
	if ((op->kind == OP_FCHMOD || op->kind == OP_FTRUNCATE || op->kind == OP_FALLOCATE ||
	     op->kind == OP_PWRITE || op->kind == OP_WRITE) &&
	    a->ret >= 0 && b->ret < 0 && (b->err == EEXIST || b->err == ENOENT) && a->has_st &&
	    a->st.err == 0 && a->st.nlink == 0 && !S_ISDIR(a->st.mode) &&
	    equiv_ok(run, EQ_ORPHAN_COPYUP)) {
		close(run->ref.fd[op->slot]);
		close(run->test.fd[op->slot]);
		run->ref.fd[op->slot] = run->test.fd[op->slot] = -1;
		a->ret = b->ret;
		a->err = b->err;
		a->st.err = b->st.err = EBADF;
	}
	if (op->kind == OP_COPY) {
		if (a->ret >= 0 && copy_refused(b)) {
			exec_copy_fallback(&run->test, op, b);
			equiv_ok(run, EQ_COPY_FALLBACK);
		} else if (b->ret >= 0 && copy_refused(a)) {
			exec_copy_fallback(&run->ref, op, a);
			equiv_ok(run, EQ_COPY_FALLBACK);
		}
	}
	return true;
}

static bool compare_stat(struct run *run, const struct op *op, const char *which,
			 const struct fd_stat *a, const struct fd_stat *b)
{
	const char *field;
	char sa[256], sb[256];

	if (stat_equal(run, a, b, &field))
		return true;
	report_header(run, op);
	format_ret(&run->rref, sa, sizeof(sa));
	printf("  both: %s\n", sa);
	stat_format(a, sa, sizeof(sa));
	stat_format(b, sb, sizeof(sb));
	printf("  what: %s after the op differs in %s\n", which, field);
	printf("  ref:  %s\n", sa);
	printf("  test: %s\n", sb);
	return false;
}

static const char *st_label(const struct op *op)
{
	if (op_uses_slot(op->kind))
		return "fstat of the slot";
	return op->kind == OP_STAT ? "stat of the path" : "lstat of the path";
}

bool compare_results(struct run *run, const struct op *op)
{
	struct result *a = &run->rref, *b = &run->rtest;
	char what[128];
	size_t i;

	if (!apply_equivalences(run, op))
		return false;
	if (a->ret != b->ret || a->err != b->err) {
		report_header(run, op);
		report_results(run, "result");
		return false;
	}
	if (a->pay != b->pay || a->len != b->len || (a->len && memcmp(a->data, b->data, a->len))) {
		for (i = 0; i < a->len && i < b->len && a->data[i] == b->data[i]; i++)
			;
		report_header(run, op);
		snprintf(what, sizeof(what), "data returned differs (first difference at byte %zu)",
			 i);
		report_results(run, what);
		print_payload("ref ", a, op->kind == OP_READDIR || a->pay == PAY_TEXT ? 0 : i);
		print_payload("test", b, op->kind == OP_READDIR || b->pay == PAY_TEXT ? 0 : i);
		return false;
	}
	if (a->has_st != b->has_st || a->has_st2 != b->has_st2) {
		report_header(run, op);
		report_results(run, "one side has no stat after the op");
		return false;
	}
	if (a->has_st && !compare_stat(run, op, st_label(op), &a->st, &b->st))
		return false;
	if (a->has_st2 && !compare_stat(run, op, "stat of the destination", &a->st2, &b->st2))
		return false;
	return true;
}
