/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fusebox.io/programs annotation: a JSON list of names of the operator's
 * BPF programs, program_dir/NAME.bpf.o. Untrusted: names only, never paths.
 */
#ifndef FUSEBOX_PROGRAMS_H
#define FUSEBOX_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>

#define FB_PROGRAMS_ANNOTATION "fusebox.io/programs"
#define FB_PROGRAMS_MAX 8		/* names in fusebox.io/programs */
#define FB_PROGRAM_NAME_MAX 64
#define FB_PROGRAMS_JSON_MAX 4096	/* bytes of the annotation */

struct fb_programs {
	char *names[FB_PROGRAMS_MAX];
	size_t n;
};

/* 1-64 of [A-Za-z0-9_-], not starting with '-': no '/', no '.', no "..". */
bool fb_program_name_valid(const char *name);

/*
 * Parse the annotation: a list of 0..FB_PROGRAMS_MAX distinct valid names.
 * On error one line "fusebox.io/programs: ..." in err, -EINVAL (or -ENOMEM).
 */
int fb_programs_parse(const char *json, struct fb_programs *out, char *err, size_t errlen);

void fb_programs_free(struct fb_programs *p);

#endif
