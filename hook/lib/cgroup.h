/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cgroup2 directory of a container: where the cgroup2 hierarchy is
 * mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts), the
 * container init's "0::" path in it, its id (what bpf_get_current_cgroup_id()
 * returns) and its level (components below the root).
 */
#ifndef FUSEBOX_CGROUP_H
#define FUSEBOX_CGROUP_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#define FB_CGROUP_FILE_MAX (64 * 1024) /* /proc/PID/cgroup, bytes */

struct fb_cgroup {
	char *dir;	/* absolute host path of the directory */
	__u64 id;	/* cgroup2 id */
	unsigned level; /* 0: the root */
};

/*
 * The path after "0::" in the text of /proc/PID/cgroup, into a new string.
 * -ENOENT when there is no such line (not in a cgroup2 hierarchy), -EINVAL
 * when the path is not absolute or has "." or ".." components.
 */
int fb_cgroup_parse_proc(const char *text, char **path);

/*
 * The mount point of the cgroup2 hierarchy in the text of a mountinfo file
 * (the first one listed), into a new string; -ENOENT when none is mounted.
 * Octal escapes (\040) are decoded.
 */
int fb_cgroup_parse_mountinfo(const char *text, char **mnt);

/* Components of an absolute cgroup path: "/" is 0, "/a/b" is 2. */
unsigned fb_cgroup_level(const char *path);

/*
 * Find the cgroup2 directory of pid: open it (O_DIRECTORY, into *dirfd) and
 * fill out. One line in err on failure.
 */
int fb_cgroup_of_pid(pid_t pid, struct fb_cgroup *out, int *dirfd, char *err, size_t errlen);

void fb_cgroup_free(struct fb_cgroup *cg);

#endif
