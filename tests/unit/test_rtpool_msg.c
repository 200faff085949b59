/*
 * Unit tests of the message pool (rtpool/rtmsg.c) and the clock
 * (rtpool/rtclock.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <time.h>

#include "rtpool/rtchan.h"
#include "rtpool/rtclock.h"
#include "rtpool/rtmsg.h"

static void
test_layout(void **state)
{
	struct rtmsgpool mp;
	struct rtpool_stats st;
	struct rtmsg *a, *b;

	(void)state;
	assert_int_equal(sizeof(struct rtmsg), 64);
	assert_int_equal(offsetof(struct rtmsg, payload), 16);
	assert_int_equal(rtmsgpool_init(&mp, 8), RTPOOL_OK);
	rtmsgpool_stats(&mp, &st);
	assert_int_equal(st.blocks, 8);
	assert_int_equal(st.block_size, 64);
	a = rtmsg_get(&mp);
	b = rtmsg_get(&mp);
	assert_int_equal((uintptr_t)a % 64, 0);
	assert_int_equal((char *)b - (char *)a, 64);
	assert_int_equal(rtmsg_put(&mp, a), RTPOOL_OK);
	assert_int_equal(rtmsg_put(&mp, b), RTPOOL_OK);
	rtmsgpool_done(&mp);
}

static void
test_round_trip(void **state)
{
	static const unsigned char zero[sizeof(struct rtmsg)];
	struct rtmsgpool mp;
	struct rtchan cmd, ret;
	struct rtmsg *m, *got;
	int target;
	unsigned i, kind;

	(void)state;
	assert_int_equal(rtmsgpool_init(&mp, 4), RTPOOL_OK);
	assert_int_equal(rtchan_init(&cmd, 4), RTPOOL_OK);
	assert_int_equal(rtchan_init(&ret, 4), RTPOOL_OK);
	/* Each view of the payload, sent, received and handed back. */
	for (kind = 0; kind < 5; kind++) {
		m = rtmsg_get(&mp);
		assert_non_null(m);
		/* Zeroed, though the last user left it dirty. */
		assert_memory_equal(m, zero, sizeof(*m));
		m->type = 0xdeadbeefu - kind;
		m->flags = 0x80000001u;
		m->enqueue_ns = rtclock_ns();
		for (i = 0; i < 6; i++) {
			switch (kind) {
			case 0:
				m->payload.u64[i] = UINT64_MAX - i;
				break;
			case 1:
				m->payload.i64[i] = INT64_MIN + (int64_t)i;
				break;
			case 2:
				m->payload.f64[i] = i == 0 ? -0.0 : i == 1 ?
				    INFINITY : i == 2 ? NAN : 1.0 / 3.0 * i;
				break;
			case 3:
				m->payload.ptr[i] = i % 2 ? &target : NULL;
				break;
			default:
				break;
			}
		}
		for (i = 0; kind == 4 && i < 48; i++)
			m->payload.bytes[i] = (unsigned char)(i * 37 + 1);
		assert_int_equal(rtchan_push_spsc(&cmd, m), 1);
		got = rtchan_pop_spsc(&cmd);
		assert_ptr_equal(got, m);
		assert_int_equal(got->type, 0xdeadbeefu - kind);
		assert_int_equal(got->flags, 0x80000001u);
		assert_true(got->enqueue_ns > 0);
		for (i = 0; i < 6; i++) {
			switch (kind) {
			case 0:
				assert_int_equal(got->payload.u64[i],
				    UINT64_MAX - i);
				break;
			case 1:
				assert_true(got->payload.i64[i] ==
				    INT64_MIN + (int64_t)i);
				break;
			case 2:
				if (i == 0)
					assert_true(
					    signbit(got->payload.f64[0]));
				else if (i == 1)
					assert_true(isinf(got->payload.f64[1]));
				else if (i == 2)
					assert_true(isnan(got->payload.f64[2]));
				else
					assert_true(got->payload.f64[i] ==
					    1.0 / 3.0 * i);
				break;
			case 3:
				assert_ptr_equal(got->payload.ptr[i],
				    i % 2 ? &target : NULL);
				break;
			default:
				break;
			}
		}
		if (kind == 4)
			for (i = 0; i < 48; i++)
				assert_int_equal(got->payload.bytes[i],
				    (unsigned char)(i * 37 + 1));
		assert_int_equal(rtchan_push_spsc(&ret, got), 1);
		assert_int_equal(rtmsg_put(&mp, rtchan_pop_spsc(&ret)),
		    RTPOOL_OK);
	}
	rtchan_done(&cmd);
	rtchan_done(&ret);
	rtmsgpool_done(&mp);
}

static void
test_exhaustion(void **state)
{
	struct rtmsgpool mp, other;
	struct rtpool_stats st;
	struct rtmsg *m[4], local;
	unsigned i;

	(void)state;
	assert_int_equal(rtmsgpool_init(&mp, 4), RTPOOL_OK);
	assert_int_equal(rtmsgpool_init(&other, 1), RTPOOL_OK);
	for (i = 0; i < 4; i++) {
		m[i] = rtmsg_get(&mp);
		assert_non_null(m[i]);
		assert_true(rtmsgpool_owns(&mp, m[i]));
		assert_false(rtmsgpool_owns(&other, m[i]));
	}
	assert_null(rtmsg_get(&mp));
	rtmsgpool_stats(&mp, &st);
	assert_int_equal(st.exhausted, 1);
	assert_int_equal(st.min_free, 0);
	assert_int_equal(st.free_now, 0);
	assert_int_equal(rtmsg_put(&mp, &local), RTPOOL_EFOREIGN);
	assert_int_equal(rtmsg_put(&other, m[0]), RTPOOL_EFOREIGN);
	assert_int_equal(rtmsg_put(&mp, NULL), RTPOOL_EINVAL);
	for (i = 0; i < 4; i++)
		assert_int_equal(rtmsg_put(&mp, m[i]), RTPOOL_OK);
	assert_int_equal(rtmsg_put(&mp, m[2]), RTPOOL_EDOUBLE);
	rtmsgpool_stats(&mp, &st);
	assert_int_equal(st.free_now, 4);
	assert_int_equal(st.double_returns, 1);
	/* rtmsgpool_init() refuses what rtpool_init() refuses. */
	assert_int_equal(rtmsgpool_init(&other, 0), RTPOOL_EINVAL);
	rtmsgpool_done(&other);
	rtmsgpool_done(&mp);
}

static void
test_clock(void **state)
{
	struct timespec ts = { 0, 2000000 };
	uint64_t a, b, c;
	unsigned i;

	(void)state;
	a = rtclock_ns();
	for (i = 0, b = a; i < 1000; i++) {
		c = rtclock_ns();
		assert_true(c >= b);	/* monotonic */
		b = c;
	}
	nanosleep(&ts, NULL);
	c = rtclock_ns();
	assert_true(c - a >= 2000000);
	assert_true(c - a < 10000000000ull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
