// SPDX-License-Identifier: GPL-2.0-only
/*
 * `fuseboxctl policy`: lint a file-access policy and show how it resolves.
 *   policy check FILE [--profile-dir DIR] [--profile NAME]
 *   policy explain FILE PATH RIGHT [--profile-dir DIR] [--profile NAME]
 * FILE holds what would go in the fusebox.io/policy annotation ("-": stdin).
 * With --profile, the profile is loaded as the hook would and the effective
 * (combined) policy is what is shown and explained.
 * Exit status: 0 done, 1 the policy or profile is invalid, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "policy.h"
#include "ctl.h"

#define ERR_MAX 1024

struct policy_opts {
	const char *profile_dir;
	const char *profile;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl policy check FILE [--profile-dir DIR] [--profile NAME]\n");
	fprintf(f, "       fuseboxctl policy explain FILE PATH RIGHT [--profile-dir DIR] "
		   "[--profile NAME]\n");
	fprintf(f, "FILE is a fusebox.io/policy JSON document, - for stdin.\n");
	fprintf(f, "RIGHT is one of %s.\n", FB_RIGHTS_EXPECTED);
}

static int load_file(const char *file, struct fb_policy **out)
{
	_cleanup_free_ char *text = NULL;
	char err[ERR_MAX];
	const char *source = streq(file, "-") ? "<stdin>" : file;
	ssize_t len;
	int r;

	if (streq(file, "-"))
		len = read_full_fd(STDIN_FILENO, FB_POLICY_MAX_SIZE, &text);
	else
		len = read_full_file(AT_FDCWD, file, FB_POLICY_MAX_SIZE, &text);
	if (len == -EFBIG) {
		fprintf(stderr, "%s: policy larger than %d bytes\n", source, FB_POLICY_MAX_SIZE);
		return -EFBIG;
	}
	if (len < 0) {
		fprintf(stderr, "%s: %s\n", source, strerror((int)-len));
		return (int)len;
	}
	r = fb_policy_parse(text, len, source, out, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", r == -ENOMEM ? strerror(ENOMEM) : err);
	return r;
}

static void print_policy(const struct fb_policy *p, const char *indent)
{
	_cleanup_free_ struct fb_policy_obj *objs = NULL;
	char a[128], d[128], im[64];
	size_t n = 0, w = 0;

	printf("%smode: %s\n", indent, p->mode == FB_MODE_AUDIT ? "audit" : "enforce");
	printf("%sdefault: %s\n", indent, p->dflt == FB_ALLOW ? "allow" : "deny");
	printf("%srules:%s\n", indent, p->n_rules ? "" : " none");
	for (size_t i = 0; i < p->n_rules; i++)
		if (strlen(p->rules[i].path) > w)
			w = strlen(p->rules[i].path);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct fb_rule *r = &p->rules[i];

		printf("%s  [%zu] %-*s", indent, i, (int)w, r->path);
		if (r->allow)
			printf("  allow %s", fb_rights_format(r->allow, a, sizeof(a)));
		if (r->deny)
			printf("  deny %s", fb_rights_format(r->deny, d, sizeof(d)));
		if (r->implied)
			printf("  implied deny %s", fb_rights_format(r->implied, im, sizeof(im)));
		printf("\n");
	}
	if (fb_policy_objects(p, &objs, &n) < 0)
		return;
	printf("%spinned (cannot be deleted or renamed):", indent);
	w = 0;
	for (size_t i = 0; i < n; i++) {
		if (objs[i].pinned_by < 0)
			continue;
		printf(" %.*s", (int)objs[i].len, objs[i].path);
		w++;
	}
	printf("%s\n", w ? "" : " none");
	printf("%skernel map objects: %zu\n", indent, n);
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_rows(char **rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i]);
	free(rows);
}

/* Rule paths and their parents, sorted, each once. */
static int table_rows(const struct fb_policy *p, char ***out, size_t *n)
{
	char **rows = calloc(2 * p->n_rules + 1, sizeof(*rows));
	size_t k = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const char *path = p->rules[i].path;
		const char *slash = strrchr(path, '/');
		char *parent = slash == path ? strdup("/") : strndup(path, slash - path);
		char *self = strdup(path);

		if (!parent || !self) {
			free(parent);
			free(self);
			free_rows(rows, k);
			return -ENOMEM;
		}
		rows[k++] = self;
		rows[k++] = parent;
	}
	qsort(rows, k, sizeof(*rows), strcmp_ptr);
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		if (*n > 0 && streq(rows[*n - 1], rows[i])) {
			free(rows[i]);
			continue;
		}
		rows[(*n)++] = rows[i];
	}
	*out = rows;
	return 0;
}

/* "deny(3)", "allow(-)", "deny(2*)" for a table cell. */
static const char *cell(const struct fb_decision *d, char *buf, size_t len)
{
	const char *v = d->verdict == FB_ALLOW ? "allow" : "deny";

	switch (d->by) {
	case FB_BY_RULE:
		snprintf(buf, len, "%s(%d%s)", v, d->rule, d->implied ? "*" : "");
		break;
	case FB_BY_PIN:
		snprintf(buf, len, "%s(pin)", v);
		break;
	case FB_BY_WALK_LIMIT:
		snprintf(buf, len, "%s(walk)", v);
		break;
	default:
		snprintf(buf, len, "%s(-)", v);
	}
	return buf;
}

static int print_table(const struct fb_policy *p)
{
	char **rows = NULL, c[32];
	size_t n = 0, w = 4;
	int r;

	r = table_rows(p, &rows, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strlen(rows[i]) > w)
			w = strlen(rows[i]);
	printf("resolution: (N) rules[N] decides, * by implication, (-) the default;\n"
	       "  read..exec, setattr: the object itself; create..link: entries in it\n");
	printf("  %-*s", (int)w, "path");
	for (int b = 0; b < FB_NR_RIGHTS; b++)
		printf(b + 1 < FB_NR_RIGHTS ? " %-9s" : " %s", fb_right_name(1u << b));
	printf("\n");
	for (size_t i = 0; i < n; i++) {
		printf("  %-*s", (int)w, rows[i]);
		for (int b = 0; b < FB_NR_RIGHTS; b++) {
			struct fb_decision d;

			if (fb_policy_decide_at(p, rows[i], 1u << b, &d) < 0)
				snprintf(c, sizeof(c), "?");
			else
				cell(&d, c, sizeof(c));
			printf(b + 1 < FB_NR_RIGHTS ? " %-9s" : " %s", c);
		}
		printf("\n");
	}
	free_rows(rows, n);
	return 0;
}

/* What the annotation allows or relaxes that the profile keeps from it. */
static void print_overridden(const struct fb_policy *profile, const struct fb_policy *ann)
{
	char rights[128];

	if (ann->mode == FB_MODE_AUDIT && profile->mode == FB_MODE_ENFORCE)
		printf("note: mode: audit has no effect, the profile enforces\n");
	if (ann->dflt == FB_ALLOW && profile->dflt == FB_DENY)
		printf("note: default: allow has no effect where no rule decides, the profile's "
		       "default is deny\n");
	for (size_t i = 0; i < ann->n_rules; i++) {
		const struct fb_rule *r = &ann->rules[i];
		__u32 lost = 0;
		int by = -1;

		for (int b = 0; b < FB_NR_RIGHTS; b++) {
			struct fb_decision d;

			if (!(r->allow & (1u << b)) ||
			    fb_policy_decide_at(profile, r->path, 1u << b, &d) < 0 ||
			    d.verdict == FB_ALLOW)
				continue;
			lost |= 1u << b;
			if (d.by == FB_BY_RULE)
				by = d.rule;
		}
		if (!lost)
			continue;
		printf("note: rules[%zu]: allow %s at %s has no effect, the profile denies it", i,
		       fb_rights_format(lost, rights, sizeof(rights)), r->path);
		if (by >= 0)
			printf(" (profile rules[%d] %s)", by, profile->rules[by].path);
		else
			printf(" (profile default)");
		printf("\n");
	}
}

/* Load FILE and, with --profile, the profile; *eff is what the hook would enforce. */
static int load_all(const char *file, const struct policy_opts *o, struct fb_policy **ann,
		    struct fb_policy **prof, struct fb_policy **eff)
{
	char err[ERR_MAX];
	int r;

	r = load_file(file, ann);
	if (r < 0)
		return r;
	if (o->profile) {
		r = fb_policy_load_profile(o->profile_dir, o->profile, prof, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "%s\n", r == -ENOMEM ? strerror(ENOMEM) : err);
			return r;
		}
	}
	r = fb_policy_combine(*prof, *ann, eff, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", r == -ENOMEM ? strerror(ENOMEM) : err);
	return r;
}

static int cmd_check(const char *file, const struct policy_opts *o)
{
	_cleanup_policy_ struct fb_policy *ann = NULL, *prof = NULL, *eff = NULL;

	if (load_all(file, o, &ann, &prof, &eff) < 0)
		return 1;
	if (!prof) {
		printf("%s: valid\n", ann->source);
		print_policy(ann, "  ");
		print_table(ann);
		return 0;
	}
	printf("profile %s (%s): valid\n", o->profile, prof->source);
	print_policy(prof, "  ");
	printf("policy %s: valid\n", ann->source);
	print_policy(ann, "  ");
	print_overridden(prof, ann);
	printf("effective policy (allowed only if both allow; enforce if either enforces):\n");
	print_policy(eff, "  ");
	print_table(eff);
	return 0;
}

static void print_decision(const char *who, const struct fb_policy *p, const char *path,
			   const struct fb_decision *d)
{
	char rights[128];

	printf("%s%s", who, d->verdict == FB_ALLOW ? "allow" : "deny");
	switch (d->by) {
	case FB_BY_RULE: {
		const struct fb_rule *r = &p->rules[d->rule];

		printf(" by rules[%d] %s (", d->rule, r->path);
		if (r->allow)
			printf("allow %s%s", fb_rights_format(r->allow, rights, sizeof(rights)),
			       r->deny | r->implied ? "; " : "");
		if (r->deny)
			printf("deny %s%s", fb_rights_format(r->deny, rights, sizeof(rights)),
			       r->implied ? "; " : "");
		if (r->implied)
			printf("implied deny %s",
			       fb_rights_format(r->implied, rights, sizeof(rights)));
		printf(")");
		if (d->implied)
			printf(", implied: it denies read, write or setattr, so entries may not be "
			       "moved or linked out");
		break;
	}
	case FB_BY_PIN:
		printf(" by pin: %s is rules[%d] %s or an ancestor of it, and that rule denies, so "
		       "it cannot be deleted or renamed",
		       path, d->rule, p->rules[d->rule].path);
		break;
	case FB_BY_WALK_LIMIT:
		printf(" by the walk limit: %.*s is more than %d levels below any rule naming the "
		       "right (fail closed)",
		       (int)d->judged_len, path, FB_WALK_MAX);
		break;
	default:
		printf(" by the default (no rule at or above %.*s names the right)",
		       (int)d->judged_len, path);
	}
	printf("\n");
}

static int cmd_explain(const char *file, const char *path, const char *right_name,
		       const struct policy_opts *o)
{
	_cleanup_policy_ struct fb_policy *ann = NULL, *prof = NULL, *eff = NULL;
	struct fb_decision d;
	__u32 right = fb_right_from_name(right_name);

	if (!right) {
		fprintf(stderr, "fuseboxctl policy explain: unknown right \"%s\" (expected %s)\n",
			right_name, FB_RIGHTS_EXPECTED);
		return 2;
	}
	if (load_all(file, o, &ann, &prof, &eff) < 0)
		return 1;
	if (fb_policy_explain(eff, path, right, &d) < 0) {
		fprintf(stderr,
			"fuseboxctl policy explain: invalid path \"%s\" (expected a canonical "
			"absolute container path, no ., .., // or trailing /)\n",
			path);
		return 2;
	}
	printf("%s %s %s\n", d.verdict == FB_ALLOW ? "allow" : "deny", right_name, path);
	if (d.by != FB_BY_PIN && (right & FB_RIGHTS_ON_PARENT))
		printf("judged on: %.*s (the parent directory)\n", (int)d.judged_len, path);
	else
		printf("judged on: %s\n", path);
	if (prof) {
		struct fb_decision dp, da;

		fb_policy_explain(prof, path, right, &dp);
		fb_policy_explain(ann, path, right, &da);
		print_decision("profile: ", prof, path, &dp);
		print_decision("policy: ", ann, path, &da);
		printf("effective: %s (allowed only if both allow)\n",
		       d.verdict == FB_ALLOW ? "allow" : "deny");
	} else {
		print_decision("", eff, path, &d);
	}
	if (right & (FB_RIGHT_RENAME | FB_RIGHT_LINK))
		printf("note: a %s also needs %s on the directory of its %s\n", right_name,
		       right_name, right == FB_RIGHT_RENAME ? "destination" : "source");
	if (d.verdict == FB_DENY)
		printf("mode %s: %s\n", eff->mode == FB_MODE_AUDIT ? "audit" : "enforce",
		       eff->mode == FB_MODE_AUDIT ? "allowed and reported" : "fails with EACCES");
	return 0;
}

int ctl_policy(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"profile-dir", required_argument, NULL, 'd'},
	    {"profile", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct policy_opts o = {0};
	const char *verb;
	char **args;
	int c, n;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	verb = argv[1];
	if (streq(verb, "-h") || streq(verb, "--help") || streq(verb, "help")) {
		usage(stdout);
		return 0;
	}
	/* Options may come before or after the operands of the verb (argv[1]). */
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.profile_dir = optarg;
			break;
		case 'p':
			o.profile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	args = argv + 1 + optind;
	n = argc - 1 - optind;
	if (streq(verb, "check") && n == 1)
		return cmd_check(args[0], &o);
	if (streq(verb, "explain") && n == 3)
		return cmd_explain(args[0], args[1], args[2], &o);
	fprintf(stderr, "fuseboxctl policy: expected check FILE or explain FILE PATH RIGHT\n");
	usage(stderr);
	return 2;
}
