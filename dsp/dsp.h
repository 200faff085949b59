/*
 * tidepool's processors: the types, the stages made from them, meters.
 *
 * A type (struct dsp_type) describes one kind of processor: its name, a
 * one-line summary and a table of parameters with units, ranges and
 * defaults.  A stage (struct dsp_stage, opaque) is one instance of a type,
 * made for one sample rate, channel count and largest block; it allocates
 * everything it will ever need when it is made, so that processing it and
 * setting its parameters never allocate, lock or block.
 *
 * Threads.  dsp_stage_new/del and the lookups run on the control thread.
 * The functions marked TP_REALTIME may run in the audio callback; a stage is
 * used by one audio thread at a time, and its setters and its process run
 * on that same thread (the engine applies control messages at block start).
 *
 * Samples are 32-bit float, interleaved.  Output never depends on the block
 * size: a stage fed the same samples, with the same dsp_stage_set() calls
 * made at the same sample positions, gives bit-identical output whether it
 * gets blocks of 1, 64, 4096 or random sizes.  Parameter changes are
 * smoothed (see each type's summary); a stage made with given values starts
 * at those values, so a stage nobody changes is exactly the plain processor.
 *
 * The types are listed by dsp_type_at(); each one's parameters (unit,
 * range, default) are its table in the processor's file, the one source:
 * "tidepoold --list-stages" prints them, and tidepool.conf(5) is held to
 * them by a test.  How a change glides:
 *
 *   gain, mixer  a linear ramp of the factor over DSP_RAMP_MS, per sample
 *   lowpass, highpass, bandpass (constant 0 dB peak), notch, allpass,
 *   peaking, lowshelf, highshelf:
 *               The RBJ Audio EQ Cookbook biquads, coefficients and state
 *               in double (direct form I, as sox; settled, on a machine
 *               with AVX2 and FMA, the same recursion four samples at a
 *               time: see dsp/biquad.h); they agree with sox's
 *               lowpass, highpass, bandpass, bandreject, allpass,
 *               equalizer, bass and treble.  A change glides freq and q
 *               in log steps and gain in dB steps over DSP_RAMP_MS, the
 *               coefficients recomputed every 16 samples from the change.
 *   delay       rounded to whole samples; a change crossfades from the old
 *               tap to the new over DSP_RAMP_MS
 *   limiter     a brickwall peak limiter, the channels linked; |out|
 *               never exceeds the threshold.  It delays the channels it
 *               acts on by the lookahead (see dsp_stage_latency()); a
 *               lookahead change moves the audio in time at once, so set
 *               it at load.
 *   compressor  feed-forward, peak detector, channels linked, soft knee;
 *               makeup ramps over DSP_RAMP_MS, the rest act through
 *               attack/release
 *   mixer       the matrix is given at setup and fixed
 *   meter       no parameters; see dsp_stage_meter()
 *   convolver   an FIR with the IR of dsp_setup's ir, partitioned by
 *               dsp_setup's partition, no added latency (unless
 *               dsp_setup's hidden_latency allows some); gain glides as
 *               the gain type's (see dsp/conv.c)
 *   burn        TEST ONLY; spins load x the block's duration on
 *               CLOCK_MONOTONIC, for overload tests
 */
#ifndef TP_DSP_H
#define TP_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "rtpool/realtime.h"

#define DSP_MAX_CHANNELS 32
#define DSP_MAX_PARAMS 8
#define DSP_RAMP_MS 20		/* how long a parameter change glides */

/* What the functions of the dsp layer return. */
enum dsp_err {
	DSP_OK = 0,
	DSP_EINVAL,		/* a bad argument, index or setup */
	DSP_ENOMEM,		/* an allocation failed */
	DSP_ERANGE,		/* a parameter value outside its range */
	DSP_ECHANNELS		/* channel counts that do not fit together */
};

/*
 * A short English description of a dsp_err ("value out of range").  Any
 * thread.  Never NULL: an unknown code gives "unknown error".
 */
const char *dsp_strerror(int err);

/* What a parameter's flags say. */
enum dsp_param_flags {
	DSP_PARAM_NYQUIST = 1,	/* max is also rate/2, exclusive */
	DSP_PARAM_BOOL = 2	/* 0 or 1, nothing in between */
};

/* One parameter of a type. */
struct dsp_param {
	const char *name;	/* as used in config and "set STAGE.NAME" */
	const char *unit;	/* "dB", "Hz", "ms", "" */
	double min, max;	/* inclusive, but see DSP_PARAM_NYQUIST */
	double def;		/* the default */
	unsigned flags;		/* enum dsp_param_flags */
	const char *help;	/* one short phrase */
};

/* Private to dsp/: the functions behind a type (dsp/types.h). */
struct dsp_stage_ops;

/* A kind of processor.  The tables are static; never freed. */
struct dsp_type {
	const char *name;	/* "gain", "lowpass", ... */
	const char *summary;	/* one line for listings */
	const struct dsp_param *params;	/* nparams entries, in order */
	unsigned nparams;	/* <= DSP_MAX_PARAMS */
	const struct dsp_stage_ops *ops;	/* how it runs; dsp/ only */
};

/* The type of that name, or NULL if there is none.  Any thread. */
const struct dsp_type *dsp_type_find(const char *name);

/*
 * The i-th type, or NULL past the end: for (i = 0; (t = dsp_type_at(i));
 * i++) lists them all, in a fixed order.  Any thread.
 */
const struct dsp_type *dsp_type_at(unsigned i);

/* The index of type t's parameter of that name, or -1.  Any thread. */
int dsp_param_index(const struct dsp_type *t, const char *name);

/*
 * Checks value against parameter p of type t at the given rate: DSP_OK,
 * DSP_ERANGE (outside the range, NaN, not 0/1 for a bool, at or above
 * rate/2 for DSP_PARAM_NYQUIST) or DSP_EINVAL (no such parameter).  The
 * same test dsp_stage_set() makes.  Any thread.
 */
int dsp_param_check(const struct dsp_type *t, unsigned p, double rate,
    double value) TP_REALTIME;

/* How to make a stage. */
struct dsp_setup {
	double rate;		/* frames per second, 1000..1536000 */
	unsigned channels;	/* channels entering the stage, 1..32 */
	unsigned max_frames;	/* largest block process() will ever get */
	uint32_t channel_mask;	/* bit c: the stage acts on channel c; the
				   others pass unchanged (0 = all) */
	double values[DSP_MAX_PARAMS];	/* each param's initial value, in
				   the type's table order */
	unsigned out_channels;	/* mixer only: channels leaving, 1..32 */
	const float *matrix;	/* mixer only: out_channels x channels linear
				   gains, row-major; copied */
	const float *ir;	/* convolver only: the impulse response,
				   ir_frames x ir_channels interleaved, at
				   rate; copied */
	unsigned ir_frames;	/* convolver: taps per IR channel */
	unsigned ir_channels;	/* convolver: 1, the acted channels, or 4
				   on 2 (true stereo: LL, LR, RL, RR) */
	unsigned partition;	/* convolver: frames per partition, the
				   engine's period, so that output does not
				   depend on max_frames; 0 = max_frames */
	unsigned normalize;	/* convolver: enum dsp_conv_normalize */
	int hidden_latency;	/* convolver: 1 = the caller removes the
				   stage's latency (dsp_stage_latency()) from
				   the output, as tidepool-render does, so the
				   stage may take some to run faster; it then
				   delays every channel, acted on or not */
};

/* How the convolver scales its IR at load. */
enum dsp_conv_normalize {
	DSP_CONV_NORM_NONE = 0,	/* as it is */
	DSP_CONV_NORM_PEAK,	/* the largest |tap| becomes 1 */
	DSP_CONV_NORM_ENERGY	/* the IR channel with the most energy gets
				   a sum of squares of 1: white noise keeps
				   its level through it */
};

/* The longest IR the convolver takes, frames per channel (43 s at
   48 kHz). */
#define DSP_CONV_MAX_FRAMES 2097152u

/*
 * Fills s for type t: the given rate, channels and max_frames, every
 * parameter at its default, all channels, no matrix.  Control thread.
 */
void dsp_setup_init(struct dsp_setup *s, const struct dsp_type *t,
    double rate, unsigned channels, unsigned max_frames);

struct dsp_stage;

/*
 * Makes a stage of type t.  Control thread.  Allocates everything the
 * stage will ever need (delay lines for the largest delay, and so on) and
 * touches it, so that the audio thread takes no page fault on it.  Returns
 * NULL on failure with a message in err (what is wrong and with which
 * value) when err is not NULL.
 */
struct dsp_stage *dsp_stage_new(const struct dsp_type *t,
    const struct dsp_setup *s, char *err, size_t errlen);

/* Frees a stage; NULL is ignored.  Control thread. */
void dsp_stage_del(struct dsp_stage *st);

/* The stage's type and channel counts.  Any thread: they never change. */
const struct dsp_type *dsp_stage_type(const struct dsp_stage *st)
    TP_REALTIME;
unsigned dsp_stage_in_channels(const struct dsp_stage *st) TP_REALTIME;
unsigned dsp_stage_out_channels(const struct dsp_stage *st) TP_REALTIME;

/*
 * Frames by which the stage delays the channels it acts on, beyond what it
 * is asked to do: the limiter's lookahead (as it is now), a convolver's
 * hidden latency (dsp_setup), 0 for the rest.
 * The delay stage's delay is its effect, not latency: 0.  Audio thread, or
 * any thread while the stage is not running.
 */
unsigned dsp_stage_latency(const struct dsp_stage *st) TP_REALTIME;

/*
 * A convolver's IR length in frames per channel (after any resampling),
 * 0 for any other type.  Any thread: it never changes.
 */
unsigned dsp_stage_ir_frames(const struct dsp_stage *st);

/*
 * Background work a stage declares (a convolver's larger partitions).
 * Until someone takes it with dsp_work_hand(), the stage's process() runs
 * the work itself, at fixed sample positions (a chain warmed up before it
 * is handed, tidepool-render told to run everything inline).  Once
 * handed, process() submits jobs and calls wake(wake_arg), and another
 * thread runs them with dsp_work_run(); process() never waits for them: a
 * job not done when its result is due is counted (dsp_stage_late()),
 * unless an offline caller asked it to wait (dsp_work_wait_due()).
 * frames is how often a job comes and how long it has: each one is
 * submitted at a multiple of frames and due frames later, so a smaller
 * frames is more urgent.
 */
struct dsp_work {
	unsigned (*run)(struct dsp_work *w, unsigned max);	/* dsp/'s:
				   at most max jobs */
	unsigned frames;	/* see above; never changes */
	/* Set by dsp_work_hand(). */
	void (*wake)(void *arg) TP_REALTIME;	/* called by the audio
				   thread after each submission: must not
				   block (a sem_post) */
	void *wake_arg;
	unsigned handed;	/* 1: another thread runs the jobs */
	/* Set by dsp_work_wait_due(); NULL: never wait (the daemon). */
	void (*wait_due)(void *arg);
	void *wait_due_arg;
};

/*
 * The i-th background work of stage st, NULL past the end (and for a
 * stage with none).  Control thread; the pointer lives as long as the
 * stage.
 */
struct dsp_work *dsp_stage_work(struct dsp_stage *st, unsigned i);

/*
 * Hands w over: from now on its jobs are submitted, wake(arg) is called
 * after each, and the caller runs them with dsp_work_run().  Control
 * thread, while no other thread runs the stage (before its chain is
 * swapped in): what process() did so far, inline, carries over, so a
 * chain warmed up off the audio thread is best handed after that, where
 * nothing can be late.
 */
void dsp_work_hand(struct dsp_work *w, void (*wake)(void *arg) TP_REALTIME,
    void *arg);

/*
 * Offline only (tidepool-render): after dsp_work_hand(), makes process()
 * wait where the daemon's callback would not: for a job whose result is
 * due and not done, and for a slot still in use by the job submitted two
 * before, instead of counting a late partition or dropping the job.  It
 * calls wait_fn(arg) again and again until that job is done; wait_fn may
 * run the oldest job itself (dsp_work_run_one(), under the caller's own
 * exclusion with the runner), block until the runner made progress, or
 * just yield.  Nothing is then ever late or dropped, and the output is
 * bit-identical to running the work inline.  Control thread, while no
 * other thread runs the stage.  Never for a real-time caller: process()
 * would wait.
 */
void dsp_work_wait_due(struct dsp_work *w, void (*wait_fn)(void *arg),
    void *arg);

/*
 * Runs every job of a handed work submitted and not yet run, in order;
 * returns how many.  One thread at a time per work; never the audio
 * thread.  The stage must outlive the call.
 */
unsigned dsp_work_run(struct dsp_work *w);

/*
 * dsp_work_run(), but only the oldest job not yet run, if any: for a
 * thread that needs one result now and not the jobs submitted after it.
 * Returns 1 or 0.
 */
unsigned dsp_work_run_one(struct dsp_work *w);

/*
 * Output blocks for which a convolver had no result from a level's job
 * (late or dropped background work), since the stage was made; 0 for any
 * other type.  Any thread.
 */
uint64_t dsp_stage_late(const struct dsp_stage *st) TP_REALTIME;

/*
 * Sets parameter param to value: the new target, reached smoothly (each
 * type says how).  Audio thread (or any thread while the stage is not
 * running).  Returns DSP_OK, DSP_EINVAL for no such parameter, DSP_ERANGE
 * for a value outside the range (see dsp_param_check()); on error nothing
 * changes.
 */
int dsp_stage_set(struct dsp_stage *st, unsigned param, double value)
    TP_REALTIME;

/*
 * The target value of parameter param (the last one set), or NaN for no
 * such parameter.  Same threads as dsp_stage_set().
 */
double dsp_stage_get(const struct dsp_stage *st, unsigned param)
    TP_REALTIME;

/*
 * Processes frames frames (<= max_frames) from in (in_channels
 * interleaved) to out (out_channels interleaved).  in == out is allowed
 * unless the stage changes the channel count; partly overlapping buffers
 * are not.  Audio thread.
 */
void dsp_stage_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

/*
 * Clears the stage's history (filter state, delay lines, envelopes) and
 * ends any ramp at its target, as if the stage had just been made with
 * the current targets.  Audio thread.
 */
void dsp_stage_reset(struct dsp_stage *st) TP_REALTIME;

#define DSP_METER_RMS_MS 300.0
#define DSP_METER_GROUP 64
#define DSP_METER_LANES 4

/*
 * Meters: peak, RMS and clipped samples per channel.  Used by the "meter"
 * type, by the engine on its output and by tidepool-render's summary.  The
 * struct is plain data that can be copied; one thread writes it.
 */
struct dsp_meter {
	unsigned channels;	/* measured, <= DSP_MAX_CHANNELS */
	double rate;		/* frames per second */
	float peak[DSP_MAX_CHANNELS];	/* largest |x| since init or reset */
	double ms[DSP_MAX_CHANNELS];	/* mean square: an exponential
				   average, time constant DSP_METER_RMS_MS,
				   updated every DSP_METER_GROUP frames */
	uint64_t clipped[DSP_MAX_CHANNELS];	/* samples with |x| >= 1.0,
				   or NaN, since init or reset */
	uint64_t frames;	/* measured since init or reset */
	/* Private to dsp_meter_run(): */
	float acc[DSP_METER_LANES][DSP_MAX_CHANNELS];	/* sums of x^2 in
				   the open group, of its frames i with
				   i % DSP_METER_LANES = lane */
	unsigned fill;		/* frames in the open group */
	double keep;		/* weight of the old ms at a group's end */
	int avx2;		/* the machine has it */
};

/*
 * Sets m up for channels channels (more than DSP_MAX_CHANNELS are cut to
 * it) at rate, all zero.  Any thread that owns m.
 */
void dsp_meter_init(struct dsp_meter *m, unsigned channels, double rate);

/* Measures frames frames of m->channels interleaved.  The writer thread. */
void dsp_meter_run(struct dsp_meter *m, const float *buf, unsigned frames)
    TP_REALTIME;

/* Zeroes the measures, keeps channels and rate.  The writer thread. */
void dsp_meter_reset(struct dsp_meter *m) TP_REALTIME;

/* sqrt(ms[ch]): the RMS, linear; 0 for a channel not measured. */
float dsp_meter_rms(const struct dsp_meter *m, unsigned ch) TP_REALTIME;

/*
 * The meter of a stage of type "meter" (measuring the stage's input, all
 * channels), NULL for any other type.  It is written by the audio thread
 * inside dsp_stage_process(): another thread must copy it out under its
 * own synchronisation (the engine's statistics snapshot), or read it while
 * the stage is not running.
 */
const struct dsp_meter *dsp_stage_meter(const struct dsp_stage *st)
    TP_REALTIME;

/*
 * Makes the calling thread flush subnormal numbers (float and double) to
 * zero: FTZ and DAZ in MXCSR on x86, FZ in FPCR on aarch64, nothing
 * elsewhere.  Per thread: the
 * audio thread calls it once, on itself.  Returns nothing; see
 * dsp_denormals_flushed().
 */
void dsp_flush_denormals(void) TP_REALTIME;

/*
 * 1 if the calling thread flushes subnormals (as dsp_flush_denormals()
 * sets), 0 if not or unknown on this machine.
 */
int dsp_denormals_flushed(void) TP_REALTIME;

#endif /* TP_DSP_H */
