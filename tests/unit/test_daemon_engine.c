/*
 * daemon/engine: how the callback counts what the device reports.  An
 * xrun is a callback that had one, whatever the number of causes, and a
 * run of them is one episode.  Against the server's clock (the stamps a
 * backend gives): the real period, and the frames the server went past
 * without asking, jitter not counted.  Message latency never negative.
 * A chain swapped in after engine_warm_up() has heard the input: swapping
 * in the same chain (a limiter, whose 5 ms lookahead line would otherwise
 * fade in empty) leaves the output as it was, also when the swap reaches
 * the callback periods after the warm-up, and a `set` sent after the swap
 * reaches the new chain even before it is heard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/engine.h"
#include "rtpool/rtclock.h"

#define RATE 48000
#define FRAMES 64

struct rig {
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine engine;
	struct engine_stats *stats;
	float in[FRAMES * 2], out[FRAMES * 2];
};

static int
rig_up(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct engine_setup es;
	struct dsp_chain *chain;
	char err[256];

	assert_non_null(r);
	assert_int_equal(rtpool_init(&r->blocks, sizeof(struct engine_block) +
	    sizeof(float) * 1024 * 2, 8), RTPOOL_OK);
	assert_int_equal(rtmsgpool_init(&r->msgs, 16), RTPOOL_OK);
	chain = dsp_chain_new(2, FRAMES, RATE);
	assert_non_null(chain);
	memset(&es, 0, sizeof(es));
	es.rate = RATE;
	es.max_frames = FRAMES;
	es.channels = 2;
	es.out_channels = 2;
	es.block_frames = 1024;
	es.blocks = &r->blocks;
	es.msgs = &r->msgs;
	es.ring_capacity = 4;
	/* No deadline: a slow machine must not add "late" callbacks here. */
	es.offline = 1;
	assert_int_equal(engine_init(&r->engine, &es, chain, err,
	    sizeof(err)), 0);
	r->stats = engine_stats_new();
	assert_non_null(r->stats);
	*state = r;
	return 0;
}

static int
rig_down(void **state)
{
	struct rig *r = *state;

	free(r->stats);
	engine_done(&r->engine);
	rtmsgpool_done(&r->msgs);
	rtpool_done(&r->blocks);
	free(r);
	return 0;
}

static void
run(struct rig *r, uint32_t status)
{
	engine_process(&r->engine, r->in, r->out, FRAMES, status);
}

static void
test_xruns_count_callbacks(void **state)
{
	struct rig *r = *state;
	const uint32_t both = ENGINE_CAUSE_OUTPUT_UNDERFLOW |
	    ENGINE_CAUSE_INPUT_OVERFLOW;
	const struct engine_counters *k = &r->stats->counters;

	run(r, 0);
	run(r, both);		/* what JACK reports on a duplex stream */
	run(r, both);
	run(r, 0);
	run(r, ENGINE_CAUSE_OUTPUT_UNDERFLOW);
	run(r, 0);
	engine_stats_read(&r->engine, r->stats);

	assert_int_equal(k->callbacks, 6);
	assert_int_equal(k->xruns, 3);
	assert_int_equal(k->output_underflow, 3);
	assert_int_equal(k->input_overflow, 2);
	assert_int_equal(k->late, 0);

	assert_int_equal(r->stats->nepisodes, 2);
	assert_int_equal(r->stats->episodes_total, 2);
	assert_int_equal(r->stats->episodes[0].callbacks, 2);
	assert_int_equal(r->stats->episodes[0].causes, both);
	assert_int_equal(r->stats->episodes[1].callbacks, 1);
	assert_int_equal(r->stats->episodes[1].causes,
	    ENGINE_CAUSE_OUTPUT_UNDERFLOW);
}

/*
 * One server cycle of `per` callbacks of FRAMES at server frame *pos,
 * stamped as PortAudio does: the same now for the whole cycle, the output
 * time advancing by each callback's frames.  jitter shifts the stamps of
 * this cycle only (a late wake-up), in frames.
 */
static void
cycle(struct rig *r, double *pos, unsigned per, double jitter)
{
	double now = (*pos + jitter) / RATE;
	unsigned i;

	for (i = 0; i < per; i++) {
		engine_stamp(&r->engine, now, now + (double)(i * FRAMES +
		    256) / RATE);
		run(r, 0);
	}
	*pos += per * FRAMES;
}

static void
test_clock_steady_counts_nothing(void **state)
{
	struct rig *r = *state;
	const struct engine_counters *k = &r->stats->counters;
	double pos = 1000;
	unsigned i;

	/* 16 callbacks per cycle: PipeWire at 1024 under a 64 period. */
	for (i = 0; i < 200; i++)
		cycle(r, &pos, 16, 0);
	engine_stats_read(&r->engine, r->stats);
	assert_int_equal(k->missed, 0);
	assert_int_equal(k->missed_frames, 0);
	assert_int_equal(k->xruns, 0);
	assert_int_equal(k->cycles, 199);	/* the last is still open */
	assert_int_equal(k->cycle_frames, 199 * 1024);
	assert_int_equal(r->stats->cycle_frames, 1024);
}

static void
test_clock_gap_counts_its_frames(void **state)
{
	struct rig *r = *state;
	const struct engine_counters *k = &r->stats->counters;
	double pos = 0;
	unsigned i;
	int seen = 0;

	for (i = 0; i < 100; i++)
		cycle(r, &pos, 1, 0);
	pos += 96000;	/* stopped for 2 s */
	for (i = 0; i < 1000; i++)
		cycle(r, &pos, 1, i % 2 ? 20 : -20);
	engine_stats_read(&r->engine, r->stats);
	assert_int_equal(k->missed, 1);
	/* The least lead seen while it lasted: 96000 less the jitter. */
	assert_in_range(k->missed_frames, 96000 - 20, 96000 + 20);
	for (i = 0; i < r->stats->nepisodes; i++)
		if (r->stats->episodes[i].causes & ENGINE_CAUSE_MISSED)
			seen++;
	assert_int_equal(seen, 1);
}

static void
test_clock_jitter_is_not_a_gap(void **state)
{
	struct rig *r = *state;
	const struct engine_counters *k = &r->stats->counters;
	double pos = 0;
	unsigned i;

	for (i = 0; i < 100; i++)
		cycle(r, &pos, 1, 0);
	/* Late wake-ups of several periods, one at a time or a short run
	   (a server catching up): no frame was skipped. */
	for (i = 0; i < 300; i++)
		cycle(r, &pos, 1, i % 10 == 0 ? 600 : i % 50 < 3 ? 300 : 0);
	/* A new time base (a wrapped 32-bit origin) counts nothing. */
	pos += 4294967296.0;
	for (i = 0; i < 1000; i++)
		cycle(r, &pos, 1, 0);
	engine_stats_read(&r->engine, r->stats);
	assert_int_equal(k->missed, 0);
	assert_int_equal(k->missed_frames, 0);
}

static void
test_message_latency_never_negative(void **state)
{
	struct rig *r = *state;
	struct rtmsg *m = rtmsg_get(&r->msgs);

	/* Stamped after the callback began, as a send racing it is. */
	assert_non_null(m);
	m->type = ENGINE_MSG_RESET;
	m->enqueue_ns = rtclock_ns() + 1000000000ull;
	assert_true(rtchan_push_spsc(&r->engine.cmd, m));
	run(r, 0);
	engine_stats_read(&r->engine, r->stats);
	assert_int_equal(r->stats->message_ns.total, 1);
	assert_true(r->stats->message_ns.max < 1000000000ull);
}

/* ---- warm-up ----------------------------------------------------------- */

/* Channel 0 at 375 Hz, channel 1 at 750 Hz: both repeat every PERIOD. */
#define PERIOD 128
#define WARM_PERIODS 40	/* callbacks after the swap that are checked */

struct warm_rig {
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine engine;
	uint64_t n;		/* frames fed so far */
	float in[FRAMES * 2], out[FRAMES * 2];
	float got[WARM_PERIODS * FRAMES * 2];	/* after the swap */
	unsigned pumped;	/* calls of count_pump */
};

static void
count_pump(void *arg)
{
	(*(unsigned *)arg)++;
}

/* A limiter (5 ms of lookahead) on both channels, then a gain. */
static struct dsp_chain *
limiter_chain(void)
{
	const struct dsp_type *lt = dsp_type_find("limiter");
	const struct dsp_type *gt = dsp_type_find("gain");
	struct dsp_chain *c = dsp_chain_new(2, FRAMES, RATE);
	struct dsp_setup su;
	char err[256];

	assert_non_null(c);
	dsp_setup_init(&su, lt, RATE, 2, FRAMES);
	assert_int_equal(dsp_chain_append(c, dsp_stage_new(lt, &su, err,
	    sizeof(err)), "lim"), DSP_OK);
	dsp_setup_init(&su, gt, RATE, 2, FRAMES);
	assert_int_equal(dsp_chain_append(c, dsp_stage_new(gt, &su, err,
	    sizeof(err)), "vol"), DSP_OK);
	return c;
}

static int
warm_up_rig(void **state)
{
	struct warm_rig *r = calloc(1, sizeof(*r));
	struct engine_setup es;
	char err[256];

	assert_non_null(r);
	assert_int_equal(rtpool_init(&r->blocks, sizeof(struct engine_block) +
	    sizeof(float) * 1024 * 2, 8), RTPOOL_OK);
	assert_int_equal(rtmsgpool_init(&r->msgs, 16), RTPOOL_OK);
	memset(&es, 0, sizeof(es));
	es.rate = RATE;
	es.max_frames = FRAMES;
	es.channels = 2;
	es.out_channels = 2;
	es.block_frames = 1024;
	es.fade_frames = RATE / 100;
	es.tail_frames = RATE;
	es.blocks = &r->blocks;
	es.msgs = &r->msgs;
	es.ring_capacity = 4;
	es.offline = 1;
	assert_int_equal(engine_init(&r->engine, &es, limiter_chain(), err,
	    sizeof(err)), 0);
	assert_int_equal(engine_send_source(&r->engine, ENGINE_SRC_DEVICE, 0,
	    0, 0), 0);
	*state = r;
	return 0;
}

static int
warm_down_rig(void **state)
{
	struct warm_rig *r = *state;

	engine_done(&r->engine);
	rtmsgpool_done(&r->msgs);
	rtpool_done(&r->blocks);
	free(r);
	return 0;
}

/* One callback of the two tones; the output kept in got[slot] if >= 0. */
static void
warm_run(struct warm_rig *r, int slot)
{
	unsigned i;

	for (i = 0; i < FRAMES; i++, r->n++) {
		r->in[2 * i] = (float)(0.5 * sin(2 * M_PI * (double)
		    (r->n % PERIOD) / PERIOD));
		r->in[2 * i + 1] = (float)(0.3 * sin(4 * M_PI * (double)
		    (r->n % PERIOD) / PERIOD));
	}
	engine_process(&r->engine, r->in, r->out, FRAMES, 0);
	if (slot >= 0)
		memcpy(&r->got[(size_t)slot * FRAMES * 2], r->out,
		    sizeof(r->out));
}

/*
 * The largest difference between the output after the swap and the
 * output a period of the tones earlier: 0 but for rounding when nothing
 * changed the sound.
 */
static double
warm_deviation(const struct warm_rig *r)
{
	size_t i, n = (size_t)WARM_PERIODS * FRAMES * 2;
	double d, worst = 0;

	for (i = PERIOD * 2; i < n; i++) {
		d = fabs((double)r->got[i] - r->got[i - PERIOD * 2]);
		if (d > worst)
			worst = d;
	}
	return worst;
}

/*
 * Runs 1 s, warms a new limiter chain up, lets `late` callbacks pass
 * before sending it (a control thread preempted in between: the
 * callback must feed it those frames itself), and records what follows.
 */
static double
warm_swap(struct warm_rig *r, unsigned late, int warm)
{
	struct dsp_chain *c = limiter_chain();
	uint64_t pos = ENGINE_NOT_WARMED, ran = 0;
	unsigned i;

	for (i = 0; i < RATE / FRAMES; i++)
		warm_run(r, -1);
	if (warm) {
		pos = engine_warm_up(&r->engine, c, &ran, count_pump,
		    &r->pumped);
		/* Once after its one pass at least, whatever the clock. */
		assert_true(r->pumped >= 1);
		/* The chain's memory and the settling time, no more. */
		assert_int_equal(ran, 240 + RATE * ENGINE_SETTLE_MS / 1000);
		assert_int_equal(pos, r->n);
	}
	for (i = 0; i < late; i++)
		warm_run(r, -1);
	assert_int_equal(engine_send_swap(&r->engine, c, pos), 0);
	for (i = 0; i < WARM_PERIODS; i++)
		warm_run(r, (int)i);
	return warm_deviation(r);
}

static void
test_warm_swap_changes_nothing(void **state)
{
	struct warm_rig *r = *state;
	double d = warm_swap(r, 0, 1);

	print_message("# warmed swap, sent at once: deviation %.3g\n", d);
	assert_true(d < 1e-6);
}

static void
test_warm_swap_catches_up(void **state)
{
	struct warm_rig *r = *state;
	struct engine_stats *st = engine_stats_new();
	double d;

	/* 5 periods late: more than one callback's catching up. */
	d = warm_swap(r, 5, 1);
	print_message("# warmed swap, sent 5 periods late: deviation %.3g\n",
	    d);
	assert_true(d < 1e-6);
	engine_stats_read(&r->engine, st);
	assert_int_equal(st->fading, 0);
	free(st);
}

static void
test_cold_swap_is_heard(void **state)
{
	struct warm_rig *r = *state;
	double d = warm_swap(r, 0, 0);

	/* The check above can fail: an empty lookahead faded in is a dip
	   of the tone's own size. */
	print_message("# cold swap: deviation %.3g\n", d);
	assert_true(d > 0.05);
}

static void
test_set_after_swap_reaches_the_new_chain(void **state)
{
	struct warm_rig *r = *state;
	struct dsp_chain *c = limiter_chain();
	unsigned i;
	double peak = 0;

	for (i = 0; i < 100; i++)
		warm_run(r, -1);
	/* The swap has to wait for 20 periods of catching up... */
	assert_int_equal(engine_send_swap(&r->engine, c,
	    r->n - 20 * FRAMES), 0);
	/* ...and a set sent behind it is for the chain it brings. */
	assert_int_equal(engine_send_set(&r->engine, 1, 0, -20), 0);
	warm_run(r, -1);
	assert_true(dsp_stage_get(dsp_chain_stage(c, 1), 0) == -20);
	for (i = 0; i < 200; i++)
		warm_run(r, -1);
	for (i = 0; i < FRAMES * 2; i++)
		if (fabs(r->out[i]) > peak)
			peak = fabs(r->out[i]);
	assert_true(peak < 0.06);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xruns_count_callbacks,
		    rig_up, rig_down),
		cmocka_unit_test_setup_teardown(
		    test_clock_steady_counts_nothing, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(
		    test_clock_gap_counts_its_frames, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(
		    test_clock_jitter_is_not_a_gap, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(
		    test_message_latency_never_negative, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(
		    test_warm_swap_changes_nothing, warm_up_rig, warm_down_rig),
		cmocka_unit_test_setup_teardown(
		    test_warm_swap_catches_up, warm_up_rig, warm_down_rig),
		cmocka_unit_test_setup_teardown(
		    test_cold_swap_is_heard, warm_up_rig, warm_down_rig),
		cmocka_unit_test_setup_teardown(
		    test_set_after_swap_reaches_the_new_chain, warm_up_rig,
		    warm_down_rig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
