/*
 * gain: a level in dB, and mute.  A change glides linearly over
 * DSP_RAMP_MS, one step per sample, so there is no zipper noise and the
 * result does not depend on block boundaries.
 */
#include <stdlib.h>

#include "dsp/types.h"

enum { GAIN_DB, GAIN_MUTE };

struct gain {
	double cur;		/* linear gain of the next sample */
	double target;
	double step;		/* per sample while left > 0 */
	unsigned left;		/* samples of the ramp still to go */
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
	g->cur = g->target = wanted(st);
	st->state = g;
	return 0;
}

static void gain_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
gain_set(struct dsp_stage *st, unsigned p, double v)
{
	struct gain *g = st->state;
	unsigned n = dsp_ramp_samples(st->rate);

	(void)p;
	(void)v;
	g->target = wanted(st);
	if (n == 0) {
		g->cur = g->target;
		g->left = 0;
		return;
	}
	g->step = (g->target - g->cur) / n;
	g->left = n;
}

static void gain_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
gain_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct gain *g = st->state;
	unsigned ch = st->in_channels, c, i = 0;
	uint32_t mask = st->mask;
	int all = mask == (ch == 32 ? UINT32_MAX : (UINT32_C(1) << ch) - 1);
	size_t k, n;
	float f;

	dsp_copy_unmasked(st, in, out, frames);
	/* The ramp, one gain per frame. */
	for (; i < frames && g->left > 0; i++) {
		f = (float)g->cur;
		for (c = 0; c < ch; c++)
			if (mask & (UINT32_C(1) << c))
				out[(size_t)i * ch + c] =
				    in[(size_t)i * ch + c] * f;
		if (--g->left == 0)
			g->cur = g->target;
		else
			g->cur += g->step;
	}
	if (i == frames)
		return;
	f = (float)g->cur;
	if (all) {
		/* The common case, and the one the compiler vectorises. */
		n = (size_t)(frames - i) * ch;
		in += (size_t)i * ch;
		out += (size_t)i * ch;
		for (k = 0; k < n; k++)
			out[k] = in[k] * f;
		return;
	}
	for (; i < frames; i++)
		for (c = 0; c < ch; c++)
			if (mask & (UINT32_C(1) << c))
				out[(size_t)i * ch + c] =
				    in[(size_t)i * ch + c] * f;
}

static void gain_reset(struct dsp_stage *st) TP_REALTIME;

static void
gain_reset(struct dsp_stage *st)
{
	struct gain *g = st->state;

	g->cur = g->target;
	g->left = 0;
}

static const struct dsp_stage_ops ops = {
	gain_init, gain_process, gain_set, gain_reset, NULL
};

const struct dsp_type dsp_type_gain = {
	"gain", "level in dB, and mute", params, 2, &ops
};
