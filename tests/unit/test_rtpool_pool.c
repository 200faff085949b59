/*
 * Unit tests of the block pool (rtpool/rtpool.c), single-threaded: the
 * contract of each call.  The concurrent free list is proven by
 * tests/stress/stress_rtpool_pool.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rtpool/rtpool.h"

/* Address and Thread Sanitizer turn mlock() into a no-op that succeeds. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MLOCK_IS_FAKE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MLOCK_IS_FAKE 1
#endif
#endif
#ifndef MLOCK_IS_FAKE
#define MLOCK_IS_FAKE 0
#endif

/* Takes every block of p into out[], checking each as it comes. */
static void
take_all(struct rtpool *p, void **out, size_t n)
{
	struct rtpool_stats st;
	size_t i, j;

	for (i = 0; i < n; i++) {
		out[i] = rtpool_get(p);
		assert_non_null(out[i]);
		assert_int_equal((uintptr_t)out[i] % RTPOOL_ALIGN, 0);
		assert_true(rtpool_owns(p, out[i]));
		for (j = 0; j < i; j++)
			assert_true(out[j] != out[i]);
	}
	rtpool_stats(p, &st);
	assert_int_equal(st.free_now, 0);
}

static void
test_init_get_put(void **state)
{
	struct rtpool p;
	struct rtpool_stats st;
	void *b[16];
	size_t i, seen[16] = { 0 }, idx, nfree;

	(void)state;
	assert_int_equal(rtpool_init(&p, 100, 16), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.blocks, 16);
	assert_int_equal(st.block_size, 128);
	assert_int_equal(st.free_now, 16);
	assert_int_equal(st.min_free, 16);
	assert_int_equal(st.exhausted, 0);
	assert_int_equal(st.double_returns, 0);
	take_all(&p, b, 16);
	for (i = 0; i < 16; i++) {
		/* A fresh pool hands blocks out in order. */
		idx = rtpool_index(&p, b[i]);
		assert_int_equal(idx, i);
		assert_ptr_equal(rtpool_block(&p, idx), b[i]);
		seen[idx]++;
		/* Fill the whole rounded size: blocks must not overlap. */
		memset(b[i], (int)(0xa0 + i), st.block_size);
	}
	for (i = 0; i < 16; i++) {
		const unsigned char *c = b[i];
		size_t k;

		assert_int_equal(seen[i], 1);
		for (k = 0; k < st.block_size; k++)
			assert_int_equal(c[k], 0xa0 + i);
	}
	assert_null(rtpool_block(&p, 16));
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, 0);
	for (i = 0; i < 16; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, 16);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, 16);
	/* A stack: the last block returned is the next handed out. */
	assert_ptr_equal(rtpool_get(&p), b[15]);
	assert_ptr_equal(rtpool_get(&p), b[14]);
	rtpool_done(&p);
	rtpool_done(&p);	/* twice is harmless */
}

static void
test_exhaustion(void **state)
{
	struct rtpool p;
	struct rtpool_stats st;
	void *b[8], *x;

	(void)state;
	assert_int_equal(rtpool_init(&p, 64, 8), RTPOOL_OK);
	take_all(&p, b, 8);
	assert_null(rtpool_get(&p));
	assert_null(rtpool_get(&p));
	rtpool_stats(&p, &st);
	assert_int_equal(st.exhausted, 2);
	assert_int_equal(st.min_free, 0);
	assert_int_equal(st.free_now, 0);
	/* The empty pool is intact: one back, one out again. */
	assert_int_equal(rtpool_put(&p, b[3]), RTPOOL_OK);
	x = rtpool_get(&p);
	assert_ptr_equal(x, b[3]);
	assert_null(rtpool_get(&p));
	rtpool_stats(&p, &st);
	assert_int_equal(st.exhausted, 3);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	assert_int_equal(rtpool_check(&p, NULL), RTPOOL_OK);
	rtpool_done(&p);
}

static void
test_double_return(void **state)
{
	struct rtpool p;
	struct rtpool_stats st;
	void *b[8], *a, *c;
	size_t nfree, i;

	(void)state;
	assert_int_equal(rtpool_init(&p, 256, 8), RTPOOL_OK);
	/* A block that was never taken is free: returning it is double. */
	assert_int_equal(rtpool_put(&p, rtpool_block(&p, 5)), RTPOOL_EDOUBLE);
	a = rtpool_get(&p);
	c = rtpool_get(&p);
	assert_int_equal(rtpool_put(&p, a), RTPOOL_OK);
	assert_int_equal(rtpool_put(&p, a), RTPOOL_EDOUBLE);
	assert_int_equal(rtpool_put(&p, a), RTPOOL_EDOUBLE);
	rtpool_stats(&p, &st);
	assert_int_equal(st.double_returns, 3);
	assert_int_equal(st.free_now, 7);	/* c is still out */
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, 7);
	assert_int_equal(rtpool_put(&p, c), RTPOOL_OK);
	/* Had a gone on the list twice, it would come out twice now. */
	take_all(&p, b, 8);
	assert_null(rtpool_get(&p));
	for (i = 0; i < 8; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	assert_int_equal(rtpool_put(&p, b[0]), RTPOOL_EDOUBLE);
	rtpool_stats(&p, &st);
	assert_int_equal(st.double_returns, 4);
	assert_int_equal(st.free_now, 8);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, 8);
	rtpool_done(&p);
}

static void
test_foreign(void **state)
{
	struct rtpool p, q;
	struct rtpool_stats st;
	unsigned char *b, *last, *base;
	char local[128];
	void *heap;
	size_t nfree;

	(void)state;
	assert_int_equal(rtpool_init(&p, 128, 4), RTPOOL_OK);
	assert_int_equal(rtpool_init(&q, 128, 4), RTPOOL_OK);
	heap = malloc(128);
	assert_non_null(heap);
	b = rtpool_get(&p);
	base = rtpool_block(&p, 0);
	last = rtpool_block(&p, 3);
	assert_int_equal(rtpool_put(&p, NULL), RTPOOL_EINVAL);
	assert_int_equal(rtpool_put(&p, local), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, heap), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, b + 1), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, b + 64), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, b + 127), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, base - 128), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, last + 128), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&p, rtpool_block(&q, 0)), RTPOOL_EFOREIGN);
	assert_int_equal(rtpool_put(&q, b), RTPOOL_EFOREIGN);
	assert_false(rtpool_owns(&p, b + 1));
	assert_false(rtpool_owns(&p, local));
	assert_false(rtpool_owns(&q, b));
	assert_int_equal(rtpool_index(&p, b + 64), RTPOOL_NOINDEX);
	assert_int_equal(rtpool_index(&p, last + 128), RTPOOL_NOINDEX);
	assert_int_equal(rtpool_index(&p, NULL), RTPOOL_NOINDEX);
	/* Nothing above changed either pool. */
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, 3);
	assert_int_equal(st.double_returns, 0);
	assert_int_equal(rtpool_put(&p, b), RTPOOL_OK);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, 4);
	assert_int_equal(rtpool_check(&q, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, 4);
	free(heap);
	rtpool_done(&p);
	rtpool_done(&q);
}

static void
test_stats_reset(void **state)
{
	struct rtpool p;
	struct rtpool_stats st;
	void *b[8];
	size_t i;

	(void)state;
	assert_int_equal(rtpool_init(&p, 64, 8), RTPOOL_OK);
	for (i = 0; i < 5; i++)
		b[i] = rtpool_get(&p);
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, 3);
	assert_int_equal(rtpool_put(&p, b[0]), RTPOOL_OK);
	assert_int_equal(rtpool_put(&p, b[0]), RTPOOL_EDOUBLE);
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, 4);
	assert_int_equal(st.min_free, 3);
	for (i = 5; i < 8; i++)
		b[i] = rtpool_get(&p);
	b[0] = rtpool_get(&p);
	assert_null(rtpool_get(&p));
	for (i = 0; i < 6; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, 6);
	assert_int_equal(st.min_free, 0);
	assert_int_equal(st.exhausted, 1);
	rtpool_stats_reset(&p);
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, 6);
	assert_int_equal(st.min_free, 6);
	assert_int_equal(st.exhausted, 0);
	assert_int_equal(st.double_returns, 1);	/* bugs are not reset */
	(void)rtpool_get(&p);
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, 5);
	rtpool_done(&p);
}

static void
test_rounding_and_limits(void **state)
{
	static const size_t ask[] = { 1, 63, 64, 65, 127, 128, 1000, 4096 };
	static const size_t got[] = { 64, 64, 64, 128, 128, 128, 1024, 4096 };
	struct rtpool p;
	struct rtpool_stats st;
	unsigned char *a, *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ask) / sizeof(ask[0]); i++) {
		assert_int_equal(rtpool_init(&p, ask[i], 3), RTPOOL_OK);
		rtpool_stats(&p, &st);
		assert_int_equal(st.block_size, got[i]);
		a = rtpool_get(&p);
		b = rtpool_get(&p);
		assert_int_equal((size_t)(b - a), got[i]);
		assert_int_equal((uintptr_t)a % 64, 0);
		assert_int_equal((uintptr_t)b % 64, 0);
		rtpool_done(&p);
	}
	assert_int_equal(rtpool_init(&p, 0, 3), RTPOOL_EINVAL);
	assert_int_equal(rtpool_init(&p, 64, 0), RTPOOL_EINVAL);
	assert_int_equal(rtpool_init(&p, 64, (size_t)UINT32_MAX + 1),
	    RTPOOL_EINVAL);
	assert_int_equal(rtpool_init(&p, SIZE_MAX, 2), RTPOOL_ENOMEM);
	assert_int_equal(rtpool_init(&p, SIZE_MAX / 4, 8), RTPOOL_ENOMEM);
	/* A failed init leaves a struct that done and the calls accept. */
	assert_null(rtpool_get(&p));
	assert_int_equal(rtpool_put(&p, &p), RTPOOL_EFOREIGN);
	rtpool_done(&p);
}

static void
test_strerror(void **state)
{
	int e, f;

	(void)state;
	for (e = RTPOOL_OK; e <= RTPOOL_ECORRUPT; e++) {
		assert_non_null(rtpool_strerror(e));
		for (f = RTPOOL_OK; f < e; f++)
			assert_true(strcmp(rtpool_strerror(e),
			    rtpool_strerror(f)) != 0);
	}
	assert_string_equal(rtpool_strerror(-1), "unknown rtpool error");
	assert_string_equal(rtpool_strerror(999), "unknown rtpool error");
}

#if !MLOCK_IS_FAKE
/*
 * Drops CAP_IPC_LOCK from the effective set, so that a root test run sees
 * RLIMIT_MEMLOCK the way an unprivileged daemon does.
 */
static int
drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* In a child: a refused mlock warns and counts, and is not a failure. */
static int
mlock_refused_child(void)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	struct rtpool p;
	struct rtpool_stats st;
	unsigned before = rtpool_mlock_refusals();
	void *b;

	if (drop_ipc_lock() != 0 || setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return 2;
	if (rtpool_init(&p, 4096, 256) != RTPOOL_OK)	/* 1 MiB */
		return 3;
	rtpool_stats(&p, &st);
	if (st.locked != 0 || rtpool_mlock_refusals() != before + 1)
		return 4;
	b = rtpool_get(&p);
	if (b == NULL || rtpool_put(&p, b) != RTPOOL_OK)
		return 5;
	rtpool_done(&p);
	return 0;
}

static void
test_mlock_refused(void **state)
{
	struct rtpool p;
	struct rtpool_stats st;
	pid_t pid;
	int status;

	(void)state;
	/* Within the limit (or privileged): locked. */
	assert_int_equal(rtpool_init(&p, 64, 4), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.locked, 1);
	rtpool_done(&p);

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(mlock_refused_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
#endif /* !MLOCK_IS_FAKE */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_get_put),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_double_return),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_stats_reset),
		cmocka_unit_test(test_rounding_and_limits),
		cmocka_unit_test(test_strerror),
#if !MLOCK_IS_FAKE
		/* Not under ASan (see MLOCK_IS_FAKE): not run, not faked. */
		cmocka_unit_test(test_mlock_refused),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
