/*
 * Stress test of the histogram's sequence lock: one thread records (in
 * bursts with pauses, the rhythm of an audio callback) while another takes
 * snapshots as fast as it can.  The writer records g(k mod CYCLE) for
 * k = 0, 1, 2..., with values from 1 ns to 20 s (some above the
 * histogram's range), and resets the histogram every R records (R prime,
 * so resets drift through the cycle).  So a snapshot holding T values is
 * consistent only if, for the current epoch e, it holds exactly the values
 * g(e * R .. e * R + T - 1): the sum of its bucket counts must be T, and
 * its sum, min and max must be those of that run of g.  A torn copy (half
 * a record, half a reset) fails this.
 * The final snapshot must equal the writer's histogram.
 *
 * ck's atomics are inline assembly that ThreadSanitizer cannot see, so this
 * is the proof.  Prints TAP; exits non-zero on failure.
 * Usage: stress_rtpool_hist [--quick]
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rtclock.h"
#include "rtpool/rthist.h"
#include "tests/stress/tap.h"

#define CYCLE 4096

static uint64_t g[CYCLE], prefix[CYCLE + 1], gmin = UINT64_MAX, gmax;
static struct rthist live, snap, last;
static uint64_t writes;
static uint64_t reset_every;	/* prime: resets drift through the cycle */
static unsigned writer_done;

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Sum of g(k mod CYCLE) for k in [0, n). */
static uint64_t
g_sum_to(uint64_t n)
{
	return n / CYCLE * prefix[CYCLE] + prefix[n % CYCLE];
}

static void *
writer(void *arg)
{
	uint64_t k, until;
	unsigned burst = 0;

	(void)arg;
	for (k = 0; k < writes; k++) {
		if (k > 0 && k % reset_every == 0)
			rthist_reset(&live);
		rthist_record(&live, g[k % CYCLE]);
		if (burst-- == 0) {
			/* 1..64 records, then 5..40 us of "audio period". */
			burst = (unsigned)(next_rand() % 64);
			until = rtclock_ns() + 5000 + next_rand() % 35000;
			while (rtclock_ns() < until)
				ck_pr_stall();
		}
	}
	/* Publishes the last record before the flag (release). */
	ck_pr_fence_store();
	ck_pr_store_uint(&writer_done, 1);
	return NULL;
}

/*
 * Does snapshot s match epoch e: the T = s->total values from
 * g(e * reset_every) on?
 */
static int
matches(const struct rthist *s, uint64_t e)
{
	uint64_t a = e * reset_every, t = s->total, lo = UINT64_MAX, hi = 0;
	uint64_t k;

	if (a >= writes || (e + 1) * reset_every < a + t)
		return 0;
	if (s->sum != g_sum_to(a + t) - g_sum_to(a))
		return 0;
	if (t == 0)
		return s->min == UINT64_MAX && s->max == 0;
	if (t >= CYCLE) {
		lo = gmin;
		hi = gmax;
	} else {
		for (k = a; k < a + t; k++) {
			lo = g[k % CYCLE] < lo ? g[k % CYCLE] : lo;
			hi = g[k % CYCLE] > hi ? g[k % CYCLE] : hi;
		}
	}
	return s->min == lo && s->max == hi;
}

int
main(int argc, char **argv)
{
	pthread_t t;
	uint64_t snapshots = 0, retries = 0, bad_counts = 0, bad_values = 0;
	uint64_t epoch = 0, epochs, e, skipped = 0, total, t0, i;
	unsigned done;
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	double secs;

	writes = quick ? 1000000 : 10000000;
	reset_every = quick ? 100003 : 1000003;
	epochs = (writes - 1) / reset_every;
	printf("1..3\n");
	for (i = 0; i < CYCLE; i++) {
		/* Log-uniform over 1 ns .. 20 s: every bucket range. */
		g[i] = (uint64_t)exp((double)(next_rand() >> 11) /
		    9007199254740992.0 * log(2e10));
		if (i % 16 == 0)	/* callback-like values, mostly */
			g[i] = 20000 + next_rand() % 60000;
		prefix[i + 1] = prefix[i] + g[i];
		gmin = g[i] < gmin ? g[i] : gmin;
		gmax = g[i] > gmax ? g[i] : gmax;
	}
	rthist_init(&live);
	t0 = rtclock_ns();
	if (pthread_create(&t, NULL, writer, NULL) != 0) {
		tap(1, 0, "pthread_create");
		return 1;
	}
	do {
		/* Acquire: pairs with the writer's release of writer_done. */
		done = ck_pr_load_uint(&writer_done);
		ck_pr_fence_load();
		retries += rthist_snapshot(&live, &snap);
		snapshots++;
		for (i = 0, total = 0; i < RTHIST_BUCKETS; i++)
			total += snap.counts[i];
		if (total != snap.total)
			bad_counts++;
		/*
		 * The epoch only moves on, and a slow snapshot (one that
		 * retried for long, or a sanitized build) may skip several.
		 */
		for (e = epoch; e <= epochs; e++)
			if (matches(&snap, e))
				break;
		if (e <= epochs) {
			skipped = e - epoch > skipped ? e - epoch : skipped;
			epoch = e;
		} else
			bad_values++;
	} while (!done);
	pthread_join(t, NULL);
	secs = (double)(rtclock_ns() - t0) / 1e9;
	rthist_snapshot(&live, &last);

	tap(1, bad_counts == 0, "%llu records (a reset every %llu) against "
	    "%llu snapshots (%llu retried) in %.2f s: bucket counts always "
	    "sum to the total (%llu did not)", (unsigned long long)writes,
	    (unsigned long long)reset_every, (unsigned long long)snapshots,
	    (unsigned long long)retries, secs,
	    (unsigned long long)bad_counts);
	tap(2, bad_values == 0 && retries > 0, "every snapshot holds exactly "
	    "the first T records of its epoch: sum, min, max (%llu did not); "
	    "the retry path ran %llu times; at most %llu epochs passed "
	    "between snapshots", (unsigned long long)bad_values,
	    (unsigned long long)retries, (unsigned long long)skipped);
	tap(3, last.total == writes - (writes - 1) / reset_every *
	    reset_every && last.sum == live.sum && last.min == live.min &&
	    last.max == live.max && memcmp(last.counts, live.counts,
	    sizeof(live.counts)) == 0, "the final snapshot equals the writer's "
	    "histogram (%llu values)", (unsigned long long)last.total);
	return failures ? 1 : 0;
}
