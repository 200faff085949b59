/*
 * What each processor does: biquad responses at the points the RBJ
 * formulas fix, gain smoothing, channel masks, the mixer, the delay's
 * exact shift, the limiter's ceiling, the compressor's static curve,
 * meters, the chain's channel checks, parameter ranges and denormals.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/chain.h"
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
	memset(&s, 0, sizeof(s));
	s.rate = RATE;
	s.channels = channels;
	s.max_frames = 1 << 16;
	s.channel_mask = mask;
	for (i = 0; i < t->nparams; i++)
		s.values[i] = i < nv ? v[i] : t->params[i].def;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

/* Steady-state gain in dB of a mono stage for a sine at freq. */
static double
response_db(const char *type, double freq, double f0, double q, double g)
{
	const double v[] = { f0, q, g };
	struct dsp_stage *st = make(type, 1, v, 3, 0);
	unsigned n = 48000, i;
	float *buf = malloc(sizeof(float) * n);
	double peak = 0;

	for (i = 0; i < n; i++)
		buf[i] = (float)(0.5 * sin(2 * M_PI * freq * i / RATE));
	dsp_stage_process(st, buf, buf, n);
	for (i = n / 2; i < n; i++)	/* after the transient */
		if (fabs(buf[i]) > peak)
			peak = fabs(buf[i]);
	free(buf);
	dsp_stage_del(st);
	return 20 * log10(peak / 0.5);
}

static void
test_biquad_responses(void **state)
{
	(void)state;
	/* Q = 1/sqrt(2): -3.01 dB at the corner. */
	assert_true(fabs(response_db("lowpass", 1000, 1000, M_SQRT1_2, 0) +
	    3.01) < 0.05);
	assert_true(fabs(response_db("highpass", 1000, 1000, M_SQRT1_2, 0) +
	    3.01) < 0.05);
	assert_true(response_db("lowpass", 100, 1000, M_SQRT1_2, 0) > -0.05);
	assert_true(response_db("lowpass", 10000, 1000, M_SQRT1_2, 0) < -38);
	assert_true(response_db("highpass", 10, 1000, M_SQRT1_2, 0) < -75);
	/* Peaking: exactly its gain at the centre. */
	assert_true(fabs(response_db("peaking", 1000, 1000, 1, -6) + 6) <
	    0.05);
	assert_true(fabs(response_db("peaking", 50, 1000, 1, -6)) < 0.2);
	/* Shelves: their gain far inside the shelf, 0 far outside. */
	assert_true(fabs(response_db("lowshelf", 20, 500, M_SQRT1_2, 6) - 6) <
	    0.1);
	assert_true(fabs(response_db("lowshelf", 10000, 500, M_SQRT1_2, 6)) <
	    0.1);
	assert_true(fabs(response_db("highshelf", 20000, 1000, M_SQRT1_2, -4) +
	    4) < 0.1);
	/* Bandpass: 0 dB at the centre; notch: nothing there. */
	assert_true(fabs(response_db("bandpass", 1000, 1000, 2, 0)) < 0.05);
	assert_true(response_db("notch", 1000, 1000, 2, 0) < -40);
	/* Allpass: 0 dB everywhere. */
	assert_true(fabs(response_db("allpass", 300, 1000, M_SQRT1_2, 0)) <
	    0.05);
	assert_true(fabs(response_db("allpass", 5000, 1000, M_SQRT1_2, 0)) <
	    0.05);
}

/* A gain change glides: no big steps, and it arrives. */
static void
test_gain_smoothing(void **state)
{
	const double v[] = { 0 };
	struct dsp_stage *st = make("gain", 1, v, 1, 0);
	unsigned n = 4800, i;
	float *buf = malloc(sizeof(float) * n);
	double target = pow(10, -20 / 20.0);

	(void)state;
	for (i = 0; i < n; i++)
		buf[i] = 1.0f;
	assert_int_equal(dsp_stage_set(st, 0, -20), DSP_OK);
	dsp_stage_process(st, buf, buf, n);
	for (i = 1; i < n; i++) {
		/* The ramp lasts DSP_RAMP_MS: 960 samples at 48 kHz. */
		assert_true(buf[i] <= buf[i - 1]);
		assert_true(buf[i - 1] - buf[i] < (1 - target) / 900);
	}
	assert_true(buf[0] > 0.99f);
	assert_true(fabsf(buf[n - 1] - (float)target) < 1e-6f);
	assert_true(fabsf(buf[2000] - (float)target) < 1e-6f);
	/* Mute, then the value read back is the target. */
	assert_int_equal(dsp_stage_set(st, 1, 1), DSP_OK);
	assert_true(dsp_stage_get(st, 1) == 1);
	dsp_stage_process(st, buf, buf, n);
	assert_true(buf[n - 1] == 0.0f);
	free(buf);
	dsp_stage_del(st);
}

/* Channels outside the mask pass bit for bit. */
static void
test_channel_mask(void **state)
{
	const double v[] = { 2000, 0.707 };
	struct dsp_stage *st = make("highpass", 4, v, 2, 0xa); /* 1 and 3 */
	unsigned n = 1000, i;
	float *in = malloc(sizeof(float) * n * 4);
	float *out = malloc(sizeof(float) * n * 4);

	(void)state;
	for (i = 0; i < n * 4; i++)
		in[i] = (float)sin(i * 0.01);
	dsp_stage_process(st, in, out, n);
	for (i = 0; i < n; i++) {
		assert_true(out[i * 4 + 0] == in[i * 4 + 0]);
		assert_true(out[i * 4 + 2] == in[i * 4 + 2]);
	}
	assert_true(out[500 * 4 + 1] != in[500 * 4 + 1]);
	free(in);
	free(out);
	dsp_stage_del(st);
}

static void
test_mixer_two_to_four(void **state)
{
	static const float m[] = { 1, 0, 0, 1, 0.5f, 0.5f, 0, -1 };
	const struct dsp_type *t = dsp_type_find("mixer");
	struct dsp_setup s;
	struct dsp_stage *st;
	const float in[] = { 0.25f, -0.5f, 1, 1 };
	float out[8];
	char err[128];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.rate = RATE;
	s.channels = 2;
	s.max_frames = 64;
	s.out_channels = 4;
	s.matrix = m;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(dsp_stage_out_channels(st), 4);
	dsp_stage_process(st, in, out, 2);
	assert_true(out[0] == 0.25f && out[1] == -0.5f);
	assert_true(out[2] == -0.125f && out[3] == 0.5f);
	assert_true(out[4] == 1 && out[5] == 1 && out[6] == 1 && out[7] == -1);
	dsp_stage_del(st);
	/* No matrix is an error, not a crash. */
	s.matrix = NULL;
	assert_null(dsp_stage_new(t, &s, err, sizeof(err)));
}

static void
test_delay_shift(void **state)
{
	const double v[] = { 10 };	/* 480 samples */
	struct dsp_stage *st = make("delay", 1, v, 1, 0);
	unsigned n = 2000, i;
	float *in = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);

	(void)state;
	for (i = 0; i < n; i++)
		in[i] = (float)(i + 1);
	dsp_stage_process(st, in, out, n);
	for (i = 0; i < 480; i++)
		assert_true(out[i] == 0);
	for (i = 480; i < n; i++)
		assert_true(out[i] == in[i - 480]);
	free(in);
	free(out);
	dsp_stage_del(st);
}

/* The limiter never lets a sample past its threshold. */
static void
test_limiter_ceiling(void **state)
{
	const double v[] = { -1, 50, 5 };
	struct dsp_stage *st = make("limiter", 2, v, 3, 0);
	unsigned n = 96000, i;
	float *buf = malloc(sizeof(float) * n * 2), lim = (float)pow(10,
	    -1 / 20.0);
	uint64_t x = 1;
	double sum = 0;

	(void)state;
	for (i = 0; i < n * 2; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		/* Noise with peaks up to +12 dBFS, and bursts. */
		buf[i] = (float)(((double)(x >> 11) / 9007199254740992.0 * 2 -
		    1) * (i % 20000 < 3000 ? 4.0 : 0.5));
	}
	dsp_stage_process(st, buf, buf, n);
	for (i = 0; i < n * 2; i++) {
		assert_true(fabsf(buf[i]) <= lim);
		sum += (double)buf[i] * buf[i];
	}
	/* And it limits rather than silences. */
	assert_true(sqrt(sum / (n * 2)) > 0.1);
	free(buf);
	dsp_stage_del(st);
}

/* Compressor on a steady level: threshold -20, ratio 4, no knee. */
static void
test_compressor_curve(void **state)
{
	const double v[] = { -20, 4, 1, 50, 0, 0 };
	struct dsp_stage *st = make("compressor", 1, v, 6, 0);
	unsigned n = 48000, i;
	float *buf = malloc(sizeof(float) * n);
	double in_db = -10, out_db;

	(void)state;
	for (i = 0; i < n; i++)
		buf[i] = (float)pow(10, in_db / 20);
	dsp_stage_process(st, buf, buf, n);
	out_db = 20 * log10(buf[n - 1]);
	/* 10 dB over the threshold comes out 2.5 dB over it. */
	assert_true(fabs(out_db - (-20 + 10 / 4.0)) < 0.01);
	free(buf);
	dsp_stage_del(st);
	/* Below the threshold nothing changes. */
	st = make("compressor", 1, v, 6, 0);
	buf = malloc(sizeof(float) * n);
	for (i = 0; i < n; i++)
		buf[i] = 0.01f;
	dsp_stage_process(st, buf, buf, n);
	assert_true(fabsf(buf[n - 1] - 0.01f) < 1e-6f);
	free(buf);
	dsp_stage_del(st);
}

static void
test_meter(void **state)
{
	struct dsp_meter m;
	unsigned n = 96000, i;	/* 2 s: the 300 ms RMS has settled */
	float *buf = malloc(sizeof(float) * n * 2);

	(void)state;
	dsp_meter_init(&m, 2, RATE);
	for (i = 0; i < n; i++) {
		buf[2 * i] = (float)(0.5 * sin(2 * M_PI * 1000 * i / RATE));
		buf[2 * i + 1] = 0;
	}
	buf[2 * 100 + 1] = 1.0f;	/* one clipped sample */
	buf[2 * 200 + 1] = -1.5f;	/* and another */
	dsp_meter_run(&m, buf, n);
	assert_true(fabsf(m.peak[0] - 0.5f) < 1e-3f);
	assert_true(fabsf(dsp_meter_rms(&m, 0) - 0.35355f) < 0.005f);
	assert_true(m.peak[1] == 1.5f);
	assert_int_equal(m.clipped[0], 0);
	assert_int_equal(m.clipped[1], 2);
	dsp_meter_reset(&m);
	assert_true(m.peak[0] == 0 && m.clipped[1] == 0);
	free(buf);
}

static void
test_chain(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, 256, RATE);
	const double g[] = { -6 };
	float in[512], out[512];
	unsigned i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 512; i++)
		in[i] = 0.5f;
	/* Empty: a copy. */
	dsp_chain_process(c, in, out, 256, NULL);
	assert_memory_equal(in, out, sizeof(in));
	/* A stage for 4 channels does not fit a 2-channel chain. */
	{
		struct dsp_stage *wide = make("gain", 4, g, 1, 0);

		assert_int_equal(dsp_chain_append(c, wide, "wide"),
		    DSP_ECHANNELS);
		dsp_stage_del(wide);
	}
	assert_int_equal(dsp_chain_append(c, make("gain", 2, g, 1, 0), "a"),
	    DSP_OK);
	assert_int_equal(dsp_chain_append(c, make("gain", 2, g, 1, 0), "b"),
	    DSP_OK);
	assert_int_equal(dsp_chain_length(c), 2);
	assert_int_equal(dsp_chain_find(c, "b"), 1);
	assert_int_equal(dsp_chain_find(c, "zz"), -1);
	{
		uint32_t ns[2] = { 0, 0 };

		dsp_chain_process(c, in, out, 256, ns);
		assert_true(ns[0] > 0 && ns[1] > 0);
	}
	assert_true(fabsf(out[100] - 0.5f * (float)pow(10, -12 / 20.0)) <
	    1e-6f);
	/* In place works too. */
	dsp_chain_process(c, in, in, 256, NULL);
	assert_memory_equal(in, out, sizeof(in));
	dsp_chain_del(c);
}

static void
test_ranges(void **state)
{
	const double v[] = { 1000, 0.707 };
	struct dsp_stage *st = make("highpass", 2, v, 2, 0);
	const struct dsp_type *t = dsp_stage_type(st);

	(void)state;
	assert_int_equal(dsp_stage_set(st, 0, 30000), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 0, 24000), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 0, -5), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 1, 0), DSP_ERANGE);
	assert_int_equal(dsp_stage_set(st, 7, 1), DSP_EINVAL);
	assert_true(dsp_stage_get(st, 0) == 1000);
	assert_int_equal(dsp_stage_set(st, 0, 23999), DSP_OK);
	assert_int_equal(dsp_param_index(t, "q"), 1);
	assert_int_equal(dsp_param_index(t, "gain"), -1);
	assert_null(dsp_type_find("reverb"));
	dsp_stage_del(st);
}

static void *
denormal_thread(void *arg)
{
	volatile float tiny = 1e-38f, scale = 1e-3f;
	float *result = arg;

	dsp_flush_denormals();
	result[0] = tiny * scale;	/* a denormal, unless flushed */
	return NULL;
}

/* FTZ/DAZ are per thread: check on a thread of its own. */
static void
test_denormals_flushed(void **state)
{
	volatile float tiny = 1e-38f, scale = 1e-3f;
	float result[1] = { 1 };
	pthread_t th;

	(void)state;
	assert_true(fpclassify(tiny * scale) == FP_SUBNORMAL);
	pthread_create(&th, NULL, denormal_thread, result);
	pthread_join(th, NULL);
	assert_true(result[0] == 0.0f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_biquad_responses),
		cmocka_unit_test(test_gain_smoothing),
		cmocka_unit_test(test_channel_mask),
		cmocka_unit_test(test_mixer_two_to_four),
		cmocka_unit_test(test_delay_shift),
		cmocka_unit_test(test_limiter_ceiling),
		cmocka_unit_test(test_compressor_curve),
		cmocka_unit_test(test_meter),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_denormals_flushed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
