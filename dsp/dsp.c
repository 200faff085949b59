/*
 * The processor registry and the stage lifecycle: finding types, checking
 * parameters, building and freeing stages, and the calls the engine makes
 * on any stage.  The processors themselves live one per file (gain.c,
 * biquad.c, delay.c, dynamics.c, mixer.c, meter.c, burn.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "dsp/dsp.h"
#include "dsp/types.h"

static const struct dsp_type *const types[] = {
	&dsp_type_gain, &dsp_type_lowpass, &dsp_type_highpass,
	&dsp_type_bandpass, &dsp_type_notch, &dsp_type_allpass,
	&dsp_type_peaking, &dsp_type_lowshelf, &dsp_type_highshelf,
	&dsp_type_delay, &dsp_type_limiter, &dsp_type_compressor,
	&dsp_type_mixer, &dsp_type_meter, &dsp_type_burn
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

const char *
dsp_strerror(int err)
{
	switch (err) {
	case DSP_OK:
		return "no error";
	case DSP_EINVAL:
		return "invalid argument";
	case DSP_ENOMEM:
		return "out of memory";
	case DSP_ERANGE:
		return "value out of range";
	case DSP_ECHANNELS:
		return "channel counts do not match";
	}
	return "unknown error";
}

const struct dsp_type *
dsp_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (strcmp(types[i]->name, name) == 0)
			return types[i];
	return NULL;
}

const struct dsp_type *
dsp_type_at(unsigned i)
{
	return i < NTYPES ? types[i] : NULL;
}

int
dsp_param_index(const struct dsp_type *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
dsp_param_check(const struct dsp_type *t, unsigned p, double rate,
    double value)
{
	const struct dsp_param *d;

	if (p >= t->nparams)
		return DSP_EINVAL;
	d = &t->params[p];
	if (!(value >= d->min && value <= d->max))
		return DSP_ERANGE;
	if ((d->flags & DSP_PARAM_NYQUIST) && !(value < rate / 2))
		return DSP_ERANGE;
	if ((d->flags & DSP_PARAM_BOOL) && value != 0 && value != 1)
		return DSP_ERANGE;
	return DSP_OK;
}

unsigned
dsp_ramp_samples(double rate)
{
	return (unsigned)(rate * DSP_RAMP_MS / 1000.0);
}

double
dsp_db_to_gain(double db)
{
	return pow(10.0, db / 20.0);
}

struct dsp_stage *
dsp_stage_new(const struct dsp_type *t, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct dsp_stage *st;
	uint32_t all;
	unsigned p;

	if (s->channels < 1 || s->channels > DSP_MAX_CHANNELS ||
	    s->max_frames < 1 || !(s->rate >= 1)) {
		snprintf(err, errlen, "%s: %u channels, %u frames at %g Hz "
		    "is not supported", t->name, s->channels, s->max_frames,
		    s->rate);
		return NULL;
	}
	all = s->channels == 32 ? UINT32_MAX : (UINT32_C(1) << s->channels) - 1;
	if (s->channel_mask & ~all) {
		snprintf(err, errlen, "%s: channels beyond the %u the stage "
		    "gets", t->name, s->channels);
		return NULL;
	}
	for (p = 0; p < t->nparams; p++)
		if (dsp_param_check(t, p, s->rate, s->values[p]) != DSP_OK) {
			snprintf(err, errlen, "%s: %s = %g: out of range",
			    t->name, t->params[p].name, s->values[p]);
			return NULL;
		}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->type = t;
	st->rate = s->rate;
	st->in_channels = st->out_channels = s->channels;
	st->max_frames = s->max_frames;
	st->mask = s->channel_mask ? s->channel_mask : all;
	memcpy(st->values, s->values, sizeof(st->values));
	if (t->ops->init(st, s, err, errlen) != 0) {
		free(st);
		return NULL;
	}
	return st;
}

void
dsp_stage_del(struct dsp_stage *st)
{
	if (st == NULL)
		return;
	if (st->type->ops->done != NULL)
		st->type->ops->done(st);
	free(st->state);
	free(st);
}

unsigned
dsp_stage_in_channels(const struct dsp_stage *st)
{
	return st->in_channels;
}

unsigned
dsp_stage_out_channels(const struct dsp_stage *st)
{
	return st->out_channels;
}

const struct dsp_type *
dsp_stage_type(const struct dsp_stage *st)
{
	return st->type;
}

int
dsp_stage_set(struct dsp_stage *st, unsigned param, double value)
{
	int rc = dsp_param_check(st->type, param, st->rate, value);

	if (rc != DSP_OK)
		return rc;
	st->values[param] = value;
	st->type->ops->set(st, param, value);
	return DSP_OK;
}

double
dsp_stage_get(const struct dsp_stage *st, unsigned param)
{
	return param < st->type->nparams ? st->values[param] : 0;
}

void
dsp_stage_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	st->type->ops->process(st, in, out, frames);
}

void
dsp_stage_reset(struct dsp_stage *st)
{
	if (st->type->ops->reset)
		st->type->ops->reset(st);
}

void
dsp_copy_unmasked(const struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	unsigned ch = st->in_channels, c, i;

	if (in == out)
		return;
	for (c = 0; c < ch; c++) {
		if (st->mask & (UINT32_C(1) << c))
			continue;
		for (i = 0; i < frames; i++)
			out[(size_t)i * ch + c] = in[(size_t)i * ch + c];
	}
}

void
dsp_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__i386__)
	/* FTZ (bit 15) and DAZ (bit 6) in MXCSR. */
	_mm_setcsr(_mm_getcsr() | 0x8040);
#elif defined(__aarch64__)
	uint64_t fpcr;

	__asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
	fpcr |= UINT64_C(1) << 24;	/* FZ */
	__asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#endif
}
