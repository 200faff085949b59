/*
 * Log-linear latency histograms (see rthist.h for the bucket layout).
 *
 * The writer and the readers share one struct.  The writer brackets every
 * change with ck_sequence_write_begin/end, which make the sequence odd and
 * then even again with store fences between; a reader copies between
 * ck_sequence_read_begin and ck_sequence_read_retry and starts over if the
 * sequence moved.  Every field a reader can see concurrently is stored by
 * the writer with ck_pr_store_64 and loaded by readers with ck_pr_load_64,
 * so no access is torn and the compiler cannot merge or split them; the
 * writer reads its own fields with plain loads, as nobody else writes them.
 *
 * Since every recorded value lies between min and max, only the buckets
 * from bucket_of(min) to bucket_of(max) can be non-zero: reset and
 * snapshot touch just that range, which for callback times is a few cache
 * lines, not the whole 104 KiB.
 *
 * This module does not allocate, and does not know what it measures.
 */
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rthist.h"

#define SUB_COUNT (1u << RTHIST_SUB_BITS)

unsigned
rthist_bucket_of(uint64_t value)
{
	unsigned msb, shift;

	if (value > RTHIST_TOP)
		value = RTHIST_TOP;
	if (value < 2 * SUB_COUNT)
		return (unsigned)value;
	msb = 63u - (unsigned)__builtin_clzll(value);
	shift = msb - RTHIST_SUB_BITS;
	/* value >> shift is in [SUB_COUNT, 2 * SUB_COUNT). */
	return (shift << RTHIST_SUB_BITS) + (unsigned)(value >> shift);
}

uint64_t
rthist_bucket_low(unsigned i)
{
	unsigned shift;

	if (i < 2 * SUB_COUNT)
		return i;
	shift = (i >> RTHIST_SUB_BITS) - 1;
	return (uint64_t)(i - (shift << RTHIST_SUB_BITS)) << shift;
}

uint64_t
rthist_bucket_high(unsigned i)
{
	unsigned shift;

	if (i < 2 * SUB_COUNT)
		return i;
	shift = (i >> RTHIST_SUB_BITS) - 1;
	return rthist_bucket_low(i) + (UINT64_C(1) << shift) - 1;
}

void
rthist_init(struct rthist *h)
{
	/* Before any sharing: plain stores, published by whoever shares h. */
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
	ck_sequence_init(&h->seq);
}

void
rthist_record(struct rthist *h, uint64_t value)
{
	unsigned i = rthist_bucket_of(value);

	/* Sequence odd, then a store fence: readers will retry. */
	ck_sequence_write_begin(&h->seq);
	ck_pr_store_64(&h->counts[i], h->counts[i] + 1);
	ck_pr_store_64(&h->total, h->total + 1);
	ck_pr_store_64(&h->sum, h->sum + value);
	if (value < h->min)
		ck_pr_store_64(&h->min, value);
	if (value > h->max)
		ck_pr_store_64(&h->max, value);
	/* A store fence, then the sequence even: the above is complete. */
	ck_sequence_write_end(&h->seq);
}

void
rthist_reset(struct rthist *h)
{
	unsigned i, lo, hi;

	/* As in rthist_record(): readers retry until write_end. */
	ck_sequence_write_begin(&h->seq);
	if (h->total > 0) {
		lo = rthist_bucket_of(h->min);
		hi = rthist_bucket_of(h->max);
		for (i = lo; i <= hi; i++)
			ck_pr_store_64(&h->counts[i], 0);
	}
	ck_pr_store_64(&h->total, 0);
	ck_pr_store_64(&h->sum, 0);
	ck_pr_store_64(&h->min, UINT64_MAX);
	ck_pr_store_64(&h->max, 0);
	ck_sequence_write_end(&h->seq);
}

unsigned
rthist_snapshot(const struct rthist *h, struct rthist *copy)
{
	uint64_t total, sum, min, max;
	unsigned version, retries = 0, i, lo, hi;
	int dirty = 1;

	for (;;) {
		/* A failed attempt may have left counts anywhere. */
		if (dirty)
			memset(copy->counts, 0, sizeof(copy->counts));
		dirty = 0;
		/*
		 * Waits for an even sequence, then a load fence: the loads
		 * below see no older state than that sequence number.
		 */
		version = ck_sequence_read_begin(&h->seq);
		total = ck_pr_load_64(&h->total);
		sum = ck_pr_load_64(&h->sum);
		min = ck_pr_load_64(&h->min);
		max = ck_pr_load_64(&h->max);
		if (total > 0) {
			/* Garbage from a torn attempt stays in range. */
			lo = rthist_bucket_of(min);
			hi = rthist_bucket_of(max);
			for (i = lo; i <= hi; i++)
				copy->counts[i] = ck_pr_load_64(&h->counts[i]);
			dirty = 1;
		}
		/*
		 * A load fence, then the sequence again: if the writer began
		 * anything since `version`, what we read may be torn.
		 */
		if (!ck_sequence_read_retry(&h->seq, version))
			break;
		retries++;
	}
	ck_sequence_init(&copy->seq);	/* the copy is not shared yet */
	copy->total = total;
	copy->sum = sum;
	copy->min = min;
	copy->max = max;
	return retries;
}

void
rthist_subtract(struct rthist *h, const struct rthist *base)
{
	unsigned i, lo, hi, first = RTHIST_BUCKETS, last = 0;
	uint64_t total = 0;

	if (base->total == 0)
		return;
	/*
	 * Something in base that h lacks means h was reset since: then all
	 * of h is newer than base, and h stays as it is.
	 */
	if (h->total < base->total || base->min < h->min ||
	    base->max > h->max)
		return;
	lo = rthist_bucket_of(h->min);
	hi = rthist_bucket_of(h->max);
	for (i = lo; i <= hi; i++)
		if (h->counts[i] < base->counts[i])
			return;
	for (i = lo; i <= hi; i++) {
		h->counts[i] -= base->counts[i];
		if (h->counts[i] == 0)
			continue;
		total += h->counts[i];
		if (first == RTHIST_BUCKETS)
			first = i;
		last = i;
	}
	h->total = total;
	if (total == 0) {
		h->sum = 0;
		h->min = UINT64_MAX;
		h->max = 0;
		return;
	}
	h->sum -= base->sum;
	if (rthist_bucket_low(first) > h->min)
		h->min = rthist_bucket_low(first);
	/* Values above RTHIST_TOP share the top bucket: keep the true max. */
	if (last < RTHIST_BUCKETS - 1 && rthist_bucket_high(last) < h->max)
		h->max = rthist_bucket_high(last);
}

/* The nearest rank of pct in total values, 1 .. total. */
static uint64_t
rank_of(double pct, uint64_t total)
{
	double x;
	uint64_t r;

	if (!(pct > 0))		/* also NaN */
		pct = 0;
	if (pct > 100)
		pct = 100;
	x = pct / 100.0 * (double)total;
	if (x >= (double)total)
		return total;
	r = (uint64_t)x;
	/*
	 * ceil(x), except that x a hair above an integer is taken as that
	 * integer: 99.9 / 100 * 1000 is 999.0000000000001 in doubles.
	 */
	if (x - (double)r > x * 1e-12)
		r++;
	return r < 1 ? 1 : r;
}

/*
 * Finds, for each of the n ascending ranks, the bucket holding the value
 * of that rank and stores its highest value, clamped to max, in out[].
 */
static void
values_at_ranks(const struct rthist *h, const uint64_t *ranks,
    uint64_t *out, unsigned n)
{
	unsigned i, lo, hi, k = 0;
	uint64_t seen = 0, v;

	lo = rthist_bucket_of(h->min);
	hi = rthist_bucket_of(h->max);
	for (i = lo; i <= hi && k < n; i++) {
		seen += h->counts[i];
		while (k < n && seen >= ranks[k]) {
			/*
			 * The top bucket also holds everything above
			 * RTHIST_TOP: only max bounds those from above.
			 */
			v = i == RTHIST_BUCKETS - 1 ? h->max :
			    rthist_bucket_high(i);
			out[k++] = v < h->max ? v : h->max;
		}
	}
	/* Only if counts and total disagree (a hand-made histogram). */
	while (k < n)
		out[k++] = h->max;
}

uint64_t
rthist_percentile(const struct rthist *h, double pct)
{
	uint64_t rank, v;

	if (h->total == 0)
		return 0;
	rank = rank_of(pct, h->total);
	values_at_ranks(h, &rank, &v, 1);
	return v;
}

void
rthist_summarize(const struct rthist *h, struct rthist_summary *s)
{
	static const double pcts[4] = { 50, 90, 99, 99.9 };
	uint64_t ranks[4], v[4];
	unsigned i;

	memset(s, 0, sizeof(*s));
	if (h->total == 0)
		return;
	for (i = 0; i < 4; i++)
		ranks[i] = rank_of(pcts[i], h->total);
	values_at_ranks(h, ranks, v, 4);
	s->count = h->total;
	s->min = h->min;
	s->max = h->max;
	s->p50 = v[0];
	s->p90 = v[1];
	s->p99 = v[2];
	s->p999 = v[3];
	s->mean = (double)h->sum / (double)h->total;
}

void
rthist_bars(const struct rthist *h, uint64_t *edges, uint64_t *counts,
    unsigned nbars)
{
	uint64_t span, q, r, mid;
	unsigned i, lo, hi, a, b, m;

	if (nbars == 0)
		return;
	memset(edges, 0, sizeof(*edges) * ((size_t)nbars + 1));
	memset(counts, 0, sizeof(*counts) * nbars);
	if (h->total == 0)
		return;
	/* [min, max + 1) in nbars integer steps, exact and increasing. */
	span = h->max - h->min + 1;	/* 0 only if min = 0, max = 2^64-1 */
	if (span == 0)
		span = UINT64_MAX;
	q = span / nbars;
	r = span % nbars;
	for (i = 0; i <= nbars; i++)
		edges[i] = h->min + q * i + r * i / nbars;
	lo = rthist_bucket_of(h->min);
	hi = rthist_bucket_of(h->max);
	for (i = lo; i <= hi; i++) {
		if (h->counts[i] == 0)
			continue;
		mid = rthist_bucket_low(i) +
		    (rthist_bucket_high(i) - rthist_bucket_low(i)) / 2;
		if (mid < h->min)
			mid = h->min;
		if (mid > h->max)
			mid = h->max;
		/* The last bar whose left edge is <= mid. */
		a = 0;
		b = nbars - 1;
		while (a < b) {
			m = a + (b - a + 1) / 2;
			if (edges[m] <= mid)
				a = m;
			else
				b = m - 1;
		}
		counts[a] += h->counts[i];
	}
}
