/*
 * tidepool-render: process audio files offline through the daemon's chain.
 *
 *   tidepool-render [-c CONFIG] [-b FRAMES] [-q] INPUT OUTPUT
 *   tidepool-render [-c CONFIG] [-b FRAMES] [-q] [-j JOBS] -o OUTDIR INPUT...
 *
 * Without -c the chain is empty: a pass-through that converts the format.
 * Exit status: 0 when every file rendered, 1 when any failed, 2 for usage.
 */
#include <ck_pr.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/render.h"

#define MAX_JOBS 16

/*
 * Temporary outputs being written, for the SIGINT/SIGTERM handler to remove:
 * the one piece of global state, because a signal handler can reach no other.
 */
static const char *temp_paths[MAX_JOBS];	/* ck_pr */
static int interrupted;				/* ck_pr */

struct batch {
	const struct config *cfg;
	char **inputs;
	int ninputs;
	const char *outdir;
	const char *single_out;
	unsigned block_frames;
	int quiet;
	int next;		/* ck_pr: next input to take */
	int failures;		/* ck_pr */
	pthread_mutex_t print_lock;	/* keeps summary lines whole */
};

static void
on_signal(int sig)
{
	const char *p;
	int i;

	(void)sig;
	/* ck_pr's loads and stores are plain lock-free moves: safe here. */
	ck_pr_store_int(&interrupted, 1);
	for (i = 0; i < MAX_JOBS; i++)
		if ((p = ck_pr_load_ptr(&temp_paths[i])) != NULL)
			unlink(p);
	/* Threads may still be writing; make sure nothing is renamed. */
	_exit(130);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tidepool-render [-c CONFIG] [-b FRAMES] [-q] INPUT OUTPUT\n"
	    "       tidepool-render [-c CONFIG] [-b FRAMES] [-q] [-j JOBS] "
	    "-o OUTDIR INPUT...\n"
	    "  -c CONFIG  chain from CONFIG's [stage.*] sections "
	    "(default: none, a pass-through)\n"
	    "  -b FRAMES  frames per block, 16..65536 (default 1024); the "
	    "output does not depend on it\n"
	    "  -q         no progress and no summary\n"
	    "  -j JOBS    files rendered at once with -o (default 1, at most "
	    "%d)\n"
	    "  -o OUTDIR  write each INPUT to OUTDIR under its own name\n"
	    "Output format comes from OUTPUT's extension (.wav .flac .ogg "
	    ".aiff ...).\n", MAX_JOBS);
}

static double
to_dbfs(float v)
{
	return v > 0 ? 20.0 * log10(v) : -INFINITY;
}

static void
print_summary(const char *out, const struct render_result *r)
{
	double secs = r->rate > 0 ? (double)r->frames / r->rate : 0;

	fprintf(stderr, "%s: %llu frames, %.2f s of audio in %.2f s wall, "
	    "%.1fx realtime, peak %.1f dBFS, %llu clipped; "
	    "per 64 frames p50 %.1f us p99 %.1f us max %.1f us of a %.0f us "
	    "budget (%.2f%% at p99)\n", out, (unsigned long long)r->frames,
	    secs, r->wall_s, r->wall_s > 0 ? secs / r->wall_s : 0,
	    to_dbfs(r->peak), (unsigned long long)r->clipped,
	    (double)r->per64.p50 / 1e3, (double)r->per64.p99 / 1e3,
	    (double)r->per64.max / 1e3, r->budget64_ns / 1e3,
	    100.0 * (double)r->per64.p99 / r->budget64_ns);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int
render_one(struct batch *b, int slot, const char *in, const char *out)
{
	struct render_opts o;
	struct render_result r;
	char err[1024];
	int rc;

	if (same_file(in, out)) {
		fprintf(stderr, "tidepool-render: %s: output is the input\n",
		    out);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.cfg = b->cfg;
	o.block_frames = b->block_frames;
	o.progress = !b->quiet && b->single_out != NULL && isatty(2);
	o.temp_slot = &temp_paths[slot];
	o.interrupted = &interrupted;
	rc = render_file(in, out, &o, &r, err, sizeof(err));
	pthread_mutex_lock(&b->print_lock);
	if (rc != 0)
		fprintf(stderr, "tidepool-render: %s\n", err);
	else if (!b->quiet)
		print_summary(out, &r);
	pthread_mutex_unlock(&b->print_lock);
	return rc;
}

struct worker {
	struct batch *batch;
	int slot;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct batch *b = w->batch;
	char out[4096], *copy;
	int i;

	while ((i = ck_pr_faa_int(&b->next, 1)) < b->ninputs) {
		copy = strdup(b->inputs[i]);
		if (copy == NULL) {
			ck_pr_inc_int(&b->failures);
			continue;
		}
		snprintf(out, sizeof(out), "%s/%s", b->outdir, basename(copy));
		free(copy);
		if (render_one(b, w->slot, b->inputs[i], out) != 0)
			ck_pr_inc_int(&b->failures);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct batch b;
	struct config *cfg;
	struct sigaction sa;
	struct worker workers[MAX_JOBS];
	pthread_t threads[MAX_JOBS];
	const char *cfgpath = NULL;
	unsigned jobs = 1, u;
	char err[1024];
	int ch, i;

	memset(&b, 0, sizeof(b));
	b.block_frames = 1024;
	while ((ch = getopt(argc, argv, "c:b:qj:o:h")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'b':
			if (config_parse_uint(optarg, &u) != 0 || u < 16 ||
			    u > 65536) {
				fprintf(stderr, "tidepool-render: -b %s: must "
				    "be between 16 and 65536\n", optarg);
				return 2;
			}
			b.block_frames = u;
			break;
		case 'q':
			b.quiet = 1;
			break;
		case 'j':
			if (config_parse_uint(optarg, &jobs) != 0 ||
			    jobs < 1 || jobs > MAX_JOBS) {
				fprintf(stderr, "tidepool-render: -j %s: must "
				    "be between 1 and %d\n", optarg, MAX_JOBS);
				return 2;
			}
			break;
		case 'o':
			b.outdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (b.outdir == NULL && argc != 2) {
		usage(stderr);
		return 2;
	}
	if (b.outdir != NULL && argc < 1) {
		usage(stderr);
		return 2;
	}
	if (cfgpath != NULL)
		cfg = config_load(cfgpath, err, sizeof(err));
	else
		cfg = config_parse("", 0, "(no config)", err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tidepool-render: %s\n", err);
		return 1;
	}
	b.cfg = cfg;
	pthread_mutex_init(&b.print_lock, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (b.outdir == NULL) {
		b.single_out = argv[1];
		b.failures = render_one(&b, 0, argv[0], argv[1]) != 0;
	} else {
		b.inputs = argv;
		b.ninputs = argc;
		if ((int)jobs > argc)
			jobs = (unsigned)argc;
		for (u = 0; u < jobs; u++) {
			workers[u].batch = &b;
			workers[u].slot = (int)u;
			pthread_create(&threads[u], NULL, worker_main,
			    &workers[u]);
		}
		for (u = 0; u < jobs; u++)
			pthread_join(threads[u], NULL);
	}
	config_free(cfg);
	i = ck_pr_load_int(&b.failures);
	return i == 0 ? 0 : 1;
}
