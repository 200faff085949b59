/*
 * Unit tests of the latency histogram (rtpool/rthist.c): the bucket
 * layout, percentiles against the same data sorted, exact min/max/mean,
 * values above the range, reset, subtract, bars, and snapshots taken while
 * another thread records.  The long concurrent run is
 * tests/stress/stress_rtpool_hist.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rthist.h"

#define N 200000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* splitmix64: deterministic, so a failure can be replayed. */
static uint64_t
next_u64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double
next_unit(void)
{
	return ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct rthist *
new_hist(void)
{
	struct rthist *h = malloc(sizeof(*h));

	assert_non_null(h);
	rthist_init(h);
	return h;
}

static void
test_bucket_layout(void **state)
{
	unsigned i;
	uint64_t lo, hi, v;

	(void)state;
	assert_int_equal(rthist_bucket_low(0), 0);
	for (i = 0; i < RTHIST_BUCKETS; i++) {
		lo = rthist_bucket_low(i);
		hi = rthist_bucket_high(i);
		assert_true(lo <= hi);
		assert_int_equal(rthist_bucket_of(lo), i);
		assert_int_equal(rthist_bucket_of(hi), i);
		if (i + 1 < RTHIST_BUCKETS)
			assert_int_equal(rthist_bucket_low(i + 1), hi + 1);
		/* Width at most 1/512 of the values in it; exact below 1024. */
		if (lo < 1024)
			assert_int_equal(lo, hi);
		else
			assert_true((hi - lo + 1) * 512 <= lo);
	}
	assert_int_equal(rthist_bucket_high(RTHIST_BUCKETS - 1), RTHIST_TOP);
	assert_true(RTHIST_TOP >= 10000000000ull);	/* 10 s in ns */
	assert_int_equal(rthist_bucket_of(RTHIST_TOP + 1), RTHIST_BUCKETS - 1);
	assert_int_equal(rthist_bucket_of(UINT64_MAX), RTHIST_BUCKETS - 1);
	for (i = 0; i < 100000; i++) {
		v = next_u64() >> (next_u64() % 64);
		if (v > RTHIST_TOP)
			continue;
		assert_true(rthist_bucket_low(rthist_bucket_of(v)) <= v);
		assert_true(rthist_bucket_high(rthist_bucket_of(v)) >= v);
	}
}

/*
 * Records data[0..n) and checks every percentile against the sorted data,
 * then min, max, count and mean exactly.
 */
static void
check_against_sorted(uint64_t *data, size_t n)
{
	/* Percentiles in millionths, so the reference rank is exact. */
	static const uint64_t pm[] = { 0, 1, 1000, 10000, 100000, 250000,
	    500000, 750000, 900000, 990000, 999000, 999900, 999990, 1000000 };
	struct rthist *h = new_hist();
	struct rthist_summary s;
	uint64_t sum = 0, ref, got, rank, total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		rthist_record(h, data[i]);
		sum += data[i];
	}
	for (i = 0; i < RTHIST_BUCKETS; i++)
		total += h->counts[i];
	assert_int_equal(total, n);
	qsort(data, n, sizeof(*data), cmp_u64);
	for (i = 0; i < sizeof(pm) / sizeof(pm[0]); i++) {
		rank = (pm[i] * n + 999999) / 1000000;
		if (rank < 1)
			rank = 1;
		ref = data[rank - 1];
		got = rthist_percentile(h, (double)pm[i] / 10000.0);
		/* Not below the true value, within its bucket, <= max. */
		assert_true(got >= ref);
		assert_true(got <= data[n - 1]);
		if (rthist_bucket_of(ref) < RTHIST_BUCKETS - 1) {
			assert_int_equal(rthist_bucket_of(got),
			    rthist_bucket_of(ref));
			assert_true((got - ref) * 512 <= ref);
		} else {
			/* The top bucket, open above: max is the answer. */
			assert_int_equal(got, data[n - 1]);
		}
	}
	rthist_summarize(h, &s);
	assert_int_equal(s.count, n);
	assert_int_equal(s.min, data[0]);
	assert_int_equal(s.max, data[n - 1]);
	assert_true(s.mean == (double)sum / (double)n);
	assert_int_equal(s.p50, rthist_percentile(h, 50));
	assert_int_equal(s.p90, rthist_percentile(h, 90));
	assert_int_equal(s.p99, rthist_percentile(h, 99));
	assert_int_equal(s.p999, rthist_percentile(h, 99.9));
	assert_int_equal(rthist_percentile(h, 100), data[n - 1]);
	assert_int_equal(rthist_percentile(h, 150), data[n - 1]);
	assert_int_equal(rthist_percentile(h, -1), rthist_percentile(h, 0));
	free(h);
}

static void
test_percentiles(void **state)
{
	uint64_t *d = malloc(sizeof(*d) * N);
	size_t i;
	double u;

	(void)state;
	assert_non_null(d);
	/* Uniform, 1 ns .. 1 ms. */
	for (i = 0; i < N; i++)
		d[i] = 1 + next_u64() % 1000000;
	check_against_sorted(d, N);
	/* Log-uniform, 1 ns .. 10 s: every doubling equally likely. */
	for (i = 0; i < N; i++)
		d[i] = (uint64_t)exp(next_unit() * log(1e10));
	d[0] = 1;
	d[1] = 10000000000ull;
	check_against_sorted(d, N);
	/* Exponential, mean 50 us, with its long tail. */
	for (i = 0; i < N; i++)
		d[i] = 1 + (uint64_t)(-log(next_unit()) * 50000.0);
	check_against_sorted(d, N);
	/* Bimodal: callbacks near 20 us, some near 3 ms, a few of seconds. */
	for (i = 0; i < N; i++) {
		u = next_unit();
		if (u < 0.9)
			d[i] = 15000 + next_u64() % 10000;
		else if (u < 0.999)
			d[i] = 2000000 + next_u64() % 2000000;
		else
			d[i] = 1000000000ull + next_u64() % 9000000000ull;
	}
	check_against_sorted(d, N);
	/* Small integers: the exact buckets and the first log ones. */
	for (i = 0; i < N; i++)
		d[i] = next_u64() % 3000;
	check_against_sorted(d, N);
	/* Tiny sets: one value, two values. */
	d[0] = 777777;
	check_against_sorted(d, 1);
	d[0] = 5;
	d[1] = 123456789;
	check_against_sorted(d, 2);
	free(d);
}

static void
test_above_range(void **state)
{
	struct rthist *h = new_hist();
	struct rthist_summary s;
	uint64_t big = RTHIST_TOP * 3;

	(void)state;
	rthist_record(h, 1000);
	rthist_record(h, RTHIST_TOP + 1);
	rthist_record(h, big);
	assert_int_equal(h->counts[RTHIST_BUCKETS - 1], 2);
	rthist_summarize(h, &s);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.min, 1000);
	assert_int_equal(s.max, big);
	assert_true(s.mean == (double)(1000 + RTHIST_TOP + 1 + big) / 3.0);
	assert_int_equal(rthist_percentile(h, 100), big);
	assert_int_equal(rthist_percentile(h, 50), big);
	assert_int_equal(rthist_percentile(h, 33), 1000);
	free(h);
}

static void
test_empty_and_reset(void **state)
{
	struct rthist *h = new_hist();
	struct rthist_summary s;
	uint64_t e[5], c[4];
	unsigned i;

	(void)state;
	rthist_summarize(h, &s);
	assert_int_equal(s.count, 0);
	assert_int_equal(s.min, 0);
	assert_int_equal(s.max, 0);
	assert_true(s.mean == 0);
	assert_int_equal(rthist_percentile(h, 50), 0);
	rthist_bars(h, e, c, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(c[i], 0);
	rthist_record(h, 0);
	assert_int_equal(rthist_percentile(h, 50), 0);
	for (i = 0; i < 1000; i++)
		rthist_record(h, (uint64_t)i * i * i * 1000);
	rthist_reset(h);
	assert_int_equal(h->total, 0);
	assert_int_equal(h->sum, 0);
	assert_int_equal(h->min, UINT64_MAX);
	assert_int_equal(h->max, 0);
	for (i = 0; i < RTHIST_BUCKETS; i++)
		assert_int_equal(h->counts[i], 0);
	assert_int_equal(h->seq.sequence % 2, 0);
	rthist_record(h, 42);
	rthist_summarize(h, &s);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.min, 42);
	assert_int_equal(s.max, 42);
	assert_int_equal(s.p999, 42);
	free(h);
}

static void
test_snapshot_copy(void **state)
{
	struct rthist *h = new_hist(), *c = new_hist();
	unsigned i;

	(void)state;
	for (i = 0; i < 10000; i++)
		rthist_record(h, next_u64() % 50000000);
	memset(c, 0xff, sizeof(*c));	/* garbage must not survive */
	assert_int_equal(rthist_snapshot(h, c), 0);	/* nobody writing */
	assert_int_equal(c->total, h->total);
	assert_int_equal(c->sum, h->sum);
	assert_int_equal(c->min, h->min);
	assert_int_equal(c->max, h->max);
	assert_memory_equal(c->counts, h->counts, sizeof(h->counts));
	assert_int_equal(c->seq.sequence % 2, 0);
	rthist_init(h);
	memset(c, 0xff, sizeof(*c));
	rthist_snapshot(h, c);
	assert_int_equal(c->total, 0);
	assert_memory_equal(c->counts, h->counts, sizeof(h->counts));
	free(h);
	free(c);
}

static void
test_subtract(void **state)
{
	struct rthist *h = new_hist(), *base = new_hist(), *now = new_hist();
	struct rthist *only = new_hist();
	uint64_t v, lo = UINT64_MAX, hi = 0, sum = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < 5000; i++)
		rthist_record(h, 1 + next_u64() % 100000000);
	rthist_snapshot(h, base);
	for (i = 0; i < 3000; i++) {
		v = 1000 + next_u64() % 1000000;
		rthist_record(h, v);
		rthist_record(only, v);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		sum += v;
	}
	rthist_snapshot(h, now);
	rthist_subtract(now, base);
	assert_int_equal(now->total, 3000);
	assert_int_equal(now->sum, sum);
	assert_memory_equal(now->counts, only->counts, sizeof(only->counts));
	/* min and max to bucket precision, never outside the truth's bucket. */
	assert_int_equal(rthist_bucket_of(now->min), rthist_bucket_of(lo));
	assert_int_equal(rthist_bucket_of(now->max), rthist_bucket_of(hi));
	assert_true(now->min <= lo && now->max >= hi);
	/* Subtracting itself leaves an empty histogram. */
	rthist_snapshot(h, now);
	rthist_subtract(now, now);
	assert_int_equal(now->total, 0);
	assert_int_equal(now->min, UINT64_MAX);
	/* A reset since the baseline: everything is new, nothing taken. */
	rthist_reset(h);
	rthist_record(h, 5);
	rthist_snapshot(h, now);
	rthist_subtract(now, base);
	assert_int_equal(now->total, 1);
	assert_int_equal(now->min, 5);
	free(h);
	free(base);
	free(now);
	free(only);
}

static void
test_bars(void **state)
{
	struct rthist *h = new_hist();
	uint64_t e[11], c[10], total;
	unsigned i;

	(void)state;
	/* 0 .. 999, each once: exact buckets, ten bars of 100. */
	for (i = 0; i < 1000; i++)
		rthist_record(h, i);
	rthist_bars(h, e, c, 10);
	assert_int_equal(e[0], 0);
	assert_int_equal(e[10], 1000);
	for (i = 0; i < 10; i++) {
		assert_int_equal(e[i + 1] - e[i], 100);
		assert_int_equal(c[i], 100);
	}
	/* Wide values: edges from min to max + 1, increasing, all counted. */
	rthist_init(h);
	for (i = 0; i < 100000; i++)
		rthist_record(h, 20000 + next_u64() % 100000 +
		    (i % 10 == 0 ? 5000000 : 0));
	rthist_bars(h, e, c, 7);
	assert_int_equal(e[0], h->min);
	assert_int_equal(e[7], h->max + 1);
	for (i = 0, total = 0; i < 7; i++) {
		assert_true(e[i] < e[i + 1]);
		total += c[i];
	}
	assert_int_equal(total, 100000);
	assert_int_equal(c[6], 10000);	/* the 5 ms group, alone at the top */
	/* One bar; and one value. */
	rthist_bars(h, e, c, 1);
	assert_int_equal(c[0], 100000);
	rthist_init(h);
	rthist_record(h, 12345);
	rthist_bars(h, e, c, 3);
	assert_int_equal(c[0] + c[1] + c[2], 1);
	assert_int_equal(e[0], 12345);
	assert_int_equal(e[3], 12346);
	free(h);
}

/*
 * Snapshots while another thread records: the writer records g(k) for
 * k = 0, 1, 2... so a snapshot holding T values must have exactly the
 * counts, sum, min and max of g(0 .. T-1).
 */
#define CYCLE 4096
#define WRITES 300000
static uint64_t g[CYCLE], prefix_sum[CYCLE + 1];
static uint64_t prefix_min[CYCLE + 1], prefix_max[CYCLE + 1];
static unsigned writer_done;

static void *
writer(void *arg)
{
	struct rthist *h = arg;
	unsigned k, spin;

	for (k = 0; k < WRITES; k++) {
		rthist_record(h, g[k % CYCLE]);
		/* Bursts of 64, then a pause, like a callback's rhythm. */
		if (k % 64 == 63)
			for (spin = 0; spin < 2000; spin++)
				ck_pr_stall();
	}
	/* Release: the reader's final snapshot sees every record. */
	ck_pr_fence_store();
	ck_pr_store_uint(&writer_done, 1);
	return NULL;
}

static void
test_snapshot_while_recording(void **state)
{
	struct rthist *h = new_hist(), *c = new_hist();
	pthread_t t;
	uint64_t n, q, r, sum, total;
	unsigned i, snapshots = 0, done;

	(void)state;
	prefix_min[0] = UINT64_MAX;
	for (i = 0; i < CYCLE; i++) {
		g[i] = (uint64_t)exp(next_unit() * log(2e10));
		prefix_sum[i + 1] = prefix_sum[i] + g[i];
		prefix_min[i + 1] = g[i] < prefix_min[i] ? g[i] : prefix_min[i];
		prefix_max[i + 1] = g[i] > prefix_max[i] ? g[i] : prefix_max[i];
	}
	assert_int_equal(pthread_create(&t, NULL, writer, h), 0);
	do {
		/* Acquire: pairs with the writer's release of writer_done. */
		done = ck_pr_load_uint(&writer_done);
		ck_pr_fence_load();
		rthist_snapshot(h, c);
		snapshots++;
		n = c->total;
		for (i = 0, total = 0; i < RTHIST_BUCKETS; i++)
			total += c->counts[i];
		assert_int_equal(total, n);
		q = n / CYCLE;
		r = n % CYCLE;
		sum = q * prefix_sum[CYCLE] + prefix_sum[r];
		assert_int_equal(c->sum, sum);
		if (n > 0) {
			assert_int_equal(c->min, q ? prefix_min[CYCLE] :
			    prefix_min[r]);
			assert_int_equal(c->max, q ? prefix_max[CYCLE] :
			    prefix_max[r]);
		}
	} while (!done);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c->total, WRITES);
	assert_true(snapshots > 1);
	free(h);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_layout),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_above_range),
		cmocka_unit_test(test_empty_and_reset),
		cmocka_unit_test(test_snapshot_copy),
		cmocka_unit_test(test_subtract),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_snapshot_while_recording),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
