/*
 * gain: a level in dB, and mute.  A change glides: the linear factor moves
 * in equal steps, one per sample, over DSP_RAMP_MS, so there is no zipper
 * noise and the result does not depend on block boundaries.  Mute is a
 * glide to 0.  At rest the loop is one multiply per sample, which the
 * compiler vectorises; at 0 dB in place it does nothing at all.
 */
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

enum { GAIN_DB, GAIN_MUTE };

struct gain {
	struct dsp_ramp g;	/* the linear factor */
};

static const struct dsp_param params[] = {
	{ "gain", "dB", -120, 24, 0, 0, "level change" },
	{ "mute", "", 0, 1, 0, DSP_PARAM_BOOL, "1 silences the output" },
};

static double
wanted(const struct dsp_stage *st)
{
	return st->values[GAIN_MUTE] != 0 ? 0 :
	    dsp_db_to_gain(st->values[GAIN_DB]);
}

static int
gain_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct gain *g = calloc(1, sizeof(*g));

	(void)s;
	(void)err;
	(void)errlen;
	if (g == NULL)
		return -1;
	dsp_ramp_init(&g->g, wanted(st));
	st->state = g;
	return 0;
}

static void gain_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
gain_set(struct dsp_stage *st, unsigned p, double v)
{
	struct gain *g = st->state;

	(void)p;
	(void)v;
	dsp_ramp_to(&g->g, wanted(st), dsp_ramp_samples(st->rate));
}

/*
 * n samples times f, out distinct from in or the same buffer.  In chunks
 * of 8 with restrict pointers so that gcc -O2 turns each chunk into packed
 * multiplies (its cheap vectoriser will not version a loop of unknown
 * length for aliasing).
 */
static void mul_copy(const float *restrict in, float *restrict out,
    size_t n, float f) TP_REALTIME;

static void
mul_copy(const float *restrict in, float *restrict out, size_t n, float f)
{
	size_t i = 0, j;

	for (; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			out[i + j] = in[i + j] * f;
	for (; i < n; i++)
		out[i] = in[i] * f;
}

static void mul_inplace(float *restrict buf, size_t n, float f) TP_REALTIME;

static void
mul_inplace(float *restrict buf, size_t n, float f)
{
	size_t i = 0, j;

	for (; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			buf[i + j] *= f;
	for (; i < n; i++)
		buf[i] *= f;
}

/* frames frames of the acted-on channels times f. */
static void scale(const struct dsp_stage *st, const float *in, float *out,
    unsigned frames, float f) TP_REALTIME;

static void
scale(const struct dsp_stage *st, const float *in, float *out,
    unsigned frames, float f)
{
	unsigned ch = st->in_channels, nact = st->nact, i, k;

	if (nact == ch) {
		/* x * 1.0f is x: in place at unity there is nothing to do. */
		if (in == out) {
			if (f != 1.0f)
				mul_inplace(out, (size_t)frames * ch, f);
		} else
			mul_copy(in, out, (size_t)frames * ch, f);
		return;
	}
	for (i = 0; i < frames; i++, in += ch, out += ch)
		for (k = 0; k < nact; k++)
			out[st->act[k]] = in[st->act[k]] * f;
}

static void gain_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
gain_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct gain *g = st->state;
	unsigned ch = st->in_channels, nact = st->nact, i, k;
	float f;

	/* The glide, one factor per frame. */
	for (i = 0; i < frames && g->g.left > 0; i++) {
		f = (float)dsp_ramp_next(&g->g);
		for (k = 0; k < nact; k++)
			out[(size_t)i * ch + st->act[k]] =
			    in[(size_t)i * ch + st->act[k]] * f;
	}
	if (i < frames)
		scale(st, in + (size_t)i * ch, out + (size_t)i * ch,
		    frames - i, (float)g->g.cur);
}

static void gain_reset(struct dsp_stage *st) TP_REALTIME;

static void
gain_reset(struct dsp_stage *st)
{
	struct gain *g = st->state;

	dsp_ramp_settle(&g->g);
}

static const struct dsp_stage_ops ops = {
	gain_init, gain_process, gain_set, gain_reset, NULL, NULL, 0
};

const struct dsp_type dsp_type_gain = {
	"gain", "level in dB, and mute (glides over 20 ms)", params, 2, &ops
};
