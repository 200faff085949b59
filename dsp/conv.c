/*
 * convolver: an FIR filter with a long impulse response (room correction,
 * FIR crossovers, crossfeed), with no added latency.
 *
 * The IR is cut into a head and levels of growing partitions (Gardner
 * 1995; zita-convolver's levels).  H is the engine's period P, but at most
 * 128 frames; P is the same live and offline, so nothing here depends on
 * the block size tidepool-render uses.
 *
 *   head     taps 0 .. H-1, applied sample by sample in the time domain:
 *            each output sample needs only the inputs up to itself, so
 *            there is no latency and no block boundary can change a result.
 *   level 0  7 partitions of H (taps H .. 8H-1), uniformly partitioned
 *            overlap-save: when H input frames are complete, their 2H-frame
 *            segment is transformed once, joins a delay line of the past
 *            ones, and the sum of each past spectrum times its partition's
 *            spectrum, transformed back, is what the level adds to the
 *            next H output frames.  It runs in process(), at once.
 *   level k  6 partitions of L = 4^k H (the last level: as many as the IR
 *            needs, once 4L would pass 65,536 frames), starting at tap
 *            2L.  A block of L input frames complete at frame t first
 *            matters to output frame t + L, so the level's work for it (a
 *            job) has L frames of time.  A level of at least 4P can be
 *            handed to a worker thread (see "Background work"): its result
 *            is then due at least three whole periods after the callback
 *            that submitted it.  Smaller levels run in process().
 *
 * Why these sizes: a level's cost per sample is its partition count in
 * complex products plus two FFTs of 2L per L frames, so a few partitions
 * per level and levels growing fast keep a 65,536-tap IR at P = 256 to 25
 * products a sample where uniform partitions of P needed 255.  A factor of
 * 4 with 6 partitions is what makes each level start exactly at 2L (8H =
 * 2 x 4H, 2L + 6L = 2 x 4L), the least start that leaves a job a whole
 * block of time; 2 would need twice the levels and FFTs for the same
 * slack.  The head must be in the time domain (an FFT partition gives its
 * output only once its input block is complete), and it costs H products
 * per sample: with H = P = 256, the head was the largest single cost of a
 * 65,536-tap render; 128 measured fastest (tidepool-render, 60 s of
 * stereo, median user CPU of 5 runs, 2026-12-07, AVX2: 0.32 s at H = 64,
 * 0.28 at 128, 0.34 at 256; before the AVX2 and interleaved forms, 0.40,
 * 0.34 and 0.44).
 *
 * Every job is triggered at a fixed sample position (a multiple of its L
 * since start or reset), never by a block boundary, and the levels' work
 * is summed in a fixed order: the output is bit-identical for any block
 * size, and, when every job is on time, for inline and background work.
 *
 * Spectra are interleaved (FFTW's own layout, its fastest), the IR's
 * stored expanded so that the products run two bins a vector with no
 * more multiplies than split arrays would need (see cmac()).
 *
 * IR channels: one applies to every channel the stage acts on; N map one
 * to one onto N acted channels; four on two acted channels are true
 * stereo, in the order left to left, left to right, right to left, right
 * to right.  Each (input, output, IR channel) is a path; an output is the
 * sum of its paths.
 *
 * Background work.  Once the daemon takes a level's dsp_work (dsp/dsp.h,
 * dsp_stage_work()), its jobs are no longer run in process(): one of the
 * daemon's workers runs them.  The handoff is single producer (the
 * callback submits) single consumer (the one thread that runs the level),
 * over two slots used in turn and two counters with acquire/release
 * order: the callback never waits.  A slot is refilled only when the job
 * that used it two submissions ago is done; if it is not, the new job is
 * dropped, the next one starts from silence (its level's history lost),
 * and every output block whose job is missing or not done in time gets
 * nothing from that level and counts as a late partition
 * (dsp_stage_late()).  A level nobody took has its jobs run by process()
 * itself at the position where they would be submitted, so nothing is
 * ever late.  tidepool-render hands its levels to a thread of its own
 * and asks process() to wait (dsp_work_wait_due()): where a result is
 * due and not done, or a slot is still in use, process() calls the
 * render's wait hook until it is, so nothing is late or dropped there
 * either, and the bits are those of the inline run.
 *
 * Hidden latency (tidepool-render, dsp_setup's hidden_latency).  Offline,
 * the caller can drop a stage's first output frames and feed silence
 * after the input, so the stage may be late by D frames as long as it
 * says so (dsp_stage_latency()).  The convolver then runs the IR as if it
 * began with D zero taps: the head (taps 0 .. H-1 with H = D) is all
 * zeros and skipped, and one level of uniform partitions of D, starting
 * at the IR's first tap, does the rest (as fconvolver and BruteFIR do).
 * D is the least power of two from 64 that cuts the IR into at most 8
 * partitions (65,536 taps: 8 of 8,192), up to 65,536.  The level runs as
 * two twins that split the output channels: the first in process(), the
 * second in the background, so that a render's two threads share the
 * work with no transform done twice (a path's transforms are its input's
 * and its output's).  The channels it does not act on are delayed by D
 * too, so that the whole output is late by the same D.  The result
 * differs from the zero-latency one by rounding only, and is as
 * independent of the block size.  Measured 2026-12-08 (120 s of stereo,
 * 65,536 taps): 0.19 to 0.22 s wall against 0.40 to 0.57 s with live
 * partitions and 0.28 s for fconvolver at 8,192.
 *
 * Real-time: FFTW's plans are made in init (the planner is neither real-
 * time safe nor thread safe: control thread only), with FFTW_ESTIMATE so
 * that the same sizes give the same plan, and so the same bits, in every
 * run.  process() and the jobs only execute them on buffers allocated,
 * aligned and touched in init (new-array execute).  What it does not do:
 * read files or resample (daemon/irfile.c does, and hands over the
 * samples), or start threads.
 */
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "dsp/types.h"

enum { CONV_GAIN };

static const struct dsp_param params[] = {
	{ "gain", "dB", -120, 24, 0, 0, "level of the convolved output" },
};

/* Four floats: the head's dot product a vector at a time (GNU C vector
   extensions), in a fixed order, so the same in every run. */
typedef float conv_v4f __attribute__((vector_size(16)));
typedef int conv_v4i __attribute__((vector_size(16)));

/* Complex bins of a spectrum of 2l points: l + 1, rounded up to 8 so
   that every spectrum (2 x SLOT floats) keeps the alignment the plans
   were made for, and the products need no scalar tail (the padding stays
   0). */
#define SLOT(l) (((size_t)(l) + 1 + 7) & ~(size_t)7)
/* Floats per channel of the head's input: 2H, rounded up the same way. */
#define SEGLEN(p) ((2 * (size_t)(p) + 7) & ~(size_t)7)

#ifndef CONV_HEAD
#define CONV_HEAD 128
#endif
#define CONV_BG_PERIODS 4
#define CONV_GROW 4		/* a level's partition over the one before */
#define CONV_FIRST_PARTS 7	/* partitions of level 0 */
#define CONV_LEVEL_PARTS 6	/* of each later level but the last */
#define CONV_MAX_PART 65536u	/* partitions grow no larger: frames */
#define CONV_MAX_LEVELS 12	/* P = 4 to 65,536 k needs at most 9 */
#define CONV_HIDDEN_MIN 64u	/* hidden latency: frames, at least */
#define CONV_HIDDEN_PARTS 8u	/* and enough for the IR in this many
				   partitions, up to CONV_MAX_PART */

/* One input channel convolved with one IR channel into one output. */
struct conv_path {
	unsigned in;		/* index into the acted channels */
	unsigned out;		/* index into the acted channels */
	unsigned ir;		/* IR channel */
};

struct conv;

/* cnt partitions of l frames: taps off .. off + cnt l - 1. */
struct conv_level {
	struct dsp_work work;	/* what a worker runs (dsp/dsp.h) */
	struct conv *c;
	unsigned l;		/* partition, frames */
	unsigned cnt;		/* partitions */
	unsigned out0, out1;	/* the acted channels it writes: out0 ..
				   out1 - 1 (all but with hidden latency) */
	int bg;			/* may run in the background */
	unsigned off;		/* first tap: l for level 0 (its output is
				   needed as soon as its input is complete),
				   2l for the rest (a block of slack) */
	size_t slot;		/* SLOT(l): a spectrum is 2 x slot floats,
				   bins interleaved (re, im) */
	float *h;		/* npaths x cnt partitions' spectra, scaled by
				   1/2l, each expanded to 2 spectra (cmac) */
	fftwf_plan fwd, inv;
	/* The jobs' own: only the thread that runs them touches these. */
	float *seg;		/* n x 2l: the last input block, then the
				   job's */
	float *fdl;		/* n x cnt spectra of the last cnt segments,
				   a ring */
	unsigned fdl_new;	/* ring index of the newest */
	float *acc;		/* one spectrum: the sum for one output */
	float *tmp;		/* 2l: one inverse transform */
	/* The handoff: submission s uses slot s % 2. */
	float *in[2];		/* n x l: the job's input block */
	float *out[2];		/* n x l: what it adds to l output frames */
	unsigned char fresh[2];	/* the job starts from silence (a job was
				   dropped before it, or the stage reset) */
	_Atomic uint64_t posted;	/* submissions made: the callback
				   stores it after filling the slot */
	_Atomic uint64_t done;	/* submissions whose out is written: the
				   runner stores it after writing */
	/* The callback's own. */
	uint64_t nsub;		/* submissions made */
	int64_t job[2];		/* input block (index since start or
				   reset) of each slot's job; -1: none */
	uint64_t seq[2];	/* each slot's submission number */
	int cur;		/* slot whose out the current output block
				   of this level takes; -1: nothing */
	unsigned gap;		/* the next submission is fresh */
};

struct conv {
	unsigned period;	/* the engine's: background levels are those
				   of at least CONV_BG_PERIODS of it */
	unsigned p;		/* head length and level 0's partition */
	unsigned shift;		/* hidden latency: the IR starts this many
				   taps late (0, or p: no head) */
	unsigned nfree;		/* channels not acted on ... */
	unsigned char free_ch[DSP_MAX_CHANNELS];	/* ... which */
	float *delay;		/* nfree x shift: those channels' last
				   shift frames, a ring at t % shift */
	unsigned n;		/* acted channels (in = out) */
	unsigned npaths;
	struct conv_path path[DSP_MAX_CHANNELS * 2];
	unsigned nlev;
	struct conv_level lev[CONV_MAX_LEVELS];
	size_t seglen;		/* SEGLEN(p) */
	float *head;		/* npaths x p: taps 0..p-1, reversed */
	float *seg;		/* n x seglen: the last p input frames, then
				   the ones of the p being filled */
	float *hist;		/* n x hlen: the input, a ring, from which
				   each level's blocks are taken */
	unsigned hlen;		/* the largest level's partition */
	float *tail;		/* n x p: what the levels add to the frames
				   of the p being filled */
	unsigned pos;		/* frames of it done */
	uint64_t t;		/* frames since start or reset */
	_Atomic uint64_t late;	/* output blocks a level had no result for:
				   the callback writes, anyone reads */
	struct dsp_ramp g;	/* output gain, linear */
	unsigned ir_frames;	/* taps per IR channel */
	int wide;		/* 1: the CPU has AVX2, and TIDEPOOL_DSP_PLAIN
				   is not set: eight floats a vector */
};

static int wide_available(void);

unsigned
dsp_stage_ir_frames(const struct dsp_stage *st)
{
	const struct conv *c = st->state;

	return st->type == &dsp_type_convolver && c != NULL ?
	    c->ir_frames : 0;
}

/* The factor normalize asks for, from the whole IR. */
static double
norm_factor(const struct dsp_setup *s)
{
	size_t i, n = (size_t)s->ir_frames * s->ir_channels;
	double peak = 0, e[DSP_MAX_CHANNELS * 2] = { 0 }, emax = 0;
	unsigned c;

	for (i = 0; i < n; i++) {
		double v = fabs(s->ir[i]);

		peak = v > peak ? v : peak;
		e[i % s->ir_channels] += v * v;
	}
	for (c = 0; c < s->ir_channels; c++)
		emax = e[c] > emax ? e[c] : emax;
	switch ((enum dsp_conv_normalize)s->normalize) {
	case DSP_CONV_NORM_NONE:
		break;
	case DSP_CONV_NORM_PEAK:
		return peak > 0 ? 1 / peak : 1;
	case DSP_CONV_NORM_ENERGY:
		return emax > 0 ? 1 / sqrt(emax) : 1;
	}
	return 1;
}

/* The paths for nir IR channels on n acted ones: 0, or -1 with err. */
static int
make_paths(struct conv *c, unsigned nir, char *err, size_t errlen)
{
	unsigned i;

	if (nir == 1 || nir == c->n) {
		for (i = 0; i < c->n; i++) {
			c->path[i].in = c->path[i].out = i;
			c->path[i].ir = nir == 1 ? 0 : i;
		}
		c->npaths = c->n;
		return 0;
	}
	if (nir == 4 && c->n == 2) {
		/* LL, LR, RL, RR: IR channel 2 * in + out. */
		for (i = 0; i < 4; i++) {
			c->path[i].in = i / 2;
			c->path[i].out = i % 2;
			c->path[i].ir = i;
		}
		c->npaths = 4;
		return 0;
	}
	snprintf(err, errlen, "convolver: the IR has %u channels; for the %u "
	    "channel%s it acts on it needs 1 (applied to each)%s%s", nir,
	    c->n, c->n == 1 ? "" : "s", c->n > 1 ? ", one per channel" : "",
	    c->n == 2 ? " or 4 (true stereo: LL, LR, RL, RR)" : "");
	return -1;
}

static void *
alloc_zero(size_t bytes)
{
	void *p = fftwf_malloc(bytes > 0 ? bytes : 1);

	if (p != NULL) {
		/* Zeroes, and maps every page now, off the audio thread. */
		memset(p, 0, bytes);
		dsp_prefault(p, bytes);
	}
	return p;
}

/*
 * The levels for an IR of frames taps after a head of p: see the top of
 * the file.  Returns how many.
 */
static unsigned
plan_levels(struct conv *c, unsigned frames)
{
	unsigned k = 0, l = c->p, off = c->p, rest, cnt;

	while (off < frames && k < CONV_MAX_LEVELS) {
		rest = (unsigned)(((size_t)frames - off + l - 1) / l);
		cnt = k == 0 ? CONV_FIRST_PARTS : CONV_LEVEL_PARTS;
		/* The last level takes the rest: when partitions stop
		   growing, or no level is left. */
		if ((size_t)l * CONV_GROW > CONV_MAX_PART ||
		    k + 1 == CONV_MAX_LEVELS || cnt > rest)
			cnt = rest;
		c->lev[k].c = c;
		c->lev[k].l = l;
		c->lev[k].cnt = cnt;
		c->lev[k].off = off;
		c->lev[k].slot = SLOT(l);
		c->lev[k].out1 = c->n;
		c->lev[k].bg = l >= CONV_BG_PERIODS * c->period;
		off += cnt * l;
		l *= CONV_GROW;
		k++;
	}
	return k;
}

/*
 * With hidden latency: one level of uniform partitions of p = D for an IR
 * of frames taps, starting at tap D of the shifted IR (its first), in two
 * twins that share the work by output channel, the first in process()
 * and the second in the background, so that a render's two threads
 * each take half.  Returns how many levels.
 */
static unsigned
plan_twins(struct conv *c, unsigned frames)
{
	struct conv_level *a = &c->lev[0], *b = &c->lev[1];

	a->c = c;
	a->l = a->off = c->p;
	a->cnt = (frames + c->p - 1) / c->p;
	a->slot = SLOT(c->p);
	a->out1 = c->n;
	if (c->n < 2)
		return 1;
	*b = *a;
	a->out1 = b->out0 = c->n / 2;
	b->bg = 1;
	return 2;
}

static unsigned level_run(struct dsp_work *w, unsigned max);

static int level_reads(const struct conv_level *lv, unsigned ch)
    TP_REALTIME;

/* Some path from acted channel ch ends in one of the level's outputs. */
static int
level_reads(const struct conv_level *lv, unsigned ch)
{
	const struct conv *c = lv->c;
	unsigned q;

	for (q = 0; q < c->npaths; q++)
		if (c->path[q].in == ch && c->path[q].out >= lv->out0 &&
		    c->path[q].out < lv->out1)
			return 1;
	return 0;
}

/* The hidden latency for an IR of frames taps: see the top of the file. */
static unsigned
hidden_frames(unsigned frames)
{
	unsigned d = CONV_HIDDEN_MIN;

	while (d < CONV_MAX_PART && (size_t)d * CONV_HIDDEN_PARTS < frames)
		d *= 2;
	return d;
}

/* Allocates a level's buffers and makes its plans: 0, or -1. */
static int
level_init(struct conv *c, struct conv_level *lv)
{
	size_t spec = 2 * lv->slot, l = lv->l;
	unsigned k;

	lv->h = alloc_zero(sizeof(float) * c->npaths * lv->cnt * 2 * spec);
	lv->seg = alloc_zero(sizeof(float) * c->n * 2 * l);
	lv->fdl = alloc_zero(sizeof(float) * c->n * lv->cnt * spec);
	lv->acc = alloc_zero(sizeof(float) * spec);
	lv->tmp = alloc_zero(sizeof(float) * 2 * l);
	for (k = 0; k < 2; k++) {
		lv->in[k] = alloc_zero(sizeof(float) * c->n * l);
		lv->out[k] = alloc_zero(sizeof(float) * c->n * l);
		if (lv->in[k] == NULL || lv->out[k] == NULL)
			return -1;
		lv->job[k] = -1;
	}
	if (lv->h == NULL || lv->seg == NULL || lv->fdl == NULL ||
	    lv->acc == NULL || lv->tmp == NULL)
		return -1;
	lv->cur = -1;
	lv->work.run = level_run;
	lv->work.frames = lv->l;
	atomic_init(&lv->posted, 0);
	atomic_init(&lv->done, 0);
	/* ESTIMATE: a plan that does not depend on timing, and leaves the
	   arrays alone while it is made. */
	lv->fwd = fftwf_plan_dft_r2c_1d((int)(2 * l), lv->tmp,
	    (fftwf_complex *)lv->acc, FFTW_ESTIMATE);
	lv->inv = fftwf_plan_dft_c2r_1d((int)(2 * l), (fftwf_complex *)lv->acc,
	    lv->tmp, FFTW_ESTIMATE);
	return lv->fwd != NULL && lv->inv != NULL ? 0 : -1;
}

/* Transforms the level's IR partitions, for every path. */
static void
level_load(struct conv *c, struct conv_level *lv, const struct dsp_setup *s,
    double f)
{
	unsigned q, j, k, l = lv->l;
	float *hr, *hi;
	size_t t, b;

	for (q = 0; q < c->npaths; q++)
		for (k = 0; k < lv->cnt; k++) {
			memset(lv->tmp, 0, sizeof(float) * 2 * l);
			for (j = 0; j < l; j++) {
				t = (size_t)lv->off + (size_t)k * l + j;
				if (t < c->shift)
					continue;
				t -= c->shift;
				if (t >= s->ir_frames)
					break;
				/* 1/2l: FFTW's inverse is unnormalised. */
				lv->tmp[j] = (float)(s->ir[t * s->ir_channels +
				    c->path[q].ir] * f / (2.0 * l));
			}
			fftwf_execute_dft_r2c(lv->fwd, lv->tmp,
			    (fftwf_complex *)lv->acc);
			/* Each bin's real part twice, then its imaginary
			   part negated and as it is: see cmac(). */
			hr = lv->h + ((size_t)q * lv->cnt + k) * 4 * lv->slot;
			hi = hr + 2 * lv->slot;
			for (b = 0; b <= l; b++) {
				hr[2 * b] = hr[2 * b + 1] = lv->acc[2 * b];
				hi[2 * b] = -lv->acc[2 * b + 1];
				hi[2 * b + 1] = lv->acc[2 * b + 1];
			}
		}
}

static int
conv_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct conv *c;
	unsigned q, j, k, p;
	double f;

	if (s->ir == NULL || s->ir_frames == 0 || s->ir_channels == 0) {
		snprintf(err, errlen, "convolver: no impulse response given "
		    "(file = PATH)");
		return -1;
	}
	if (s->ir_frames > DSP_CONV_MAX_FRAMES) {
		snprintf(err, errlen, "convolver: an IR of %u frames; at most "
		    "%u", s->ir_frames, DSP_CONV_MAX_FRAMES);
		return -1;
	}
	if (s->normalize > DSP_CONV_NORM_ENERGY) {
		snprintf(err, errlen, "convolver: unknown normalize mode");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	st->state = c;
	c->n = st->nact;
	if (make_paths(c, s->ir_channels, err, errlen) != 0)
		return -1;
	p = s->partition ? s->partition : s->max_frames;
	if (p < 4 || p > CONV_MAX_PART) {
		snprintf(err, errlen, "convolver: a partition of %u frames: "
		    "must be 4 to %u", p, CONV_MAX_PART);
		return -1;
	}
	c->period = p;
	p = c->p = p < CONV_HEAD ? p : CONV_HEAD;
	if (s->hidden_latency) {
		/* No head: the level's partitions are D (see the top). */
		p = c->p = c->shift = hidden_frames(s->ir_frames);
		for (k = 0; k < st->in_channels; k++)
			if (!(st->mask & (UINT32_C(1) << k)))
				c->free_ch[c->nfree++] = (unsigned char)k;
	}
	c->nlev = c->shift > 0 ? plan_twins(c, s->ir_frames) :
	    plan_levels(c, s->ir_frames);
	c->hlen = c->nlev > 0 ? c->lev[c->nlev - 1].l : 0;
	c->seglen = SEGLEN(p);
	c->ir_frames = s->ir_frames;
	c->wide = wide_available();
	atomic_init(&c->late, 0);
	c->head = alloc_zero(sizeof(float) * c->npaths * p);
	c->seg = alloc_zero(sizeof(float) * c->n * c->seglen);
	c->hist = alloc_zero(sizeof(float) * c->n * c->hlen);
	c->tail = alloc_zero(sizeof(float) * c->n * p);
	c->delay = alloc_zero(sizeof(float) * c->nfree * c->shift);
	if (c->head == NULL || c->seg == NULL || c->hist == NULL ||
	    c->tail == NULL || c->delay == NULL)
		goto nomem;
	for (k = 0; k < c->nlev; k++)
		if (level_init(c, &c->lev[k]) != 0) {
			if (c->lev[k].fwd == NULL || c->lev[k].inv == NULL) {
				snprintf(err, errlen, "convolver: FFTW made no "
				    "plan for %u points", 2 * c->lev[k].l);
				return -1;
			}
			goto nomem;
		}
	f = norm_factor(s);
	for (q = 0; q < c->npaths; q++)
		for (j = 0; j < p && j < s->ir_frames && c->shift == 0; j++)
			c->head[(size_t)q * p + p - 1 - j] = (float)(s->ir[
			    (size_t)j * s->ir_channels + c->path[q].ir] * f);
	for (k = 0; k < c->nlev; k++)
		level_load(c, &c->lev[k], s, f);
	dsp_ramp_init(&c->g, dsp_db_to_gain(st->values[CONV_GAIN]));
	return 0;
nomem:
	snprintf(err, errlen, "convolver: out of memory for an IR of %u "
	    "frames x %u channels", s->ir_frames, s->ir_channels);
	return -1;
}

static void
conv_done(struct dsp_stage *st)
{
	struct conv *c = st->state;
	struct conv_level *lv;
	unsigned k, i;

	for (k = 0; k < CONV_MAX_LEVELS; k++) {
		lv = &c->lev[k];
		if (lv->fwd != NULL)
			fftwf_destroy_plan(lv->fwd);
		if (lv->inv != NULL)
			fftwf_destroy_plan(lv->inv);
		fftwf_free(lv->h);
		fftwf_free(lv->seg);
		fftwf_free(lv->fdl);
		fftwf_free(lv->acc);
		fftwf_free(lv->tmp);
		for (i = 0; i < 2; i++) {
			fftwf_free(lv->in[i]);
			fftwf_free(lv->out[i]);
		}
	}
	fftwf_free(c->head);
	fftwf_free(c->seg);
	fftwf_free(c->hist);
	fftwf_free(c->tail);
	fftwf_free(c->delay);
}

static void conv_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
conv_set(struct dsp_stage *st, unsigned p, double v)
{
	struct conv *c = st->state;

	(void)p;
	dsp_ramp_to(&c->g, dsp_db_to_gain(v), dsp_ramp_samples(st->rate));
}

static void conv_reset(struct dsp_stage *st) TP_REALTIME;

/*
 * The callback's history goes; a level's jobs keep running on what they
 * were given, but their results are no longer taken, and the next job of
 * each level starts from silence.
 */
static void
conv_reset(struct dsp_stage *st)
{
	struct conv *c = st->state;
	struct conv_level *lv;
	unsigned k;

	memset(c->seg, 0, sizeof(float) * c->n * c->seglen);
	memset(c->hist, 0, sizeof(float) * c->n * c->hlen);
	memset(c->tail, 0, sizeof(float) * c->n * c->p);
	memset(c->delay, 0, sizeof(float) * c->nfree * c->shift);
	for (k = 0; k < c->nlev; k++) {
		lv = &c->lev[k];
		lv->job[0] = lv->job[1] = -1;
		lv->cur = -1;
		lv->gap = 1;
	}
	c->pos = 0;
	c->t = 0;
	dsp_ramp_settle(&c->g);
}

/*
 * FFTW's execute on a plan made in init, with arrays of the plan's sizes
 * and alignment allocated in init: it neither allocates nor locks (and
 * RealtimeSanitizer watches it in the integration run).  clang objects
 * only because FFTW does not mark its functions nonblocking.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static void fwd_exec(struct conv_level *lv, float *in, float *spec)
    TP_REALTIME;
static void inv_exec(struct conv_level *lv) TP_REALTIME;

static void
fwd_exec(struct conv_level *lv, float *in, float *spec)
{
	fftwf_execute_dft_r2c(lv->fwd, in, (fftwf_complex *)spec);
}

static void
inv_exec(struct conv_level *lv)
{
	fftwf_execute_dft_c2r(lv->inv, (fftwf_complex *)lv->acc, lv->tmp);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void cmac4(float *restrict acc, const float *restrict a,
    const float *restrict b, size_t n) TP_REALTIME;

/*
 * acc += a * b for interleaved spectra of n floats (n a multiple of 4),
 * two bins a vector, where a is an IR partition stored expanded: its n
 * floats of (re, re) pairs, then n of (-im, im), so that with b's pairs
 * (x, y) and the same swapped (y, x), one product each gives
 * (re x - im y, re y + im x).  FFTW's interleaved transforms run about
 * twice as fast as its split-array ones (measured here, 1,024 to 4,096
 * points), and this keeps the products at two multiplies a bin.
 */
static void
cmac4(float *restrict acc, const float *restrict a, const float *restrict b,
    size_t n)
{
	conv_v4f hr, hi, x, xs, y;
	size_t i;

	for (i = 0; i < n; i += 4) {
		memcpy(&hr, a + i, sizeof(hr));
		memcpy(&hi, a + n + i, sizeof(hi));
		memcpy(&x, b + i, sizeof(x));
		memcpy(&y, acc + i, sizeof(y));
#if defined(__clang__)
		xs = __builtin_shufflevector(x, x, 1, 0, 3, 2);
#else
		xs = __builtin_shuffle(x, (conv_v4i){ 1, 0, 3, 2 });
#endif
		y += x * hr + xs * hi;
		memcpy(acc + i, &y, sizeof(y));
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * The same two loops eight floats a vector, for CPUs with AVX2 (checked
 * once, in init: see conv->wide).  No FMA: -std=c11 keeps products and
 * sums apart, so the only difference from the four-lane form is the order
 * of the head's sums, fixed for a given CPU.
 */
typedef float conv_v8f __attribute__((vector_size(32)));
typedef int conv_v8i __attribute__((vector_size(32)));
#define CONV_WIDE __attribute__((target("avx2")))

static int
wide_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") &&
	    getenv("TIDEPOOL_DSP_PLAIN") == NULL;
}

static void cmac8(float *restrict acc, const float *restrict a,
    const float *restrict b, size_t n) CONV_WIDE TP_REALTIME;

static void CONV_WIDE
cmac8(float *restrict acc, const float *restrict a, const float *restrict b,
    size_t n)
{
	conv_v8f hr, hi, x, xs, y;
	size_t i;

	for (i = 0; i < n; i += 8) {
		memcpy(&hr, a + i, sizeof(hr));
		memcpy(&hi, a + n + i, sizeof(hi));
		memcpy(&x, b + i, sizeof(x));
		memcpy(&y, acc + i, sizeof(y));
#if defined(__clang__)
		xs = __builtin_shufflevector(x, x, 1, 0, 3, 2, 5, 4, 7, 6);
#else
		xs = __builtin_shuffle(x, (conv_v8i){ 1, 0, 3, 2, 5, 4, 7, 6 });
#endif
		y += x * hr + xs * hi;
		memcpy(acc + i, &y, sizeof(y));
	}
}

static float head_dot8(const float *restrict taps, const float *restrict x,
    unsigned p) CONV_WIDE TP_REALTIME;

static float CONV_WIDE
head_dot8(const float *restrict taps, const float *restrict x, unsigned p)
{
	conv_v8f a = { 0 }, b = { 0 }, t, v;
	float lanes[8], sum = 0;
	unsigned i = 0, j;

	for (; i + 16 <= p; i += 16) {
		memcpy(&t, taps + i, sizeof(t));
		memcpy(&v, x + i, sizeof(v));
		a += t * v;
		memcpy(&t, taps + i + 8, sizeof(t));
		memcpy(&v, x + i + 8, sizeof(v));
		b += t * v;
	}
	for (; i < p; i++)
		sum += taps[i] * x[i];
	a += b;
	memcpy(lanes, &a, sizeof(lanes));
	for (j = 0; j < 8; j++)
		sum += lanes[j];
	return sum;
}
#else
static int
wide_available(void)
{
	return 0;
}
#define cmac8 cmac4
#define head_dot8 head_dot4
#endif

static void cmac(int wide, float *restrict acc, const float *restrict a,
    const float *restrict b, size_t n) TP_REALTIME;

/* acc += a * b (see cmac4), the wide way when the CPU has it. */
static void
cmac(int wide, float *restrict acc, const float *restrict a,
    const float *restrict b, size_t n)
{
	if (wide)
		cmac8(acc, a, b, n);
	else
		cmac4(acc, a, b, n);
}

static void level_job(struct conv_level *lv, unsigned k) TP_REALTIME;

/*
 * The job in slot k: its input block joins the level's delay line, and
 * the level's partitions give their part of l output frames (which start
 * off frames after the block).
 */
static void
level_job(struct conv_level *lv, unsigned k)
{
	const struct conv *c = lv->c;
	unsigned l = lv->l, m = lv->cnt, ch, q, i, r;
	size_t spec = 2 * lv->slot;
	float *seg;

	if (lv->fresh[k]) {
		memset(lv->seg, 0, sizeof(float) * c->n * 2 * l);
		memset(lv->fdl, 0, sizeof(float) * c->n * m * spec);
	}
	lv->fdl_new = lv->fdl_new == 0 ? m - 1 : lv->fdl_new - 1;
	for (ch = 0; ch < c->n; ch++) {
		if (!level_reads(lv, ch))
			continue;
		seg = lv->seg + (size_t)ch * 2 * l;
		memcpy(seg + l, lv->in[k] + (size_t)ch * l, sizeof(float) * l);
		fwd_exec(lv, seg, lv->fdl + ((size_t)ch * m + lv->fdl_new) *
		    spec);
		memcpy(seg, seg + l, sizeof(float) * l);
	}
	for (ch = lv->out0; ch < lv->out1; ch++) {
		memset(lv->acc, 0, sizeof(float) * spec);
		for (q = 0; q < c->npaths; q++) {
			if (c->path[q].out != ch)
				continue;
			/* Partition i meets the segment i back. */
			for (i = 0, r = lv->fdl_new; i < m; i++) {
				cmac(c->wide, lv->acc, lv->h + ((size_t)q * m +
				    i) * 2 *
				    spec, lv->fdl + ((size_t)c->path[q].in * m +
				    r) * spec, spec);
				r = r + 1 == m ? 0 : r + 1;
			}
		}
		inv_exec(lv);
		memcpy(lv->out[k] + (size_t)ch * l, lv->tmp + l,
		    sizeof(float) * l);
	}
}

/*
 * dsp_work's run for a background level: the jobs submitted and not
 * done, in order, at most max.  One thread at a time.
 */
static unsigned
level_run(struct dsp_work *w, unsigned max)
{
	struct conv_level *lv = (struct conv_level *)w;
	/* Relaxed: done is this thread's own counter. */
	uint64_t d = atomic_load_explicit(&lv->done, memory_order_relaxed);
	/* Acquire: the slot's input and fresh flag, written before posted,
	   are seen. */
	uint64_t p = atomic_load_explicit(&lv->posted, memory_order_acquire);
	unsigned ran = 0;

	for (; d < p && ran < max; d++, ran++) {
		level_job(lv, (unsigned)(d % 2));
		/* Release: the callback that sees done > d sees the
		   output written. */
		atomic_store_explicit(&lv->done, d + 1, memory_order_release);
	}
	return ran;
}

/*
 * The offline wait (dsp_work_wait_due()): only tidepool-render sets a
 * hook, and its engine thread may block; the daemon's callback has none,
 * so from there this is never called.  clang's effect analysis cannot
 * know which caller a hook belongs to.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static void call_wait(struct dsp_work *w) TP_REALTIME;

static void
call_wait(struct dsp_work *w)
{
	w->wait_due(w->wait_due_arg);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static int await_done(struct conv_level *lv, uint64_t n) TP_REALTIME;

/*
 * 1 once the level's first n submissions are done; without a wait hook
 * (live) it does not wait, and says 0 when they are not done yet.
 */
static int
await_done(struct conv_level *lv, uint64_t n)
{
	/* Acquire: the runner's writes before done (its output, and its
	   last read of the slot's input) are seen. */
	while (atomic_load_explicit(&lv->done, memory_order_acquire) < n) {
		if (lv->work.wait_due == NULL)
			return 0;
		call_wait(&lv->work);
	}
	return 1;
}

static void submit(struct conv *c, struct conv_level *lv, int64_t j)
    TP_REALTIME;

/*
 * Input block j of the level is complete: hands its job over (or, not in
 * the background, runs it).  A slot is refilled only once the job that
 * used it is done; if it is not, job j is dropped.
 */
static void
submit(struct conv *c, struct conv_level *lv, int64_t j)
{
	uint64_t s = lv->nsub;
	unsigned k = (unsigned)(s % 2), a, l = lv->l;
	size_t from = (size_t)((uint64_t)j * l % c->hlen);

	/* The job that used slot k (submission s - 2) must be done: the
	   runner is then done reading its input. */
	if (s >= 2 && !await_done(lv, s - 1)) {
		lv->gap = 1;
		return;
	}
	for (a = 0; a < c->n; a++)
		memcpy(lv->in[k] + (size_t)a * l, c->hist + (size_t)a *
		    c->hlen + from, sizeof(float) * l);
	lv->fresh[k] = (unsigned char)lv->gap;
	lv->gap = 0;
	lv->job[k] = j;
	lv->seq[k] = s;
	lv->nsub = s + 1;
	if (!lv->work.handed) {
		level_job(lv, k);
		atomic_store_explicit(&lv->done, s + 1, memory_order_relaxed);
		atomic_store_explicit(&lv->posted, s + 1, memory_order_relaxed);
		return;
	}
	/* Release: the runner that sees posted > s sees the slot filled. */
	atomic_store_explicit(&lv->posted, s + 1, memory_order_release);
	lv->work.wake(lv->work.wake_arg);
}

static void pick(struct conv *c, struct conv_level *lv) TP_REALTIME;

/*
 * The level's output block starting now takes the result of the job for
 * input block (t - off) / l, if that job is done; otherwise nothing, and
 * a late partition is counted.
 */
static void
pick(struct conv *c, struct conv_level *lv)
{
	int64_t j;
	unsigned k;

	lv->cur = -1;
	if (c->t < lv->off)
		return;		/* before any input: silence is right */
	j = (int64_t)((c->t - lv->off) / lv->l);
	for (k = 0; k < 2; k++)
		/* Its output, written before done, is seen (await_done). */
		if (lv->job[k] == j && await_done(lv, lv->seq[k] + 1)) {
			lv->cur = (int)k;
			return;
		}
	/* Single writer: a plain add, published for the readers. */
	atomic_store_explicit(&c->late, atomic_load_explicit(&c->late,
	    memory_order_relaxed) + 1, memory_order_relaxed);
}

static void boundary(struct conv *c) TP_REALTIME;

/*
 * A head's worth of input is complete (c->t is a multiple of p): each
 * level whose block ends here hands over its job and takes its result for
 * the block that starts, and the levels' part of the next p output frames
 * is summed, in level order.
 */
static void
boundary(struct conv *c)
{
	unsigned p = c->p, k, a, i, o;
	struct conv_level *lv;
	const float *src;
	float *dst, *seg;

	/* Background work first, so that it runs while process() does the
	   rest (each job stands alone: the order changes no bit). */
	for (k = 0; k < c->nlev; k++) {
		lv = &c->lev[k];
		if (c->t % lv->l == 0 && lv->work.handed)
			submit(c, lv, (int64_t)(c->t / lv->l) - 1);
	}
	for (k = 0; k < c->nlev; k++) {
		lv = &c->lev[k];
		if (c->t % lv->l == 0 && !lv->work.handed)
			submit(c, lv, (int64_t)(c->t / lv->l) - 1);
	}
	for (k = 0; k < c->nlev; k++)
		if (c->t % c->lev[k].l == 0)
			pick(c, &c->lev[k]);
	memset(c->tail, 0, sizeof(float) * c->n * p);
	for (k = 0; k < c->nlev; k++) {
		lv = &c->lev[k];
		if (lv->cur < 0)
			continue;
		o = (unsigned)(c->t % lv->l);
		for (a = 0; a < c->n; a++) {
			src = lv->out[lv->cur] + (size_t)a * lv->l + o;
			dst = c->tail + (size_t)a * p;
			for (i = 0; i < p; i++)
				dst[i] += src[i];
		}
	}
	/* The head's input; with hidden latency there is no head. */
	for (a = 0; a < c->n && c->shift == 0; a++) {
		seg = c->seg + (size_t)a * c->seglen;
		memcpy(seg, seg + p, sizeof(float) * p);
	}
	c->pos = 0;
}

static float head_dot4(const float *restrict taps, const float *restrict x,
    unsigned p) TP_REALTIME;

/* sum of taps[i] * x[i], i < p, four lanes, always in the same order. */
static float
head_dot4(const float *restrict taps, const float *restrict x, unsigned p)
{
	conv_v4f a = { 0 }, b = { 0 }, t, v;
	float lanes[4], sum = 0;
	unsigned i = 0, j;

	for (; i + 8 <= p; i += 8) {
		memcpy(&t, taps + i, sizeof(t));
		memcpy(&v, x + i, sizeof(v));
		a += t * v;
		memcpy(&t, taps + i + 4, sizeof(t));
		memcpy(&v, x + i + 4, sizeof(v));
		b += t * v;
	}
	for (; i < p; i++)
		sum += taps[i] * x[i];
	a += b;
	memcpy(lanes, &a, sizeof(lanes));
	for (j = 0; j < 4; j++)
		sum += lanes[j];
	return sum;
}

static float head_dot(int wide, const float *restrict taps,
    const float *restrict x, unsigned p) TP_REALTIME;

static float
head_dot(int wide, const float *restrict taps, const float *restrict x,
    unsigned p)
{
	return wide ? head_dot8(taps, x, p) : head_dot4(taps, x, p);
}

static void delay_free(struct conv *c, const float *in, float *out,
    unsigned ch, unsigned m) TP_REALTIME;

/*
 * Hidden latency: the m frames of the channels not acted on come out
 * c->shift frames late, like the rest.  In place when out is in.  The
 * ring holds a whole number of p, so the chunk does not wrap.
 */
static void
delay_free(struct conv *c, const float *in, float *out, unsigned ch,
    unsigned m)
{
	size_t at = (size_t)(c->t % c->shift);
	unsigned f, i;
	float *d, x;

	for (f = 0; f < c->nfree; f++) {
		d = c->delay + (size_t)f * c->shift + at;
		for (i = 0; i < m; i++) {
			x = in[(size_t)i * ch + c->free_ch[f]];
			out[(size_t)i * ch + c->free_ch[f]] = d[i];
			d[i] = x;
		}
	}
}

static void hidden_chunk(struct conv *c, const struct dsp_stage *st,
    const float *in, float *out, unsigned m, size_t at) TP_REALTIME;

/*
 * conv_process's chunk of m frames with hidden latency and the gain at
 * rest: no head, one gain, so a channel at a time (the same bits as the
 * frame-by-frame way, which was a sixth of a render's time).
 */
static void
hidden_chunk(struct conv *c, const struct dsp_stage *st, const float *in,
    float *out, unsigned m, size_t at)
{
	unsigned ch = st->in_channels, a, i;
	const float *tail;
	double g = c->g.cur;
	float *h;

	for (a = 0; a < c->n; a++) {
		h = c->hist + (size_t)a * c->hlen + at;
		for (i = 0; i < m; i++)
			h[i] = in[(size_t)i * ch + st->act[a]];
	}
	for (a = 0; a < c->n; a++) {
		tail = c->tail + (size_t)a * c->p + c->pos;
		for (i = 0; i < m; i++)
			out[(size_t)i * ch + st->act[a]] =
			    (float)(tail[i] * g);
	}
}

static void frame_chunk(struct conv *c, const struct dsp_stage *st,
    const float *in, float *out, unsigned m, size_t at) TP_REALTIME;

/*
 * conv_process's chunk of m frames, a frame at a time: the head's sum for
 * each, and the gain's glide.  All of the chunk's input first: out may
 * be in.
 */
static void
frame_chunk(struct conv *c, const struct dsp_stage *st, const float *in,
    float *out, unsigned m, size_t at)
{
	unsigned ch = st->in_channels, p = c->p, i, a, q;
	float *seg, *h, y[DSP_MAX_CHANNELS];
	double g;

	for (a = 0; a < c->n; a++) {
		seg = c->seg + (size_t)a * c->seglen + p + c->pos;
		h = c->hist + (size_t)a * c->hlen + at;
		for (i = 0; i < m; i++)
			seg[i] = in[(size_t)i * ch + st->act[a]];
		if (c->hlen > 0)
			memcpy(h, seg, sizeof(float) * m);
	}
	for (i = 0; i < m; i++) {
		for (a = 0; a < c->n; a++)
			y[a] = c->tail[(size_t)a * p + c->pos + i];
		for (q = 0; q < c->npaths && c->shift == 0; q++)
			y[c->path[q].out] += head_dot(c->wide, c->head +
			    (size_t)q * p, c->seg + (size_t)c->path[q].in *
			    c->seglen + c->pos + i + 1, p);
		g = dsp_ramp_next(&c->g);
		for (a = 0; a < c->n; a++)
			out[(size_t)i * ch + st->act[a]] = (float)(y[a] * g);
	}
}

static void conv_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
conv_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct conv *c = st->state;
	unsigned ch = st->in_channels, p = c->p, done = 0, m;
	size_t at;

	while (done < frames) {
		m = frames - done;
		if (m > p - c->pos)
			m = p - c->pos;
		/* The ring holds a whole number of p: the chunk does not
		   wrap. */
		at = c->hlen > 0 ? (size_t)(c->t % c->hlen) : 0;
		if (c->shift > 0 && c->g.left == 0)
			hidden_chunk(c, st, in + (size_t)done * ch,
			    out + (size_t)done * ch, m, at);
		else
			frame_chunk(c, st, in + (size_t)done * ch,
			    out + (size_t)done * ch, m, at);
		if (c->nfree > 0)
			delay_free(c, in + (size_t)done * ch,
			    out + (size_t)done * ch, ch, m);
		done += m;
		c->pos += m;
		c->t += m;
		if (c->pos == p)
			boundary(c);
	}
}

struct dsp_work *
dsp_stage_work(struct dsp_stage *st, unsigned i)
{
	struct conv *c = st->state;
	unsigned k;

	if (st->type != &dsp_type_convolver || c == NULL)
		return NULL;
	for (k = 0; k < c->nlev; k++)
		if (c->lev[k].bg && i-- == 0)
			return &c->lev[k].work;
	return NULL;
}

void
dsp_work_hand(struct dsp_work *w, void (*wake)(void *arg) TP_REALTIME,
    void *arg)
{
	w->wake = wake;
	w->wake_arg = arg;
	w->handed = 1;
}

void
dsp_work_wait_due(struct dsp_work *w, void (*wait_fn)(void *arg), void *arg)
{
	w->wait_due = wait_fn;
	w->wait_due_arg = arg;
}

unsigned
dsp_work_run(struct dsp_work *w)
{
	return w->run(w, UINT_MAX);
}

unsigned
dsp_work_run_one(struct dsp_work *w)
{
	return w->run(w, 1);
}

uint64_t
dsp_stage_late(const struct dsp_stage *st)
{
	struct conv *c = st->state;

	if (st->type != &dsp_type_convolver || c == NULL)
		return 0;
	return atomic_load_explicit(&c->late, memory_order_relaxed);
}

static unsigned conv_latency(const struct dsp_stage *st) TP_REALTIME;

static unsigned
conv_latency(const struct dsp_stage *st)
{
	const struct conv *c = st->state;

	return c->shift;
}

static const struct dsp_stage_ops ops = {
	.init = conv_init,
	.process = conv_process,
	.set = conv_set,
	.reset = conv_reset,
	.done = conv_done,
	.latency = conv_latency,
};

const struct dsp_type dsp_type_convolver = {
	.name = "convolver",
	.summary = "FIR convolution with an impulse response file, no added "
	    "latency",
	.params = params,
	.nparams = 1,
	.ops = &ops,
};
