// SPDX-License-Identifier: GPL-2.0-only
/*
 * Merged directory listings shared by every reader of a directory. The
 * kernel reads a directory in several READDIR(PLUS) requests, and without
 * OPENDIR (ops_dir.c) they carry no handle to keep a listing in, so the
 * listing (dirlist.c) of each directory read lately is kept here as a
 * snapshot: built once, never changed, freed when its last user lets go.
 *
 * An offset handed to the kernel is (tag << 32) | the number of entries
 * before it; the tag names the snapshot. A change in the directory (every
 * namespace operation, copy-up) makes its snapshots stale: a read from
 * offset 0 gets a new one, while a reader continuing at an offset of a stale
 * snapshot goes on reading that one. It thus sees every entry that was not
 * changed exactly once; POSIX leaves open whether it sees the entries added
 * or removed after it started.
 *
 * Bounded: at most DC_MAX_LISTINGS snapshots and DC_MAX_BYTES, the least
 * recently used go first. A single listing larger than that stays until the
 * next one is cached, so a reader of a huge directory is not served by
 * building its listing again for every request. A reader continuing at an
 * offset whose snapshot is gone reads the current listing from the same
 * position: exact when the directory did not change since (the layers are
 * read in the same order), best effort when it did.
 *
 * dc->lock is a leaf: taken after itable.lock (release_locked frees the
 * snapshots of a forgotten directory), never held while building.
 */
#include "fuseboxd.h"

#define DC_MAX_LISTINGS 256
#define DC_MAX_BYTES (8u << 20)
#define DC_BUCKET_BITS 9
#define DC_BUCKETS (1u << DC_BUCKET_BITS)
/* Offsets stay positive (lseek refuses negative ones): 31 bits of tag. */
#define TAG_MASK 0x7fffffffu
#define POS_MASK 0xffffffffu

struct fbx_dirsnap {
	struct fbx_dirlist *l;
	fuse_ino_t id;	 /* the directory's node */
	uint32_t tag;	 /* in the high bits of its offsets */
	size_t bytes;	 /* counted against DC_MAX_BYTES */
	unsigned int refs; /* the cache's own while cached, plus one per reader */
	bool stale;	 /* the directory changed since: only continued reads use it */
	struct fbx_dirsnap *hnext;
	struct fbx_dirsnap *prev, *next; /* LRU list, most recently used first */
};

struct fbx_dircache {
	pthread_mutex_t lock;
	struct fbx_dirsnap *bucket[DC_BUCKETS];
	struct fbx_dirsnap lru; /* sentinel of the LRU list */
	size_t count;
	size_t bytes;
	uint32_t next_tag;
};

/* Fibonacci hashing: the top bits of the product. */
static size_t bucket_of(fuse_ino_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> (64 - DC_BUCKET_BITS));
}

int fbx_dircache_init(struct fbx_fs *fs)
{
	struct fbx_dircache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return -ENOMEM;
	pthread_mutex_init(&dc->lock, NULL);
	dc->lru.prev = dc->lru.next = &dc->lru;
	fs->dircache = dc;
	return 0;
}

static void snap_put_locked(struct fbx_dirsnap *s)
{
	if (--s->refs)
		return;
	fbx_dirlist_free(s->l);
	free(s);
}

/* Take s out of the cache; readers holding it keep it until they put it. */
static void uncache(struct fbx_dircache *dc, struct fbx_dirsnap *s)
{
	struct fbx_dirsnap **p;

	for (p = &dc->bucket[bucket_of(s->id)]; *p; p = &(*p)->hnext)
		if (*p == s) {
			*p = s->hnext;
			break;
		}
	s->prev->next = s->next;
	s->next->prev = s->prev;
	dc->count--;
	dc->bytes -= s->bytes;
	snap_put_locked(s);
}

void fbx_dircache_free(struct fbx_fs *fs)
{
	struct fbx_dircache *dc = fs->dircache;

	if (!dc)
		return;
	while (dc->lru.next != &dc->lru)
		uncache(dc, dc->lru.next);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
	fs->dircache = NULL;
}

static void lru_push_front(struct fbx_dircache *dc, struct fbx_dirsnap *s)
{
	s->prev = &dc->lru;
	s->next = dc->lru.next;
	dc->lru.next->prev = s;
	dc->lru.next = s;
}

static void lru_touch(struct fbx_dircache *dc, struct fbx_dirsnap *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	lru_push_front(dc, s);
}

/* The current snapshot of directory id, or the one tagged tag (current false). */
static struct fbx_dirsnap *find(struct fbx_dircache *dc, fuse_ino_t id, bool current,
				uint32_t tag)
{
	struct fbx_dirsnap *s;

	for (s = dc->bucket[bucket_of(id)]; s; s = s->hnext)
		if (s->id == id && (current ? !s->stale : s->tag == tag))
			return s;
	return NULL;
}

/* A reader's reference on a cached snapshot, which becomes the most recent. */
static struct fbx_dirsnap *use(struct fbx_dircache *dc, struct fbx_dirsnap *s)
{
	s->refs++;
	lru_touch(dc, s);
	return s;
}

/*
 * Cache l as a snapshot of dir, stale if dir changed while it was built
 * (changes: dir->dir_changes when the build began). The reader's reference
 * is returned.
 */
static struct fbx_dirsnap *insert(struct fbx_dircache *dc, struct fbx_node *dir,
				  struct fbx_dirlist *l, uint32_t tag, uint32_t changes)
{
	struct fbx_dirsnap *s = malloc(sizeof(*s));
	size_t b;

	if (!s)
		return NULL;
	*s = (struct fbx_dirsnap){
	    .l = l,
	    .id = dir->id,
	    .tag = tag,
	    .bytes = sizeof(*s) + fbx_dirlist_trim(l),
	    .refs = 2,
	    .stale = dir->dir_changes != changes,
	};
	b = bucket_of(s->id);
	s->hnext = dc->bucket[b];
	dc->bucket[b] = s;
	lru_push_front(dc, s);
	dc->count++;
	dc->bytes += s->bytes;
	while ((dc->count > DC_MAX_LISTINGS || dc->bytes > DC_MAX_BYTES) && dc->lru.prev != s)
		uncache(dc, dc->lru.prev);
	return s;
}

/*
 * The snapshot to serve a read of directory dir from offset off, and in
 * *first the index of the first entry to return. Put it back with
 * fbx_dircache_put(). 0 or -errno.
 */
int fbx_dircache_get(struct fbx_fs *fs, struct fbx_node *dir, off_t off,
		     struct fbx_dirsnap **out, size_t *first)
{
	struct fbx_dircache *dc = fs->dircache;
	struct fbx_dirsnap *s, *other;
	struct fbx_dirlist *l;
	uint32_t tag, changes;
	size_t pos = off < 0 ? SIZE_MAX : (size_t)((uint64_t)off & POS_MASK);
	int r;

	pthread_mutex_lock(&dc->lock);
	s = off > 0 ? find(dc, dir->id, false, (uint32_t)((uint64_t)off >> 32)) : NULL;
	if (!s)
		s = find(dc, dir->id, true, 0);
	if (s) {
		*out = use(dc, s);
		pthread_mutex_unlock(&dc->lock);
		*first = pos;
		return 0;
	}
	tag = dc->next_tag++ & TAG_MASK;
	changes = dir->dir_changes;
	pthread_mutex_unlock(&dc->lock);

	r = fbx_dirlist_build(fs, dir, &l);
	if (r < 0)
		return r;

	pthread_mutex_lock(&dc->lock);
	/* Another reader built it meanwhile: the same listing, keep one. */
	other = find(dc, dir->id, true, 0);
	s = other ? use(dc, other) : insert(dc, dir, l, tag, changes);
	pthread_mutex_unlock(&dc->lock);
	if (other || !s)
		fbx_dirlist_free(l);
	if (!s)
		return -ENOMEM;
	*out = s;
	*first = pos;
	return 0;
}

const struct fbx_dirlist *fbx_dirsnap_list(const struct fbx_dirsnap *s)
{
	return s->l;
}

/* The offset that resumes reading after entry i. */
off_t fbx_dirsnap_off(const struct fbx_dirsnap *s, size_t i)
{
	return (off_t)(((uint64_t)s->tag << 32) | (uint64_t)(i + 1));
}

void fbx_dircache_put(struct fbx_fs *fs, struct fbx_dirsnap *s)
{
	struct fbx_dircache *dc = fs->dircache;

	pthread_mutex_lock(&dc->lock);
	snap_put_locked(s);
	pthread_mutex_unlock(&dc->lock);
}

/*
 * The merged view of directory dir changed (an entry added, removed,
 * renamed, or copied up): reads from offset 0 must see it. Before the reply
 * that tells the kernel of the change.
 */
void fbx_dircache_changed(struct fbx_fs *fs, struct fbx_node *dir)
{
	struct fbx_dircache *dc = fs->dircache;
	struct fbx_dirsnap *s;

	/* Stand-in nodes (id 0) are directories the kernel holds no node for. */
	if (!dir || !dir->id)
		return;
	pthread_mutex_lock(&dc->lock);
	dir->dir_changes++;
	for (s = dc->bucket[bucket_of(dir->id)]; s; s = s->hnext)
		if (s->id == dir->id)
			s->stale = true;
	pthread_mutex_unlock(&dc->lock);
}

/* The kernel forgot directory id: nobody can read it any more. */
void fbx_dircache_forget(struct fbx_fs *fs, fuse_ino_t id)
{
	struct fbx_dircache *dc = fs->dircache;
	struct fbx_dirsnap *s, *next;

	pthread_mutex_lock(&dc->lock);
	for (s = dc->bucket[bucket_of(id)]; s; s = next) {
		next = s->hnext;
		if (s->id == id)
			uncache(dc, s);
	}
	pthread_mutex_unlock(&dc->lock);
}
