// SPDX-License-Identifier: GPL-2.0-only
/* OCI state and config.json parsing: the only place these formats are read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>

#include "oci.h"
#include "path.h"
#include "util.h"

#define FB_ANNOTATION_PREFIX "fusebox.io/"

int fb_oci_check_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > FB_ID_MAX || id[0] == '.')
		return -EINVAL;
	for (const char *p = id; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '+' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

static json_t *load_json(const char *text, size_t len, const char *what, char *err,
			 size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		fb_errf(err, errlen, -EINVAL, "%s: invalid JSON at line %d: %s", what, jerr.line,
			jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fb_errf(err, errlen, -EINVAL, "%s: expected a JSON object", what);
		return NULL;
	}
	return root;
}

static int dup_string(json_t *obj, const char *key, bool required, char **out,
		      const char *what, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return fb_errf(err, errlen, -EINVAL, "%s: missing \"%s\"", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return fb_errf(err, errlen, -EINVAL, "%s: \"%s\" must be a string", what, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fb_errf(err, errlen, -EINVAL, "%s: \"%s\" contains a NUL byte", what, key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int take_annotations(json_t *obj, json_t **out, const char *what, char *err,
			    size_t errlen)
{
	json_t *a = json_object_get(obj, "annotations");

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return fb_errf(err, errlen, -EINVAL, "%s: \"annotations\" must be an object",
			       what);
	*out = json_incref(a);
	return 0;
}

int fb_oci_state_parse(const char *text, size_t len, struct fb_oci_state *st, char *err,
		       size_t errlen)
{
	json_t *root, *pid;
	const char *why;
	int r;

	memset(st, 0, sizeof(*st));
	root = load_json(text, len, "OCI state", err, errlen);
	if (!root)
		return -EINVAL;
	r = dup_string(root, "id", true, &st->id, "OCI state", err, errlen);
	if (r == 0 && fb_oci_check_id(st->id) < 0)
		r = fb_errf(err, errlen, -EINVAL,
			    "OCI state: id \"%.64s\" is not a valid container id (expected 1-%d "
			    "of [A-Za-z0-9_.+-], not starting with '.')",
			    st->id, FB_ID_MAX);
	if (r == 0)
		r = dup_string(root, "status", false, &st->status, "OCI state", err, errlen);
	if (r == 0)
		r = dup_string(root, "bundle", false, &st->bundle, "OCI state", err, errlen);
	if (r == 0 && st->bundle && fb_path_check_abs(st->bundle, &why) < 0)
		r = fb_errf(err, errlen, -EINVAL, "OCI state: bundle \"%s\" %s", st->bundle, why);
	pid = json_object_get(root, "pid");
	if (r == 0 && pid && !json_is_null(pid)) {
		if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
		    json_integer_value(pid) > INT_MAX)
			r = fb_errf(err, errlen, -EINVAL, "OCI state: \"pid\" must be a pid");
		else
			st->pid = (pid_t)json_integer_value(pid);
	}
	if (r == 0)
		r = take_annotations(root, &st->annotations, "OCI state", err, errlen);
	json_decref(root);
	if (r < 0)
		fb_oci_state_free(st);
	return r;
}

void fb_oci_state_free(struct fb_oci_state *st)
{
	free(st->id);
	free(st->status);
	free(st->bundle);
	json_decref(st->annotations);
	memset(st, 0, sizeof(*st));
}

int fb_oci_config_parse(const char *text, size_t len, const char *bundle,
			struct fb_oci_config *cfg, char *err, size_t errlen)
{
	json_t *root, *rootobj, *ro, *linux_obj;
	_cleanup_free_ char *rel = NULL;
	const char *why;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	root = load_json(text, len, "config.json", err, errlen);
	if (!root)
		return -EINVAL;
	rootobj = json_object_get(root, "root");
	if (!json_is_object(rootobj)) {
		r = fb_errf(err, errlen, -EINVAL, "config.json: missing \"root\" object");
		goto out;
	}
	r = dup_string(rootobj, "path", true, &rel, "config.json: root", err, errlen);
	if (r < 0)
		goto out;
	ro = json_object_get(rootobj, "readonly");
	cfg->root_readonly = json_is_true(ro);
	if (rel[0] == '/') {
		cfg->root_path = TAKE_PTR(rel);
	} else {
		if (!bundle) {
			r = fb_errf(err, errlen, -EINVAL,
				    "config.json: relative root.path without a bundle");
			goto out;
		}
		if (asprintf(&cfg->root_path, "%s/%s", bundle, rel) < 0) {
			cfg->root_path = NULL;
			r = -ENOMEM;
			goto out;
		}
	}
	/* The runtime canonicalises the rootfs; we only refuse the unusable. */
	if (strlen(cfg->root_path) >= FB_PATH_MAX || strstr(cfg->root_path, "/../")) {
		why = "must be a plain path";
		r = fb_errf(err, errlen, -EINVAL, "config.json: root.path \"%s\" %s",
			    cfg->root_path, why);
		goto out;
	}
	linux_obj = json_object_get(root, "linux");
	if (json_is_object(linux_obj)) {
		r = dup_string(linux_obj, "cgroupsPath", false, &cfg->cgroups_path,
			       "config.json: linux", err, errlen);
		if (r < 0)
			goto out;
	}
	r = take_annotations(root, &cfg->annotations, "config.json", err, errlen);
out:
	json_decref(root);
	if (r < 0)
		fb_oci_config_free(cfg);
	return r;
}

int fb_oci_config_load(const char *bundle, struct fb_oci_config *cfg, char *err,
		       size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dirfd = -1;
	ssize_t n;

	dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fb_errf(err, errlen, -errno, "bundle %s: %s", bundle, strerror(errno));
	n = read_full_file(dirfd, "config.json", FB_OCI_CONFIG_MAX, &text);
	if (n == -EFBIG)
		return fb_errf(err, errlen, -EFBIG, "%s/config.json: larger than %d bytes", bundle,
			       FB_OCI_CONFIG_MAX);
	if (n < 0)
		return fb_errf(err, errlen, n, "%s/config.json: %s", bundle, strerror(-n));
	return fb_oci_config_parse(text, n, bundle, cfg, err, errlen);
}

void fb_oci_config_free(struct fb_oci_config *cfg)
{
	free(cfg->root_path);
	free(cfg->cgroups_path);
	json_decref(cfg->annotations);
	memset(cfg, 0, sizeof(*cfg));
}

const char *fb_annotation(const json_t *annotations, const char *key)
{
	json_t *v;

	if (!annotations)
		return NULL;
	v = json_object_get(annotations, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool fb_annotations_want_fusebox(const json_t *annotations)
{
	const char *key;
	json_t *v;

	if (!annotations)
		return false;
	json_object_foreach((json_t *)annotations, key, v)
		if (startswith(key, FB_ANNOTATION_PREFIX))
			return true;
	return false;
}
