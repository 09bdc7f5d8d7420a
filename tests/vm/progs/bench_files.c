// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm-bench-files: times open+close and stat of files, for the VM benchmark
 * (tests/bench/vm.sh). Runs inside a container whose rootfs has only busybox,
 * so it is linked statically.
 *   vm-bench-files DIR N PASSES
 * Files are DIR/f00000 .. DIR/f<N-1>. One untimed pass of each warms the
 * dentry and inode caches; then PASSES passes over all N files are timed for
 * each operation. Prints "open_ns=X stat_ns=Y": nanoseconds per operation,
 * averaged over the timed passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 100000
#define MAX_PASSES 1000

static char dir[4096];

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void name_of(char *buf, size_t size, long i)
{
	snprintf(buf, size, "%s/f%05ld", dir, i);
}

/* One pass of open+close over all files; 0 or -errno of the first failure. */
static int pass_open(long n)
{
	char path[4200];

	for (long i = 0; i < n; i++) {
		int fd;

		name_of(path, sizeof(path), i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "vm-bench-files: open %s: %s\n", path, strerror(errno));
			return -errno;
		}
		close(fd);
	}
	return 0;
}

static int pass_stat(long n)
{
	char path[4200];
	struct stat st;

	for (long i = 0; i < n; i++) {
		name_of(path, sizeof(path), i);
		if (stat(path, &st) < 0) {
			fprintf(stderr, "vm-bench-files: stat %s: %s\n", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Nanoseconds per operation over PASSES timed passes of FN, or 0 on failure. */
static unsigned long long time_op(int (*fn)(long), long n, long passes)
{
	unsigned long long t0;

	if (fn(n) < 0)
		return 0;
	t0 = now_ns();
	for (long p = 0; p < passes; p++)
		if (fn(n) < 0)
			return 0;
	return (now_ns() - t0) / (unsigned long long)(n * passes);
}

static long arg_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > max)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	unsigned long long open_ns, stat_ns;
	long n, passes;

	if (argc != 4 || strlen(argv[1]) >= sizeof(dir) ||
	    (n = arg_num(argv[2], MAX_FILES)) < 0 || (passes = arg_num(argv[3], MAX_PASSES)) < 0) {
		fprintf(stderr, "usage: vm-bench-files DIR N PASSES (N <= %d, PASSES <= %d)\n",
			MAX_FILES, MAX_PASSES);
		return 2;
	}
	strcpy(dir, argv[1]);
	open_ns = time_op(pass_open, n, passes);
	stat_ns = time_op(pass_stat, n, passes);
	if (!open_ns || !stat_ns)
		return 1;
	printf("open_ns=%llu stat_ns=%llu\n", open_ns, stat_ns);
	return 0;
}
