/*
 * The RBJ Audio EQ Cookbook biquads: lowpass, highpass, bandpass (constant
 * 0 dB peak gain), notch, allpass, peaking, lowshelf, highshelf.
 *
 * Coefficients are computed in double from the cookbook's formulas
 * (w0 = 2 pi f / rate, alpha = sin(w0) / 2Q, A = 10^(gain/40)) and
 * normalised by a0; the filter runs in direct form I with its state in
 * double, as sox does, whose effects of the same names are the tests'
 * oracle.  Direct form I also copes best with coefficients that change
 * under it: its state is plain past samples, never scaled by them.
 *
 * A change glides over DSP_RAMP_MS: frequency and Q in equal log steps,
 * gain in equal dB steps, the coefficients recomputed every COEF_EVERY
 * samples counted from the sample where the change arrived, so block
 * boundaries never matter.  The last step uses the targets themselves, so
 * a filter that has settled is exactly the filter made with those values.
 *
 * Speed.  Settled on a machine with AVX2 and FMA, the filter runs four
 * samples at a time (biquad_ahead.c, and biquad.h for why); while a
 * parameter glides, and on other machines, it runs sample by sample as
 * below.  With TIDEPOOL_DSP_PLAIN set in the environment, stages made
 * then always run sample by sample.
 *
 * Sample by sample, two channels go side by side in one vector of two
 * doubles (SSE2 on x86-64, NEON on aarch64, whatever the compiler makes
 * of it elsewhere): one multiply or add does both, and the lanes compute
 * exactly what the scalar code for one channel computes, so a channel's
 * output does not depend on which channel it is paired with.  The sum is
 * ordered so that the newest output's feedback (a1 y1) comes last: the
 * chain each sample waits on is one multiply and one subtraction.  Plain
 * interleaved stereo, the common case, has a loop of its own with the
 * stride known to the compiler.  (Computing samples in pairs, the second
 * from the recursion expanded once, was tried: no faster than this.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "dsp/types.h"

#define COEF_EVERY 16	/* samples between coefficient updates in a glide */

/* Which filter; the cookbook's names. */
enum bq_kind {
	BQ_LOWPASS, BQ_HIGHPASS, BQ_BANDPASS, BQ_NOTCH, BQ_ALLPASS,
	BQ_PEAKING, BQ_LOWSHELF, BQ_HIGHSHELF
};

/* The parameters, in table order; gain only for the last three kinds. */
enum { P_FREQ, P_Q, P_GAIN, NP };

/* Normalised by a0: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
struct coefs {
	double b0, b1, b2, a1, a2;
};

struct biquad {
	enum bq_kind kind;	/* fixed by the type */
	struct coefs k;		/* in use now */
	double cur[NP];		/* log freq, log q, gain dB of k */
	double step[NP];	/* per update while gliding */
	unsigned steps_left;	/* updates still to come */
	unsigned sub_left;	/* samples before the next update */
	/* Settled, the filter runs a group at a time where it can
	   (biquad.h).  Groups start at multiples of BQ_GROUP samples from
	   reset, so block boundaries never matter. */
	int ahead;		/* this machine runs groups */
	struct bq_ahead w;	/* k unrolled, while settled */
	unsigned phase;		/* samples since reset, mod BQ_GROUP */
	int open;		/* a group is part done: h[] is the history
				   before it, pend[] its inputs so far */
	/* Per acted-on channel, and scratch for an odd one's partner. */
	struct bq_hist h[DSP_MAX_CHANNELS + 1];
	bq_pending pend[DSP_MAX_CHANNELS + 1];
};

static void design(struct coefs *k, enum bq_kind kind, double rate,
    double freq, double q, double gain) TP_REALTIME;

static void
design(struct coefs *k, enum bq_kind kind, double rate, double freq,
    double q, double gain)
{
	double w0 = 2 * M_PI * freq / rate, cw = cos(w0), sw = sin(w0);
	double alpha = sw / (2 * q), A = pow(10.0, gain / 40.0);
	double sa = 2 * sqrt(A) * alpha;
	double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;

	switch (kind) {
	case BQ_LOWPASS:	/* H(s) = 1 / (s^2 + s/Q + 1) */
		b0 = (1 - cw) / 2;
		b1 = 1 - cw;
		b2 = (1 - cw) / 2;
		a0 = 1 + alpha;
		a1 = -2 * cw;
		a2 = 1 - alpha;
		break;
	case BQ_HIGHPASS:	/* H(s) = s^2 / (s^2 + s/Q + 1) */
		b0 = (1 + cw) / 2;
		b1 = -(1 + cw);
		b2 = (1 + cw) / 2;
		a0 = 1 + alpha;
		a1 = -2 * cw;
		a2 = 1 - alpha;
		break;
	case BQ_BANDPASS:	/* H(s) = (s/Q) / (s^2 + s/Q + 1) */
		b0 = alpha;
		b1 = 0;
		b2 = -alpha;
		a0 = 1 + alpha;
		a1 = -2 * cw;
		a2 = 1 - alpha;
		break;
	case BQ_NOTCH:		/* H(s) = (s^2 + 1) / (s^2 + s/Q + 1) */
		b0 = 1;
		b1 = -2 * cw;
		b2 = 1;
		a0 = 1 + alpha;
		a1 = -2 * cw;
		a2 = 1 - alpha;
		break;
	case BQ_ALLPASS:	/* H(s) = (s^2 - s/Q + 1) / (s^2 + s/Q + 1) */
		b0 = 1 - alpha;
		b1 = -2 * cw;
		b2 = 1 + alpha;
		a0 = 1 + alpha;
		a1 = -2 * cw;
		a2 = 1 - alpha;
		break;
	case BQ_PEAKING:	/* (s^2 + s A/Q + 1) / (s^2 + s/(AQ) + 1) */
		b0 = 1 + alpha * A;
		b1 = -2 * cw;
		b2 = 1 - alpha * A;
		a0 = 1 + alpha / A;
		a1 = -2 * cw;
		a2 = 1 - alpha / A;
		break;
	case BQ_LOWSHELF:
		b0 = A * ((A + 1) - (A - 1) * cw + sa);
		b1 = 2 * A * ((A - 1) - (A + 1) * cw);
		b2 = A * ((A + 1) - (A - 1) * cw - sa);
		a0 = (A + 1) + (A - 1) * cw + sa;
		a1 = -2 * ((A - 1) + (A + 1) * cw);
		a2 = (A + 1) + (A - 1) * cw - sa;
		break;
	case BQ_HIGHSHELF:
		b0 = A * ((A + 1) + (A - 1) * cw + sa);
		b1 = -2 * A * ((A - 1) + (A + 1) * cw);
		b2 = A * ((A + 1) + (A - 1) * cw - sa);
		a0 = (A + 1) - (A - 1) * cw + sa;
		a1 = 2 * ((A - 1) - (A + 1) * cw);
		a2 = (A + 1) - (A - 1) * cw - sa;
		break;
	}
	k->b0 = b0 / a0;
	k->b1 = b1 / a0;
	k->b2 = b2 / a0;
	k->a1 = a1 / a0;
	k->a2 = a2 / a0;
}

static double
gain_of(const struct dsp_stage *st)
{
	return st->type->nparams > P_GAIN ? st->values[P_GAIN] : 0;
}

/* The coefficients of the targets themselves, and the glide settled. */
static void settle(struct dsp_stage *st) TP_REALTIME;

static void
settle(struct dsp_stage *st)
{
	struct biquad *b = st->state;

	b->cur[P_FREQ] = log(st->values[P_FREQ]);
	b->cur[P_Q] = log(st->values[P_Q]);
	b->cur[P_GAIN] = gain_of(st);
	b->steps_left = b->sub_left = 0;
	design(&b->k, b->kind, st->rate, st->values[P_FREQ],
	    st->values[P_Q], gain_of(st));
	if (b->ahead)
		bq_ahead_unroll(&b->w, b->k.b0, b->k.b1, b->k.b2, b->k.a1,
		    b->k.a2);
}

static int
bq_init(struct dsp_stage *st, enum bq_kind kind)
{
	struct biquad *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	b->kind = kind;
	/* The variable is for tests and comparisons: both forms, one
	   machine. */
	b->ahead = bq_ahead_available() && getenv("TIDEPOOL_DSP_PLAIN") == NULL;
	st->state = b;
	settle(st);
	return 0;
}

static void bq_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
bq_set(struct dsp_stage *st, unsigned p, double v)
{
	struct biquad *b = st->state;
	unsigned steps = dsp_ramp_samples(st->rate) / COEF_EVERY;

	(void)p;
	(void)v;
	if (steps == 0)
		steps = 1;
	if (b->open) {
		/* A glide runs sample by sample, from here. */
		bq_ahead_close(&b->w, b->phase, st->nact, b->h, b->pend);
		b->open = 0;
	}
	/* From wherever the glide is now, to the targets. */
	b->step[P_FREQ] = (log(st->values[P_FREQ]) - b->cur[P_FREQ]) / steps;
	b->step[P_Q] = (log(st->values[P_Q]) - b->cur[P_Q]) / steps;
	b->step[P_GAIN] = (gain_of(st) - b->cur[P_GAIN]) / steps;
	b->steps_left = steps;
	b->sub_left = 0;	/* the first update is at this sample */
}

/* The next coefficients of a glide. */
static void bq_step(struct dsp_stage *st) TP_REALTIME;

static void
bq_step(struct dsp_stage *st)
{
	struct biquad *b = st->state;
	unsigned j;

	if (--b->steps_left == 0) {
		settle(st);
		return;
	}
	for (j = 0; j < NP; j++)
		b->cur[j] += b->step[j];
	design(&b->k, b->kind, st->rate, exp(b->cur[P_FREQ]),
	    exp(b->cur[P_Q]), b->cur[P_GAIN]);
	b->sub_left = COEF_EVERY;
}

typedef double v2d __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));

/* For the specialisations of run2(): what matters is that adjacent (and
   for stereo ch, a and b) are constants there. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Two channels, a and b, of the frame at p, as doubles. */
static ALWAYS_INLINE v2d
load2(const float *p, unsigned a, unsigned b, int adjacent)
{
	v2f f;

	if (adjacent) {
		memcpy(&f, p + a, sizeof(f));
		return __builtin_convertvector(f, v2d);
	}
	return (v2d){ p[a], p[b] };
}

static ALWAYS_INLINE void
store2(float *p, unsigned a, unsigned b, v2d y, int adjacent)
{
	v2f f = __builtin_convertvector(y, v2f);

	if (adjacent)
		memcpy(p + a, &f, sizeof(f));
	else {
		p[a] = f[0];
		p[b] = f[1];
	}
}

/*
 * n frames of channels a and b of frames with ch channels.  The same
 * expression as run1(), lane by lane.
 */
static ALWAYS_INLINE void
run2(const struct coefs *k, const float *in, float *out, unsigned ch,
    unsigned n, unsigned a, unsigned b, struct bq_hist *ha, struct bq_hist *hb,
    int adjacent)
{
	const v2d b0 = { k->b0, k->b0 }, b1 = { k->b1, k->b1 };
	const v2d b2 = { k->b2, k->b2 }, a1 = { k->a1, k->a1 };
	const v2d a2 = { k->a2, k->a2 };
	v2d x1 = { ha->x1, hb->x1 }, x2 = { ha->x2, hb->x2 };
	v2d y1 = { ha->y1, hb->y1 }, y2 = { ha->y2, hb->y2 };
	v2d x, y;
	unsigned i;

	for (i = 0; i < n; i++, in += ch, out += ch) {
		x = load2(in, a, b, adjacent);
		y = b0 * x + b1 * x1 + b2 * x2 - a2 * y2 - a1 * y1;
		x2 = x1;
		x1 = x;
		y2 = y1;
		y1 = y;
		store2(out, a, b, y, adjacent);
	}
	ha->x1 = x1[0];
	ha->x2 = x2[0];
	ha->y1 = y1[0];
	ha->y2 = y2[0];
	hb->x1 = x1[1];
	hb->x2 = x2[1];
	hb->y1 = y1[1];
	hb->y2 = y2[1];
}

/* One channel, a: run2() for one lane. */
static void run1(const struct coefs *k, const float *in, float *out,
    unsigned ch, unsigned n, unsigned a, struct bq_hist *h) TP_REALTIME;

static void
run1(const struct coefs *k, const float *in, float *out, unsigned ch,
    unsigned n, unsigned a, struct bq_hist *h)
{
	const double b0 = k->b0, b1 = k->b1, b2 = k->b2, a1 = k->a1,
	    a2 = k->a2;
	double x1 = h->x1, x2 = h->x2, y1 = h->y1, y2 = h->y2, x, y;
	unsigned i;

	for (i = 0; i < n; i++, in += ch, out += ch) {
		x = in[a];
		y = b0 * x + b1 * x1 + b2 * x2 - a2 * y2 - a1 * y1;
		x2 = x1;
		x1 = x;
		y2 = y1;
		y1 = y;
		out[a] = (float)y;
	}
	h->x1 = x1;
	h->x2 = x2;
	h->y1 = y1;
	h->y2 = y2;
}

/* The specialisations of run2(): interleaved stereo; two channels side
   by side among others; two apart. */
static void run2_stereo(const struct coefs *k, const float *in, float *out,
    unsigned n, struct bq_hist *h) TP_REALTIME;

static void
run2_stereo(const struct coefs *k, const float *in, float *out, unsigned n,
    struct bq_hist *h)
{
	run2(k, in, out, 2, n, 0, 1, &h[0], &h[1], 1);
}

static void run2_adjacent(const struct coefs *k, const float *in,
    float *out, unsigned ch, unsigned n, unsigned a, struct bq_hist *ha,
    struct bq_hist *hb) TP_REALTIME;

static void
run2_adjacent(const struct coefs *k, const float *in, float *out,
    unsigned ch, unsigned n, unsigned a, struct bq_hist *ha, struct bq_hist *hb)
{
	run2(k, in, out, ch, n, a, a + 1, ha, hb, 1);
}

static void run2_apart(const struct coefs *k, const float *in, float *out,
    unsigned ch, unsigned n, unsigned a, unsigned b, struct bq_hist *ha,
    struct bq_hist *hb) TP_REALTIME;

static void
run2_apart(const struct coefs *k, const float *in, float *out, unsigned ch,
    unsigned n, unsigned a, unsigned b, struct bq_hist *ha, struct bq_hist *hb)
{
	run2(k, in, out, ch, n, a, b, ha, hb, 0);
}

/* n frames of every acted-on channel with the coefficients in use. */
static void run(struct dsp_stage *st, const float *in, float *out,
    unsigned n) TP_REALTIME;

static void
run(struct dsp_stage *st, const float *in, float *out, unsigned n)
{
	struct biquad *b = st->state;
	unsigned ch = st->in_channels, nact = st->nact, k, ca, cb;

	if (ch == 2 && nact == 2) {
		run2_stereo(&b->k, in, out, n, b->h);
		return;
	}
	for (k = 0; k + 1 < nact; k += 2) {
		ca = st->act[k];
		cb = st->act[k + 1];
		if (cb == ca + 1)
			run2_adjacent(&b->k, in, out, ch, n, ca, &b->h[k],
			    &b->h[k + 1]);
		else
			run2_apart(&b->k, in, out, ch, n, ca, cb, &b->h[k],
			    &b->h[k + 1]);
	}
	if (k < nact)
		run1(&b->k, in, out, ch, n, st->act[k], &b->h[k]);
}

static void bq_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
bq_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct biquad *b = st->state;
	unsigned ch = st->in_channels, i = 0, n;

	while (i < frames) {
		n = frames - i;
		if (b->sub_left == 0 && b->steps_left > 0)
			bq_step(st);	/* the last step settles */
		if (b->sub_left > 0) {		/* gliding */
			if (n > b->sub_left)
				n = b->sub_left;
			b->sub_left -= n;
		} else if (b->ahead && (b->open || b->phase == 0)) {
			bq_ahead_run(&b->w, in + (size_t)i * ch,
			    out + (size_t)i * ch, ch, n,
			    b->open ? b->phase : 0, st->act, st->nact, b->h,
			    b->pend);
			b->phase = (b->phase + n) % BQ_GROUP;
			b->open = b->phase != 0;
			i += n;
			continue;
		} else if (b->ahead && n > BQ_GROUP - b->phase)
			n = BQ_GROUP - b->phase;	/* to a group's start */
		run(st, in + (size_t)i * ch, out + (size_t)i * ch, n);
		b->phase = (b->phase + n) % BQ_GROUP;
		i += n;
	}
}

static void bq_reset(struct dsp_stage *st) TP_REALTIME;

static void
bq_reset(struct dsp_stage *st)
{
	struct biquad *b = st->state;
	unsigned c;

	for (c = 0; c <= DSP_MAX_CHANNELS; c++)
		b->h[c].x1 = b->h[c].x2 = b->h[c].y1 = b->h[c].y2 = 0;
	b->phase = 0;
	b->open = 0;
	settle(st);
}

#define BQ_INIT(fn, kind)						\
static int								\
fn(struct dsp_stage *st, const struct dsp_setup *s, char *err,		\
    size_t errlen)							\
{									\
	(void)s;							\
	(void)err;							\
	(void)errlen;							\
	return bq_init(st, kind);					\
}
BQ_INIT(lp_init, BQ_LOWPASS)
BQ_INIT(hp_init, BQ_HIGHPASS)
BQ_INIT(bp_init, BQ_BANDPASS)
BQ_INIT(notch_init, BQ_NOTCH)
BQ_INIT(ap_init, BQ_ALLPASS)
BQ_INIT(peak_init, BQ_PEAKING)
BQ_INIT(ls_init, BQ_LOWSHELF)
BQ_INIT(hs_init, BQ_HIGHSHELF)

/* The upper bound of freq is rate/2 (DSP_PARAM_NYQUIST); 192000 only
   caps it at very high rates. */
static const struct dsp_param fq_params[] = {
	{ "freq", "Hz", 1, 192000, 1000, DSP_PARAM_NYQUIST,
	    "corner or centre frequency" },
	{ "q", "", 0.1, 40, 0.707, 0, "quality factor (0.707: Butterworth)" },
};
static const struct dsp_param fqg_params[] = {
	{ "freq", "Hz", 1, 192000, 1000, DSP_PARAM_NYQUIST,
	    "centre or shelf frequency" },
	{ "q", "", 0.1, 40, 0.707, 0, "quality factor" },
	{ "gain", "dB", -40, 40, 0, 0, "boost or cut" },
};

#define BQ_TYPE(var, name, summary, init, params, n)			\
static const struct dsp_stage_ops var##_ops = {				\
	init, bq_process, bq_set, bq_reset, NULL, NULL, 0		\
};									\
const struct dsp_type var = { name, summary, params, n, &var##_ops };

BQ_TYPE(dsp_type_lowpass, "lowpass", "2nd-order lowpass (RBJ; sox lowpass)",
    lp_init, fq_params, 2)
BQ_TYPE(dsp_type_highpass, "highpass",
    "2nd-order highpass (RBJ; sox highpass)", hp_init, fq_params, 2)
BQ_TYPE(dsp_type_bandpass, "bandpass",
    "bandpass, constant 0 dB peak (RBJ; sox bandpass)", bp_init, fq_params,
    2)
BQ_TYPE(dsp_type_notch, "notch", "notch (RBJ; sox bandreject)", notch_init,
    fq_params, 2)
BQ_TYPE(dsp_type_allpass, "allpass", "2nd-order allpass (RBJ; sox allpass)",
    ap_init, fq_params, 2)
BQ_TYPE(dsp_type_peaking, "peaking", "peaking EQ (RBJ; sox equalizer)",
    peak_init, fqg_params, 3)
BQ_TYPE(dsp_type_lowshelf, "lowshelf", "low shelf (RBJ; sox bass)", ls_init,
    fqg_params, 3)
BQ_TYPE(dsp_type_highshelf, "highshelf", "high shelf (RBJ; sox treble)",
    hs_init, fqg_params, 3)
