/*
 * The processor registry and the stage lifecycle: finding types, checking
 * parameters and setups, building and freeing stages, and the calls the
 * engine makes on any stage (set, process, reset), which do the work every
 * type shares (range checks, copying the channels a stage leaves alone)
 * and hand the rest to the type's ops.  The processors themselves live one
 * module per file (gain.c, biquad.c, delay.c, dynamics.c, mixer.c,
 * meter.c, burn.c, conv.c); the chain is chain.c.  Denormal flushing and the
 * clock the chain and burn read are here too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	&dsp_type_mixer, &dsp_type_meter, &dsp_type_burn,
	&dsp_type_convolver
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* The rates a stage can be made for. */
#define RATE_MIN 1000.0
#define RATE_MAX 1536000.0

const char *
dsp_strerror(int err)
{
	switch ((enum dsp_err)err) {
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

	if (name == NULL)
		return NULL;
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

	if (t == NULL || name == NULL)
		return -1;
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
	if (d->flags & DSP_PARAM_BOOL)
		return value == 0 || value == 1 ? DSP_OK : DSP_ERANGE;
	/* Written so that NaN fails every test. */
	if (!(value >= d->min && value <= d->max))
		return DSP_ERANGE;
	if ((d->flags & DSP_PARAM_NYQUIST) && !(value < rate / 2))
		return DSP_ERANGE;
	return DSP_OK;
}

void
dsp_setup_init(struct dsp_setup *s, const struct dsp_type *t, double rate,
    unsigned channels, unsigned max_frames)
{
	unsigned p;

	memset(s, 0, sizeof(*s));
	s->rate = rate;
	s->channels = channels;
	s->max_frames = max_frames;
	for (p = 0; p < t->nparams && p < DSP_MAX_PARAMS; p++)
		s->values[p] = t->params[p].def;
}

unsigned
dsp_ramp_samples(double rate)
{
	double n = rate * DSP_RAMP_MS / 1000.0;

	return n < 1 ? 1 : (unsigned)lround(n);
}

double
dsp_db_to_gain(double db)
{
	return pow(10.0, db / 20.0);
}

/*
 * clock_gettime on CLOCK_MONOTONIC is a vDSO read that cannot block;
 * clang only objects because libc does not mark it nonblocking.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
uint64_t
dsp_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

void
dsp_prefault(void *p, size_t bytes)
{
	volatile unsigned char *c = p;
	size_t i;

	/* Through a volatile pointer: a plain zero store into calloc'ed
	   memory is one the compiler may drop. */
	for (i = 0; i < bytes; i += 4096)
		c[i] = 0;
	if (bytes > 0)
		c[bytes - 1] = 0;
}

/* The message for a value out of range, naming the range. */
static void
range_message(const struct dsp_type *t, unsigned p, double rate,
    double value, char *err, size_t errlen)
{
	const struct dsp_param *d = &t->params[p];
	double max = d->max;

	if (d->flags & DSP_PARAM_BOOL) {
		snprintf(err, errlen, "%s: %s = %g: must be 0 or 1", t->name,
		    d->name, value);
		return;
	}
	if ((d->flags & DSP_PARAM_NYQUIST) && rate / 2 < max) {
		snprintf(err, errlen, "%s: %s = %g: must be from %g to below "
		    "%g %s (half the rate)", t->name, d->name, value, d->min,
		    rate / 2, d->unit);
		return;
	}
	snprintf(err, errlen, "%s: %s = %g: must be from %g to %g%s%s",
	    t->name, d->name, value, d->min, max, d->unit[0] ? " " : "",
	    d->unit);
}

struct dsp_stage *
dsp_stage_new(const struct dsp_type *t, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	char dummy[8];
	struct dsp_stage *st;
	uint32_t all;
	unsigned p, c;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (t == NULL || s == NULL || t->ops == NULL ||
	    t->nparams > DSP_MAX_PARAMS) {
		snprintf(err, errlen, "no processor type or setup given");
		return NULL;
	}
	if (s->channels < 1 || s->channels > DSP_MAX_CHANNELS) {
		snprintf(err, errlen, "%s: %u channels: must be 1 to %d",
		    t->name, s->channels, DSP_MAX_CHANNELS);
		return NULL;
	}
	if (!(s->rate >= RATE_MIN && s->rate <= RATE_MAX)) {
		snprintf(err, errlen, "%s: a rate of %g Hz: must be %g to %g",
		    t->name, s->rate, RATE_MIN, RATE_MAX);
		return NULL;
	}
	if (s->max_frames < 1) {
		snprintf(err, errlen, "%s: a largest block of 0 frames",
		    t->name);
		return NULL;
	}
	all = s->channels == 32 ? UINT32_MAX :
	    (UINT32_C(1) << s->channels) - 1;
	if (s->channel_mask & ~all) {
		snprintf(err, errlen, "%s: acts on channels beyond the %u it "
		    "gets (0 to %u)", t->name, s->channels, s->channels - 1);
		return NULL;
	}
	if ((t->ops->flags & DSP_OPS_WHOLE) && s->channel_mask != 0 &&
	    s->channel_mask != all) {
		snprintf(err, errlen, "%s: acts on all channels together; "
		    "leave out 'channels'", t->name);
		return NULL;
	}
	for (p = 0; p < t->nparams; p++)
		if (dsp_param_check(t, p, s->rate, s->values[p]) != DSP_OK) {
			range_message(t, p, s->rate, s->values[p], err,
			    errlen);
			return NULL;
		}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "%s: out of memory", t->name);
		return NULL;
	}
	st->type = t;
	st->rate = s->rate;
	st->in_channels = st->out_channels = s->channels;
	st->max_frames = s->max_frames;
	st->mask = s->channel_mask ? s->channel_mask : all;
	for (c = 0; c < s->channels; c++)
		if (st->mask & (UINT32_C(1) << c))
			st->act[st->nact++] = (unsigned char)c;
	for (p = 0; p < t->nparams; p++)
		st->values[p] = s->values[p];
	err[0] = '\0';
	if (t->ops->init(st, s, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: out of memory", t->name);
		dsp_stage_del(st);
		return NULL;
	}
	return st;
}

void
dsp_stage_del(struct dsp_stage *st)
{
	if (st == NULL)
		return;
	if (st->state != NULL && st->type->ops->done != NULL)
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

unsigned
dsp_stage_latency(const struct dsp_stage *st)
{
	return st->type->ops->latency ? st->type->ops->latency(st) :
	    0;
}

int
dsp_stage_set(struct dsp_stage *st, unsigned param, double value)
{
	int rc = dsp_param_check(st->type, param, st->rate, value);

	if (rc != DSP_OK)
		return rc;
	st->values[param] = value;
	if (st->type->ops->set)
		st->type->ops->set(st, param, value);
	return DSP_OK;
}

double
dsp_stage_get(const struct dsp_stage *st, unsigned param)
{
	return param < st->type->nparams ? st->values[param] : NAN;
}

void
dsp_stage_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	const struct dsp_stage_ops *ops = st->type->ops;

	if (frames == 0)
		return;
	/*
	 * The channels a type leaves alone must still reach out.  One
	 * memcpy of the block is cheaper than a strided copy of some of its
	 * channels, and the type then overwrites the ones it acts on.
	 */
	if (in != out && ((ops->flags & DSP_OPS_PASS) ||
	    st->nact < st->in_channels))
		memcpy(out, in, sizeof(float) * frames * st->in_channels);
	ops->process(st, in, out, frames);
}

void
dsp_stage_reset(struct dsp_stage *st)
{
	if (st->type->ops->reset)
		st->type->ops->reset(st);
}

/* FTZ (bit 15) and DAZ (bit 6) of MXCSR; FZ (bit 24) of FPCR. */
#define MXCSR_FTZ_DAZ 0x8040u
#define FPCR_FZ (UINT64_C(1) << 24)

void
dsp_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__i386__)
	_mm_setcsr(_mm_getcsr() | MXCSR_FTZ_DAZ);
#elif defined(__aarch64__)
	uint64_t fpcr;

	__asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
	fpcr |= FPCR_FZ;
	__asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#endif
}

int
dsp_denormals_flushed(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return (_mm_getcsr() & MXCSR_FTZ_DAZ) == MXCSR_FTZ_DAZ;
#elif defined(__aarch64__)
	uint64_t fpcr;

	__asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
	return (fpcr & FPCR_FZ) != 0;
#else
	return 0;
#endif
}
