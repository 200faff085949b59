/*
 * Unit tests of the block pool (rtpool/rtpool.c): the contract of each
 * call, on pools without magazines (under RTPOOL_MAG_MIN_BLOCKS) and with
 * them, and the stated bounds of the magazines with a second thread in
 * step with the test.  The concurrent paths are proven by
 * tests/stress/stress_rtpool_pool.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <pthread.h>
#include <semaphore.h>
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

/* A pool with magazines: 1024 blocks of 64 bytes. */
#define MAGPOOL 1024

static void
test_magazine_one_thread(void **state)
{
	static void *b[MAGPOOL];
	struct rtpool p;
	struct rtpool_stats st;
	size_t i, nfree;
	void *x;

	(void)state;
	assert_int_equal(rtpool_init(&p, 64, MAGPOOL), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.magazine, RTPOOL_MAG);
	assert_int_equal(st.threads, 0);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.free_now, MAGPOOL);
	/* The first get loads a magazine: the thread now holds 31 more. */
	b[0] = rtpool_get(&p);
	assert_int_equal(rtpool_index(&p, b[0]), 0);
	rtpool_stats(&p, &st);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.cached, RTPOOL_MAG - 1);
	/* 16 magazines of blocks: a quarter of them, 4, in a stash. */
	assert_int_equal(st.stash, 4);
	assert_int_equal(st.cache_bound, (2 + 4) * RTPOOL_MAG);
	assert_int_equal(st.free_now, MAGPOOL - 1);
	assert_int_equal(st.min_free, MAGPOOL - 1);
	/* Fresh magazines hand blocks out in order, across the depot too. */
	for (i = 1; i < 100; i++) {
		b[i] = rtpool_get(&p);
		assert_int_equal(rtpool_index(&p, b[i]), i);
	}
	/* One thread alone: the low-water mark is exact, between events too. */
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, MAGPOOL - 100);
	assert_int_equal(st.min_free, MAGPOOL - 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	for (i = 0; i < 37; i++)
		b[i] = rtpool_get(&p);
	rtpool_stats(&p, &st);
	assert_int_equal(st.free_now, MAGPOOL - 37);
	assert_int_equal(st.min_free, MAGPOOL - 100);
	/* A stack still: the last block returned is the next handed out. */
	assert_int_equal(rtpool_put(&p, b[36]), RTPOOL_OK);
	assert_ptr_equal(rtpool_get(&p), b[36]);
	for (i = 0; i < 37; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, MAGPOOL);
	rtpool_stats_reset(&p);
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, MAGPOOL);
	/* Every block, each once, then exhaustion, counted exactly. */
	take_all(&p, b, MAGPOOL);
	assert_null(rtpool_get(&p));
	x = rtpool_get(&p);
	assert_null(x);
	rtpool_stats(&p, &st);
	assert_int_equal(st.exhausted, 2);
	assert_int_equal(st.min_free, 0);
	assert_int_equal(st.cached, 0);
	/* Double and foreign puts, as without magazines. */
	assert_int_equal(rtpool_put(&p, b[5]), RTPOOL_OK);
	assert_int_equal(rtpool_put(&p, b[5]), RTPOOL_EDOUBLE);
	assert_int_equal(rtpool_put(&p, (char *)b[6] + 64 / 2),
	    RTPOOL_EFOREIGN);
	assert_ptr_equal(rtpool_get(&p), b[5]);
	assert_null(rtpool_get(&p));
	for (i = 0; i < MAGPOOL; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	assert_int_equal(rtpool_put(&p, b[0]), RTPOOL_EDOUBLE);
	rtpool_stats(&p, &st);
	assert_int_equal(st.double_returns, 2);
	assert_int_equal(st.free_now, MAGPOOL);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, MAGPOOL);
	rtpool_done(&p);
}

/*
 * A burst of up to 2 + stash magazines, taken and given back, stays in the
 * thread: the depot is left as it was.  A longer one leaves the rest there.
 */
static void
test_magazine_stash(void **state)
{
	static void *b[MAGPOOL];
	struct rtpool p;
	struct rtpool_stats st;
	size_t i, nfree;

	(void)state;
	assert_int_equal(rtpool_init(&p, 64, MAGPOOL), RTPOOL_OK);
	for (i = 0; i < 5 * RTPOOL_MAG; i++)
		assert_non_null(b[i] = rtpool_get(&p));
	for (i = 0; i < 5 * RTPOOL_MAG; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.cached, 5 * RTPOOL_MAG);
	assert_int_equal(st.free_now, MAGPOOL);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, MAGPOOL);
	/* The low-water mark counts the stash: exact, one thread alone. */
	rtpool_stats_reset(&p);
	for (i = 0; i < 2 * RTPOOL_MAG + 2; i++)
		assert_non_null(b[i] = rtpool_get(&p));
	for (i = 0; i < 2 * RTPOOL_MAG + 2; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, MAGPOOL - 2 * RTPOOL_MAG - 2);
	/* Seven magazines: the thread keeps six, its bound, and no more. */
	for (i = 0; i < 7 * RTPOOL_MAG; i++)
		assert_non_null(b[i] = rtpool_get(&p));
	rtpool_stats(&p, &st);
	assert_int_equal(st.min_free, MAGPOOL - 7 * RTPOOL_MAG);
	for (i = 0; i < 7 * RTPOOL_MAG; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.cached, st.cache_bound);
	assert_int_equal(st.cached, (2 + 4) * RTPOOL_MAG);
	assert_int_equal(st.min_free, MAGPOOL - 7 * RTPOOL_MAG);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, MAGPOOL);
	/* Every block still reachable by this thread, each once. */
	take_all(&p, b, MAGPOOL);
	assert_null(rtpool_get(&p));
	for (i = 0; i < MAGPOOL; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_done(&p);
	/* A pool of 4 magazines' blocks: a stash of one, at most 3 held. */
	assert_int_equal(rtpool_init(&p, 64, RTPOOL_MAG_MIN_BLOCKS),
	    RTPOOL_OK);
	take_all(&p, b, RTPOOL_MAG_MIN_BLOCKS);
	for (i = 0; i < RTPOOL_MAG_MIN_BLOCKS; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	rtpool_stats(&p, &st);
	assert_int_equal(st.stash, 1);
	assert_int_equal(st.cached, 3 * RTPOOL_MAG);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, RTPOOL_MAG_MIN_BLOCKS);
	rtpool_done(&p);
}

/* A second thread in step with the test. */
struct helper {
	struct rtpool *p;
	sem_t go, done;
	int step;		/* what to do next */
	size_t n;		/* blocks in b[] */
	void *b[300];
};

static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	size_t i;

	for (;;) {
		sem_wait(&h->go);
		switch (h->step) {
		case 1:	/* take 300, give back 290: its stash holds some */
			for (i = 0; i < 300; i++)
				h->b[i] = rtpool_get(h->p);
			for (i = 10; i < 300; i++)
				(void)rtpool_put(h->p, h->b[i]);
			h->n = 10;
			break;
		default:	/* exit, holding h->n blocks */
			sem_post(&h->done);
			return NULL;
		}
		sem_post(&h->done);
	}
}

static void
test_magazine_bound_and_exit(void **state)
{
	static void *b[MAGPOOL];
	struct rtpool p;
	struct rtpool_stats st;
	struct helper h;
	pthread_t t;
	size_t i, got, nfree;

	(void)state;
	assert_int_equal(rtpool_init(&p, 100, MAGPOOL), RTPOOL_OK);
	memset(&h, 0, sizeof(h));
	h.p = &p;
	sem_init(&h.go, 0, 0);
	sem_init(&h.done, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, helper_main, &h), 0);
	h.step = 1;
	sem_post(&h.go);
	sem_wait(&h.done);
	rtpool_stats(&p, &st);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.free_now, MAGPOOL - 10);
	/* More than its two magazines hold: the stash keeps the rest. */
	assert_true(st.cached > 2 * RTPOOL_MAG);
	assert_true(st.cached <= st.cache_bound);
	assert_int_equal(st.cache_bound, (2 + 4) * RTPOOL_MAG);
	/*
	 * This thread can take everything but what the other's magazines
	 * hold: exactly `cached` blocks, within the stated bound.
	 */
	for (got = 0; (b[got] = rtpool_get(&p)) != NULL; got++)
		;
	assert_int_equal(got, MAGPOOL - 10 - st.cached);
	rtpool_stats(&p, &st);
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.exhausted, 1);
	assert_int_equal(st.min_free, 0);
	assert_int_equal(st.free_now, MAGPOOL - 10 - got);
	/* The helper exits: its magazines go back to the depot. */
	h.step = 0;
	sem_post(&h.go);
	sem_wait(&h.done);
	assert_int_equal(pthread_join(t, NULL), 0);
	rtpool_stats(&p, &st);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.free_now, MAGPOOL - 10 - got);
	assert_int_equal(st.cached, 0);
	for (; got < MAGPOOL - 10; got++) {
		b[got] = rtpool_get(&p);
		assert_non_null(b[got]);
	}
	assert_null(rtpool_get(&p));
	/* What the helper still held, given back by this thread. */
	for (i = 0; i < h.n; i++)
		assert_int_equal(rtpool_put(&p, h.b[i]), RTPOOL_OK);
	for (i = 0; i < got; i++)
		assert_int_equal(rtpool_put(&p, b[i]), RTPOOL_OK);
	assert_int_equal(rtpool_check(&p, &nfree), RTPOOL_OK);
	assert_int_equal(nfree, MAGPOOL);
	sem_destroy(&h.go);
	sem_destroy(&h.done);
	rtpool_done(&p);
}

/* Past RTPOOL_MAX_POOLS pools with magazines, the next has none, and works. */
static void
test_magazine_pools_run_out(void **state)
{
	static struct rtpool p[RTPOOL_MAX_POOLS];
	struct rtpool old;
	struct rtpool_stats st;
	size_t i, nfree;
	void *x;

	(void)state;
	for (i = 0; i < RTPOOL_MAX_POOLS; i++) {
		assert_int_equal(rtpool_init(&p[i], 64, RTPOOL_MAG_MIN_BLOCKS),
		    RTPOOL_OK);
		x = rtpool_get(&p[i]);
		assert_non_null(x);
		assert_int_equal(rtpool_put(&p[i], x), RTPOOL_OK);
		rtpool_stats(&p[i], &st);
		/* Id 0 is no pool's: 1 .. MAX - 1 have magazines. */
		assert_int_equal(st.magazine,
		    i + 1 < RTPOOL_MAX_POOLS ? RTPOOL_MAG : 0);
		assert_int_equal(st.free_now, RTPOOL_MAG_MIN_BLOCKS);
	}
	/* A pool made again without done keeps a place (the old one). */
	old = p[3];
	assert_int_equal(rtpool_init(&p[3], 64, RTPOOL_MAG_MIN_BLOCKS),
	    RTPOOL_OK);
	rtpool_stats(&p[3], &st);
	assert_int_equal(st.magazine, RTPOOL_MAG);
	rtpool_done(&old);	/* unmaps the old memory, and nothing else */
	rtpool_stats(&p[3], &st);
	assert_int_equal(st.free_now, RTPOOL_MAG_MIN_BLOCKS);
	/* A pool done frees its place for the next. */
	rtpool_done(&p[7]);
	assert_int_equal(rtpool_init(&p[7], 64, RTPOOL_MAG_MIN_BLOCKS),
	    RTPOOL_OK);
	rtpool_stats(&p[7], &st);
	assert_int_equal(st.magazine, RTPOOL_MAG);
	/* Smaller pools never have magazines. */
	rtpool_done(&p[8]);
	assert_int_equal(rtpool_init(&p[8], 64, RTPOOL_MAG_MIN_BLOCKS - 1),
	    RTPOOL_OK);
	rtpool_stats(&p[8], &st);
	assert_int_equal(st.magazine, 0);
	for (i = 0; i < RTPOOL_MAX_POOLS; i++) {
		assert_int_equal(rtpool_check(&p[i], &nfree), RTPOOL_OK);
		rtpool_done(&p[i]);
	}
}

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
		cmocka_unit_test(test_magazine_one_thread),
		cmocka_unit_test(test_magazine_stash),
		cmocka_unit_test(test_magazine_bound_and_exit),
		cmocka_unit_test(test_magazine_pools_run_out),
#if !MLOCK_IS_FAKE
		/* Not under ASan (see MLOCK_IS_FAKE): not run, not faked. */
		cmocka_unit_test(test_mlock_refused),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
