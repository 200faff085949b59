/*
 * Stress test of the block pool's lock-free free list: several threads (more
 * than this machine has cores, so that some are preempted in the middle of
 * a compare-and-swap) take and return blocks from a pool small enough to
 * run dry now and then.  Each holder stamps every word of its blocks with
 * its own id and a serial and checks the stamp is intact before returning
 * it, and checks on taking a block that its last holder had marked it free:
 * a block handed to two threads at once, or handed out while still held,
 * breaks one of those.  At the end every block must be free, once: the
 * pool's count, a walk of the list, and a drain of the whole pool agree.
 *
 * ck's atomics are inline assembly that ThreadSanitizer cannot see, so this
 * is the proof.  Prints TAP; exits non-zero on failure.
 * Usage: stress_rtpool_pool [--quick]
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ck_pr.h>

#include "rtpool/rtpool.h"
#include "tests/stress/tap.h"

#define THREADS 4
#define NBLOCKS 12		/* THREADS * MAXHOLD > NBLOCKS: exhaustion */
#define MAXHOLD 4
#define BLOCK 100		/* rounded up to 128 by the pool */
#define WORDS (128 / sizeof(uint64_t))
#define FREE_MARK UINT64_C(0xf4eef4eef4eef4ee)

static struct rtpool pool;
static pthread_barrier_t start;
static unsigned long per_thread;	/* gets each thread aims for */

struct worker {
	pthread_t thread;
	unsigned id;
	uint64_t rng;
	unsigned long gets, empties;
	unsigned long stamp_errors, free_mark_errors, put_errors;
};

static uint64_t
next_rand(uint64_t *s)
{
	/* xorshift64: cheap, per thread. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t
word(uint64_t stamp, size_t j)
{
	return stamp ^ (j * UINT64_C(0x9e3779b97f4a7c15));
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	uint64_t *held[MAXHOLD], stamp[MAXHOLD], serial = 0;
	unsigned n, k;
	size_t j;

	pthread_barrier_wait(&start);
	while (w->gets < per_thread) {
		n = 1 + (unsigned)(next_rand(&w->rng) % MAXHOLD);
		for (k = 0; k < n; k++) {
			held[k] = rtpool_get(&pool);
			if (held[k] == NULL) {
				w->empties++;
				break;
			}
			w->gets++;
			/* Its last holder marked it free before putting it. */
			for (j = 0; j < WORDS; j++)
				if (held[k][j] != word(FREE_MARK, j))
					w->free_mark_errors++;
			stamp[k] = (uint64_t)w->id << 56 | ++serial;
			for (j = 0; j < WORDS; j++)
				held[k][j] = word(stamp[k], j);
		}
		n = k;
		/* Give other threads a chance to interleave while we hold. */
		if (next_rand(&w->rng) % 8 == 0)
			sched_yield();
		for (k = 0; k < n; k++) {
			for (j = 0; j < WORDS; j++)
				if (held[k][j] != word(stamp[k], j))
					w->stamp_errors++;
			for (j = 0; j < WORDS; j++)
				held[k][j] = word(FREE_MARK, j);
			if (rtpool_put(&pool, held[k]) != RTPOOL_OK)
				w->put_errors++;
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct worker w[THREADS];
	struct rtpool_stats st;
	struct timespec t0, t1;
	unsigned long gets = 0, empties = 0, stamp_err = 0, mark_err = 0;
	unsigned long put_err = 0;
	unsigned char seen[NBLOCKS];
	void *all[NBLOCKS];
	size_t nfree, i, idx;
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0, distinct = 1;
	int checked;
	double secs;
	unsigned t;

	per_thread = (quick ? 3000000ul : 30000000ul) / THREADS;
	printf("1..5\n");
	if (rtpool_init(&pool, BLOCK, NBLOCKS) != RTPOOL_OK) {
		tap(1, 0, "rtpool_init");
		return 1;
	}
	for (i = 0; i < NBLOCKS; i++) {
		uint64_t *b = rtpool_block(&pool, i);

		for (size_t j = 0; j < WORDS; j++)
			b[j] = word(FREE_MARK, j);
	}
	pthread_barrier_init(&start, NULL, THREADS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (t = 0; t < THREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].id = t + 1;
		w[t].rng = 0x2545f4914f6cdd1dull * (t + 1);
		if (pthread_create(&w[t].thread, NULL, work, &w[t]) != 0) {
			tap(1, 0, "pthread_create");
			return 1;
		}
	}
	for (t = 0; t < THREADS; t++) {
		pthread_join(w[t].thread, NULL);
		gets += w[t].gets;
		empties += w[t].empties;
		stamp_err += w[t].stamp_errors;
		mark_err += w[t].free_mark_errors;
		put_err += w[t].put_errors;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	tap(1, stamp_err == 0 && mark_err == 0, "%d threads, %lu gets + %lu "
	    "puts of %d blocks in %.2f s: every stamp intact (%lu stamp, %lu "
	    "free-mark errors)", THREADS, gets, gets, NBLOCKS, secs,
	    stamp_err, mark_err);
	tap(2, put_err == 0, "every put accepted (%lu refused)", put_err);
	rtpool_stats(&pool, &st);
	tap(3, st.double_returns == 0 && st.exhausted == empties &&
	    empties > 0 && st.min_free == 0, "counters agree: %lu empty gets "
	    "seen, %llu counted, %llu double returns, min_free %zu", empties,
	    (unsigned long long)st.exhausted,
	    (unsigned long long)st.double_returns, st.min_free);
	nfree = 0;
	checked = rtpool_check(&pool, &nfree);
	tap(4, st.free_now == NBLOCKS && checked == RTPOOL_OK &&
	    nfree == NBLOCKS,
	    "all blocks back: free_now %zu, free-list walk %zu, of %d",
	    st.free_now, nfree, NBLOCKS);
	/* Drain: each block exactly once, then nothing. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NBLOCKS; i++) {
		all[i] = rtpool_get(&pool);
		idx = rtpool_index(&pool, all[i]);
		if (all[i] == NULL || idx == RTPOOL_NOINDEX || seen[idx]++)
			distinct = 0;
	}
	if (rtpool_get(&pool) != NULL)
		distinct = 0;
	for (i = 0; i < NBLOCKS; i++)
		if (all[i] != NULL && rtpool_put(&pool, all[i]) != RTPOOL_OK)
			distinct = 0;
	tap(5, distinct && rtpool_check(&pool, &nfree) == RTPOOL_OK &&
	    nfree == NBLOCKS, "a final drain hands out each of the %d blocks "
	    "once, none lost, none duplicated", NBLOCKS);
	rtpool_done(&pool);
	pthread_barrier_destroy(&start);
	return failures ? 1 : 0;
}
