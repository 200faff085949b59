/*
 * Unit tests of the chain (dsp/chain.c): building it (channel checks,
 * names, ownership), running it (the result is the stages run one after
 * another by hand, in place or not, through a mixer that changes the
 * channel count), per-stage timings and reset, and the guard that keeps
 * NaN and infinity out of every stage.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/chain.h"
#include "dsp/dsp.h"
#include "tests/noise.h"

#define RATE 48000.0
#define BLOCK 256

static struct dsp_stage *
make(const char *type, unsigned channels, double v0, double v1)
{
	const struct dsp_type *t = dsp_type_find(type);
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];

	assert_non_null(t);
	dsp_setup_init(&s, t, RATE, channels, BLOCK);
	if (t->nparams > 0)
		s.values[0] = v0;
	if (t->nparams > 1)
		s.values[1] = v1;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static struct dsp_stage *
make_mixer(unsigned in, unsigned out, const float *m)
{
	const struct dsp_type *t = dsp_type_find("mixer");
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];

	dsp_setup_init(&s, t, RATE, in, BLOCK);
	s.out_channels = out;
	s.matrix = m;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static void
test_empty_chain_copies(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	float in[2 * BLOCK], out[2 * BLOCK];

	(void)state;
	assert_non_null(c);
	assert_int_equal(dsp_chain_in_channels(c), 2);
	assert_int_equal(dsp_chain_out_channels(c), 2);
	assert_int_equal(dsp_chain_length(c), 0);
	noise(in, 2 * BLOCK, 1);
	dsp_chain_process(c, in, out, BLOCK, NULL);
	assert_memory_equal(in, out, sizeof(in));
	dsp_chain_process(c, in, in, BLOCK, NULL);
	assert_memory_equal(in, out, sizeof(in));
	assert_null(dsp_chain_stage(c, 0));
	assert_null(dsp_chain_stage_name(c, 0));
	dsp_chain_del(c);
	/* Sizes it cannot take. */
	assert_null(dsp_chain_new(0, BLOCK, RATE));
	assert_null(dsp_chain_new(33, BLOCK, RATE));
	assert_null(dsp_chain_new(2, 0, RATE));
	dsp_chain_del(NULL);
}

static void
test_append_checks(void **state)
{
	static const float up[] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	struct dsp_stage *st;
	const struct dsp_type *t = dsp_type_find("gain");
	struct dsp_setup s;
	char err[256];

	(void)state;
	/* A stage for 4 channels does not fit a 2-channel chain; the
	   caller keeps it. */
	st = make("gain", 4, -6, 0);
	assert_int_equal(dsp_chain_append(c, st, "wide"), DSP_ECHANNELS);
	assert_int_equal(dsp_chain_length(c), 0);
	dsp_stage_del(st);
	/* Nor one made for another rate or for smaller blocks. */
	dsp_setup_init(&s, t, 44100, 2, BLOCK);
	st = dsp_stage_new(t, &s, err, sizeof(err));
	assert_int_equal(dsp_chain_append(c, st, "rate"), DSP_EINVAL);
	dsp_stage_del(st);
	dsp_setup_init(&s, t, RATE, 2, BLOCK / 2);
	st = dsp_stage_new(t, &s, err, sizeof(err));
	assert_int_equal(dsp_chain_append(c, st, "small"), DSP_EINVAL);
	dsp_stage_del(st);
	assert_int_equal(dsp_chain_append(c, NULL, "none"), DSP_EINVAL);
	/* After a 2 -> 4 mixer, the chain gives 4. */
	assert_int_equal(dsp_chain_append(c, make_mixer(2, 4, up), "split"),
	    DSP_OK);
	assert_int_equal(dsp_chain_out_channels(c), 4);
	st = make("gain", 2, 0, 0);
	assert_int_equal(dsp_chain_append(c, st, "two"), DSP_ECHANNELS);
	dsp_stage_del(st);
	assert_int_equal(dsp_chain_append(c, make("gain", 4, 0, 0), NULL),
	    DSP_OK);
	assert_string_equal(dsp_chain_stage_name(c, 1), "");
	assert_int_equal(dsp_chain_find(c, "split"), 0);
	assert_int_equal(dsp_chain_find(c, "nope"), -1);
	assert_int_equal(dsp_chain_find(c, NULL), -1);
	dsp_chain_del(c);
}

/*
 * gain, highpass, a 2 -> 4 mixer, a lowpass on channels 2 and 3, a 4 -> 2
 * mixer, a meter: the chain's output is the stages run by hand, whether
 * out is in or not, in blocks of any size up to the largest.
 */
static void
test_chain_is_its_stages(void **state)
{
	static const float up[] = { 1, 0, 0, 1, 1, 0, 0, 1 };
	static const float down[] = { 1, 0, 1, 0, 0, 1, 0, 1 };
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	struct dsp_stage *s[6], *h[6];
	unsigned n = 5000, i, k, len;
	float *in = malloc(sizeof(float) * 2 * n), *a = malloc(sizeof(float) *
	    2 * n), *b = malloc(sizeof(float) * 2 * n);
	float t1[4 * BLOCK], t2[4 * BLOCK];
	uint32_t ns[6];
	const struct dsp_type *lp = dsp_type_find("lowpass");
	struct dsp_setup setup;
	char err[256];

	(void)state;
	noise(in, 2 * n, 5);
	for (k = 0; k < 2; k++) {
		struct dsp_stage **v = k == 0 ? s : h;

		v[0] = make("gain", 2, -3, 0);
		v[1] = make("highpass", 2, 200, 0.707);
		v[2] = make_mixer(2, 4, up);
		dsp_setup_init(&setup, lp, RATE, 4, BLOCK);
		setup.values[0] = 3000;
		setup.channel_mask = 0xc;
		v[3] = dsp_stage_new(lp, &setup, err, sizeof(err));
		assert_non_null(v[3]);
		v[4] = make_mixer(4, 2, down);
		v[5] = make("meter", 2, 0, 0);
	}
	for (k = 0; k < 6; k++)
		assert_int_equal(dsp_chain_append(c, s[k], "s"), DSP_OK);
	assert_int_equal(dsp_chain_length(c), 6);
	assert_true(dsp_chain_stage(c, 3) == s[3]);
	for (i = 0; i < n; i += len) {
		len = 1 + (i * 7919) % BLOCK;
		if (len > n - i)
			len = n - i;
		dsp_chain_process(c, in + 2 * i, a + 2 * i, len, ns);
		dsp_stage_process(h[0], in + 2 * i, t1, len);
		dsp_stage_process(h[1], t1, t1, len);
		dsp_stage_process(h[2], t1, t2, len);
		dsp_stage_process(h[3], t2, t2, len);
		dsp_stage_process(h[4], t2, t1, len);
		dsp_stage_process(h[5], t1, b + 2 * i, len);
	}
	assert_memory_equal(a, b, sizeof(float) * 2 * n);
	assert_true(dsp_stage_meter(s[5])->peak[0] ==
	    dsp_stage_meter(h[5])->peak[0]);
	/* The same again in place, after a reset of both. */
	dsp_chain_reset(c);
	for (k = 0; k < 6; k++)
		dsp_stage_reset(h[k]);
	memcpy(a, in, sizeof(float) * 2 * n);
	for (i = 0; i < n; i += BLOCK)
		dsp_chain_process(c, a + 2 * i, a + 2 * i,
		    n - i < BLOCK ? n - i : BLOCK, NULL);
	assert_memory_equal(a, b, sizeof(float) * 2 * n);
	for (k = 0; k < 6; k++)
		dsp_stage_del(h[k]);
	dsp_chain_del(c);
	free(in);
	free(a);
	free(b);
}

/* Each stage's time lands in its own slot. */
static void
test_stage_times(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	float buf[2 * BLOCK];
	uint32_t ns[3] = { 0, 0, 0 };

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(dsp_chain_append(c, make("gain", 2, -6, 0), "a"),
	    DSP_OK);
	/* burn: load 2 spins for twice the block's duration, 10.7 ms. */
	assert_int_equal(dsp_chain_append(c, make("burn", 2, 2, 0), "b"),
	    DSP_OK);
	assert_int_equal(dsp_chain_append(c, make("gain", 2, -6, 0), "c"),
	    DSP_OK);
	dsp_chain_process(c, buf, buf, BLOCK, ns);
	print_message("# stage times: %u, %u, %u ns\n", ns[0], ns[1], ns[2]);
	assert_true(ns[1] >= 2 * BLOCK / RATE * 1e9);
	assert_true(ns[0] < ns[1] && ns[2] < ns[1]);
	dsp_chain_del(c);
}

/*
 * NaN and infinity in the input become 0 before the first stage: the
 * output is the chain run on the input with zeros in their place, bit for
 * bit, the three are counted, and in is left as it was.  An empty chain
 * cleans too.
 */
static void
test_nonfinite_input(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	struct dsp_chain *ref = dsp_chain_new(2, BLOCK, RATE);
	struct dsp_chain *empty = dsp_chain_new(2, BLOCK, RATE);
	float in[2 * BLOCK], zeroed[2 * BLOCK], a[2 * BLOCK], b[2 * BLOCK];
	unsigned i, k;

	(void)state;
	assert_int_equal(dsp_chain_append(c, make("highpass", 2, 80, 0.707),
	    "hp"), DSP_OK);
	assert_int_equal(dsp_chain_append(ref, make("highpass", 2, 80,
	    0.707), "hp"), DSP_OK);
	for (k = 0; k < 3; k++) {
		noise(in, 2 * BLOCK, 7 + k);
		memcpy(zeroed, in, sizeof(in));
		if (k == 1) {
			in[2 * 100] = NAN;
			in[2 * 200 + 1] = INFINITY;
			in[2 * 201] = -INFINITY;
			zeroed[2 * 100] = zeroed[2 * 200 + 1] = 0;
			zeroed[2 * 201] = 0;
		}
		assert_int_equal(dsp_chain_process(c, in, a, BLOCK, NULL),
		    k == 1 ? 3 : 0);
		assert_int_equal(dsp_chain_process(ref, zeroed, b, BLOCK,
		    NULL), 0);
		assert_memory_equal(a, b, sizeof(a));
		for (i = 0; i < 2 * BLOCK; i++)
			assert_true(isfinite(a[i]));
	}
	in[2 * 100] = NAN;
	in[2 * 200 + 1] = INFINITY;
	in[2 * 201] = -INFINITY;
	zeroed[2 * 100] = zeroed[2 * 200 + 1] = zeroed[2 * 201] = 0;
	assert_int_equal(dsp_chain_process(c, in, a, BLOCK, NULL), 3);
	assert_true(isnan(in[2 * 100]));
	assert_int_equal(dsp_chain_process(empty, in, a, BLOCK, NULL), 3);
	assert_memory_equal(a, zeroed, sizeof(a));
	/* In place too. */
	assert_int_equal(dsp_chain_process(empty, in, in, BLOCK, NULL), 3);
	assert_memory_equal(in, zeroed, sizeof(in));
	dsp_chain_del(c);
	dsp_chain_del(ref);
	dsp_chain_del(empty);
}

/*
 * A stage that makes infinity from a finite sample (+24 dB on 3e38):
 * the sample becomes 0 and is counted, and the next stage never sees it.
 * A stage whose output went non-finite is reset: a lowshelf at +24 dB
 * fed a block of 3e38 keeps 3e38 x 16 in its (double) state, which without the reset rings on
 * for many blocks at levels far beyond any float.
 */
static void
test_nonfinite_from_stage(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);
	const struct dsp_type *ls = dsp_type_find("lowshelf");
	struct dsp_setup setup;
	struct dsp_stage *shelf;
	float in[2 * BLOCK], out[2 * BLOCK];
	char err[256];
	unsigned i, k;

	(void)state;
	assert_int_equal(dsp_chain_append(c, make("gain", 2, 24, 0), "g"),
	    DSP_OK);
	assert_int_equal(dsp_chain_append(c, make("highpass", 2, 80, 0.707),
	    "hp"), DSP_OK);
	noise(in, 2 * BLOCK, 11);
	in[2 * 50 + 1] = 3e38f;
	assert_int_equal(dsp_chain_process(c, in, out, BLOCK, NULL), 1);
	for (i = 0; i < 2 * BLOCK; i++)
		assert_true(isfinite(out[i]) && fabsf(out[i]) < 100);
	dsp_chain_del(c);

	c = dsp_chain_new(2, BLOCK, RATE);
	dsp_setup_init(&setup, ls, RATE, 2, BLOCK);
	setup.values[0] = 100;
	setup.values[1] = 0.707;
	setup.values[2] = 24;
	shelf = dsp_stage_new(ls, &setup, err, sizeof(err));
	if (shelf == NULL)
		fail_msg("%s", err);
	assert_int_equal(dsp_chain_append(c, shelf, "shelf"), DSP_OK);
	noise(in, 2 * BLOCK, 12);
	for (i = 0; i < BLOCK; i++)
		in[2 * i] = 3e38f;
	assert_true(dsp_chain_process(c, in, out, BLOCK, NULL) > 0);
	for (k = 0; k < 4; k++) {
		noise(in, 2 * BLOCK, 13 + k);
		assert_int_equal(dsp_chain_process(c, in, out, BLOCK, NULL),
		    0);
		for (i = 0; i < 2 * BLOCK; i++)
			if (!(fabsf(out[i]) < 100))
				fail_msg("block %u after the bad one, sample "
				    "%u: %g (the shelf was not reset)", k + 1,
				    i, (double)out[i]);
	}
	dsp_chain_del(c);
}

/*
 * What a new chain must hear before it is faded in (the engine's reload
 * warm-up): a limiter's lookahead (5 ms by default, 240 frames) and a
 * delay's line (10.5 ms, 504 frames); a gain remembers nothing.
 */
static void
test_memory_counts_lookahead_and_delay(void **state)
{
	struct dsp_chain *c = dsp_chain_new(2, BLOCK, RATE);

	(void)state;
	assert_non_null(c);
	assert_int_equal(dsp_chain_memory(c), 0);
	assert_int_equal(dsp_chain_append(c, make("gain", 2, -3, 0), "g"),
	    DSP_OK);
	assert_int_equal(dsp_chain_memory(c), 0);
	assert_int_equal(dsp_chain_append(c, make("limiter", 2, -1, 50),
	    "l"), DSP_OK);
	assert_int_equal(dsp_chain_memory(c), 240);
	assert_int_equal(dsp_chain_append(c, make("delay", 2, 10.5, 0),
	    "d"), DSP_OK);
	assert_int_equal(dsp_chain_memory(c), 240 + 504);
	dsp_chain_del(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_chain_copies),
		cmocka_unit_test(test_append_checks),
		cmocka_unit_test(test_chain_is_its_stages),
		cmocka_unit_test(test_stage_times),
		cmocka_unit_test(test_nonfinite_input),
		cmocka_unit_test(test_nonfinite_from_stage),
		cmocka_unit_test(test_memory_counts_lookahead_and_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
