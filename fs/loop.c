// SPDX-License-Identifier: GPL-2.0-only
/*
 * The single-threaded request loop, polling /dev/fuse for a short while after
 * each request before it sleeps.
 *
 * A FUSE request whose daemon is asleep costs a wakeup: the kernel queues the
 * request, wakes the daemon's thread and, when its CPU is idle, that CPU,
 * which on a virtual machine is an exit to the host. Requests come in bursts
 * (a process opening many files sends each request some microseconds after
 * the last reply), so looking again for a while before sleeping finds most of
 * them already queued.
 *
 * How long is learnt, as the kernel's haltpoll cpuidle governor learns how
 * long to poll before it halts a virtual CPU: the window starts at
 * FBX_SPIN_GROW_US; a request that came after the window ran out but within
 * --spin (the ceiling) doubles it; one that came later than the ceiling (the
 * spin was wasted on an idle mount) halves it, down to no spinning at all.
 * A steady stream keeps the daemon looking; requests far apart cost it no CPU.
 * A daemon allowed only one CPU never looks: whoever sends the next request
 * would have to wait for that CPU, which the looking daemon holds.
 */
#include "fuseboxd.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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

/*
 * The next window after a sleep that ended gap_ns after the last request, for
 * a ceiling of max_ns: grow when a longer look would have found the request,
 * shrink when even the ceiling would not have.
 */
static uint64_t spin_adapt(uint64_t window, uint64_t gap_ns, uint64_t max_ns)
{
	const uint64_t grow = (uint64_t)FBX_SPIN_GROW_US * 1000;

	if (gap_ns <= max_ns) {
		window = window < grow ? grow : window * 2;
		return window < max_ns ? window : max_ns;
	}
	window /= 2;
	return window < 1000 ? 0 : window;
}

/* Like fuse_session_loop(): 0 when the connection ends or on exit, else -errno. */
int fbx_serve_spinning(struct fuse_session *se, unsigned int spin_us)
{
	struct fuse_buf fbuf = {.mem = NULL};
	int fd = fuse_session_fd(se), fl = fcntl(fd, F_GETFL);
	uint64_t max_ns = (uint64_t)spin_us * 1000, last = 0;
	uint64_t window = (uint64_t)FBX_SPIN_GROW_US * 1000;
	bool slept = false;
	cpu_set_t cpus;
	int r = 0;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < 2)
		return fuse_session_loop(se);
	if (window > max_ns)
		window = max_ns;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	while (!fuse_session_exited(se)) {
		r = fuse_session_receive_buf(se, &fbuf);
		if (r == -EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (!slept && now_ns() - last < window) {
				cpu_relax();
				continue;
			}
			/* Signals (SIGTERM) interrupt the poll and end the loop. */
			if (poll(&p, 1, -1) < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			slept = true;
			r = 0;
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		if (slept && last)
			window = spin_adapt(window, now_ns() - last, max_ns);
		slept = false;
		fuse_session_process_buf(se, &fbuf);
		last = now_ns();
		r = 0;
	}
	free(fbuf.mem);
	return r < 0 ? r : 0;
}
