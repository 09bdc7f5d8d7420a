// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading, pinning and filling the node's policy program set, and loading the
 * operator's lsm_cgroup programs. See policy_load.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "policy.h"
#include "policy_load.h"
#include "policy.skel.h"
#include "audit_logger.h"
#include "hook/lib/auditlog.h"

/* Pin names; fb_policy_cfg goes last and marks a complete set. */
#define PIN_CFG FB_POLICY_PIN_DIR "/fb_policy_cfg"
#define PIN_OBJ FB_POLICY_PIN_DIR "/fb_policy_obj"
#define PIN_LEVELS FB_POLICY_PIN_DIR "/fb_policy_levels"
#define PIN_EVENTS FB_POLICY_PIN_DIR "/fb_audit_events"

static int libbpf_print_none(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int libbpf_print_stderr(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

/* libbpf prints nothing unless FUSEBOX_LIBBPF_DEBUG is set; returns the old printer. */
static libbpf_print_fn_t quiet_libbpf(void)
{
	return libbpf_set_print(secure_getenv("FUSEBOX_LIBBPF_DEBUG") ? libbpf_print_stderr
								     : libbpf_print_none);
}

static int mkdir_if_missing(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fb_policy_lock(void)
{
	int fd = open(FB_POLICY_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	return fd;
}

void fb_policy_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---- the set ------------------------------------------------------------------ */

void fb_policy_set_close(struct fb_policy_set *set)
{
	int *fds[] = { &set->cfg_fd, &set->obj_fd, &set->levels_fd, &set->events_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* A pinned map of the expected shape, or -ESTALE (a set from another build). */
static int open_map(const char *path, __u32 key_size, __u32 value_size, int *out)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (info.key_size != key_size || info.value_size != value_size) {
		close(fd);
		return -ESTALE;
	}
	*out = fd;
	return 0;
}

int fb_policy_set_open(struct fb_policy_set *set)
{
	struct fb_policy_set s = FB_POLICY_SET_INIT;
	int r;

	/* The marker first: without it the set is incomplete. */
	r = open_map(PIN_CFG, sizeof(__u64), sizeof(struct fb_policy_cfg), &s.cfg_fd);
	if (r == 0)
		r = open_map(PIN_OBJ, sizeof(struct fb_obj_key), sizeof(struct fb_obj_val),
			     &s.obj_fd);
	if (r == 0)
		r = open_map(PIN_LEVELS, sizeof(__u32), sizeof(struct fb_policy_levels),
			     &s.levels_fd);
	if (r == 0)
		r = open_map(PIN_EVENTS, 0, 0, &s.events_fd);
	if (r < 0) {
		fb_policy_set_close(&s);
		return r;
	}
	*set = s;
	return 0;
}

int fb_policy_set_unpin(void)
{
	return rm_rf_at(AT_FDCWD, FB_POLICY_PIN_DIR);
}

/* Parameters of the kernel's bpf_lsm_NAME, or -ENOENT when the hook is missing. */
static int hook_params(const struct btf *btf, const char *hook)
{
	char name[128];
	const struct btf_type *t;
	int id;

	snprintf(name, sizeof(name), "bpf_lsm_%s", hook);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_func_proto(t))
		return -ENOENT;
	return btf_vlen(t);
}

/*
 * Switch off the programs this kernel cannot take: one of the two
 * inode_setattr signatures, and the ACL hooks before 6.2 (where ACLs go
 * through inode_setxattr, which is judged anyway).
 */
static int pick_programs(struct policy_bpf *skel, char *err, size_t errlen)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int n;

	if (!btf)
		return fb_errf(err, errlen, -errno, "reading the kernel's BTF: %s",
			       strerror(errno));
	n = hook_params(btf, "inode_setattr");
	bpf_program__set_autoload(skel->progs.fb_inode_setattr, n == 3);
	bpf_program__set_autoload(skel->progs.fb_inode_setattr_2, n == 2);
	if (n != 2 && n != 3) {
		btf__free(btf);
		return fb_errf(err, errlen, -EOPNOTSUPP,
			       "kernel hook inode_setattr has %d parameters (expected 2 or 3)", n);
	}
	bpf_program__set_autoload(skel->progs.fb_inode_set_acl,
				  hook_params(btf, "inode_set_acl") > 0);
	bpf_program__set_autoload(skel->progs.fb_inode_remove_acl,
				  hook_params(btf, "inode_remove_acl") > 0);
	btf__free(btf);
	return 0;
}

static void policy_bpf_destroyp(struct policy_bpf **skel)
{
	policy_bpf__destroy(*skel);
}

/* Load, attach and pin a new set. The caller removes the pin dir on failure. */
static int load_and_pin(char *err, size_t errlen)
{
	_cleanup_(policy_bpf_destroyp) struct policy_bpf *skel = NULL;
	struct bpf_program *prog;
	struct bpf_map *maps[4];
	char path[256];
	int r;

	skel = policy_bpf__open();
	if (!skel)
		return fb_errf(err, errlen, -errno, "opening the policy BPF object: %s",
			       strerror(errno));
	r = pick_programs(skel, err, errlen);
	if (r < 0)
		return r;
	r = policy_bpf__load(skel);
	if (r < 0)
		return fb_errf(err, errlen, r, "loading the policy BPF programs: %s",
			       strerror(-r));
	r = mkdir_if_missing(FB_BPF_PIN_DIR, 0700);
	if (r == 0)
		r = mkdir_if_missing(FB_POLICY_PIN_DIR, 0700);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", FB_POLICY_PIN_DIR, strerror(-r));
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach_lsm(prog);
		if (!link)
			return fb_errf(err, errlen, -errno, "attaching %s: %s",
				       bpf_program__name(prog), strerror(errno));
		snprintf(path, sizeof(path), FB_POLICY_PIN_DIR "/link_%s",
			 bpf_program__name(prog));
		r = bpf_link__pin(link, path);
		/* Pinned or not, our fd goes: the pin keeps the link. */
		bpf_link__destroy(link);
		if (r < 0)
			return fb_errf(err, errlen, r, "pinning %s: %s", path, strerror(-r));
	}
	maps[0] = skel->maps.fb_policy_obj;
	maps[1] = skel->maps.fb_policy_levels;
	maps[2] = skel->maps.fb_audit_events;
	maps[3] = skel->maps.fb_policy_cfg; /* last: marks the set complete */
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		snprintf(path, sizeof(path), FB_POLICY_PIN_DIR "/%s", bpf_map__name(maps[i]));
		r = bpf_map__pin(maps[i], path);
		if (r < 0)
			return fb_errf(err, errlen, r, "pinning %s: %s", path, strerror(-r));
	}
	return 0;
}

int fb_policy_set_acquire(struct fb_policy_set *set, bool *created, char *err, size_t errlen)
{
	libbpf_print_fn_t old;
	int r;

	r = fb_policy_set_open(set);
	if (r == 0) {
		*created = false;
		return 0;
	}
	if (r != -ENOENT && r != -ESTALE)
		return fb_errf(err, errlen, r, "%s: %s", PIN_CFG, strerror(-r));
	/*
	 * None, or a partial one (a hook died part way), or one of another build
	 * (map layout changed): that one is replaced only when no container uses it.
	 */
	if (r == -ESTALE) {
		int fd = bpf_obj_get(PIN_CFG);
		__u64 key;

		if (fd >= 0) {
			bool empty = bpf_map_get_next_key(fd, NULL, &key) < 0;

			close(fd);
			if (!empty)
				return fb_errf(err, errlen, -ESTALE,
					       "%s was made by another fusebox build and is in use",
					       FB_POLICY_PIN_DIR);
		}
	}
	r = fb_policy_set_unpin();
	if (r < 0)
		return fb_errf(err, errlen, r, "removing %s: %s", FB_POLICY_PIN_DIR, strerror(-r));
	old = quiet_libbpf();
	r = load_and_pin(err, errlen);
	libbpf_set_print(old);
	if (r == 0)
		r = fb_policy_set_open(set);
	if (r < 0) {
		fb_policy_set_unpin();
		if (err && !err[0])
			fb_errf(err, errlen, r, "opening the pinned policy maps: %s", strerror(-r));
		return r;
	}
	*created = true;
	return 0;
}

/* ---- containers in the set ------------------------------------------------------ */

/* fb_policy_levels[0] from the key and cfg of every container in the set. */
static int update_levels(const struct fb_policy_set *set)
{
	struct fb_policy_levels lv = { 0 };
	struct fb_policy_cfg cfg;
	__u64 key;
	__u32 zero = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(set->cfg_fd, prev, &key) == 0) {
		if (bpf_map_lookup_elem(set->cfg_fd, &key, &cfg) == 0 && cfg.level >= 1 &&
		    cfg.level <= FB_CGROUP_LEVEL_MAX) {
			__u32 bit = fb_cgroup_bit(key);

			lv.levels |= 1ull << cfg.level;
			lv.cgroups[bit / 64] |= 1ull << (bit % 64);
		}
		prev = &key;
	}
	if (errno != ENOENT)
		return -errno;
	if (bpf_map_update_elem(set->levels_fd, &zero, &lv, BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* Every fb_policy_obj key of cgroup_id, into a new array. */
static int collect_objs(int fd, __u64 cgroup_id, struct fb_obj_key **out, size_t *n)
{
	struct fb_obj_key key, *keys = NULL;
	size_t cap = 0, k = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		prev = &key;
		if (key.cgroup_id != cgroup_id)
			continue;
		if (k == cap) {
			struct fb_obj_key *nk;

			cap = cap ? 2 * cap : 64;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				free(keys);
				return -ENOMEM;
			}
			keys = nk;
		}
		keys[k++] = key;
	}
	if (errno != ENOENT) {
		int r = -errno;

		free(keys);
		return r;
	}
	*out = keys;
	*n = k;
	return 0;
}

static int remove_objs(const struct fb_policy_set *set, __u64 cgroup_id)
{
	_cleanup_free_ struct fb_obj_key *keys = NULL;
	size_t n = 0;
	int r, first = 0;

	r = collect_objs(set->obj_fd, cgroup_id, &keys, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(set->obj_fd, &keys[i]) < 0 && errno != ENOENT && !first)
			first = -errno;
	return first;
}

int fb_policy_set_insert(const struct fb_policy_set *set, const struct fb_compiled *c, char *err,
			 size_t errlen)
{
	int r;

	if (c->cfg.level < 1 || c->cfg.level > FB_CGROUP_LEVEL_MAX)
		return fb_errf(err, errlen, -EINVAL,
			       "cgroup level %u is out of range (expected 1..%d)", c->cfg.level,
			       FB_CGROUP_LEVEL_MAX);
	for (size_t i = 0; i < c->n; i++) {
		if (bpf_map_update_elem(set->obj_fd, &c->entries[i].key, &c->entries[i].val,
					BPF_NOEXIST) < 0) {
			r = -errno;
			fb_errf(err, errlen, r, "inserting policy object %zu of %zu: %s%s", i + 1,
				c->n, strerror(-r),
				r == -E2BIG ? " (the node's policy map is full)" : "");
			goto fail;
		}
	}
	if (bpf_map_update_elem(set->cfg_fd, &c->cgroup_id, &c->cfg, BPF_NOEXIST) < 0) {
		r = -errno;
		fb_errf(err, errlen, r, "inserting the policy of cgroup %llu: %s",
			(unsigned long long)c->cgroup_id,
			r == -EEXIST ? "the cgroup already has a policy" : strerror(-r));
		goto fail;
	}
	r = update_levels(set);
	if (r < 0) {
		fb_errf(err, errlen, r, "updating the cgroup levels: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	/* Only what this call added: an existing cfg (EEXIST) is someone else's. */
	if (r != -EEXIST)
		bpf_map_delete_elem(set->cfg_fd, &c->cgroup_id);
	for (size_t i = 0; i < c->n; i++)
		bpf_map_delete_elem(set->obj_fd, &c->entries[i].key);
	update_levels(set);
	return r;
}

int fb_policy_set_remove(const struct fb_policy_set *set, __u64 cgroup_id, __u64 *dropped)
{
	struct fb_policy_cfg cfg;
	int r, first = 0;

	if (dropped)
		*dropped = 0;
	if (bpf_map_lookup_elem(set->cfg_fd, &cgroup_id, &cfg) == 0) {
		if (dropped)
			*dropped = cfg.dropped;
		if (bpf_map_delete_elem(set->cfg_fd, &cgroup_id) < 0 && errno != ENOENT)
			first = -errno;
	}
	r = update_levels(set);
	if (r < 0 && !first)
		first = r;
	/* Even without a cfg: an insert that died part way leaves objects. */
	r = remove_objs(set, cgroup_id);
	if (r < 0 && !first)
		first = r;
	return first;
}

int fb_policy_set_count(const struct fb_policy_set *set)
{
	__u64 key;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(set->cfg_fd, prev, &key) == 0) {
		prev = &key;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

int fb_policy_set_drain(const struct fb_policy_set *set, int timeout_ms)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile unsigned long *pos;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	void *mem;
	int r = -ETIMEDOUT;

	/* Page 0 holds the consumer position, page 1 the producer's. */
	mem = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, set->events_fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	pos = mem;
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		unsigned long consumer = __atomic_load_n(&pos[0], __ATOMIC_ACQUIRE);
		unsigned long producer =
			__atomic_load_n((unsigned long *)((char *)mem + page), __ATOMIC_ACQUIRE);

		if (consumer == producer) {
			r = 0;
			break;
		}
		nanosleep(&ts, NULL);
	}
	munmap(mem, 2 * page);
	return r;
}

/* ---- the operator's programs ---------------------------------------------------- */

int fb_program_pin_dir(__u64 cgroup_id, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, FB_PROGRAMS_PIN_DIR "/%llu",
			     (unsigned long long)cgroup_id) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int fb_programs_unpin(__u64 cgroup_id)
{
	char dir[128];
	int r;

	r = fb_program_pin_dir(cgroup_id, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = rm_rf_at(AT_FDCWD, dir);
	/* The parent goes with its last container; busy means another one uses it. */
	if (rmdir(FB_PROGRAMS_PIN_DIR) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EEXIST && r == 0)
		r = -errno;
	return r;
}

/* Owned by root and writable by nobody else: the operator's, not a tenant's. */
static const char *not_admin_owned(const struct stat *st)
{
	if (st->st_uid != 0)
		return "is not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is writable by group or others";
	return NULL;
}

/* Read program_dir/NAME.bpf.o into memory, checked. */
static int read_program(const char *program_dir, const char *name, char **out, size_t *len,
			char *err, size_t errlen)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	_cleanup_close_ int dfd = -1, fd = -1;
	char file[96];
	const char *why;
	struct stat st;
	ssize_t n;

	dfd = open(program_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0)
		return fb_errf(err, errlen, -errno, "program_dir %s: %s", program_dir,
			       strerror(errno));
	why = not_admin_owned(&st);
	if (why)
		return fb_errf(err, errlen, -EPERM, "program_dir %s %s (expected root:root, "
				"mode 0755 or stricter)", program_dir, why);
	snprintf(file, sizeof(file), "%s.bpf.o", name);
	fd = fb_openat2(dfd, file, &how);
	if (fd < 0)
		return fb_errf(err, errlen, fd, "%s/%s: %s%s", program_dir, file, strerror(-fd),
			       fd == -ELOOP || fd == -EXDEV ? " (symlinks are not followed)" : "");
	if (fstat(fd, &st) < 0)
		return fb_errf(err, errlen, -errno, "%s/%s: %s", program_dir, file,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fb_errf(err, errlen, -EINVAL, "%s/%s is not a regular file", program_dir,
			       file);
	why = not_admin_owned(&st);
	if (why)
		return fb_errf(err, errlen, -EPERM, "%s/%s %s (expected root-owned, mode 0644 or "
				"stricter)", program_dir, file, why);
	n = read_full_fd(fd, FB_PROGRAM_MAX_SIZE, out);
	if (n < 0)
		return fb_errf(err, errlen, n, "%s/%s: %s", program_dir, file,
			       n == -EFBIG ? "larger than 16 MiB" : strerror(-n));
	*len = n;
	return 0;
}

int fb_program_check(const char *program_dir, const char *name, char *err, size_t errlen)
{
	_cleanup_free_ char *image = NULL;
	size_t len = 0;

	if (!fb_program_name_valid(name))
		return fb_errf(err, errlen, -EINVAL,
			       "invalid program name (expected 1-64 of A-Z a-z 0-9 _ -)");
	return read_program(program_dir, name, &image, &len, err, errlen);
}

static void bpf_object_closep(struct bpf_object **obj)
{
	bpf_object__close(*obj);
}

static int attach_object(struct bpf_object *obj, const char *name, unsigned int index,
			 int cgroup_fd, const char *pin_dir, unsigned int *n_links, char *err,
			 size_t errlen)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	unsigned int n_hooks = 0;
	char path[256];
	int r;

	*n_links = 0;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_program *other;
		bool first = true;

		if (bpf_program__type(prog) != BPF_PROG_TYPE_LSM ||
		    bpf_program__expected_attach_type(prog) != BPF_LSM_CGROUP)
			return fb_errf(err, errlen, -EINVAL,
				       "program %s: section \"%s\" is not lsm_cgroup/ (only "
				       "lsm_cgroup/HOOK programs are attached)",
				       bpf_program__name(prog), bpf_program__section_name(prog));
		/* Count each hook once, at its first program. */
		bpf_object__for_each_program(other, obj) {
			if (other == prog)
				break;
			if (streq(bpf_program__section_name(other), bpf_program__section_name(prog)))
				first = false;
		}
		n_hooks += first;
	}
	if (n_hooks > FB_LSM_CGROUP_HOOKS)
		return fb_errf(err, errlen, -E2BIG,
			       "its programs use %u lsm_cgroup hooks; the kernel has %d for the "
			       "whole system",
			       n_hooks, FB_LSM_CGROUP_HOOKS);
	/* Its maps are its own: never pinned by name, never shared with a pinned map. */
	bpf_object__for_each_map(map, obj) {
		r = bpf_map__set_pin_path(map, NULL);
		if (r < 0)
			return fb_errf(err, errlen, r, "map %s: %s", bpf_map__name(map),
				       strerror(-r));
	}
	r = bpf_object__load(obj);
	if (r < 0)
		return fb_errf(err, errlen, r, "loading %s.bpf.o: %s", name, strerror(-r));
	r = mkdir_if_missing(FB_BPF_PIN_DIR, 0700);
	if (r == 0)
		r = mkdir_if_missing(FB_PROGRAMS_PIN_DIR, 0700);
	if (r == 0)
		r = mkdir_if_missing(pin_dir, 0700);
	if (r < 0)
		return fb_errf(err, errlen, r, "%s: %s", pin_dir, strerror(-r));
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link = bpf_program__attach_cgroup(prog, cgroup_fd);

		if (!link)
			/* With no free hook slot the kernel says EINVAL (__cgroup_bpf_attach). */
			return fb_errf(err, errlen, -errno, "attaching %s of %s.bpf.o: %s%s",
				       bpf_program__name(prog), name, strerror(errno),
				       errno == EINVAL
					       ? " (the kernel's 10 lsm_cgroup hook slots are shared "
						 "by the whole system: are they all in use?)"
					       : "");
		snprintf(path, sizeof(path), "%s/%u_%s", pin_dir, index, bpf_program__name(prog));
		r = bpf_link__pin(link, path);
		bpf_link__destroy(link);
		if (r < 0)
			return fb_errf(err, errlen, r, "pinning %s: %s", path, strerror(-r));
		(*n_links)++;
	}
	if (*n_links == 0)
		return fb_errf(err, errlen, -EINVAL, "%s.bpf.o has no lsm_cgroup/ program", name);
	return 0;
}

/* Remove the pins attach_object made for this object (index). */
static void unpin_object(const char *pin_dir, unsigned int index, struct bpf_object *obj)
{
	struct bpf_program *prog;
	char path[256];

	bpf_object__for_each_program(prog, obj) {
		snprintf(path, sizeof(path), "%s/%u_%s", pin_dir, index, bpf_program__name(prog));
		unlink(path);
	}
}

int fb_program_attach(const char *program_dir, const char *name, unsigned int index,
		      int cgroup_fd, __u64 cgroup_id, unsigned int *n_links, char *err,
		      size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
	_cleanup_(bpf_object_closep) struct bpf_object *obj = NULL;
	_cleanup_free_ char *image = NULL;
	char pin_dir[128];
	libbpf_print_fn_t old;
	size_t len = 0;
	int r;

	if (!fb_program_name_valid(name))
		return fb_errf(err, errlen, -EINVAL,
			       "invalid program name (expected 1-64 of A-Z a-z 0-9 _ -)");
	r = fb_program_pin_dir(cgroup_id, pin_dir, sizeof(pin_dir));
	if (r < 0)
		return r;
	r = read_program(program_dir, name, &image, &len, err, errlen);
	if (r < 0)
		return r;
	old = quiet_libbpf();
	obj = bpf_object__open_mem(image, len, &opts);
	if (!obj) {
		r = -errno;
		libbpf_set_print(old);
		return fb_errf(err, errlen, r, "%s/%s.bpf.o is not a BPF object libbpf can open: %s",
			       program_dir, name, strerror(-r));
	}
	r = attach_object(obj, name, index, cgroup_fd, pin_dir, n_links, err, errlen);
	libbpf_set_print(old);
	if (r < 0)
		unpin_object(pin_dir, index, obj);
	return r;
}

/* ---- one container ----------------------------------------------------------- */

/* One line in the container's audit log for events the kernel could not queue. */
static void log_dropped(const struct fb_conf *conf, const char *id, __u64 dropped)
{
	char path[PATH_MAX], line[FB_AUDIT_LINE_MAX], when[40];
	struct timespec now;

	if (!dropped || fb_audit_log_path(conf->log_dir, id, path, sizeof(path)) < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	fb_audit_time(&now, when, sizeof(when));
	snprintf(line, sizeof(line),
		 "%s %s audit: container stopped, %llu events lost in all (the kernel's ring "
		 "buffer was full)",
		 when, id, (unsigned long long)dropped);
	syslog(LOG_WARNING, "%s", line + strlen(when) + 1);
	if (fb_audit_log_dir(conf->log_dir) == 0)
		fb_audit_log_append(path, line);
}

int fb_policy_undo(const struct fb_conf *conf, const char *id, const struct fb_state_policy *p,
		   char *err, size_t errlen)
{
	struct fb_policy_set set = FB_POLICY_SET_INIT;
	__u64 dropped = 0;
	int lock, r, first = 0;

	if (!p->on)
		return 0;
	lock = fb_policy_lock();
	if (lock < 0)
		return fb_errf(err, errlen, lock, "%s: %s", FB_POLICY_LOCK_FILE, strerror(-lock));
	r = fb_programs_unpin(p->cgroup_id);
	if (r < 0)
		first = fb_errf(err, errlen, r, "removing the program links of cgroup %llu: %s",
				p->cgroup_id, strerror(-r));
	r = fb_policy_set_open(&set);
	if (r == 0) {
		/* The container is gone: what it caused is queued; let the logger write it. */
		if (fb_audit_logger_running())
			fb_policy_set_drain(&set, 2000);
		r = fb_policy_set_remove(&set, p->cgroup_id, &dropped);
		if (r < 0 && !first)
			first = fb_errf(err, errlen, r, "removing the policy of cgroup %llu: %s",
					p->cgroup_id, strerror(-r));
		log_dropped(conf, id, dropped);
		/* The last container gone: the programs go with their pins. */
		if (r == 0 && fb_policy_set_count(&set) == 0) {
			r = fb_policy_set_unpin();
			if (r < 0 && !first)
				first = fb_errf(err, errlen, r, "removing %s: %s",
						FB_POLICY_PIN_DIR, strerror(-r));
		}
		fb_policy_set_close(&set);
	} else if (r != -ENOENT && !first) {
		first = fb_errf(err, errlen, r, "opening %s: %s", FB_POLICY_PIN_DIR,
				strerror(-r));
	}
	/* No set left (this or an earlier undo unpinned it): no logger either. */
	if (access(FB_POLICY_PIN_DIR, F_OK) < 0 && errno == ENOENT) {
		r = fb_audit_logger_stop(2000);
		if (r < 0 && !first)
			first = fb_errf(err, errlen, r, "stopping the audit logger: %s",
					strerror(-r));
	}
	/* Busy (another container's pins) or already gone is fine. */
	if (rmdir(FB_BPF_PIN_DIR) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EEXIST && !first)
		first = fb_errf(err, errlen, -errno, "%s: %s", FB_BPF_PIN_DIR, strerror(errno));
	fb_policy_unlock(lock);
	return first;
}
