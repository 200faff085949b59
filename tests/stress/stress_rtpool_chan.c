/*
 * Stress test of the SPSC channels, laid out as the daemon uses them: a
 * producer thread takes pool blocks, writes into each a record of odd size
 * (37 to 1021 bytes, a pattern derived from its sequence number) and pushes
 * them through a feed channel of capacity 7 (an 8-slot ring) in bursts of
 * odd length, so bursts keep straddling the ring's wrap point; a consumer
 * thread pops them, checks strict sequence order and every byte, marks them
 * consumed and hands them back through a return channel, from which the
 * producer puts them back into the pool.  At the end every block must be
 * back in the pool and both channels empty.
 *
 * ck's atomics are inline assembly that ThreadSanitizer cannot see, so this
 * is the proof.  Prints TAP; exits non-zero on failure.
 * Usage: stress_rtpool_chan [--quick]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ck_pr.h>

#include "rtpool/rtchan.h"
#include "rtpool/rtpool.h"
#include "tests/stress/tap.h"

#define NBLOCKS 10		/* few: the producer finds the pool dry */
#define FEED_CAP 7		/* ring of 8 */
#define MAX_LEN 1021
#define CONSUMED UINT64_C(0xc0c0c0c0c0c0c0c0)

struct record {
	uint64_t seq;		/* CONSUMED ^ seq once the consumer is done */
	uint32_t len;		/* bytes in data */
	unsigned char data[];
};

static struct rtpool pool;
static struct rtchan feed, ret;
static uint64_t total;		/* records to send */

/* Results, each written by one thread and read after join. */
static uint64_t bad_order, bad_len, bad_bytes, bad_count_c;
static uint64_t bad_mark, bad_put, bad_count_p, pool_dry, feed_full;
static uint64_t max_seen_count;

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

/* An odd length in 37 .. 1021 for each record. */
static uint32_t
len_of(uint64_t seq)
{
	return (uint32_t)(37 + 2 * (mix(seq) % ((MAX_LEN - 37) / 2 + 1)));
}

static void
fill(struct record *r, uint64_t seq)
{
	unsigned char seed = (unsigned char)mix(seq ^ 0x5bd1e995);
	uint32_t j;

	r->seq = seq;
	r->len = len_of(seq);
	for (j = 0; j < r->len; j++)
		r->data[j] = (unsigned char)(seed + j * 131u);
}

static int
intact(const struct record *r, uint64_t seq)
{
	unsigned char seed = (unsigned char)mix(seq ^ 0x5bd1e995), diff = 0;
	uint32_t j;

	for (j = 0; j < r->len; j++)
		diff |= r->data[j] ^ (unsigned char)(seed + j * 131u);
	return diff == 0;
}

static void *
consumer(void *arg)
{
	struct record *r;
	uint64_t expect = 0;
	unsigned n;

	(void)arg;
	while (expect < total) {
		n = rtchan_count(&feed);
		if (n > FEED_CAP)
			bad_count_c++;
		r = rtchan_pop_spsc(&feed);
		if (r == NULL) {
			ck_pr_stall();
			continue;
		}
		if (r->seq != expect)
			bad_order++;
		if (r->len != len_of(expect))
			bad_len++;
		else if (!intact(r, expect))
			bad_bytes++;
		r->seq = CONSUMED ^ expect;
		expect++;
		while (!rtchan_push_spsc(&ret, r))
			ck_pr_stall();	/* cannot happen: ret holds them all */
	}
	return NULL;
}

static uint64_t rng = 88172645463325252ull;

static unsigned
odd_burst(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return 1 + 2 * (unsigned)(rng % 7);	/* 1, 3, ..., 13 */
}

/*
 * Takes back what the consumer has finished with; *back counts the blocks
 * returned so far, which is also the sequence number of the next one, as
 * the consumer returns them in order.
 */
static void
recycle(uint64_t *back)
{
	struct record *r;

	while ((r = rtchan_pop_spsc(&ret)) != NULL) {
		if (r->seq != (CONSUMED ^ *back))
			bad_mark++;
		if (rtpool_put(&pool, r) != RTPOOL_OK)
			bad_put++;
		++*back;
	}
}

static void
producer(void)
{
	struct record *pending = NULL;
	uint64_t seq = 0, back = 0;
	unsigned burst, k, n;

	while (seq < total) {
		recycle(&back);
		burst = odd_burst();
		for (k = 0; k < burst && seq < total; k++) {
			if (pending == NULL) {
				pending = rtpool_get(&pool);
				if (pending == NULL) {
					pool_dry++;
					break;
				}
				fill(pending, seq);
			}
			if (!rtchan_push_spsc(&feed, pending)) {
				feed_full++;
				break;	/* keep it for the next burst */
			}
			pending = NULL;
			seq++;
		}
		n = rtchan_count(&feed);
		if (n > FEED_CAP)
			bad_count_p++;
		if (n > max_seen_count)
			max_seen_count = n;
		if (k < burst)
			ck_pr_stall();
	}
	/* Everything sent: wait for every block to come home. */
	while (back < total)
		recycle(&back);
}

int
main(int argc, char **argv)
{
	struct rtpool_stats st;
	struct timespec t0, t1;
	pthread_t t;
	size_t nfree = 0;
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0, checked;
	double secs;

	total = quick ? 1000000 : 10000000;
	printf("1..4\n");
	if (rtpool_init(&pool, sizeof(struct record) + MAX_LEN, NBLOCKS) ||
	    rtchan_init(&feed, FEED_CAP) || rtchan_init(&ret, NBLOCKS)) {
		tap(1, 0, "setup");
		return 1;
	}
	if (rtchan_capacity(&feed) != FEED_CAP) {
		tap(1, 0, "feed capacity %u, not %d", rtchan_capacity(&feed),
		    FEED_CAP);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pthread_create(&t, NULL, consumer, NULL) != 0) {
		tap(1, 0, "pthread_create");
		return 1;
	}
	producer();
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	tap(1, bad_order == 0 && bad_len == 0 && bad_bytes == 0,
	    "%llu records of 37..1021 bytes through an 8-slot ring "
	    "(%llu wraps) in %.2f s: in order and intact (%llu out of order, "
	    "%llu bad length, %llu bad bytes)", (unsigned long long)total,
	    (unsigned long long)(total / (FEED_CAP + 1)), secs,
	    (unsigned long long)bad_order, (unsigned long long)bad_len,
	    (unsigned long long)bad_bytes);
	tap(2, bad_mark == 0 && bad_put == 0, "every block came back through "
	    "the return channel marked consumed and was accepted by the pool "
	    "(%llu unmarked, %llu refused)", (unsigned long long)bad_mark,
	    (unsigned long long)bad_put);
	tap(3, bad_count_c == 0 && bad_count_p == 0 && max_seen_count ==
	    FEED_CAP && feed_full > 0, "rtchan_count never above capacity "
	    "from either end, the ring was full %llu times, the pool dry "
	    "%llu times", (unsigned long long)feed_full,
	    (unsigned long long)pool_dry);
	rtpool_stats(&pool, &st);
	checked = rtpool_check(&pool, &nfree);
	tap(4, st.free_now == NBLOCKS && checked == RTPOOL_OK &&
	    nfree == NBLOCKS && st.double_returns == 0 &&
	    rtchan_count(&feed) == 0 && rtchan_count(&ret) == 0 &&
	    rtchan_pop_spsc(&feed) == NULL && rtchan_pop_spsc(&ret) == NULL,
	    "at the end all %d blocks are free (count %zu, list walk %zu) and "
	    "both channels empty", NBLOCKS, st.free_now, nfree);
	rtchan_done(&feed);
	rtchan_done(&ret);
	rtpool_done(&pool);
	return failures ? 1 : 0;
}
