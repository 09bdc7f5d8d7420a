// SPDX-License-Identifier: GPL-2.0-only
/*
 * fsdiff: run one seeded sequence of operations on a reference tree and on a
 * tree under test, compare every result and, now and then, the whole trees.
 *
 *   fsdiff --ref DIR --test DIR [--seed N] [--ops N] [--profile ro|rw]
 *          [--check-every N] [--strict | --allow NAME[,NAME...]]
 *          [--log FILE] [--replay FILE] [-v]
 *   fsdiff --build-tree DIR --seed N [--layers K]
 *   fsdiff --print-ops --seed N [--ops N] [--profile ro|rw]
 *
 * Exit status: 0 no divergence, 1 a divergence (reported on stdout with the
 * seed, the op index, the op and both results), 2 usage or setup error.
 */
#include "fsdiff.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>

struct opts {
	const char *ref, *test, *log, *replay, *build;
	uint64_t seed;
	unsigned long ops, check_every;
	unsigned int layers;
	enum fd_profile profile;
	bool strict, verbose, print_ops;
	unsigned int allowed;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fsdiff --ref DIR --test DIR [--seed N] [--ops N] [--profile ro|rw]\n"
		   "              [--check-every N] [--strict | --allow NAME[,NAME...]]\n"
		   "              [--log FILE] [--replay FILE] [-v]\n"
		   "       fsdiff --build-tree DIR --seed N [--layers K]\n"
		   "       fsdiff --print-ops --seed N [--ops N] [--profile ro|rw]\n"
		   "Runs one seeded sequence of file system operations on --ref and --test and\n"
		   "compares every result and the whole trees. Exit 0: no divergence; 1: a\n"
		   "divergence (reported); 2: usage or setup error.\n"
		   "Equivalences (see compare.c) rename-dir-exdev, dir-nlink, copy-fallback are\n"
		   "on unless --strict; sparse-filled, fifo-mtime, unlinked-nlink, seek-dense,\n"
		   "orphan-copyup only with --allow (known deviations of peers, not accepted\n"
		   "by default).\n"
		   "--build-tree writes DIR/ref (the merged view) and DIR/l0..l<K-1> (layers,\n"
		   "l0 top-most) from the seed.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -EINVAL : 0;
}

static int parse_allow(const char *list, unsigned int *out)
{
	char buf[256], *tok, *save = NULL;
	int e;

	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (e = 0; e < EQ__COUNT; e++)
			if (streq(tok, equiv_name((enum equiv)e)))
				break;
		if (e == EQ__COUNT)
			return -EINVAL;
		*out |= 1u << e;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_REF = 256,
		O_TEST,
		O_SEED,
		O_OPS,
		O_PROFILE,
		O_STRICT,
		O_LOG,
		O_REPLAY,
		O_BUILD,
		O_LAYERS,
		O_CHECK,
		O_PRINT,
		O_ALLOW
	};
	static const struct option lo[] = {
	    {"ref", required_argument, NULL, O_REF},
	    {"test", required_argument, NULL, O_TEST},
	    {"seed", required_argument, NULL, O_SEED},
	    {"ops", required_argument, NULL, O_OPS},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"strict", no_argument, NULL, O_STRICT},
	    {"log", required_argument, NULL, O_LOG},
	    {"replay", required_argument, NULL, O_REPLAY},
	    {"build-tree", required_argument, NULL, O_BUILD},
	    {"layers", required_argument, NULL, O_LAYERS},
	    {"check-every", required_argument, NULL, O_CHECK},
	    {"print-ops", no_argument, NULL, O_PRINT},
	    {"allow", required_argument, NULL, O_ALLOW},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->ops = 1000;
	o->check_every = 500;
	o->layers = 1;
	o->profile = PROFILE_RW;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case O_REF:
			o->ref = optarg;
			break;
		case O_TEST:
			o->test = optarg;
			break;
		case O_SEED:
			if (parse_u64(optarg, &o->seed) < 0)
				goto bad;
			break;
		case O_OPS:
			if (parse_u64(optarg, &v) < 0 || v > 100000000)
				goto bad;
			o->ops = (unsigned long)v;
			break;
		case O_CHECK:
			if (parse_u64(optarg, &v) < 0 || v > 100000000)
				goto bad;
			o->check_every = (unsigned long)v;
			break;
		case O_LAYERS:
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > 16)
				goto bad;
			o->layers = (unsigned int)v;
			break;
		case O_PROFILE:
			if (streq(optarg, "rw"))
				o->profile = PROFILE_RW;
			else if (streq(optarg, "ro"))
				o->profile = PROFILE_READONLY;
			else
				goto bad;
			break;
		case O_STRICT:
			o->strict = true;
			break;
		case O_ALLOW:
			if (parse_allow(optarg, &o->allowed) < 0)
				goto bad;
			break;
		case O_LOG:
			o->log = optarg;
			break;
		case O_REPLAY:
			o->replay = optarg;
			break;
		case O_BUILD:
			o->build = optarg;
			break;
		case O_PRINT:
			o->print_ops = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fsdiff: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->build && !o->print_ops && (!o->ref || !o->test)) {
		fprintf(stderr,
			"fsdiff: --ref and --test are required (or --build-tree / --print-ops)\n");
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "fsdiff: bad value '%s' for --%s\n", optarg, lo[c - O_REF].name);
	return -EINVAL;
}

/* Text and back must give the same op: the log must replay what ran. */
static int check_roundtrip(const struct op *op, const char *text)
{
	char again[1024], err[128];
	struct op back;

	if (op_parse(text, &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "fsdiff: internal error: '%s' does not parse: %s\n", text, err);
		return -EINVAL;
	}
	op_format(&back, again, sizeof(again));
	if (!streq(text, again)) {
		fprintf(stderr, "fsdiff: internal error: '%s' parses back as '%s'\n", text, again);
		return -EINVAL;
	}
	return 0;
}

static void print_summary(const struct run *run, unsigned long ops)
{
	int e;

	printf("fsdiff: seed=%" PRIu64 " profile=%s ops=%lu: no divergence", run->seed,
	       run->profile == PROFILE_RW ? "rw" : "ro", ops);
	printf(" (equivalences:");
	for (e = 0; e < EQ__COUNT; e++)
		printf(" %s=%lu", equiv_name((enum equiv)e), run->equiv_used[e]);
	printf("%s)\n", run->strict ? ", strict" : "");
}

static void print_verbose(const struct run *run, const char *text)
{
	printf("#%lu %s -> ref %lld %s / test %lld %s\n", run->index, text, run->rref.ret,
	       run->rref.err ? errno_name(run->rref.err) : "", run->rtest.ret,
	       run->rtest.err ? errno_name(run->rtest.err) : "");
}

/* One op on both sides (or a tree check); false on a divergence. */
static bool step(struct run *run, const struct op *op, const char *text, FILE *log)
{
	if (log) {
		fprintf(log, "%s\n", text);
		fflush(log);
	}
	if (op->kind == OP_CHECK)
		return compare_trees(run, op);
	exec_op(run, &run->ref, op, &run->rref);
	exec_op(run, &run->test, op, &run->rtest);
	if (run->verbose)
		print_verbose(run, text);
	return compare_results(run, op);
}

static int run_ops(struct opts *o)
{
	struct run run = {.seed = o->seed,
			  .profile = o->profile,
			  .strict = o->strict,
			  .allowed = o->allowed,
			  .verbose = o->verbose};
	_cleanup_fclose_ FILE *log = NULL, *replay = NULL;
	struct op check = {.kind = OP_CHECK}, op;
	char text[1024], line[1200], err[128];
	struct rng rng;
	unsigned long n = 0;
	int r, status = 0;

	umask(0);
	/* A write to a FIFO whose readers are gone must fail with EPIPE, as
	 * the op's result, not end the tester. */
	signal(SIGPIPE, SIG_IGN);
	if ((r = side_open(&run.ref, "ref", o->ref)) < 0 ||
	    (r = side_open(&run.test, "test", o->test)) < 0) {
		fprintf(stderr, "fsdiff: cannot open %s: %s\n", run.ref.root < 0 ? o->ref : o->test,
			strerror(-r));
		return 2;
	}
	run.ref.seek_data = run.test.seek_data = true;
	result_init(&run.rref);
	result_init(&run.rtest);
	if (o->log) {
		log = fopen(o->log, "we");
		if (!log) {
			fprintf(stderr, "fsdiff: cannot write %s: %s\n", o->log, strerror(errno));
			status = 2;
			goto out;
		}
		fprintf(log, "# fsdiff seed=%" PRIu64 " profile=%s ref=%s test=%s\n", o->seed,
			o->profile == PROFILE_RW ? "rw" : "ro", o->ref, o->test);
	}
	if (o->replay) {
		replay = fopen(o->replay, "re");
		if (!replay) {
			fprintf(stderr, "fsdiff: cannot read %s: %s\n", o->replay, strerror(errno));
			status = 2;
			goto out;
		}
	}
	rng_seed(&rng, o->seed);

	/* The trees must agree before anything runs. */
	run.index = 0;
	if (!step(&run, &check, "check", log)) {
		status = 1;
		goto report;
	}
	for (;;) {
		if (replay) {
			if (!fgets(line, sizeof(line), replay))
				break;
			line[strcspn(line, "\r\n")] = '\0';
			if (!line[0] || line[0] == '#')
				continue;
			if (op_parse(line, &op, err, sizeof(err)) < 0) {
				fprintf(stderr, "fsdiff: %s: '%s': %s\n", o->replay, line, err);
				status = 2;
				goto out;
			}
		} else {
			if (n >= o->ops)
				break;
			gen_op(&rng, o->profile, &op);
		}
		op_format(&op, text, sizeof(text));
		if (!replay && check_roundtrip(&op, text) < 0) {
			status = 2;
			goto out;
		}
		/* A logged check replays as a check: it takes no op index. */
		run.index = op.kind == OP_CHECK ? n : ++n;
		if (!step(&run, &op, text, log)) {
			status = 1;
			goto report;
		}
		if (op.kind != OP_CHECK && o->check_every && n % o->check_every == 0 &&
		    !step(&run, &check, "check", log)) {
			status = 1;
			goto report;
		}
	}
	if (!step(&run, &check, "check", log)) {
		status = 1;
		goto report;
	}
	print_summary(&run, n);
	goto out;
report:
	if (o->log)
		printf("  replay: fsdiff --ref REF --test TEST --replay %s (on fresh trees)\n",
		       o->log);
	else
		printf("  replay: rerun with --log FILE, then --replay FILE (on fresh trees)\n");
out:
	fflush(stdout);
	side_close(&run.ref);
	side_close(&run.test);
	result_free(&run.rref);
	result_free(&run.rtest);
	return status;
}

static int print_ops(const struct opts *o)
{
	struct rng rng;
	struct op op;
	char text[1024];
	unsigned long i;

	rng_seed(&rng, o->seed);
	for (i = 0; i < o->ops; i++) {
		gen_op(&rng, o->profile, &op);
		op_format(&op, text, sizeof(text));
		if (check_roundtrip(&op, text) < 0)
			return 2;
		printf("%s\n", text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int r;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (o.build) {
		r = build_tree(o.build, o.seed, o.layers);
		if (r < 0) {
			fprintf(stderr, "fsdiff: building %s (seed %" PRIu64 ", %u layers): %s\n",
				o.build, o.seed, o.layers, strerror(-r));
			return 2;
		}
		return 0;
	}
	if (o.print_ops)
		return print_ops(&o);
	return run_ops(&o);
}
