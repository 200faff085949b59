/*
 * Meters: peak, RMS and clipped samples per channel, and the "meter" stage
 * that passes audio unchanged while measuring it.  RMS is an exponential
 * average with a 300 ms time constant, updated per sample.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

#define RMS_MS 300.0

void
dsp_meter_init(struct dsp_meter *m, unsigned channels, double rate)
{
	memset(m, 0, sizeof(*m));
	m->channels = channels > DSP_MAX_CHANNELS ? DSP_MAX_CHANNELS : channels;
	m->rate = rate;
	m->coef = 1.0 - exp(-1.0 / (RMS_MS / 1000.0 * rate));
}

void
dsp_meter_run(struct dsp_meter *m, const float *buf, unsigned frames)
{
	unsigned ch = m->channels, c, i;
	float x, a;

	for (c = 0; c < ch; c++) {
		float peak = m->peak[c];
		double ms = m->ms[c], k = m->coef;
		uint64_t clipped = 0;

		for (i = 0; i < frames; i++) {
			x = buf[(size_t)i * ch + c];
			a = fabsf(x);
			if (a > peak)
				peak = a;
			clipped += a >= 1.0f;
			ms += k * ((double)x * x - ms);
		}
		m->peak[c] = peak;
		m->ms[c] = ms;
		m->clipped[c] += clipped;
	}
}

void
dsp_meter_reset(struct dsp_meter *m)
{
	unsigned c;

	for (c = 0; c < DSP_MAX_CHANNELS; c++) {
		m->peak[c] = 0;
		m->ms[c] = 0;
		m->clipped[c] = 0;
	}
}

float
dsp_meter_rms(const struct dsp_meter *m, unsigned ch)
{
	return ch < m->channels ? (float)sqrt(m->ms[ch]) : 0.0f;
}

static int
meter_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct dsp_meter *m = calloc(1, sizeof(*m));

	(void)s;
	(void)err;
	(void)errlen;
	if (m == NULL)
		return -1;
	dsp_meter_init(m, st->in_channels, st->rate);
	st->state = m;
	return 0;
}

static void meter_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
meter_set(struct dsp_stage *st, unsigned p, double v)
{
	(void)st;
	(void)p;
	(void)v;
}

static void meter_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
meter_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	if (in != out)
		memcpy(out, in, sizeof(float) * frames * st->in_channels);
	dsp_meter_run(st->state, in, frames);
}

static void meter_reset(struct dsp_stage *st) TP_REALTIME;

static void
meter_reset(struct dsp_stage *st)
{
	dsp_meter_reset(st->state);
}

const struct dsp_meter *
dsp_stage_meter(const struct dsp_stage *st)
{
	return st->type == &dsp_type_meter ? st->state : NULL;
}

static const struct dsp_stage_ops ops = {
	meter_init, meter_process, meter_set, meter_reset, NULL
};

const struct dsp_type dsp_type_meter = {
	"meter", "peak, RMS and clipped samples per channel; audio unchanged",
	NULL, 0, &ops
};
