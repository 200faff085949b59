/*
 * Unit tests of the tail ring (rtpool/rttail.c), single-threaded: what a
 * reader copies is what was written, across the wrap, with a different
 * value in every sample (channel and frame); a read of frames the writer
 * has overwritten, or has announced it is about to, is refused; a write
 * longer than the ring keeps its newest frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rtpool/rttail.h"
#include "rtpool/rtpool.h"

#define CH 3
#define FRAMES 100

/* Sample c of absolute frame k: distinct for every (k, c). */
static float
val(uint64_t k, unsigned c)
{
	return (float)(k * 10 + c + 1);
}

static void
write_frames(struct rttail *t, uint64_t from, unsigned n)
{
	float buf[400 * CH];
	unsigned i, c;

	for (i = 0; i < n; i++)
		for (c = 0; c < CH; c++)
			buf[i * CH + c] = val(from + i, c);
	rttail_write_sw(t, buf, n);
}

static void
check_frames(const struct rttail *t, uint64_t from, unsigned n)
{
	float buf[FRAMES * CH];
	unsigned i, c;

	assert_int_equal(rttail_read(t, from, n, buf), 0);
	for (i = 0; i < n; i++)
		for (c = 0; c < CH; c++)
			assert_true(buf[i * CH + c] == val(from + i, c));
}

static void
test_reads_across_the_wrap(void **state)
{
	struct rttail t;
	uint64_t pos = 0;
	unsigned i;

	(void)state;
	assert_int_equal(rttail_init(&t, FRAMES, CH), RTPOOL_OK);
	assert_int_equal(rttail_head(&t), 0);
	assert_int_equal(rttail_oldest(&t, 0), 0);
	/* Blocks of 37 frames: every read below straddles the wrap at
	   some point. */
	for (i = 0; i < 10; i++) {
		write_frames(&t, pos, 37);
		pos += 37;
		assert_int_equal(rttail_head(&t), pos);
		check_frames(&t, pos > FRAMES ? pos - FRAMES : 0,
		    pos > FRAMES ? FRAMES : (unsigned)pos);
		check_frames(&t, pos - 37, 37);
	}
	assert_int_equal(rttail_oldest(&t, 0), pos - FRAMES);
	assert_int_equal(rttail_oldest(&t, 10), pos - FRAMES + 10);
	rttail_done(&t);
	rttail_done(&t);
}

static void
test_overwritten_is_refused(void **state)
{
	struct rttail t;
	float buf[FRAMES * CH];

	(void)state;
	assert_int_equal(rttail_init(&t, FRAMES, CH), RTPOOL_OK);
	write_frames(&t, 0, 150);
	/* Frames 0..49 are gone: any read touching them is refused. */
	assert_int_equal(rttail_read(&t, 49, 10, buf), -1);
	assert_int_equal(rttail_read(&t, 0, 1, buf), -1);
	check_frames(&t, 50, 100);
	/* A write announced but not finished (the writer preempted inside
	   it) spoils the oldest frames it will reach: a reader must not
	   trust them, though head has not moved. */
	t.claim = 160;
	assert_int_equal(rttail_read(&t, 55, 10, buf), -1);
	check_frames(&t, 60, 90);
	rttail_done(&t);
}

static void
test_long_write_keeps_the_newest(void **state)
{
	struct rttail t;

	(void)state;
	assert_int_equal(rttail_init(&t, FRAMES, CH), RTPOOL_OK);
	write_frames(&t, 0, 20);
	write_frames(&t, 20, 250);
	assert_int_equal(rttail_head(&t), 270);
	check_frames(&t, 170, 100);
	rttail_done(&t);
}

static void
test_bad_sizes(void **state)
{
	struct rttail t;

	(void)state;
	assert_int_equal(rttail_init(&t, 0, 2), RTPOOL_EINVAL);
	assert_int_equal(rttail_init(&t, 10, 0), RTPOOL_EINVAL);
	assert_int_equal(rttail_init(&t, 1u << 30, 32), RTPOOL_EINVAL);
	rttail_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_across_the_wrap),
		cmocka_unit_test(test_overwritten_is_refused),
		cmocka_unit_test(test_long_write_keeps_the_newest),
		cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
