// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm-exec-escape: the ways to run code from a file other than execve(path),
 * for the exec rule tests in a container (tests/vm/guest/55-exec-escape.sh).
 * Static, so it runs in the busybox rootfs.
 *
 *   vm-exec-escape true          exit 0 (what the exec checks run)
 *   vm-exec-escape check DIR F   try each way on DIR/F (a copy of this program)
 *
 * Prints one line per way: NAME:ok, or NAME:fail:<strerror>.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void result(const char *name, int err)
{
	if (err)
		printf("%s:fail:%s\n", name, strerror(err));
	else
		printf("%s:ok\n", name);
	fflush(stdout);
}

/* Run "true" through execveat(dirfd, name, flags) in a child: 0 or its errno. */
static int try_execveat(int dirfd, const char *name, int flags, int use_fexecve)
{
	char *argv[] = { "vm-exec-escape", "true", NULL };
	char *envp[] = { NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0) {
		if (use_fexecve)
			fexecve(dirfd, argv, envp);
		else
			execveat(dirfd, name, argv, envp, flags);
		_exit(errno ? errno : 255);
	}
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	if (!WIFEXITED(status))
		return EINTR;
	return WEXITSTATUS(status);
}

static int try_mmap(int fd, int prot)
{
	void *p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, 4096);
	return 0;
}

static int try_mprotect_exec(int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	int err = 0;

	if (p == MAP_FAILED)
		return errno;
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0)
		err = errno;
	munmap(p, 4096);
	return err;
}

/* Copy the file at in to out (by offset: in's position stays). */
static int copy_file(int in, int out)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			return -1;
		off += n;
	}
	return n < 0 ? -1 : 0;
}

/* A memfd with a copy of the file at fd, or -1. */
static int memfd_copy(int fd)
{
	int m = memfd_create("escape", MFD_CLOEXEC);

	if (m >= 0 && copy_file(fd, m) < 0) {
		close(m);
		return -1;
	}
	return m;
}

static int check(const char *dir, const char *file)
{
	char path[4096], del[4096];
	int fd, dfd, m, d;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	result("mmap-read", try_mmap(fd, PROT_READ));
	result("mmap-exec", try_mmap(fd, PROT_READ | PROT_EXEC));
	result("mprotect-exec", try_mprotect_exec(fd));

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	result("execveat-dirfd", dfd < 0 ? errno : try_execveat(dfd, file, 0, 0));
	result("execveat-empty-path", try_execveat(fd, "", AT_EMPTY_PATH, 0));

	m = memfd_copy(fd);
	if (m < 0) {
		result("memfd-copy", errno);
	} else {
		result("memfd-execveat", try_execveat(m, "", AT_EMPTY_PATH, 0));
		result("memfd-fexecve", try_execveat(m, NULL, 0, 1));
		result("memfd-mmap-exec", try_mmap(m, PROT_READ | PROT_EXEC));
		result("memfd-mprotect-exec", try_mprotect_exec(m));
		close(m);
	}

	/* A deleted copy in the same directory: its dentry still has a parent. */
	snprintf(del, sizeof(del), "%s/.deleted-%d", dir, (int)getpid());
	d = open(del, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (d < 0 || copy_file(fd, d) < 0) {
		result("deleted-copy", errno);
	} else {
		close(d);
		d = open(del, O_RDONLY | O_CLOEXEC);
		unlink(del);
		result("deleted-execveat", d < 0 ? errno : try_execveat(d, "", AT_EMPTY_PATH, 0));
	}
	if (d >= 0)
		close(d);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "true") == 0)
		return 0;
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3]);
	fprintf(stderr, "usage: vm-exec-escape true | check DIR FILE\n");
	return 2;
}
