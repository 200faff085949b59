/*
 * Inside dsp/: the stage object, the ops table every processor type
 * provides, and the helpers the processors share.  Not a public header:
 * nothing outside dsp/ includes it, and to the rest of tidepool a stage is
 * an opaque handle.
 */
#ifndef TP_DSP_TYPES_H
#define TP_DSP_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/dsp.h"
#include "rtpool/realtime.h"

/* What the stage layer does for a type, beyond calling its ops. */
enum dsp_ops_flags {
	DSP_OPS_WHOLE = 1,	/* acts on every channel together (the
				   mixer): a mask that leaves one out is
				   refused at dsp_stage_new() */
	DSP_OPS_PASS = 2	/* audio passes unchanged (meter, burn): the
				   stage layer copies in to out, and
				   process() only looks at in */
};

/*
 * What each processor type provides (STYLE.md: an ops table).  When
 * process() is called, the channels outside the mask have already been
 * copied to out if out != in: a type writes only the channels in act[].
 */
struct dsp_stage_ops {
	/* Allocates st->state for s; 0, or -1 with a message in err.  The
	   stage layer has checked the setup and the values.  Control
	   thread. */
	int (*init)(struct dsp_stage *st, const struct dsp_setup *s,
	    char *err, size_t errlen);
	/* frames <= st->max_frames; in == out unless the channel count
	   changes. */
	void (*process)(struct dsp_stage *st, const float *in, float *out,
	    unsigned frames) TP_REALTIME;
	/* A new target for param p, already range-checked and stored in
	   st->values[p]; NULL for a type without parameters. */
	void (*set)(struct dsp_stage *st, unsigned p, double value)
	    TP_REALTIME;
	/* Clears the history and ends ramps at their targets; NULL if
	   there is nothing to clear. */
	void (*reset)(struct dsp_stage *st) TP_REALTIME;
	/* Frees what init allocated besides st->state (which the stage
	   layer frees); NULL if nothing.  Also called when init failed
	   after setting st->state.  Control thread. */
	void (*done)(struct dsp_stage *st);
	/* Frames of latency on the acted-on channels; NULL for none. */
	unsigned (*latency)(const struct dsp_stage *st) TP_REALTIME;
	unsigned flags;		/* enum dsp_ops_flags */
};

/* A processor instance. */
struct dsp_stage {
	const struct dsp_type *type;
	double rate;		/* frames per second */
	unsigned in_channels;	/* entering */
	unsigned out_channels;	/* leaving: in_channels but for the mixer */
	unsigned max_frames;	/* largest block */
	uint32_t mask;		/* channels acted on, never 0 */
	unsigned nact;		/* how many: 1..in_channels */
	unsigned char act[DSP_MAX_CHANNELS];	/* which, ascending */
	double values[DSP_MAX_PARAMS];	/* each parameter's target */
	void *state;		/* the type's own, from init */
};

extern const struct dsp_type dsp_type_gain;
extern const struct dsp_type dsp_type_lowpass, dsp_type_highpass,
    dsp_type_bandpass, dsp_type_notch, dsp_type_allpass, dsp_type_peaking,
    dsp_type_lowshelf, dsp_type_highshelf;
extern const struct dsp_type dsp_type_delay;
extern const struct dsp_type dsp_type_limiter, dsp_type_compressor;
extern const struct dsp_type dsp_type_mixer;
extern const struct dsp_type dsp_type_meter;
extern const struct dsp_type dsp_type_burn;
extern const struct dsp_type dsp_type_convolver;

/* Samples a parameter change glides over at this rate: at least 1. */
unsigned dsp_ramp_samples(double rate) TP_REALTIME;

/* CLOCK_MONOTONIC in ns; a vDSO read, safe in the callback. */
uint64_t dsp_clock_ns(void) TP_REALTIME;

/*
 * Writes every page of bytes at p (zeroes: for memory fresh from calloc)
 * so that the kernel maps it now, on the control thread, and the audio
 * thread takes no page fault on its first touch.
 */
void dsp_prefault(void *p, size_t bytes);

/* 10^(db/20) */
double dsp_db_to_gain(double db) TP_REALTIME;

/*
 * A linear glide from the current value to a target, one step per sample
 * (or per update, for the biquads).  dsp_ramp_next() gives the value of
 * the next sample: after dsp_ramp_to(r, t, n) the n-th call returns t
 * exactly, and every call after it too.
 */
struct dsp_ramp {
	double cur;		/* the value of the last sample */
	double target;
	double step;		/* added per sample while left > 0 */
	unsigned left;		/* steps still to go; 0: settled */
};

static inline void
dsp_ramp_init(struct dsp_ramp *r, double v)
{
	r->cur = r->target = v;
	r->step = 0;
	r->left = 0;
}

static inline void
dsp_ramp_to(struct dsp_ramp *r, double target, unsigned n)
{
	r->target = target;
	if (n == 0 || target == r->cur) {
		r->cur = target;
		r->left = 0;
		return;
	}
	r->step = (target - r->cur) / n;
	r->left = n;
}

static inline double
dsp_ramp_next(struct dsp_ramp *r)
{
	if (r->left > 0) {
		if (--r->left == 0)
			r->cur = r->target;
		else
			r->cur += r->step;
	}
	return r->cur;
}

/* Ends the glide at its target. */
static inline void
dsp_ramp_settle(struct dsp_ramp *r)
{
	r->cur = r->target;
	r->left = 0;
}

#endif /* TP_DSP_TYPES_H */
