// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who sent a request, beyond the uid/gid libfuse hands us: supplementary
 * groups and CAP_FSETID. Both are read from /proc/<tid> of the calling
 * thread, which is blocked waiting for our reply and so cannot go away
 * unnoticed (a thread killed meanwhile leaves a pid that reads as "no").
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>

bool fbx_caller_in_group(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[64];
	int n, i;

	if (ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, ARRAY_SIZE(groups), groups);
	for (i = 0; i < n && i < (int)ARRAY_SIZE(groups); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static bool same_user_ns(pid_t pid)
{
	char path[64];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return stat("/proc/self/ns/user", &mine) == 0 && stat(path, &theirs) == 0 &&
	       mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

/*
 * Does the caller hold CAP_FSETID as the kernel's capable() counts it: in its
 * effective set, in the daemon's (the initial) user namespace? Anything we
 * cannot read counts as no: set-id bits are then cleared where a privileged
 * caller would have kept them, never kept where they must go.
 */
bool fbx_caller_has_fsetid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[256];
	uint64_t eff;

	if (ctx->pid <= 0 || !same_user_ns(ctx->pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1)
			return eff & (UINT64_C(1) << CAP_FSETID);
	return false;
}
