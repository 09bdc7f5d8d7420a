/* SPDX-License-Identifier: GPL-2.0-only */
/* Checks for paths taken from untrusted input (annotations, config). */
#ifndef FUSEBOX_PATH_H
#define FUSEBOX_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define FB_PATH_MAX 4096
#define FB_PATH_MAX_DEPTH 64

/*
 * A canonical absolute path: starts with '/', no empty, "." or ".." components,
 * no trailing '/' (except "/" itself), shorter than FB_PATH_MAX, at most
 * FB_PATH_MAX_DEPTH components, no control characters. Returns 0 or -EINVAL with
 * the reason in *why (a static string).
 */
int fb_path_check_abs(const char *path, const char **why);

/* True when path equals dir or lies beneath it (both canonical). */
bool fb_path_is_within(const char *path, const char *dir);

/* True when path lies strictly beneath dir (both canonical). */
bool fb_path_is_beneath(const char *path, const char *dir);

/* Number of components of a canonical absolute path ("/" has 0). */
int fb_path_depth(const char *path);

#endif
