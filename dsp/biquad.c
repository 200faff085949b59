/*
 * The RBJ Audio EQ Cookbook biquads: lowpass, highpass, bandpass (constant
 * 0 dB peak), notch, allpass, peaking, lowshelf, highshelf.  Coefficients
 * and state are double, as in sox, whose effects of the same names are the
 * tests' oracle.  Transposed direct form II.
 *
 * A parameter change glides over DSP_RAMP_MS: frequency in log steps, Q
 * and gain linearly, the coefficients recomputed every COEF_EVERY samples
 * counted from the change, so block boundaries never matter.
 */
#include <math.h>
#include <stdlib.h>

#include "dsp/types.h"

#define COEF_EVERY 32

enum bq_kind { LP, HP, BP, NOTCH, AP, PEAK, LSHELF, HSHELF };
enum { P_FREQ, P_Q, P_GAIN };

struct coefs {
	double b0, b1, b2, a1, a2;	/* normalised by a0 */
};

struct biquad {
	enum bq_kind kind;
	struct coefs k;
	double cur[3];		/* log(freq), q, gain now */
	double target[3];
	double step[3];		/* per COEF_EVERY samples */
	unsigned steps_left;	/* coefficient updates to go */
	unsigned sub_left;	/* samples until the next update */
	double z1[DSP_MAX_CHANNELS], z2[DSP_MAX_CHANNELS];
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
	double b0, b1, b2, a0, a1, a2;

	switch (kind) {
	case LP:
		b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = b0;
		a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
		break;
	case HP:
		b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = b0;
		a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
		break;
	case BP:
		b0 = alpha; b1 = 0; b2 = -alpha;
		a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
		break;
	case NOTCH:
		b0 = 1; b1 = -2 * cw; b2 = 1;
		a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
		break;
	case AP:
		b0 = 1 - alpha; b1 = -2 * cw; b2 = 1 + alpha;
		a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
		break;
	case PEAK:
		b0 = 1 + alpha * A; b1 = -2 * cw; b2 = 1 - alpha * A;
		a0 = 1 + alpha / A; a1 = -2 * cw; a2 = 1 - alpha / A;
		break;
	case LSHELF:
		b0 = A * ((A + 1) - (A - 1) * cw + sa);
		b1 = 2 * A * ((A - 1) - (A + 1) * cw);
		b2 = A * ((A + 1) - (A - 1) * cw - sa);
		a0 = (A + 1) + (A - 1) * cw + sa;
		a1 = -2 * ((A - 1) + (A + 1) * cw);
		a2 = (A + 1) + (A - 1) * cw - sa;
		break;
	case HSHELF:
	default:
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

static void redesign(struct dsp_stage *st) TP_REALTIME;

static void
redesign(struct dsp_stage *st)
{
	struct biquad *b = st->state;

	design(&b->k, b->kind, st->rate, exp(b->cur[P_FREQ]), b->cur[P_Q],
	    b->cur[P_GAIN]);
}

static void
targets(const struct dsp_stage *st, double t[3])
{
	t[P_FREQ] = log(st->values[P_FREQ]);
	t[P_Q] = st->values[P_Q];
	t[P_GAIN] = st->type->nparams > P_GAIN ? st->values[P_GAIN] : 0;
}

static int
bq_init(struct dsp_stage *st, enum bq_kind kind)
{
	struct biquad *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	b->kind = kind;
	targets(st, b->target);
	b->cur[0] = b->target[0];
	b->cur[1] = b->target[1];
	b->cur[2] = b->target[2];
	st->state = b;
	redesign(st);
	return 0;
}

static void bq_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
bq_set(struct dsp_stage *st, unsigned p, double v)
{
	struct biquad *b = st->state;
	unsigned steps = dsp_ramp_samples(st->rate) / COEF_EVERY, i;

	(void)p;
	(void)v;
	targets(st, b->target);
	if (steps == 0)
		steps = 1;
	for (i = 0; i < 3; i++)
		b->step[i] = (b->target[i] - b->cur[i]) / steps;
	b->steps_left = steps;
	b->sub_left = 0;
}

/* One channel, any stride. */
static void run_one(const struct coefs *k, const float *in, float *out,
    size_t stride, unsigned n, double *z1p, double *z2p) TP_REALTIME;

static void
run_one(const struct coefs *k, const float *in, float *out, size_t stride,
    unsigned n, double *z1p, double *z2p)
{
	double b0 = k->b0, b1 = k->b1, b2 = k->b2, a1 = k->a1, a2 = k->a2;
	double z1 = *z1p, z2 = *z2p, x, y;
	unsigned i;

	for (i = 0; i < n; i++) {
		x = in[i * stride];
		y = b0 * x + z1;
		z1 = b1 * x - a1 * y + z2;
		z2 = b2 * x - a2 * y;
		out[i * stride] = (float)y;
	}
	*z1p = z1;
	*z2p = z2;
}

/* Stereo with both channels: two independent chains interleaved, which
   keeps the FPU busy while each waits on its own feedback. */
static void run_stereo(const struct coefs *k, const float *in, float *out,
    unsigned n, double *z1, double *z2) TP_REALTIME;

static void
run_stereo(const struct coefs *k, const float *in, float *out, unsigned n,
    double *z1, double *z2)
{
	double b0 = k->b0, b1 = k->b1, b2 = k->b2, a1 = k->a1, a2 = k->a2;
	double l1 = z1[0], l2 = z2[0], r1 = z1[1], r2 = z2[1];
	double xl, xr, yl, yr;
	unsigned i;

	for (i = 0; i < n; i++) {
		xl = in[2 * i];
		xr = in[2 * i + 1];
		yl = b0 * xl + l1;
		yr = b0 * xr + r1;
		l1 = b1 * xl - a1 * yl + l2;
		r1 = b1 * xr - a1 * yr + r2;
		l2 = b2 * xl - a2 * yl;
		r2 = b2 * xr - a2 * yr;
		out[2 * i] = (float)yl;
		out[2 * i + 1] = (float)yr;
	}
	z1[0] = l1;
	z2[0] = l2;
	z1[1] = r1;
	z2[1] = r2;
}

static void bq_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
bq_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct biquad *b = st->state;
	unsigned ch = st->in_channels, i = 0, n, c, j;
	size_t off;

	dsp_copy_unmasked(st, in, out, frames);
	while (i < frames) {
		n = frames - i;
		if (b->steps_left > 0 || b->sub_left > 0) {
			if (b->sub_left == 0) {
				b->steps_left--;
				for (j = 0; j < 3; j++)
					b->cur[j] = b->steps_left == 0 ?
					    b->target[j] :
					    b->cur[j] + b->step[j];
				redesign(st);
				b->sub_left = COEF_EVERY;
			}
			if (n > b->sub_left)
				n = b->sub_left;
			b->sub_left -= n;
		}
		off = (size_t)i * ch;
		if (ch == 2 && st->mask == 3)
			run_stereo(&b->k, in + off, out + off, n, b->z1, b->z2);
		else
			for (c = 0; c < ch; c++)
				if (st->mask & (UINT32_C(1) << c))
					run_one(&b->k, in + off + c,
					    out + off + c, ch, n, &b->z1[c],
					    &b->z2[c]);
		i += n;
	}
}

static void bq_reset(struct dsp_stage *st) TP_REALTIME;

static void
bq_reset(struct dsp_stage *st)
{
	struct biquad *b = st->state;
	unsigned c;

	for (c = 0; c < DSP_MAX_CHANNELS; c++)
		b->z1[c] = b->z2[c] = 0;
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
BQ_INIT(lp_init, LP)
BQ_INIT(hp_init, HP)
BQ_INIT(bp_init, BP)
BQ_INIT(notch_init, NOTCH)
BQ_INIT(ap_init, AP)
BQ_INIT(peak_init, PEAK)
BQ_INIT(ls_init, LSHELF)
BQ_INIT(hs_init, HSHELF)

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
	init, bq_process, bq_set, bq_reset, NULL			\
};									\
const struct dsp_type var = { name, summary, params, n, &var##_ops };

BQ_TYPE(dsp_type_lowpass, "lowpass", "2nd-order lowpass (RBJ)", lp_init,
    fq_params, 2)
BQ_TYPE(dsp_type_highpass, "highpass", "2nd-order highpass (RBJ)", hp_init,
    fq_params, 2)
BQ_TYPE(dsp_type_bandpass, "bandpass", "bandpass, constant 0 dB peak (RBJ)",
    bp_init, fq_params, 2)
BQ_TYPE(dsp_type_notch, "notch", "notch (band-reject) (RBJ)", notch_init,
    fq_params, 2)
BQ_TYPE(dsp_type_allpass, "allpass", "2nd-order allpass (RBJ)", ap_init,
    fq_params, 2)
BQ_TYPE(dsp_type_peaking, "peaking", "peaking EQ (RBJ)", peak_init,
    fqg_params, 3)
BQ_TYPE(dsp_type_lowshelf, "lowshelf", "low shelf (RBJ)", ls_init,
    fqg_params, 3)
BQ_TYPE(dsp_type_highshelf, "highshelf", "high shelf (RBJ)", hs_init,
    fqg_params, 3)
