/*
 * delay: a whole number of samples, rounded from ms.  The line is a ring
 * sized for the largest delay (2 s) when the stage is made, so a change
 * never allocates.  A change crossfades linearly from the old tap to the
 * new one over DSP_RAMP_MS, rather than jumping (a click) or sliding (a
 * pitch sweep); a change that arrives during a crossfade waits for it to
 * end and then fades from there, so there are never more than two taps.
 *
 * The ring holds only the channels the stage acts on, a frame of them per
 * slot.  Each sample is written before the tap is read, so a delay of 0
 * passes the input straight through.
 */
#include <math.h>
#include <stdlib.h>

#include "dsp/types.h"

#define DELAY_MAX_MS 2000

struct delay {
	float *line;		/* size slots x nact samples, a ring */
	size_t size;		/* slots: the largest delay + 1 */
	size_t w;		/* the slot written next */
	size_t d;		/* delay now (the new tap while fading) */
	size_t d_old;		/* the old tap while fading */
	size_t d_want;		/* the last delay set: d once settled */
	unsigned fade_left;	/* samples of crossfade to go; 0: none */
	unsigned fade_len;	/* samples in a crossfade */
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
	st->state = d;
	d->size = to_samples(st->rate, DELAY_MAX_MS) + 1;
	d->line = calloc(d->size * st->nact, sizeof(float));
	if (d->line == NULL)
		return -1;
	dsp_prefault(d->line, d->size * st->nact * sizeof(float));
	d->d = d->d_old = d->d_want = to_samples(st->rate, st->values[0]);
	d->fade_len = dsp_ramp_samples(st->rate);
	return 0;
}

/* Starts a crossfade to d_want if there is somewhere to go. */
static void start_fade(struct delay *d) TP_REALTIME;

static void
start_fade(struct delay *d)
{
	if (d->d_want == d->d)
		return;
	d->d_old = d->d;
	d->d = d->d_want;
	d->fade_left = d->fade_len;
}

static void delay_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
delay_set(struct dsp_stage *st, unsigned p, double v)
{
	struct delay *d = st->state;

	(void)p;
	d->d_want = to_samples(st->rate, v);
	if (d->fade_left == 0)
		start_fade(d);
}

/* The slot delay samples before slot w. */
static size_t
tap(const struct delay *d, size_t delay)
{
	return d->w >= delay ? d->w - delay : d->w + d->size - delay;
}

/* One frame while crossfading. */
static void fade_frame(struct dsp_stage *st, const float *in, float *out)
    TP_REALTIME;

static void
fade_frame(struct dsp_stage *st, const float *in, float *out)
{
	struct delay *d = st->state;
	unsigned nact = st->nact, k;
	float *wl = d->line + d->w * nact;
	const float *rn = d->line + tap(d, d->d) * nact;
	const float *ro = d->line + tap(d, d->d_old) * nact;
	/* The old tap's weight: 1 at the first sample, 1/len at the last. */
	float g = (float)d->fade_left / (float)d->fade_len;

	for (k = 0; k < nact; k++)
		wl[k] = in[st->act[k]];
	for (k = 0; k < nact; k++)
		out[st->act[k]] = rn[k] + g * (ro[k] - rn[k]);
	d->w = d->w + 1 == d->size ? 0 : d->w + 1;
	if (--d->fade_left == 0)
		start_fade(d);
}

static void delay_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
delay_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct delay *d = st->state;
	unsigned ch = st->in_channels, nact = st->nact, i = 0, j, n, k;
	size_t r;
	float *wl;
	const float *rl;

	while (i < frames) {
		if (d->fade_left > 0) {
			fade_frame(st, in + (size_t)i * ch,
			    out + (size_t)i * ch);
			i++;
			continue;
		}
		/* A run in which neither the write nor the read slot wraps. */
		r = tap(d, d->d);
		n = frames - i;
		if (n > d->size - d->w)
			n = (unsigned)(d->size - d->w);
		if (n > d->size - r)
			n = (unsigned)(d->size - r);
		wl = d->line + d->w * nact;
		rl = d->line + r * nact;
		for (j = 0; j < n; j++, i++, wl += nact, rl += nact) {
			for (k = 0; k < nact; k++)
				wl[k] = in[(size_t)i * ch + st->act[k]];
			for (k = 0; k < nact; k++)
				out[(size_t)i * ch + st->act[k]] = rl[k];
		}
		d->w += n;
		if (d->w == d->size)
			d->w = 0;
	}
}

static void delay_reset(struct dsp_stage *st) TP_REALTIME;

static void
delay_reset(struct dsp_stage *st)
{
	struct delay *d = st->state;
	size_t i;

	for (i = 0; i < d->size * st->nact; i++)
		d->line[i] = 0;
	d->w = 0;
	d->fade_left = 0;
	d->d = d->d_old = d->d_want;
}

static void
delay_done(struct dsp_stage *st)
{
	struct delay *d = st->state;

	free(d->line);
}

static const struct dsp_stage_ops ops = {
	delay_init, delay_process, delay_set, delay_reset, delay_done, NULL, 0
};

const struct dsp_type dsp_type_delay = {
	"delay", "delay in ms, up to 2 s (changes crossfade over 20 ms)",
	params, 1, &ops
};
