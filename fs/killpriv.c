// SPDX-License-Identifier: GPL-2.0-only
/*
 * Set-id bits after a change to a file's data, with FUSE_CAP_HANDLE_KILLPRIV_V2.
 * With it the kernel checks an inode for security.capability once (a GETXATTR
 * on its first write) instead of on every write(), and leaves clearing set-id
 * bits to us. It tells us when, in three ways:
 *  - truncate: SETATTR(size) with FATTR_KILL_SUIDGID when the caller lacks
 *    CAP_FSETID (libfuse 3.17 passes it on as FUSE_SET_ATTR_KILL_SUID);
 *  - write, fallocate, copy_file_range, served by us or passed through: before
 *    the change, the kernel's file_remove_privs() sends a SETATTR with nothing
 *    to set when this caller's change must clear something. With passthrough
 *    that is the only word we get; libfuse shows neither FUSE_WRITE_KILL_SUIDGID
 *    nor the next one;
 *  - open with O_TRUNC (FUSE_OPEN_KILL_SUIDGID): we ask /proc about the caller.
 * What is cleared follows the kernel's rules for native files: after a change
 * of data by a caller without CAP_FSETID, setuid, and setgid when the file is
 * group-executable or the caller is not in its group. chown clears them in the
 * upper file system. security.capability is dropped by the kernel (a
 * REMOVEXATTR before the SETATTR) or by the upper file system (our ftruncate
 * and chown). chown(f, -1, -1) reaches us as the same empty SETATTR as a
 * write. From a caller without CAP_FSETID both clear the same bits. A caller
 * with it sends one for a write only when the file has a capability, right
 * after the kernel's REMOVEXATTR of it (which we remember by caller), so an
 * empty SETATTR without that is chown(f, -1, -1), which clears setuid
 * whatever the caller may and setgid of a group-executable file, as native
 * chown does. One case is left as a write: chown(f, -1, -1) by a caller
 * with CAP_FSETID of a file with a capability sends the very same requests
 * as that caller's write, and keeps set-id bits that native chown clears.
 */
#include "fuseboxd.h"

/*
 * After a change to regular file fd by the caller, for the reason given,
 * clear the set-id bits it must not leave. 1 when bits were cleared, 0 when
 * none had to be, or -errno.
 */
int fbx_kill_setid(fuse_req_t req, int fd, enum fbx_kill_why why)
{
	struct stat st;
	mode_t mode;
	char p[32];

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
		return 0;
	mode = st.st_mode & 07777 & ~S_ISUID;
	if (why != FBX_KILL_TRUNCATE && fbx_caller_has_fsetid(req)) {
		if (why == FBX_KILL_DATA)
			return 0;
		/* chown(f, -1, -1): setgid goes only from a group-executable file. */
		if (mode & S_IXGRP)
			mode &= ~S_ISGID;
	} else if ((mode & S_ISGID) && ((mode & S_IXGRP) || !fbx_caller_in_group(req, st.st_gid))) {
		mode &= ~S_ISGID;
	}
	if (mode == (st.st_mode & 07777))
		return 0;
	/* The fd may be O_PATH, which fchmod() refuses. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return chmod(p, mode) < 0 ? -errno : 1;
}
