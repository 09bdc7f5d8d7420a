// SPDX-License-Identifier: GPL-2.0-only
/*
 * The untrusted inputs of the policy steps that are not the policy itself:
 * the fusebox.io/programs annotation, a process's cgroup file and mountinfo,
 * the policy part of state.json (the undo record), and what fuseboxd can
 * enforce of a policy where BPF LSM is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "policy_fuseboxd.h"
#include "programs.h"
#include "state.h"
#include "util.h"

static char err[1024];

#define assert_err_contains(s) assert_non_null(strstr(err, (s)))

/* ---- fusebox.io/programs ---------------------------------------------------- */

static void program_names_parse_into_a_list(void **unused)
{
	struct fb_programs p;

	assert_int_equal(fb_programs_parse("[\"audit-exec\", \"no_net2\"]", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.names[0], "audit-exec");
	assert_string_equal(p.names[1], "no_net2");
	fb_programs_free(&p);
	assert_int_equal(fb_programs_parse("[]", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 0);
}

static void program_paths_and_odd_names_are_refused(void **unused)
{
	static const char *const bad[] = {
		"[\"../x\"]", "[\"a/b\"]", "[\"/etc/x\"]", "[\"x.bpf.o\"]", "[\"..\"]",
		"[\"\"]",     "[\"-x\"]",  "[\"a b\"]",    "[1]",		"[\"a\", \"a\"]",
	};
	struct fb_programs p;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(fb_programs_parse(bad[i], &p, err, sizeof(err)), -EINVAL);
		assert_err_contains("fusebox.io/programs: ");
	}
	assert_int_equal(fb_programs_parse("[\"../x\"]", &p, err, sizeof(err)), -EINVAL);
	assert_err_contains("is not a program name (names, not paths");
	assert_int_equal(fb_programs_parse("\"x\"", &p, err, sizeof(err)), -EINVAL);
	assert_err_contains("not a list");
	assert_int_equal(fb_programs_parse("[", &p, err, sizeof(err)), -EINVAL);
	assert_err_contains("invalid JSON");
	assert_int_equal(
		fb_programs_parse("[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", &p, err,
				  sizeof(err)),
		-EINVAL);
	assert_err_contains("9 names");
	assert_false(fb_program_name_valid(
		"a234567890123456789012345678901234567890123456789012345678901234x"));
}

/* ---- cgroups ------------------------------------------------------------------ */

static void the_cgroup2_line_is_found_among_v1_lines(void **unused)
{
	char *path = NULL;

	assert_int_equal(fb_cgroup_parse_proc("12:memory:/c1\n1:name=systemd:/c1\n0::/c1\n", &path),
			 0);
	assert_string_equal(path, "/c1");
	free(path);
	assert_int_equal(fb_cgroup_parse_proc("0::/system.slice/runc-x.scope", &path), 0);
	assert_string_equal(path, "/system.slice/runc-x.scope");
	free(path);
	assert_int_equal(fb_cgroup_parse_proc("1:cpu:/x\n", &path), -ENOENT);
	assert_int_equal(fb_cgroup_parse_proc("0::relative\n", &path), -EINVAL);
	assert_int_equal(fb_cgroup_parse_proc("0::/a/../b\n", &path), -EINVAL);
	assert_int_equal(fb_cgroup_parse_proc("0::/a/..\n", &path), -EINVAL);
}

static void the_cgroup2_mount_is_found_in_mountinfo(void **unused)
{
	char *mnt = NULL;
	const char *hybrid =
		"25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"30 25 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755\n"
		"31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n"
		"32 30 0:28 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n";

	assert_int_equal(fb_cgroup_parse_mountinfo(hybrid, &mnt), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/unified");
	free(mnt);
	assert_int_equal(
		fb_cgroup_parse_mountinfo("40 1 0:30 / /a\\040b rw - cgroup2 none rw\n", &mnt), 0);
	assert_string_equal(mnt, "/a b");
	free(mnt);
	assert_int_equal(fb_cgroup_parse_mountinfo(hybrid + 56, &mnt), 0); /* from line 2 */
	free(mnt);
	assert_int_equal(fb_cgroup_parse_mountinfo("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n", &mnt),
			 -ENOENT);
}

static void cgroup_levels_count_components(void **unused)
{
	assert_int_equal(fb_cgroup_level("/"), 0);
	assert_int_equal(fb_cgroup_level("/c1"), 1);
	assert_int_equal(fb_cgroup_level("/kubepods/burstable/pod1/c1"), 4);
}

/* ---- the undo record ------------------------------------------------------------ */

static char state_dir[] = "/tmp/fusebox-unit-state.XXXXXX";

static int make_state_dir(void **unused)
{
	return mkdtemp(state_dir) ? 0 : -1;
}

static int remove_state_dir(void **unused)
{
	return rm_rf_at(AT_FDCWD, state_dir);
}

static int undo_calls;
static unsigned long long undone_id;

static int fake_undo(const struct fb_conf *conf, const char *id, const struct fb_state_policy *p,
		     char *e, size_t len)
{
	undo_calls++;
	undone_id = p->cgroup_id;
	return undo_calls == 1 ? fb_errf(e, len, -EBUSY, "busy") : 0;
}

static void a_recorded_policy_round_trips_and_is_undone_before_the_dir_goes(void **unused)
{
	struct fb_conf conf = { .state_dir = state_dir };
	struct fb_state st = { .id = "c1", .rootfs = "/r", .container_pid = 42 }, back;
	char dir[PATH_MAX];

	st.policy = (struct fb_state_policy){ .on = true, .cgroup_id = 1ull << 40,
					      .cgroup = "/sys/fs/cgroup/c1", .n_programs = 2 };
	assert_int_equal(fb_state_create_dir(&conf, "c1", err, sizeof(err)), 0);
	assert_int_equal(fb_state_write(&conf, &st), 0);
	if (fb_state_read(&conf, "c1", &back, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_true(back.policy.on);
	assert_true(back.policy.cgroup_id == 1ull << 40);
	assert_string_equal(back.policy.cgroup, "/sys/fs/cgroup/c1");
	assert_int_equal(back.policy.n_programs, 2);
	fb_state_free(&back);

	snprintf(dir, sizeof(dir), "%s/c1", state_dir);
	/* Without a way to undo it, the state stays: the kernel may still hold the policy. */
	assert_int_equal(fb_teardown(&conf, "c1", NULL, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(access(dir, F_OK), 0);
	/* A failed undo keeps the state for the next try; a good one removes it. */
	assert_int_equal(fb_teardown(&conf, "c1", fake_undo, err, sizeof(err)), -EBUSY);
	assert_int_equal(access(dir, F_OK), 0);
	assert_int_equal(fb_teardown(&conf, "c1", fake_undo, err, sizeof(err)), 0);
	assert_true(undone_id == 1ull << 40);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(fb_teardown(&conf, "c1", fake_undo, err, sizeof(err)), 0);
	assert_int_equal(undo_calls, 2);
}

/* ---- enforcement by fuseboxd ----------------------------------------------- */

static struct fb_policy *policy(const char *json)
{
	struct fb_policy *p = NULL;

	if (fb_policy_parse(json, strlen(json), FB_POLICY_ANNOTATION, &p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return p;
}

/* /app (passthrough) and /cache ("data": "cached"). */
static const struct fb_mounts two_mounts = {
	.m = { { .target = "/app" }, { .target = "/cache", .data = FB_DATA_CACHED } },
	.n = 2,
};

static void gaps_of(const char *json, const struct fb_mounts *m, struct fb_policy_gaps *g)
{
	_cleanup_policy_ struct fb_policy *p = policy(json);

	fb_policy_fuseboxd_gaps(p, m, g);
}

static void rules_inside_passthrough_mounts_leave_no_gap(void **unused)
{
	struct fb_policy_gaps g;

	gaps_of("{\"rules\": [{\"path\": \"/app\", \"deny\": [\"write\"]},"
		"{\"path\": \"/app/secrets\", \"deny\": [\"read\", \"delete\"]},"
		"{\"path\": \"/app/secrets/pub\", \"allow\": [\"read\"]}]}",
		&two_mounts, &g);
	assert_int_equal(g.n, 0);
	assert_string_equal(g.all, "");
	/* No rules at all, nothing to see. */
	gaps_of("{\"mode\": \"audit\"}", NULL, &g);
	assert_int_equal(g.n, 0);
}

static void each_gap_is_named_first_one_first(void **unused)
{
	struct fb_policy_gaps g;

	gaps_of("{\"default\": \"deny\", \"rules\": [{\"path\": \"/app/x\", \"deny\": [\"read\"]},"
		"{\"path\": \"/\", \"deny\": [\"setattr\"]},"
		"{\"path\": \"/etc\", \"deny\": [\"write\"]},"
		"{\"path\": \"/apps\", \"deny\": [\"write\"]},"
		"{\"path\": \"/cache/x\", \"deny\": [\"read\"]},"
		"{\"path\": \"/app/bin\", \"deny\": [\"exec\", \"write\"]}]}",
		&two_mounts, &g);
	assert_int_equal(g.n, 6);
	assert_string_equal(g.first, "default \"deny\" also covers what is outside the fusebox "
				     "mounts (/app, /cache)");
	/* An ancestor of a target is outside; so is a sibling sharing a prefix. */
	assert_non_null(strstr(g.all, "; rules[1] \"/\" is outside the fusebox mounts (/app, /cache)"));
	assert_non_null(strstr(g.all, "; rules[2] \"/etc\" is outside the fusebox mounts"));
	assert_non_null(strstr(g.all, "; rules[3] \"/apps\" is outside the fusebox mounts"));
	assert_non_null(strstr(g.all, "; rules[4] \"/cache/x\" is inside /cache, a \"data\": "
				      "\"cached\" mount (its opens never reach fuseboxd)"));
	assert_non_null(strstr(g.all, "; rules[5] \"/app/bin\" denies exec (mmap with PROT_EXEC "
				      "and memfd never reach a FUSE daemon)"));
	assert_null(strstr(g.all, "rules[0]"));
}

static void audit_mode_counts_what_it_would_deny(void **unused)
{
	struct fb_policy_gaps g;

	gaps_of("{\"mode\": \"audit\", \"rules\": [{\"path\": \"/app/bin\", \"deny\": [\"exec\"]}]}",
		&two_mounts, &g);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.first, "rules[0] \"/app/bin\" audits exec"));
	gaps_of("{\"rules\": [{\"path\": \"/etc\", \"deny\": [\"write\"]}]}", NULL, &g);
	assert_string_equal(g.first, "rules[0] \"/etc\" is outside the fusebox mounts (there are none)");
}

static void allow_only_rules_are_no_gap_anywhere(void **unused)
{
	struct fb_policy_gaps g;

	/* Under default allow, allowing takes nothing away, outside or on a cached mount. */
	gaps_of("{\"rules\": [{\"path\": \"/usr\", \"allow\": [\"exec\", \"read\"]},"
		"{\"path\": \"/cache/x\", \"allow\": [\"read\"]},"
		"{\"path\": \"/app/tmp\", \"allow\": [\"exec\"]}]}",
		&two_mounts, &g);
	assert_int_equal(g.n, 0);
}

static void the_gap_list_is_cut_not_overrun(void **unused)
{
	_cleanup_free_ char *json = NULL;
	struct fb_policy_gaps g;
	size_t o = 0, cap = 64 * 1024;

	json = malloc(cap);
	o += snprintf(json + o, cap - o, "{\"rules\": [");
	for (int i = 0; i < 200; i++)
		o += snprintf(json + o, cap - o, "%s{\"path\": \"/outside/dir%03d\", \"deny\": [\"read\"]}",
			      i ? "," : "", i);
	snprintf(json + o, cap - o, "]}");
	gaps_of(json, &two_mounts, &g);
	assert_int_equal(g.n, 200);
	assert_int_equal(strlen(g.all), sizeof(g.all) - 1);
	assert_string_equal(g.all + sizeof(g.all) - 4, "...");
}

static void the_enforcement_kind_round_trips_through_state(void **unused)
{
	struct fb_conf conf = { .state_dir = state_dir };
	struct fb_state st = { .id = "c2", .rootfs = "/r", .enforcement = FB_ENFORCE_FUSEBOXD_DEGRADED,
			       .not_enforced = "rules[0] \"/etc\" is outside" }, back;

	assert_int_equal(fb_state_create_dir(&conf, "c2", err, sizeof(err)), 0);
	assert_int_equal(fb_state_write(&conf, &st), 0);
	if (fb_state_read(&conf, "c2", &back, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(back.enforcement, FB_ENFORCE_FUSEBOXD_DEGRADED);
	assert_string_equal(back.not_enforced, "rules[0] \"/etc\" is outside");
	assert_false(back.policy.on); /* nothing in the kernel to undo */
	fb_state_free(&back);
	assert_string_equal(fb_enforcement_name(FB_ENFORCE_BPF_LSM), "bpf-lsm");
	assert_string_equal(fb_enforcement_name(FB_ENFORCE_FUSEBOXD), "fuseboxd");
	assert_null(fb_enforcement_name(FB_ENFORCE_NONE));
	/* Without a BPF undo it still goes: fuseboxd's enforcement dies with its daemon. */
	assert_int_equal(fb_teardown(&conf, "c2", NULL, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(program_names_parse_into_a_list),
		cmocka_unit_test(program_paths_and_odd_names_are_refused),
		cmocka_unit_test(the_cgroup2_line_is_found_among_v1_lines),
		cmocka_unit_test(the_cgroup2_mount_is_found_in_mountinfo),
		cmocka_unit_test(cgroup_levels_count_components),
		cmocka_unit_test(rules_inside_passthrough_mounts_leave_no_gap),
		cmocka_unit_test(each_gap_is_named_first_one_first),
		cmocka_unit_test(audit_mode_counts_what_it_would_deny),
		cmocka_unit_test(allow_only_rules_are_no_gap_anywhere),
		cmocka_unit_test(the_gap_list_is_cut_not_overrun),
		cmocka_unit_test(a_recorded_policy_round_trips_and_is_undone_before_the_dir_goes),
		cmocka_unit_test(the_enforcement_kind_round_trips_through_state),
	};

	return cmocka_run_group_tests_name("policy annotations", tests, make_state_dir,
					   remove_state_dir);
}
