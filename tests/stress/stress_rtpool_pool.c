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
 * Then the same with magazines: a pool big enough to have them, more
 * threads than it has slots (so that some go without), bursts longer than
 * two magazines (so that magazines go to and from the depot all the time),
 * blocks handed to other threads through a mailbox and put there, and
 * threads that exit and are replaced while the others run (so that
 * magazines come back from exiting threads under load).  At the end no
 * thread holds a magazine, and every block is free, once.
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

#define M_THREADS (RTPOOL_THREADS + 4)	/* some without a slot */
#define M_BLOCKS 4096		/* magazines: >= RTPOOL_MAG_MIN_BLOCKS */
/* Longer than a thread's two magazines and its whole stash. */
#define M_MAXHOLD ((2 + RTPOOL_STASH) * RTPOOL_MAG + 16)
#define M_GENERATIONS 4		/* each worker is replaced this often */
#define MAILBOX 64

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

/* Blocks in transit between threads, with the stamp each must carry. */
static pthread_mutex_t mail_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *mail[MAILBOX];
static uint64_t mail_stamp[MAILBOX];
static unsigned nmail;

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

/* Checks block b carries stamp, then marks it free and puts it. */
static void
check_and_put(struct worker *w, uint64_t *b, uint64_t stamp)
{
	size_t j;

	for (j = 0; j < WORDS; j++)
		if (b[j] != word(stamp, j))
			w->stamp_errors++;
	for (j = 0; j < WORDS; j++)
		b[j] = word(FREE_MARK, j);
	if (rtpool_put(&pool, b) != RTPOOL_OK)
		w->put_errors++;
}

static void *
work_mag(void *arg)
{
	struct worker *w = arg;
	uint64_t *held[M_MAXHOLD], stamp[M_MAXHOLD], serial = 0, *b, st;
	unsigned n, k;
	size_t j;

	while (w->gets < per_thread) {
		n = 1 + (unsigned)(next_rand(&w->rng) % M_MAXHOLD);
		for (k = 0; k < n; k++) {
			held[k] = rtpool_get(&pool);
			if (held[k] == NULL) {
				w->empties++;
				break;
			}
			w->gets++;
			for (j = 0; j < WORDS; j++)
				if (held[k][j] != word(FREE_MARK, j))
					w->free_mark_errors++;
			stamp[k] = (uint64_t)w->id << 48 | ++serial;
			for (j = 0; j < WORDS; j++)
				held[k][j] = word(stamp[k], j);
		}
		n = k;
		if (next_rand(&w->rng) % 8 == 0)
			sched_yield();
		for (k = 0; k < n; k++) {
			/* One in four goes to another thread to put. */
			if (next_rand(&w->rng) % 4 == 0) {
				pthread_mutex_lock(&mail_lock);
				if (nmail < MAILBOX) {
					mail[nmail] = held[k];
					mail_stamp[nmail++] = stamp[k];
					held[k] = NULL;
				}
				pthread_mutex_unlock(&mail_lock);
			}
			if (held[k] != NULL)
				check_and_put(w, held[k], stamp[k]);
		}
		/* And what others left in the mailbox, this thread puts. */
		pthread_mutex_lock(&mail_lock);
		b = nmail > 0 ? mail[--nmail] : NULL;
		st = b != NULL ? mail_stamp[nmail] : 0;
		pthread_mutex_unlock(&mail_lock);
		if (b != NULL)
			check_and_put(w, b, st);
	}
	return NULL;
}

/* The magazine phase: TAP checks 6 .. 10. */
static void
stress_magazines(int quick)
{
	struct worker w[M_THREADS];
	struct rtpool_stats st;
	struct timespec t0, t1;
	unsigned long gets = 0, empties = 0, stamp_err = 0, mark_err = 0;
	unsigned long put_err = 0;
	static unsigned char seen[M_BLOCKS];
	static void *all[M_BLOCKS];
	size_t nfree, i, idx;
	int distinct = 1, checked, mine;
	double secs;
	unsigned t, g, spawned = 0;

	per_thread = (quick ? 2000000ul : 20000000ul) /
	    (M_THREADS * M_GENERATIONS);
	if (rtpool_init(&pool, BLOCK, M_BLOCKS) != RTPOOL_OK) {
		tap(6, 0, "rtpool_init with magazines");
		return;
	}
	for (i = 0; i < M_BLOCKS; i++) {
		uint64_t *b = rtpool_block(&pool, i);

		for (size_t j = 0; j < WORDS; j++)
			b[j] = word(FREE_MARK, j);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(w, 0, sizeof(w));
	/* Each worker, when done, is joined and replaced, the others running. */
	for (g = 0; g <= M_GENERATIONS; g++) {
		for (t = 0; t < M_THREADS; t++) {
			if (g > 0) {
				pthread_join(w[t].thread, NULL);
				gets += w[t].gets;
				empties += w[t].empties;
				stamp_err += w[t].stamp_errors;
				mark_err += w[t].free_mark_errors;
				put_err += w[t].put_errors;
			}
			if (g == M_GENERATIONS)
				continue;
			memset(&w[t], 0, sizeof(w[t]));
			w[t].id = ++spawned;
			w[t].rng = 0x2545f4914f6cdd1dull * spawned;
			if (pthread_create(&w[t].thread, NULL, work_mag,
			    &w[t]) != 0) {
				tap(6, 0, "pthread_create");
				exit(1);
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* What is left in the mailbox, this thread puts. */
	memset(&w[0], 0, sizeof(w[0]));
	mine = nmail > 0;
	while (nmail > 0) {
		nmail--;
		check_and_put(&w[0], mail[nmail], mail_stamp[nmail]);
	}
	stamp_err += w[0].stamp_errors;
	put_err += w[0].put_errors;

	tap(6, stamp_err == 0 && mark_err == 0, "magazines: %u threads in all "
	    "(%d at once, %d slots), %lu gets + %lu puts of %d blocks in %.2f "
	    "s, a quarter put by another thread: every stamp intact (%lu "
	    "stamp, %lu free-mark errors)", spawned, M_THREADS,
	    RTPOOL_THREADS, gets, gets, M_BLOCKS, secs, stamp_err, mark_err);
	tap(7, put_err == 0, "magazines: every put accepted (%lu refused)",
	    put_err);
	rtpool_stats(&pool, &st);
	tap(8, st.double_returns == 0 && st.exhausted == empties &&
	    empties > 0 && st.min_free == 0, "magazines: counters agree: %lu "
	    "empty gets seen, %llu counted, %llu double returns, min_free %zu",
	    empties, (unsigned long long)st.exhausted,
	    (unsigned long long)st.double_returns, st.min_free);
	nfree = 0;
	checked = rtpool_check(&pool, &nfree);
	tap(9, st.threads == (unsigned)mine && st.cached <= st.cache_bound &&
	    st.free_now == M_BLOCKS && checked == RTPOOL_OK &&
	    nfree == M_BLOCKS, "magazines: every exited thread's came back: "
	    "%u thread holding some (%d expected: this one, if it put the "
	    "mailbox's last), %zu blocks in them, free_now %zu, walk %zu (%s), "
	    "of %d", st.threads, mine, st.cached, st.free_now, nfree,
	    rtpool_strerror(checked), M_BLOCKS);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < M_BLOCKS; i++) {
		all[i] = rtpool_get(&pool);
		idx = rtpool_index(&pool, all[i]);
		if (all[i] == NULL || idx == RTPOOL_NOINDEX || seen[idx]++)
			distinct = 0;
	}
	if (rtpool_get(&pool) != NULL)
		distinct = 0;
	for (i = 0; i < M_BLOCKS; i++)
		if (all[i] != NULL && rtpool_put(&pool, all[i]) != RTPOOL_OK)
			distinct = 0;
	tap(10, distinct && rtpool_check(&pool, &nfree) == RTPOOL_OK &&
	    nfree == M_BLOCKS, "magazines: a final drain hands out each of "
	    "the %d blocks once, none lost, none duplicated", M_BLOCKS);
	rtpool_done(&pool);
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
	printf("1..10\n");
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
	stress_magazines(quick);
	return failures ? 1 : 0;
}
