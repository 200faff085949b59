/*
 * daemon/audio: the audio thread's page faults as /proc reports them.
 * Every field of the line holds a different number, so reading a
 * neighbour (the children's cminflt or cmajflt, an off-by-one field)
 * gives another sum; and the thread's name may hold what looks like
 * fields.  And the device watch: it counts callbacks and compares the
 * last one's stamp with a clock it reads itself, so a tick that was held
 * up (its start long past) never reads as a stalled callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"
#include "daemon/audio.h"
#include "daemon/chainbuild.h"
#include "rtpool/rtclock.h"

#define MS 1000000ull

/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
   majflt cmajflt utime ... */
static void
test_fields(void **state)
{
	(void)state;
	assert_int_equal(audio_stat_faults("4242 (tidepoold) R 1 2 3 4 5 "
	    "4194560 11 1000 7 30000 12 13 14 15 20 0 1 0"), 18);
	/* A name with blanks and a ')' of its own. */
	assert_int_equal(audio_stat_faults("4242 (a) b (c) d) S 1 2 3 4 5 "
	    "4194560 3 5000 2 70000 12 13"), 5);
	assert_int_equal(audio_stat_faults("4242 (x) S 1 2 3 4 5 6 0 0 0 0"),
	    0);
}

static void
test_malformed(void **state)
{
	(void)state;
	assert_int_equal(audio_stat_faults(""), -1);
	assert_int_equal(audio_stat_faults("4242 no parenthesis 1 2 3"), -1);
	assert_int_equal(audio_stat_faults("4242 (short) S 1 2 3"), -1);
	assert_int_equal(audio_stat_faults("4242 (x) S 1 2 3 4 5 6 x y"), -1);
}

static void
test_stalled(void **state)
{
	uint64_t t = 1000000 * MS;

	(void)state;
	/* A callback counted since the last watch: alive, however old the
	   stamps look. */
	assert_int_equal(audio_stalled(11, 10, t - 900 * MS, t - 900 * MS,
	    t), 0);
	/* None counted, but the last ran 10 ms ago. */
	assert_int_equal(audio_stalled(10, 10, t - 10 * MS, t - 900 * MS,
	    t), 0);
	/* None for 300 ms by both stamps: stalled. */
	assert_int_equal(audio_stalled(10, 10, t - 300 * MS, t - 300 * MS,
	    t), 1);
	/* Just opened (seen_at), the last callback of an older stream. */
	assert_int_equal(audio_stalled(10, 10, t - 900 * MS, t - 100 * MS,
	    t), 0);
	/* A clock read older than the stamps is no stall. */
	assert_int_equal(audio_stalled(10, 10, t, t, t - 500 * MS), 0);
}

static void
nop_idle(void *arg, int closed)
{
	(void)arg;
	(void)closed;
}

static void
nop_restarting(void *arg)
{
	(void)arg;
}

/* The watch on a running stream whose ticks come with a start time far
   from the truth: only a real silence of the callback closes it. */
static void
test_watch_reads_its_own_clock(void **state)
{
	static const char conf[] = "[stage.vol]\ntype = gain\n";
	static const struct audio_hooks hooks = { nop_idle, nop_restarting };
	struct timespec pause = { 0, 20 * MS };
	uint64_t quiet;
	struct config *cfg;
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine *e = calloc(1, sizeof(*e));
	struct audio *a = calloc(1, sizeof(*a));
	struct paudio_params p;
	struct engine_setup es;
	struct dsp_chain *chain;
	float out[64 * 2];
	char err[256];

	(void)state;
	assert_non_null(e);
	assert_non_null(a);
	cfg = config_parse(conf, sizeof(conf) - 1, "t.conf", err,
	    sizeof(err));
	assert_non_null(cfg);
	chain = chainbuild_new(cfg, 48000, 2, 64, err, sizeof(err));
	assert_non_null(chain);
	assert_int_equal(rtpool_init(&blocks, sizeof(struct engine_block) +
	    sizeof(float) * 1024 * 2, 8), RTPOOL_OK);
	assert_int_equal(rtmsgpool_init(&msgs, 16), RTPOOL_OK);
	memset(&es, 0, sizeof(es));
	es.rate = 48000;
	es.max_frames = 64;
	es.channels = es.out_channels = 2;
	es.block_frames = 1024;
	es.blocks = &blocks;
	es.msgs = &msgs;
	es.ring_capacity = 4;
	es.offline = 1;
	assert_int_equal(engine_init(e, &es, chain, err, sizeof(err)), 0);
	memset(&p, 0, sizeof(p));
	audio_init(a, e, &p, NULL, &hooks, NULL);
	/* As opened() leaves it. */
	a->state = AUDIO_RUNNING;
	a->seen_at_ns = rtclock_ns();
	a->seen_callbacks = engine_callbacks(e);

	engine_process(e, NULL, out, 64, 0);
	audio_watch(a, rtclock_ns());
	assert_int_equal(a->state, AUDIO_RUNNING);
	/* A tick that says 10 s went by, with the callback's last start a
	   moment ago: not a stall. */
	audio_watch(a, rtclock_ns() + 10000 * MS);
	assert_int_equal(a->state, AUDIO_RUNNING);
	/* Callbacks counted, and a tick whose start is 10 s stale. */
	engine_process(e, NULL, out, 64, 0);
	audio_watch(a, rtclock_ns() - 10000 * MS);
	assert_int_equal(a->state, AUDIO_RUNNING);
	/* A real silence, watched every 20 ms or so (a watch later than
	   250 ms is taken for a stopped process, and gives it a fresh
	   chance) by ticks that say no time passed: the stream is closed,
	   not before 250 ms have passed since the last callback. */
	quiet = engine_last_callback_ns(e);
	while (a->state == AUDIO_RUNNING && rtclock_ns() - quiet < 10000 * MS) {
		nanosleep(&pause, NULL);
		audio_watch(a, a->watched_at_ns);
	}
	assert_int_not_equal(a->state, AUDIO_RUNNING);
	assert_true(rtclock_ns() - quiet >= 250 * MS);
	assert_int_equal(paworker_wait(&a->paw, 5000 * MS), 1);
	engine_done(e);
	rtmsgpool_done(&msgs);
	rtpool_done(&blocks);
	config_free(cfg);
	free(a);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_stalled),
		cmocka_unit_test(test_watch_reads_its_own_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
