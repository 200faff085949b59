/*
 * Processors: gain, the RBJ cookbook biquads, delay, limiter, compressor,
 * mixer, meter (and burn, for overload tests).  Pure computation on
 * interleaved float frames: no I/O, no threads, and nothing in
 * dsp_stage_process or dsp_stage_set allocates, locks or blocks.
 *
 * Output never depends on how the audio is cut into blocks: every state
 * (filters, smoothing ramps, envelopes, delay lines) advances per sample,
 * so the same input gives bit-identical output in blocks of 64 or 4096.
 * Parameter changes are smoothed over DSP_RAMP_MS.
 */
#ifndef TP_DSP_H
#define TP_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "rtpool/realtime.h"

#define DSP_MAX_CHANNELS 32
#define DSP_MAX_PARAMS 8
#define DSP_RAMP_MS 20		/* how long a parameter change glides */

enum dsp_err {
	DSP_OK = 0,
	DSP_EINVAL,		/* a bad argument */
	DSP_ENOMEM,
	DSP_ERANGE,		/* a value outside the parameter's range */
	DSP_ECHANNELS		/* channel counts do not fit */
};

/* A short English description of an enum dsp_err value. */
const char *dsp_strerror(int err);

enum dsp_param_flags {
	DSP_PARAM_NYQUIST = 1,	/* the upper bound is rate/2, exclusive */
	DSP_PARAM_BOOL = 2	/* 0 or 1 */
};

/* One tunable of a processor type. */
struct dsp_param {
	const char *name;	/* "freq" */
	const char *unit;	/* "Hz", "dB", "ms", "" */
	double min, max, def;
	unsigned flags;		/* enum dsp_param_flags */
	const char *help;
};

struct dsp_stage;
struct dsp_setup;

/* What each processor type provides (STYLE.md: an ops table). */
struct dsp_stage_ops {
	/* Allocates the state for s; returns 0 or -1 with a message. */
	int (*init)(struct dsp_stage *st, const struct dsp_setup *s,
	    char *err, size_t errlen);
	/* in and out may be the same unless the channel count changes. */
	void (*process)(struct dsp_stage *st, const float *in, float *out,
	    unsigned frames) TP_REALTIME;
	/* A new target for param p (already range-checked). */
	void (*set)(struct dsp_stage *st, unsigned p, double value)
	    TP_REALTIME;
	void (*reset)(struct dsp_stage *st) TP_REALTIME;
	void (*done)(struct dsp_stage *st);
};

/* A processor type: its name, parameters and operations. */
struct dsp_type {
	const char *name;
	const char *summary;
	const struct dsp_param *params;
	unsigned nparams;
	const struct dsp_stage_ops *ops;
};

/* The type called name, or NULL.  Any thread. */
const struct dsp_type *dsp_type_find(const char *name);

/* The i-th type, or NULL past the last: for listing them.  Any thread. */
const struct dsp_type *dsp_type_at(unsigned i);

/* The index of parameter name in t, or -1.  Any thread. */
int dsp_param_index(const struct dsp_type *t, const char *name);

/* Everything a stage is built from. */
struct dsp_setup {
	double rate;
	unsigned channels;	/* channels entering the stage */
	unsigned max_frames;	/* the largest block process() will get */
	uint32_t channel_mask;	/* channels acted on; 0 means all */
	double values[DSP_MAX_PARAMS];	/* each param, in table order */
	unsigned out_channels;	/* mixer only: channels leaving */
	const float *matrix;	/* mixer only: out x in gains, row-major */
};

/* A processor instance.  Fields are the stage's own; read them with the
 * accessors below. */
struct dsp_stage {
	const struct dsp_type *type;
	double rate;
	unsigned in_channels, out_channels;
	unsigned max_frames;
	uint32_t mask;		/* channels acted on, never 0 */
	double values[DSP_MAX_PARAMS];	/* targets */
	void *state;		/* the type's own */
};

/*
 * Builds a stage of type t.  Values must already be in range (see
 * dsp_param_check).  Allocates everything it will ever need.
 * Control thread.  Returns the stage, or NULL with a message in err.
 */
struct dsp_stage *dsp_stage_new(const struct dsp_type *t,
    const struct dsp_setup *s, char *err, size_t errlen);

/* Frees a stage.  Control thread. */
void dsp_stage_del(struct dsp_stage *st);

/*
 * Checks value for parameter p of t at rate.  Returns DSP_OK or
 * DSP_ERANGE.  Any thread.
 */
int dsp_param_check(const struct dsp_type *t, unsigned p, double rate,
    double value) TP_REALTIME;

unsigned dsp_stage_in_channels(const struct dsp_stage *st) TP_REALTIME;
unsigned dsp_stage_out_channels(const struct dsp_stage *st) TP_REALTIME;
const struct dsp_type *dsp_stage_type(const struct dsp_stage *st)
    TP_REALTIME;

/*
 * Gives parameter p a new target, reached smoothly.  The audio thread (or
 * whoever owns the stage).  Returns DSP_OK, DSP_EINVAL for a bad p or
 * DSP_ERANGE for a value out of range (nothing changes then).
 */
int dsp_stage_set(struct dsp_stage *st, unsigned param, double value)
    TP_REALTIME;

/* The target of parameter p.  The stage's owner. */
double dsp_stage_get(const struct dsp_stage *st, unsigned param);

/*
 * Processes frames interleaved frames from in to out (in == out allowed
 * unless the stage changes the channel count).  Channels outside the
 * stage's mask pass unchanged.  Audio thread.
 */
void dsp_stage_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

/* Clears filter, delay and envelope state.  Audio thread. */
void dsp_stage_reset(struct dsp_stage *st) TP_REALTIME;

/*
 * Meters: peak, RMS and clipped samples per channel.  Used by the meter
 * stage, by the engine on its output and by tidepool-render's summary.
 */
struct dsp_meter {
	unsigned channels;
	double rate;
	double coef;		/* RMS smoothing per sample (300 ms) */
	float peak[DSP_MAX_CHANNELS];	/* highest |x| since reset */
	double ms[DSP_MAX_CHANNELS];	/* smoothed mean square */
	uint64_t clipped[DSP_MAX_CHANNELS];	/* |x| >= 1 since reset */
};

/* Control thread (or before use). */
void dsp_meter_init(struct dsp_meter *m, unsigned channels, double rate);

/* Measures frames interleaved frames of m->channels.  Audio thread. */
void dsp_meter_run(struct dsp_meter *m, const float *buf, unsigned frames)
    TP_REALTIME;

/* Peaks, clip counts and RMS back to zero.  The meter's owner. */
void dsp_meter_reset(struct dsp_meter *m) TP_REALTIME;

/* The current RMS of channel ch (linear). */
float dsp_meter_rms(const struct dsp_meter *m, unsigned ch);

/* The meter of a "meter" stage, or NULL for other types. */
const struct dsp_meter *dsp_stage_meter(const struct dsp_stage *st);

/*
 * Flushes denormals to zero (FTZ and DAZ) on the calling thread, so a
 * decaying filter tail cannot slow the audio thread down.  Audio thread.
 */
void dsp_flush_denormals(void) TP_REALTIME;

#endif /* TP_DSP_H */
