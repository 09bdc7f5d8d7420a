// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file-access policy: parsing and its error messages, the reference
 * decision, profile + annotation combination, and the map entries the
 * compiler produces (with a fake resolver, plus the real in-root resolver on
 * a temporary directory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"
#include "policy.h"

#define R_READ FB_RIGHT_READ
#define R_WRITE FB_RIGHT_WRITE
#define R_EXEC FB_RIGHT_EXEC
#define R_CREATE FB_RIGHT_CREATE
#define R_DELETE FB_RIGHT_DELETE
#define R_RENAME FB_RIGHT_RENAME
#define R_LINK FB_RIGHT_LINK
#define R_SETATTR FB_RIGHT_SETATTR

static const char example_json[] =
    "{\"mode\": \"enforce\",\n"
    " \"default\": \"allow\",\n"
    " \"rules\": [\n"
    "   {\"path\": \"/etc\", \"deny\": [\"write\", \"create\", \"delete\", \"rename\", "
    "\"setattr\"]},\n"
    "   {\"path\": \"/tmp\", \"deny\": [\"exec\"]},\n"
    "   {\"path\": \"/app/secrets\", \"deny\": [\"read\"]},\n"
    "   {\"path\": \"/app/secrets/public.pem\", \"allow\": [\"read\"]}]}";

static struct fb_policy *parse_ok(const char *json)
{
	struct fb_policy *p = NULL;
	char err[1024] = "";
	int r = fb_policy_parse(json, strlen(json), FB_POLICY_ANNOTATION, &p, err, sizeof(err));

	if (r < 0)
		print_error("unexpected parse error: %s\n", err);
	assert_int_equal(r, 0);
	assert_non_null(p);
	return p;
}

/* Parse must fail with r and a one-line message naming the source and containing want. */
static void parse_fails(const char *json, size_t len, int r, const char *want)
{
	struct fb_policy *p = (struct fb_policy *)0x1;
	char err[1024] = "";
	int got = fb_policy_parse(json, len, FB_POLICY_ANNOTATION, &p, err, sizeof(err));

	if (got != r || !strstr(err, want))
		print_error("input: %.200s\nwant: %s\ngot (%d): %s\n", json, want, got, err);
	assert_int_equal(got, r);
	assert_non_null(strstr(err, want));
	assert_true(startswith(err, FB_POLICY_ANNOTATION ": "));
	assert_null(strchr(err, '\n'));
	assert_ptr_equal(p, (struct fb_policy *)0x1); /* untouched on failure */
}

static void parse_fails_str(const char *json, const char *want)
{
	parse_fails(json, strlen(json), -EINVAL, want);
}

static void expect_decision(const struct fb_policy *p, const char *path, __u32 right,
			    enum fb_verdict v, enum fb_decided_by by, int rule)
{
	struct fb_decision d;

	assert_int_equal(fb_policy_explain(p, path, right, &d), 0);
	if (d.verdict != v || d.by != by || d.rule != rule)
		print_error("%s %s: got verdict %d by %d rule %d, want %d by %d rule %d\n",
			    fb_right_name(right), path, d.verdict, d.by, d.rule, v, by, rule);
	assert_int_equal(d.verdict, v);
	assert_int_equal(d.by, by);
	assert_int_equal(d.rule, rule);
	assert_int_equal(fb_policy_decide(p, path, right), v);
}

/* ---- the reference semantics --------------------------------------------- */

static void example_policy_resolves_as_specified(void **state)
{
	_cleanup_policy_ struct fb_policy *p = parse_ok(example_json);

	assert_int_equal(p->mode, FB_MODE_ENFORCE);
	assert_int_equal(p->dflt, FB_ALLOW);
	assert_int_equal(p->n_rules, 4);
	/* secrets are denied, the directory listing too; public.pem is allowed. */
	expect_decision(p, "/app/secrets/key", R_READ, FB_DENY, FB_BY_RULE, 2);
	expect_decision(p, "/app/secrets", R_READ, FB_DENY, FB_BY_RULE, 2);
	expect_decision(p, "/app/secrets/sub/key", R_READ, FB_DENY, FB_BY_RULE, 2);
	expect_decision(p, "/app/secrets/public.pem", R_READ, FB_ALLOW, FB_BY_RULE, 3);
	expect_decision(p, "/app/secrets/key", R_WRITE, FB_ALLOW, FB_BY_DEFAULT, -1);
	/* /etc: read allowed, every modification denied. */
	expect_decision(p, "/etc/passwd", R_READ, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/etc/passwd", R_WRITE, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/etc/passwd", R_SETATTR, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/etc/new", R_CREATE, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/etc/passwd", R_DELETE, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/etc/ssl/certs/ca.pem", R_WRITE, FB_DENY, FB_BY_RULE, 0);
	/* /tmp: no exec, everything else default. */
	expect_decision(p, "/tmp/x", R_EXEC, FB_DENY, FB_BY_RULE, 1);
	expect_decision(p, "/tmp/x", R_WRITE, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/tmp/x", R_CREATE, FB_ALLOW, FB_BY_DEFAULT, -1);
	/* Unrelated paths, and names that merely start like a rule path. */
	expect_decision(p, "/usr/bin/ls", R_EXEC, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/etcetera/x", R_WRITE, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/tmpfoo/x", R_EXEC, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/app/secrets2", R_READ, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/", R_READ, FB_ALLOW, FB_BY_DEFAULT, -1);
}

static void deepest_rule_naming_the_right_wins_in_any_order(void **state)
{
	/* Deeper rules listed first: order in the file must not matter. */
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": ["
		     "{\"path\": \"/a/b/c\", \"deny\": [\"read\"]},"
		     "{\"path\": \"/a/b\", \"allow\": [\"read\"], \"deny\": [\"exec\"]},"
		     "{\"path\": \"/a\", \"deny\": [\"read\", \"write\"]}]}");

	expect_decision(p, "/a/x", R_READ, FB_DENY, FB_BY_RULE, 2);
	expect_decision(p, "/a/b/x", R_READ, FB_ALLOW, FB_BY_RULE, 1);
	expect_decision(p, "/a/b/c/x", R_READ, FB_DENY, FB_BY_RULE, 0);
	/* A deeper rule that does not name the right does not shadow the shallower one. */
	expect_decision(p, "/a/b/c/x", R_WRITE, FB_DENY, FB_BY_RULE, 2);
	expect_decision(p, "/a/b/c/x", R_EXEC, FB_DENY, FB_BY_RULE, 1);
	expect_decision(p, "/a/x", R_EXEC, FB_ALLOW, FB_BY_DEFAULT, -1);
}

static void default_deny_denies_what_no_rule_allows(void **state)
{
	_cleanup_policy_ struct fb_policy *p = parse_ok(
	    "{\"mode\": \"audit\", \"default\": \"deny\", \"rules\": ["
	    "{\"path\": \"/usr\", \"allow\": [\"read\", \"exec\"]},"
	    "{\"path\": \"/data\", \"allow\": [\"read\", \"write\", \"create\", \"delete\"]}]}");

	assert_int_equal(p->mode, FB_MODE_AUDIT);
	assert_int_equal(p->dflt, FB_DENY);
	expect_decision(p, "/usr/bin/ls", R_EXEC, FB_ALLOW, FB_BY_RULE, 0);
	expect_decision(p, "/usr/bin/ls", R_WRITE, FB_DENY, FB_BY_DEFAULT, -1);
	expect_decision(p, "/etc/passwd", R_READ, FB_DENY, FB_BY_DEFAULT, -1);
	expect_decision(p, "/data/f", R_CREATE, FB_ALLOW, FB_BY_RULE, 1);
	expect_decision(p, "/data/f", R_RENAME, FB_DENY, FB_BY_DEFAULT, -1);
	/* Creating /data itself is judged on / and denied. */
	expect_decision(p, "/data", R_CREATE, FB_DENY, FB_BY_DEFAULT, -1);
	/* Allow-only rules pin nothing. */
	expect_decision(p, "/data", R_DELETE, FB_DENY, FB_BY_DEFAULT, -1);
	assert_int_equal(fb_policy_may_deny(p), FB_RIGHTS_ALL);
}

static void entry_rights_are_judged_on_the_parent_directory(void **state)
{
	_cleanup_policy_ struct fb_policy *p = parse_ok(
	    "{\"rules\": [{\"path\": \"/spool\", \"deny\": [\"create\", \"delete\", \"link\"]},"
	    "{\"path\": \"/spool/in\", \"allow\": [\"create\"]}]}");
	struct fb_decision d;

	expect_decision(p, "/spool/f", R_CREATE, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/spool/in/f", R_CREATE, FB_ALLOW, FB_BY_RULE, 1);
	/* Creating /spool/in itself happens in /spool. */
	expect_decision(p, "/spool/in", R_CREATE, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/spool/in/f", R_LINK, FB_DENY, FB_BY_RULE, 0);
	/* The decision says which directory it was taken on. */
	assert_int_equal(fb_policy_explain(p, "/spool/in/f", R_CREATE, &d), 0);
	assert_int_equal(d.judged_len, strlen("/spool/in"));
	assert_int_equal(fb_policy_explain(p, "/spool/in/f", R_READ, &d), 0);
	assert_int_equal(d.judged_len, strlen("/spool/in/f"));
	/* decide_at is the walk on the directory itself. */
	assert_int_equal(fb_policy_decide_at(p, "/spool/in", R_CREATE, &d), 0);
	assert_int_equal(d.verdict, FB_ALLOW);
}

static void denying_read_write_or_setattr_implies_no_rename_or_link_out(void **state)
{
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": [{\"path\": \"/secrets\", \"deny\": [\"read\"]},"
		     "{\"path\": \"/tmp\", \"deny\": [\"exec\"]},"
		     "{\"path\": \"/scratch\", \"deny\": [\"write\"], \"allow\": [\"rename\"]}]}");
	struct fb_decision d;

	assert_int_equal(p->rules[0].implied, R_RENAME | R_LINK);
	assert_int_equal(p->rules[1].implied, 0); /* exec: a copy gets around it anyway */
	assert_int_equal(p->rules[2].implied, R_LINK);
	/* mv /secrets/key /tmp/key and ln /secrets/key /tmp/key are refused. */
	assert_int_equal(fb_policy_explain(p, "/secrets/key", R_RENAME, &d), 0);
	assert_int_equal(d.verdict, FB_DENY);
	assert_int_equal(d.by, FB_BY_RULE);
	assert_true(d.implied);
	expect_decision(p, "/secrets/key", R_LINK, FB_DENY, FB_BY_RULE, 0);
	expect_decision(p, "/tmp/x", R_RENAME, FB_ALLOW, FB_BY_DEFAULT, -1);
	/* An explicit allow of rename is respected. */
	expect_decision(p, "/scratch/x", R_RENAME, FB_ALLOW, FB_BY_RULE, 2);
	expect_decision(p, "/scratch/x", R_LINK, FB_DENY, FB_BY_RULE, 2);
}

static void rule_paths_and_their_ancestors_are_pinned(void **state)
{
	_cleanup_policy_ struct fb_policy *p = parse_ok(example_json);
	_cleanup_free_ struct fb_policy_obj *objs = NULL;
	size_t n;

	/* mv /etc /old; mkdir /etc would otherwise leave an unprotected /etc. */
	expect_decision(p, "/etc", R_RENAME, FB_DENY, FB_BY_PIN, 0);
	expect_decision(p, "/etc", R_DELETE, FB_DENY, FB_BY_PIN, 0);
	expect_decision(p, "/tmp", R_DELETE, FB_DENY, FB_BY_PIN, 1);
	expect_decision(p, "/app", R_RENAME, FB_DENY, FB_BY_PIN, 2);
	expect_decision(p, "/app/secrets", R_RENAME, FB_DENY, FB_BY_PIN, 2);
	/* Not pinned: siblings, the allow-only rule, creating in / (create is not pinned). */
	expect_decision(p, "/app/other", R_RENAME, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/etc2", R_DELETE, FB_ALLOW, FB_BY_DEFAULT, -1);
	expect_decision(p, "/etc", R_CREATE, FB_ALLOW, FB_BY_DEFAULT, -1);
	/* public.pem: judged on /app/secrets, which denies rename by implication. */
	expect_decision(p, "/app/secrets/public.pem", R_RENAME, FB_DENY, FB_BY_RULE, 2);

	assert_int_equal(fb_policy_objects(p, &objs, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(objs[0].len, 4);
	assert_memory_equal(objs[0].path, "/app", 4);
	assert_int_equal(objs[0].rule, -1);
	assert_int_equal(objs[0].pinned_by, 2);
	assert_int_equal(objs[2].len, strlen("/app/secrets/public.pem"));
	assert_int_equal(objs[2].rule, 3);
	assert_int_equal(objs[2].pinned_by, -1);
}

static char *deep_path(const char *prefix, int extra)
{
	char *s = malloc(strlen(prefix) + 3 * extra + 1);
	char *o = stpcpy(s, prefix);

	for (int i = 0; i < extra; i++)
		o = stpcpy(o, "/dd");
	return s;
}

static void objects_deeper_than_the_walk_fail_closed(void **state)
{
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": [{\"path\": \"/a\", \"deny\": [\"write\"]},"
		     "{\"path\": \"/b/c\", \"allow\": [\"write\"]}]}");
	/* depth 1 + 32: /a is exactly FB_WALK_MAX levels above it. */
	_cleanup_free_ char *reach = deep_path("/a", FB_WALK_MAX);
	_cleanup_free_ char *beyond = deep_path("/a", FB_WALK_MAX + 1);
	_cleanup_free_ char *other = deep_path("/x", FB_WALK_MAX + 5);
	_cleanup_free_ char *allowed = deep_path("/b/c", FB_WALK_MAX);

	expect_decision(p, reach, R_WRITE, FB_DENY, FB_BY_RULE, 0);
	/* Too deep to see /a: denied because the policy can deny write somewhere. */
	expect_decision(p, beyond, R_WRITE, FB_DENY, FB_BY_WALK_LIMIT, -1);
	expect_decision(p, other, R_WRITE, FB_DENY, FB_BY_WALK_LIMIT, -1);
	/* A right the policy never denies stays allowed at any depth. */
	expect_decision(p, other, R_EXEC, FB_ALLOW, FB_BY_DEFAULT, -1);
	/* A rule within reach still decides. */
	expect_decision(p, allowed, R_WRITE, FB_ALLOW, FB_BY_RULE, 1);
	/* Shallow paths outside any rule: the default. */
	expect_decision(p, "/x/y", R_WRITE, FB_ALLOW, FB_BY_DEFAULT, -1);
}

static void invalid_queries_are_denied(void **state)
{
	_cleanup_policy_ struct fb_policy *p = parse_ok("{\"default\": \"allow\"}");
	struct fb_decision d;

	assert_int_equal(fb_policy_decide(p, "/x", R_READ), FB_ALLOW);
	assert_int_equal(fb_policy_decide(p, "x", R_READ), FB_DENY);
	assert_int_equal(fb_policy_decide(p, "/x/../y", R_READ), FB_DENY);
	assert_int_equal(fb_policy_decide(p, "/x", 0), FB_DENY);
	assert_int_equal(fb_policy_decide(p, "/x", R_READ | R_WRITE), FB_DENY);
	assert_int_equal(fb_policy_explain(p, "/x/", R_READ, &d), -EINVAL);
}

/* ---- errors ----------------------------------------------------------------- */

static void bad_rights_name_the_field_and_the_accepted_values(void **state)
{
	/* The example from the design: rules[2].deny[1]. */
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"deny\": [\"read\"]},"
			"{\"path\": \"/b\", \"deny\": [\"read\"]},"
			"{\"path\": \"/c\", \"deny\": [\"read\", \"exe\"]}]}",
			"rules[2].deny[1]: unknown right \"exe\" (expected read, write, exec, "
			"create, delete, rename, link, setattr)");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"allow\": [7]}]}",
			"rules[0].allow[0]: not a string");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"allow\": \"read\"}]}",
			"rules[0].allow: not an array");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"deny\": [\"write\", \"write\"]}]}",
			"rules[0].deny[1]: duplicate right write");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"deny\": [\"exec\", \"read\"], "
			"\"allow\": [\"read\"]}]}",
			"rules[0].deny[1]: right read is in both allow and deny");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\"}]}",
			"rules[0]: empty rule for \"/a\" (expected at least one right");
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"allow\": [], \"deny\": []}]}",
			"rules[0]: empty rule");
	/* Case matters: rights are lower case. */
	parse_fails_str("{\"rules\": [{\"path\": \"/a\", \"deny\": [\"READ\"]}]}",
			"rules[0].deny[0]: unknown right \"READ\"");
}

static void bad_structure_names_the_field(void **state)
{
	parse_fails_str("{\"mode\": \"enforce\",", "invalid JSON at line 1");
	parse_fails_str("", "invalid JSON");
	parse_fails_str("[]", "not a JSON object");
	parse_fails_str("{\"mode\": \"enforce\", \"mode\": \"audit\"}", "duplicate");
	parse_fails_str("{\"modes\": \"enforce\"}",
			"unknown key \"modes\" (expected mode, default, rules)");
	parse_fails_str("{\"mode\": \"block\"}",
			"mode: unknown mode \"block\" (expected enforce or audit)");
	parse_fails_str("{\"mode\": 1}", "mode: not a string (expected enforce or audit)");
	parse_fails_str("{\"default\": \"maybe\"}",
			"default: unknown default \"maybe\" (expected allow or deny)");
	parse_fails_str("{\"rules\": {}}", "rules: not an array");
	parse_fails_str("{\"rules\": [\"/etc\"]}", "rules[0]: not an object");
	parse_fails_str("{\"rules\": [{\"paths\": \"/etc\", \"deny\": [\"read\"]}]}",
			"rules[0]: unknown key \"paths\" (expected path, allow, deny)");
	parse_fails_str("{\"rules\": [{\"deny\": [\"read\"]}]}", "rules[0]: missing path");
	parse_fails_str("{\"rules\": [{\"path\": 5, \"deny\": [\"read\"]}]}",
			"rules[0].path: not a string");
	/* A control character in a key is escaped, the message stays one line. */
	parse_fails_str("{\"a\\nb\": 1}", "unknown key \"a\\x0ab\"");
}

static void bad_paths_name_the_rule_and_the_problem(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
	    {"etc", "rules[0].path: \"etc\": relative path (expected an absolute"},
	    {"", "rules[0].path: \"\": empty path"},
	    {"/a/../b", "rules[0].path: \"/a/../b\": \"..\" component"},
	    {"/a/..", "\"..\" component"},
	    {"/a/./b", "rules[0].path: \"/a/./b\": \".\" component"},
	    {"/a//b", "rules[0].path: \"/a//b\": empty component //"},
	    {"//", "trailing /"},
	    {"/etc/", "rules[0].path: \"/etc/\": trailing / (expected no trailing /"},
	    {"/a\\tb", "rules[0].path: \"/a\\x09b\": control character"},
	};
	char json[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(json, sizeof(json),
			 "{\"rules\": [{\"path\": \"%s\", \"deny\": [\"read\"]}]}", cases[i].path);
		parse_fails_str(json, cases[i].want);
	}
	/* "/" itself is fine. */
	fb_policy_free(parse_ok("{\"rules\": [{\"path\": \"/\", \"deny\": [\"exec\"]}]}"));
	parse_fails_str("{\"rules\": [{\"path\": \"/etc\", \"deny\": [\"read\"]},"
			"{\"path\": \"/tmp\", \"deny\": [\"exec\"]},"
			"{\"path\": \"/etc\", \"allow\": [\"read\"]}]}",
			"rules[2].path: duplicate path \"/etc\" (already rules[0].path");
}

static void limits_are_enforced_with_the_limit_named(void **state)
{
	_cleanup_free_ char *json = malloc(FB_POLICY_MAX_SIZE + 4096);
	_cleanup_free_ char *path = NULL;
	char *o;
	int i;

	/* 32 components is the most, 33 is refused. */
	path = deep_path("", FB_POLICY_MAX_DEPTH);
	snprintf(json, FB_POLICY_MAX_SIZE,
		 "{\"rules\": [{\"path\": \"%s\", \"deny\": [\"read\"]}]}", path);
	fb_policy_free(parse_ok(json));
	free(path);
	path = deep_path("", FB_POLICY_MAX_DEPTH + 1);
	snprintf(json, FB_POLICY_MAX_SIZE,
		 "{\"rules\": [{\"path\": \"%s\", \"deny\": [\"read\"]}]}", path);
	parse_fails_str(json, "33 components (expected at most 32, the depth the kernel walks)");

	/* A path of PATH_MAX bytes (16 components of 255 + ...). */
	o = stpcpy(json, "{\"rules\": [{\"path\": \"");
	for (i = 0; i < 16; i++) {
		*o++ = '/';
		memset(o, 'x', 255);
		o += 255;
	}
	o = stpcpy(o, "\", \"deny\": [\"read\"]}]}");
	parse_fails_str(json, "path of 4096 bytes (expected at most 4095, PATH_MAX)");
	o = stpcpy(json, "{\"rules\": [{\"path\": \"/");
	memset(o, 'x', 256);
	o += 256;
	stpcpy(o, "\", \"deny\": [\"read\"]}]}");
	parse_fails_str(json, "component of 256 bytes (expected at most 255, NAME_MAX)");

	/* 256 rules are fine, 257 are not. */
	for (int n = FB_POLICY_MAX_RULES; n <= FB_POLICY_MAX_RULES + 1; n++) {
		o = stpcpy(json, "{\"rules\": [");
		for (i = 0; i < n; i++)
			o += sprintf(o, "%s{\"path\": \"/r%d\", \"deny\": [\"read\"]}",
				     i ? "," : "", i);
		stpcpy(o, "]}");
		if (n == FB_POLICY_MAX_RULES)
			fb_policy_free(parse_ok(json));
		else
			parse_fails(json, strlen(json), -E2BIG,
				    "rules: 257 rules (expected at most 256)");
	}

	/* Rules whose pinned ancestors overflow the per-container map budget. */
	o = stpcpy(json, "{\"rules\": [");
	for (i = 0; i < 64; i++) {
		o += sprintf(o, "%s{\"path\": \"/t%d", i ? "," : "", i);
		for (int k = 0; k < 20; k++)
			o = stpcpy(o, "/d");
		o = stpcpy(o, "\", \"deny\": [\"read\"]}");
	}
	stpcpy(o, "]}");
	parse_fails(json, strlen(json), -E2BIG, "1344 kernel map objects (expected at most 1024");

	/* Input size: 64 KiB + 1 is refused before parsing. */
	memset(json, ' ', FB_POLICY_MAX_SIZE + 1);
	json[0] = '{';
	json[FB_POLICY_MAX_SIZE] = '}';
	parse_fails(json, FB_POLICY_MAX_SIZE + 1, -E2BIG,
		    "policy of 65537 bytes (expected at most 65536)");
	json[FB_POLICY_MAX_SIZE - 1] = '}';
	{
		_cleanup_policy_ struct fb_policy *p = NULL;
		char err[256];

		assert_int_equal(
		    fb_policy_parse(json, FB_POLICY_MAX_SIZE, "x", &p, err, sizeof(err)), 0);
	}
}

/* ---- profiles ----------------------------------------------------------------- */

struct tmpdir {
	char path[64];
};

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	return write_full(fd, text, strlen(text));
}

static int profiles_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	snprintf(t->path, sizeof(t->path), "/tmp/fb-test-policy.XXXXXX");
	if (!mkdtemp(t->path))
		return -1;
	if (write_text(
		t->path, "readonly-etc.json",
		"{\"mode\": \"enforce\", \"rules\": [{\"path\": \"/etc\", \"deny\": "
		"[\"write\", \"create\", \"delete\", \"rename\", \"link\", \"setattr\"]}]}") < 0 ||
	    write_text(t->path, "broken.json", "{\"rules\": [{\"path\": \"tmp\"}]}") < 0)
		return -1;
	*state = t;
	return 0;
}

static int profiles_teardown(void **state)
{
	struct tmpdir *t = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/readonly-etc.json", t->path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/broken.json", t->path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fifo.json", t->path);
	unlink(path);
	rmdir(t->path);
	free(t);
	return 0;
}

static void profile_fails(const char *dir, const char *name, int r, const char *want)
{
	struct fb_policy *p = NULL;
	char err[1024] = "";
	int got = fb_policy_load_profile(dir, name, &p, err, sizeof(err));

	if (got != r || !strstr(err, want))
		print_error("profile %s: want %d \"%s\", got %d \"%s\"\n", name, r, want, got, err);
	assert_int_equal(got, r);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
	assert_null(p);
}

static void profiles_load_by_safe_name_only(void **state)
{
	struct tmpdir *t = *state;
	_cleanup_policy_ struct fb_policy *p = NULL;
	char err[1024], path[PATH_MAX];

	assert_int_equal(fb_policy_load_profile(t->path, "readonly-etc", &p, err, sizeof(err)), 0);
	assert_int_equal(fb_policy_decide(p, "/etc/hosts", R_WRITE), FB_DENY);
	assert_int_equal(fb_policy_decide(p, "/etc/hosts", R_READ), FB_ALLOW);

	profile_fails(t->path, "nope", -ENOENT,
		      "fusebox.io/profile: unknown profile \"nope\" (expected a profile that "
		      "exists as ");
	profile_fails(t->path, "../readonly-etc", -EINVAL,
		      "fusebox.io/profile: invalid profile name \"../readonly-etc\"");
	profile_fails(t->path, "a/b", -EINVAL, "invalid profile name \"a/b\"");
	profile_fails(t->path, "..", -EINVAL, "invalid profile name \"..\"");
	profile_fails(t->path, ".hidden", -EINVAL, "invalid profile name");
	profile_fails(t->path, "", -EINVAL, "invalid profile name \"\"");
	profile_fails(t->path, "x123456789x123456789x123456789x123456789x123456789x123456789xxxxx",
		      -EINVAL, "invalid profile name");
	/* A broken profile names its file and the field. */
	snprintf(path, sizeof(path), "%s/broken.json: rules[0].path: \"tmp\": relative path",
		 t->path);
	profile_fails(t->path, "broken", -EINVAL, path);
	/* A FIFO in the profile directory does not hang the loader. */
	snprintf(path, sizeof(path), "%s/fifo.json", t->path);
	assert_int_equal(mkfifo(path, 0600), 0);
	profile_fails(t->path, "fifo", -EINVAL, "is not a regular file");
	profile_fails("/nonexistent-fb-dir", "x", -ENOENT, "profile directory /nonexistent-fb-dir");
	assert_true(fb_profile_name_valid("serverless"));
	assert_true(fb_profile_name_valid("team-a_v1.2"));
}

/* ---- profile + annotation --------------------------------------------------- */

static struct fb_policy *combine_ok(const struct fb_policy *a, const struct fb_policy *b)
{
	struct fb_policy *c = NULL;
	char err[256];

	assert_int_equal(fb_policy_combine(a, b, &c, err, sizeof(err)), 0);
	assert_non_null(c);
	return c;
}

static void annotation_allow_cannot_reopen_what_the_profile_denies(void **state)
{
	_cleanup_policy_ struct fb_policy *prof =
	    parse_ok("{\"rules\": [{\"path\": \"/etc\", \"deny\": [\"write\", \"create\"]},"
		     "{\"path\": \"/app/secrets\", \"deny\": [\"read\"]}]}");
	_cleanup_policy_ struct fb_policy *ann = parse_ok(
	    "{\"mode\": \"audit\", \"rules\": [{\"path\": \"/etc\", \"allow\": [\"write\"]},"
	    "{\"path\": \"/etc/app.conf\", \"allow\": [\"write\", \"read\"]},"
	    "{\"path\": \"/app/secrets/key\", \"allow\": [\"read\"]},"
	    "{\"path\": \"/tmp\", \"deny\": [\"exec\"]}]}");
	_cleanup_policy_ struct fb_policy *c = combine_ok(prof, ann);

	/* Alone, the annotation would allow these. */
	assert_int_equal(fb_policy_decide(ann, "/etc/app.conf", R_WRITE), FB_ALLOW);
	assert_int_equal(fb_policy_decide(ann, "/app/secrets/key", R_READ), FB_ALLOW);
	/* Combined, the profile's denies hold. */
	assert_int_equal(fb_policy_decide(c, "/etc/app.conf", R_WRITE), FB_DENY);
	assert_int_equal(fb_policy_decide(c, "/etc/x", R_WRITE), FB_DENY);
	assert_int_equal(fb_policy_decide(c, "/app/secrets/key", R_READ), FB_DENY);
	/* The annotation's own deny narrows. */
	assert_int_equal(fb_policy_decide(prof, "/tmp/x", R_EXEC), FB_ALLOW);
	assert_int_equal(fb_policy_decide(c, "/tmp/x", R_EXEC), FB_DENY);
	/* What both allow stays allowed. */
	assert_int_equal(fb_policy_decide(c, "/etc/app.conf", R_READ), FB_ALLOW);
	assert_int_equal(fb_policy_decide(c, "/usr/bin/ls", R_EXEC), FB_ALLOW);
	/* An audit annotation cannot downgrade an enforcing profile. */
	assert_int_equal(c->mode, FB_MODE_ENFORCE);
	assert_non_null(strstr(c->source, " + "));
}

static void mode_and_default_take_the_stricter_side(void **state)
{
	static const char *docs[4] = {
	    "{\"mode\": \"enforce\", \"default\": \"allow\"}",
	    "{\"mode\": \"audit\", \"default\": \"allow\"}",
	    "{\"mode\": \"enforce\", \"default\": \"deny\"}",
	    "{\"mode\": \"audit\", \"default\": \"deny\"}",
	};

	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			_cleanup_policy_ struct fb_policy *a = parse_ok(docs[i]);
			_cleanup_policy_ struct fb_policy *b = parse_ok(docs[j]);
			_cleanup_policy_ struct fb_policy *c = combine_ok(a, b);
			bool audit = a->mode == FB_MODE_AUDIT && b->mode == FB_MODE_AUDIT;
			bool allow = a->dflt == FB_ALLOW && b->dflt == FB_ALLOW;

			assert_int_equal(c->mode, audit ? FB_MODE_AUDIT : FB_MODE_ENFORCE);
			assert_int_equal(c->dflt, allow ? FB_ALLOW : FB_DENY);
			assert_int_equal(fb_policy_decide(c, "/x", R_READ),
					 allow ? FB_ALLOW : FB_DENY);
		}
	}
}

/*
 * For every path and right: combined == profile AND annotation, pins and
 * implied denies included. Checked over rule paths, their parents, children
 * and unrelated paths of several policy pairs.
 */
static void combined_policy_allows_exactly_what_both_allow(void **state)
{
	static const char *const profiles[] = {
	    "{\"rules\": [{\"path\": \"/etc\", \"deny\": [\"write\", \"create\", \"delete\", "
	    "\"rename\", \"setattr\"]}, {\"path\": \"/tmp\", \"deny\": [\"exec\"]}]}",
	    "{\"default\": \"deny\", \"rules\": [{\"path\": \"/\", \"allow\": [\"read\", "
	    "\"exec\"]}, {\"path\": \"/tmp\", \"allow\": [\"read\", \"write\", \"create\", "
	    "\"delete\", \"rename\"], \"deny\": [\"exec\"]}, {\"path\": \"/app/data\", "
	    "\"allow\": [\"write\", \"create\"]}]}",
	    "{\"rules\": [{\"path\": \"/a/b\", \"deny\": [\"exec\"]}, {\"path\": \"/a\", "
	    "\"allow\": [\"exec\"], \"deny\": [\"read\"]}]}",
	};
	static const char *const annotations[] = {
	    example_json,
	    "{\"rules\": [{\"path\": \"/etc\", \"allow\": [\"write\"]}, {\"path\": \"/tmp/x\", "
	    "\"allow\": [\"exec\"]}, {\"path\": \"/a/b/c\", \"deny\": [\"exec\"]}]}",
	    "{\"default\": \"deny\", \"rules\": [{\"path\": \"/app\", \"allow\": [\"read\", "
	    "\"write\", \"create\", \"delete\", \"rename\", \"link\", \"setattr\", \"exec\"]}, "
	    "{\"path\": \"/app/data/tmp\", \"deny\": [\"exec\"]}, {\"path\": \"/a/b\", "
	    "\"allow\": [\"read\"]}]}",
	};
	static const char *const paths[] = {
	    "/",
	    "/etc",
	    "/etc/passwd",
	    "/etc/ssl/x",
	    "/etcx",
	    "/tmp",
	    "/tmp/x",
	    "/tmp/x/y",
	    "/tmp/y",
	    "/app",
	    "/app/x",
	    "/app/secrets",
	    "/app/secrets/key",
	    "/app/secrets/public.pem",
	    "/app/data",
	    "/app/data/f",
	    "/app/data/tmp",
	    "/app/data/tmp/f",
	    "/a",
	    "/a/x",
	    "/a/b",
	    "/a/b/x",
	    "/a/b/c",
	    "/a/b/c/d",
	    "/usr/bin/ls",
	};
	int checked = 0;

	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(annotations); j++) {
			_cleanup_policy_ struct fb_policy *a = parse_ok(profiles[i]);
			_cleanup_policy_ struct fb_policy *b = parse_ok(annotations[j]);
			_cleanup_policy_ struct fb_policy *c = combine_ok(a, b);

			for (size_t k = 0; k < ARRAY_SIZE(paths); k++) {
				for (int bit = 0; bit < FB_NR_RIGHTS; bit++) {
					__u32 r = 1u << bit;
					enum fb_verdict va = fb_policy_decide(a, paths[k], r);
					enum fb_verdict vb = fb_policy_decide(b, paths[k], r);
					enum fb_verdict vc = fb_policy_decide(c, paths[k], r);
					enum fb_verdict want =
					    va == FB_ALLOW && vb == FB_ALLOW ? FB_ALLOW : FB_DENY;

					if (vc != want)
						print_error("profile %zu + annotation %zu: %s %s: "
							    "%d, want %d\n",
							    i, j, fb_right_name(r), paths[k], vc,
							    want);
					assert_int_equal(vc, want);
					checked++;
				}
			}
			/* The compiled combination may deny no more rights than the two. */
			assert_int_equal(fb_policy_may_deny(c) &
					     ~(fb_policy_may_deny(a) | fb_policy_may_deny(b)),
					 0);
		}
	}
	assert_int_equal(checked, 9 * ARRAY_SIZE(paths) * FB_NR_RIGHTS);
}

static void combining_with_one_side_missing_copies_it(void **state)
{
	_cleanup_policy_ struct fb_policy *a = parse_ok(example_json);
	_cleanup_policy_ struct fb_policy *c1 = combine_ok(a, NULL);
	_cleanup_policy_ struct fb_policy *c2 = combine_ok(NULL, a);
	struct fb_policy *none = NULL;
	char err[256];

	assert_int_equal(c1->n_rules, 4);
	assert_int_equal(fb_policy_decide(c1, "/app/secrets/key", R_READ), FB_DENY);
	assert_int_equal(fb_policy_decide(c2, "/app/secrets/public.pem", R_READ), FB_ALLOW);
	assert_int_equal(c2->rules[2].implied, R_RENAME | R_LINK);
	assert_int_equal(fb_policy_combine(NULL, NULL, &none, err, sizeof(err)), -EINVAL);
	assert_null(none);
}

/* ---- back to JSON ------------------------------------------------------------- */

static void expect_same_policy(const struct fb_policy *a, const struct fb_policy *b)
{
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->dflt, b->dflt);
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		assert_string_equal(a->rules[i].path, b->rules[i].path);
		assert_int_equal(a->rules[i].allow, b->rules[i].allow);
		assert_int_equal(a->rules[i].deny, b->rules[i].deny);
		assert_int_equal(a->rules[i].implied, b->rules[i].implied);
	}
}

static struct fb_policy *round_trip(const struct fb_policy *p)
{
	json_t *j = fb_policy_to_json(p);
	_cleanup_free_ char *text = NULL;
	struct fb_policy *back;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(text);
	back = parse_ok(text);
	return back;
}

/*
 * What fuseboxd is handed (the effective policy as JSON) parses back to the
 * very rules the hook decided on: each written right, each implied one, mode
 * and default; for combined policies too, whose rules the combination made.
 */
static void serialized_policy_parses_back_to_the_same_rules(void **state)
{
	static const char *const docs[] = {
	    example_json,
	    "{\"mode\": \"audit\", \"default\": \"deny\", \"rules\": [{\"path\": \"/\", "
	    "\"allow\": [\"read\", \"exec\"]}, {\"path\": \"/scratch\", \"deny\": [\"write\"], "
	    "\"allow\": [\"rename\"]}]}",
	    "{\"rules\": []}",
	    "{}",
	    "{\"rules\": [{\"path\": \"/a\", \"allow\": [\"exec\"], \"deny\": [\"read\", "
	    "\"setattr\", \"link\"]}, {\"path\": \"/a/b\", \"deny\": [\"exec\"]}]}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		_cleanup_policy_ struct fb_policy *p = parse_ok(docs[i]);
		_cleanup_policy_ struct fb_policy *back = round_trip(p);

		expect_same_policy(p, back);
	}
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(docs); j++) {
			_cleanup_policy_ struct fb_policy *a = parse_ok(docs[i]);
			_cleanup_policy_ struct fb_policy *b = parse_ok(docs[j]);
			_cleanup_policy_ struct fb_policy *c = combine_ok(a, b);
			_cleanup_policy_ struct fb_policy *back = round_trip(c);

			expect_same_policy(c, back);
		}
	}
}

/*
 * A profile that denies read but explicitly allows rename at /p: the
 * combination allows rename there, which the parser would turn into an
 * implied deny unless the serialized rule names it.
 */
static void combined_rule_keeps_its_rename_verdict_through_json(void **state)
{
	_cleanup_policy_ struct fb_policy *prof = parse_ok(
	    "{\"rules\": [{\"path\": \"/p\", \"deny\": [\"read\"], \"allow\": [\"rename\"]}]}");
	_cleanup_policy_ struct fb_policy *ann =
	    parse_ok("{\"rules\": [{\"path\": \"/q\", \"deny\": [\"write\"]}]}");
	_cleanup_policy_ struct fb_policy *c = combine_ok(prof, ann);
	_cleanup_policy_ struct fb_policy *back = round_trip(c);

	assert_int_equal(fb_policy_decide(c, "/p/f", R_RENAME), FB_ALLOW);
	assert_int_equal(fb_policy_decide(back, "/p/f", R_RENAME), FB_ALLOW);
	assert_int_equal(fb_policy_decide(back, "/p/f", R_READ), FB_DENY);
	assert_int_equal(fb_policy_decide(back, "/p/f", R_LINK), FB_DENY);
	assert_int_equal(fb_policy_decide(back, "/q/f", R_RENAME), FB_DENY);
	expect_same_policy(c, back);
}

/* ---- compiling ----------------------------------------------------------------- */

struct fake_obj {
	const char *path;
	dev_t dev;
	__u64 ino;
	mode_t mode;
	const char *target; /* for symlinks: what following gives */
};

struct fake_fs {
	const struct fake_obj *objs;
	size_t n;
	int fail_errno; /* returned for "/denied" */
	int calls;
};

static int fake_resolve(void *ctx, const char *path, bool follow, struct fb_resolved *out)
{
	struct fake_fs *fs = ctx;

	fs->calls++;
	if (streq(path, "/denied"))
		return -fs->fail_errno;
	for (size_t i = 0; i < fs->n; i++) {
		const struct fake_obj *o = &fs->objs[i];

		if (!streq(o->path, path))
			continue;
		if (follow && o->target)
			return fake_resolve(ctx, o->target, true, out);
		*out = (struct fb_resolved){.st_dev = o->dev, .ino = o->ino, .mode = o->mode};
		return 0;
	}
	return -ENOENT;
}

static const struct fake_obj example_fs[] = {
    {"/", 0, 2, S_IFDIR, NULL},
    {"/etc", 0, 100, S_IFDIR, NULL},
    {"/tmp", 1, 1, S_IFDIR, NULL}, /* a tmpfs: other device */
    {"/app", 0, 200, S_IFDIR, NULL},
    {"/app/secrets", 0, 201, S_IFDIR, NULL},
    {"/app/secrets/public.pem", 0, 202, S_IFREG, NULL},
};

static const struct fb_map_entry *find_entry(const struct fb_compiled *c, __u32 dev, __u64 ino)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->entries[i].key.dev == dev && c->entries[i].key.ino == ino)
			return &c->entries[i];
	return NULL;
}

static void expect_entry(const struct fb_compiled *c, __u32 dev, __u64 ino, __u32 allow, __u32 deny,
			 __u32 flags, __u32 rule)
{
	const struct fb_map_entry *e = find_entry(c, dev, ino);

	if (!e)
		print_error("no entry for %u:%llu\n", dev, (unsigned long long)ino);
	assert_non_null(e);
	assert_int_equal(e->key.cgroup_id, c->cgroup_id);
	assert_int_equal(e->key.pad, 0);
	assert_int_equal(e->val.allow, allow);
	assert_int_equal(e->val.deny, deny);
	assert_int_equal(e->val.flags, flags);
	assert_int_equal(e->val.rule, rule);
}

static void compile_emits_one_entry_per_object_keyed_by_cgroup_dev_ino(void **state)
{
	struct fake_obj objs[ARRAY_SIZE(example_fs)];
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p = parse_ok(example_json);
	struct fb_compiled *c = NULL;
	char err[512];
	__u32 disk = 8u << 20 | 1, tmpfs = 0u << 20 | 45;

	memcpy(objs, example_fs, sizeof(objs));
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i].dev = objs[i].dev ? makedev(0, 45) : makedev(8, 1);
	assert_int_equal(fb_policy_compile(p, 4242, fake_resolve, &fs, &c, err, sizeof(err)), 0);
	assert_int_equal(c->cgroup_id, 4242);
	assert_int_equal(c->n, 5);
	assert_int_equal(c->n_dropped, 0);
	expect_entry(c, disk, 100, 0, R_WRITE | R_CREATE | R_DELETE | R_RENAME | R_SETATTR | R_LINK,
		     FB_OBJ_PINNED, 0);
	expect_entry(c, tmpfs, 1, 0, R_EXEC, FB_OBJ_PINNED, 1);
	expect_entry(c, disk, 200, 0, 0, FB_OBJ_PINNED, FB_RULE_NONE);
	expect_entry(c, disk, 201, 0, R_READ | R_RENAME | R_LINK, FB_OBJ_PINNED, 2);
	expect_entry(c, disk, 202, R_READ, 0, 0, 3);
	/* "/" is neither a rule nor pinned. */
	assert_null(find_entry(c, disk, 2));
	/* Entries are sorted by key, each key once. */
	for (size_t i = 1; i < c->n; i++)
		assert_true(memcmp(&c->entries[i - 1].key, &c->entries[i].key,
				   sizeof(struct fb_obj_key)) < 0);
	assert_int_equal(c->cfg.mode, FB_MODE_ENFORCE);
	assert_int_equal(c->cfg.dflt, FB_ALLOW);
	assert_int_equal(c->cfg.may_deny, FB_RIGHTS_ALL);
	assert_int_equal(c->cfg.nr_objs, 5);
	fb_compiled_free(c);
}

static void compile_slots_name_what_their_entries_name_and_nothing_more(void **state)
{
	struct fake_obj objs[ARRAY_SIZE(example_fs)];
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p = parse_ok(example_json);
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	bool used[ARRAY_SIZE(c->cfg.names)] = {false};
	char err[512];

	memcpy(objs, example_fs, sizeof(objs));
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i].dev = objs[i].dev ? makedev(0, 45) : makedev(8, 1);
	assert_int_equal(fb_policy_compile(p, 7, fake_resolve, &fs, &c, err, sizeof(err)), 0);
	for (size_t i = 0; i < c->n; i++) {
		const struct fb_obj_val *v = &c->entries[i].val;
		__u32 slot = fb_obj_slot(c->entries[i].key.dev, c->entries[i].key.ino);
		__u32 names = v->allow | v->deny | (v->flags & FB_OBJ_PINNED ? FB_SLOT_PINNED : 0);

		assert_int_equal(c->cfg.names[slot] & names, names);
		used[slot] = true;
	}
	for (size_t s = 0; s < ARRAY_SIZE(used); s++)
		if (!used[s])
			assert_int_equal(c->cfg.names[s], 0);
}

static void compile_may_deny_lists_only_deniable_rights(void **state)
{
	static const struct fake_obj objs[] = {{"/tmp", 7, 1, S_IFDIR, NULL}};
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p = parse_ok(
	    "{\"mode\": \"audit\", \"rules\": [{\"path\": \"/tmp\", \"deny\": [\"exec\"]}]}");
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	char err[512];

	assert_int_equal(fb_policy_compile(p, 1, fake_resolve, &fs, &c, err, sizeof(err)), 0);
	assert_int_equal(c->cfg.mode, FB_MODE_AUDIT);
	/* exec by the rule; delete and rename because /tmp is pinned. */
	assert_int_equal(c->cfg.may_deny, R_EXEC | R_DELETE | R_RENAME);
}

static void compile_refuses_a_missing_deny_rule_path_and_drops_allow_only(void **state)
{
	static const struct fake_obj objs[] = {
	    {"/app", 1, 200, S_IFDIR, NULL},
	};
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p = parse_ok(example_json);
	_cleanup_policy_ struct fb_policy *allow_only =
	    parse_ok("{\"default\": \"deny\", \"rules\": [{\"path\": \"/app\", \"allow\": "
		     "[\"read\"]}, {\"path\": \"/opt\", \"allow\": [\"read\"]}]}");
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	char err[512] = "";

	assert_int_equal(fb_policy_compile(p, 1, fake_resolve, &fs, &c, err, sizeof(err)), -ENOENT);
	assert_null(c);
	/* Objects are compiled in path order: /app/secrets is the first missing one. */
	assert_non_null(strstr(err, "rules[2].path: \"/app/secrets\" does not exist in the "
				    "container"));
	assert_null(strchr(err, '\n'));

	assert_int_equal(fb_policy_compile(allow_only, 1, fake_resolve, &fs, &c, err, sizeof(err)),
			 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->n_dropped, 1);
	expect_entry(c, 1, 200, R_READ, 0, 0, 0);
}

static void compile_pins_symlinks_and_their_targets(void **state)
{
	static const struct fake_obj objs[] = {
	    {"/data", 3, 10, S_IFLNK, "/srv/data"}, /* the rule path is a symlink */
	    {"/srv/data", 3, 11, S_IFDIR, NULL},    {"/srv", 3, 12, S_IFDIR, NULL},
	    {"/w", 3, 20, S_IFLNK, "/srv/w"}, /* an ancestor is a symlink */
	    {"/srv/w", 3, 21, S_IFDIR, NULL},	    {"/w/x", 3, 22, S_IFDIR, NULL},
	};
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": [{\"path\": \"/data\", \"deny\": [\"write\"]},"
		     "{\"path\": \"/w/x\", \"deny\": [\"exec\"]}]}");
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	char err[512];

	assert_int_equal(fb_policy_compile(p, 9, fake_resolve, &fs, &c, err, sizeof(err)), 0);
	/* The rule applies to the target; the link and the target are both pinned. */
	expect_entry(c, 3, 11, 0, R_WRITE | R_RENAME | R_LINK, FB_OBJ_PINNED, 0);
	expect_entry(c, 3, 10, 0, 0, FB_OBJ_PINNED, 0);
	/* The symlinked ancestor: pinned, as is the directory it leads to. */
	expect_entry(c, 3, 20, 0, 0, FB_OBJ_PINNED, FB_RULE_NONE);
	expect_entry(c, 3, 21, 0, 0, FB_OBJ_PINNED, FB_RULE_NONE);
	expect_entry(c, 3, 22, 0, R_EXEC, FB_OBJ_PINNED, 1);
	assert_int_equal(c->n, 5);
}

static void compile_merges_two_names_of_one_object_deny_winning(void **state)
{
	static const struct fake_obj objs[] = {
	    {"/a", 5, 77, S_IFDIR, NULL}, {"/b", 5, 77, S_IFDIR, NULL}, /* a bind mount of /a */
	};
	struct fake_fs fs = {objs, ARRAY_SIZE(objs), 0, 0};
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": [{\"path\": \"/a\", \"allow\": [\"read\", \"write\"]},"
		     "{\"path\": \"/b\", \"deny\": [\"read\"]}]}");
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	char err[512];

	assert_int_equal(fb_policy_compile(p, 9, fake_resolve, &fs, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n, 1);
	expect_entry(c, 5, 77, R_WRITE, R_READ | R_RENAME | R_LINK, FB_OBJ_PINNED, 0);
}

static void compile_reports_resolver_errors_with_the_rule(void **state)
{
	struct fake_fs fs = {NULL, 0, EACCES, 0};
	_cleanup_policy_ struct fb_policy *p =
	    parse_ok("{\"rules\": [{\"path\": \"/denied\", \"allow\": [\"read\"]}]}");
	_cleanup_(fb_compiled_freep) struct fb_compiled *c = NULL;
	char err[512] = "";

	assert_int_equal(fb_policy_compile(p, 9, fake_resolve, &fs, &c, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "rules[0].path: \"/denied\": Permission denied"));
	assert_null(c);
}

static void kernel_device_encoding_is_major_shl_20_or_minor(void **state)
{
	assert_int_equal(fb_kdev(makedev(8, 1)), 8u << 20 | 1);
	assert_int_equal(fb_kdev(makedev(259, 70000)), 259u << 20 | 70000);
	assert_int_equal(fb_kdev(makedev(0, 45)), 45);
	/* Not representable in the kernel's 12/20 split. */
	assert_int_equal(fb_kdev(makedev(4096, 0)), 0);
	assert_int_equal(fb_kdev(makedev(1, 1u << 20)), 0);
}

static int root_teardown(void **state)
{
	struct tmpdir *t = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/abs", t->path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/up", t->path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc", t->path);
	rmdir(path);
	rmdir(t->path);
	free(t);
	return 0;
}

static int root_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	*state = t;
	snprintf(t->path, sizeof(t->path), "/tmp/fb-test-root.XXXXXX");
	return mkdtemp(t->path) ? 0 : -1;
}

/* The real resolver: symlinks resolve inside the container root, never above it. */
static void resolve_in_root_stays_inside_the_root(void **state)
{
	struct tmpdir *t = *state;
	struct stat in_root, host, link;
	struct fb_resolved res;
	char path[PATH_MAX];
	_cleanup_close_ int rootfd = -1;

	snprintf(path, sizeof(path), "%s/etc", t->path);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(stat(path, &in_root), 0);
	assert_int_equal(stat("/etc", &host), 0);
	snprintf(path, sizeof(path), "%s/abs", t->path);
	assert_int_equal(symlink("/etc", path), 0);
	assert_int_equal(lstat(path, &link), 0);
	snprintf(path, sizeof(path), "%s/up", t->path);
	assert_int_equal(symlink("../../../../etc", path), 0);
	rootfd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);

	/* /abs -> /etc and /up -> ../../../../etc both land on <root>/etc. */
	assert_int_equal(fb_resolve_in_root(&rootfd, "/abs", true, &res), 0);
	assert_int_equal(res.ino, in_root.st_ino);
	assert_int_equal(res.st_dev, in_root.st_dev);
	assert_true(res.ino != host.st_ino || res.st_dev != host.st_dev);
	assert_int_equal(fb_resolve_in_root(&rootfd, "/up", true, &res), 0);
	assert_int_equal(res.ino, in_root.st_ino);
	/* Not following: the link itself. */
	assert_int_equal(fb_resolve_in_root(&rootfd, "/abs", false, &res), 0);
	assert_int_equal(res.ino, link.st_ino);
	assert_true(S_ISLNK(res.mode));
	assert_int_equal(fb_resolve_in_root(&rootfd, "/", true, &res), 0);
	assert_true(S_ISDIR(res.mode));
	assert_int_equal(fb_resolve_in_root(&rootfd, "/missing", true, &res), -ENOENT);
}

static void formats_and_names_round_trip(void **state)
{
	char buf[128];

	for (int b = 0; b < FB_NR_RIGHTS; b++)
		assert_int_equal(fb_right_from_name(fb_right_name(1u << b)), 1u << b);
	assert_int_equal(fb_right_from_name("exe"), 0);
	assert_null(fb_right_name(R_READ | R_WRITE));
	assert_string_equal(fb_rights_format(R_READ | R_SETATTR, buf, sizeof(buf)), "read,setattr");
	assert_string_equal(fb_rights_format(0, buf, sizeof(buf)), "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(example_policy_resolves_as_specified),
	    cmocka_unit_test(deepest_rule_naming_the_right_wins_in_any_order),
	    cmocka_unit_test(default_deny_denies_what_no_rule_allows),
	    cmocka_unit_test(entry_rights_are_judged_on_the_parent_directory),
	    cmocka_unit_test(denying_read_write_or_setattr_implies_no_rename_or_link_out),
	    cmocka_unit_test(rule_paths_and_their_ancestors_are_pinned),
	    cmocka_unit_test(objects_deeper_than_the_walk_fail_closed),
	    cmocka_unit_test(invalid_queries_are_denied),
	    cmocka_unit_test(bad_rights_name_the_field_and_the_accepted_values),
	    cmocka_unit_test(bad_structure_names_the_field),
	    cmocka_unit_test(bad_paths_name_the_rule_and_the_problem),
	    cmocka_unit_test(limits_are_enforced_with_the_limit_named),
	    cmocka_unit_test_setup_teardown(profiles_load_by_safe_name_only, profiles_setup,
					    profiles_teardown),
	    cmocka_unit_test(annotation_allow_cannot_reopen_what_the_profile_denies),
	    cmocka_unit_test(mode_and_default_take_the_stricter_side),
	    cmocka_unit_test(combined_policy_allows_exactly_what_both_allow),
	    cmocka_unit_test(combining_with_one_side_missing_copies_it),
	    cmocka_unit_test(serialized_policy_parses_back_to_the_same_rules),
	    cmocka_unit_test(combined_rule_keeps_its_rename_verdict_through_json),
	    cmocka_unit_test(compile_emits_one_entry_per_object_keyed_by_cgroup_dev_ino),
	    cmocka_unit_test(compile_slots_name_what_their_entries_name_and_nothing_more),
	    cmocka_unit_test(compile_may_deny_lists_only_deniable_rights),
	    cmocka_unit_test(compile_refuses_a_missing_deny_rule_path_and_drops_allow_only),
	    cmocka_unit_test(compile_pins_symlinks_and_their_targets),
	    cmocka_unit_test(compile_merges_two_names_of_one_object_deny_winning),
	    cmocka_unit_test(compile_reports_resolver_errors_with_the_rule),
	    cmocka_unit_test(kernel_device_encoding_is_major_shl_20_or_minor),
	    cmocka_unit_test_setup_teardown(resolve_in_root_stays_inside_the_root, root_setup,
					    root_teardown),
	    cmocka_unit_test(formats_and_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
