// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuseboxd entry point: options, layers, FUSE session, mount (or adopt a
 * /dev/fd/N connection mounted by the OCI hook), daemonize, tell the hook we
 * are ready, serve until the connection ends or a signal arrives.
 *
 * Exit status: 0 when the connection ends (unmount, container mount
 * namespace gone) or on SIGTERM/SIGINT/SIGHUP; 1 when setup or serving
 * fails; 2 for a bad command line. Nothing stays mounted on failure.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <syslog.h>

static bool is_fd_mountpoint(const char *m)
{
	return startswith(m, "/dev/fd/");
}

/* The daemon's fds are transient, but allow what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int check_ready_fd(int fd)
{
	int flags;

	if (fd < 0)
		return 0;
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		fbx_err("--ready-fd=%d: %s", fd, strerror(errno));
		return -EBADF;
	}
	return 0;
}

static int resolve_mountpoint(const char *m, char **out)
{
	struct stat st;
	char *p;

	if (is_fd_mountpoint(m)) {
		p = strdup(m);
		if (!p)
			return -ENOMEM;
		*out = p;
		return 0;
	}
	/* Absolute: the daemon changes to / before unmounting at exit. */
	p = realpath(m, NULL);
	if (!p) {
		fbx_err("mountpoint %s: %s", m, strerror(errno));
		return -errno;
	}
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fbx_err("mountpoint %s: not a directory", m);
		free(p);
		return -ENOTDIR;
	}
	*out = p;
	return 0;
}

static int fs_init(struct fbx_fs *fs, const struct fbx_options *o)
{
	size_t failed = 0, i;
	int r;

	_cleanup_free_ char **paths = NULL;
	size_t n = o->nlower + (o->upperdir ? 1 : 0);

	*fs = (struct fbx_fs){.want_passthrough = o->passthrough, .want_noopen = o->noopen,
			      .debug = o->debug,
			      .nosync = o->nosync, .work_fd = -1, .work_lock_fd = -1};
	for (i = 0; i < FBX_OPEN_LOCKS; i++)
		pthread_mutex_init(&fs->open_locks[i], NULL);
	pthread_mutex_init(&fs->ns_lock, NULL);
	pthread_rwlock_init(&fs->tree_lock, NULL);
	/* The upper layer, when there is one, is layer 0. */
	paths = calloc(n, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	if (o->upperdir)
		paths[0] = o->upperdir;
	for (i = 0; i < o->nlower; i++)
		paths[n - o->nlower + i] = o->lowerdirs[i];
	r = fbx_layers_open(paths, n, &fs->layers, &failed);
	if (r < 0) {
		fbx_err("%s %s: %s", o->upperdir && failed == 0 ? "upperdir" : "lowerdir",
			paths[failed], strerror(-r));
		return r;
	}
	fs->nlayers = (unsigned int)n;
	if (o->upperdir) {
		r = fbx_upper_init(fs, o->workdir);
		if (r < 0)
			return r;
	}
	if (o->policy) {
		r = fbx_access_load(fs, o->policy, o->policy_root, o->audit_log);
		if (r < 0)
			return r;
	}
	r = fbx_dircache_init(fs);
	if (r == 0)
		r = fbx_prefetch_init(fs, o->prefetch);
	if (r == 0)
		r = fbx_itable_init(&fs->itable);
	if (r == 0)
		r = fbx_root_create(fs);
	if (r < 0)
		fbx_err("setting up the inode table: %s", strerror(-r));
	return r;
}

static void fs_fini(struct fbx_fs *fs)
{
	size_t i;

	fbx_prefetch_free(fs);
	fbx_itable_destroy(&fs->itable);
	fbx_dircache_free(fs);
	fbx_upper_fini(fs);
	fbx_hardlinks_free(fs);
	fbx_access_free(fs->access);
	fbx_layers_close(fs->layers, fs->nlayers);
	pthread_mutex_destroy(&fs->ns_lock);
	pthread_rwlock_destroy(&fs->tree_lock);
	for (i = 0; i < FBX_OPEN_LOCKS; i++)
		pthread_mutex_destroy(&fs->open_locks[i]);
}

/*
 * Single-threaded by default: on the 2-vCPU machines measured, it served
 * warm and cold file reads as fast as or faster than the multi-threaded
 * loop, which adds a thread hand-off per request.
 */
static int serve(struct fuse_session *se, unsigned int threads, unsigned int spin_us)
{
	struct fuse_loop_config *cfg;
	int r;

	if (threads <= 1)
		return spin_us ? fbx_serve_spinning(se, spin_us) : fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	/* One /dev/fuse fd per worker: no contention on a shared read queue. */
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, threads);
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

static int signal_ready(int fd)
{
	int r;

	if (fd < 0)
		return 0;
	r = write_full(fd, "ready\n", 6);
	close(fd);
	return r;
}

static int run(const struct fbx_options *o)
{
	_cleanup_free_ char *mountpoint = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_lowlevel_ops ops;
	struct fuse_session *se = NULL;
	struct fbx_fs fs;
	bool mounted = false;
	int r, ret = 1;

	raise_nofile();
	/* Modes of new files come from the kernel with the caller's umask applied. */
	umask(0);
	if (check_ready_fd(o->ready_fd) < 0)
		return 2;
	if (resolve_mountpoint(o->mountpoint, &mountpoint) < 0)
		return 1;
	if (fs_init(&fs, o) < 0)
		goto out;

	if (fuse_opt_add_arg(&args, "fuseboxd") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, o->fuse_opts) || (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		fbx_err("out of memory");
		goto out;
	}
	fbx_ops_fill(&ops);
	se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
	if (!se) {
		fbx_err("cannot create the FUSE session (options: %s)", o->fuse_opts);
		goto out;
	}
	fs.se = se;
	if (fuse_set_signal_handlers(se) < 0) {
		fbx_err("cannot install signal handlers");
		goto out;
	}
	if (fuse_session_mount(se, mountpoint) < 0) {
		fbx_err("cannot mount on %s", mountpoint);
		goto out;
	}
	mounted = true;
	/* Without -f the parent returns once the mount is in place. */
	if (fuse_daemonize(o->foreground) < 0) {
		fbx_err("cannot daemonize");
		goto out;
	}
	if (!o->foreground)
		fuse_log_enable_syslog("fuseboxd", LOG_PID, LOG_DAEMON);
	if (signal_ready(o->ready_fd) < 0)
		fbx_err("--ready-fd=%d: cannot write: %s", o->ready_fd, strerror(errno));

	r = serve(se, o->threads, o->spin_us);
	/* The connection ended (0) or a signal asked us to stop. */
	if (r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP)
		ret = 0;
	else
		fbx_err("serving %s: %s", o->mountpoint, r < 0 ? strerror(-r) : "stopped");
out:
	if (se) {
		fuse_remove_signal_handlers(se);
		/* Unmounts only what fuse_session_mount() mounted itself. */
		if (mounted)
			fuse_session_unmount(se);
		fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	if (fs.layers)
		fs_fini(&fs);
	return ret;
}

int main(int argc, char **argv)
{
	struct fbx_options o;
	int r, ret;

	r = fbx_options_parse(argc, argv, &o);
	if (r != 0) {
		if (r == -ENOMEM)
			fbx_err("out of memory");
		fbx_options_free(&o);
		return r > 0 ? 0 : r == -ENOMEM ? 1 : 2;
	}
	ret = run(&o);
	fbx_options_free(&o);
	return ret;
}
