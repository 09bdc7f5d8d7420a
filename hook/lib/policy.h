/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-container file-access policy: parsing (the `fusebox.io/policy`
 * annotation and admin profiles), the reference decision, combining a profile
 * with an annotation, and compiling to the kernel maps of bpf/policy.h.
 *
 * Semantics. For an access with right R to an object, the deepest rule whose
 * path is the object or one of its ancestors and that names R decides; with no
 * such rule, `default` decides. create, delete, rename and link are judged on
 * the parent directory of the entry (rename and link on both the source's and
 * the destination's directory). Two additions keep rule paths meaningful when
 * the container renames or links things (see bpf/policy.h):
 * - implied denies: a rule that denies read, write or setattr also denies
 *   rename and link (of entries in it) unless it names them itself;
 * - pins: the path of a rule that denies anything, and each of its ancestors
 *   except "/", cannot be deleted or renamed (nor replaced by a rename).
 * Objects deeper than FB_WALK_MAX components are decided by a rule at most
 * FB_WALK_MAX levels above them; with none, deny if the policy can deny R.
 *
 * Profile + annotation (fb_policy_combine): an access is allowed only if both
 * the profile and the annotation allow it (each judged on its own as above,
 * pins included); the mode is enforce if either says enforce; the default is
 * allow only if both defaults are allow. The annotation can only narrow.
 */
#ifndef FUSEBOX_POLICY_H
#define FUSEBOX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "bpf/policy.h"

#define FB_POLICY_MAX_SIZE (64 * 1024) /* bytes of JSON */
#define FB_POLICY_MAX_RULES 256
#define FB_POLICY_MAX_DEPTH FB_WALK_MAX /* components of a rule path */
#define FB_POLICY_PATH_MAX 4096		/* PATH_MAX, including the NUL */
#define FB_POLICY_MAX_OBJECTS 1024	/* rule paths + pinned ancestors */
#define FB_PROFILE_NAME_MAX 64
#define FB_POLICY_DIR_DEFAULT FUSEBOX_SYSCONFDIR "/fusebox/policies"
#define FB_POLICY_ANNOTATION "fusebox.io/policy"
#define FB_PROFILE_ANNOTATION "fusebox.io/profile"

struct fb_rule {
	char *path;    /* canonical absolute container path */
	__u32 allow;   /* rights allowed, as written */
	__u32 deny;    /* rights denied, as written */
	__u32 implied; /* rights denied because of what the rule denies */
};

struct fb_policy {
	char *source; /* for messages: "fusebox.io/policy", a profile file, ... */
	enum fb_mode mode;
	enum fb_verdict dflt;
	size_t n_rules;
	struct fb_rule *rules; /* in the order written: rules[i] in messages */
};

static inline __u32 fb_rule_denies(const struct fb_rule *r)
{
	return r->deny | r->implied;
}

static inline __u32 fb_rule_names(const struct fb_rule *r)
{
	return r->allow | r->deny | r->implied;
}

enum fb_decided_by {
	FB_BY_DEFAULT,	  /* no rule names the right */
	FB_BY_RULE,	  /* rules[rule] names it */
	FB_BY_PIN,	  /* delete/rename of an object pinned by rules[rule] */
	FB_BY_WALK_LIMIT, /* too deep to see every ancestor: fail closed */
};

struct fb_decision {
	enum fb_verdict verdict;
	enum fb_decided_by by;
	int rule;	   /* index for FB_BY_RULE and FB_BY_PIN, else -1 */
	bool implied;	   /* the rule names the right only by implication */
	size_t judged_len; /* the decision was taken on path[0..judged_len) */
};

/*
 * Parse a policy. source names it in error messages (the annotation name or
 * the file). On error returns -EINVAL (or -E2BIG, -ENOMEM) and writes one
 * line "SOURCE: FIELD: what is wrong (what would be accepted)" to err.
 */
int fb_policy_parse(const char *json, size_t len, const char *source, struct fb_policy **out,
		    char *err, size_t errlen);

/*
 * Load the admin profile dir/NAME.json (dir NULL: FB_POLICY_DIR_DEFAULT).
 * -EINVAL for a bad name, -ENOENT for an unknown profile.
 */
int fb_policy_load_profile(const char *dir, const char *name, struct fb_policy **out, char *err,
			   size_t errlen);

/* True when name is a valid profile name: 1-64 of [A-Za-z0-9._-], not starting with '.'. */
bool fb_profile_name_valid(const char *name);

/*
 * The one effective policy of a profile and an annotation policy, either of
 * which may be NULL (not both): see the top of this file.
 */
int fb_policy_combine(const struct fb_policy *profile, const struct fb_policy *annotation,
		      struct fb_policy **out, char *err, size_t errlen);

/*
 * Decide an access with one right to the object at path (canonical absolute).
 * For create/delete/rename/link, path is the entry and the decision is taken
 * on its parent directory. An invalid path or right is denied.
 */
enum fb_verdict fb_policy_decide(const struct fb_policy *p, const char *path, __u32 right);
/* Same, saying why. -EINVAL for an invalid path or right. */
int fb_policy_explain(const struct fb_policy *p, const char *path, __u32 right,
		      struct fb_decision *out);
/*
 * The walk alone, on the object the right is judged on (for create/delete/
 * rename/link: the directory), without pins. What the kernel evaluates.
 */
int fb_policy_decide_at(const struct fb_policy *p, const char *path, __u32 right,
			struct fb_decision *out);

/* Rights the policy can deny at all (fb_policy_cfg.may_deny). */
__u32 fb_policy_may_deny(const struct fb_policy *p);

/*
 * The objects the policy names: rule paths and pinned ancestors, sorted by
 * path, each once. path points into the policy (not NUL-terminated at len).
 */
struct fb_policy_obj {
	const char *path;
	size_t len;
	int rule;      /* rules[] index whose path this is, or -1 (pinned ancestor) */
	int pinned_by; /* rules[] index that pins it, or -1 */
};
int fb_policy_objects(const struct fb_policy *p, struct fb_policy_obj **out, size_t *n);

/*
 * The policy in the fusebox.io/policy format (mode, default, rules in order):
 * fb_policy_parse() of it gives back the same rules, implied rights included.
 * NULL when out of memory.
 */
json_t *fb_policy_to_json(const struct fb_policy *p);

struct fb_policy *fb_policy_dup(const struct fb_policy *p);
void fb_policy_free(struct fb_policy *p);
static inline void fb_policy_freep(struct fb_policy **p)
{
	fb_policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(fb_policy_freep)))

/* "read", ... for one right bit; NULL otherwise. */
const char *fb_right_name(__u32 right);
/* The bit for a right name, 0 when unknown. */
__u32 fb_right_from_name(const char *name);
/* "read,write" (or "-" for none) into buf. */
const char *fb_rights_format(__u32 mask, char *buf, size_t len);
#define FB_RIGHTS_EXPECTED "read, write, exec, create, delete, rename, link, setattr"

/* ---- compiling to kernel maps ------------------------------------------- */

struct fb_resolved {
	__u64 st_dev; /* as stat(2) reports it */
	__u64 ino;
	__u32 mode; /* st_mode */
};

/*
 * Resolve a container path to the object it names: follow says whether a
 * final symlink is followed. Returns 0, -ENOENT (or -ENOTDIR) when the path
 * does not exist, or another -errno.
 */
typedef int (*fb_resolve_fn)(void *ctx, const char *path, bool follow, struct fb_resolved *out);

/* A resolver for a container whose root directory is open as *(int *)ctx. */
int fb_resolve_in_root(void *ctx, const char *path, bool follow, struct fb_resolved *out);

struct fb_map_entry {
	struct fb_obj_key key;
	struct fb_obj_val val;
};

struct fb_compiled {
	__u64 cgroup_id;
	struct fb_policy_cfg cfg; /* value for fb_policy_cfg[cgroup_id] */
	size_t n;
	struct fb_map_entry *entries; /* for fb_policy_obj, sorted by key */
	size_t n_dropped;	      /* allow-only rules whose path is missing */
};

/* Kernel encoding of a device number (major << 20 | minor); 0 if it does not fit. */
__u32 fb_kdev(__u64 st_dev);

/*
 * The map entries for one container. Rule objects are resolved following
 * symlinks; pinned objects also without (the link itself is pinned). Two
 * rules on one object merge, deny winning. A missing path of a rule that
 * denies something is an error (-ENOENT) naming the rule.
 */
int fb_policy_compile(const struct fb_policy *p, __u64 cgroup_id, fb_resolve_fn resolve, void *ctx,
		      struct fb_compiled **out, char *err, size_t errlen);
void fb_compiled_free(struct fb_compiled *c);
static inline void fb_compiled_freep(struct fb_compiled **c)
{
	fb_compiled_free(*c);
}

#endif
