// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection setup (FUSE_INIT) and the table of request handlers. What the
 * kernel is asked for follows from the layers being immutable: cache
 * everything, never invalidate on attribute changes, and let the kernel read
 * file data itself (passthrough) whenever it offers to.
 */
#include "fuseboxd.h"

#include <sys/capability.h>

#include "bpf/policy.h"

/*
 * Largest request/reply payload: 252 pages. A READ served by the daemon
 * (noopen, no passthrough) is spliced from the layer file through a pipe,
 * which libfuse sizes to the reply plus three pages; pipes are limited to
 * /proc/sys/fs/pipe-max-size (1 MiB) without CAP_SYS_RESOURCE, and with the
 * kernel's 256 pages every full-size READ fell back to pread into a buffer
 * and writev. 1 GiB cold through noopen: 3.2 s -> 2.4 s.
 */
#define FBX_MAX_IO (252u * 4096)
#define FBX_MAX_BACKGROUND 64

static bool have_cap_sys_admin(void)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

static bool any_layer_stacked(const struct fbx_fs *fs)
{
	unsigned int i;

	for (i = 0; i < fs->nlayers; i++)
		if (fs->layers[i].stacked)
			return true;
	return false;
}

static void setup_passthrough(struct fbx_fs *fs, struct fuse_conn_info *conn)
{
	const char *why = NULL;

	if (!fs->want_passthrough)
		why = "disabled by -o nopassthrough";
	else if (!(conn->capable_ext & FUSE_CAP_PASSTHROUGH))
		why = "not offered by the kernel";
	else if (!have_cap_sys_admin())
		why = "needs CAP_SYS_ADMIN";
	if (why) {
		fbx_debug(fs, "passthrough: off (%s)", why);
		return;
	}
	fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH);
	/* Backing files on overlayfs or FUSE need one more level of stacking,
	 * which then forbids stacking another such fs over this mount. */
	conn->max_backing_stack_depth =
	    any_layer_stacked(fs) ? FUSE_BACKING_STACKED_OVER : FUSE_BACKING_STACKED_UNDER;
	fs->passthrough = true;
	fbx_debug(fs, "passthrough: on (max_backing_stack_depth=%u)",
		  conn->max_backing_stack_depth);
}

static void fbx_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fbx_fs *fs = userdata;

	fuse_set_feature_flag(conn, FUSE_CAP_CACHE_SYMLINKS);
	fuse_set_feature_flag(conn, FUSE_CAP_PARALLEL_DIROPS);
	/* Never drop cached pages because attributes seem to have changed. */
	fuse_unset_feature_flag(conn, FUSE_CAP_AUTO_INVAL_DATA);
	fuse_set_feature_flag(conn, FUSE_CAP_EXPLICIT_INVAL_DATA);
	/* The kernel enforces and caches POSIX ACLs: `ls -l` then asks for
	 * system.posix_acl_access once per inode instead of every time. */
	fuse_set_feature_flag(conn, FUSE_CAP_POSIX_ACL);
	/* Fallback reads splice from the backing file into /dev/fuse. */
	fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_WRITE);
	/* libfuse already wants READDIRPLUS(_AUTO) since both handlers exist. */
	fuse_unset_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE);
	/* Clearing set-id bits after writes is ours (killpriv.c): the kernel then
	 * asks for security.capability once per inode, not at every write(). */
	if (fs->has_upper)
		fs->killpriv = fuse_set_feature_flag(conn, FUSE_CAP_HANDLE_KILLPRIV_V2);
	conn->max_write = FBX_MAX_IO;
	conn->max_background = FBX_MAX_BACKGROUND;
	/* Requests are short: nothing to interrupt, so no FUSE_INTERRUPT traffic. */
	conn->no_interrupt = 1;
	/* Directory opens need no judgement unless the policy can deny read:
	 * then the first OPENDIR is answered ENOSYS and the kernel opens
	 * directories itself from then on, keeping their listings cached
	 * across opens. READDIR needs no handle (dircache.c). */
	if ((conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) &&
	    !fbx_access_may_deny(fs, FB_RIGHT_READ)) {
		fs->noopendir = true;
		fuse_set_feature_flag(conn, FUSE_CAP_NO_OPENDIR_SUPPORT);
		fbx_debug(fs, "noopendir: on");
	}
	if (fs->want_noopen && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)) {
		/* The first OPEN answered ENOSYS turns OPEN and RELEASE off for
		 * the connection, and with them passthrough, set up in OPEN. */
		fs->noopen = true;
		fuse_set_feature_flag(conn, FUSE_CAP_NO_OPEN_SUPPORT);
		/* Without OPEN, O_TRUNC must come as a SETATTR. */
		fuse_unset_feature_flag(conn, FUSE_CAP_ATOMIC_O_TRUNC);
		fbx_debug(fs, "noopen: on; passthrough: off");
		return;
	}
	setup_passthrough(fs, conn);
}

void fbx_ops_fill(struct fuse_lowlevel_ops *ops)
{
	*ops = (struct fuse_lowlevel_ops){
	    .init = fbx_op_init,
	    .lookup = fbx_op_lookup,
	    .forget = fbx_op_forget,
	    .forget_multi = fbx_op_forget_multi,
	    .getattr = fbx_op_getattr,
	    .readlink = fbx_op_readlink,
	    .access = fbx_op_access,
	    .statfs = fbx_op_statfs,
	    .open = fbx_op_open,
	    .read = fbx_op_read,
	    .release = fbx_op_release,
	    .opendir = fbx_op_opendir,
	    .readdir = fbx_op_readdir,
	    .readdirplus = fbx_op_readdirplus,
	    .releasedir = fbx_op_releasedir,
	    .getxattr = fbx_op_getxattr,
	    .listxattr = fbx_op_listxattr,
	};
	fbx_ops_write_fill(ops);
	fbx_ops_data_fill(ops);
}
