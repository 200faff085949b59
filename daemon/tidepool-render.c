/*
 * tidepool-render: process audio files offline through the daemon's chain.
 *
 *   tidepool-render [OPTIONS] [FORMAT] INPUT [FORMAT] OUTPUT
 *   tidepool-render [OPTIONS] -o OUTDIR [FORMAT] INPUT... [FORMAT]
 *   tidepool-render --check -c CONFIG [FORMAT]
 *
 * FORMAT options (-t -r -e --channels --bits) describe the file named next,
 * as sox's do; -c and -b keep tidepool's meaning (config, block size).
 * "-" is standard input or output.  Without -c the chain is empty: a
 * pass-through that converts the format.  Exit status: 0 when every file
 * rendered (or the config checked), 1 when any failed, 2 for usage.
 */
#include <ck_pr.h>
#include <dirent.h>
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

#include <sndfile.h>

#include "config/config.h"
#include "daemon/cfgcheck.h"
#include "daemon/render.h"
#include "daemon/sfformat.h"
#include "daemon/sfin.h"
#include "daemon/sfout.h"
#include "daemon/version.h"

#define MAX_JOBS 16

/*
 * Temporary outputs being written, for the SIGINT/SIGTERM handler to remove:
 * the one piece of global state, because a signal handler can reach no other.
 */
static const char *temp_paths[MAX_JOBS];	/* ck_pr */
static int interrupted;				/* ck_pr */

/* sox-style format options: they describe the file named next. */
struct fmt {
	const char *type;	/* -t; NULL: from the header or extension */
	unsigned rate;		/* -r; 0: not given */
	unsigned channels;	/* --channels; 0: not given */
	unsigned bits;		/* --bits; 0: not given */
	int encoding;		/* -e; SFFORMAT_ENC_ANY: not given */
};

/* The command line, parsed. */
struct cli {
	const char *cfgpath;	/* -c; NULL: an empty chain */
	const char *outdir;	/* -o: batch mode */
	unsigned block_frames;	/* -b */
	unsigned jobs;		/* -j */
	int quiet, checking, dither, recursive, live_partitions;
	char **files;		/* the names, in order */
	struct fmt *fmts;	/* fmts[i]: given before files[i] */
	int nfiles;
	struct fmt trailing;	/* given after the last file */
	struct fmt infmt, outfmt;	/* what applies, once checked */
};

/* One input and where it goes. */
struct pair {
	char *in, *out;
};

struct batch {
	const struct config *cfg;
	struct render_opts base;	/* what every file shares */
	struct pair *pairs;
	int npairs;
	int single;		/* one INPUT OUTPUT: progress allowed */
	int quiet;
	int next;		/* ck_pr: next pair to take */
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
	    "usage: tidepool-render [OPTIONS] [FORMAT] INPUT [FORMAT] OUTPUT\n"
	    "       tidepool-render [OPTIONS] -o OUTDIR [FORMAT] INPUT... "
	    "[FORMAT]\n"
	    "       tidepool-render --check -c CONFIG [FORMAT]\n"
	    "  -c, --config CONFIG  chain from CONFIG's [stage.*] sections "
	    "(default: none)\n"
	    "  -b, --block FRAMES   frames per block, 16..65536 (default "
	    "1024); output is the same\n"
	    "  -q, --quiet          no progress and no summary\n"
	    "  -j, --jobs JOBS      files rendered at once with -o (default "
	    "1, at most %d)\n"
	    "  -o, --outdir OUTDIR  write each INPUT to OUTDIR under its own "
	    "name; an INPUT\n"
	    "                       that is a folder stands for its audio "
	    "files\n"
	    "  -R, --recursive      and for those of its subfolders\n"
	    "      --no-dither      round to 16/24 bits without TPDF dither\n"
	    "      --live-partitions  convolve as tidepoold does (zero "
	    "latency, slower)\n"
	    "      --check          build CONFIG's chain, print it, exit\n"
	    "  -h, --help; --version\n"
	    "FORMAT, as sox's, for the file named next (- is stdin/stdout):\n"
	    "  -t, --type TYPE      wav flac ogg opus aiff au caf w64 raw mp3 "
	    "...\n"
	    "  -r, --rate RATE      raw input's rate; for an output, resample "
	    "to it\n"
	    "      --channels N     raw input's channels; an output's must "
	    "match the chain\n"
	    "      --bits N         sample width: 8 16 24 32 (64 float)\n"
	    "  -e, --encoding ENC   signed-integer unsigned-integer "
	    "floating-point a-law u-law\n"
	    "Without FORMAT the output's type comes from its extension "
	    "(.wav .flac .ogg ...).\n", MAX_JOBS);
}

/* A whole number in [min, max] for option opt; 0, or -1 said why. */
static int
parse_range(const char *opt, const char *text, unsigned min, unsigned max,
    unsigned *out)
{
	if (config_parse_uint(text, out) != 0 || *out < min || *out > max) {
		fprintf(stderr, "tidepool-render: %s %s: must be between %u "
		    "and %u\n", opt, text, min, max);
		return -1;
	}
	return 0;
}

/* A FORMAT option into f; 0, 1 if ch is no FORMAT option, -1 on error. */
static int
parse_fmt_option(int ch, const char *arg, struct fmt *f)
{
	switch (ch) {
	case 't':
		if (sfformat_type(arg) == 0) {
			fprintf(stderr, "tidepool-render: -t %s: not a type "
			    "libsndfile knows (wav, flac, ogg, aiff, au, "
			    "raw ...)\n", arg);
			return -1;
		}
		f->type = arg;
		return 0;
	case 'r':
		return parse_range("-r", arg, 1000, 768000, &f->rate);
	case 'C':
		return parse_range("--channels", arg, 1, 64, &f->channels);
	case 'B':
		return parse_range("--bits", arg, 8, 64, &f->bits);
	case 'e':
		f->encoding = sfformat_encoding(arg);
		if (f->encoding < 0) {
			fprintf(stderr, "tidepool-render: -e %s: must be "
			    "signed-integer, unsigned-integer, floating-point, "
			    "a-law or u-law\n", arg);
			return -1;
		}
		return 0;
	}
	return 1;
}

static int
fmt_given(const struct fmt *f)
{
	return f->type != NULL || f->rate != 0 || f->channels != 0 ||
	    f->bits != 0 || f->encoding != SFFORMAT_ENC_ANY;
}

/* tidepool's own options: -1 to go on, else the exit status. */
static int
parse_own_option(int ch, const char *arg, struct cli *c)
{
	switch (ch) {
	case 'c':
		c->cfgpath = arg;
		return -1;
	case 'b':
		return parse_range("-b", arg, 16, 65536, &c->block_frames) ?
		    2 : -1;
	case 'q':
		c->quiet = 1;
		return -1;
	case 'j':
		return parse_range("-j", arg, 1, MAX_JOBS, &c->jobs) ? 2 : -1;
	case 'o':
		c->outdir = arg;
		return -1;
	case 'R':
		c->recursive = 1;
		return -1;
	case 'D':
		c->dither = 0;
		return -1;
	case 'K':
		c->checking = 1;
		return -1;
	case 'L':
		c->live_partitions = 1;
		return -1;
	case 'h':
		usage(stdout);
		return 0;
	case 'V':
		printf("tidepool-render (tidepool) %s\n", TIDEPOOL_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}

static void
add_name(struct cli *c, char *name, struct fmt *pending)
{
	c->fmts[c->nfiles] = *pending;
	c->files[c->nfiles++] = name;
	memset(pending, 0, sizeof(*pending));
}

/*
 * Options and names in order ("-" first in the option string: every name
 * comes back as ch 1), so that a FORMAT applies to the name that follows.
 * Returns -1 to go on, else the exit status.
 */
static int
parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "block", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "outdir", required_argument, NULL, 'o' },
		{ "recursive", no_argument, NULL, 'R' },
		{ "type", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'C' },
		{ "bits", required_argument, NULL, 'B' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "no-dither", no_argument, NULL, 'D' },
		{ "live-partitions", no_argument, NULL, 'L' },
		{ "check", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct fmt pending;
	int ch, rc;

	memset(&pending, 0, sizeof(pending));
	while ((ch = getopt_long(argc, argv, "-c:b:qj:o:Rt:r:e:h", longopts,
	    NULL)) != -1) {
		if (ch == 1) {
			add_name(c, optarg, &pending);
			continue;
		}
		rc = parse_fmt_option(ch, optarg, &pending);
		if (rc < 0)
			return 2;
		if (rc == 1 && (rc = parse_own_option(ch, optarg, c)) >= 0)
			return rc;
	}
	/* After "--": names only. */
	while (optind < argc)
		add_name(c, argv[optind++], &pending);
	c->trailing = pending;
	return -1;
}

/* Which FORMAT applies to the inputs and which to the outputs. */
static int
assign_formats(struct cli *c)
{
	int i;

	if (c->checking) {
		c->infmt = c->nfiles > 0 ? c->fmts[0] : c->trailing;
		return c->nfiles == 0 || (c->nfiles == 1 &&
		    !fmt_given(&c->trailing)) ? 0 : -1;
	}
	if (c->outdir == NULL) {
		if (c->nfiles != 2 || fmt_given(&c->trailing))
			return -1;
		c->infmt = c->fmts[0];
		c->outfmt = c->fmts[1];
		return 0;
	}
	for (i = 1; i < c->nfiles; i++)
		if (fmt_given(&c->fmts[i])) {
			fprintf(stderr, "tidepool-render: with -o, FORMAT "
			    "options for the inputs go before the first, for "
			    "the outputs after the last (%s)\n", c->files[i]);
			return -1;
		}
	c->infmt = c->fmts[0];
	c->outfmt = c->trailing;
	return c->nfiles >= 1 ? 0 : -1;
}

/*
 * The input's spec from f: the type alone for a file with a header (it
 * says the rest), everything for raw; NULL when nothing was given.
 */
static int
input_spec(const struct fmt *f, struct sfin_spec *spec,
    const struct sfin_spec **out)
{
	char why[256];
	int major = f->type != NULL ? sfformat_type(f->type) : 0;

	*out = NULL;
	if (major != SF_FORMAT_RAW) {
		if (f->rate != 0 || f->channels != 0 || f->bits != 0 ||
		    f->encoding != SFFORMAT_ENC_ANY) {
			fprintf(stderr, "tidepool-render: -r, --channels, "
			    "--bits and -e describe a raw input (-t raw); a "
			    "file with a header says them itself\n");
			return -1;
		}
		memset(spec, 0, sizeof(*spec));
		spec->format = major;
		*out = major != 0 ? spec : NULL;
		return 0;
	}
	if (f->rate == 0 || f->channels == 0 || (f->bits == 0 &&
	    f->encoding == SFFORMAT_ENC_ANY)) {
		fprintf(stderr, "tidepool-render: -t raw needs -r RATE, "
		    "--channels N and --bits N or -e ENCODING\n");
		return -1;
	}
	spec->format = sfformat_pick(SF_FORMAT_RAW, f->bits,
	    (enum sfformat_encoding)f->encoding, (int)f->rate,
	    (int)f->channels, why, sizeof(why));
	if (spec->format == 0) {
		fprintf(stderr, "tidepool-render: raw input: %s\n", why);
		return -1;
	}
	spec->rate = (int)f->rate;
	spec->channels = (int)f->channels;
	*out = spec;
	return 0;
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

	fprintf(stderr, "%s: %llu frames", out, (unsigned long long)r->frames);
	if (r->estimated && r->promised >= 0 &&
	    (uint64_t)r->promised != r->frames)
		fprintf(stderr, " (the header's estimate: %lld)",
		    (long long)r->promised);
	fprintf(stderr, ", %.2f s of audio in %.2f s wall, "
	    "%.1fx realtime, peak %.1f dBFS, %llu clipped; "
	    "per 64 frames p50 %.1f us p99 %.1f us max %.1f us of a %.0f us "
	    "budget (%.2f%% at p99)\n", secs, r->wall_s,
	    r->wall_s > 0 ? secs / r->wall_s : 0,
	    to_dbfs(r->peak), (unsigned long long)r->clipped,
	    (double)r->per64.p50 / 1e3, (double)r->per64.p99 / 1e3,
	    (double)r->per64.max / 1e3, r->budget64_ns / 1e3,
	    100.0 * (double)r->per64.p99 / r->budget64_ns);
	if (r->helper_jobs > 0)
		fprintf(stderr, "%s: %llu convolver jobs ran on a second "
		    "thread, %llu in the engine thread when due; none late\n",
		    out, (unsigned long long)r->helper_jobs,
		    (unsigned long long)r->due_jobs);
	if (r->hidden > 0)
		fprintf(stderr, "%s: convolver latency of %u frames (large "
		    "partitions) removed: the output is in step with the "
		    "input\n", out, r->hidden);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return strcmp(a, "-") != 0 && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

static int
render_one(struct batch *b, int slot, const struct pair *p)
{
	struct render_opts o = b->base;
	struct render_result r;
	char err[1024];
	int rc;

	if (same_file(p->in, p->out)) {
		fprintf(stderr, "tidepool-render: %s: output is the input\n",
		    p->out);
		return -1;
	}
	o.progress = !b->quiet && b->single && isatty(2);
	o.temp_slot = &temp_paths[slot];
	rc = render_file(p->in, p->out, &o, &r, err, sizeof(err));
	pthread_mutex_lock(&b->print_lock);
	if (rc != 0)
		fprintf(stderr, "tidepool-render: %s\n", err);
	else if (!b->quiet)
		print_summary(p->out, &r);
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
	int i;

	while ((i = ck_pr_faa_int(&b->next, 1)) < b->npairs)
		if (render_one(b, w->slot, &b->pairs[i]) != 0)
			ck_pr_inc_int(&b->failures);
	return NULL;
}

/* ---- batch mode: names in, names out ---------------------------------- */

struct names {
	char **v;
	int n, cap;
};

static int
names_add(struct names *ns, const char *dir, const char *name)
{
	char **nv;
	size_t len = strlen(dir) + strlen(name) + 2;

	if (ns->n == ns->cap) {
		nv = realloc(ns->v, sizeof(*nv) * (size_t)(ns->cap * 2 + 16));
		if (nv == NULL)
			return -1;
		ns->v = nv;
		ns->cap = ns->cap * 2 + 16;
	}
	if ((ns->v[ns->n] = malloc(len)) == NULL)
		return -1;
	snprintf(ns->v[ns->n], len, "%s%s%s", dir, dir[0] ? "/" : "", name);
	ns->n++;
	return 0;
}

/* An audio file's name: an extension libsndfile has a type for. */
static int
audio_name(const char *name)
{
	const char *ext = strrchr(name, '.');

	return name[0] != '.' && ext != NULL && sfformat_type(ext + 1) != 0;
}

/* A folder's audio files (and its subfolders' with -R), sorted. */
static int
expand_dir(struct names *ns, const char *dir, int recursive)
{
	struct dirent **list;
	struct stat st;
	char path[4096];
	int i, n, rc = 0;

	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "tidepool-render: %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (rc == 0 && list[i]->d_name[0] != '.' &&
		    stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && recursive)
				rc = expand_dir(ns, path, 1);
			else if (S_ISREG(st.st_mode) &&
			    audio_name(list[i]->d_name))
				rc = names_add(ns, dir, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* OUTDIR/NAME, NAME's extension replaced when -t names another type. */
static char *
output_name(const char *outdir, const char *in, const char *type)
{
	char *copy = strdup(in), *base, *dot, *out;
	size_t len;

	if (copy == NULL)
		return NULL;
	base = basename(copy);
	dot = strrchr(base, '.');
	if (type != NULL && dot != NULL && dot != base)
		*dot = '\0';
	len = strlen(outdir) + strlen(base) + (type ? strlen(type) : 0) + 3;
	if ((out = malloc(len)) != NULL)
		snprintf(out, len, "%s/%s%s%s", outdir, base,
		    type != NULL ? "." : "", type != NULL ? type : "");
	free(copy);
	return out;
}

static int
cmp_pairs_out(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->out,
	    ((const struct pair *)b)->out);
}

/* Two inputs, one output: refused, naming both, before any rendering. */
static int
find_clash(struct pair *pairs, int n)
{
	int i, clash = 0;

	qsort(pairs, (size_t)n, sizeof(*pairs), cmp_pairs_out);
	for (i = 1; i < n; i++)
		if (strcmp(pairs[i - 1].out, pairs[i].out) == 0) {
			fprintf(stderr, "tidepool-render: %s and %s would both "
			    "be written to %s; nothing rendered\n",
			    pairs[i - 1].in, pairs[i].in, pairs[i].out);
			clash = 1;
		}
	return clash ? -1 : 0;
}

static void
free_pairs(struct batch *b)
{
	int i;

	for (i = 0; i < b->npairs; i++) {
		free(b->pairs[i].in);
		free(b->pairs[i].out);
	}
	free(b->pairs);
}

/* The batch's pairs: folders expanded, output names made and checked. */
static int
make_pairs(const struct cli *c, struct batch *b)
{
	struct names ns;
	struct stat st;
	int i;

	memset(&ns, 0, sizeof(ns));
	for (i = 0; i < c->nfiles; i++) {
		if (strcmp(c->files[i], "-") == 0) {
			fprintf(stderr, "tidepool-render: with -o, inputs are "
			    "files or folders, not -\n");
			break;
		}
		if (stat(c->files[i], &st) == 0 && S_ISDIR(st.st_mode) ?
		    expand_dir(&ns, c->files[i], c->recursive) :
		    names_add(&ns, "", c->files[i]))
			break;
	}
	if (i < c->nfiles) {
		while (ns.n > 0)
			free(ns.v[--ns.n]);
		free(ns.v);
		return -1;
	}
	b->pairs = calloc((size_t)ns.n + 1, sizeof(*b->pairs));
	for (i = 0; i < ns.n; i++) {
		if (b->pairs == NULL) {
			free(ns.v[i]);
			continue;
		}
		/* Owned by the batch from here: free_pairs. */
		b->pairs[i].in = ns.v[i];
		b->pairs[i].out = output_name(c->outdir, ns.v[i],
		    c->outfmt.type);
		b->npairs = i + 1;
		if (b->pairs[i].out == NULL)
			break;
	}
	free(ns.v);
	if (b->pairs != NULL && i < ns.n)
		return -1;
	if (ns.n == 0)
		fprintf(stderr, "tidepool-render: no audio files to render\n");
	return b->pairs == NULL || ns.n == 0 ? -1 :
	    find_clash(b->pairs, ns.n);
}

/* ---- the modes -------------------------------------------------------- */

/* --check: the chain for the FORMAT's rate and channels, or [engine]'s. */
static int
check(const struct cli *c, const struct config *cfg)
{
	char err[1024];
	double rate = c->infmt.rate ? c->infmt.rate : cfg->engine.rate;
	unsigned ch = c->infmt.channels ? c->infmt.channels :
	    cfg->engine.channels;

	if (cfgcheck_chain(cfg, rate, ch, c->block_frames, stdout, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "tidepool-render: %s\n", err);
		return 1;
	}
	printf("%s: ok (a render runs it at the input's rate and "
	    "channels)\n", cfg->path);
	return 0;
}

static void
run_batch(struct batch *b, unsigned jobs)
{
	struct worker workers[MAX_JOBS];
	pthread_t threads[MAX_JOBS];
	unsigned u;

	if ((int)jobs > b->npairs)
		jobs = (unsigned)b->npairs;
	for (u = 0; u < jobs; u++) {
		workers[u].batch = b;
		workers[u].slot = (int)u;
		pthread_create(&threads[u], NULL, worker_main, &workers[u]);
	}
	for (u = 0; u < jobs; u++)
		pthread_join(threads[u], NULL);
}

/* Options every render shares, from the command line. */
static int
set_base(const struct cli *c, struct batch *b, struct sfin_spec *is,
    struct sfout_spec *os)
{
	struct render_opts *o = &b->base;

	if (input_spec(&c->infmt, is, &o->in_spec) != 0)
		return -1;
	memset(os, 0, sizeof(*os));
	os->major = c->outfmt.type ? sfformat_type(c->outfmt.type) : 0;
	os->bits = c->outfmt.bits;
	os->encoding = c->outfmt.encoding;
	os->dither = c->dither;
	o->out_spec = os;
	o->out_rate = c->outfmt.rate;
	o->out_channels = c->outfmt.channels;
	o->cfg = b->cfg;
	o->block_frames = c->block_frames;
	o->live_partitions = c->live_partitions;
	o->interrupted = &interrupted;
	return 0;
}

static int
render(const struct cli *c, struct batch *b)
{
	struct sfin_spec is;
	struct sfout_spec os;
	struct pair one;
	struct sigaction sa;

	if (set_base(c, b, &is, &os) != 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	pthread_mutex_init(&b->print_lock, NULL);
	b->quiet = c->quiet;
	if (c->outdir == NULL) {
		one.in = c->files[0];
		one.out = c->files[1];
		b->single = 1;
		return render_one(b, 0, &one) != 0;
	}
	if (make_pairs(c, b) != 0)
		return 1;
	run_batch(b, c->jobs);
	return ck_pr_load_int(&b->failures) != 0;
}

/* Everything after the allocations main owns; the exit status. */
static int
run(int argc, char **argv, struct cli *c)
{
	struct batch b;
	struct config *cfg;
	char err[1024];
	int rc;

	if ((rc = parse_args(argc, argv, c)) >= 0)
		return rc;
	if (c->checking && c->cfgpath == NULL) {
		fprintf(stderr, "tidepool-render: --check needs -c CONFIG\n");
		return 2;
	}
	if (assign_formats(c) != 0) {
		usage(stderr);
		return 2;
	}
	cfg = c->cfgpath != NULL ? config_load(c->cfgpath, err, sizeof(err)) :
	    config_parse("", 0, "(no config)", err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tidepool-render: %s\n", err);
		return 1;
	}
	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	rc = c->checking ? check(c, cfg) : render(c, &b);
	config_free(cfg);
	free_pairs(&b);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c;
	int rc = 1;

	memset(&c, 0, sizeof(c));
	c.block_frames = 1024;
	c.jobs = 1;
	c.dither = 1;
	c.files = calloc((size_t)argc + 1, sizeof(*c.files));
	c.fmts = calloc((size_t)argc + 1, sizeof(*c.fmts));
	if (c.files != NULL && c.fmts != NULL)
		rc = run(argc, argv, &c);
	free(c.files);
	free(c.fmts);
	return rc;
}
