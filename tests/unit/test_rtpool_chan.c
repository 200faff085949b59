/*
 * Unit tests of the SPSC channels (rtpool/rtchan.c), single-threaded:
 * order, full and empty, capacity, wrap-around.  Two threads through a
 * channel are tests/stress/stress_rtpool_chan.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rtpool/rtchan.h"

/* Items are small integers dressed as pointers; 0 would be NULL. */
#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUM(p) ((uintptr_t)(p))

static void
test_fifo(void **state)
{
	struct rtchan c;
	unsigned i, cap;

	(void)state;
	assert_int_equal(rtchan_init(&c, 16), RTPOOL_OK);
	cap = rtchan_capacity(&c);
	assert_true(cap >= 16);
	for (i = 1; i <= cap; i++) {
		assert_int_equal(rtchan_push_spsc(&c, ITEM(i)), 1);
		assert_int_equal(rtchan_count(&c), i);
	}
	for (i = 1; i <= cap; i++) {
		assert_int_equal(NUM(rtchan_pop_spsc(&c)), i);
		assert_int_equal(rtchan_count(&c), cap - i);
	}
	assert_null(rtchan_pop_spsc(&c));
	/* Interleaved: push two, pop one, so the ring drifts. */
	for (i = 1; i <= 2 * cap; i += 2) {
		if (rtchan_count(&c) + 2 > cap)
			break;
		assert_int_equal(rtchan_push_spsc(&c, ITEM(i)), 1);
		assert_int_equal(rtchan_push_spsc(&c, ITEM(i + 1)), 1);
		assert_non_null(rtchan_pop_spsc(&c));
	}
	rtchan_done(&c);
}

static void
test_full_empty(void **state)
{
	struct rtchan c;
	unsigned i, cap;

	(void)state;
	assert_int_equal(rtchan_init(&c, 7), RTPOOL_OK);
	cap = rtchan_capacity(&c);
	assert_int_equal(cap, 7);
	assert_null(rtchan_pop_spsc(&c));
	assert_null(rtchan_pop_spsc(&c));
	assert_int_equal(rtchan_count(&c), 0);
	for (i = 1; i <= cap; i++)
		assert_int_equal(rtchan_push_spsc(&c, ITEM(i)), 1);
	assert_int_equal(rtchan_push_spsc(&c, ITEM(100)), 0);
	assert_int_equal(rtchan_push_spsc(&c, ITEM(101)), 0);
	assert_int_equal(rtchan_count(&c), cap);
	/* Refused pushes lost nothing and added nothing. */
	assert_int_equal(NUM(rtchan_pop_spsc(&c)), 1);
	assert_int_equal(rtchan_push_spsc(&c, ITEM(8)), 1);
	assert_int_equal(rtchan_push_spsc(&c, ITEM(9)), 0);
	for (i = 2; i <= 8; i++)
		assert_int_equal(NUM(rtchan_pop_spsc(&c)), i);
	assert_null(rtchan_pop_spsc(&c));
	/* NULL is refused: it would read as "empty" at the other end. */
	assert_int_equal(rtchan_push_spsc(&c, NULL), 0);
	assert_int_equal(rtchan_count(&c), 0);
	rtchan_done(&c);
	rtchan_done(&c);	/* twice is harmless */
	/* A zeroed (or done) channel is empty and full at once. */
	assert_null(rtchan_pop_spsc(&c));
	assert_int_equal(rtchan_push_spsc(&c, ITEM(1)), 0);
	assert_int_equal(rtchan_capacity(&c), 0);
}

static void
test_capacity_rounding(void **state)
{
	static const unsigned ask[] = { 1, 2, 3, 4, 5, 7, 8, 15, 16, 100,
	    1000, 1023, 1024 };
	static const unsigned got[] = { 3, 3, 3, 7, 7, 7, 15, 15, 31, 127,
	    1023, 1023, 2047 };
	struct rtchan c;
	unsigned i, n;

	(void)state;
	for (i = 0; i < sizeof(ask) / sizeof(ask[0]); i++) {
		assert_int_equal(rtchan_init(&c, ask[i]), RTPOOL_OK);
		assert_int_equal(rtchan_capacity(&c), got[i]);
		/* The promise: at least what was asked, exactly capacity. */
		for (n = 0; rtchan_push_spsc(&c, ITEM(n + 1)); n++)
			;
		assert_int_equal(n, got[i]);
		assert_true(n >= ask[i]);
		rtchan_done(&c);
	}
	assert_int_equal(rtchan_init(&c, 0), RTPOOL_EINVAL);
	assert_int_equal(rtchan_init(&c, 0x80000000u), RTPOOL_EINVAL);
	assert_null(rtchan_pop_spsc(&c));
}

static void
test_wrap_many_times(void **state)
{
	struct rtchan c;
	uintptr_t next_in = 1, next_out = 1;
	unsigned round, k, burst, cap;

	(void)state;
	assert_int_equal(rtchan_init(&c, 3), RTPOOL_OK);	/* ring of 4 */
	cap = rtchan_capacity(&c);
	assert_int_equal(cap, 3);
	/* 1e6 rounds of 1..3 items: the 4-slot ring wraps ~500 000 times. */
	for (round = 0; round < 1000000; round++) {
		burst = round % cap + 1;
		for (k = 0; k < burst; k++)
			assert_int_equal(rtchan_push_spsc(&c, ITEM(next_in++)),
			    1);
		if (round % 7 == 0 && rtchan_count(&c) == cap)
			assert_int_equal(rtchan_push_spsc(&c, ITEM(999)), 0);
		for (k = 0; k < burst; k++)
			assert_int_equal(NUM(rtchan_pop_spsc(&c)), next_out++);
		assert_null(rtchan_pop_spsc(&c));
	}
	assert_int_equal(next_in, next_out);
	rtchan_done(&c);
}

static void
test_carries_what_it_points_to(void **state)
{
	struct rtchan c;
	char a[] = "alpha", b[] = "beta";

	(void)state;
	assert_int_equal(rtchan_init(&c, 4), RTPOOL_OK);
	assert_int_equal(rtchan_push_spsc(&c, a), 1);
	assert_int_equal(rtchan_push_spsc(&c, b), 1);
	assert_ptr_equal(rtchan_pop_spsc(&c), a);
	assert_string_equal((char *)rtchan_pop_spsc(&c), "beta");
	rtchan_done(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_full_empty),
		cmocka_unit_test(test_capacity_rounding),
		cmocka_unit_test(test_wrap_many_times),
		cmocka_unit_test(test_carries_what_it_points_to),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
