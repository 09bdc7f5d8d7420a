// SPDX-License-Identifier: GPL-2.0-only
/*
 * The seeded generator: a xoshiro256** stream (seeded through splitmix64)
 * drives every choice, so a seed fixes the whole sequence of operations,
 * whatever the file systems answer. Names come from a pool of five at each
 * level, three levels deep, so operations collide often: creating over what
 * was just renamed, unlinking what is still open, linking into a directory
 * that another op replaced by a file.
 */
#include "fsdiff.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

const char *const fd_names[] = {"a", "b", "c", "d", "e"};
const unsigned int fd_nnames = sizeof(fd_names) / sizeof(fd_names[0]);

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

bool rng_chance(struct rng *r, unsigned int percent)
{
	return rng_below(r, 100) < percent;
}

/* Bytes written by the tester: mostly random, sometimes all zero (which an
 * implementation must still store as data) or one repeated byte. */
void fill_bytes(uint64_t seed, unsigned char *buf, size_t len)
{
	uint64_t x = seed, v = 0;
	unsigned int kind = seed % 20;
	size_t i;

	if (kind < 3) {
		memset(buf, 0, len);
		return;
	}
	if (kind < 6) {
		memset(buf, (int)(seed >> 8) | 1, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = splitmix64(&x);
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* "a", "c/b", "e/e/a": one to three names from the pool. */
void gen_path(struct rng *r, char *out, size_t size)
{
	unsigned int depth, i, roll = (unsigned int)rng_below(r, 100);
	size_t n = 0;

	depth = roll < 45 ? 1 : roll < 85 ? 2 : 3;
	out[0] = '\0';
	for (i = 0; i < depth && n + 3 < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "/" : "",
				      fd_names[rng_below(r, fd_nnames)]);
}

/* A path, or now and then the root itself (".") for directory operations. */
static void gen_path_or_root(struct rng *r, char *out, size_t size)
{
	if (rng_chance(r, 8))
		snprintf(out, size, ".");
	else
		gen_path(r, out, size);
}

/* Symlink targets: relative, upward, absolute (resolved inside the root by
 * the tester), dangling, self-referencing. */
void gen_target(struct rng *r, char *out, size_t size)
{
	char p[FD_PATH_MAX];
	unsigned int roll = (unsigned int)rng_below(r, 100);

	gen_path(r, p, sizeof(p));
	if (roll < 35)
		snprintf(out, size, "%s", p);
	else if (roll < 55)
		snprintf(out, size, "../%s", p);
	else if (roll < 75)
		snprintf(out, size, "/%s", p);
	else if (roll < 85)
		snprintf(out, size, "%s", fd_names[rng_below(r, fd_nnames)]);
	else if (roll < 90)
		snprintf(out, size, ".");
	else if (roll < 95)
		snprintf(out, size, "..");
	else
		snprintf(out, size, "nowhere/%s", p);
}

/* Offsets: file starts, page edges, the middle of small files, and far past
 * any end of file (holes). At most 3 MiB, so files stay small. */
static int64_t gen_offset(struct rng *r)
{
	unsigned int roll = (unsigned int)rng_below(r, 100);

	if (roll < 25)
		return 0;
	if (roll < 40)
		return (int64_t)rng_below(r, 4096);
	if (roll < 55)
		return (int64_t)rng_below(r, 64) * 4096;
	if (roll < 62) {
		/* One draw per statement: the order in which the operands of one
		 * expression are evaluated is unspecified, and the stream must not
		 * depend on the compiler. */
		int64_t page = (int64_t)rng_below(r, 8) * 4096 + 4096;

		return page + (rng_chance(r, 50) ? 1 : -1);
	}
	if (roll < 77)
		return (int64_t)rng_below(r, 65536);
	if (roll < 92)
		return (int64_t)rng_below(r, 1 << 20);
	return (1 << 20) + (int64_t)rng_below(r, 2 << 20);
}

static int64_t gen_len(struct rng *r)
{
	unsigned int roll = (unsigned int)rng_below(r, 100);

	if (roll < 5)
		return 0;
	if (roll < 35)
		return 1 + (int64_t)rng_below(r, 128);
	if (roll < 60)
		return 1 + (int64_t)rng_below(r, 4096);
	if (roll < 70)
		return rng_chance(r, 50) ? 4096 : 8192;
	if (roll < 95)
		return 1 + (int64_t)rng_below(r, 65536);
	return 65536 + (int64_t)rng_below(r, FD_MAX_IO - 65536 + 1);
}

static unsigned int gen_file_mode(struct rng *r)
{
	static const unsigned int modes[] = {0644, 0600, 0755, 0444, 0640, 0000, 0777, 04755, 02755, 0700};

	return modes[rng_below(r, sizeof(modes) / sizeof(modes[0]))];
}

static unsigned int gen_dir_mode(struct rng *r)
{
	static const unsigned int modes[] = {0755, 0700, 0775, 01777, 0555, 02775};

	return modes[rng_below(r, sizeof(modes) / sizeof(modes[0]))];
}

static int64_t gen_id(struct rng *r)
{
	static const int64_t ids[] = {-1, 0, 0, 1000, 65534, 4242};

	return ids[rng_below(r, sizeof(ids) / sizeof(ids[0]))];
}

static void gen_xattr_name(struct rng *r, char *out, size_t size)
{
	static const char *const names[] = {"user.a", "user.b", "user.c", "user.fsdiff.long-name"};

	snprintf(out, size, "%s", names[rng_below(r, sizeof(names) / sizeof(names[0]))]);
}

static unsigned int gen_open_flags(struct rng *r)
{
	unsigned int roll = (unsigned int)rng_below(r, 100);
	unsigned int f = roll < 25 ? O_RDONLY : roll < 40 ? O_WRONLY : O_RDWR;

	if (rng_chance(r, 50)) {
		f |= O_CREAT;
		if (rng_chance(r, 20))
			f |= O_EXCL;
	}
	if (rng_chance(r, 15))
		f |= O_TRUNC;
	if (rng_chance(r, 15))
		f |= O_APPEND;
	if (rng_chance(r, 8))
		f |= O_NOFOLLOW;
	if (rng_chance(r, 5))
		f |= O_DIRECTORY;
	return f;
}

struct weight {
	enum op_kind kind;
	unsigned int w;
};

static const struct weight rw_weights[] = {
    {OP_OPEN, 110},	{OP_CLOSE, 15},	     {OP_PREAD, 70},	  {OP_PWRITE, 90},
    {OP_WRITE, 35},	{OP_READFILE, 40},   {OP_TRUNCATE, 25},	  {OP_FTRUNCATE, 25},
    {OP_FALLOCATE, 35}, {OP_MKDIR, 45},	     {OP_RMDIR, 30},	  {OP_UNLINK, 45},
    {OP_RENAME, 60},	{OP_LINK, 25},	     {OP_SYMLINK, 30},	  {OP_READLINK, 15},
    {OP_CHMOD, 20},	{OP_FCHMOD, 10},     {OP_CHOWN, 20},	  {OP_UTIMENS, 20},
    {OP_SETXATTR, 30},	{OP_GETXATTR, 20},   {OP_LISTXATTR, 15},  {OP_REMOVEXATTR, 15},
    {OP_MKFIFO, 10},	{OP_READDIR, 40},    {OP_STAT, 40},	  {OP_FSTAT, 25},
    {OP_FSYNC, 15},	{OP_COPY, 25},	     {OP_LSEEK, 30},	  {OP_ACCESS, 10},
};

static const struct weight ro_weights[] = {
    {OP_OPEN, 120},	{OP_CLOSE, 40},	    {OP_PREAD, 120},	{OP_READFILE, 80},
    {OP_READLINK, 60},	{OP_GETXATTR, 60},  {OP_LISTXATTR, 50}, {OP_READDIR, 80},
    {OP_STAT, 120},	{OP_FSTAT, 50},	    {OP_LSEEK, 80},	{OP_ACCESS, 30},
};

static enum op_kind pick_kind(struct rng *r, const struct weight *w, size_t n)
{
	unsigned int total = 0, roll;
	size_t i;

	for (i = 0; i < n; i++)
		total += w[i].w;
	roll = (unsigned int)rng_below(r, total);
	for (i = 0; i < n; i++) {
		if (roll < w[i].w)
			return w[i].kind;
		roll -= w[i].w;
	}
	return w[n - 1].kind;
}

static void gen_rw_args(struct rng *r, struct op *op)
{
	static const unsigned int falloc_modes[] = {
	    0,
	    FALLOC_FL_KEEP_SIZE,
	    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    FALLOC_FL_ZERO_RANGE,
	    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	static const unsigned int rename_flags[] = {0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE};
	static const unsigned int xattr_flags[] = {0, 0, XATTR_CREATE, XATTR_REPLACE};

	switch (op->kind) {
	case OP_OPEN:
		op->flags = gen_open_flags(r);
		op->mode = gen_file_mode(r);
		break;
	case OP_PWRITE:
	case OP_WRITE:
		op->fill = rng_next(r);
		break;
	case OP_TRUNCATE:
	case OP_FTRUNCATE:
		op->len = gen_offset(r);
		break;
	case OP_FALLOCATE:
		op->flags = falloc_modes[rng_below(r, sizeof(falloc_modes) / sizeof(falloc_modes[0]))];
		op->len = gen_len(r);
		break;
	case OP_MKDIR:
		op->mode = gen_dir_mode(r);
		break;
	case OP_MKFIFO:
		op->mode = gen_file_mode(r) & 0777;
		break;
	case OP_RENAME:
		op->flags = rename_flags[rng_below(r, 5)];
		gen_path(r, op->path2, sizeof(op->path2));
		break;
	case OP_LINK:
		gen_path(r, op->path2, sizeof(op->path2));
		break;
	case OP_SYMLINK:
		gen_target(r, op->path2, sizeof(op->path2));
		break;
	case OP_CHMOD:
	case OP_FCHMOD:
		op->mode = rng_chance(r, 30) ? gen_dir_mode(r) : gen_file_mode(r);
		break;
	case OP_CHOWN:
		op->uid = gen_id(r);
		op->gid = gen_id(r);
		break;
	case OP_UTIMENS:
		op->sec = FD_TIME_EXPLICIT_MIN + (int64_t)rng_below(r, 400000000);
		op->nsec = rng_chance(r, 10)   ? FD_TIME_NOW
			   : rng_chance(r, 10) ? FD_TIME_OMIT
					       : (long)rng_below(r, 1000000000);
		break;
	case OP_SETXATTR:
		op->flags = xattr_flags[rng_below(r, 4)];
		op->fill = rng_next(r);
		op->len = rng_chance(r, 10) ? 0
			  : rng_chance(r, 80) ? 1 + (int64_t)rng_below(r, 64)
					      : (int64_t)rng_below(r, FD_MAX_XATTR / 2);
		break;
	case OP_FSYNC:
		op->flags = (unsigned int)rng_below(r, 2); /* 1: fdatasync */
		break;
	default:
		break;
	}
}

void gen_op(struct rng *r, enum fd_profile profile, struct op *op)
{
	static const unsigned int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, SEEK_DATA, SEEK_HOLE};
	bool rw = profile == PROFILE_RW;

	memset(op, 0, sizeof(*op));
	op->uid = op->gid = -1;
	op->kind = rw ? pick_kind(r, rw_weights, sizeof(rw_weights) / sizeof(rw_weights[0]))
		      : pick_kind(r, ro_weights, sizeof(ro_weights) / sizeof(ro_weights[0]));
	/* Common fields first, always drawn, so that the stream stays simple. */
	op->slot = (int)rng_below(r, FD_NSLOTS);
	op->slot2 = (int)rng_below(r, FD_NSLOTS);
	op->follow = rng_chance(r, 70);
	op->off = gen_offset(r);
	op->off2 = gen_offset(r);
	op->len = gen_len(r);
	if (op->kind == OP_READDIR || op->kind == OP_STAT || op->kind == OP_LISTXATTR ||
	    op->kind == OP_ACCESS)
		gen_path_or_root(r, op->path, sizeof(op->path));
	else
		gen_path(r, op->path, sizeof(op->path));
	gen_xattr_name(r, op->name, sizeof(op->name));

	switch (op->kind) {
	case OP_OPEN:
		op->flags = O_RDONLY;
		if (rng_chance(r, 10))
			op->flags |= O_NOFOLLOW;
		if (rng_chance(r, 10))
			op->flags |= O_DIRECTORY;
		break;
	case OP_LSEEK:
		op->flags = whences[rng_below(r, sizeof(whences) / sizeof(whences[0]))];
		break;
	case OP_ACCESS:
		op->flags = (unsigned int)rng_below(r, 8) & (rw ? 7 : 5); /* no W_OK when read-only */
		break;
	default:
		break;
	}
	if (rw)
		gen_rw_args(r, op);
}
