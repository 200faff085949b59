/*
 * mixer: a channel matrix.  Output channel o is the sum over the inputs c
 * of matrix[o][c] * in[c], times the stage's gain: 2 channels can become 4
 * for a crossover, 6 can be folded down to 2, 2 can swap.  The matrix is
 * copied when the stage is made and fixed from then on; the gain glides
 * over DSP_RAMP_MS like the gain stage's.
 *
 * Each frame is mixed into a small buffer before it is stored, so the
 * mixer also works in place when it keeps the channel count.  It acts on
 * all channels together: a channel mask that leaves some out is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

struct mixer {
	float m[DSP_MAX_CHANNELS * DSP_MAX_CHANNELS];	/* out x in */
	struct dsp_ramp g;	/* the gain, linear */
};

static const struct dsp_param params[] = {
	{ "gain", "dB", -120, 24, 0, 0, "level of every output" },
};

static int
mixer_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct mixer *x;

	if (s->matrix == NULL || s->out_channels < 1 ||
	    s->out_channels > DSP_MAX_CHANNELS) {
		snprintf(err, errlen, "mixer: needs a matrix of 1 to %d rows "
		    "(one per output) of %u gains (one per input)",
		    DSP_MAX_CHANNELS, s->channels);
		return -1;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->m, s->matrix,
	    sizeof(float) * s->out_channels * s->channels);
	dsp_ramp_init(&x->g, dsp_db_to_gain(st->values[0]));
	st->out_channels = s->out_channels;
	st->state = x;
	return 0;
}

static void mixer_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
mixer_set(struct dsp_stage *st, unsigned p, double v)
{
	struct mixer *x = st->state;

	(void)p;
	dsp_ramp_to(&x->g, dsp_db_to_gain(v), dsp_ramp_samples(st->rate));
}

static void mixer_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
mixer_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct mixer *x = st->state;
	unsigned ic = st->in_channels, oc = st->out_channels, i, o, c;
	float frame[DSP_MAX_CHANNELS], acc, g;
	const float *row;

	for (i = 0; i < frames; i++, in += ic, out += oc) {
		g = (float)dsp_ramp_next(&x->g);
		for (o = 0, row = x->m; o < oc; o++, row += ic) {
			acc = 0;
			for (c = 0; c < ic; c++)
				acc += row[c] * in[c];
			frame[o] = acc * g;
		}
		memcpy(out, frame, sizeof(float) * oc);
	}
}

static void mixer_reset(struct dsp_stage *st) TP_REALTIME;

static void
mixer_reset(struct dsp_stage *st)
{
	struct mixer *x = st->state;

	dsp_ramp_settle(&x->g);
}

static const struct dsp_stage_ops ops = {
	mixer_init, mixer_process, mixer_set, mixer_reset, NULL, NULL,
	DSP_OPS_WHOLE
};

const struct dsp_type dsp_type_mixer = {
	"mixer", "channel matrix (matrix = rows of gains, one row per output)",
	params, 1, &ops
};
