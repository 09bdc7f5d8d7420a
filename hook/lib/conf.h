/* SPDX-License-Identifier: GPL-2.0-only */
/* /etc/fusebox/fusebox.conf: the node operator's settings. */
#ifndef FUSEBOX_CONF_H
#define FUSEBOX_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define FB_CONF_DEFAULT_PATH FUSEBOX_SYSCONFDIR "/fusebox/fusebox.conf"
#define FB_CONF_MAX_SIZE (64 * 1024)
#define FB_CONF_MAX_ROOTS 32

struct fb_conf {
	char *path; /* the file it was read from, NULL for the defaults */
	char *lower_roots[FB_CONF_MAX_ROOTS]; /* canonical, realpath'd when they exist */
	size_t n_lower_roots;
	char *upper_roots[FB_CONF_MAX_ROOTS];
	size_t n_upper_roots;
	char *state_dir;   /* per-container state, default /run/fusebox */
	char *fuseboxd;    /* daemon binary */
	char *policy_dir;  /* admin profiles */
	char *program_dir; /* admin BPF programs */
	char *log_dir;	   /* per-container audit logs, default /var/log/fusebox */
	int ready_timeout_ms;
	int fuseboxd_spin_us;  /* the daemons' --spin, -1: fuseboxd's own default */
	int fuseboxd_prefetch; /* the daemons' --prefetch, -1: fuseboxd's own default */
	int log_keep; /* audit logs kept, newest first (running containers' always) */
	bool degraded_enforcement;
};

/* Defaults, used when the default config file does not exist. */
int fb_conf_defaults(struct fb_conf *conf);

/*
 * Parse a config text ("key = value" lines, '#' comments; lower_root and
 * upper_root repeat). source names the file in error messages.
 */
int fb_conf_parse(const char *text, const char *source, struct fb_conf *conf, char *err,
		  size_t errlen);

/*
 * Load path, or the defaults when path is NULL and the default file is missing.
 * An explicitly named file must exist.
 */
int fb_conf_load(const char *path, struct fb_conf *conf, char *err, size_t errlen);

void fb_conf_free(struct fb_conf *conf);

#endif
