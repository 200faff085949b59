/*
 * Meters: peak, RMS and clipped samples per channel, and the "meter" stage
 * that passes audio unchanged while measuring it.
 *
 * The peak is the largest |x| since init or reset, and a sample is clipped
 * when |x| >= 1.0 (a NaN counts as clipped too: it is worse).  The RMS is
 * an exponential average of x^2 with a time constant of DSP_METER_RMS_MS,
 * advanced once per group of DSP_METER_GROUP frames with the group's mean.
 * The squares of a group go into DSP_METER_LANES float sums per channel,
 * frame i of the group into sum i % DSP_METER_LANES: sixteen squares
 * each, which float keeps to about 1e-6 of the mean (0.00001 dB of RMS),
 * and sums that never wait on each other.  The engine runs a meter on
 * every block it outputs, so this is on every render's path: plain
 * stereo, the common case, goes four frames at a time through vectors of
 * four floats; other frames one at a time, adding the same numbers in the
 * same order, so neither the path nor the block boundaries change a bit.
 * Groups are counted from init, not per call.  A NaN makes that channel's
 * RMS NaN until the next reset.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

static int have_avx2(void);

void
dsp_meter_init(struct dsp_meter *m, unsigned channels, double rate)
{
	memset(m, 0, sizeof(*m));
	m->channels = channels > DSP_MAX_CHANNELS ? DSP_MAX_CHANNELS : channels;
	m->rate = rate;
	m->avx2 = have_avx2();
	m->keep = rate > 0 ?
	    exp(-DSP_METER_GROUP / (DSP_METER_RMS_MS / 1000.0 * rate)) : 0;
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* Frame p of ch channels, in its group's sums `lane`.  The square and
   the sum are separate statements: fused into one multiply-add, they
   would round differently from the vector loop. */
static void plain_frame(struct dsp_meter *m, const float *p, unsigned ch,
    unsigned lane) TP_REALTIME;

static void
plain_frame(struct dsp_meter *m, const float *p, unsigned ch, unsigned lane)
{
	unsigned c;
	float x, ax, sq;

	for (c = 0; c < ch; c++) {
		x = p[c];
		ax = fabsf(x);
		if (ax > m->peak[c])
			m->peak[c] = ax;
		m->clipped[c] += !(ax < 1.0f);
		sq = x * x;
		m->acc[lane][c] = m->acc[lane][c] + sq;
	}
}

/* ax > pk ? ax : pk, lane by lane (a NaN in ax never wins), in one
   instruction where there is one: the peaks are a chain through the
   whole loop. */
static inline __attribute__((always_inline)) v4f
larger(v4f ax, v4f pk)
{
#if defined(__SSE__)
	return __builtin_ia32_maxps(ax, pk);
#else
	v4i more = ax > pk;

	return (v4f)(((v4i)ax & more) | ((v4i)pk & ~more));
#endif
}

/* Frames counted; at a group's end, its mean square into the average.
   In-line: called from run_stereo_avx2(), an SSE function would pay for
   switching between AVX and SSE code twice per group. */
static inline __attribute__((always_inline)) void
count(struct dsp_meter *m, unsigned n)
{
	unsigned c, l;
	double mean;

	m->fill += n;
	m->frames += n;
	if (m->fill < DSP_METER_GROUP)
		return;
	for (c = 0; c < m->channels; c++) {
		mean = ((double)m->acc[0][c] + m->acc[1][c] +
		    ((double)m->acc[2][c] + m->acc[3][c])) / DSP_METER_GROUP;
		m->ms[c] = mean + (m->ms[c] - mean) * m->keep;
		for (l = 0; l < DSP_METER_LANES; l++)
			m->acc[l][c] = 0;
	}
	m->fill = 0;
}

/* Two interleaved stereo frames in x, into sums s: as plain_frame(). */
#define STEREO_STEP(x, s)						\
	do {								\
		ax = (v4f)((v4i)(x) & abs_mask);			\
		pk = larger(ax, pk);					\
		clip -= ~(ax < one);	/* NaN too */			\
		sq = (x) * (x);						\
		s = s + sq;						\
	} while (0)

/*
 * n frames of interleaved stereo, n a multiple of 4, the first at a
 * group place that is a multiple of 4.  Lanes: left and right of two
 * frames; s01 holds the sums of places 0 and 1 (mod 4), s23 of 2 and 3.
 * The sums go back to m at each group's end, the rest at the end.
 */
static void run_stereo(struct dsp_meter *m, const float *p, unsigned n)
    TP_REALTIME;

static void
run_stereo(struct dsp_meter *m, const float *p, unsigned n)
{
	const v4i abs_mask = { INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX };
	const v4f one = { 1, 1, 1, 1 };
	v4f pk = { m->peak[0], m->peak[1], m->peak[0], m->peak[1] };
	v4f s01 = { m->acc[0][0], m->acc[0][1], m->acc[1][0], m->acc[1][1] };
	v4f s23 = { m->acc[2][0], m->acc[2][1], m->acc[3][0], m->acc[3][1] };
	v4f x, ax, sq;
	v4i clip = { 0, 0, 0, 0 };
	unsigned i, k, c;

	while (n > 0) {
		k = DSP_METER_GROUP - m->fill;
		if (k > n)
			k = n;
		for (i = 0; i < k; i += 4, p += 8) {
			memcpy(&x, p, sizeof(x));
			STEREO_STEP(x, s01);
			memcpy(&x, p + 4, sizeof(x));
			STEREO_STEP(x, s23);
		}
		for (c = 0; c < 2; c++) {
			m->acc[0][c] = s01[c];
			m->acc[1][c] = s01[c + 2];
			m->acc[2][c] = s23[c];
			m->acc[3][c] = s23[c + 2];
		}
		count(m, k);
		if (m->fill == 0)
			s01 = s23 = (v4f){ 0, 0, 0, 0 };
		n -= k;
	}
	for (c = 0; c < 2; c++) {
		m->peak[c] = pk[c + 2] > pk[c] ? pk[c + 2] : pk[c];
		m->clipped[c] += (uint64_t)(clip[c] + clip[c + 2]);
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/*
 * run_stereo() with AVX2: four frames to a vector, whose lanes are the
 * group places 0 to 3, left and right; the same numbers added in the
 * same order (no fused multiply-add).
 */
static void run_stereo_avx2(struct dsp_meter *m, const float *p,
    unsigned n) __attribute__((target("avx2"))) TP_REALTIME;

static void
run_stereo_avx2(struct dsp_meter *m, const float *p, unsigned n)
{
	const v8i abs_mask = { INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
	    INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX };
	const v8f one = { 1, 1, 1, 1, 1, 1, 1, 1 };
	v8f pk = { m->peak[0], m->peak[1], m->peak[0], m->peak[1],
	    m->peak[0], m->peak[1], m->peak[0], m->peak[1] };
	v8f s = { m->acc[0][0], m->acc[0][1], m->acc[1][0], m->acc[1][1],
	    m->acc[2][0], m->acc[2][1], m->acc[3][0], m->acc[3][1] };
	v8f x, ax, sq;
	v8i clip = { 0, 0, 0, 0, 0, 0, 0, 0 };
	unsigned i, k, c, l;

	while (n > 0) {
		k = DSP_METER_GROUP - m->fill;
		if (k > n)
			k = n;
		for (i = 0; i < k; i += 4, p += 8) {
			memcpy(&x, p, sizeof(x));
			ax = (v8f)((v8i)x & abs_mask);
			pk = __builtin_ia32_maxps256(ax, pk);
			clip -= ~(ax < one);	/* NaN too */
			sq = x * x;
			s = s + sq;
		}
		for (l = 0; l < DSP_METER_LANES; l++)
			for (c = 0; c < 2; c++)
				m->acc[l][c] = s[2 * l + c];
		count(m, k);
		if (m->fill == 0)
			s = (v8f){ 0, 0, 0, 0, 0, 0, 0, 0 };
		n -= k;
	}
	for (c = 0; c < 2; c++)
		for (l = 0; l < 4; l++) {
			if (pk[2 * l + c] > m->peak[c])
				m->peak[c] = pk[2 * l + c];
			m->clipped[c] += (uint64_t)clip[2 * l + c];
		}
}

static int
have_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}
#else
#define run_stereo_avx2 run_stereo
static int
have_avx2(void)
{
	return 0;
}
#endif

void
dsp_meter_run(struct dsp_meter *m, const float *buf, unsigned frames)
{
	unsigned ch = m->channels, k;

	while (frames > 0) {
		if (ch == 2 && m->fill % 4 == 0 && frames >= 4) {
			k = frames / 4 * 4;
			if (m->avx2)
				run_stereo_avx2(m, buf, k);
			else
				run_stereo(m, buf, k);
		} else {
			k = 1;
			plain_frame(m, buf, ch, m->fill % DSP_METER_LANES);
			count(m, 1);
		}
		buf += (size_t)k * ch;
		frames -= k;
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
	memset(m->acc, 0, sizeof(m->acc));
	m->frames = 0;
	m->fill = 0;
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

/* The stage layer has copied in to out: only measure. */
static void meter_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
meter_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	(void)out;
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
	meter_init, meter_process, NULL, meter_reset, NULL, NULL,
	DSP_OPS_PASS
};

const struct dsp_type dsp_type_meter = {
	"meter", "peak, RMS and clipped samples per channel; audio unchanged",
	NULL, 0, &ops
};
