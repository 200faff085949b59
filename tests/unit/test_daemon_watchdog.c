/*
 * daemon/watchdog: when WATCHDOG=1 is sent and when it is withheld, with
 * made-up clocks and counters: callbacks stalled, the pool empty, and
 * the server skipping most of the audio while callbacks still come (the
 * missed-frames rule); the log line only when the verdict changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/watchdog.h"

#define SEC 1000000000ull
#define RATE 48000

static char news[256];

/* A check at t seconds with frames delivered so far. */
static int
at(struct watchdog *w, double t, uint64_t frames, int alive,
    size_t pool_free)
{
	struct watchdog_view v = { alive, pool_free, frames, RATE };

	return watchdog_check(w, (uint64_t)(t * SEC), &v, news,
	    sizeof(news));
}

static void
test_due(void **state)
{
	struct watchdog w;

	(void)state;
	watchdog_init(&w, 0, 0);
	assert_false(watchdog_due(&w, 100 * SEC));
	watchdog_init(&w, SEC / 2, 10 * SEC);
	assert_false(watchdog_due(&w, 10 * SEC + SEC / 4));
	assert_true(watchdog_due(&w, 10 * SEC + SEC / 2));
	(void)at(&w, 10.6, 28800, 1, 10);
	assert_false(watchdog_due(&w, 11 * SEC));
	assert_true(watchdog_due(&w, 11 * SEC + SEC / 10));
}

static void
test_steady(void **state)
{
	struct watchdog w;
	int i;

	(void)state;
	watchdog_init(&w, SEC / 2, 0);
	for (i = 1; i <= 10; i++) {
		assert_true(at(&w, i * 0.5, (uint64_t)i * RATE / 2, 1, 3));
		assert_string_equal(news, "");
	}
}

/* Stopped 0.8 s of every 1.0: the callbacks come, a fifth of the audio
   does not. */
static void
test_server_skips(void **state)
{
	struct watchdog w;

	(void)state;
	watchdog_init(&w, SEC / 2, 0);
	assert_true(at(&w, 0.5, 24000, 1, 8));
	assert_true(at(&w, 1.0, 48000, 1, 8));
	assert_false(at(&w, 2.0, 48000 + 9600, 1, 8));
	assert_non_null(strstr(news, "withheld: 9600 of 48000 frames "
	    "delivered in the last 1.0 s"));
	assert_false(at(&w, 3.0, 48000 + 2 * 9600, 1, 8));
	assert_string_equal(news, "");
	/* Just over half: healthy again, said once. */
	assert_true(at(&w, 4.0, 48000 + 2 * 9600 + 24001, 1, 8));
	assert_string_equal(news, "WATCHDOG=1 sent again");
	assert_true(at(&w, 4.5, 48000 + 2 * 9600 + 24001 + 24000, 1, 8));
	assert_string_equal(news, "");
	/* Just under half is not. */
	assert_false(at(&w, 5.5, 48000 + 2 * 9600 + 24001 + 24000 + 23999,
	    1, 8));
}

static void
test_stalled_and_pool(void **state)
{
	struct watchdog w;

	(void)state;
	watchdog_init(&w, SEC / 2, 0);
	assert_true(at(&w, 0.5, 24000, 1, 1));
	assert_false(at(&w, 1.0, 48000, 0, 1));
	assert_non_null(strstr(news, "no audio callback"));
	assert_true(at(&w, 1.5, 72000, 1, 1));
	assert_false(at(&w, 2.0, 96000, 1, 0));
	assert_non_null(strstr(news, "no free block"));
}

/* Before the first ping the daemon is starting: nothing to say.  A
   counter that starts again (a new engine) is not a loss. */
static void
test_start_and_reset(void **state)
{
	struct watchdog w;

	(void)state;
	watchdog_init(&w, SEC / 2, 0);
	assert_false(at(&w, 0.5, 0, 0, 8));
	assert_string_equal(news, "");
	assert_false(at(&w, 1.0, 100, 1, 8));
	assert_string_equal(news, "");
	assert_true(at(&w, 1.5, 24100, 1, 8));
	assert_string_equal(news, "");
	assert_true(at(&w, 2.0, 500, 1, 8));
	assert_string_equal(news, "");
	assert_true(at(&w, 2.5, 24500, 1, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_server_skips),
		cmocka_unit_test(test_stalled_and_pool),
		cmocka_unit_test(test_start_and_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
