/*
 * Meters: peak, RMS and clipped samples per channel, and the "meter" stage
 * that passes audio unchanged while measuring it.
 *
 * The peak is the largest |x| since init or reset, and a sample is clipped
 * when |x| >= 1.0 (a NaN counts as clipped too: it is worse).  The RMS is
 * an exponential average of x^2 with a time constant of DSP_METER_RMS_MS,
 * advanced once per group of DSP_METER_GROUP frames with the group's mean:
 * per sample it is then one addition, not a multiply-add chained through
 * the whole block (the engine runs a meter on every block it outputs, so
 * this is on every render's path), and two channels go side by side in
 * vectors of two doubles.
 * Groups are counted from init, not per call, so the measures do not
 * depend on block sizes either.  A NaN makes that channel's RMS NaN until
 * the next reset.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/types.h"

void
dsp_meter_init(struct dsp_meter *m, unsigned channels, double rate)
{
	memset(m, 0, sizeof(*m));
	m->channels = channels > DSP_MAX_CHANNELS ? DSP_MAX_CHANNELS : channels;
	m->rate = rate;
	m->keep = rate > 0 ?
	    exp(-DSP_METER_GROUP / (DSP_METER_RMS_MS / 1000.0 * rate)) : 0;
}

typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));

#define ALWAYS_INLINE inline __attribute__((always_inline))

/*
 * Channels c and c+1 of n frames, two at a time in vectors of two doubles
 * (exact: every float is a double).  The squares go into two sums, the
 * group's even frames and its odd ones, so that the additions of one
 * frame need not wait for the last frame's: which sum a frame goes into
 * is fixed by its place in the group, so block boundaries do not matter.
 * The peaks go into two maxima likewise (a maximum is exact anyway).
 */
static ALWAYS_INLINE void
run2(struct dsp_meter *m, const float *p, unsigned ch, unsigned n,
    unsigned c)
{
	const v2l abs_mask = { INT64_MAX, INT64_MAX };
	const v2d one = { 1, 1 };
	v2d pk = { m->peak[c], m->peak[c + 1] }, pk2 = pk;
	v2d se = { m->acc[c], m->acc[c + 1] };
	v2d so = { m->acc_odd[c], m->acc_odd[c + 1] };
	v2l clip = { 0, 0 }, more;
	v2d x, ax;
	unsigned i = 0;

#define METER_FRAME(sum, pk)						\
	x = (v2d){ p[c], p[c + 1] };					\
	ax = (v2d)((v2l)x & abs_mask);					\
	more = ax > pk;							\
	pk = (v2d)(((v2l)ax & more) | ((v2l)pk & ~more));		\
	clip -= ~(ax < one);		/* NaN too */			\
	sum += x * x;							\
	p += ch;

	if ((m->fill & 1) && n > 0) {
		METER_FRAME(so, pk2)
		i = 1;
	}
	for (; i + 2 <= n; i += 2) {
		METER_FRAME(se, pk)
		METER_FRAME(so, pk2)
	}
	if (i < n) {
		METER_FRAME(se, pk)
	}
#undef METER_FRAME
	more = pk2 > pk;
	pk = (v2d)(((v2l)pk2 & more) | ((v2l)pk & ~more));
	m->peak[c] = (float)pk[0];
	m->peak[c + 1] = (float)pk[1];
	m->acc[c] = se[0];
	m->acc[c + 1] = se[1];
	m->acc_odd[c] = so[0];
	m->acc_odd[c + 1] = so[1];
	m->clipped[c] += (uint64_t)clip[0];
	m->clipped[c + 1] += (uint64_t)clip[1];
}

static void run_stereo(struct dsp_meter *m, const float *p, unsigned n)
    TP_REALTIME;

static void
run_stereo(struct dsp_meter *m, const float *p, unsigned n)
{
	run2(m, p, 2, n, 0);
}

static void run_pair(struct dsp_meter *m, const float *p, unsigned ch,
    unsigned n, unsigned c) TP_REALTIME;

static void
run_pair(struct dsp_meter *m, const float *p, unsigned ch, unsigned n,
    unsigned c)
{
	run2(m, p, ch, n, c);
}

/* Channel c of n frames, the odd one out: one sum. */
static void run1(struct dsp_meter *m, const float *p, unsigned ch,
    unsigned n, unsigned c) TP_REALTIME;

static void
run1(struct dsp_meter *m, const float *p, unsigned ch, unsigned n,
    unsigned c)
{
	float pa = m->peak[c], xa, aa;
	double sa = m->acc[c];
	uint64_t ca = 0;
	unsigned i;

	for (i = 0; i < n; i++, p += ch) {
		xa = p[c];
		aa = fabsf(xa);
		pa = aa > pa ? aa : pa;
		ca += !(aa < 1.0f);
		sa += (double)xa * xa;
	}
	m->peak[c] = pa;
	m->acc[c] = sa;
	m->clipped[c] += ca;
}

void
dsp_meter_run(struct dsp_meter *m, const float *buf, unsigned frames)
{
	unsigned ch = m->channels, n, c;
	double mean;

	while (frames > 0) {
		n = DSP_METER_GROUP - m->fill;
		if (n > frames)
			n = frames;
		if (ch == 2)
			run_stereo(m, buf, n);
		else {
			for (c = 0; c + 1 < ch; c += 2)
				run_pair(m, buf, ch, n, c);
			if (c < ch)
				run1(m, buf, ch, n, c);
		}
		m->fill += n;
		m->frames += n;
		if (m->fill == DSP_METER_GROUP) {
			for (c = 0; c < ch; c++) {
				mean = (m->acc[c] + m->acc_odd[c]) /
				    DSP_METER_GROUP;
				m->ms[c] = mean + (m->ms[c] - mean) * m->keep;
				m->acc[c] = m->acc_odd[c] = 0;
			}
			m->fill = 0;
		}
		buf += (size_t)n * ch;
		frames -= n;
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
		m->acc[c] = m->acc_odd[c] = 0;
	}
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
