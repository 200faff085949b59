/*
 * The block pool: a fixed number of equal, 64-byte aligned blocks carved
 * from one locked, prefaulted mapping made at start-up, handed out and taken
 * back without locks by any thread.
 *
 * The free list is a lock-free (not wait-free) stack: rtpool_get() and
 * rtpool_put() retry a compare-and-swap when another thread changed the list
 * in between, so under contention one call can take a few retries, but it
 * never blocks, sleeps, allocates or enters the kernel.  The audio callback
 * may call them; tidepool's engine keeps the callback off them anyway
 * (blocks reach it through SPSC channels, see rtchan.h and DESIGN.md),
 * leaving the pool to the control thread and its helpers.
 *
 * The struct is defined here so that callers can embed it; its fields are
 * private to rtpool.c.  A zeroed struct is an empty pool: get returns NULL,
 * put refuses everything, done does nothing.
 */
#ifndef TP_RTPOOL_H
#define TP_RTPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "rtpool/realtime.h"

/* What the functions of the rtpool layer return. */
enum rtpool_err {
	RTPOOL_OK = 0,
	RTPOOL_EINVAL,		/* a bad argument: zero sizes, NULL */
	RTPOOL_ENOMEM,		/* the memory could not be mapped */
	RTPOOL_EEMPTY,		/* no block free */
	RTPOOL_EDOUBLE,		/* a block returned while already free */
	RTPOOL_EFOREIGN,	/* not the start of a block of this pool */
	RTPOOL_ECORRUPT		/* rtpool_check() found a broken free list */
};

/* What a block is, in the per-block state array. */
enum rtpool_block_state {
	RTPOOL_BLOCK_TAKEN = 0,	/* handed out by rtpool_get() */
	RTPOOL_BLOCK_FREE = 1	/* on the free list, or being put there */
};

/* What rtpool_index() answers for a pointer that is not a block. */
#define RTPOOL_NOINDEX ((size_t)-1)
/* Blocks are aligned to, and their size rounded up to, this. */
#define RTPOOL_ALIGN 64

struct rtpool {
	/*
	 * Written by gets and puts, by any thread: kept together and away
	 * from the read-only fields below, so that reading those does not
	 * pull the contended line.
	 */
	uint64_t head;		/* free-list top: generation << 32 | link */
	uint64_t min_free;	/* lowest free count since init or reset */
	uint64_t exhausted;	/* gets that found the pool empty */
	uint64_t double_returns;	/* puts refused as RTPOOL_EDOUBLE */
	char pad_[RTPOOL_ALIGN - 4 * sizeof(uint64_t)];

	/* Set by rtpool_init(), read-only until rtpool_done(). */
	unsigned char *base;	/* block 0, 64-byte aligned */
	uint64_t *links;	/* of a free block: depth << 32 | next link */
	uint8_t *state;		/* enum rtpool_block_state of each block */
	size_t block_size;	/* bytes, a multiple of RTPOOL_ALIGN */
	size_t nblocks;
	void *map;		/* the one mapping: links, states, blocks */
	size_t mapped;		/* its length */
	int locked;		/* the mapping is mlock()ed */
};

struct rtpool_stats {
	size_t blocks;		/* in the pool */
	size_t block_size;	/* usable bytes per block (rounded up) */
	size_t free_now;	/* free at the moment of reading */
	size_t min_free;	/* lowest free_now since init or reset */
	uint64_t exhausted;	/* rtpool_get() calls that returned NULL */
	uint64_t double_returns;	/* puts refused as RTPOOL_EDOUBLE */
	int locked;		/* 1: mlock()ed; 0: it may page-fault */
};

/*
 * Makes p a pool of nblocks blocks of at least block_size bytes each
 * (rounded up to a multiple of 64), all free, in one mapping that holds the
 * blocks and the pool's bookkeeping, locked and prefaulted (see rtmem.h: a
 * refused mlock warns once on stderr and shows in the stats, it does not
 * fail).  p is caller-allocated; its old contents are ignored.
 * Control thread, at start-up, before any other thread uses p.
 * Returns RTPOOL_OK, RTPOOL_EINVAL (a size of zero, or 2^32 blocks or
 * more) or RTPOOL_ENOMEM (also when the sizes overflow); on failure p is
 * left zeroed.
 */
int rtpool_init(struct rtpool *p, size_t block_size, size_t nblocks);

/*
 * Unmaps the pool's memory, blocks included, and zeroes p; safe on a zeroed
 * struct and twice.  Control thread, once no other thread uses p.
 */
void rtpool_done(struct rtpool *p);

/*
 * Takes a free block.  Its contents are whatever the last user left.
 * Any thread, lock-free: see the top of this file.
 * Returns the block, or NULL when none is free; that is counted in the
 * stats' `exhausted` and brings `min_free` to 0.
 */
void *rtpool_get(struct rtpool *p) TP_REALTIME;

/*
 * Gives a block back.  A block already free is refused and counted, not
 * pushed a second time, so the list stays intact; the check is one atomic
 * exchange on a per-block flag, so it catches a block returned twice in a
 * row, but not a stale pointer to a block that someone has taken again
 * since (that one looks like a legitimate return).  Nothing is printed.
 * Any thread, lock-free.
 * Returns RTPOOL_OK; RTPOOL_EINVAL for NULL; RTPOOL_EFOREIGN for a pointer
 * that is not the start of one of this pool's blocks (outside the pool or
 * misaligned); RTPOOL_EDOUBLE for a block that is already free.
 */
int rtpool_put(struct rtpool *p, void *block) TP_REALTIME;

/*
 * Fills *out.  Each field is read atomically but not all together, so
 * while other threads get and put the figures are each true of a slightly
 * different moment (free_now included: it is read from the top of the free
 * list, which may change under the reader).
 * Any thread.
 */
void rtpool_stats(const struct rtpool *p, struct rtpool_stats *out)
    TP_REALTIME;

/*
 * Starts a new observation period: min_free := free now, exhausted := 0.
 * double_returns is left alone: it counts bugs, and those should not be
 * reset away.  Gets and puts racing with it may be counted in either
 * period.
 * Any thread; meant for the control thread.
 */
void rtpool_stats_reset(struct rtpool *p);

/*
 * Returns the number of the block at `block` (0 .. blocks - 1), or
 * RTPOOL_NOINDEX if it is not the start of one of this pool's blocks.
 * Any thread.
 */
size_t rtpool_index(const struct rtpool *p, const void *block) TP_REALTIME;

/*
 * Returns the block numbered index, or NULL if index is out of range.
 * It does not take the block: see rtpool_get().
 * Any thread.
 */
void *rtpool_block(const struct rtpool *p, size_t index) TP_REALTIME;

/*
 * Returns 1 if `block` is the start of one of this pool's blocks, taken or
 * free, else 0: how a consumer of a mixed return channel tells blocks from
 * other things.
 * Any thread.
 */
int rtpool_owns(const struct rtpool *p, const void *block) TP_REALTIME;

/*
 * Walks the free list and checks it against the block states: every
 * listed block is marked free and listed once, carries the right depth
 * (the number of blocks from it to the end of the list), and every block
 * marked free is listed.  Stores the length of the list in *nfree if nfree
 * is not NULL.
 * Control thread, only while no thread gets or puts (tests, shutdown).
 * Returns RTPOOL_OK or RTPOOL_ECORRUPT.
 */
int rtpool_check(const struct rtpool *p, size_t *nfree);

/*
 * How many times, in this process, the memory of a pool or channel could
 * not be mlock()ed (see rtmem.h).  Any thread.
 */
unsigned rtpool_mlock_refusals(void);

/*
 * A short English description of an enum rtpool_err value.  Any thread.
 */
const char *rtpool_strerror(int err) TP_REALTIME;

#endif /* TP_RTPOOL_H */
