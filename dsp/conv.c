/*
 * convolver: an FIR filter with a long impulse response (room correction,
 * FIR crossovers, crossfeed), with no added latency.
 *
 * The IR is cut into partitions of P frames (P is the engine's period, the
 * same live and offline, so the output does not depend on the block size
 * tidepool-render uses).  The first partition, taps 0 to P-1, is applied
 * sample by sample in the time domain: each output sample needs only the
 * inputs up to itself, so there is no latency and no block boundary can
 * change a result.  The later partitions are applied in the frequency
 * domain, uniformly partitioned overlap-save (FFTW3, single precision,
 * spectra kept as separate real and imaginary arrays so that the products
 * run four bins at a time):
 * when P input frames are complete, their 2P-frame segment is transformed
 * once and its spectrum joins a delay line of the past ones; the sum of
 * each past spectrum times its IR partition's spectrum, transformed back,
 * is what partitions 1..K-1 add to the next P output frames, all of which
 * lie after the inputs they need.  So the work at a partition boundary
 * depends only on complete input partitions, and is done at the same
 * sample position whatever the blocks are.
 *
 * IR channels: one applies to every channel the stage acts on; N map one
 * to one onto N acted channels; four on two acted channels are true
 * stereo, in the order left to left, left to right, right to left, right
 * to right.  Each (input, output, IR channel) is a path; an output is the
 * sum of its paths.
 *
 * Real-time: FFTW's plans are made in init (the planner is neither real-
 * time safe nor thread safe: control thread only), with FFTW_ESTIMATE so
 * that the same sizes give the same plan, and so the same bits, in every
 * run.  process() only executes them on buffers allocated, aligned and
 * touched in init (new-array execute).  What it does not do: read files or
 * resample (daemon/irfile.c does, and hands over the samples), or move
 * the larger partitions to other threads.
 */
#include <math.h>
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

/* Floats per half (real or imaginary) of a spectrum: P + 1 bins, rounded
   up to 8 so that every one keeps the 32-byte alignment the plans were
   made for, and the products need no scalar tail (the padding stays 0). */
#define SLOT(p) (((size_t)(p) + 1 + 7) & ~(size_t)7)
/* Floats per channel of seg: 2P, rounded up the same way. */
#define SEGLEN(p) ((2 * (size_t)(p) + 7) & ~(size_t)7)

/* One input channel convolved with one IR channel into one output. */
struct conv_path {
	unsigned in;		/* index into the acted channels */
	unsigned out;		/* index into the acted channels */
	unsigned ir;		/* IR channel */
};

struct conv {
	unsigned p;		/* partition, frames */
	unsigned k;		/* partitions, the first one included */
	unsigned n;		/* acted channels (in = out) */
	unsigned npaths;
	struct conv_path path[DSP_MAX_CHANNELS * 2];
	size_t slot;		/* SLOT(p); a spectrum is 2 x slot floats,
				   real parts then imaginary */
	size_t seglen;		/* SEGLEN(p) */
	float *head;		/* npaths x p: taps 0..p-1, reversed */
	float *h;		/* npaths x (k-1) spectra: partitions 1..k-1,
				   transformed, scaled by 1/2p */
	float *seg;		/* n x seglen: the last partition, then the
				   one being filled */
	float *fdl;		/* n x (k-1) spectra of the last k-1
				   segments, a ring */
	unsigned fdl_new;	/* ring index of the newest */
	float *acc;		/* one spectrum: the sum for one output */
	float *tmp;		/* 2p: one inverse transform */
	float *tail;		/* n x p: what partitions 1..k-1 add to the
				   frames of the partition being filled */
	unsigned pos;		/* frames of it done */
	fftwf_plan fwd, inv;
	struct dsp_ramp g;	/* output gain, linear */
	unsigned ir_frames;	/* taps per IR channel */
};

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

/* Transforms every IR partition after the first, for every path. */
static void
load_tail(struct conv *c, const struct dsp_setup *s, double f)
{
	unsigned q, j, k, p = c->p;
	float *spec;
	size_t t;

	for (q = 0; q < c->npaths; q++)
		for (k = 1; k < c->k; k++) {
			memset(c->tmp, 0, sizeof(float) * 2 * p);
			for (j = 0; j < p; j++) {
				t = (size_t)k * p + j;
				if (t >= s->ir_frames)
					break;
				/* 1/2p: FFTW's inverse is unnormalised. */
				c->tmp[j] = (float)(s->ir[t * s->ir_channels +
				    c->path[q].ir] * f / (2.0 * p));
			}
			spec = c->h + ((size_t)q * (c->k - 1) + k - 1) * 2 *
			    c->slot;
			fftwf_execute_split_dft_r2c(c->fwd, c->tmp, spec,
			    spec + c->slot);
		}
}

static int
conv_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct conv *c;
	fftwf_iodim dim;
	unsigned q, j, p;
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
	p = c->p = s->partition ? s->partition : s->max_frames;
	if (p < 4 || p > 65536) {
		snprintf(err, errlen, "convolver: a partition of %u frames: "
		    "must be 4 to 65536", p);
		return -1;
	}
	c->k = (unsigned)(((size_t)s->ir_frames + p - 1) / p);
	c->slot = SLOT(p);
	c->seglen = SEGLEN(p);
	c->ir_frames = s->ir_frames;
	c->head = alloc_zero(sizeof(float) * c->npaths * p);
	c->h = alloc_zero(sizeof(float) * c->npaths * (c->k - 1) * 2 *
	    c->slot);
	c->seg = alloc_zero(sizeof(float) * c->n * c->seglen);
	c->fdl = alloc_zero(sizeof(float) * c->n * (c->k - 1) * 2 *
	    c->slot);
	c->acc = alloc_zero(sizeof(float) * 2 * c->slot);
	c->tmp = alloc_zero(sizeof(float) * 2 * p);
	c->tail = alloc_zero(sizeof(float) * c->n * p);
	if (c->head == NULL || c->h == NULL || c->seg == NULL ||
	    c->fdl == NULL || c->acc == NULL || c->tmp == NULL ||
	    c->tail == NULL) {
		snprintf(err, errlen, "convolver: out of memory for an IR of "
		    "%u frames x %u channels", s->ir_frames, s->ir_channels);
		return -1;
	}
	/* ESTIMATE: a plan that does not depend on timing, and leaves the
	   arrays alone while it is made. */
	dim.n = (int)(2 * p);
	dim.is = dim.os = 1;
	c->fwd = fftwf_plan_guru_split_dft_r2c(1, &dim, 0, NULL, c->tmp,
	    c->acc, c->acc + c->slot, FFTW_ESTIMATE);
	c->inv = fftwf_plan_guru_split_dft_c2r(1, &dim, 0, NULL, c->acc,
	    c->acc + c->slot, c->tmp, FFTW_ESTIMATE);
	if (c->fwd == NULL || c->inv == NULL) {
		snprintf(err, errlen, "convolver: FFTW made no plan for %u "
		    "points", 2 * p);
		return -1;
	}
	f = norm_factor(s);
	for (q = 0; q < c->npaths; q++)
		for (j = 0; j < p && j < s->ir_frames; j++)
			c->head[(size_t)q * p + p - 1 - j] = (float)(s->ir[
			    (size_t)j * s->ir_channels + c->path[q].ir] * f);
	load_tail(c, s, f);
	dsp_ramp_init(&c->g, dsp_db_to_gain(st->values[CONV_GAIN]));
	return 0;
}

static void
conv_done(struct dsp_stage *st)
{
	struct conv *c = st->state;

	if (c->fwd != NULL)
		fftwf_destroy_plan(c->fwd);
	if (c->inv != NULL)
		fftwf_destroy_plan(c->inv);
	fftwf_free(c->head);
	fftwf_free(c->h);
	fftwf_free(c->seg);
	fftwf_free(c->fdl);
	fftwf_free(c->acc);
	fftwf_free(c->tmp);
	fftwf_free(c->tail);
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

static void
conv_reset(struct dsp_stage *st)
{
	struct conv *c = st->state;

	memset(c->seg, 0, sizeof(float) * c->n * c->seglen);
	memset(c->fdl, 0, sizeof(float) * c->n * (c->k - 1) * 2 * c->slot);
	memset(c->tail, 0, sizeof(float) * c->n * c->p);
	c->fdl_new = 0;
	c->pos = 0;
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
static void fwd_exec(struct conv *c, float *in, float *spec) TP_REALTIME;
static void inv_exec(struct conv *c) TP_REALTIME;

static void
fwd_exec(struct conv *c, float *in, float *spec)
{
	fftwf_execute_split_dft_r2c(c->fwd, in, spec, spec + c->slot);
}

static void
inv_exec(struct conv *c)
{
	fftwf_execute_split_dft_c2r(c->inv, c->acc, c->acc + c->slot, c->tmp);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void cmac(float *restrict acc, const float *restrict a,
    const float *restrict b, size_t n) TP_REALTIME;

/*
 * acc += a * b for spectra of n bins each (n a multiple of 8), real parts
 * first and imaginary parts n floats on: four bins a vector.
 */
static void
cmac(float *restrict acc, const float *restrict a, const float *restrict b,
    size_t n)
{
	conv_v4f ar, ai, br, bi, cr, ci;
	size_t i;

	for (i = 0; i < n; i += 4) {
		memcpy(&ar, a + i, sizeof(ar));
		memcpy(&ai, a + n + i, sizeof(ai));
		memcpy(&br, b + i, sizeof(br));
		memcpy(&bi, b + n + i, sizeof(bi));
		memcpy(&cr, acc + i, sizeof(cr));
		memcpy(&ci, acc + n + i, sizeof(ci));
		cr += ar * br - ai * bi;
		ci += ar * bi + ai * br;
		memcpy(acc + i, &cr, sizeof(cr));
		memcpy(acc + n + i, &ci, sizeof(ci));
	}
}

static void boundary(struct conv *c) TP_REALTIME;

/*
 * A partition of input is complete: its segment joins the delay line, and
 * partitions 1..k-1 give their part of the next p output frames.
 */
static void
boundary(struct conv *c)
{
	unsigned p = c->p, m = c->k - 1, ch, q, k, slot;
	size_t spec = 2 * c->slot;
	float *seg;

	if (m > 0) {
		c->fdl_new = c->fdl_new == 0 ? m - 1 : c->fdl_new - 1;
		for (ch = 0; ch < c->n; ch++)
			fwd_exec(c, c->seg + (size_t)ch * c->seglen, c->fdl +
			    ((size_t)ch * m + c->fdl_new) * spec);
		for (ch = 0; ch < c->n; ch++) {
			memset(c->acc, 0, sizeof(float) * spec);
			for (q = 0; q < c->npaths; q++) {
				if (c->path[q].out != ch)
					continue;
				/* Partition k meets the segment k-1 back. */
				for (k = 1, slot = c->fdl_new; k <= m; k++) {
					cmac(c->acc, c->h + ((size_t)q * m +
					    k - 1) * spec, c->fdl +
					    ((size_t)c->path[q].in * m + slot) *
					    spec, c->slot);
					slot = slot + 1 == m ? 0 : slot + 1;
				}
			}
			inv_exec(c);
			memcpy(c->tail + (size_t)ch * p, c->tmp + p,
			    sizeof(float) * p);
		}
	}
	for (ch = 0; ch < c->n; ch++) {
		seg = c->seg + (size_t)ch * c->seglen;
		memcpy(seg, seg + p, sizeof(float) * p);
	}
	c->pos = 0;
}

static float head_dot(const float *restrict taps, const float *restrict x,
    unsigned p) TP_REALTIME;

/* sum of taps[i] * x[i], i < p, four lanes, always in the same order. */
static float
head_dot(const float *restrict taps, const float *restrict x, unsigned p)
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

static void conv_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
conv_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct conv *c = st->state;
	unsigned ch = st->in_channels, p = c->p, done = 0, m, i, a, q;
	float *seg, y[DSP_MAX_CHANNELS];
	double g;

	while (done < frames) {
		m = frames - done;
		if (m > p - c->pos)
			m = p - c->pos;
		/* All of the chunk's input first: out may be in. */
		for (a = 0; a < c->n; a++) {
			seg = c->seg + (size_t)a * c->seglen + p + c->pos;
			for (i = 0; i < m; i++)
				seg[i] = in[(size_t)(done + i) * ch +
				    st->act[a]];
		}
		for (i = 0; i < m; i++) {
			for (a = 0; a < c->n; a++)
				y[a] = c->tail[(size_t)a * p + c->pos + i];
			for (q = 0; q < c->npaths; q++)
				y[c->path[q].out] += head_dot(c->head +
				    (size_t)q * p, c->seg +
				    (size_t)c->path[q].in * c->seglen +
				    c->pos + i + 1, p);
			g = dsp_ramp_next(&c->g);
			for (a = 0; a < c->n; a++)
				out[(size_t)(done + i) * ch + st->act[a]] =
				    (float)(y[a] * g);
		}
		done += m;
		c->pos += m;
		if (c->pos == p)
			boundary(c);
	}
}

static const struct dsp_stage_ops ops = {
	.init = conv_init,
	.process = conv_process,
	.set = conv_set,
	.reset = conv_reset,
	.done = conv_done,
};

const struct dsp_type dsp_type_convolver = {
	.name = "convolver",
	.summary = "FIR convolution with an impulse response file, no added "
	    "latency",
	.params = params,
	.nparams = 1,
	.ops = &ops,
};
