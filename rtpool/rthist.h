/*
 * Latency histograms in the style of HdrHistogram: fixed log-linear
 * buckets, O(1) recording with no allocation, one writer (the thread that
 * records, typically the audio callback) and any number of readers on
 * other threads, who take consistent snapshots through a sequence lock
 * (ck_sequence) without ever making the writer wait.
 *
 * Buckets: values 0 .. 1023 each have their own; above that every doubling
 * [2^k, 2^(k+1)) is cut into 512 equal buckets, so a bucket is at most
 * 1/512 of its values wide (about 2.7 significant digits) up to
 * RTHIST_TOP = 2^34 - 1 ns, 17.2 s.  Larger values are counted in the top
 * bucket, while max, sum and mean keep their true value.
 *
 * Why 1/512 and not 1/1024: the engine keeps 35 histograms per statistics
 * set and the daemon holds four or five sets (live, snapshot, baseline,
 * difference), all locked in RAM.  At 1/1024 a histogram is 200 KiB and
 * that is 28 MiB; at 1/512 it is 104 KiB and 14 MiB.  A bucket of 0.2 % is
 * 0.13 us at a 66 us callback, below what anyone reads from these figures.
 * Change RTHIST_SUB_BITS to 10 for 1/1024; nothing else depends on it.
 *
 * Reading functions (percentile, summarize, bars, subtract) work on a
 * histogram nobody is recording into: a snapshot, or one owned by the
 * calling thread.
 */
#ifndef TP_RTHIST_H
#define TP_RTHIST_H

#include <stdint.h>

#include <ck_sequence.h>

#include "rtpool/realtime.h"

/* Each doubling is cut into 2^RTHIST_SUB_BITS buckets. */
#define RTHIST_SUB_BITS 9
/* Values up to 2^RTHIST_MAX_BITS - 1 get a bucket of their own. */
#define RTHIST_MAX_BITS 34
#define RTHIST_TOP ((UINT64_C(1) << RTHIST_MAX_BITS) - 1)
#define RTHIST_BUCKETS \
	((RTHIST_MAX_BITS - RTHIST_SUB_BITS + 1) << RTHIST_SUB_BITS)

struct rthist {
	ck_sequence_t seq;	/* odd while the writer is updating */
	uint64_t total;		/* values recorded */
	uint64_t sum;		/* of the true values; wraps after 2^64 */
	uint64_t min;		/* UINT64_MAX while empty */
	uint64_t max;		/* 0 while empty; true even above RTHIST_TOP */
	uint64_t counts[RTHIST_BUCKETS];
};

struct rthist_summary {
	uint64_t count;
	uint64_t min, max;	/* exact; 0 when count is 0 */
	uint64_t p50, p90, p99, p999;	/* see rthist_percentile() */
	double mean;		/* exact up to double rounding */
};

/*
 * Empties h and readies its sequence lock.  Before the writer and any
 * reader use h (it is not a reset: see rthist_reset()).
 */
void rthist_init(struct rthist *h);

/*
 * Counts value.  O(1), no allocation, no lock: readers retry instead.
 * The writer thread only (one per histogram).
 */
void rthist_record(struct rthist *h, uint64_t value) TP_REALTIME;

/*
 * Empties h.  It clears only the buckets between the smallest and the
 * largest value recorded, so it costs what the spread of values does: a
 * few cache lines for callback times, up to 104 KiB of stores for a
 * histogram holding 1 ns and 10 s.  The writer thread only.
 */
void rthist_reset(struct rthist *h) TP_REALTIME;

/*
 * Copies h into *copy, consistently: the copy holds exactly the values
 * recorded before some moment, never half of a record or reset.  It
 * retries while the writer is inside rthist_record() or rthist_reset(), so
 * it waits for the writer but the writer never waits for it; a writer
 * recording more often than a copy takes (a few microseconds) would keep it
 * retrying.  copy is an ordinary, unshared histogram afterwards.
 * Any thread but the writer.
 * Returns how many times it had to retry (for tests and curiosity).
 */
unsigned rthist_snapshot(const struct rthist *h, struct rthist *copy);

/*
 * h := h - base, bucket by bucket, where base is an earlier snapshot of
 * the same histogram: what was recorded in between.  Counts that would go
 * negative (h was reset after base) become 0.  total and sum are exact;
 * min and max become the edges of the lowest and highest remaining
 * buckets, narrowed by h's own min and max, so they are right to bucket
 * precision.  Not the live histogram: a snapshot.  Any thread.
 */
void rthist_subtract(struct rthist *h, const struct rthist *base);

/*
 * The value below which pct percent of the recorded values lie (nearest
 * rank: the ceil(pct / 100 * count)-th smallest value, at least the
 * first), given as the highest value of that value's bucket and never more
 * than max, as HdrHistogram does.  It is therefore not below the true value
 * and at most 1/512 above it, except in the top bucket, which also holds
 * everything above RTHIST_TOP: there it is max.
 * pct is clamped to 0 .. 100.  Any thread, on a histogram not being
 * written.
 * Returns the value, or 0 for an empty histogram.
 */
uint64_t rthist_percentile(const struct rthist *h, double pct);

/*
 * Fills *s: count, min, max, mean and p50, p90, p99, p99.9 as
 * rthist_percentile() gives them, in one pass.  Any thread, on a histogram
 * not being written.
 */
void rthist_summarize(const struct rthist *h, struct rthist_summary *s);

/*
 * Folds the buckets into nbars bars of equal width between min and max,
 * for drawing: bar i counts the values in [edges[i], edges[i + 1]), with
 * edges[0] = min and edges[nbars] = max + 1.  edges has nbars + 1 entries,
 * counts nbars.  A bucket goes whole into the bar holding its middle (its
 * middle clamped to min .. max), so bars narrower than a bucket show gaps.
 * An empty histogram gives zero edges and counts.  nbars 0 does nothing.
 * Any thread, on a histogram not being written.
 */
void rthist_bars(const struct rthist *h, uint64_t *edges, uint64_t *counts,
    unsigned nbars);

/*
 * The bucket that counts value (values above RTHIST_TOP: the top one,
 * RTHIST_BUCKETS - 1).  Any thread.
 */
unsigned rthist_bucket_of(uint64_t value) TP_REALTIME;

/*
 * The smallest and the largest value counted in bucket i
 * (i < RTHIST_BUCKETS).  Any thread.
 */
uint64_t rthist_bucket_low(unsigned i) TP_REALTIME;
uint64_t rthist_bucket_high(unsigned i) TP_REALTIME;

#endif /* TP_RTHIST_H */
