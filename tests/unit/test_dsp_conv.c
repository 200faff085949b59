/*
 * Unit tests of the convolver (dsp/conv.c): it is the convolution (against
 * a direct sum in double), whatever the block sizes (bit for bit), for
 * each channel mapping; the gain glides; bad setups are refused with a
 * message; inside a chain, an input that overflows its transforms
 * (3e38) leaves no infinity behind once the chain has reset it; and
 * background work handed to a runner gives the same bits as work done in
 * process() when the runner keeps up, and is counted late, never waited
 * for, when it does not; unless the caller asked process() to wait for
 * due results (offline), which then gives the inline bits.  With hidden
 * latency (dsp_setup's hidden_latency, as tidepool-render builds it), the
 * same convolution comes the stage's reported latency late, on every
 * channel, acted on or not.
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
#define P 64
#define MAXB 256
#define N 5000

/* make() asks for hidden latency (the render's stages). */
static int hidden;

static struct dsp_stage *
make(const float *ir, unsigned taps, unsigned irch, unsigned ch,
    unsigned norm, char *err, size_t errlen)
{
	const struct dsp_type *t = dsp_type_find("convolver");
	struct dsp_setup s;

	assert_non_null(t);
	dsp_setup_init(&s, t, RATE, ch, MAXB);
	s.hidden_latency = hidden;
	s.ir = ir;
	s.ir_frames = taps;
	s.ir_channels = irch;
	s.partition = P;
	s.normalize = norm;
	return dsp_stage_new(t, &s, err, errlen);
}

/* Runs n frames of ch channels through st in blocks of varying size
   (fixed = 0) or of fixed frames. */
static void
run(struct dsp_stage *st, const float *in, float *out, unsigned ch,
    unsigned fixed)
{
	unsigned i, len;

	for (i = 0; i < N; i += len) {
		len = fixed ? fixed : 1 + (i * 7919u + 13) % MAXB;
		if (len > N - i)
			len = N - i;
		dsp_stage_process(st, in + (size_t)i * ch, out + (size_t)i * ch,
		    len);
	}
}

/* y[o] = sum over paths of x[in] * h[ir], in double. */
static double
direct(const float *x, const float *h, unsigned taps, unsigned irch,
    unsigned ch, unsigned n, unsigned in, unsigned ir)
{
	double y = 0;
	unsigned k;

	for (k = 0; k < taps && k <= n; k++)
		y += (double)h[(size_t)k * irch + ir] *
		    x[(size_t)(n - k) * ch + in];
	return y;
}

static void
check_mapping(unsigned taps, unsigned irch, unsigned ch)
{
	float *h = malloc(sizeof(float) * taps * irch);
	float *x = malloc(sizeof(float) * N * ch);
	float *a = malloc(sizeof(float) * N * ch);
	float *b = malloc(sizeof(float) * N * ch);
	struct dsp_stage *s1, *s2;
	char err[256];
	double want, worst = 0;
	unsigned n, o, d;

	noise(h, (size_t)taps * irch, taps + irch);
	noise(x, (size_t)N * ch, 99);
	s1 = make(h, taps, irch, ch, DSP_CONV_NORM_NONE, err, sizeof(err));
	s2 = make(h, taps, irch, ch, DSP_CONV_NORM_NONE, err, sizeof(err));
	if (s1 == NULL || s2 == NULL)
		fail_msg("%s", err);
	assert_int_equal(dsp_stage_ir_frames(s1), taps);
	d = dsp_stage_latency(s1);
	if (hidden)
		assert_true(d >= 64 && d * 8 >= taps);
	else
		assert_int_equal(d, 0);
	run(s1, x, a, ch, 0);
	run(s2, x, b, ch, P);
	assert_memory_equal(a, b, sizeof(float) * N * ch);
	/* Output frame n + d is the convolution's frame n; the first d are
	   from before the input: silence. */
	for (n = 0; n < d * ch; n++)
		assert_true(a[n] == 0);
	for (n = 0; n + d < N; n++)
		for (o = 0; o < ch; o++) {
			if (irch == 4)
				want = direct(x, h, taps, 4, 2, n, 0, o) +
				    direct(x, h, taps, 4, 2, n, 1, 2 + o);
			else
				want = direct(x, h, taps, irch, ch, n, o,
				    irch == 1 ? 0 : o);
			if (fabs(a[(size_t)(n + d) * ch + o] - want) > worst)
				worst = fabs(a[(size_t)(n + d) * ch + o] - want);
		}
	print_message("# %u taps, %u IR channels on %u, latency %u: largest "
	    "error %g\n", taps, irch, ch, d, worst);
	assert_true(worst < 1e-5);
	dsp_stage_del(s1);
	dsp_stage_del(s2);
	free(h);
	free(x);
	free(a);
	free(b);
}

static void
test_is_the_convolution(void **state)
{
	(void)state;
	check_mapping(1, 1, 2);
	check_mapping(63, 1, 1);
	check_mapping(300, 1, 2);
	check_mapping(300, 2, 2);
	check_mapping(1000, 4, 2);
	check_mapping(129, 3, 3);
}

static void
test_hidden_latency(void **state)
{
	const struct dsp_type *t = dsp_type_find("convolver");
	float h[300], x[N * 2], y[N * 2];
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];
	double worst = 0;
	unsigned n, d;

	(void)state;
	hidden = 1;
	check_mapping(1, 1, 2);
	check_mapping(63, 1, 1);
	check_mapping(300, 2, 2);
	check_mapping(1000, 4, 2);
	check_mapping(129, 3, 3);
	hidden = 0;
	/* Acting on channel 1 only: channel 0 is delayed as much, intact. */
	noise(h, 300, 3);
	noise(x, N * 2, 4);
	dsp_setup_init(&s, t, RATE, 2, MAXB);
	s.hidden_latency = 1;
	s.channel_mask = 2;
	s.ir = h;
	s.ir_frames = 300;
	s.ir_channels = 1;
	s.partition = P;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	d = dsp_stage_latency(st);
	run(st, x, y, 2, 0);
	for (n = 0; n + d < N; n++) {
		assert_true(y[(size_t)(n + d) * 2] == x[(size_t)n * 2]);
		if (fabs(y[(size_t)(n + d) * 2 + 1] -
		    direct(x, h, 300, 1, 2, n, 1, 0)) > worst)
			worst = fabs(y[(size_t)(n + d) * 2 + 1] -
			    direct(x, h, 300, 1, 2, n, 1, 0));
	}
	print_message("# channel 1 of 2, latency %u: largest error %g\n", d,
	    worst);
	assert_true(worst < 1e-5);
	/* Again while the gain glides (a frame at a time): channel 0 is
	   the input of d frames before, from the first run's last ones. */
	assert_int_equal(dsp_stage_set(st, 0, -6), DSP_OK);
	run(st, x, y, 2, 0);
	for (n = 0; n < N; n++)
		assert_true(y[(size_t)n * 2] == (n >= d ? x[(size_t)(n - d) * 2] :
		    x[(size_t)(N - d + n) * 2]));
	dsp_stage_del(st);
}

static void
test_refuses(void **state)
{
	float h[4 * 16] = { 1 };
	char err[256];

	(void)state;
	assert_null(make(h, 16, 3, 2, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "the IR has 3 channels"));
	assert_null(make(h, 16, 4, 3, 0, err, sizeof(err)));
	assert_null(make(NULL, 16, 1, 2, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no impulse response"));
	assert_null(make(h, DSP_CONV_MAX_FRAMES + 1, 1, 2, 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "at most"));
	assert_null(make(h, 16, 1, 2, 7, err, sizeof(err)));
}

/* normalize peak and energy; the gain glides to -6 dB. */
static void
test_normalize_and_gain(void **state)
{
	float h[8] = { 0.5f, 0, 0, 0.25f, 0, 0, 0, 0 };
	float x[2 * N], y[2 * N];
	struct dsp_stage *st;
	char err[256];
	unsigned i;

	(void)state;
	memset(x, 0, sizeof(x));
	x[0] = 1;
	st = make(h, 8, 1, 2, DSP_CONV_NORM_PEAK, err, sizeof(err));
	assert_non_null(st);
	dsp_stage_process(st, x, y, 16);
	assert_true(y[0] == 1.0f && y[2 * 3] == 0.5f);
	dsp_stage_del(st);
	st = make(h, 8, 1, 2, DSP_CONV_NORM_ENERGY, err, sizeof(err));
	dsp_stage_process(st, x, y, 16);
	assert_true(fabs(y[0] * y[0] + y[6] * y[6] - 1) < 1e-6);
	dsp_stage_del(st);
	st = make(h, 1, 1, 2, DSP_CONV_NORM_NONE, err, sizeof(err));
	for (i = 0; i < 2 * N; i++)
		x[i] = 1;
	assert_int_equal(dsp_stage_set(st, 0, -6), DSP_OK);
	run(st, x, y, 2, 0);
	assert_true(y[0] < 0.5f && y[0] > 0.49f);
	assert_true(fabs(y[2 * (N - 1)] - 0.5 * pow(10, -6 / 20.0)) < 1e-6);
	dsp_stage_del(st);
}

/*
 * 3e38 overflows the transforms: the tail goes infinite and the output
 * with it, for as long as the IR, unless the chain resets the stage.  The
 * block after the bad one must be clean.
 */
static void
test_overflow_is_reset(void **state)
{
	float h[1000], x[2 * MAXB], y[2 * MAXB];
	struct dsp_chain *c = dsp_chain_new(2, MAXB, RATE);
	struct dsp_stage *st;
	char err[256];
	unsigned i, k;

	(void)state;
	noise(h, 1000, 5);
	st = make(h, 1000, 1, 2, DSP_CONV_NORM_NONE, err, sizeof(err));
	assert_int_equal(dsp_chain_append(c, st, "room"), DSP_OK);
	for (i = 0; i < 2 * MAXB; i++)
		x[i] = 3e38f;
	assert_true(dsp_chain_process(c, x, y, MAXB, NULL) > 0);
	for (k = 0; k < 8; k++) {
		noise(x, 2 * MAXB, 40 + k);
		assert_int_equal(dsp_chain_process(c, x, y, MAXB, NULL), 0);
		for (i = 0; i < 2 * MAXB; i++)
			assert_true(fabsf(y[i]) < 100);
	}
	dsp_chain_del(c);
}

static unsigned wakes;

static void wake_count(void *arg) TP_REALTIME;

static void
wake_count(void *arg)
{
	(void)arg;
	wakes++;
}

/*
 * Runs x through st in blocks of P; after every `every` blocks (0:
 * never), runs each handed work of st, as a worker would.
 */
static void
run_handed(struct dsp_stage *st, const float *x, float *y, unsigned ch,
    unsigned every)
{
	struct dsp_work *w;
	unsigned i, b, k;

	for (i = 0, b = 1; i + P <= N; i += P, b++) {
		dsp_stage_process(st, x + (size_t)i * ch, y + (size_t)i * ch,
		    P);
		if (every == 0 || b % every != 0)
			continue;
		for (k = 0; (w = dsp_stage_work(st, k)) != NULL; k++)
			(void)dsp_work_run(w);
	}
}

/*
 * 3,000 taps at P = 64: levels of 64 (in process()), 256 and 1,024 (the
 * background work, due 256 and 1,024 frames after they are submitted).
 */
static void
test_handed_work(void **state)
{
	enum { TAPS = 3000, CH = 2, END = N / P * P };
	float *h = malloc(sizeof(float) * TAPS * CH);
	float *x = malloc(sizeof(float) * N * CH);
	float *want = calloc((size_t)N * CH, sizeof(float));
	float *y = calloc((size_t)N * CH, sizeof(float));
	struct dsp_stage *st;
	struct dsp_work *w;
	char err[256];
	unsigned k, every;

	(void)state;
	noise(h, (size_t)TAPS * CH, 11);
	noise(x, (size_t)N * CH, 12);
	st = make(h, TAPS, CH, CH, DSP_CONV_NORM_NONE, err, sizeof(err));
	assert_non_null(st);
	run_handed(st, x, want, CH, 0);
	assert_int_equal(dsp_stage_late(st), 0);
	dsp_stage_del(st);
	/* 0: a runner that never runs; 1: one that runs after every
	   block; 8: one that runs every 512 frames, too late for the
	   level of 256. */
	for (every = 0; every <= 8; every += every == 0 ? 1 : 7) {
		st = make(h, TAPS, CH, CH, DSP_CONV_NORM_NONE, err,
		    sizeof(err));
		assert_non_null(st);
		for (k = 0; (w = dsp_stage_work(st, k)) != NULL; k++)
			dsp_work_hand(w, wake_count, NULL);
		assert_int_equal(k, 2);
		wakes = 0;
		memset(y, 0, sizeof(float) * N * CH);
		run_handed(st, x, y, CH, every);
		print_message("# runner every %u blocks: %llu late, %u "
		    "wakes\n", every,
		    (unsigned long long)dsp_stage_late(st), wakes);
		assert_true(wakes > 0);
		if (every == 1) {
			assert_int_equal(dsp_stage_late(st), 0);
			assert_memory_equal(y, want, sizeof(float) * END * CH);
		} else if (every == 0) {
			/* Every output block of a level that got no result
			   is late: the level of 256 starts at frame 512, 18
			   blocks before frame 4,992; the one of 1,024 at
			   2,048, 3 blocks. */
			assert_int_equal(dsp_stage_late(st), 18 + 3);
			assert_memory_not_equal(y, want,
			    sizeof(float) * END * CH);
		} else {
			assert_true(dsp_stage_late(st) > 0);
			assert_memory_not_equal(y, want,
			    sizeof(float) * END * CH);
		}
		dsp_stage_del(st);
	}
	free(h);
	free(x);
	free(want);
	free(y);
}

static unsigned waits;

/* An offline caller's wait hook with no other thread: runs the job. */
static void
wait_run(void *arg)
{
	waits++;
	(void)dsp_work_run_one(arg);
}

/*
 * Handed work whose runner never runs, but whose stage waits for due
 * results (dsp_work_wait_due(), as tidepool-render asks): every result is
 * waited for, none is late or dropped, the bits are the inline ones.
 */
static void
test_waited_work(void **state)
{
	enum { TAPS = 3000, CH = 2, END = N / P * P };
	float *h = malloc(sizeof(float) * TAPS * CH);
	float *x = malloc(sizeof(float) * N * CH);
	float *want = calloc((size_t)N * CH, sizeof(float));
	float *y = calloc((size_t)N * CH, sizeof(float));
	struct dsp_stage *st;
	struct dsp_work *w;
	char err[256];
	unsigned k;

	(void)state;
	noise(h, (size_t)TAPS * CH, 13);
	noise(x, (size_t)N * CH, 14);
	st = make(h, TAPS, CH, CH, DSP_CONV_NORM_NONE, err, sizeof(err));
	assert_non_null(st);
	run_handed(st, x, want, CH, 0);
	dsp_stage_del(st);
	st = make(h, TAPS, CH, CH, DSP_CONV_NORM_NONE, err, sizeof(err));
	assert_non_null(st);
	for (k = 0; (w = dsp_stage_work(st, k)) != NULL; k++) {
		dsp_work_hand(w, wake_count, NULL);
		dsp_work_wait_due(w, wait_run, w);
	}
	assert_int_equal(k, 2);
	waits = 0;
	run_handed(st, x, y, CH, 0);
	print_message("# %u waits\n", waits);
	assert_true(waits > 0);
	assert_int_equal(dsp_stage_late(st), 0);
	assert_memory_equal(y, want, sizeof(float) * END * CH);
	dsp_stage_del(st);
	free(h);
	free(x);
	free(want);
	free(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_the_convolution),
		cmocka_unit_test(test_hidden_latency),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_normalize_and_gain),
		cmocka_unit_test(test_overflow_is_reset),
		cmocka_unit_test(test_handed_work),
		cmocka_unit_test(test_waited_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
