// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inode table: nodes keyed by (st_dev, st_ino) of their backing object,
 * and by the FUSE node id the daemon hands out. Lookup counts follow the
 * kernel's: +1 for each entry reply, -n on forget, abort on underflow. A node
 * is freed when its count is zero and no live node names it as parent, so
 * memory follows what the kernel caches. See fuseboxd.h for the lock order.
 */
#include "fuseboxd.h"

#define INITIAL_BUCKETS 1024

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t key_bucket(const struct fbx_itable *t, dev_t dev, ino_t ino)
{
	return mix64((uint64_t)ino ^ mix64((uint64_t)dev)) & (t->nbuckets - 1);
}

static size_t id_bucket(const struct fbx_itable *t, fuse_ino_t id)
{
	return mix64(id) & (t->nbuckets - 1);
}

static struct fbx_node *find_key(const struct fbx_itable *t, dev_t dev, ino_t ino)
{
	struct fbx_node *n;

	for (n = t->by_key[key_bucket(t, dev, ino)]; n; n = n->next_key)
		if (n->ino == ino && n->dev == dev)
			return n;
	return NULL;
}

static struct fbx_node *find_id(const struct fbx_itable *t, fuse_ino_t id)
{
	struct fbx_node *n;

	for (n = t->by_id[id_bucket(t, id)]; n; n = n->next_id)
		if (n->id == id)
			return n;
	return NULL;
}

static void hash_key(struct fbx_itable *t, struct fbx_node *n)
{
	size_t k = key_bucket(t, n->dev, n->ino);

	n->next_key = t->by_key[k];
	t->by_key[k] = n;
	n->hashed = true;
}

static void link_node(struct fbx_itable *t, struct fbx_node *n)
{
	size_t i = id_bucket(t, n->id);

	hash_key(t, n);
	n->next_id = t->by_id[i];
	t->by_id[i] = n;
}

static void unhash_key(struct fbx_itable *t, struct fbx_node *n)
{
	struct fbx_node **p;

	if (!n->hashed)
		return;
	for (p = &t->by_key[key_bucket(t, n->dev, n->ino)]; *p; p = &(*p)->next_key)
		if (*p == n) {
			*p = n->next_key;
			break;
		}
	n->hashed = false;
}

static void unlink_node(struct fbx_itable *t, struct fbx_node *n)
{
	struct fbx_node **p;

	unhash_key(t, n);
	for (p = &t->by_id[id_bucket(t, n->id)]; *p; p = &(*p)->next_id)
		if (*p == n) {
			*p = n->next_id;
			break;
		}
	t->count--;
}

/* Double both tables when full. Failing to grow only makes chains longer. */
static void maybe_grow(struct fbx_itable *t)
{
	struct fbx_node **by_key, **by_id, **old_id = t->by_id, *n, *next;
	size_t old = t->nbuckets, i;

	if (t->count < old)
		return;
	by_key = calloc(old * 2, sizeof(*by_key));
	by_id = calloc(old * 2, sizeof(*by_id));
	if (!by_key || !by_id) {
		free(by_key);
		free(by_id);
		return;
	}
	free(t->by_key);
	t->by_key = by_key;
	t->by_id = by_id;
	t->nbuckets = old * 2;
	/* Every node is in the id table: walk the old id chains to relink. */
	for (i = 0; i < old; i++)
		for (n = old_id[i]; n; n = next) {
			bool hashed = n->hashed;

			next = n->next_id;
			link_node(t, n);
			if (!hashed)
				unhash_key(t, n);
		}
	free(old_id);
}

int fbx_itable_init(struct fbx_itable *t)
{
	*t = (struct fbx_itable){.nbuckets = INITIAL_BUCKETS, .next_id = FUSE_ROOT_ID};
	t->by_key = calloc(t->nbuckets, sizeof(*t->by_key));
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	if (!t->by_key || !t->by_id) {
		free(t->by_key);
		free(t->by_id);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void fbx_itable_destroy(struct fbx_itable *t)
{
	struct fbx_node *n, *next;
	size_t i;

	if (!t->by_id)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (n = t->by_id[i]; n; n = next) {
			next = n->next_id;
			free(n->name);
			free(n);
		}
	free(t->by_id);
	free(t->by_key);
	pthread_mutex_destroy(&t->lock);
	*t = (struct fbx_itable){0};
}

static struct fbx_node *node_new(struct fbx_itable *t, struct fbx_node *parent, const char *name,
				 const struct fbx_found *f)
{
	struct fbx_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->id = t->next_id++;
	/* Ids are never reused, so (id, generation) is unique across the
	 * daemon's life; generation also counts incarnations for NFS-like users. */
	n->generation = t->next_generation++;
	n->dev = f->st.st_dev;
	n->ino = f->st.st_ino;
	n->parent = parent;
	n->type = f->st.st_mode & S_IFMT;
	n->layer = (uint16_t)f->layer;
	n->bottom = (uint16_t)(S_ISDIR(f->st.st_mode) ? f->bottom : f->layer);
	return n;
}

int fbx_root_create(struct fbx_fs *fs)
{
	struct fbx_found f = {0};
	struct fbx_node *n;
	unsigned int l;

	if (fstat(fs->layers[0].fd, &f.st) < 0)
		return -errno;
	/* The root merges down to the first opaque layer root. */
	for (l = 0; l + 1 < fs->nlayers; l++) {
		int r = fbx_fd_is_opaque(fs->layers[l].fd);

		if (r < 0)
			return r;
		if (r)
			break;
	}
	f.layer = 0;
	f.bottom = l;
	n = node_new(&fs->itable, NULL, "", &f);
	if (!n)
		return -ENOMEM;
	/* The kernel counts one lookup for the root from mount time. */
	atomic_init(&n->nlookup, 1);
	link_node(&fs->itable, n);
	fs->itable.count++;
	fs->root = n;
	return 0;
}

struct fbx_node *fbx_node_get(struct fbx_fs *fs, fuse_ino_t id)
{
	struct fbx_node *n;

	if (id == FUSE_ROOT_ID)
		return fs->root;
	pthread_mutex_lock(&fs->itable.lock);
	n = find_id(&fs->itable, id);
	pthread_mutex_unlock(&fs->itable.lock);
	if (!n)
		fbx_err("request for unknown node id %llu", (unsigned long long)id);
	return n;
}

/*
 * Find or create the node for what a lookup of `name` in `parent` found, and
 * count one kernel lookup on it. The caller must send it in an entry reply,
 * or undo with fbx_node_forget(node, 1).
 */
int fbx_node_ref(struct fbx_fs *fs, struct fbx_node *parent, const char *name,
		 const struct fbx_found *f, struct fbx_node **out)
{
	struct fbx_itable *t = &fs->itable;
	struct fbx_node *n;

	pthread_mutex_lock(&t->lock);
	n = find_key(t, f->st.st_dev, f->st.st_ino);
	if (n) {
		/* Immutable layers: the same object keeps its type. */
		if (n->type != (f->st.st_mode & S_IFMT)) {
			pthread_mutex_unlock(&t->lock);
			return -ESTALE;
		}
		atomic_fetch_add(&n->nlookup, 1);
	} else {
		n = node_new(t, parent, name, f);
		if (!n) {
			pthread_mutex_unlock(&t->lock);
			return -ENOMEM;
		}
		atomic_init(&n->nlookup, 1);
		parent->nchildren++;
		maybe_grow(t);
		link_node(t, n);
		t->count++;
	}
	pthread_mutex_unlock(&t->lock);
	*out = n;
	return 0;
}

/* Free n and then every ancestor that only n kept alive. itable.lock held. */
static size_t release_locked(struct fbx_fs *fs, struct fbx_node *n)
{
	size_t freed = 0;

	while (n && n != fs->root && atomic_load(&n->nlookup) == 0 && n->nchildren == 0) {
		struct fbx_node *parent = n->parent;

		unlink_node(&fs->itable, n);
		if (n->orphan)
			fbx_orphan_drop(fs, n);
		if (S_ISDIR(n->type))
			fbx_dircache_forget(fs, n->id);
		fbx_backing_drop(fs, NULL, n);
		free(n->name);
		free(n);
		freed++;
		if (parent)
			parent->nchildren--;
		n = parent;
	}
	return freed;
}

void fbx_node_forget(struct fbx_fs *fs, struct fbx_node *n, uint64_t count)
{
	size_t freed = 0, left;
	uint_fast64_t old;

	if (!count)
		return;
	/* Fast path: the count stays above zero. Only itable.lock holders move
	 * it to or from zero, so a node seen at zero under the lock is dead. */
	old = atomic_load(&n->nlookup);
	while (old > count)
		if (atomic_compare_exchange_weak(&n->nlookup, &old, old - count))
			return;

	pthread_mutex_lock(&fs->itable.lock);
	old = atomic_load(&n->nlookup);
	if (old < count) {
		if (n == fs->root) {
			atomic_store(&n->nlookup, 0);
			pthread_mutex_unlock(&fs->itable.lock);
			return;
		}
		fbx_err("lookup count underflow on node %llu (%llu - %llu)",
			(unsigned long long)n->id, (unsigned long long)old,
			(unsigned long long)count);
		abort();
	}
	atomic_store(&n->nlookup, old - count);
	if (old == count)
		freed = release_locked(fs, n);
	left = fs->itable.count;
	pthread_mutex_unlock(&fs->itable.lock);
	if (freed)
		fbx_debug(fs, "forget: %zu node(s) freed, %zu left", freed, left);
}

pthread_mutex_t *fbx_open_lock(struct fbx_fs *fs, const struct fbx_node *node)
{
	return &fs->open_locks[node->id % FBX_OPEN_LOCKS];
}

struct fbx_node *fbx_node_find_key(struct fbx_fs *fs, dev_t dev, ino_t ino)
{
	struct fbx_node *n;

	pthread_mutex_lock(&fs->itable.lock);
	n = find_key(&fs->itable, dev, ino);
	pthread_mutex_unlock(&fs->itable.lock);
	return n;
}

/* Copy-up: the node now stands for st, an object of `layer`. ns_lock held. */
void fbx_node_rekey(struct fbx_fs *fs, struct fbx_node *n, const struct stat *st,
		    unsigned int layer)
{
	struct fbx_itable *t = &fs->itable;
	bool hashed;

	pthread_mutex_lock(&t->lock);
	hashed = n->hashed;
	unhash_key(t, n);
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->layer = (uint16_t)layer;
	if (hashed)
		hash_key(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* The node's name is gone: lookups must never find it again. ns_lock held. */
void fbx_node_unhash(struct fbx_fs *fs, struct fbx_node *n)
{
	pthread_mutex_lock(&fs->itable.lock);
	unhash_key(&fs->itable, n);
	n->unlinked = true;
	pthread_mutex_unlock(&fs->itable.lock);
}

/* Rename: the node is now NAME in PARENT. ns_lock held. */
int fbx_node_move(struct fbx_fs *fs, struct fbx_node *n, struct fbx_node *parent,
		  const char *name)
{
	struct fbx_node *old_parent;
	char *copy = strdup(name), *old_name;

	if (!copy)
		return -ENOMEM;
	pthread_rwlock_wrlock(&fs->tree_lock);
	pthread_mutex_lock(&fs->itable.lock);
	old_parent = n->parent;
	old_name = n->name;
	n->name = copy;
	n->parent = parent;
	parent->nchildren++;
	old_parent->nchildren--;
	release_locked(fs, old_parent);
	pthread_mutex_unlock(&fs->itable.lock);
	pthread_rwlock_unlock(&fs->tree_lock);
	free(old_name);
	return 0;
}

void fbx_orphan_name(const struct fbx_node *n, char buf[static 24])
{
	snprintf(buf, 24, "#%llx", (unsigned long long)n->id);
}

/* May a request change the tree at these nodes (NULL: unknown id)? 0 or -errno. */
int fbx_can_change(const struct fbx_fs *fs, const struct fbx_node *a, const struct fbx_node *b)
{
	if (!fs->has_upper)
		return -EROFS;
	return a && b ? 0 : -ESTALE;
}
