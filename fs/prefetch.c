// SPDX-License-Identifier: GPL-2.0-only
/*
 * Directory prefetch for cold reads of many small files. When the daemon
 * opens a second file of a lower-layer directory (an open the kernel had to
 * ask for, of a file it holds no backing id of: a cold start), a helper
 * thread walks that directory in the layer and starts readahead of its
 * small regular files: their inodes are read and their data requested from
 * the device while the caller still waits on round trips for the first ones,
 * instead of one file after the other as each is opened. Warm opens reuse
 * kept backing ids and never start it; stat walks open nothing. Where the
 * page cache already holds the files (a new mount over a warm layer), the
 * helper stops after FBX_PREFETCH_RESIDENT resident files in a row.
 *
 * Bounded: each directory node starts it once, at most --prefetch files of
 * at most FBX_PREFETCH_FILE_MAX bytes each, a few directories queued (more
 * are dropped). Only lower layers, which nobody writes: it warms the page
 * cache and changes nothing. The helper holds no node, only its own
 * O_PATH fd of the directory, so a FORGET never waits for it.
 *
 * The same helper looks ahead for cold directory walks (find, du, tar, a
 * scan of site-packages). A walk's time goes to the round trips and to the
 * device's reads of each directory and its entries' inodes, one after the
 * other. Once READDIRPLUS has started in two subdirectories of one lower
 * directory in their listing order, the helper looks up the entries of the
 * next WALK_AHEAD subdirectories (at most WALK_MAX_ENTRIES each) in the
 * layer, so the device reads them while the walk is still busy with this
 * one and its LOOKUPs then find them cached. A single listing (ls) never
 * starts it; a walk that goes back starts a new pass.
 */
#include "fuseboxd.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define PREFETCH_QUEUE 8
#define WALK_AHEAD 8
#define WALK_MAX_ENTRIES 4096
#define WALK_PARENTS 4

/* A directory whose subdirectories a walk enters one after another. */
struct walk_parent {
	dev_t dev;
	ino_t ino;
	unsigned int entered; /* subdirectories entered in order, this pass */
	size_t last;	      /* the index (getdents order) of the last one */
	size_t frontier;      /* entries before it were looked ahead in */
};

struct prefetch_item {
	int fd;	   /* O_PATH directory */
	char *sub; /* NULL: read ahead fd's files; else: a walk entered fd/sub */
};

struct fbx_prefetch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;
	unsigned int max_files;
	struct prefetch_item queue[PREFETCH_QUEUE]; /* FIFO */
	unsigned int head, count;
	struct walk_parent walks[WALK_PARENTS]; /* most recent first (helper only) */
};

/* A directory's entries in getdents order, read a buffer at a time. */
struct dir_iter {
	int fd;
	ssize_t n, off;
	size_t count; /* entries returned so far */
	char buf[16384];
};

/* The next entry, or NULL at the end (or on an error). */
static const struct dirent64 *dir_next(struct dir_iter *it)
{
	const struct dirent64 *de;

	if (it->off >= it->n) {
		it->n = getdents64(it->fd, it->buf, sizeof(it->buf));
		it->off = 0;
		if (it->n <= 0)
			return NULL;
	}
	de = (const struct dirent64 *)(it->buf + it->off);
	it->off += de->d_reclen;
	it->count++;
	return de;
}

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/*
 * Start readahead of one small regular file. 1 when its first page was
 * already in the page cache, 0 when not (readahead started), -1 if skipped.
 */
static int prefetch_file(int dfd, const char *name)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	char c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	int fd, r = -1;

	fd = openat(dfd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, flags);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= FBX_PREFETCH_FILE_MAX) {
		/* A read that must not wait for the device succeeds only from
		 * the page cache. */
		r = preadv2(fd, &iov, 1, 0, RWF_NOWAIT) == 1;
		if (!r)
			(void)posix_fadvise(fd, 0, st.st_size, POSIX_FADV_WILLNEED);
	}
	close(fd);
	return r;
}

/*
 * Readahead of up to max small regular files of the directory at pfd,
 * given up once FBX_PREFETCH_RESIDENT of them in a row were cached already.
 */
static void prefetch_dir(int pfd, unsigned int max)
{
	_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dir_iter it = {.fd = dfd};
	unsigned int done = 0, resident = 0;
	const struct dirent64 *de;

	if (dfd < 0)
		return;
	while (done < max && resident < FBX_PREFETCH_RESIDENT && (de = dir_next(&it))) {
		int r;

		/* Only what the directory says is a regular file: no device or
		 * fifo is ever opened. */
		if (de->d_type != DT_REG)
			continue;
		r = prefetch_file(dfd, de->d_name);
		if (r >= 0) {
			resident = r ? resident + 1 : 0;
			done++;
		}
	}
}

/*
 * Look up the entries of directory name in pfd, so that the walk finds them
 * cached in the layer's file system. Looks only: nothing is opened but the
 * directory itself, beneath pfd as every path of a layer (no mount crossed).
 */
static void stat_ahead(int pfd, const char *name)
{
	_cleanup_close_ int dfd = fbx_openat_beneath(pfd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	struct dir_iter it = {.fd = dfd};
	const struct dirent64 *de;
	struct stat st;

	if (dfd < 0)
		return;
	while (it.count < WALK_MAX_ENTRIES && (de = dir_next(&it)))
		if (!is_dot(de->d_name))
			(void)fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW);
}

/* The record of parent (dev, ino), made the most recent; a new one replaces the oldest. */
static struct walk_parent *walk_parent(struct fbx_prefetch *p, const struct stat *st)
{
	struct walk_parent w = {.dev = st->st_dev, .ino = st->st_ino};
	size_t i;

	for (i = 0; i < WALK_PARENTS - 1; i++)
		if (p->walks[i].dev == w.dev && p->walks[i].ino == w.ino)
			break;
	if (p->walks[i].dev == w.dev && p->walks[i].ino == w.ino)
		w = p->walks[i];
	memmove(&p->walks[1], &p->walks[0], i * sizeof(p->walks[0]));
	p->walks[0] = w;
	return &p->walks[0];
}

/*
 * A READDIRPLUS started in sub of the directory at pfd. Once a second
 * subdirectory of it is entered, a walk is going through them in order:
 * look up the entries of the next WALK_AHEAD directories after sub, where it
 * goes next, while it is busy with sub.
 */
static void walk_ahead(struct fbx_prefetch *p, int pfd, const char *sub)
{
	_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dir_iter it = {.fd = dfd};
	const struct dirent64 *de;
	struct walk_parent *w;
	size_t dirs = 0;
	struct stat st;

	if (dfd < 0 || fstat(dfd, &st) < 0)
		return;
	w = walk_parent(p, &st);
	while ((de = dir_next(&it)) && strcmp(de->d_name, sub))
		;
	if (!de)
		return;
	/* Not after the last one entered: a new pass (or no walk at all). */
	if (w->entered == 0 || it.count - 1 <= w->last) {
		w->entered = 0;
		w->frontier = 0;
	}
	w->entered++;
	w->last = it.count - 1;
	if (w->entered < 2)
		return;
	while (dirs < WALK_AHEAD && (de = dir_next(&it))) {
		if (de->d_type != DT_DIR || is_dot(de->d_name))
			continue;
		dirs++;
		if (it.count - 1 < w->frontier)
			continue;
		stat_ahead(dfd, de->d_name);
		w->frontier = it.count;
	}
}

static void *prefetch_main(void *arg)
{
	struct fbx_prefetch *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct prefetch_item it;

		while (!p->stop && p->count == 0)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		it = p->queue[p->head];
		p->head = (p->head + 1) % PREFETCH_QUEUE;
		p->count--;
		pthread_mutex_unlock(&p->lock);
		if (it.sub)
			walk_ahead(p, it.fd, it.sub);
		else
			prefetch_dir(it.fd, p->max_files);
		close(it.fd);
		free(it.sub);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int fbx_prefetch_init(struct fbx_fs *fs, unsigned int max_files)
{
	struct fbx_prefetch *p;

	if (max_files == 0)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->max_files = max_files;
	fs->prefetch = p;
	return 0;
}

void fbx_prefetch_free(struct fbx_fs *fs)
{
	struct fbx_prefetch *p = fs->prefetch;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started)
		pthread_join(p->thread, NULL);
	while (p->count > 0) {
		close(p->queue[p->head].fd);
		free(p->queue[p->head].sub);
		p->head = (p->head + 1) % PREFETCH_QUEUE;
		p->count--;
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	fs->prefetch = NULL;
}

static int start_thread(struct fbx_prefetch *p)
{
	sigset_t all, old;
	int r;

	/* Signals stay with the request loop, which ends on them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&p->thread, NULL, prefetch_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/* Hand the directory at fd (O_PATH) and sub (both taken over) to the helper. */
static void queue_dir(struct fbx_prefetch *p, int fd, char *sub)
{
	if (fd < 0) {
		free(sub);
		return;
	}
	pthread_mutex_lock(&p->lock);
	/* Started here, not at start-up: fuse_daemonize() forks after that. */
	if (!p->started && !p->stop)
		p->started = start_thread(p) == 0;
	if (p->started && !p->stop && p->count < PREFETCH_QUEUE) {
		p->queue[(p->head + p->count) % PREFETCH_QUEUE] =
		    (struct prefetch_item){.fd = fd, .sub = sub};
		p->count++;
		fd = -1;
		sub = NULL;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (fd >= 0)
		close(fd);
	free(sub);
}

/*
 * The daemon opened the backing file of n (no kept backing id: the first
 * open of it since the kernel looked it up), or read it from its start
 * without OPEN. The second such file of a lower-layer directory node queues
 * that directory for the helper. Called after the reply.
 */
void fbx_prefetch_opened(struct fbx_fs *fs, struct fbx_node *n)
{
	struct fbx_node *dir;
	int fd = -1;

	if (!fs->prefetch || !S_ISREG(n->type) || (fs->has_upper && n->layer == 0))
		return;
	if (fs->has_upper)
		pthread_rwlock_rdlock(&fs->tree_lock);
	dir = n->parent;
	if (dir && __atomic_load_n(&dir->prefetch_hits, __ATOMIC_RELAXED) < 2 &&
	    __atomic_add_fetch(&dir->prefetch_hits, 1, __ATOMIC_RELAXED) == 2)
		fd = fbx_node_open_locked(fs, dir, n->layer, O_PATH | O_DIRECTORY);
	if (fs->has_upper)
		pthread_rwlock_unlock(&fs->tree_lock);
	queue_dir(fs->prefetch, fd, NULL);
}

/* READDIRPLUS from the start of lower directory dir: a walk may be entering it. */
void fbx_prefetch_walked(struct fbx_fs *fs, struct fbx_node *dir)
{
	char *sub = NULL;
	int fd = -1;

	if (!fs->prefetch || (fs->has_upper && dir->layer == 0))
		return;
	if (fs->has_upper)
		pthread_rwlock_rdlock(&fs->tree_lock);
	if (dir->parent && (sub = strdup(dir->name)))
		fd = fbx_node_open_locked(fs, dir->parent, dir->layer, O_PATH | O_DIRECTORY);
	if (fs->has_upper)
		pthread_rwlock_unlock(&fs->tree_lock);
	queue_dir(fs->prefetch, fd, sub);
}
