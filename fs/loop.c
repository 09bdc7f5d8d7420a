// SPDX-License-Identifier: GPL-2.0-only
/*
 * The single-threaded request loop, polling /dev/fuse for a short while after
 * each request before it sleeps.
 *
 * A FUSE request whose daemon is asleep costs a wakeup: the kernel queues the
 * request, wakes the daemon's thread and, when its CPU is idle, that CPU,
 * which on a virtual machine is an exit to the host. Requests come in bursts
 * (a process opening many files sends each request a few microseconds after
 * the last reply), so looking again for spin_us before sleeping finds most of
 * them already queued. The price is at most spin_us of CPU after a burst.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Like fuse_session_loop(): 0 when the connection ends or on exit, else -errno. */
int fbx_serve_spinning(struct fuse_session *se, unsigned int spin_us)
{
	struct fuse_buf fbuf = {.mem = NULL};
	int fd = fuse_session_fd(se), fl = fcntl(fd, F_GETFL);
	uint64_t spin_ns = (uint64_t)spin_us * 1000, until = 0;
	int r = 0;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	while (!fuse_session_exited(se)) {
		r = fuse_session_receive_buf(se, &fbuf);
		if (r == -EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (now_ns() < until) {
				cpu_relax();
				continue;
			}
			/* Signals (SIGTERM) interrupt the poll and end the loop. */
			if (poll(&p, 1, -1) < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			r = 0;
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		fuse_session_process_buf(se, &fbuf);
		until = now_ns() + spin_ns;
		r = 0;
	}
	free(fbuf.mem);
	return r < 0 ? r : 0;
}
