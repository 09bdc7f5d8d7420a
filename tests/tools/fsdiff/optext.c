// SPDX-License-Identifier: GPL-2.0-only
/*
 * Operations as one line of text: "rename path=a/b to=c flags=RENAME_NOREPLACE".
 * The same text goes to the log (--log), comes back with --replay, and names
 * the op in a divergence report. Flags print symbolically per operation.
 */
#include "fsdiff.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

struct op_desc {
	const char *name;
	unsigned int fields;
};

static const struct op_desc op_descs[OP__COUNT] = {
    [OP_OPEN] = {"open", F_SLOT | F_PATH | F_FLAGS | F_MODE},
    [OP_CLOSE] = {"close", F_SLOT},
    [OP_PREAD] = {"pread", F_SLOT | F_OFF | F_LEN},
    [OP_PWRITE] = {"pwrite", F_SLOT | F_OFF | F_LEN | F_FILL},
    [OP_WRITE] = {"write", F_SLOT | F_LEN | F_FILL},
    [OP_READFILE] = {"readfile", F_PATH},
    [OP_TRUNCATE] = {"truncate", F_PATH | F_LEN},
    [OP_FTRUNCATE] = {"ftruncate", F_SLOT | F_LEN},
    [OP_FALLOCATE] = {"fallocate", F_SLOT | F_FLAGS | F_OFF | F_LEN},
    [OP_MKDIR] = {"mkdir", F_PATH | F_MODE},
    [OP_RMDIR] = {"rmdir", F_PATH},
    [OP_UNLINK] = {"unlink", F_PATH},
    [OP_RENAME] = {"rename", F_PATH | F_PATH2 | F_FLAGS},
    [OP_LINK] = {"link", F_PATH | F_PATH2},
    [OP_SYMLINK] = {"symlink", F_PATH | F_TARGET},
    [OP_READLINK] = {"readlink", F_PATH},
    [OP_CHMOD] = {"chmod", F_PATH | F_MODE},
    [OP_FCHMOD] = {"fchmod", F_SLOT | F_MODE},
    [OP_CHOWN] = {"chown", F_PATH | F_OWNER | F_FOLLOW},
    [OP_UTIMENS] = {"utimens", F_PATH | F_TIME | F_FOLLOW},
    [OP_SETXATTR] = {"setxattr", F_PATH | F_NAME | F_FLAGS | F_LEN | F_FILL | F_FOLLOW},
    [OP_GETXATTR] = {"getxattr", F_PATH | F_NAME | F_FOLLOW},
    [OP_LISTXATTR] = {"listxattr", F_PATH | F_FOLLOW},
    [OP_REMOVEXATTR] = {"removexattr", F_PATH | F_NAME | F_FOLLOW},
    [OP_MKFIFO] = {"mkfifo", F_PATH | F_MODE},
    [OP_READDIR] = {"readdir", F_PATH},
    [OP_STAT] = {"stat", F_PATH | F_FOLLOW},
    [OP_FSTAT] = {"fstat", F_SLOT},
    [OP_FSYNC] = {"fsync", F_SLOT | F_FLAGS},
    [OP_COPY] = {"copy_file_range", F_SLOT | F_OFF | F_SLOT2 | F_OFF2 | F_LEN},
    [OP_LSEEK] = {"lseek", F_SLOT | F_OFF | F_FLAGS},
    [OP_ACCESS] = {"access", F_PATH | F_FLAGS},
    [OP_CHECK] = {"check", 0},
};

const char *op_name(enum op_kind kind)
{
	return kind < OP__COUNT ? op_descs[kind].name : "?";
}

struct flag_name {
	const char *name;
	unsigned int val;
};

#define FN(x) {#x, x}
static const struct flag_name open_access[] = {FN(O_RDONLY), FN(O_WRONLY), FN(O_RDWR), {NULL, 0}};
static const struct flag_name open_bits[] = {
    FN(O_CREAT), FN(O_EXCL), FN(O_TRUNC), FN(O_APPEND), FN(O_NOFOLLOW), FN(O_DIRECTORY), {NULL, 0}};
static const struct flag_name rename_bits[] = {
    FN(RENAME_NOREPLACE), FN(RENAME_EXCHANGE), FN(RENAME_WHITEOUT), {NULL, 0}};
static const struct flag_name falloc_bits[] = {
    FN(FALLOC_FL_KEEP_SIZE), FN(FALLOC_FL_PUNCH_HOLE), FN(FALLOC_FL_ZERO_RANGE), {NULL, 0}};
static const struct flag_name xattr_bits[] = {FN(XATTR_CREATE), FN(XATTR_REPLACE), {NULL, 0}};
static const struct flag_name access_bits[] = {FN(R_OK), FN(W_OK), FN(X_OK), {NULL, 0}};
static const struct flag_name whence_vals[] = {
    FN(SEEK_SET), FN(SEEK_CUR), FN(SEEK_END), FN(SEEK_DATA), FN(SEEK_HOLE), {NULL, 0}};
static const struct flag_name fsync_vals[] = {{"fsync", 0}, {"fdatasync", 1}, {NULL, 0}};
#undef FN

/* Bits tables print "A|B|0x40"; value tables ("enums") print one name. */
static const struct flag_name *flag_table(enum op_kind kind, bool *is_enum)
{
	*is_enum = false;
	switch (kind) {
	case OP_OPEN:
		return open_bits;
	case OP_RENAME:
		return rename_bits;
	case OP_FALLOCATE:
		return falloc_bits;
	case OP_SETXATTR:
		return xattr_bits;
	case OP_ACCESS:
		return access_bits;
	case OP_LSEEK:
		*is_enum = true;
		return whence_vals;
	case OP_FSYNC:
		*is_enum = true;
		return fsync_vals;
	default:
		return NULL;
	}
}

static size_t appendf(char *buf, size_t size, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t appendf(char *buf, size_t size, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n >= size)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	return r < 0 ? n : n + (size_t)r;
}

static size_t format_flags(enum op_kind kind, unsigned int v, char *buf, size_t size, size_t n)
{
	const struct flag_name *t, *e;
	bool is_enum, first = true;

	t = flag_table(kind, &is_enum);
	if (is_enum) {
		for (e = t; e->name; e++)
			if (e->val == v)
				return appendf(buf, size, n, "%s", e->name);
		return appendf(buf, size, n, "%u", v);
	}
	if (kind == OP_OPEN) {
		for (e = open_access; e->name; e++)
			if (e->val == (v & O_ACCMODE))
				n = appendf(buf, size, n, "%s", e->name);
		v &= ~(unsigned int)O_ACCMODE;
		first = false;
	}
	for (e = t; e && e->name; e++)
		if (v & e->val) {
			n = appendf(buf, size, n, "%s%s", first ? "" : "|", e->name);
			v &= ~e->val;
			first = false;
		}
	if (v || first)
		n = appendf(buf, size, n, "%s%#x", first ? "" : "|", v);
	return n;
}

void op_format(const struct op *op, char *buf, size_t size)
{
	unsigned int f = op_descs[op->kind].fields;
	size_t n = 0;

	n = appendf(buf, size, n, "%s", op_name(op->kind));
	if (f & F_SLOT)
		n = appendf(buf, size, n, " slot=%d", op->slot);
	if (f & F_PATH)
		n = appendf(buf, size, n, " path=%s", op->path);
	if (f & F_PATH2)
		n = appendf(buf, size, n, " to=%s", op->path2);
	if (f & F_TARGET)
		n = appendf(buf, size, n, " target=%s", op->path2);
	if (f & F_NAME)
		n = appendf(buf, size, n, " name=%s", op->name);
	if (f & F_FLAGS) {
		n = appendf(buf, size, n, " flags=");
		n = format_flags(op->kind, op->flags, buf, size, n);
	}
	if (f & F_MODE)
		n = appendf(buf, size, n, " mode=%04o", op->mode);
	if (f & F_OFF)
		n = appendf(buf, size, n, " off=%" PRId64, op->off);
	if (f & F_SLOT2)
		n = appendf(buf, size, n, " slot2=%d", op->slot2);
	if (f & F_OFF2)
		n = appendf(buf, size, n, " off2=%" PRId64, op->off2);
	if (f & F_LEN)
		n = appendf(buf, size, n, " len=%" PRId64, op->len);
	if (f & F_OWNER)
		n = appendf(buf, size, n, " uid=%" PRId64 " gid=%" PRId64, op->uid, op->gid);
	if (f & F_TIME) {
		if (op->nsec == FD_TIME_NOW)
			n = appendf(buf, size, n, " time=now");
		else if (op->nsec == FD_TIME_OMIT)
			n = appendf(buf, size, n, " time=omit");
		else
			n = appendf(buf, size, n, " time=%" PRId64 ".%09ld", op->sec, op->nsec);
	}
	if (f & F_FILL)
		n = appendf(buf, size, n, " fill=%#" PRIx64, op->fill);
	if (f & F_FOLLOW)
		n = appendf(buf, size, n, " follow=%s", op->follow ? "yes" : "no");
	(void)n;
}

static int parse_i64(const char *s, int base, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_flags(enum op_kind kind, const char *s, unsigned int *out)
{
	const struct flag_name *t, *e;
	char tok[64];
	unsigned int v = 0;
	bool is_enum;

	t = flag_table(kind, &is_enum);
	while (*s) {
		size_t len = strcspn(s, "|");
		int64_t num;
		bool found = false;

		if (len == 0 || len >= sizeof(tok))
			return -EINVAL;
		memcpy(tok, s, len);
		tok[len] = '\0';
		s += len + (s[len] == '|');
		for (e = t; e && e->name && !found; e++)
			if (streq(tok, e->name)) {
				v |= e->val;
				found = true;
			}
		for (e = open_access; kind == OP_OPEN && e->name && !found; e++)
			if (streq(tok, e->name)) {
				v |= e->val;
				found = true;
			}
		if (!found) {
			if (parse_i64(tok, 0, &num) < 0 || num < 0 || num > UINT32_MAX)
				return -EINVAL;
			v |= (unsigned int)num;
		}
	}
	*out = v;
	return 0;
}

static int parse_path(const char *s, char *out, size_t size)
{
	if (!*s || strlen(s) >= size)
		return -EINVAL;
	snprintf(out, size, "%s", s);
	return 0;
}

static int parse_field(struct op *op, const char *key, const char *val)
{
	int64_t v;
	int r = 0;

	if (streq(key, "slot") || streq(key, "slot2")) {
		r = parse_i64(val, 10, &v);
		if (r == 0 && (v < 0 || v >= FD_NSLOTS))
			r = -EINVAL;
		if (r == 0)
			*(key[4] ? &op->slot2 : &op->slot) = (int)v;
	} else if (streq(key, "path")) {
		r = parse_path(val, op->path, sizeof(op->path));
	} else if (streq(key, "to") || streq(key, "target")) {
		r = parse_path(val, op->path2, sizeof(op->path2));
	} else if (streq(key, "name")) {
		r = parse_path(val, op->name, sizeof(op->name));
	} else if (streq(key, "flags")) {
		r = parse_flags(op->kind, val, &op->flags);
	} else if (streq(key, "mode")) {
		r = parse_i64(val, 8, &v);
		if (r == 0 && (v < 0 || v > 07777))
			r = -EINVAL;
		if (r == 0)
			op->mode = (unsigned int)v;
	} else if (streq(key, "off")) {
		r = parse_i64(val, 10, &op->off);
	} else if (streq(key, "off2")) {
		r = parse_i64(val, 10, &op->off2);
	} else if (streq(key, "len")) {
		r = parse_i64(val, 10, &op->len);
		if (r == 0 && (op->len < 0 || op->len > (int64_t)FD_MAX_FILE))
			r = -EINVAL;
	} else if (streq(key, "uid")) {
		r = parse_i64(val, 10, &op->uid);
	} else if (streq(key, "gid")) {
		r = parse_i64(val, 10, &op->gid);
	} else if (streq(key, "fill")) {
		/* Fills are full 64-bit values, printed as %#x: strtoll would
		 * refuse those above INT64_MAX (and v was used unset then). */
		char *end;
		unsigned long long u;

		errno = 0;
		u = strtoull(val, &end, 16);
		r = errno || end == val || *end || *val == '-' ? -EINVAL : 0;
		if (r == 0)
			op->fill = u;
	} else if (streq(key, "time")) {
		if (streq(val, "now")) {
			op->nsec = FD_TIME_NOW;
		} else if (streq(val, "omit")) {
			op->nsec = FD_TIME_OMIT;
		} else {
			long long sec = 0;
			long nsec = 0;
			int used = 0;

			/* Exactly the form printed: seconds, a dot, nine digits. */
			if (sscanf(val, "%lld.%9ld%n", &sec, &nsec, &used) != 2 || val[used] ||
			    nsec < 0 || strlen(strchr(val, '.') + 1) != 9)
				r = -EINVAL;
			op->sec = sec;
			op->nsec = nsec;
		}
	} else if (streq(key, "follow")) {
		if (streq(val, "yes") || streq(val, "no"))
			op->follow = streq(val, "yes");
		else
			r = -EINVAL;
	} else {
		r = -ENOENT;
	}
	return r;
}

/* One line of the log back into an op; err says what is wrong. */
int op_parse(const char *line, struct op *op, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	unsigned int k;
	int r;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "line too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	buf[strcspn(buf, "\r\n")] = '\0';
	memset(op, 0, sizeof(*op));
	op->uid = op->gid = -1;
	tok = strtok_r(buf, " ", &save);
	if (!tok) {
		snprintf(err, errlen, "empty line");
		return -EINVAL;
	}
	for (k = 0; k < OP__COUNT; k++)
		if (streq(tok, op_descs[k].name))
			break;
	if (k == OP__COUNT) {
		snprintf(err, errlen, "unknown operation '%s'", tok);
		return -EINVAL;
	}
	op->kind = (enum op_kind)k;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errlen, "'%s' is not key=value", tok);
			return -EINVAL;
		}
		*eq = '\0';
		r = parse_field(op, tok, eq + 1);
		if (r == -ENOENT) {
			snprintf(err, errlen, "unknown key '%s'", tok);
			return -EINVAL;
		}
		if (r < 0) {
			snprintf(err, errlen, "bad value '%s' for %s", eq + 1, tok);
			return -EINVAL;
		}
	}
	return 0;
}

const char *errno_name(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "E?";
}
