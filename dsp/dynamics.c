/*
 * limiter and compressor.  Both link the channels they act on (one gain for
 * all, from the loudest), and run per sample, so block boundaries never
 * matter.
 *
 * The limiter looks ahead: the audio is delayed by L samples while the gain
 * needed for each sample is known as it enters.  The gain applied at the
 * output is the running minimum of that need over L+1 samples, averaged
 * over another L+1: every value averaged is at most the need of the sample
 * leaving, so the output never exceeds the threshold, and the gain comes
 * down as a smooth ramp instead of a step.  Recovery is a one-pole release.
 * Lookahead is fixed when the stage is built (changing it would move the
 * audio in time); threshold and release change live.
 */
#include <math.h>
#include <stdlib.h>

#include "dsp/types.h"

#define LOOKAHEAD_MAX_MS 20

enum { L_THRESHOLD, L_RELEASE, L_LOOKAHEAD };

struct limiter {
	unsigned L;		/* lookahead in samples: the delay */
	unsigned W;		/* L + 1: the window */
	float *line;		/* max(L, 1) frames x channels, a ring */
	double *hold;		/* W: the recent minima, for the average */
	uint64_t *dq_at;	/* sliding-minimum deque: sample numbers */
	double *dq_val;		/* ... and their needs, increasing */
	unsigned dq_head, dq_len;
	uint64_t n;		/* samples seen */
	double sum;		/* of hold[] */
	double g;		/* the gain applied last */
	double thr, thr_target, thr_step;
	unsigned thr_left;
	double rcoef;		/* release, per sample */
};

static const struct dsp_param lim_params[] = {
	{ "threshold", "dBFS", -60, 0, -1, 0, "the output never goes above" },
	{ "release", "ms", 1, 5000, 50, 0, "recovery time" },
	{ "lookahead", "ms", 0, LOOKAHEAD_MAX_MS, 5, 0,
	    "delay that lets the gain come down smoothly (fixed at load)" },
};

static double
release_coef(double rate, double ms)
{
	return exp(-1.0 / (ms / 1000.0 * rate));
}

static void lim_reset(struct dsp_stage *st) TP_REALTIME;

static int
lim_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct limiter *l = calloc(1, sizeof(*l));

	(void)s;
	(void)err;
	(void)errlen;
	if (l == NULL)
		return -1;
	st->state = l;
	l->L = (unsigned)lround(st->values[L_LOOKAHEAD] * st->rate / 1000.0);
	l->W = l->L + 1;
	l->line = calloc((size_t)(l->L ? l->L : 1) * st->in_channels,
	    sizeof(float));
	l->hold = calloc(l->W, sizeof(double));
	l->dq_at = calloc(l->W, sizeof(uint64_t));
	l->dq_val = calloc(l->W, sizeof(double));
	if (l->line == NULL || l->hold == NULL || l->dq_at == NULL ||
	    l->dq_val == NULL)
		return -1;
	l->thr = l->thr_target = dsp_db_to_gain(st->values[L_THRESHOLD]);
	l->rcoef = release_coef(st->rate, st->values[L_RELEASE]);
	l->g = 1;
	lim_reset(st);
	return 0;
}

static void lim_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
lim_set(struct dsp_stage *st, unsigned p, double v)
{
	struct limiter *l = st->state;
	unsigned n = dsp_ramp_samples(st->rate);

	if (p == L_THRESHOLD) {
		l->thr_target = dsp_db_to_gain(v);
		l->thr_left = n ? n : 1;
		l->thr_step = (l->thr_target - l->thr) / l->thr_left;
	} else if (p == L_RELEASE)
		l->rcoef = release_coef(st->rate, v);
}

/* The gain the loudest acted-on channel of frame i needs. */
static double frame_need(const struct dsp_stage *st, const float *in,
    double thr) TP_REALTIME;

static double
frame_need(const struct dsp_stage *st, const float *in, double thr)
{
	unsigned c;
	float peak = 0;

	for (c = 0; c < st->in_channels; c++)
		if ((st->mask & (UINT32_C(1) << c)) && fabsf(in[c]) > peak)
			peak = fabsf(in[c]);
	return peak > thr ? thr / peak : 1.0;
}

static void lim_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
lim_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct limiter *l = st->state;
	unsigned ch = st->in_channels, W = l->W, c, i, slot, back;
	double need, h, a;
	float x, lim;
	size_t k;

	dsp_copy_unmasked(st, in, out, frames);
	for (i = 0; i < frames; i++) {
		if (l->thr_left)
			l->thr = --l->thr_left ? l->thr + l->thr_step :
			    l->thr_target;
		need = frame_need(st, in + (size_t)i * ch, l->thr);
		/* Sliding minimum of the needs of samples n-L .. n. */
		while (l->dq_len > 0) {
			back = (l->dq_head + l->dq_len - 1) % W;
			if (l->dq_val[back] < need)
				break;
			l->dq_len--;
		}
		back = (l->dq_head + l->dq_len) % W;
		l->dq_at[back] = l->n;
		l->dq_val[back] = need;
		l->dq_len++;
		if (l->dq_at[l->dq_head] + W <= l->n) {
			l->dq_head = (l->dq_head + 1) % W;
			l->dq_len--;
		}
		h = l->dq_val[l->dq_head];
		/* Average of the last W minima: each is at most the need of
		   sample n-L, the one leaving the delay now. */
		slot = (unsigned)(l->n % W);
		l->sum += h - l->hold[slot];
		l->hold[slot] = h;
		a = l->sum / W;
		if (a > 1)
			a = 1;
		l->g = a <= l->g ? a : a + (l->g - a) * l->rcoef;

		lim = (float)l->thr;
		slot = l->L ? (unsigned)(l->n % l->L) : 0;
		for (c = 0; c < ch; c++) {
			if (!(st->mask & (UINT32_C(1) << c)))
				continue;
			k = (size_t)i * ch + c;
			if (l->L) {
				x = (float)(l->line[(size_t)slot * ch + c] *
				    l->g);
				l->line[(size_t)slot * ch + c] = in[k];
			} else
				x = (float)(in[k] * l->g);
			/* A guard against rounding, never the limiter. */
			out[k] = x > lim ? lim : x < -lim ? -lim : x;
		}
		l->n++;
	}
}

static void
lim_reset(struct dsp_stage *st)
{
	struct limiter *l = st->state;
	unsigned i;

	for (i = 0; i < (l->L ? l->L : 1) * st->in_channels; i++)
		l->line[i] = 0;
	for (i = 0; i < l->W; i++)
		l->hold[i] = 1;
	l->sum = l->W;
	l->dq_len = 0;
	l->dq_head = 0;
	l->g = 1;
	l->n = 0;
}

static void
lim_done(struct dsp_stage *st)
{
	struct limiter *l = st->state;

	if (l == NULL)
		return;
	free(l->line);
	free(l->hold);
	free(l->dq_at);
	free(l->dq_val);
}

static const struct dsp_stage_ops lim_ops = {
	lim_init, lim_process, lim_set, lim_reset, lim_done
};

const struct dsp_type dsp_type_limiter = {
	"limiter", "brickwall peak limiter with lookahead", lim_params, 3,
	&lim_ops
};

/* ---- compressor ------------------------------------------------------ */

enum { C_THRESHOLD, C_RATIO, C_ATTACK, C_RELEASE, C_KNEE, C_MAKEUP };

struct compressor {
	double env_db;		/* smoothed gain change in dB (<= makeup) */
	double acoef, rcoef;
};

static const struct dsp_param comp_params[] = {
	{ "threshold", "dBFS", -60, 0, -20, 0, "level where it starts" },
	{ "ratio", "", 1, 20, 4, 0, "input dB per output dB above threshold" },
	{ "attack", "ms", 0.1, 200, 10, 0, "how fast it reduces" },
	{ "release", "ms", 1, 5000, 100, 0, "how fast it recovers" },
	{ "knee", "dB", 0, 24, 6, 0, "width of the soft knee" },
	{ "makeup", "dB", 0, 24, 0, 0, "gain added after" },
};

static int
comp_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct compressor *k = calloc(1, sizeof(*k));

	(void)s;
	(void)err;
	(void)errlen;
	if (k == NULL)
		return -1;
	k->acoef = release_coef(st->rate, st->values[C_ATTACK]);
	k->rcoef = release_coef(st->rate, st->values[C_RELEASE]);
	k->env_db = st->values[C_MAKEUP];
	st->state = k;
	return 0;
}

static void comp_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
comp_set(struct dsp_stage *st, unsigned p, double v)
{
	struct compressor *k = st->state;

	if (p == C_ATTACK)
		k->acoef = release_coef(st->rate, v);
	else if (p == C_RELEASE)
		k->rcoef = release_coef(st->rate, v);
	/* threshold, ratio, knee and makeup act through the envelope,
	   which glides to them at the attack and release rates. */
}

/* The static curve: gain change in dB for an input level in dB. */
static double curve(double x, double t, double r, double w) TP_REALTIME;

static double
curve(double x, double t, double r, double w)
{
	double over = x - t;

	if (2 * over < -w)
		return 0;
	if (w > 0 && 2 * fabs(over) <= w)
		return (1 / r - 1) * (over + w / 2) * (over + w / 2) / (2 * w);
	return (1 / r - 1) * over;
}

static void comp_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
comp_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct compressor *k = st->state;
	unsigned ch = st->in_channels, c, i;
	double t = st->values[C_THRESHOLD], r = st->values[C_RATIO];
	double w = st->values[C_KNEE], m = st->values[C_MAKEUP];
	double peak, want, g;
	float x;

	dsp_copy_unmasked(st, in, out, frames);
	for (i = 0; i < frames; i++) {
		peak = 1e-9;
		for (c = 0; c < ch; c++) {
			if (!(st->mask & (UINT32_C(1) << c)))
				continue;
			x = in[(size_t)i * ch + c];
			if (fabsf(x) > peak)
				peak = fabsf(x);
		}
		want = curve(20 * log10(peak), t, r, w) + m;
		k->env_db = want < k->env_db ?
		    want + (k->env_db - want) * k->acoef :
		    want + (k->env_db - want) * k->rcoef;
		g = pow(10.0, k->env_db / 20);
		for (c = 0; c < ch; c++)
			if (st->mask & (UINT32_C(1) << c))
				out[(size_t)i * ch + c] = (float)(
				    in[(size_t)i * ch + c] * g);
	}
}

static void comp_reset(struct dsp_stage *st) TP_REALTIME;

static void
comp_reset(struct dsp_stage *st)
{
	struct compressor *k = st->state;

	k->env_db = st->values[C_MAKEUP];
}

static const struct dsp_stage_ops comp_ops = {
	comp_init, comp_process, comp_set, comp_reset, NULL
};

const struct dsp_type dsp_type_compressor = {
	"compressor", "feed-forward compressor with a soft knee",
	comp_params, 6, &comp_ops
};
