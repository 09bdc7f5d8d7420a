// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mounting in the container's mount namespace. The hook runs in the host
 * namespaces (createRuntime/prestart) before pivot_root: a mount made there on
 * <rootfs>/x would not be seen by the container, so a short-lived child enters
 * the container's mount namespace and mounts from inside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hook.h"
#include "util.h"

/* Resolve rel beneath rootfd as if rootfd were "/", creating missing dirs. */
static int open_or_create_dir(int rootfd, const char *rel, int *out, const char **why)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char prefix[4096];
	const char *p = rel;
	int fd;

	fd = fb_openat2(rootfd, rel, &how);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	if (fd != -ENOENT) {
		*why = fd == -ENOTDIR ? "exists in the image and is not a directory"
				      : "cannot be resolved in the rootfs";
		return fd;
	}
	/* Walk down, creating each missing component inside the resolved parent. */
	for (;;) {
		const char *slash = strchrnul(p, '/');
		size_t plen = slash - rel;
		_cleanup_close_ int parent = -1;
		const char *name;

		memcpy(prefix, rel, plen);
		prefix[plen] = '\0';
		fd = fb_openat2(rootfd, prefix, &how);
		if (fd == -ENOENT) {
			name = strrchr(prefix, '/');
			if (name) {
				prefix[name - prefix] = '\0';
				name++;
				parent = fb_openat2(rootfd, prefix, &how);
			} else {
				name = prefix;
				parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
			}
			if (parent < 0) {
				*why = "cannot be resolved in the rootfs";
				return parent;
			}
			/* O_PATH fds can't be mkdirat'ed into: reopen the parent for it. */
			_cleanup_close_ int pdir =
				openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pdir < 0 || (mkdirat(pdir, name, 0755) < 0 && errno != EEXIST)) {
				*why = "cannot be created in the rootfs";
				return -errno;
			}
			struct stat st;

			/* EEXIST of an entry that does not resolve: a dangling symlink. */
			if (fstatat(pdir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode) && fb_openat2(pdir, name, &how) == -ENOENT) {
				*why = "goes through a dangling symlink in the image";
				return -ENOENT;
			}
			memcpy(prefix, rel, plen);
			prefix[plen] = '\0';
			fd = fb_openat2(rootfd, prefix, &how);
		}
		if (fd < 0) {
			*why = fd == -ENOTDIR ? "exists in the image and is not a directory"
					      : "cannot be resolved in the rootfs";
			return fd;
		}
		if (!*slash) {
			*out = fd;
			return 0;
		}
		close(fd);
		p = slash + 1;
	}
}

/* Run fn in a child inside the mount namespace of pidfd; its message comes back. */
static int in_mount_ns(int pidfd, int (*fn)(void *arg, char *msg, size_t len), void *arg,
		       char *err, size_t errlen)
{
	char msg[512] = "";
	int pipefd[2], status;
	pid_t child;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (child == 0) {
		int r;

		close(pipefd[0]);
		if (setns(pidfd, CLONE_NEWNS) < 0) {
			r = -errno;
			snprintf(msg, sizeof(msg), "entering the container's mount namespace: %s",
				 strerror(errno));
		} else {
			r = fn(arg, msg, sizeof(msg));
		}
		if (r < 0)
			write_full(pipefd[1], msg, strlen(msg));
		_exit(r < 0 ? (-r & 0xff) : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	msg[n > 0 ? n : 0] = '\0';
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return fb_errf(err, errlen, WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO, "%s",
		       msg[0] ? msg : "mount helper died");
}

struct mount_args {
	const char *rootfs, *target;
	int fusefd;
	bool ro;
};

static int do_mount(void *arg, char *msg, size_t len)
{
	struct mount_args *a = arg;
	_cleanup_close_ int rootfd = -1, tfd = -1;
	char data[128], where[64];
	const char *why = "";
	int r;

	rootfd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fb_errf(msg, len, -errno, "rootfs %s: %s", a->rootfs, strerror(errno));
	r = open_or_create_dir(rootfd, a->target + 1, &tfd, &why);
	if (r < 0)
		return fb_errf(msg, len, r, "target %s %s: %s", a->target, why, strerror(-r));
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions",
		 a->fusefd);
	snprintf(where, sizeof(where), "/proc/self/fd/%d", tfd);
	if (mount("fusebox", where, "fuse.fusebox",
		  MS_NOSUID | MS_NODEV | (a->ro ? MS_RDONLY : 0), data) < 0)
		return fb_errf(msg, len, -errno, "mounting FUSE on %s: %s", a->target,
			       strerror(errno));
	return 0;
}

int fb_ns_mount_fuse(int pidfd, const char *rootfs, const char *target, int fusefd, bool ro,
		     char *err, size_t errlen)
{
	struct mount_args a = { rootfs, target, fusefd, ro };

	return in_mount_ns(pidfd, do_mount, &a, err, errlen);
}

static int do_umount(void *arg, char *msg, size_t len)
{
	struct mount_args *a = arg;
	char path[4200];

	snprintf(path, sizeof(path), "%s%s", a->rootfs, a->target);
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
	    errno != ENOENT)
		return fb_errf(msg, len, -errno, "unmounting %s: %s", a->target, strerror(errno));
	return 0;
}

int fb_ns_umount(int pidfd, const char *rootfs, const char *target)
{
	struct mount_args a = { rootfs, target, -1, false };

	return in_mount_ns(pidfd, do_umount, &a, NULL, 0);
}
