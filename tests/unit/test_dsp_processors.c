/*
 * What each processor does (the biquads have test_dsp_biquad.c): gain
 * smoothing, the mixer, the delay's exact shift and its crossfade, the
 * limiter's ceiling and latency, the compressor's static curve, meters,
 * the type registry and parameter ranges, and denormal flushing.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dsp/dsp.h"

#define RATE 48000.0

static struct dsp_stage *
make(const char *type, unsigned channels, const double *v, unsigned nv,
    uint32_t mask)
{
	const struct dsp_type *t = dsp_type_find(type);
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];
	unsigned i;

	assert_non_null(t);
	dsp_setup_init(&s, t, RATE, channels, 1 << 17);
	s.channel_mask = mask;
	for (i = 0; i < nv && i < t->nparams; i++)
		s.values[i] = v[i];
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static float *
floats(size_t n)
{
	float *p = calloc(n, sizeof(float));

	assert_non_null(p);
	return p;
}

/* Uniform noise in [-a, a], deterministic. */
static void
noise(float *buf, size_t n, double a, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (float)(((double)(seed >> 11) / 9007199254740992.0 *
		    2 - 1) * a);
	}
}

/* ---- gain -------------------------------------------------------------- */

/* A stage made at a gain is at it from the first sample. */
static void
test_gain_starts_at_its_value(void **state)
{
	const double v[] = { -6 };
	struct dsp_stage *st = make("gain", 2, v, 1, 0);
	float in[64], out[64], g = (float)pow(10, -6 / 20.0);
	unsigned i;

	(void)state;
	noise(in, 64, 0.9, 3);
	dsp_stage_process(st, in, out, 32);
	for (i = 0; i < 64; i++)
		assert_true(out[i] == in[i] * g);
	dsp_stage_del(st);
}

/* A change glides: small equal steps, and it arrives exactly. */
static void
test_gain_smoothing(void **state)
{
	const double v[] = { 0 };
	struct dsp_stage *st = make("gain", 1, v, 1, 0);
	unsigned n = 4800, ramp = (unsigned)(RATE * DSP_RAMP_MS / 1000), i;
	float *buf = floats(n);
	double target = pow(10, -20 / 20.0), step = (1 - target) / ramp;

	(void)state;
	for (i = 0; i < n; i++)
		buf[i] = 1.0f;
	assert_int_equal(dsp_stage_set(st, 0, -20), DSP_OK);
	dsp_stage_process(st, buf, buf, n);
	/* The first sample after the change has moved by one step. */
	assert_true(fabs(buf[0] - (1 - step)) < 1e-6);
	for (i = 1; i < ramp; i++) {
		assert_true(buf[i] < buf[i - 1]);
		/* No step larger than 1/ramp of the change (+ rounding). */
		assert_true(buf[i - 1] - buf[i] < step * 1.01);
	}
	for (i = ramp - 1; i < n; i++)
		assert_true(buf[i] == (float)target);
	/* Mute glides to exact silence, and unmuting glides back. */
	assert_int_equal(dsp_stage_set(st, 1, 1), DSP_OK);
	assert_true(dsp_stage_get(st, 1) == 1);
	for (i = 0; i < n; i++)
		buf[i] = 1.0f;
	dsp_stage_process(st, buf, buf, n);
	assert_true(buf[ramp / 2] > 0);
	assert_true(buf[ramp - 1] == 0.0f && buf[n - 1] == 0.0f);
	assert_int_equal(dsp_stage_set(st, 1, 0), DSP_OK);
	for (i = 0; i < n; i++)
		buf[i] = 1.0f;
	dsp_stage_process(st, buf, buf, n);
	assert_true(buf[0] > 0 && buf[0] < 0.01f);
	assert_true(buf[n - 1] == (float)target);
	free(buf);
	dsp_stage_del(st);
}

/* ---- mixer ------------------------------------------------------------- */

static struct dsp_stage *
make_mixer(unsigned in, unsigned out, const float *m, uint32_t mask,
    char *err, size_t errlen)
{
	const struct dsp_type *t = dsp_type_find("mixer");
	struct dsp_setup s;

	dsp_setup_init(&s, t, RATE, in, 64);
	s.out_channels = out;
	s.matrix = m;
	s.channel_mask = mask;
	return dsp_stage_new(t, &s, err, errlen);
}

static void
test_mixer_two_to_four(void **state)
{
	static const float m[] = { 1, 0, 0, 1, 0.5f, 0.5f, 0, -1 };
	const float in[] = { 0.25f, -0.5f, 1, 1 };
	struct dsp_stage *st;
	float out[8];
	char err[256];

	(void)state;
	st = make_mixer(2, 4, m, 0, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(dsp_stage_in_channels(st), 2);
	assert_int_equal(dsp_stage_out_channels(st), 4);
	dsp_stage_process(st, in, out, 2);
	assert_true(out[0] == 0.25f && out[1] == -0.5f);
	assert_true(out[2] == -0.125f && out[3] == 0.5f);
	assert_true(out[4] == 1 && out[5] == 1 && out[6] == 1 && out[7] == -1);
	dsp_stage_del(st);
	/* No matrix, too many rows, or a mask leaving a channel out: an
	   error with a message, not a crash. */
	assert_null(make_mixer(2, 4, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "matrix"));
	assert_null(make_mixer(2, 33, m, 0, err, sizeof(err)));
	assert_null(make_mixer(2, 4, m, 0x1, err, sizeof(err)));
	assert_non_null(strstr(err, "all channels"));
	/* A mask naming every channel is the same as none. */
	st = make_mixer(2, 4, m, 0x3, err, sizeof(err));
	assert_non_null(st);
	dsp_stage_del(st);
}

/* Keeping the channel count, it works in place: a swap. */
static void
test_mixer_in_place(void **state)
{
	static const float swap[] = { 0, 1, 1, 0 };
	float buf[] = { 1, 2, 3, 4, 5, 6 };
	struct dsp_stage *st;
	char err[256];

	(void)state;
	st = make_mixer(2, 2, swap, 0, err, sizeof(err));
	assert_non_null(st);
	dsp_stage_process(st, buf, buf, 3);
	assert_true(buf[0] == 2 && buf[1] == 1 && buf[2] == 4 && buf[3] == 3 &&
	    buf[4] == 6 && buf[5] == 5);
	/* Its gain glides to the target. */
	assert_int_equal(dsp_stage_set(st, 0, -6), DSP_OK);
	{
		float *b = floats(2 * 4800);
		unsigned i;

		for (i = 0; i < 2 * 4800; i++)
			b[i] = 1;
		dsp_stage_process(st, b, b, 4800);
		assert_true(b[0] < 1 && b[0] > 0.99f);
		assert_true(fabsf(b[2 * 4800 - 1] - (float)pow(10, -6 / 20.0)) <
		    1e-6f);
		free(b);
	}
	dsp_stage_del(st);
}

/* ---- delay ------------------------------------------------------------- */

static void
test_delay_shift(void **state)
{
	const double v[] = { 10 };	/* 480 samples */
	struct dsp_stage *st = make("delay", 2, v, 1, 0);
	unsigned n = 5000, i;
	float *in = floats(2 * n), *out = floats(2 * n);

	(void)state;
	noise(in, 2 * n, 1, 7);
	/* In odd blocks, so the ring wraps inside some of them. */
	for (i = 0; i < n; i += 333)
		dsp_stage_process(st, in + 2 * i, out + 2 * i,
		    n - i < 333 ? n - i : 333);
	for (i = 0; i < 2 * 480; i++)
		assert_true(out[i] == 0);
	for (i = 2 * 480; i < 2 * n; i++)
		assert_true(out[i] == in[i - 2 * 480]);
	/* 0 ms passes straight through. */
	dsp_stage_del(st);
	st = make("delay", 2, (const double[]){ 0 }, 1, 0);
	dsp_stage_process(st, in, out, n);
	assert_memory_equal(in, out, sizeof(float) * 2 * n);
	dsp_stage_del(st);
	/* The largest, 2 s. */
	st = make("delay", 1, (const double[]){ 2000 }, 1, 0);
	{
		unsigned len = 96000 + 10;
		float *a = floats(len), *b = floats(len);

		a[3] = 1;
		dsp_stage_process(st, a, b, len);
		for (i = 0; i < len; i++)
			assert_true(b[i] == (i == 96003 ? 1.0f : 0.0f));
		free(a);
		free(b);
	}
	free(in);
	free(out);
	dsp_stage_del(st);
}

/* A change crossfades: no jump, and then exactly the new delay. */
static void
test_delay_change(void **state)
{
	const double v[] = { 1 };	/* 48 samples */
	struct dsp_stage *st = make("delay", 1, v, 1, 0);
	unsigned n = 20000, at = 5000, i;
	float *in = floats(n), *out = floats(n);
	double w = 2 * M_PI * 100 / RATE, maxstep = 0, d;

	(void)state;
	for (i = 0; i < n; i++)
		in[i] = (float)(0.5 * sin(w * i));
	dsp_stage_process(st, in, out, at);
	assert_int_equal(dsp_stage_set(st, 0, 5.5), DSP_OK);	/* 264 */
	dsp_stage_process(st, in + at, out + at, 100);
	/* A second change in the middle of the fade waits for it. */
	assert_int_equal(dsp_stage_set(st, 0, 3), DSP_OK);	/* 144 */
	dsp_stage_process(st, in + at + 100, out + at + 100, n - at - 100);
	for (i = 1; i < n; i++) {
		d = fabs((double)out[i] - out[i - 1]);
		if (d > maxstep)
			maxstep = d;
	}
	/* A 100 Hz sine of 0.5 moves at most 0.0066 a sample; a fade
	   between two taps adds at most their difference (< 1) over the
	   fade's 960 samples.  A jump would be ~0.5. */
	assert_true(maxstep < 0.5 * w * 1.05 + 1.0 / 960);
	for (i = at + 3000; i < n; i++)
		assert_true(out[i] == in[i - 144]);
	free(in);
	free(out);
	dsp_stage_del(st);
}

/* ---- limiter ----------------------------------------------------------- */

/* Noise with peaks up to +12 dBFS in bursts. */
static void
loud(float *buf, unsigned frames, unsigned ch)
{
	unsigned i;

	noise(buf, (size_t)frames * ch, 1, 11);
	for (i = 0; i < frames * ch; i++)
		buf[i] *= (i / ch) % 20000 < 3000 ? 4.0f : 0.5f;
}

/* The limiter never lets a sample past its threshold. */
static void
test_limiter_ceiling(void **state)
{
	static const double lookahead[] = { 5, 0, 0.1, 20 };
	double v[] = { -1, 50, 5 }, sum;
	unsigned n = 96000, i, k;
	float *in = floats(n * 2), *buf = floats(n * 2);
	float lim = (float)pow(10, -1 / 20.0), peak;
	struct dsp_stage *st;

	(void)state;
	loud(in, n, 2);
	for (k = 0; k < sizeof(lookahead) / sizeof(lookahead[0]); k++) {
		v[2] = lookahead[k];
		st = make("limiter", 2, v, 3, 0);
		memcpy(buf, in, sizeof(float) * n * 2);
		dsp_stage_process(st, buf, buf, n);
		sum = 0;
		peak = 0;
		for (i = 0; i < n * 2; i++) {
			if (!(fabsf(buf[i]) <= lim))
				fail_msg("lookahead %g ms: |%g| at %u is over "
				    "%g", v[2], buf[i], i, lim);
			peak = fabsf(buf[i]) > peak ? fabsf(buf[i]) : peak;
			sum += (double)buf[i] * buf[i];
		}
		/* It limits rather than silences. */
		assert_true(sqrt(sum / (n * 2)) > 0.1);
		assert_true(peak > lim * 0.99f);
		print_message("# limiter, lookahead %4g ms: peak %.6f, "
		    "threshold %.6f\n", v[2], peak, lim);
		dsp_stage_del(st);
	}
	free(in);
	free(buf);
}

/* Below the threshold it is a pure delay of the lookahead; the delay is
   what dsp_stage_latency() says, and follows a lookahead change. */
static void
test_limiter_latency(void **state)
{
	const double v[] = { -1, 50, 2 };
	struct dsp_stage *st = make("limiter", 2, v, 3, 0);
	unsigned n = 4000, L, i;
	float *in = floats(2 * n), *out = floats(2 * n);

	(void)state;
	L = dsp_stage_latency(st);
	assert_int_equal(L, 96);
	noise(in, 2 * n, 0.5, 5);
	dsp_stage_process(st, in, out, n);
	for (i = 0; i < 2 * n; i++)
		assert_true(out[i] == (i < 2 * L ? 0 : in[i - 2 * L]));
	assert_int_equal(dsp_stage_set(st, 2, 10), DSP_OK);
	assert_int_equal(dsp_stage_latency(st), 480);
	assert_int_equal(dsp_stage_set(st, 2, 21), DSP_ERANGE);
	assert_int_equal(dsp_stage_latency(st), 480);
	dsp_stage_del(st);
	/* Other types add none. */
	st = make("lowpass", 1, NULL, 0, 0);
	assert_int_equal(dsp_stage_latency(st), 0);
	dsp_stage_del(st);
	free(in);
	free(out);
}

/* Parameter changes keep the ceiling: each sample is held under the
   threshold it came in with, and a lookahead change on the way. */
static void
test_limiter_changes_keep_the_ceiling(void **state)
{
	const double v[] = { -1, 20, 5 };
	struct dsp_stage *st = make("limiter", 2, v, 3, 0);
	unsigned n = 96000, i, block = 256;
	float *buf = floats(n * 2), hi = (float)pow(10, -1 / 20.0);
	float lo = (float)pow(10, -12 / 20.0);
	double thr = -1;

	(void)state;
	loud(buf, n, 2);
	for (i = 0; i < n; i += block) {
		if (i == 10240)
			assert_int_equal(dsp_stage_set(st, 0, thr = -12),
			    DSP_OK);
		if (i == 30720)
			assert_int_equal(dsp_stage_set(st, 2, 1), DSP_OK);
		if (i == 51200)
			assert_int_equal(dsp_stage_set(st, 0, thr = -1),
			    DSP_OK);
		if (i == 71680)
			assert_int_equal(dsp_stage_set(st, 1, 500), DSP_OK);
		dsp_stage_process(st, buf + 2 * i, buf + 2 * i, block);
	}
	(void)thr;
	for (i = 0; i < n * 2; i++) {
		assert_true(fabsf(buf[i]) <= hi);
		/* Well after the cut and before the raise: the new one. */
		if (i / 2 >= 10240 + 2000 && i / 2 < 51200)
			assert_true(fabsf(buf[i]) <= lo);
	}
	dsp_stage_del(st);
	free(buf);
}

/*
 * At rest the limiter takes a shorter loop (dsp/dynamics.c); it must give
 * bit for bit what the full loop gives (TIDEPOOL_DSP_PLAIN), across
 * bursts, the recoveries after them, a threshold glide, release and
 * lookahead changes, in blocks of random sizes, on two of three channels.
 */
static void
test_limiter_rest_matches_steps(void **state)
{
	enum { N = 240000, CH = 3 };
	const double v[] = { -1, 5, 5 };
	struct dsp_stage *st[2];
	float *in = floats((size_t)N * CH), *out[2];
	unsigned i, n, f, k;
	uint64_t r = 7;

	(void)state;
	noise(in, (size_t)N * CH, 0.5, 3);
	/* 2000-frame bursts to +6 dBFS, 38000 quiet frames after each:
	   long enough for the gain to settle and the shortcut to run. */
	for (i = 0; i < N * CH; i++)
		if ((i / CH) % 40000 >= 20000 && (i / CH) % 40000 < 22000)
			in[i] *= 4;
	setenv("TIDEPOOL_DSP_PLAIN", "1", 1);
	st[0] = make("limiter", CH, v, 3, 0x5);
	unsetenv("TIDEPOOL_DSP_PLAIN");
	st[1] = make("limiter", CH, v, 3, 0x5);
	for (f = 0; f < 2; f++)
		out[f] = floats((size_t)N * CH);
	for (i = 0, k = 0; i < N; i += n) {
		r = r * 6364136223846793005ull + 1;
		n = 1 + (unsigned)(r >> 33) % 700;
		if (i + n > N)
			n = N - i;
		/* Changes at the first block boundary past each mark. */
		for (f = 0; f < 2; f++) {
			if (k == 0 && i >= 90000)
				assert_int_equal(dsp_stage_set(st[f], 0, -6),
				    DSP_OK);
			if (k == 1 && i >= 130000)
				assert_int_equal(dsp_stage_set(st[f], 1, 1),
				    DSP_OK);
			if (k == 2 && i >= 170000)
				assert_int_equal(dsp_stage_set(st[f], 2, 2),
				    DSP_OK);
			dsp_stage_process(st[f], in + (size_t)i * CH,
			    out[f] + (size_t)i * CH, n);
		}
		if ((k == 0 && i >= 90000) || (k == 1 && i >= 130000) ||
		    (k == 2 && i >= 170000))
			k++;
	}
	for (i = 0; i < N * CH; i++)
		if (memcmp(&out[0][i], &out[1][i], sizeof(float)) != 0)
			fail_msg("frame %u channel %u: %.9g sample by sample, "
			    "%.9g with the shortcut", i / CH, i % CH,
			    out[0][i], out[1][i]);
	for (f = 0; f < 2; f++) {
		dsp_stage_del(st[f]);
		free(out[f]);
	}
	free(in);
}

/* ---- compressor -------------------------------------------------------- */

/* The static curve with threshold t, ratio r, knee w: output level for
   input level x, in dB (Giannoulis, Massberg and Reiss, 2012). */
static double
curve(double x, double t, double r, double w)
{
	if (2 * (x - t) < -w)
		return x;
	if (2 * fabs(x - t) <= w)
		return x + (1 / r - 1) * (x - t + w / 2) * (x - t + w / 2) /
		    (2 * w);
	return t + (x - t) / r;
}

/* The settled output level in dB for a steady input at in_db. */
static double
settled_db(const double *v, double in_db)
{
	struct dsp_stage *st = make("compressor", 1, v, 6, 0);
	unsigned n = 48000, i;
	float *buf = floats(n);
	double out;

	for (i = 0; i < n; i++)
		buf[i] = (float)((i & 1 ? 1 : -1) * pow(10, in_db / 20));
	dsp_stage_process(st, buf, buf, n);
	out = 20 * log10(fabsf(buf[n - 1]));
	free(buf);
	dsp_stage_del(st);
	return out;
}

static void
test_compressor_curve(void **state)
{
	/* threshold -20, ratio 4, attack 1 ms, release 50 ms, knee, makeup */
	double v[] = { -20, 4, 1, 50, 0, 0 };
	static const double levels[] = { -40, -26, -22, -20, -18, -14, -10,
	    -3 };
	static const double knees[] = { 0, 6, 12 };
	unsigned i, k;
	double got, want, worst = 0;

	(void)state;
	for (k = 0; k < sizeof(knees) / sizeof(knees[0]); k++)
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			v[4] = knees[k];
			v[5] = k == 2 ? 5 : 0;
			got = settled_db(v, levels[i]);
			want = curve(levels[i], v[0], v[1], v[4]) + v[5];
			if (fabs(got - want) > worst)
				worst = fabs(got - want);
			if (fabs(got - want) > 0.001)
				fail_msg("knee %g, makeup %g: %g dB in gives "
				    "%g dB out, not %g", v[4], v[5],
				    levels[i], got, want);
		}
	/* 10 dB over the threshold comes out 2.5 dB over it. */
	v[4] = 0;
	v[5] = 0;
	assert_true(fabs(settled_db(v, -10) - -17.5) < 0.001);
	print_message("# compressor static curve within %.2g dB at %zu "
	    "points\n", worst, sizeof(levels) / sizeof(levels[0]) *
	    sizeof(knees) / sizeof(knees[0]));
}

/* Attack is fast, release slow, as set. */
static void
test_compressor_timing(void **state)
{
	const double v[] = { -20, 10, 1, 200, 0, 0 };
	struct dsp_stage *st = make("compressor", 1, v, 6, 0);
	unsigned n = 24000 + 120000, i;
	float *buf = floats(n);

	(void)state;
	for (i = 0; i < n; i++)
		buf[i] = i < 24000 ? 1.0f : 0.01f;
	dsp_stage_process(st, buf, buf, n);
	/* 10 ms into the loud part (10 attack times): settled at -18 dB
	   (0 dB in, 20 over a -20 threshold at 10:1); 5 ms into the quiet
	   part (1/40 of the release): still pulling it down by nearly as
	   much; 12 release times on: recovered. */
	assert_true(fabs(20 * log10(buf[480]) - -18) < 0.01);
	assert_true(20 * log10(buf[24000 + 240] / 0.01f) < -17);
	assert_true(fabs(20 * log10(buf[n - 1] / 0.01f)) < 0.01);
	free(buf);
	dsp_stage_del(st);
}

/* ---- meters ------------------------------------------------------------ */

static void
test_meter(void **state)
{
	struct dsp_meter m;
	unsigned n = 192000, i, k;	/* 4 s: the 300 ms RMS has settled */
	float *buf = floats(n * 3);

	(void)state;
	dsp_meter_init(&m, 3, RATE);
	assert_int_equal(m.channels, 3);
	for (i = 0; i < n; i++) {
		buf[3 * i] = (float)(0.5 * sin(2 * M_PI * 1000 * i / RATE));
		buf[3 * i + 1] = 0;
		buf[3 * i + 2] = i & 1 ? 0.25f : -0.25f;
	}
	buf[3 * 100 + 1] = 1.0f;	/* clipped: |x| >= 1 */
	buf[3 * 200 + 1] = -1.5f;	/* and another */
	buf[3 * 300 + 1] = 0.999f;	/* not */
	buf[3 * 400 + 1] = NAN;		/* worse than clipped */
	/* In odd blocks: the measures do not depend on them. */
	for (i = 0; i < n; i += k) {
		k = (i / 1000) % 2 ? 777 : 1234;
		if (k > n - i)
			k = n - i;
		dsp_meter_run(&m, buf + 3 * i, k);
	}
	assert_true(fabsf(m.peak[0] - 0.5f) < 1e-4f);
	assert_true(fabsf(dsp_meter_rms(&m, 0) - 0.5f / sqrtf(2)) < 1e-3f);
	assert_true(m.peak[1] == 1.5f);
	assert_true(m.peak[2] == 0.25f);
	assert_true(fabsf(dsp_meter_rms(&m, 2) - 0.25f) < 1e-5f);
	assert_int_equal(m.clipped[0], 0);
	assert_int_equal(m.clipped[1], 3);
	assert_int_equal(m.clipped[2], 0);
	assert_int_equal(m.frames, n);
	assert_true(dsp_meter_rms(&m, 3) == 0);
	dsp_meter_reset(&m);
	assert_true(m.peak[0] == 0 && m.clipped[1] == 0 && m.ms[1] == 0);
	assert_true(dsp_meter_rms(&m, 1) == 0);
	assert_int_equal(m.channels, 3);
	free(buf);
}

/* The RMS follows a level change with a 300 ms time constant. */
static void
test_meter_time_constant(void **state)
{
	struct dsp_meter m;
	unsigned n = (unsigned)(RATE * DSP_METER_RMS_MS / 1000), i;
	float *buf = floats(n);
	double ms;

	(void)state;
	dsp_meter_init(&m, 1, RATE);
	for (i = 0; i < n; i++)
		buf[i] = i & 1 ? 1.0f : -1.0f;
	dsp_meter_run(&m, buf, n);
	/* One time constant of a step from 0 to 1: 1 - 1/e of it. */
	ms = m.ms[0];
	assert_true(fabs(ms - (1 - exp(-1))) < 0.01);
	free(buf);
}

/* The meter stage passes audio and measures it. */
static void
test_meter_stage(void **state)
{
	struct dsp_stage *st = make("meter", 2, NULL, 0, 0);
	struct dsp_stage *g = make("gain", 2, NULL, 0, 0);
	float in[200], out[200];
	const struct dsp_meter *m;

	(void)state;
	noise(in, 200, 0.8, 9);
	in[51] = -2;
	dsp_stage_process(st, in, out, 100);
	assert_memory_equal(in, out, sizeof(in));
	m = dsp_stage_meter(st);
	assert_non_null(m);
	assert_true(m->peak[1] == 2);
	assert_int_equal(m->clipped[1], 1);
	assert_null(dsp_stage_meter(g));
	dsp_stage_reset(st);
	assert_true(m->peak[1] == 0);
	dsp_stage_del(st);
	dsp_stage_del(g);
}

/* ---- the registry and ranges ------------------------------------------- */

static void
test_types(void **state)
{
	static const char *const names[] = {
		"gain", "lowpass", "highpass", "bandpass", "notch", "allpass",
		"peaking", "lowshelf", "highshelf", "delay", "limiter",
		"compressor", "mixer", "meter", "burn", "convolver"
	};
	const struct dsp_type *t;
	unsigned i, p, n = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		t = dsp_type_find(names[i]);
		assert_non_null(t);
		assert_true(dsp_type_at(i) == t);
	}
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		assert_true(t->nparams <= DSP_MAX_PARAMS);
		assert_non_null(t->summary);
		for (p = 0; p < t->nparams; p++) {
			assert_int_equal(dsp_param_index(t,
			    t->params[p].name), (int)p);
			assert_int_equal(dsp_param_check(t, p, RATE,
			    t->params[p].def), DSP_OK);
		}
		n++;
	}
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	assert_non_null(strstr(dsp_type_find("burn")->summary, "TEST ONLY"));
	assert_null(dsp_type_find("reverb"));
	assert_null(dsp_type_find(NULL));
	assert_null(dsp_type_at(n));
	assert_string_equal(dsp_strerror(DSP_ERANGE), "value out of range");
	assert_string_equal(dsp_strerror(99), "unknown error");
}

static void
test_ranges(void **state)
{
	const double v[] = { 1000, 0.707 };
	struct dsp_stage *st = make("highpass", 2, v, 2, 0);
	struct dsp_stage *g = make("gain", 1, NULL, 0, 0);
	const struct dsp_type *t = dsp_stage_type(st);

	(void)state;
	assert_int_equal(dsp_stage_set(st, 0, 30000), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 0, 24000), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 0, 0.5), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 0, NAN), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 1, 0), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 1, 41), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 7, 1), DSP_EINVAL);
	assert_true(dsp_stage_get(st, 0) == 1000);
	assert_true(isnan(dsp_stage_get(st, 7)));
	assert_int_equal(dsp_stage_set(st, 0, 23999), DSP_OK);
	assert_true(dsp_stage_get(st, 0) == 23999);
	assert_int_equal(dsp_stage_set(st, 1, 40), DSP_OK);
	assert_int_equal(dsp_param_index(t, "q"), 1);
	assert_int_equal(dsp_param_index(t, "gain"), -1);
	/* Booleans are 0 or 1. */
	assert_int_equal(dsp_stage_set(g, 1, 0.5), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(g, 1, 1), DSP_OK);
	assert_int_equal(dsp_stage_set(g, 0, -121), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(g, 0, 24), DSP_OK);
	dsp_stage_del(st);
	dsp_stage_del(g);
}

/* A bad setup is refused with a message saying what and which value. */
static void
test_setup_errors(void **state)
{
	const struct dsp_type *t = dsp_type_find("lowpass");
	struct dsp_setup s;
	char err[256];

	(void)state;
	dsp_setup_init(&s, t, RATE, 2, 64);
	s.values[0] = 30000;
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	assert_non_null(strstr(err, "freq = 30000"));
	assert_non_null(strstr(err, "24000"));
	dsp_setup_init(&s, t, RATE, 2, 64);
	s.channel_mask = 0x4;
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	assert_non_null(strstr(err, "channels"));
	dsp_setup_init(&s, t, RATE, 0, 64);
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	dsp_setup_init(&s, t, RATE, 33, 64);
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	dsp_setup_init(&s, t, 0, 2, 64);
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	dsp_setup_init(&s, t, RATE, 2, 0);
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
	assert_null(dsp_stage_new(NULL, &s, err, sizeof(err)));
	/* No room for a message is fine too. */
	assert_null(dsp_stage_new(t, &s, NULL, 0));
}

/* ---- denormals --------------------------------------------------------- */

struct tail {
	int flush;		/* call dsp_flush_denormals() first */
	int flushed;		/* what dsp_denormals_flushed() said */
	unsigned subnormal;	/* subnormal outputs seen */
	double ns;		/* per sample, for the quiet tail */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * A resonant lowpass rings down from one impulse for 10 s of silence: its
 * output decays through the float subnormal range (and its double state
 * further on).  Counts subnormal outputs and times the tail.
 */
static void *
ring_down(void *arg)
{
	struct tail *r = arg;
	const double v[] = { 50, 0.6 };
	struct dsp_stage *st;
	unsigned n = 480000, i;
	float *buf = floats(n);
	double t0;

	if (r->flush)
		dsp_flush_denormals();
	r->flushed = dsp_denormals_flushed();
	st = make("lowpass", 1, v, 2, 0);
	buf[0] = 1;
	t0 = now();
	dsp_stage_process(st, buf, buf, n);
	r->ns = (now() - t0) * 1e9 / n;
	for (i = 0; i < n; i++)
		r->subnormal += fpclassify(buf[i]) == FP_SUBNORMAL;
	dsp_stage_del(st);
	free(buf);
	return NULL;
}

/* FTZ/DAZ are per thread: each run on a thread of its own. */
static void
test_denormals(void **state)
{
	struct tail off, on;
	pthread_t th;

	(void)state;
	memset(&off, 0, sizeof(off));
	memset(&on, 0, sizeof(on));
	on.flush = 1;
	pthread_create(&th, NULL, ring_down, &off);
	pthread_join(th, NULL);
	pthread_create(&th, NULL, ring_down, &on);
	pthread_join(th, NULL);
	print_message("# decaying tail: %u subnormal outputs, %.1f ns a "
	    "sample without flushing; %u, %.1f ns with\n", off.subnormal,
	    off.ns, on.subnormal, on.ns);
	/* Without flushing the tail does go subnormal: the test can
	   fail ... */
	assert_false(off.flushed);
	assert_true(off.subnormal > 0);
	/* ... and with it, it never does. */
	assert_true(on.flushed);
	assert_int_equal(on.subnormal, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gain_starts_at_its_value),
		cmocka_unit_test(test_gain_smoothing),
		cmocka_unit_test(test_mixer_two_to_four),
		cmocka_unit_test(test_mixer_in_place),
		cmocka_unit_test(test_delay_shift),
		cmocka_unit_test(test_delay_change),
		cmocka_unit_test(test_limiter_ceiling),
		cmocka_unit_test(test_limiter_latency),
		cmocka_unit_test(test_limiter_changes_keep_the_ceiling),
		cmocka_unit_test(test_limiter_rest_matches_steps),
		cmocka_unit_test(test_compressor_curve),
		cmocka_unit_test(test_compressor_timing),
		cmocka_unit_test(test_meter),
		cmocka_unit_test(test_meter_time_constant),
		cmocka_unit_test(test_meter_stage),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_denormals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
