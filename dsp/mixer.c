/*
 * mixer: a channel matrix.  Output channel o is the sum over the inputs i
 * of matrix[o][i] * in[i], so 2 channels can become 4 for a crossover, or
 * 6 can be folded down to 2.  It changes the channel count, so it never
 * works in place; the chain gives it a buffer of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

struct mixer {
	float m[DSP_MAX_CHANNELS * DSP_MAX_CHANNELS];	/* out x in */
};

static int
mixer_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct mixer *x;

	if (s->matrix == NULL || s->out_channels < 1 ||
	    s->out_channels > DSP_MAX_CHANNELS) {
		snprintf(err, errlen, "mixer: needs a matrix of 1 to %d rows",
		    DSP_MAX_CHANNELS);
		return -1;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->m, s->matrix,
	    sizeof(float) * s->out_channels * s->channels);
	st->out_channels = s->out_channels;
	st->state = x;
	return 0;
}

static void mixer_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
mixer_set(struct dsp_stage *st, unsigned p, double v)
{
	(void)st;
	(void)p;
	(void)v;
}

static void mixer_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
mixer_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	const struct mixer *x = st->state;
	unsigned ic = st->in_channels, oc = st->out_channels, i, o, c;
	const float *f;
	float acc;

	for (i = 0; i < frames; i++) {
		f = in + (size_t)i * ic;
		for (o = 0; o < oc; o++) {
			acc = 0;
			for (c = 0; c < ic; c++)
				acc += x->m[o * ic + c] * f[c];
			out[(size_t)i * oc + o] = acc;
		}
	}
}

static const struct dsp_stage_ops ops = {
	mixer_init, mixer_process, mixer_set, NULL, NULL
};

const struct dsp_type dsp_type_mixer = {
	"mixer", "channel matrix (matrix = rows of gains, one per output)",
	NULL, 0, &ops
};
