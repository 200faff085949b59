/*
 * delay: a whole number of samples, rounded from ms.  The line is sized
 * for the largest delay at init, so a change never allocates; it
 * crossfades from the old tap to the new one over DSP_RAMP_MS rather than
 * jumping (no click, no pitch sweep).
 */
#include <math.h>
#include <stdlib.h>

#include "dsp/types.h"

#define DELAY_MAX_MS 2000

struct delay {
	float *line;		/* size frames x channels, a ring */
	size_t size;
	size_t w;		/* the frame written next */
	size_t d, d_old;	/* delay now, and while fading the old one */
	unsigned fade_left, fade_len;
};

static const struct dsp_param params[] = {
	{ "ms", "ms", 0, DELAY_MAX_MS, 0, 0, "delay time" },
};

static size_t
to_samples(double rate, double ms)
{
	return (size_t)llround(ms * rate / 1000.0);
}

static int
delay_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct delay *d = calloc(1, sizeof(*d));

	(void)s;
	(void)err;
	(void)errlen;
	if (d == NULL)
		return -1;
	d->size = to_samples(st->rate, DELAY_MAX_MS) + 1;
	d->line = calloc(d->size * st->in_channels, sizeof(float));
	if (d->line == NULL) {
		free(d);
		return -1;
	}
	d->d = d->d_old = to_samples(st->rate, st->values[0]);
	d->fade_len = dsp_ramp_samples(st->rate);
	st->state = d;
	return 0;
}

static void delay_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
delay_set(struct dsp_stage *st, unsigned p, double v)
{
	struct delay *d = st->state;

	(void)p;
	d->d_old = d->d;
	d->d = to_samples(st->rate, v);
	d->fade_left = d->d != d->d_old ? d->fade_len : 0;
}

static void delay_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
delay_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct delay *d = st->state;
	unsigned ch = st->in_channels, c, i;
	size_t r, ro, size = d->size;
	float g, x;

	dsp_copy_unmasked(st, in, out, frames);
	for (i = 0; i < frames; i++) {
		r = (d->w + size - d->d) % size;
		ro = (d->w + size - d->d_old) % size;
		g = d->fade_left ? (float)d->fade_left / (float)d->fade_len :
		    0.0f;
		for (c = 0; c < ch; c++) {
			if (!(st->mask & (UINT32_C(1) << c)))
				continue;
			/* Write first, so a delay of 0 passes straight on. */
			d->line[d->w * ch + c] = in[(size_t)i * ch + c];
			x = d->line[r * ch + c];
			if (d->fade_left)
				x += g * (d->line[ro * ch + c] - x);
			out[(size_t)i * ch + c] = x;
		}
		if (d->fade_left)
			d->fade_left--;
		d->w = d->w + 1 == size ? 0 : d->w + 1;
	}
}

static void delay_reset(struct dsp_stage *st) TP_REALTIME;

static void
delay_reset(struct dsp_stage *st)
{
	struct delay *d = st->state;
	size_t i;

	for (i = 0; i < d->size * st->in_channels; i++)
		d->line[i] = 0;
	d->fade_left = 0;
}

static void
delay_done(struct dsp_stage *st)
{
	struct delay *d = st->state;

	free(d->line);
}

static const struct dsp_stage_ops ops = {
	delay_init, delay_process, delay_set, delay_reset, delay_done
};

const struct dsp_type dsp_type_delay = {
	"delay", "delay in ms (up to 2 s)", params, 1, &ops
};
