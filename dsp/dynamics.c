/*
 * limiter and compressor.  Both link the channels they act on (one gain
 * for all of them, from the loudest), and both run per sample, so block
 * boundaries never matter.
 *
 * The limiter looks ahead.  The audio is delayed by L samples, while the
 * gain each sample needs (threshold / |x|, or 1) is known as it enters.
 * The gain applied as sample n-L leaves is built so that it cannot exceed
 * that sample's need: first the sliding minimum of the needs of samples
 * m-L .. m (a monotonic deque), then the average of the last L+1 of those
 * minima (a running sum): each minimum averaged covers sample n-L, so each
 * is at most its need, and so is their average.  The average turns the
 * step of a sudden peak into a ramp down over the lookahead.  Recovery is
 * a one-pole release that only ever moves the gain down to that average
 * or up towards it.  A final clamp to the threshold the sample entered
 * with only catches the last bit of rounding.
 *
 * At rest (no sample above the threshold for over 2L + 2 samples, the
 * threshold settled, the gain at its fixed point) every ring would only
 * be written with 1s and the gain would not move, so a shorter loop does
 * just that until a sample goes above the threshold: bit for bit what the
 * full loop gives (TIDEPOOL_DSP_PLAIN=1 turns it off, and a test holds
 * the two to it), at a fraction of the cost.
 *
 * The threshold glides linearly over DSP_RAMP_MS; the release changes at
 * once (it only shapes recovery).  The rings are sized for the largest
 * lookahead, so changing the lookahead allocates nothing: the deque and
 * the running sum are rebuilt from the rings, and the delay (the audio's
 * latency) jumps to the new length at once.
 *
 * The compressor is feed-forward with a peak detector: the level in dB
 * of the loudest channel goes through a static curve with a soft knee
 * (Giannoulis, Massberg and Reiss, "Digital Dynamic Range Compressor
 * Design", JAES 2012), and the gain change it asks for is smoothed in dB
 * by a one-pole with the attack time going down and the release time
 * going up.  Threshold, ratio and knee act through that smoothing; makeup
 * glides over DSP_RAMP_MS.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "dsp/types.h"

#define LOOKAHEAD_MAX_MS 20
#define DB_PER_LN (20.0 / M_LN10)	/* 20 log10(x) = DB_PER_LN ln(x) */

/* exp(-1 / (ms in samples)): a one-pole's weight of its old value. */
static double
pole(double rate, double ms)
{
	return exp(-1.0 / (ms / 1000.0 * rate));
}

/* The loudest acted-on channel of the frame at f, and no less than
   floor: both processors link their channels. */
static inline float
frame_peak(const struct dsp_stage *st, const float *f, float floor)
{
	float peak = floor, x;
	unsigned k;

	for (k = 0; k < st->nact; k++) {
		x = fabsf(f[st->act[k]]);
		peak = x > peak ? x : peak;
	}
	return peak;
}

/* ---- limiter ---------------------------------------------------------- */

enum { L_THRESHOLD, L_RELEASE, L_LOOKAHEAD };

struct limiter {
	unsigned size;		/* slots in each ring: the largest L + 1 */
	unsigned L;		/* lookahead in samples: the delay */
	unsigned w;		/* the slot of the sample entering */
	uint64_t n;		/* the number of the sample entering */
	float *line;		/* size x nact: the delayed audio */
	float *ceil;		/* size: the threshold each sample came in
				   with, linear */
	double *need;		/* size: the gain each sample needs */
	double *hold;		/* size: the sliding minimum at each sample */
	uint64_t *dq_at;	/* size: the deque, sample numbers ... */
	double *dq_val;		/* ... and their needs, increasing */
	unsigned dq_head;	/* first slot of the deque */
	unsigned dq_len;	/* entries in it */
	double sum;		/* of the last L + 1 holds */
	double g;		/* the gain applied last */
	struct dsp_ramp thr;	/* the threshold, linear */
	double rcoef;		/* release pole */
	unsigned quiet;		/* samples in a row that needed no gain
				   change, since the last rebuild */
	int shortcut;		/* may take the loop at rest */
};

static const struct dsp_param lim_params[] = {
	{ "threshold", "dBFS", -60, 0, -1, 0, "the output never goes above" },
	{ "release", "ms", 1, 5000, 50, 0, "recovery time" },
	{ "lookahead", "ms", 0, LOOKAHEAD_MAX_MS, 5, 0,
	    "how far ahead it sees peaks; also the delay it adds" },
};

static unsigned
lookahead_samples(const struct dsp_stage *st, double ms)
{
	const struct limiter *l = st->state;
	long n = lround(ms * st->rate / 1000.0);

	return n < 0 ? 0 : (unsigned)n >= l->size ? l->size - 1 : (unsigned)n;
}

/* The slot back slots before slot w. */
static unsigned
before(const struct limiter *l, unsigned back)
{
	return l->w >= back ? l->w - back : l->w + l->size - back;
}

/* Adds sample number at with need v to the back of the deque. */
static void dq_push(struct limiter *l, uint64_t at, double v) TP_REALTIME;

static void
dq_push(struct limiter *l, uint64_t at, double v)
{
	unsigned back;

	/* Entries no smaller than v can never be the minimum again. */
	while (l->dq_len > 0) {
		back = l->dq_head + l->dq_len - 1;
		if (back >= l->size)
			back -= l->size;
		if (l->dq_val[back] < v)
			break;
		l->dq_len--;
	}
	back = l->dq_head + l->dq_len;
	if (back >= l->size)
		back -= l->size;
	l->dq_at[back] = at;
	l->dq_val[back] = v;
	l->dq_len++;
}

/*
 * Rebuilds the deque and the running sum for lookahead L from the rings,
 * as if L had always been this: at a lookahead change and at reset.
 */
static void lim_rebuild(struct limiter *l) TP_REALTIME;

static void
lim_rebuild(struct limiter *l)
{
	uint64_t first = l->n > l->L ? l->n - l->L : 0, at;
	unsigned j;

	l->dq_len = 0;
	l->dq_head = 0;
	for (at = first; at < l->n; at++)
		dq_push(l, at, l->need[before(l, (unsigned)(l->n - at))]);
	l->sum = 0;
	for (j = 1; j <= l->L + 1; j++)
		l->sum += l->hold[before(l, j)];
	l->quiet = 0;
}

static void lim_reset(struct dsp_stage *st) TP_REALTIME;

static void
lim_reset(struct dsp_stage *st)
{
	struct limiter *l = st->state;
	unsigned i;

	for (i = 0; i < l->size * st->nact; i++)
		l->line[i] = 0;
	for (i = 0; i < l->size; i++) {
		l->ceil[i] = 1;
		l->need[i] = 1;
		l->hold[i] = 1;
	}
	l->w = 0;
	l->n = 0;
	l->g = 1;
	dsp_ramp_settle(&l->thr);
	lim_rebuild(l);
}

static int
lim_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct limiter *l = calloc(1, sizeof(*l));

	(void)s;
	(void)err;
	(void)errlen;
	if (l == NULL)
		return -1;
	st->state = l;
	l->size = (unsigned)lround(LOOKAHEAD_MAX_MS * st->rate / 1000.0) + 1;
	l->line = calloc((size_t)l->size * st->nact, sizeof(float));
	l->ceil = calloc(l->size, sizeof(float));
	l->need = calloc(l->size, sizeof(double));
	l->hold = calloc(l->size, sizeof(double));
	l->dq_at = calloc(l->size, sizeof(uint64_t));
	l->dq_val = calloc(l->size, sizeof(double));
	if (l->line == NULL || l->ceil == NULL || l->need == NULL ||
	    l->hold == NULL || l->dq_at == NULL || l->dq_val == NULL)
		return -1;
	dsp_prefault(l->line, (size_t)l->size * st->nact * sizeof(float));
	dsp_prefault(l->dq_at, l->size * sizeof(uint64_t));
	dsp_prefault(l->dq_val, l->size * sizeof(double));
	l->shortcut = getenv("TIDEPOOL_DSP_PLAIN") == NULL;
	l->L = lookahead_samples(st, st->values[L_LOOKAHEAD]);
	dsp_ramp_init(&l->thr, dsp_db_to_gain(st->values[L_THRESHOLD]));
	l->rcoef = pole(st->rate, st->values[L_RELEASE]);
	lim_reset(st);
	return 0;
}

static void lim_set(struct dsp_stage *st, unsigned p, double v) TP_REALTIME;

static void
lim_set(struct dsp_stage *st, unsigned p, double v)
{
	struct limiter *l = st->state;
	unsigned L;

	switch (p) {
	case L_THRESHOLD:
		dsp_ramp_to(&l->thr, dsp_db_to_gain(v),
		    dsp_ramp_samples(st->rate));
		break;
	case L_RELEASE:
		l->rcoef = pole(st->rate, v);
		break;
	case L_LOOKAHEAD:
		L = lookahead_samples(st, v);
		if (L != l->L) {
			l->L = L;
			lim_rebuild(l);
		}
		break;
	}
}

/* The gain after the last one, g, when the lookahead's average asks for
   a: down at once, up through the release pole. */
static inline double
lim_next_gain(const struct limiter *l, double a, double g)
{
	return a <= g ? a : a + (g - a) * l->rcoef;
}

/* The average of the sliding minima, as a gain. */
static inline double
lim_average(const struct limiter *l)
{
	double a = l->sum / (l->L + 1);

	return a > 1 ? 1 : a < 0 ? 0 : a;
}

/* Frame fi into slot w of the line, and the frame of slot rd out to fo
   at gain g, held under the threshold it came in with.  With L = 0, rd
   is w: in, then out, so the sample leaves at once. */
static inline void
lim_delay(const struct dsp_stage *st, struct limiter *l, unsigned w,
    unsigned rd, double g, const float *fi, float *fo)
{
	unsigned nact = st->nact, k;
	float *wl = l->line + (size_t)w * nact, x, lim = l->ceil[rd];
	const float *rl = l->line + (size_t)rd * nact;

	for (k = 0; k < nact; k++)
		wl[k] = fi[st->act[k]];
	for (k = 0; k < nact; k++) {
		x = (float)(rl[k] * g);
		fo[st->act[k]] = x > lim ? lim : x < -lim ? -lim : x;
	}
}

/* frames frames at in, as lim_steps() would take them, until one goes
   above the threshold; returns how many it took. */
static unsigned lim_rest(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static unsigned
lim_rest(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct limiter *l = st->state;
	unsigned ch = st->in_channels, size = l->size;
	/* The slot written and the slot read, kept here rather than in
	   *l, which every store to the rings could otherwise change. */
	unsigned w = l->w, rd = before(l, l->L), i;
	double thr = l->thr.cur, g = l->g;
	float ceil = (float)thr;
	const float *fi;
	float *fo;

	for (i = 0; i < frames; i++) {
		fi = in + (size_t)i * ch;
		fo = out + (size_t)i * ch;
		if (frame_peak(st, fi, 0) > thr)
			break;
		/* Need 1, so the minimum and its average stay 1 and the
		   running sum gains 1 - 1 = 0. */
		l->need[w] = 1.0;
		l->hold[w] = 1.0;
		l->ceil[w] = ceil;
		lim_delay(st, l, w, rd, g, fi, fo);
		w = w + 1 == size ? 0 : w + 1;
		rd = rd + 1 == size ? 0 : rd + 1;
	}
	if (i > 0) {
		l->w = w;
		l->n += i;
		/* The deque as lim_steps() leaves it: the newest sample
		   alone, as every need before it was no smaller. */
		l->dq_at[l->dq_head] = l->n - 1;
		l->dq_val[l->dq_head] = 1.0;
		l->dq_len = 1;
		l->quiet = l->quiet > UINT_MAX - i ? UINT_MAX : l->quiet + i;
	}
	return i;
}

/* Whether lim_rest() gives what lim_steps() would: every need and hold
   that the next samples read back is 1, the threshold is still and the
   gain would not move. */
static int lim_resting(const struct limiter *l) TP_REALTIME;

static int
lim_resting(const struct limiter *l)
{
	return l->shortcut && l->thr.left == 0 &&
	    l->quiet > 2 * l->L + 2 &&
	    lim_next_gain(l, lim_average(l), l->g) == l->g;
}

/* frames frames at in through every ring, until lim_resting() holds
   after one of them; returns how many it took. */
static unsigned lim_steps(struct dsp_stage *st, const float *in,
    float *out, unsigned frames) TP_REALTIME;

static unsigned
lim_steps(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct limiter *l = st->state;
	unsigned ch = st->in_channels, W = l->L + 1;
	unsigned i, r;
	double thr, need;
	float peak;
	const float *fi;
	float *fo;

	for (i = 0; i < frames;) {
		fi = in + (size_t)i * ch;
		fo = out + (size_t)i * ch;
		thr = dsp_ramp_next(&l->thr);
		peak = frame_peak(st, fi, 0);
		need = peak > thr ? thr / peak : 1.0;
		l->need[l->w] = need;
		l->ceil[l->w] = (float)thr;
		if (need < 1.0)
			l->quiet = 0;
		else if (l->quiet < UINT_MAX)
			l->quiet++;

		/* The minimum need of samples n-L .. n. */
		if (l->dq_len > 0 && l->dq_at[l->dq_head] + l->L < l->n) {
			l->dq_head = l->dq_head + 1 == l->size ? 0 :
			    l->dq_head + 1;
			l->dq_len--;
		}
		dq_push(l, l->n, need);

		/* Their average over the last L+1 samples. */
		r = before(l, W);
		l->sum += l->dq_val[l->dq_head] - l->hold[r];
		l->hold[l->w] = l->dq_val[l->dq_head];
		l->g = lim_next_gain(l, lim_average(l), l->g);

		lim_delay(st, l, l->w, before(l, l->L), l->g, fi, fo);
		l->w = l->w + 1 == l->size ? 0 : l->w + 1;
		l->n++;
		i++;
		if (lim_resting(l))
			break;
	}
	return i;
}

static void lim_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
lim_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	unsigned ch = st->in_channels, i = 0;

	while (i < frames) {
		if (lim_resting(st->state))
			i += lim_rest(st, in + (size_t)i * ch,
			    out + (size_t)i * ch, frames - i);
		i += lim_steps(st, in + (size_t)i * ch, out + (size_t)i * ch,
		    frames - i);
	}
}

static unsigned lim_latency(const struct dsp_stage *st) TP_REALTIME;

static unsigned
lim_latency(const struct dsp_stage *st)
{
	const struct limiter *l = st->state;

	return l->L;
}

static void
lim_done(struct dsp_stage *st)
{
	struct limiter *l = st->state;

	free(l->line);
	free(l->ceil);
	free(l->need);
	free(l->hold);
	free(l->dq_at);
	free(l->dq_val);
}

static const struct dsp_stage_ops lim_ops = {
	lim_init, lim_process, lim_set, lim_reset, lim_done, lim_latency, 0
};

const struct dsp_type dsp_type_limiter = {
	"limiter", "brickwall peak limiter; delays by the lookahead",
	lim_params, 3, &lim_ops
};

/* ---- compressor ------------------------------------------------------- */

enum { C_THRESHOLD, C_RATIO, C_ATTACK, C_RELEASE, C_KNEE, C_MAKEUP };

struct compressor {
	double env;		/* the smoothed gain change, dB, <= 0 */
	double acoef, rcoef;	/* attack and release poles */
	struct dsp_ramp makeup;	/* dB */
};

static const struct dsp_param comp_params[] = {
	{ "threshold", "dBFS", -60, 0, -20, 0, "level where it starts" },
	{ "ratio", "", 1, 20, 4, 0, "input dB per output dB above threshold" },
	{ "attack", "ms", 0.1, 200, 10, 0, "how fast it reduces" },
	{ "release", "ms", 1, 5000, 100, 0, "how fast it recovers" },
	{ "knee", "dB", 0, 24, 6, 0, "width of the soft knee" },
	{ "makeup", "dB", 0, 24, 0, 0, "gain added after" },
};

static int
comp_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	struct compressor *k = calloc(1, sizeof(*k));

	(void)s;
	(void)err;
	(void)errlen;
	if (k == NULL)
		return -1;
	k->acoef = pole(st->rate, st->values[C_ATTACK]);
	k->rcoef = pole(st->rate, st->values[C_RELEASE]);
	dsp_ramp_init(&k->makeup, st->values[C_MAKEUP]);
	st->state = k;
	return 0;
}

static void comp_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
comp_set(struct dsp_stage *st, unsigned p, double v)
{
	struct compressor *k = st->state;

	switch (p) {
	case C_ATTACK:
		k->acoef = pole(st->rate, v);
		break;
	case C_RELEASE:
		k->rcoef = pole(st->rate, v);
		break;
	case C_MAKEUP:
		dsp_ramp_to(&k->makeup, v, dsp_ramp_samples(st->rate));
		break;
	}
	/* Threshold, ratio and knee are read per sample and reach the
	   output through the attack and release smoothing. */
}

/* The static curve: the gain change in dB for a level x in dB, with
   threshold t, ratio r and knee width w. */
static double curve(double x, double t, double r, double w) TP_REALTIME;

static double
curve(double x, double t, double r, double w)
{
	double over = x - t;

	if (2 * over <= -w)
		return 0;
	if (2 * over < w)	/* in the knee; w > 0 here */
		return (1 / r - 1) * (over + w / 2) * (over + w / 2) / (2 * w);
	return (1 / r - 1) * over;
}

static void comp_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
comp_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	struct compressor *c = st->state;
	unsigned ch = st->in_channels, nact = st->nact, i, k;
	double t = st->values[C_THRESHOLD], r = st->values[C_RATIO];
	double w = st->values[C_KNEE], want, g;
	const float *fi;
	float *fo, peak;

	for (i = 0; i < frames; i++) {
		fi = in + (size_t)i * ch;
		fo = out + (size_t)i * ch;
		/* -200 dB at least: the log of silence */
		peak = frame_peak(st, fi, 1e-10f);
		want = curve(DB_PER_LN * log(peak), t, r, w);
		c->env = want + (c->env - want) *
		    (want < c->env ? c->acoef : c->rcoef);
		g = exp((c->env + dsp_ramp_next(&c->makeup)) / DB_PER_LN);
		for (k = 0; k < nact; k++)
			fo[st->act[k]] = (float)(fi[st->act[k]] * g);
	}
}

static void comp_reset(struct dsp_stage *st) TP_REALTIME;

static void
comp_reset(struct dsp_stage *st)
{
	struct compressor *c = st->state;

	c->env = 0;
	dsp_ramp_settle(&c->makeup);
}

static const struct dsp_stage_ops comp_ops = {
	comp_init, comp_process, comp_set, comp_reset, NULL, NULL, 0
};

const struct dsp_type dsp_type_compressor = {
	"compressor", "feed-forward compressor with a soft knee",
	comp_params, 6, &comp_ops
};
