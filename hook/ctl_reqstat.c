// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuseboxctl reqstat [--mount DIR] [--json] [--output FILE] -- COMMAND [ARGS...]
 *
 * Runs COMMAND with the FUSE request counter (bpf/fusereq.bpf.c) attached and
 * prints how many requests of each opcode the kernel sent to FUSE daemons
 * meanwhile: on DIR's connection only with --mount, else on all of them. The
 * count is per connection, not per process. Like strace -c, the summary goes
 * to stderr (or FILE) so COMMAND's stdout stays its own. Exit status: the
 * command's (128+N when killed by signal N), 125 when reqstat itself fails,
 * 126/127 when the command cannot be run / is not found (as timeout(1)).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "util.h"
#include "fusereq.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define EXIT_REQSTAT_FAILED 125
/* Bounded wait for replies to requests still in flight when COMMAND exits. */
#define SETTLE_MAX_MS 1000
#define SETTLE_STEP_MS 10

extern char **environ;

struct reqstat_opts {
	const char *mount;
	const char *output;
	bool json;
	char **command;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl reqstat [--mount DIR] [--json] [--output FILE] -- COMMAND "
		   "[ARGS...]\n"
		   "Run COMMAND and count the FUSE requests sent meanwhile, by opcode.\n"
		   "  -m, --mount DIR    only the FUSE connection DIR is on (default: all)\n"
		   "  -j, --json         print JSON\n"
		   "  -o, --output FILE  write the summary to FILE (default: stderr)\n");
}

/* Returns 0, 1 after --help, or -EINVAL after a usage error (already printed). */
static int parse_args(int argc, char **argv, struct reqstat_opts *o)
{
	static const struct option longopts[] = {
	    {"mount", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	optind = 0; /* full re-initialisation: fuseboxctl may have parsed first */
	/* '+': stop at COMMAND so its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+m:jo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->mount = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "fuseboxctl reqstat: no COMMAND given\n");
		usage(stderr);
		return -EINVAL;
	}
	o->command = argv + optind;
	return 0;
}

static int attach_counter(const char *mount, struct fusereq **out)
{
	_cleanup_(fusereq_destroyp) struct fusereq *fr = NULL;
	int r;

	r = fusereq_open(&fr);
	if (r < 0) {
		fprintf(stderr, "fuseboxctl reqstat: cannot open the FUSE request counter: %s\n",
			strerror(-r));
		return r;
	}
	if (mount) {
		struct statfs sfs;
		struct stat st;

		if (stat(mount, &st) < 0 || statfs(mount, &sfs) < 0) {
			r = -errno;
			fprintf(stderr, "fuseboxctl reqstat: --mount %s: %s\n", mount,
				strerror(-r));
			return r;
		}
		if (sfs.f_type != FUSE_SUPER_MAGIC) {
			fprintf(stderr,
				"fuseboxctl reqstat: --mount %s is not on a FUSE file system\n",
				mount);
			return -EINVAL;
		}
		r = fusereq_set_dev(fr, st.st_dev);
		if (r < 0) {
			fprintf(stderr, "fuseboxctl reqstat: --mount %s: device %u:%u: %s\n", mount,
				major(st.st_dev), minor(st.st_dev), strerror(-r));
			return r;
		}
	}
	r = fusereq_load(fr);
	if (r == -EOPNOTSUPP) {
		fprintf(stderr, "fuseboxctl reqstat: this kernel has no FUSE tracepoints "
				"(tp_btf/fuse_request_send)\n");
		return r;
	}
	if (r >= 0)
		r = fusereq_attach(fr);
	if (r < 0) {
		fprintf(stderr,
			"fuseboxctl reqstat: cannot load the FUSE request counter: %s "
			"(FUSEBOX_BPF_DEBUG=1 shows libbpf's log)\n",
			strerror(-r));
		return r;
	}
	*out = TAKE_PTR(fr);
	return 0;
}

/*
 * Run argv, with SIGINT/SIGQUIT left to it while we wait (as system(3)), and
 * return its exit status in the shell's convention.
 */
static int run_command(char **argv)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	posix_spawnattr_t attr;
	sigset_t sigdef;
	pid_t pid;
	int r, status;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigemptyset(&sigdef);
	if (old_int.sa_handler != SIG_IGN)
		sigaddset(&sigdef, SIGINT);
	if (old_quit.sa_handler != SIG_IGN)
		sigaddset(&sigdef, SIGQUIT);

	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &sigdef);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		fprintf(stderr, "fuseboxctl reqstat: cannot run %s: %s\n", argv[0], strerror(r));
		status = r == ENOENT ? 127 : 126;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "fuseboxctl reqstat: waiting for %s: %m\n", argv[0]);
			status = EXIT_REQSTAT_FAILED;
			goto out;
		}
	}
	if (WIFEXITED(status))
		status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		status = 128 + WTERMSIG(status);
	else
		status = EXIT_REQSTAT_FAILED;
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return status;
}

static void totals(const struct fusereq_stat *st, __u64 *sent, __u64 *ended, __u64 *errors)
{
	*sent = *ended = *errors = 0;
	for (unsigned int op = 0; op < FUSEREQ_OP_MAX; op++) {
		*sent += st[op].sent;
		*ended += st[op].ended;
		*errors += st[op].errors;
	}
}

/*
 * Requests the command's exit queued (the last RELEASE goes out in the
 * background) may still be in flight: wait, bounded, until every sent
 * request has ended.
 */
static int read_settled(struct fusereq *fr, struct fusereq_stat *st)
{
	const struct timespec step = {.tv_nsec = SETTLE_STEP_MS * 1000000L};
	__u64 sent, ended, errors;
	int r;

	for (int waited = 0;; waited += SETTLE_STEP_MS) {
		r = fusereq_read(fr, st, FUSEREQ_OP_MAX);
		if (r < 0)
			return r;
		totals(st, &sent, &ended, &errors);
		if (ended >= sent || waited >= SETTLE_MAX_MS)
			return 0;
		nanosleep(&step, NULL);
	}
}

static double mean_us(const struct fusereq_stat *s)
{
	return s->timed ? (double)s->lat_ns / (double)s->timed / 1000.0 : 0.0;
}

static const char *slot_name(unsigned int op, char *buf, size_t len)
{
	const char *name = fusereq_op_name(op);

	if (name)
		return name;
	snprintf(buf, len, "OP_%u", op);
	return buf;
}

static void print_text(FILE *f, const struct reqstat_opts *o, const struct fusereq_stat *st)
{
	__u64 sent, ended, errors;
	char buf[16];

	totals(st, &sent, &ended, &errors);
	fprintf(f, "FUSE requests on %s while running:", o->mount ? o->mount : "all connections");
	for (char **a = o->command; *a; a++)
		fprintf(f, " %s", *a);
	fprintf(f, "\n%-20s %10s %8s %10s\n", "opcode", "count", "errors", "mean_us");
	for (unsigned int op = 0; op < FUSEREQ_OP_MAX; op++) {
		if (!st[op].sent && !st[op].ended)
			continue;
		fprintf(f, "%-20s %10llu %8llu %10.1f\n", slot_name(op, buf, sizeof(buf)),
			(unsigned long long)st[op].sent, (unsigned long long)st[op].errors,
			mean_us(&st[op]));
	}
	fprintf(f, "%-20s %10llu %8llu\n", "total", (unsigned long long)sent,
		(unsigned long long)errors);
	fprintf(f, "(FORGET, BATCH_FORGET and INTERRUPT bypass the tracepoint: not counted)\n");
}

static int print_json(FILE *f, const struct reqstat_opts *o, const struct fusereq_stat *st,
		      int exit_status)
{
	json_t *root, *cmd, *reqs;
	__u64 sent, ended, errors;
	char buf[16];
	int r;

	totals(st, &sent, &ended, &errors);
	cmd = json_array();
	reqs = json_object();
	for (char **a = o->command; *a; a++)
		json_array_append_new(cmd, json_string(*a));
	for (unsigned int op = 0; op < FUSEREQ_OP_MAX; op++) {
		if (!st[op].sent && !st[op].ended)
			continue;
		json_object_set_new(reqs, slot_name(op, buf, sizeof(buf)),
				    json_pack("{s:I,s:I,s:I,s:f}", "opcode", (json_int_t)op,
					      "count", (json_int_t)st[op].sent, "errors",
					      (json_int_t)st[op].errors, "mean_us",
					      mean_us(&st[op])));
	}
	root = json_pack("{s:s?,s:o,s:i,s:o,s:I,s:I,s:[sss]}", "mount", o->mount, "command", cmd,
			 "exit_status", exit_status, "requests", reqs, "total", (json_int_t)sent,
			 "errors", (json_int_t)errors, "untraced", "FORGET", "BATCH_FORGET",
			 "INTERRUPT");
	if (!root)
		return -ENOMEM;
	r = json_dumpf(root, f, JSON_INDENT(2));
	json_decref(root);
	if (r < 0)
		return -EIO;
	fputc('\n', f);
	return 0;
}

int ctl_reqstat(int argc, char **argv)
{
	_cleanup_(fusereq_destroyp) struct fusereq *fr = NULL;
	_cleanup_fclose_ FILE *outfile = NULL;
	struct fusereq_stat st[FUSEREQ_OP_MAX];
	struct reqstat_opts o = {};
	FILE *out = stderr;
	int r, status;

	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : EXIT_REQSTAT_FAILED;
	if (o.output) {
		outfile = fopen(o.output, "we");
		if (!outfile) {
			fprintf(stderr, "fuseboxctl reqstat: --output %s: %m\n", o.output);
			return EXIT_REQSTAT_FAILED;
		}
		out = outfile;
	}
	if (attach_counter(o.mount, &fr) < 0)
		return EXIT_REQSTAT_FAILED;

	status = run_command(o.command);

	r = read_settled(fr, st);
	if (r < 0) {
		fprintf(stderr, "fuseboxctl reqstat: reading the counters: %s\n", strerror(-r));
		return EXIT_REQSTAT_FAILED;
	}
	if (o.json)
		r = print_json(out, &o, st, status);
	else
		print_text(out, &o, st);
	if (r < 0 || fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "fuseboxctl reqstat: writing the summary to %s failed\n",
			o.output ? o.output : "stderr");
		return EXIT_REQSTAT_FAILED;
	}
	return status;
}
