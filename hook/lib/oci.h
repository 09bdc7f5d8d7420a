/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The OCI inputs of a hook: the state on stdin and the bundle's config.json.
 * Both are parsed here, with size limits, into typed structs.
 */
#ifndef FUSEBOX_OCI_H
#define FUSEBOX_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FB_OCI_STATE_MAX (1024 * 1024)
#define FB_OCI_CONFIG_MAX (16 * 1024 * 1024)
#define FB_ID_MAX 128

struct fb_oci_state {
	char *id;
	char *status;
	char *bundle;
	pid_t pid;	      /* 0 when absent or null (poststop) */
	json_t *annotations; /* object; may be NULL */
};

struct fb_oci_config {
	char *root_path; /* absolute: resolved against the bundle when relative */
	bool root_readonly;
	char *cgroups_path; /* linux.cgroupsPath or NULL */
	json_t *annotations; /* object; may be NULL */
};

/* A container id usable as a file name: [A-Za-z0-9_.+-], not starting with '.'. */
int fb_oci_check_id(const char *id);

int fb_oci_state_parse(const char *text, size_t len, struct fb_oci_state *st, char *err,
		       size_t errlen);
void fb_oci_state_free(struct fb_oci_state *st);

/* Parse config.json text; bundle (absolute) resolves a relative root.path. */
int fb_oci_config_parse(const char *text, size_t len, const char *bundle,
			struct fb_oci_config *cfg, char *err, size_t errlen);
/* Read and parse <bundle>/config.json. */
int fb_oci_config_load(const char *bundle, struct fb_oci_config *cfg, char *err,
		       size_t errlen);
void fb_oci_config_free(struct fb_oci_config *cfg);

/* String value of an annotation, or NULL (also when not a string). */
const char *fb_annotation(const json_t *annotations, const char *key);

/* True when any annotation key starts with "fusebox.io/". */
bool fb_annotations_want_fusebox(const json_t *annotations);

#endif
