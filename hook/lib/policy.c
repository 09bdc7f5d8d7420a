// SPDX-License-Identifier: GPL-2.0-only
/*
 * File-access policy: the one place that parses `fusebox.io/policy` and admin
 * profiles, the reference decision every other part must agree with, the
 * profile + annotation combination and the compiler to the kernel maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include <jansson.h>

#include "util.h"
#include "policy.h"

static const char *const right_names[FB_NR_RIGHTS] = {
    "read", "write", "exec", "create", "delete", "rename", "link", "setattr",
};

/* Bytes of an untrusted string quoted in a message; escaped it takes 4x. */
#define QUOTE_MAX 96
#define QBUF (4 * QUOTE_MAX + 8)

static int __attribute__((format(printf, 5, 6)))
fail(char *err, size_t errlen, int r, const char *source, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || errlen == 0)
		return r;
	n = snprintf(err, errlen, "%s: ", source);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/*
 * s with non-printable bytes escaped, cut after QUOTE_MAX bytes: safe to put
 * in a one-line message. quoted: in "..." with quotes and backslashes escaped.
 */
static const char *escape(char buf[QBUF], const char *s, bool quoted)
{
	size_t i, o = 0;

	if (quoted)
		buf[o++] = '"';
	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = s[i];

		if (quoted && (c == '"' || c == '\\'))
			o += sprintf(buf + o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += sprintf(buf + o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	if (quoted)
		buf[o++] = '"';
	if (s[i])
		o += sprintf(buf + o, "...");
	buf[o] = '\0';
	return buf;
}

static const char *quote(char buf[QBUF], const char *s)
{
	return escape(buf, s, true);
}

const char *fb_right_name(__u32 right)
{
	for (int i = 0; i < FB_NR_RIGHTS; i++)
		if (right == 1u << i)
			return right_names[i];
	return NULL;
}

__u32 fb_right_from_name(const char *name)
{
	for (int i = 0; i < FB_NR_RIGHTS; i++)
		if (streq(name, right_names[i]))
			return 1u << i;
	return 0;
}

const char *fb_rights_format(__u32 mask, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < FB_NR_RIGHTS; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", right_names[i]);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += n;
	}
	if (o == 0)
		snprintf(buf, len, "-");
	return buf;
}

static bool is_right(__u32 right)
{
	return fb_right_name(right) != NULL;
}

/* ---- paths ----------------------------------------------------------------- */

/*
 * NULL when path is canonical and absolute with at most max_depth components;
 * otherwise what is wrong and what would be accepted (static or in why).
 */
static const char *path_problem(const char *path, size_t max_depth, char *why, size_t whylen)
{
	size_t len = strlen(path), depth = 0;
	const char *c;

	if (len == 0)
		return "empty path (expected an absolute container path such as /etc)";
	if (path[0] != '/')
		return "relative path (expected an absolute container path starting with /)";
	if (len >= FB_POLICY_PATH_MAX) {
		snprintf(why, whylen, "path of %zu bytes (expected at most %d, PATH_MAX)", len,
			 FB_POLICY_PATH_MAX - 1);
		return why;
	}
	if (len == 1)
		return NULL;
	if (path[len - 1] == '/')
		return "trailing / (expected no trailing / except in \"/\" itself)";
	for (c = path + 1;; c++) {
		const char *e = strchrnul(c, '/');
		size_t clen = e - c;

		if (clen == 0)
			return "empty component // (expected a single / between names)";
		if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
			return clen == 1
				   ? "\".\" component (expected a canonical path, no . or ..)"
				   : "\"..\" component (expected a canonical path, no . or ..)";
		if (clen > NAME_MAX) {
			snprintf(why, whylen,
				 "component of %zu bytes (expected at most %d, NAME_MAX)", clen,
				 NAME_MAX);
			return why;
		}
		for (; c < e; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return "control character (expected printable characters)";
		depth++;
		if (!*e)
			break;
	}
	if (depth > max_depth) {
		snprintf(why, whylen,
			 "%zu components (expected at most %zu, the depth the kernel walks)", depth,
			 max_depth);
		return why;
	}
	return NULL;
}

/* Components of a canonical absolute path ("/" has none). */
static size_t path_depth(const char *path, size_t len)
{
	size_t d = 0;

	if (len <= 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		d += path[i] == '/';
	return d;
}

/* True when dir (len dlen) is path (len plen) or one of its ancestors. */
static bool path_within(const char *path, size_t plen, const char *dir, size_t dlen)
{
	if (dlen == 1)
		return true;
	return plen >= dlen && memcmp(path, dir, dlen) == 0 && (plen == dlen || path[dlen] == '/');
}

/* Length of the parent of a canonical path ("/" is its own parent). */
static size_t parent_len(const char *path, size_t len)
{
	while (len > 1 && path[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

/* ---- parsing ----------------------------------------------------------------- */

static void policy_clear_rules(struct fb_policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		free(p->rules[i].path);
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}

void fb_policy_free(struct fb_policy *p)
{
	if (!p)
		return;
	policy_clear_rules(p);
	free(p->source);
	free(p);
}

/*
 * A rule that denies reading, writing or changing attributes of what is under
 * it also denies moving or linking it out (see bpf/policy.h), unless the rule
 * says otherwise about rename and link.
 */
static void rule_imply(struct fb_rule *r)
{
	r->implied = 0;
	if (r->deny & (FB_RIGHT_READ | FB_RIGHT_WRITE | FB_RIGHT_SETATTR))
		r->implied = (FB_RIGHT_RENAME | FB_RIGHT_LINK) & ~(r->allow | r->deny);
}

static int parse_rights(json_t *arr, const char *source, size_t i, const char *list, __u32 *mask,
			__u32 other, char *err, size_t errlen)
{
	char q[QBUF];
	size_t j;
	json_t *v;

	if (!json_is_array(arr))
		return fail(err, errlen, -EINVAL, source,
			    "rules[%zu].%s: not an array (expected a list of rights: %s)", i, list,
			    FB_RIGHTS_EXPECTED);
	json_array_foreach(arr, j, v)
	{
		const char *name;
		__u32 bit;

		if (!json_is_string(v))
			return fail(err, errlen, -EINVAL, source,
				    "rules[%zu].%s[%zu]: not a string (expected one of %s)", i,
				    list, j, FB_RIGHTS_EXPECTED);
		name = json_string_value(v);
		bit = strlen(name) == json_string_length(v) ? fb_right_from_name(name) : 0;
		if (!bit)
			return fail(err, errlen, -EINVAL, source,
				    "rules[%zu].%s[%zu]: unknown right %s (expected %s)", i, list,
				    j, quote(q, name), FB_RIGHTS_EXPECTED);
		if (*mask & bit)
			return fail(
			    err, errlen, -EINVAL, source,
			    "rules[%zu].%s[%zu]: duplicate right %s (expected each right once)", i,
			    list, j, name);
		if (other & bit)
			return fail(
			    err, errlen, -EINVAL, source,
			    "rules[%zu].%s[%zu]: right %s is in both allow and deny (expected "
			    "it in one of them)",
			    i, list, j, name);
		*mask |= bit;
	}
	return 0;
}

static int parse_rule(json_t *jr, const char *source, size_t i, struct fb_policy *p, char *err,
		      size_t errlen)
{
	struct fb_rule *r = &p->rules[p->n_rules];
	char q[QBUF], why[128];
	const char *key, *path, *problem;
	json_t *v, *jpath, *jallow, *jdeny;
	int ret;

	if (!json_is_object(jr))
		return fail(err, errlen, -EINVAL, source,
			    "rules[%zu]: not an object (expected {\"path\": ..., \"allow\": [...], "
			    "\"deny\": [...]})",
			    i);
	json_object_foreach(jr, key, v)
	{
		if (!streq(key, "path") && !streq(key, "allow") && !streq(key, "deny"))
			return fail(err, errlen, -EINVAL, source,
				    "rules[%zu]: unknown key %s (expected path, allow, deny)", i,
				    quote(q, key));
	}
	jpath = json_object_get(jr, "path");
	if (!jpath)
		return fail(err, errlen, -EINVAL, source,
			    "rules[%zu]: missing path (expected an absolute container path)", i);
	if (!json_is_string(jpath))
		return fail(err, errlen, -EINVAL, source,
			    "rules[%zu].path: not a string (expected an absolute container path)",
			    i);
	path = json_string_value(jpath);
	if (strlen(path) != json_string_length(jpath))
		return fail(err, errlen, -EINVAL, source,
			    "rules[%zu].path: contains a NUL byte (expected an absolute container "
			    "path)",
			    i);
	problem = path_problem(path, FB_POLICY_MAX_DEPTH, why, sizeof(why));
	if (problem)
		return fail(err, errlen, -EINVAL, source, "rules[%zu].path: %s: %s", i,
			    quote(q, path), problem);
	for (size_t k = 0; k < p->n_rules; k++)
		if (streq(p->rules[k].path, path))
			return fail(err, errlen, -EINVAL, source,
				    "rules[%zu].path: duplicate path %s (already rules[%zu].path; "
				    "expected one rule per path)",
				    i, quote(q, path), k);

	*r = (struct fb_rule){0};
	jallow = json_object_get(jr, "allow");
	jdeny = json_object_get(jr, "deny");
	if (jallow) {
		ret = parse_rights(jallow, source, i, "allow", &r->allow, 0, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (jdeny) {
		ret = parse_rights(jdeny, source, i, "deny", &r->deny, r->allow, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (!(r->allow | r->deny))
		return fail(
		    err, errlen, -EINVAL, source,
		    "rules[%zu]: empty rule for %s (expected at least one right in allow or "
		    "deny)",
		    i, quote(q, path));
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	rule_imply(r);
	p->n_rules++;
	return 0;
}

static int parse_choice(json_t *v, const char *source, const char *field, const char *a,
			const char *b, bool *is_b, char *err, size_t errlen)
{
	char q[QBUF];
	const char *s;

	if (!json_is_string(v))
		return fail(err, errlen, -EINVAL, source, "%s: not a string (expected %s or %s)",
			    field, a, b);
	s = json_string_value(v);
	if (strlen(s) == json_string_length(v) && (streq(s, a) || streq(s, b))) {
		*is_b = streq(s, b);
		return 0;
	}
	return fail(err, errlen, -EINVAL, source, "%s: unknown %s %s (expected %s or %s)", field,
		    field, quote(q, s), a, b);
}

static int policy_check_objects(const struct fb_policy *p, char *err, size_t errlen)
{
	_cleanup_free_ struct fb_policy_obj *objs = NULL;
	size_t n;
	int r;

	r = fb_policy_objects(p, &objs, &n);
	if (r < 0)
		return r;
	if (n > FB_POLICY_MAX_OBJECTS)
		return fail(err, errlen, -E2BIG, p->source,
			    "rules: the rule paths and their ancestors are %zu kernel map objects "
			    "(expected at most %d: fewer or shallower rules)",
			    n, FB_POLICY_MAX_OBJECTS);
	return 0;
}

int fb_policy_parse(const char *json, size_t len, const char *source, struct fb_policy **out,
		    char *err, size_t errlen)
{
	_cleanup_policy_ struct fb_policy *p = NULL;
	json_auto_t *root = NULL;
	json_t *v, *rules = NULL;
	json_error_t jerr;
	char q[QBUF];
	const char *key;
	size_t i;
	int r;

	if (!source)
		source = FB_POLICY_ANNOTATION;
	if (len > FB_POLICY_MAX_SIZE)
		return fail(err, errlen, -E2BIG, source,
			    "policy of %zu bytes (expected at most %d)", len, FB_POLICY_MAX_SIZE);
	p = calloc(1, sizeof(*p));
	if (!p || !(p->source = strdup(source)))
		return -ENOMEM;
	p->mode = FB_MODE_ENFORCE;
	p->dflt = FB_ALLOW;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, -EINVAL, source,
			    "invalid JSON at line %d column %d: %s (expected a JSON object)",
			    jerr.line, jerr.column, escape(q, jerr.text, false));
	if (!json_is_object(root))
		return fail(err, errlen, -EINVAL, source,
			    "not a JSON object (expected {\"mode\": ..., \"default\": ..., "
			    "\"rules\": [...]})");
	json_object_foreach(root, key, v)
	{
		bool second = false;

		if (streq(key, "mode")) {
			r = parse_choice(v, source, "mode", "enforce", "audit", &second, err,
					 errlen);
			p->mode = second ? FB_MODE_AUDIT : FB_MODE_ENFORCE;
		} else if (streq(key, "default")) {
			r = parse_choice(v, source, "default", "allow", "deny", &second, err,
					 errlen);
			p->dflt = second ? FB_DENY : FB_ALLOW;
		} else if (streq(key, "rules")) {
			rules = v;
			r = 0;
		} else {
			r = fail(err, errlen, -EINVAL, source,
				 "unknown key %s (expected mode, default, rules)", quote(q, key));
		}
		if (r < 0)
			return r;
	}
	if (rules && !json_is_array(rules))
		return fail(err, errlen, -EINVAL, source,
			    "rules: not an array (expected a list of rules)");
	if (rules && json_array_size(rules) > FB_POLICY_MAX_RULES)
		return fail(err, errlen, -E2BIG, source, "rules: %zu rules (expected at most %d)",
			    json_array_size(rules), FB_POLICY_MAX_RULES);
	p->rules = calloc(json_array_size(rules) + 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	json_array_foreach(rules, i, v)
	{
		r = parse_rule(v, source, i, p, err, errlen);
		if (r < 0)
			return r;
	}
	r = policy_check_objects(p, err, errlen);
	if (r < 0)
		return r;
	*out = TAKE_PTR(p);
	return 0;
}

bool fb_profile_name_valid(const char *name)
{
	size_t i;

	if (!name || name[0] == '\0' || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= FB_PROFILE_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int fb_policy_load_profile(const char *dir, const char *name, struct fb_policy **out, char *err,
			   size_t errlen)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	char q[QBUF], file[NAME_MAX + 1], path[FB_POLICY_PATH_MAX + NAME_MAX + 2];
	struct stat st;
	ssize_t len;
	int r;

	if (!dir)
		dir = FB_POLICY_DIR_DEFAULT;
	if (!fb_profile_name_valid(name))
		return fail(err, errlen, -EINVAL, FB_PROFILE_ANNOTATION,
			    "invalid profile name %s (expected 1-%d of A-Z a-z 0-9 . _ -, not "
			    "starting with .)",
			    quote(q, strna(name)), FB_PROFILE_NAME_MAX);
	snprintf(file, sizeof(file), "%s.json", name);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		return fail(err, errlen, r, FB_PROFILE_ANNOTATION,
			    "profile directory %s: %s (expected a directory of NAME.json files)",
			    dir, strerror(-r));
	}
	/* O_NONBLOCK: a FIFO planted as a profile must not hang the hook. */
	fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	r = fd < 0 ? -errno : 0;
	if (r == -ENOENT)
		return fail(err, errlen, r, FB_PROFILE_ANNOTATION,
			    "unknown profile %s (expected a profile that exists as %s)",
			    quote(q, name), path);
	if (r < 0)
		return fail(err, errlen, r, FB_PROFILE_ANNOTATION, "profile %s: %s: %s",
			    quote(q, name), path, strerror(-r));
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, FB_PROFILE_ANNOTATION,
			    "profile %s: %s is not a regular file", quote(q, name), path);
	len = read_full_fd(fd, FB_POLICY_MAX_SIZE, &text);
	if (len == -EFBIG)
		return fail(err, errlen, -E2BIG, path, "policy larger than %d bytes",
			    FB_POLICY_MAX_SIZE);
	if (len < 0)
		return fail(err, errlen, (int)len, path, "%s", strerror((int)-len));
	return fb_policy_parse(text, len, path, out, err, errlen);
}

struct fb_policy *fb_policy_dup(const struct fb_policy *p)
{
	_cleanup_policy_ struct fb_policy *c = calloc(1, sizeof(*c));

	if (!c || !(c->source = strdup(p->source)))
		return NULL;
	c->mode = p->mode;
	c->dflt = p->dflt;
	c->rules = calloc(p->n_rules + 1, sizeof(*c->rules));
	if (!c->rules)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		c->rules[i] = p->rules[i];
		c->rules[i].path = strdup(p->rules[i].path);
		if (!c->rules[i].path)
			return NULL;
		c->n_rules++;
	}
	return TAKE_PTR(c);
}

/* ---- the reference decision ------------------------------------------------ */

__u32 fb_policy_may_deny(const struct fb_policy *p)
{
	__u32 m = 0;
	bool pins = false;

	if (p->dflt == FB_DENY)
		return FB_RIGHTS_ALL;
	for (size_t i = 0; i < p->n_rules; i++) {
		m |= fb_rule_denies(&p->rules[i]);
		if (fb_rule_denies(&p->rules[i]) && !streq(p->rules[i].path, "/"))
			pins = true;
	}
	if (pins)
		m |= FB_RIGHT_DELETE | FB_RIGHT_RENAME;
	return m;
}

/* The walk on path[0..plen): deepest rule within FB_WALK_MAX levels naming right. */
static void decide_walk(const struct fb_policy *p, const char *path, size_t plen, __u32 right,
			struct fb_decision *out)
{
	size_t depth = path_depth(path, plen);
	int best = -1;
	size_t best_depth = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct fb_rule *r = &p->rules[i];
		size_t rlen = strlen(r->path), rd;

		if (!(fb_rule_names(r) & right) || !path_within(path, plen, r->path, rlen))
			continue;
		rd = path_depth(r->path, rlen);
		if (depth - rd > FB_WALK_MAX)
			continue;
		if (best < 0 || rd > best_depth) {
			best = i;
			best_depth = rd;
		}
	}
	*out = (struct fb_decision){.rule = -1, .judged_len = plen};
	if (best >= 0) {
		const struct fb_rule *r = &p->rules[best];

		out->by = FB_BY_RULE;
		out->rule = best;
		out->verdict = fb_rule_denies(r) & right ? FB_DENY : FB_ALLOW;
		out->implied = !((r->allow | r->deny) & right);
	} else if (depth <= FB_WALK_MAX || !(fb_policy_may_deny(p) & right)) {
		out->by = FB_BY_DEFAULT;
		out->verdict = p->dflt;
	} else {
		out->by = FB_BY_WALK_LIMIT;
		out->verdict = FB_DENY;
	}
}

int fb_policy_decide_at(const struct fb_policy *p, const char *path, __u32 right,
			struct fb_decision *out)
{
	char why[128];

	if (!is_right(right) || path_problem(path, SIZE_MAX, why, sizeof(why)))
		return -EINVAL;
	decide_walk(p, path, strlen(path), right, out);
	return 0;
}

int fb_policy_explain(const struct fb_policy *p, const char *path, __u32 right,
		      struct fb_decision *out)
{
	char why[128];
	size_t plen;

	if (!is_right(right) || path_problem(path, SIZE_MAX, why, sizeof(why)))
		return -EINVAL;
	plen = strlen(path);
	if (right & (FB_RIGHT_DELETE | FB_RIGHT_RENAME) && plen > 1) {
		for (size_t i = 0; i < p->n_rules; i++) {
			const struct fb_rule *r = &p->rules[i];

			if (fb_rule_denies(r) &&
			    path_within(r->path, strlen(r->path), path, plen)) {
				*out = (struct fb_decision){.verdict = FB_DENY,
							    .by = FB_BY_PIN,
							    .rule = i,
							    .judged_len = plen};
				return 0;
			}
		}
	}
	if (right & FB_RIGHTS_ON_PARENT)
		plen = parent_len(path, plen);
	decide_walk(p, path, plen, right, out);
	return 0;
}

enum fb_verdict fb_policy_decide(const struct fb_policy *p, const char *path, __u32 right)
{
	struct fb_decision d;

	if (fb_policy_explain(p, path, right, &d) < 0)
		return FB_DENY;
	return d.verdict;
}

/* ---- objects --------------------------------------------------------------- */

static int obj_cmp(const void *a, const void *b)
{
	const struct fb_policy_obj *x = a, *y = b;
	int c = memcmp(x->path, y->path, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int min_idx(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int fb_policy_objects(const struct fb_policy *p, struct fb_policy_obj **out, size_t *n)
{
	_cleanup_free_ struct fb_policy_obj *objs = NULL;
	size_t cap = 1, k = 0, m = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		cap += 1 + path_depth(p->rules[i].path, strlen(p->rules[i].path));
	objs = calloc(cap, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct fb_rule *r = &p->rules[i];
		size_t len = strlen(r->path);
		bool pin = fb_rule_denies(r) && len > 1;

		objs[k++] = (struct fb_policy_obj){r->path, len, i, pin ? (int)i : -1};
		if (!pin)
			continue;
		/* Ancestors except "/": the prefixes ending before each inner '/'. */
		for (size_t j = 1; j < len; j++)
			if (r->path[j] == '/')
				objs[k++] = (struct fb_policy_obj){r->path, j, -1, i};
	}
	qsort(objs, k, sizeof(*objs), obj_cmp);
	for (size_t i = 0; i < k; i++) {
		if (m > 0 && obj_cmp(&objs[m - 1], &objs[i]) == 0) {
			objs[m - 1].rule = min_idx(objs[m - 1].rule, objs[i].rule);
			objs[m - 1].pinned_by = min_idx(objs[m - 1].pinned_by, objs[i].pinned_by);
			continue;
		}
		objs[m++] = objs[i];
	}
	*out = TAKE_PTR(objs);
	*n = m;
	return 0;
}

/* ---- profile + annotation ---------------------------------------------------- */

static enum fb_verdict both(const struct fb_policy *a, const struct fb_policy *b, const char *path,
			    size_t plen, __u32 right)
{
	struct fb_decision da, db;

	decide_walk(a, path, plen, right, &da);
	decide_walk(b, path, plen, right, &db);
	return da.verdict == FB_ALLOW && db.verdict == FB_ALLOW ? FB_ALLOW : FB_DENY;
}

static const struct fb_rule *rule_at(const struct fb_policy *p, const char *path)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (streq(p->rules[i].path, path))
			return &p->rules[i];
	return NULL;
}

static __u32 denies_at(const struct fb_policy *p, const char *path)
{
	const struct fb_rule *r = rule_at(p, path);

	return r ? fb_rule_denies(r) : 0;
}

/*
 * A rule's rights as the parser must read them to give back the same rule:
 * where the parser would imply a deny of rename or link that the rule does
 * not carry (a combined policy decides those above the rule), name the
 * verdict the policy takes there, which is the one from above. Decisions
 * do not change.
 */
static void rule_make_explicit(const struct fb_policy *p, size_t i, __u32 *allow, __u32 *deny)
{
	struct fb_rule probe = {.allow = *allow, .deny = *deny};
	const struct fb_rule *r = &p->rules[i];

	rule_imply(&probe);
	for (int b = 0; b < FB_NR_RIGHTS; b++) {
		__u32 right = 1u << b;
		struct fb_decision d;

		if (!(probe.implied & right) || (r->implied & right))
			continue;
		decide_walk(p, r->path, strlen(r->path), right, &d);
		if (d.verdict == FB_ALLOW)
			*allow |= right;
		else
			*deny |= right;
	}
}

static int rule_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fb_rule *)a)->path, ((const struct fb_rule *)b)->path);
}

/*
 * One rule per path of either policy, naming a right where the combined
 * decision (both must allow) differs from the one just above the path, and
 * wherever either policy denies it at that very path (so that the combined
 * policy pins exactly what either of the two pins). Every object then gets
 * the combined decision of its deepest ancestor-or-self among these paths,
 * which is the combined decision for the object itself: neither policy has a
 * rule in between.
 */
int fb_policy_combine(const struct fb_policy *profile, const struct fb_policy *annotation,
		      struct fb_policy **out, char *err, size_t errlen)
{
	_cleanup_policy_ struct fb_policy *c = NULL;
	const struct fb_policy *src[2] = {profile, annotation};

	if (!profile && !annotation)
		return fail(err, errlen, -EINVAL, FB_POLICY_ANNOTATION,
			    "no policy (expected a profile, an annotation policy or both)");
	if (!profile || !annotation) {
		c = fb_policy_dup(profile ? profile : annotation);
		if (!c)
			return -ENOMEM;
		*out = TAKE_PTR(c);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c || asprintf(&c->source, "%s + %s", profile->source, annotation->source) < 0)
		return -ENOMEM;
	c->mode = profile->mode == FB_MODE_ENFORCE || annotation->mode == FB_MODE_ENFORCE
		      ? FB_MODE_ENFORCE
		      : FB_MODE_AUDIT;
	c->dflt = profile->dflt == FB_ALLOW && annotation->dflt == FB_ALLOW ? FB_ALLOW : FB_DENY;
	c->rules = calloc(profile->n_rules + annotation->n_rules + 1, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;

	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < src[s]->n_rules; i++) {
			const char *path = src[s]->rules[i].path;
			size_t plen = strlen(path), pl = parent_len(path, plen);
			__u32 src_deny = denies_at(profile, path) | denies_at(annotation, path);
			struct fb_rule r = {0};

			/* A path in both policies: done when met in the profile. */
			if (s == 1 && rule_at(profile, path))
				continue;
			for (int b = 0; b < FB_NR_RIGHTS; b++) {
				__u32 right = 1u << b;
				enum fb_verdict here = both(profile, annotation, path, plen, right);
				enum fb_verdict above =
				    plen == 1 ? c->dflt
					      : both(profile, annotation, path, pl, right);

				if (here == above && !(here == FB_DENY && (src_deny & right)))
					continue;
				if (here == FB_ALLOW)
					r.allow |= right;
				else
					r.deny |= right;
			}
			if (!(r.allow | r.deny))
				continue;
			r.path = strdup(path);
			if (!r.path)
				return -ENOMEM;
			c->rules[c->n_rules++] = r;
		}
	}
	qsort(c->rules, c->n_rules, sizeof(*c->rules), rule_path_cmp);
	for (size_t i = 0; i < c->n_rules; i++)
		rule_make_explicit(c, i, &c->rules[i].allow, &c->rules[i].deny);
	*out = TAKE_PTR(c);
	return 0;
}

/* ---- back to JSON ------------------------------------------------------------- */

static json_t *rights_json(__u32 mask)
{
	json_t *a = json_array();

	for (int b = 0; a && b < FB_NR_RIGHTS; b++)
		if (mask & (1u << b) && json_array_append_new(a, json_string(right_names[b])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *fb_policy_to_json(const struct fb_policy *p)
{
	json_auto_t *root = NULL;
	json_t *rules = json_array();

	root = json_pack("{s:s, s:s, s:o}", "mode", p->mode == FB_MODE_AUDIT ? "audit" : "enforce",
			 "default", p->dflt == FB_DENY ? "deny" : "allow", "rules", rules);
	if (!root)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		json_t *jr = json_pack("{s:s}", "path", p->rules[i].path);
		__u32 allow = p->rules[i].allow, deny = p->rules[i].deny;

		if (!jr || json_array_append_new(rules, jr) < 0)
			return NULL;
		rule_make_explicit(p, i, &allow, &deny);
		if ((allow && json_object_set_new(jr, "allow", rights_json(allow)) < 0) ||
		    (deny && json_object_set_new(jr, "deny", rights_json(deny)) < 0))
			return NULL;
	}
	return TAKE_PTR(root);
}

/* ---- compiling to kernel maps ------------------------------------------------ */

__u32 fb_kdev(__u64 st_dev)
{
	__u64 maj = major(st_dev), min = minor(st_dev);

	if (maj >= 1u << 12 || min >= 1u << 20)
		return 0;
	return (__u32)(maj << 20 | min);
}

int fb_resolve_in_root(void *ctx, const char *path, bool follow, struct fb_resolved *out)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
	    /* Symlinks resolve as the container sees them, never above its root. */
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (path[0] != '/')
		return -EINVAL;
	fd = syscall(SYS_openat2, *(int *)ctx, path[1] ? path + 1 : ".", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	*out = (struct fb_resolved){.st_dev = st.st_dev, .ino = st.st_ino, .mode = st.st_mode};
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct fb_map_entry *)a)->key,
		      &((const struct fb_map_entry *)b)->key, sizeof(struct fb_obj_key));
}

struct compile_ctx {
	const struct fb_policy *p;
	__u64 cgroup_id;
	fb_resolve_fn resolve;
	void *ctx;
	struct fb_map_entry *entries;
	size_t n, cap;
	char *err;
	size_t errlen;
};

static int add_entry(struct compile_ctx *cc, const struct fb_resolved *res, const char *path,
		     __u32 allow, __u32 deny, __u32 flags, __u32 rule)
{
	char q[QBUF];
	__u32 dev = fb_kdev(res->st_dev);

	if (dev == 0)
		return fail(cc->err, cc->errlen, -EOVERFLOW, cc->p->source,
			    "%s: device %u:%u has no kernel encoding (expected major < 4096, "
			    "minor < 2^20)",
			    quote(q, path), major(res->st_dev), minor(res->st_dev));
	if (cc->n == cc->cap)
		return -E2BIG; /* cap is 2 per object: cannot happen */
	cc->entries[cc->n++] = (struct fb_map_entry){
	    .key = {.cgroup_id = cc->cgroup_id, .ino = res->ino, .dev = dev},
	    .val = {.allow = allow & ~deny, .deny = deny, .flags = flags, .rule = rule},
	};
	return 0;
}

static int resolve_obj(struct compile_ctx *cc, const char *path, bool follow, int rule,
		       struct fb_resolved *res)
{
	char q[QBUF];
	int r = cc->resolve(cc->ctx, path, follow, res);

	if (r == -ENOENT || r == -ENOTDIR)
		return -ENOENT;
	if (r < 0)
		return fail(cc->err, cc->errlen, r, cc->p->source, "rules[%d].path: %s: %s", rule,
			    quote(q, path), strerror(-r));
	return 0;
}

static int compile_obj(struct compile_ctx *cc, const struct fb_policy_obj *o, size_t *dropped)
{
	char path[FB_POLICY_PATH_MAX], q[QBUF];
	struct fb_resolved res;
	int owner = o->rule >= 0 ? o->rule : o->pinned_by;
	__u32 pin = o->pinned_by >= 0 ? FB_OBJ_PINNED : 0;
	int r;

	memcpy(path, o->path, o->len);
	path[o->len] = '\0';
	if (o->rule >= 0) {
		const struct fb_rule *rule = &cc->p->rules[o->rule];

		r = resolve_obj(cc, path, true, o->rule, &res);
		if (r == -ENOENT && !fb_rule_denies(rule) && !pin) {
			/* Allow-only: without it access can only be narrower. */
			(*dropped)++;
			return 0;
		}
		if (r == -ENOENT)
			return fail(cc->err, cc->errlen, -ENOENT, cc->p->source,
				    "rules[%d].path: %s does not exist in the container (expected "
				    "an existing file or directory: a rule that denies is bound to "
				    "its object when the container starts)",
				    o->rule, quote(q, path));
		if (r < 0)
			return r;
		r = add_entry(cc, &res, path, rule->allow, fb_rule_denies(rule), pin, o->rule);
		if (r < 0)
			return r;
	}
	if (!pin)
		return 0;
	/* Pin the name itself: if it is a symlink, the link and its target. */
	r = resolve_obj(cc, path, false, owner, &res);
	if (r == -ENOENT)
		return fail(cc->err, cc->errlen, -ENOENT, cc->p->source,
			    "rules[%d].path: ancestor %s does not exist in the container (expected "
			    "an existing directory)",
			    owner, quote(q, path));
	if (r < 0)
		return r;
	r = add_entry(cc, &res, path, 0, 0, FB_OBJ_PINNED,
		      o->rule >= 0 ? (__u32)o->rule : FB_RULE_NONE);
	if (r < 0 || !S_ISLNK(res.mode) || o->rule >= 0)
		return r;
	r = resolve_obj(cc, path, true, owner, &res);
	if (r == -ENOENT)
		return 0; /* dangling: the rule path below it cannot exist either */
	if (r < 0)
		return r;
	return add_entry(cc, &res, path, 0, 0, FB_OBJ_PINNED, FB_RULE_NONE);
}

int fb_policy_compile(const struct fb_policy *p, __u64 cgroup_id, fb_resolve_fn resolve, void *ctx,
		      struct fb_compiled **out, char *err, size_t errlen)
{
	_cleanup_free_ struct fb_policy_obj *objs = NULL;
	_cleanup_free_ struct fb_map_entry *entries = NULL;
	struct compile_ctx cc = {.p = p,
				 .cgroup_id = cgroup_id,
				 .resolve = resolve,
				 .ctx = ctx,
				 .err = err,
				 .errlen = errlen};
	struct fb_compiled *c;
	size_t n_objs, m = 0, dropped = 0;
	int r;

	r = fb_policy_objects(p, &objs, &n_objs);
	if (r < 0)
		return r;
	if (n_objs > 2 * FB_POLICY_MAX_OBJECTS)
		return fail(err, errlen, -E2BIG, p->source,
			    "rules: %zu kernel map objects (expected at most %d)", n_objs,
			    2 * FB_POLICY_MAX_OBJECTS);
	cc.cap = 2 * n_objs + 1;
	cc.entries = entries = calloc(cc.cap, sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	for (size_t i = 0; i < n_objs; i++) {
		r = compile_obj(&cc, &objs[i], &dropped);
		if (r < 0)
			return r;
	}

	/* One entry per object: two names of one object merge, deny winning. */
	qsort(entries, cc.n, sizeof(*entries), entry_cmp);
	for (size_t i = 0; i < cc.n; i++) {
		struct fb_obj_val *a = &entries[m > 0 ? m - 1 : 0].val, *b = &entries[i].val;

		if (m > 0 && entry_cmp(&entries[m - 1], &entries[i]) == 0) {
			a->deny |= b->deny;
			a->allow = (a->allow | b->allow) & ~a->deny;
			a->flags |= b->flags;
			a->rule = a->rule < b->rule ? a->rule : b->rule;
			continue;
		}
		entries[m++] = entries[i];
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cgroup_id = cgroup_id;
	c->cfg = (struct fb_policy_cfg){
	    .mode = p->mode, .dflt = p->dflt, .may_deny = fb_policy_may_deny(p), .nr_objs = m};
	for (size_t i = 0; i < m; i++) {
		const struct fb_obj_val *v = &entries[i].val;

		c->cfg.names[fb_obj_slot(entries[i].key.dev, entries[i].key.ino)] |=
		    v->allow | v->deny | (v->flags & FB_OBJ_PINNED ? FB_SLOT_PINNED : 0);
	}
	c->n = m;
	c->entries = TAKE_PTR(entries);
	c->n_dropped = dropped;
	*out = c;
	return 0;
}

void fb_compiled_free(struct fb_compiled *c)
{
	if (!c)
		return;
	free(c->entries);
	free(c);
}
