/*
 * daemon/engine: how the callback counts what the device reports.  An
 * xrun is a callback that had one, whatever the number of causes, and a
 * run of them is one episode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/engine.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xruns_count_callbacks,
		    rig_up, rig_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
