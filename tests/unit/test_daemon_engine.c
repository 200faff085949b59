/*
 * daemon/engine: how the callback counts what the device reports.  An
 * xrun is a callback that had one, whatever the number of causes, and a
 * run of them is one episode.  Against the server's clock (the stamps a
 * backend gives): the real period, and the frames the server went past
 * without asking, jitter not counted.  Message latency never negative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
