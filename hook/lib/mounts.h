/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fusebox.io/mounts annotation:
 *   [{"target": "/data", "lower": ["/var/lib/fusebox/layers/base"], "upper": "none",
 *     "data": "passthrough"}]
 * Untrusted input: parsed into typed specs here, then checked against the
 * operator's allowed roots (fusebox.conf).
 */
#ifndef FUSEBOX_MOUNTS_H
#define FUSEBOX_MOUNTS_H

#include <stddef.h>

#include "conf.h"

#define FB_ANNOT_MOUNTS "fusebox.io/mounts"
#define FB_MOUNTS_MAX 16
#define FB_LOWERS_MAX 64
#define FB_ANNOT_MAX_SIZE (64 * 1024)

enum fb_upper_kind {
	FB_UPPER_NONE,	    /* read-only */
	FB_UPPER_EPHEMERAL, /* per-container, under the state dir, removed at poststop */
	FB_UPPER_PATH,	    /* persistent host dir under an allowed upper root */
};

/* How file data moves (fuseboxd's default, or -o noopen). */
enum fb_data_mode {
	FB_DATA_PASSTHROUGH, /* each open asks the daemon once; the kernel reads the layer file */
	FB_DATA_CACHED,	     /* opens never reach the daemon; data read once, then page cache */
};

struct fb_mount_spec {
	char *target; /* canonical container path */
	enum fb_data_mode data;
	char *lower[FB_LOWERS_MAX];
	size_t n_lower;
	enum fb_upper_kind upper_kind;
	char *upper; /* FB_UPPER_PATH only */
};

struct fb_mounts {
	struct fb_mount_spec m[FB_MOUNTS_MAX];
	size_t n;
};

/* Syntax and shape: JSON, keys, canonical paths, limits, no nesting. */
int fb_mounts_parse(const char *json, struct fb_mounts *out, char *err, size_t errlen);

/*
 * Host-side checks against the config: each lower exists, is a directory and
 * (after resolving symlinks) lies beneath an allowed lower root; each upper path
 * likewise beneath an allowed upper root. Lower and upper paths are replaced by
 * their resolved form.
 */
int fb_mounts_check(struct fb_mounts *mounts, const struct fb_conf *conf, char *err,
		    size_t errlen);

void fb_mounts_free(struct fb_mounts *mounts);

#endif
