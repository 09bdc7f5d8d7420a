/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fsdiff: a differential file system tester. One seeded pseudo-random
 * sequence of operations is applied to a reference tree (a native directory or
 * a kernel overlayfs mount) and to the file system under test; every result is
 * compared, then the whole trees. Types shared by its parts:
 *   gen.c      the seeded generator of operations (per profile)
 *   optext.c   operations as text (the log, --replay, reports)
 *   exec.c     running one operation on one side, capturing its result
 *   compare.c  comparing two results, the allowed equivalences, the report
 *   tree.c     the full tree comparison
 *   build.c    the seed-determined layer builder (--build-tree)
 */
#ifndef FSDIFF_H
#define FSDIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util.h"

#define FD_NSLOTS 4		   /* open file descriptors kept per side */
#define FD_PATH_MAX 160		   /* generated paths and symlink targets */
#define FD_XNAME_MAX 32		   /* xattr names */
#define FD_MAX_IO (256 * 1024)	   /* largest single read, write or copy */
#define FD_MAX_FILE (8u << 20)	   /* whole-file reads stop here */
#define FD_MAX_XATTR 4096	   /* largest xattr value written or read */
#define FD_MAX_ENTRIES 20000	   /* entries in one tree walk */
#define FD_MAX_DEPTH 24		   /* directory depth in one tree walk */
#define FD_MAX_SEGMENTS 512	   /* data segments (SEEK_DATA/SEEK_HOLE) per file */
#define FD_TIME_EXPLICIT_MIN 900000000LL  /* mtimes set by the tester or the */
#define FD_TIME_EXPLICIT_MAX 1400000000LL /* builder lie in this range (2001-2014) */

enum fd_profile {
	PROFILE_READONLY,
	PROFILE_RW,
};

enum op_kind {
	OP_OPEN,
	OP_CLOSE,
	OP_PREAD,
	OP_PWRITE,
	OP_WRITE,
	OP_READFILE,
	OP_TRUNCATE,
	OP_FTRUNCATE,
	OP_FALLOCATE,
	OP_MKDIR,
	OP_RMDIR,
	OP_UNLINK,
	OP_RENAME,
	OP_LINK,
	OP_SYMLINK,
	OP_READLINK,
	OP_CHMOD,
	OP_FCHMOD,
	OP_CHOWN,
	OP_UTIMENS,
	OP_SETXATTR,
	OP_GETXATTR,
	OP_LISTXATTR,
	OP_REMOVEXATTR,
	OP_MKFIFO,
	OP_READDIR,
	OP_STAT,
	OP_FSTAT,
	OP_FSYNC,
	OP_COPY,
	OP_LSEEK,
	OP_ACCESS,
	OP_CHECK, /* full tree comparison */
	OP__COUNT,
};

/* Which fields of struct op an operation uses (its text form prints these). */
enum {
	F_SLOT = 1 << 0,
	F_SLOT2 = 1 << 1,
	F_PATH = 1 << 2,
	F_PATH2 = 1 << 3,
	F_FLAGS = 1 << 4,
	F_MODE = 1 << 5,
	F_OFF = 1 << 6,
	F_OFF2 = 1 << 7,
	F_LEN = 1 << 8,
	F_OWNER = 1 << 9,
	F_FILL = 1 << 10,
	F_NAME = 1 << 11,
	F_TIME = 1 << 12,
	F_FOLLOW = 1 << 13,
	F_TARGET = 1 << 14,
};

/* utimens: these tv_nsec values mean "now" and "leave alone". */
#define FD_TIME_NOW (-1L)
#define FD_TIME_OMIT (-2L)

struct op {
	enum op_kind kind;
	int slot, slot2;
	char path[FD_PATH_MAX];
	char path2[FD_PATH_MAX]; /* rename/link destination; symlink target */
	unsigned int flags;	 /* per kind: open, rename, fallocate, xattr, seek, access, fsync */
	unsigned int mode;
	int64_t off, off2, len;
	int64_t uid, gid; /* -1: unchanged */
	uint64_t fill;	  /* seed of the bytes written (write) or of an xattr value */
	char name[FD_XNAME_MAX];
	int64_t sec;
	long nsec; /* or FD_TIME_NOW / FD_TIME_OMIT */
	bool follow;
};

/* The stat fields that must match (st_ino/st_dev, atime, ctime, blocks do not). */
struct fd_stat {
	int err; /* 0, or the errno of the stat call */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int64_t size;
	uint64_t nlink;
	int64_t mtime_sec;
	long mtime_nsec;
	dev_t rdev;
};

enum payload {
	PAY_NONE,
	PAY_BYTES, /* data read, an xattr value, a symlink target */
	PAY_TEXT,  /* canonical text: a directory listing, an xattr name list */
};

/* Metadata captured before a rename, for the EXDEV equivalence's undo. */
struct pre_rename {
	bool valid;
	struct fd_stat src, dst;       /* the two paths */
	struct fd_stat srcdir, dstdir; /* their parent directories (mtimes to restore) */
	int dfd, dfd2; /* those directories (O_PATH, owned while valid): the undo must not
			* resolve the paths again, the rename may have moved what they cross */
};

struct result {
	long long ret;
	int err;
	enum payload pay;
	unsigned char *data;
	size_t len, cap;
	bool has_st, has_st2;
	struct fd_stat st, st2; /* after the op: the path (or slot), and path2 */
	struct pre_rename pre;
};

struct side {
	const char *label; /* "ref" or "test" */
	const char *path;
	int root;
	int fd[FD_NSLOTS];
	bool seek_data; /* SEEK_DATA/SEEK_HOLE answer (tree.c compares sparse layouts) */
};

/* Equivalences: differences between correct implementations that the tester
 * allows (see compare.c); counted and printed at the end. */
enum equiv {
	EQ_RENAME_DIR_EXDEV,
	EQ_DIR_NLINK,
	EQ_COPY_FALLBACK,
	EQ_SPARSE_FILLED, /* from here on: only with --allow */
	EQ_FIFO_MTIME,
	EQ_UNLINKED_NLINK,
	EQ_SEEK_DENSE,
	EQ_ORPHAN_COPYUP,
	EQ__COUNT,
};
#define EQ_OPT_IN_FIRST EQ_SPARSE_FILLED

struct run {
	uint64_t seed;
	enum fd_profile profile;
	bool strict;	      /* no equivalences at all */
	unsigned int allowed; /* opt-in equivalences (1 << enum equiv) */
	bool verbose;
	unsigned long index; /* of the current op */
	struct side ref, test;
	unsigned long equiv_used[EQ__COUNT];
	struct result rref, rtest;
};

/* gen.c */
struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n); /* 0..n-1, n > 0 */
bool rng_chance(struct rng *r, unsigned int percent);
void fill_bytes(uint64_t seed, unsigned char *buf, size_t len);
void gen_path(struct rng *r, char *out, size_t size);
void gen_target(struct rng *r, char *out, size_t size);
void gen_op(struct rng *r, enum fd_profile profile, struct op *op);
extern const char *const fd_names[];
extern const unsigned int fd_nnames;

/* optext.c */
const char *op_name(enum op_kind kind);
void op_format(const struct op *op, char *buf, size_t size);
int op_parse(const char *line, struct op *op, char *err, size_t errlen);
const char *errno_name(int err);

/* exec.c */
int side_open(struct side *s, const char *label, const char *path);
void side_close(struct side *s);
void result_init(struct result *r);
void result_free(struct result *r);
void exec_op(struct run *run, struct side *s, const struct op *op, struct result *r);
bool op_uses_slot(enum op_kind k);
int resolve_parent(struct side *s, const char *path, const char **leaf);
int resolve_path(struct side *s, const char *path, bool follow);
void stat_capture(const struct stat *st, struct fd_stat *out);
void lstat_path(struct side *s, const char *path, struct fd_stat *out);
void exec_copy_fallback(struct side *s, const struct op *op, struct result *r);
int exec_undo_rename(struct side *s, const struct op *op, const struct pre_rename *pre,
		     struct side *model);
bool xattr_private(const char *name);
int xattr_names(const char *path, bool follow, char **out);
void payload_set(struct result *r, enum payload pay, const void *data, size_t len);

/* compare.c */
bool compare_results(struct run *run, const struct op *op);
bool stat_equal(struct run *run, const struct fd_stat *a, const struct fd_stat *b,
		const char **field);
void stat_format(const struct fd_stat *st, char *buf, size_t size);
void report_header(struct run *run, const struct op *op);
const char *equiv_name(enum equiv e);
bool equiv_ok(struct run *run, enum equiv e); /* allowed here; counts the use */

/* tree.c */
struct names {
	char **v;
	size_t n;
};
int read_names(int fd, struct names *out);
void names_free(struct names *nm);
bool compare_trees(struct run *run, const struct op *op);

/* build.c */
int build_tree(const char *dir, uint64_t seed, unsigned int layers);

#endif
