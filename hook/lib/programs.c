// SPDX-License-Identifier: GPL-2.0-only
/* Parsing the fusebox.io/programs annotation. See programs.h. */
#include <errno.h>
#include <jansson.h>

#include "programs.h"
#include "util.h"

bool fb_program_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FB_PROGRAM_NAME_MAX || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

#define EXPECTED "(expected a JSON list of up to 8 names, each 1-64 of A-Z a-z 0-9 _ -, naming " \
		 "program_dir/NAME.bpf.o)"

int fb_programs_parse(const char *json, struct fb_programs *out, char *err, size_t errlen)
{
	struct fb_programs p = { 0 };
	json_error_t jerr;
	json_t *root, *v;
	size_t i, len = strlen(json);
	int r = 0;

	if (len > FB_PROGRAMS_JSON_MAX)
		return fb_errf(err, errlen, -EINVAL,
			       FB_PROGRAMS_ANNOTATION ": larger than %d bytes " EXPECTED,
			       FB_PROGRAMS_JSON_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return fb_errf(err, errlen, -EINVAL,
			       FB_PROGRAMS_ANNOTATION ": invalid JSON at line %d: %s " EXPECTED,
			       jerr.line, jerr.text);
	if (!json_is_array(root)) {
		r = fb_errf(err, errlen, -EINVAL, FB_PROGRAMS_ANNOTATION ": not a list " EXPECTED);
		goto out;
	}
	if (json_array_size(root) > FB_PROGRAMS_MAX) {
		r = fb_errf(err, errlen, -EINVAL,
			    FB_PROGRAMS_ANNOTATION ": %zu names " EXPECTED, json_array_size(root));
		goto out;
	}
	json_array_foreach(root, i, v) {
		const char *name = json_string_value(v);

		if (!name) {
			r = fb_errf(err, errlen, -EINVAL,
				    FB_PROGRAMS_ANNOTATION ": [%zu] is not a string " EXPECTED, i);
			goto out;
		}
		if (!fb_program_name_valid(name)) {
			/* Never echo a long or odd name back in full. */
			r = fb_errf(err, errlen, -EINVAL,
				    FB_PROGRAMS_ANNOTATION ": [%zu] \"%.64s\" is not a program name "
							   "(names, not paths: no '/', '.' or '..') "
				    EXPECTED,
				    i, name);
			goto out;
		}
		for (size_t k = 0; k < p.n; k++)
			if (streq(p.names[k], name)) {
				r = fb_errf(err, errlen, -EINVAL,
					    FB_PROGRAMS_ANNOTATION ": [%zu] \"%s\" is named twice", i,
					    name);
				goto out;
			}
		p.names[p.n] = strdup(name);
		if (!p.names[p.n]) {
			r = -ENOMEM;
			goto out;
		}
		p.n++;
	}
	*out = p;
	p.n = 0;
out:
	fb_programs_free(&p);
	json_decref(root);
	return r;
}

void fb_programs_free(struct fb_programs *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	p->n = 0;
}
