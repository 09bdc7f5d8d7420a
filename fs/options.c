// SPDX-License-Identifier: GPL-2.0-only
/*
 * Command line of fuseboxd, in fuse-overlayfs' syntax:
 *   fuseboxd [-f] [-d] [-s | --threads=N] [--spin=USEC] [--prefetch=N] [--ready-fd=N]
 *            -o lowerdir=A[:B...][,upperdir=U,workdir=W][,OPTIONS] MOUNTPOINT
 * Parsed in one place into struct fbx_options; everything after works on it.
 * Within -o, "\," is a literal comma and, in lowerdir, "\:" a literal colon.
 */
#include "fuseboxd.h"

#include <limits.h>

/* Mount options handed to libfuse unchanged. */
static const char *const fuse_flag_opts[] = {
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "noatime",
    "allow_other",
    "default_permissions",
};
static const char *const fuse_value_opts[] = {"fsname=",	  "subtype=",	  "context=",
					       "fscontext=", "defcontext=", "rootcontext="};

void fbx_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: fuseboxd [-f] [-d] [-s | --threads=N] [--spin=USEC] [--prefetch=N]\n"
	    "                [--ready-fd=N] -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR][,OPT...] MOUNTPOINT\n"
	    "Overlay of image layers (top-most first) over FUSE; writable with an upper.\n"
	    "  -f             stay in the foreground\n"
	    "  -d             libfuse debug output (implies -f)\n"
	    "  -s             single-threaded request loop (the default)\n"
	    "  --threads=N    up to N worker threads, one /dev/fuse fd each\n"
	    "  --spin=USEC    single-threaded: after a request, look for the next one for\n"
	    "                 up to USEC microseconds before sleeping, learnt from how\n"
	    "                 soon requests follow (default 200, 0 to 1000; 0: never;\n"
	    "                 never on a single CPU)\n"
	    "  --prefetch=N   once a second file of a lower directory is opened cold,\n"
	    "                 read ahead up to N of its files of up to 128 KiB in the\n"
	    "                 background; a cold walk's next directories are looked up\n"
	    "                 ahead too (default 256, 0 to 4096; 0: neither)\n"
	    "  --ready-fd=N   write \"ready\\n\" to fd N once mounted, then close it\n"
	    "  MOUNTPOINT     a directory, or /dev/fd/N: an already mounted /dev/fuse fd\n"
	    "options: lowerdir=, upperdir=, workdir= (same file system as upperdir),\n"
	    "         ro (default without upperdir), rw, suid, nosuid, dev, nodev, exec,\n"
	    "         noexec, noatime, allow_other, default_permissions (always on), fsname=,\n"
	    "         subtype=, context=, fscontext=, defcontext=, rootcontext= (SELinux),\n"
	    "         volatile or fsync=0 (fsync does nothing), fsync=1,\n"
	    "         policy=FILE,policy_root=DIR (enforce a fusebox.io/policy JSON file on\n"
	    "         this mount, whose root is DIR in the policy's paths),\n"
	    "         audit_log=DIR/ID.log (with policy=: also log its denials there, as\n"
	    "         container ID, bounded as fusebox's audit logs are),\n"
	    "         nopassthrough (serve reads in the daemon instead of the kernel),\n"
	    "         noopen (no OPEN/RELEASE requests: file data is read once through the\n"
	    "         daemon and kept in the page cache; fastest for many small files,\n"
	    "         slower for large ones, which then cannot use passthrough)\n");
}

/* Split s in place at unescaped sep; returns the next piece or NULL. */
static char *split_escaped(char **s, char sep)
{
	char *start = *s, *p;

	if (!start)
		return NULL;
	for (p = start; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == sep) {
			*p = '\0';
			*s = p + 1;
			return start;
		}
	}
	*s = NULL;
	return start;
}

/* Remove backslash escapes in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

static int append_opt(char **opts, const char *opt)
{
	char *n;

	if (asprintf(&n, "%s%s%s", *opts ? *opts : "", *opts ? "," : "", opt) < 0)
		return -ENOMEM;
	free(*opts);
	*opts = n;
	return 0;
}

static int parse_lowerdir(struct fbx_options *o, char *value)
{
	char *rest = value, *dir;

	if (o->nlower) {
		fbx_err("lowerdir: given more than once");
		return -EINVAL;
	}
	while ((dir = split_escaped(&rest, ':'))) {
		char **n;

		unescape(dir);
		if (dir[0] != '/') {
			fbx_err("lowerdir: '%s' is not an absolute path", dir);
			return -EINVAL;
		}
		if (strlen(dir) >= PATH_MAX) {
			fbx_err("lowerdir: path too long");
			return -EINVAL;
		}
		if (o->nlower == FBX_MAX_LAYERS) {
			fbx_err("lowerdir: more than %d layers", FBX_MAX_LAYERS);
			return -EINVAL;
		}
		n = realloc(o->lowerdirs, (o->nlower + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		o->lowerdirs = n;
		o->lowerdirs[o->nlower] = strdup(dir);
		if (!o->lowerdirs[o->nlower])
			return -ENOMEM;
		o->nlower++;
	}
	if (!o->nlower) {
		fbx_err("lowerdir: empty");
		return -EINVAL;
	}
	return 0;
}

/* upperdir=, workdir=, policy=, policy_root=, audit_log=: an absolute path, once. */
static int parse_dir(char **out, char *opt)
{
	char *eq = strchr(opt, '='), *v = eq + 1;

	*eq = '\0';
	unescape(v);
	if (*out) {
		fbx_err("%s: given more than once", opt);
		return -EINVAL;
	}
	if (v[0] != '/' || strlen(v) >= PATH_MAX) {
		fbx_err("%s: '%s' is not an absolute path", opt, v);
		return -EINVAL;
	}
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

struct seen_opts {
	bool fsname, subtype, ro_rw;
};

static int parse_one(struct fbx_options *o, char *opt, struct seen_opts *seen)
{
	size_t i;

	if (startswith(opt, "lowerdir="))
		return parse_lowerdir(o, opt + strlen("lowerdir="));
	if (startswith(opt, "upperdir="))
		return parse_dir(&o->upperdir, opt);
	if (startswith(opt, "workdir="))
		return parse_dir(&o->workdir, opt);
	if (startswith(opt, "policy="))
		return parse_dir(&o->policy, opt);
	if (startswith(opt, "policy_root="))
		return parse_dir(&o->policy_root, opt);
	if (startswith(opt, "audit_log="))
		return parse_dir(&o->audit_log, opt);
	/* podman's mount_program options: nothing to sync on a throw-away upper. */
	if (streq(opt, "volatile") || streq(opt, "fsync=0")) {
		o->nosync = true;
		return 0;
	}
	if (streq(opt, "fsync=1")) {
		o->nosync = false;
		return 0;
	}
	if (streq(opt, "nopassthrough")) {
		o->passthrough = false;
		return 0;
	}
	if (streq(opt, "noopen")) {
		o->noopen = true;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(fuse_flag_opts); i++)
		if (streq(opt, fuse_flag_opts[i])) {
			if (streq(opt, "ro") || streq(opt, "rw"))
				seen->ro_rw = true;
			return append_opt(&o->fuse_opts, opt);
		}
	for (i = 0; i < ARRAY_SIZE(fuse_value_opts); i++)
		if (startswith(opt, fuse_value_opts[i]) && opt[strlen(fuse_value_opts[i])]) {
			if (i == 0)
				seen->fsname = true;
			else if (i == 1)
				seen->subtype = true;
			return append_opt(&o->fuse_opts, opt);
		}
	fbx_err("unknown option '%s' (see fuseboxd --help)", opt);
	return -EINVAL;
}

static int parse_opts(struct fbx_options *o, const char *arg, struct seen_opts *seen)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *rest = copy, *opt;
	int r;

	if (!copy)
		return -ENOMEM;
	while ((opt = split_escaped(&rest, ','))) {
		if (!*opt)
			continue;
		r = parse_one(o, opt, seen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_ready_fd(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX) {
		fbx_err("--ready-fd: '%s' is not a file descriptor number", s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int parse_count(const char *opt, const char *s, long min, long max, unsigned int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fbx_err("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

/*
 * Returns 0 to go on, 1 when the command is done (help, version), or a
 * negative errno after printing one line saying what is wrong.
 */
int fbx_options_parse(int argc, char **argv, struct fbx_options *o)
{
	struct seen_opts seen = {0};
	int i, r;

	*o = (struct fbx_options){
	    .ready_fd = -1, .threads = 1, .spin_us = FBX_SPIN_DEFAULT_US,
	    .prefetch = FBX_PREFETCH_DEFAULT, .passthrough = true};
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (streq(a, "-f")) {
			o->foreground = true;
		} else if (streq(a, "-d")) {
			o->debug = o->foreground = true;
		} else if (streq(a, "-s")) {
			o->threads = 1;
		} else if (startswith(a, "--threads=")) {
			r = parse_count("--threads", a + strlen("--threads="), 1, FBX_MAX_THREADS,
					&o->threads);
			if (r < 0)
				return r;
		} else if (startswith(a, "--spin=")) {
			r = parse_count("--spin", a + strlen("--spin="), 0, FBX_SPIN_MAX_US, &o->spin_us);
			if (r < 0)
				return r;
		} else if (startswith(a, "--prefetch=")) {
			r = parse_count("--prefetch", a + strlen("--prefetch="), 0, FBX_PREFETCH_MAX,
					&o->prefetch);
			if (r < 0)
				return r;
		} else if (streq(a, "-h") || streq(a, "--help")) {
			fbx_usage(stdout);
			return 1;
		} else if (streq(a, "-V") || streq(a, "--version")) {
			printf("fuseboxd (libfuse %s)\n", fuse_pkgversion());
			return 1;
		} else if (startswith(a, "--ready-fd=")) {
			r = parse_ready_fd(a + strlen("--ready-fd="), &o->ready_fd);
			if (r < 0)
				return r;
		} else if (startswith(a, "-o")) {
			const char *v = a[2] ? a + 2 : argv[++i];

			if (!v) {
				fbx_err("-o needs an argument");
				return -EINVAL;
			}
			r = parse_opts(o, v, &seen);
			if (r < 0)
				return r;
		} else if (a[0] == '-' && a[1]) {
			fbx_err("unknown option '%s' (see fuseboxd --help)", a);
			return -EINVAL;
		} else if (!o->mountpoint) {
			o->mountpoint = strdup(a);
			if (!o->mountpoint)
				return -ENOMEM;
		} else {
			fbx_err("unexpected argument '%s': only one mountpoint", a);
			return -EINVAL;
		}
	}
	if (!o->nlower) {
		fbx_err("missing -o lowerdir=DIR[:DIR...]");
		return -EINVAL;
	}
	if (!o->mountpoint) {
		fbx_err("missing MOUNTPOINT");
		return -EINVAL;
	}
	if (!o->upperdir != !o->workdir) {
		fbx_err("upperdir= and workdir= go together");
		return -EINVAL;
	}
	if (o->audit_log && !o->policy) {
		fbx_err("audit_log= goes with policy=");
		return -EINVAL;
	}
	if (!o->policy != !o->policy_root) {
		fbx_err("policy= and policy_root= go together");
		return -EINVAL;
	}
	if (o->policy && o->noopen) {
		fbx_err("policy=: a noopen mount never sees opens, so cannot enforce a policy");
		return -EINVAL;
	}
	/* The daemon runs as root: without the kernel's permission checks any
	 * user of the mount could read every file of the image. */
	r = append_opt(&o->fuse_opts, "default_permissions");
	/* Without an upper nothing can be written, and on a read-only mount
	 * the kernel skips the GETATTR that follows each passthrough read. */
	if (r == 0 && !seen.ro_rw)
		r = append_opt(&o->fuse_opts, o->upperdir ? "rw" : "ro");
	if (r == 0 && !seen.fsname)
		r = append_opt(&o->fuse_opts, "fsname=fuseboxd");
	if (r == 0 && !seen.subtype)
		r = append_opt(&o->fuse_opts, "subtype=fuseboxd");
	return r;
}

void fbx_options_free(struct fbx_options *o)
{
	size_t i;

	for (i = 0; i < o->nlower; i++)
		free(o->lowerdirs[i]);
	free(o->lowerdirs);
	free(o->upperdir);
	free(o->workdir);
	free(o->policy);
	free(o->policy_root);
	free(o->audit_log);
	free(o->mountpoint);
	free(o->fuse_opts);
	*o = (struct fbx_options){.ready_fd = -1};
}
