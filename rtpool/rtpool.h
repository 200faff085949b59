/*
 * The block pool: a fixed number of equal, 64-byte aligned blocks carved
 * from one locked, prefaulted mapping made at start-up, handed out and taken
 * back without locks by any thread.
 *
 * Three tiers, as in Bonwick and Adams' magazine allocator ("Magazines and
 * Vmem", USENIX 2001).  Each thread that uses a pool holds two magazines of
 * it (RTPOOL_MAG blocks each at most): rtpool_get() and rtpool_put() take
 * from and add to them with plain loads and stores, no locked instruction.
 * Only when both are empty (a get) or full (a put) does the thread swap a
 * magazine: first with its own stash of full ones (up to RTPOOL_STASH,
 * as tcmalloc's thread cache grows to a thread's bursts: a burst that
 * fits never touches a line another core writes), else with the depot,
 * two lock-free stacks of magazines (loaded and empty), with one
 * compare-and-swap each way; below the depot a lock-free stack of single
 * blocks takes what no magazine can.  Magazines, the depot
 * and the per-thread slots are all in the pool's mapping: nothing
 * allocates after rtpool_init().  A lock-free call can take a few retries
 * under contention, but never blocks, sleeps, allocates or enters the
 * kernel.  The audio callback may call them (the first call in a thread
 * also records, in the thread's own descriptor, that its magazines go back
 * when it exits); tidepool's engine keeps the callback off them anyway
 * (blocks reach it through SPSC channels, see rtchan.h and DESIGN.md).
 *
 * Pools of fewer than RTPOOL_MAG_MIN_BLOCKS blocks have no magazines: every
 * get and put goes to the stack of blocks, and every figure is exact.  So
 * does a thread that finds all RTPOOL_THREADS slots of a pool taken.
 *
 * What magazines cost in exactness (the figures are in rtpool_stats, so a
 * reader can see the bound):
 *  - a get returns NULL when its own magazines, the depot and the stack of
 *    blocks are all empty, even if other threads' magazines still hold free
 *    blocks: at most (threads - 1) * (2 + stash) * magazine of them, the
 *    others' share of cache_bound.  One thread alone never sees that.  A
 *    caller that counts on a get succeeding because it knows a block is
 *    free somewhere (a quota shared between threads) must use a pool small
 *    enough to have no magazines;
 *  - min_free is never above the true low-water mark and is exact while one
 *    thread gets and puts; with more, it may read low by up to that same
 *    share;
 *  - a block put twice is refused when the two puts are ordered (the same
 *    thread, or a hand-over between them); two puts of one block racing in
 *    two threads may both be taken, as a stale pointer always could be.
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
/* Blocks per magazine. */
#define RTPOOL_MAG 64
/*
 * Full magazines a thread may keep beyond its two (a quarter of the pool's
 * magazines at most): a burst of up to (2 + RTPOOL_STASH) magazines taken
 * and given back then never leaves the thread.
 */
#define RTPOOL_STASH 4
/* Pools smaller than this have no magazines (see the top of this file). */
#define RTPOOL_MAG_MIN_BLOCKS (4 * RTPOOL_MAG)
/* Threads that can hold magazines of one pool at once; others go without. */
#define RTPOOL_THREADS 16
/* Pools with magazines alive at once in a process; more go without. */
#define RTPOOL_MAX_POOLS 128

struct rtpool_mag;	/* private to rtpool.c */
struct rtpool_slot;	/* private to rtpool.c */

struct rtpool {
	/* Set by rtpool_init(), read-only until rtpool_done(). */
	unsigned char *base;	/* block 0, 64-byte aligned */
	uint8_t *state;		/* enum rtpool_block_state of each block */
	uint64_t serial;	/* this pool's number in the process; 0: none */
	uint64_t inverse;	/* of block_size >> shift, modulo 2^64 */
	size_t nblocks;
	size_t block_size;	/* bytes, a multiple of RTPOOL_ALIGN */
	unsigned shift;		/* trailing zero bits of block_size */
	unsigned id;		/* slot in the per-thread table; 0: none */
	unsigned mag;		/* blocks per magazine; 0: no magazines */
	unsigned stash;		/* full magazines a slot may keep */
	unsigned nmags;		/* magazines in the mapping */
	uint64_t *links;	/* of a free block: depth << 32 | next link */
	struct rtpool_mag *mags;	/* nmags of them */
	struct rtpool_slot *slots;	/* RTPOOL_THREADS of them */
	void *map;		/* the one mapping: books, magazines, blocks */
	size_t mapped;		/* its length */
	int locked;		/* the mapping is mlock()ed */
	/*
	 * A line's worth of nothing: the fields below are written by any
	 * thread's slow path, and must not share a cache line with the
	 * read-only ones above, which every get and put reads.
	 */
	char pad_[RTPOOL_ALIGN];
	uint64_t head;		/* block stack top: generation << 32 | link */
	uint64_t full;		/* depot's loaded magazines, the same way */
	uint64_t empty;		/* depot's empty magazines, the same way */
	uint64_t min_free;	/* lowest free count seen (see the top) */
	uint64_t exhausted;	/* gets that found the pool empty */
	uint64_t double_returns;	/* puts refused as RTPOOL_EDOUBLE */
	char pad2_[RTPOOL_ALIGN - 6 * sizeof(uint64_t)];
};

struct rtpool_stats {
	size_t blocks;		/* in the pool */
	size_t block_size;	/* usable bytes per block (rounded up) */
	size_t free_now;	/* free at the moment of reading */
	size_t min_free;	/* lowest free_now since init or reset */
	uint64_t exhausted;	/* rtpool_get() calls that returned NULL */
	uint64_t double_returns;	/* puts refused as RTPOOL_EDOUBLE */
	int locked;		/* 1: mlock()ed; 0: it may page-fault */
	unsigned magazine;	/* blocks per magazine; 0: no magazines */
	unsigned stash;		/* full magazines a thread may keep beyond */
				/* its two: min(RTPOOL_STASH, blocks / */
				/* magazine / 4) */
	unsigned threads;	/* threads holding magazines of it now */
	size_t cached;		/* of free_now, in threads' magazines */
	size_t cache_bound;	/* most those magazines can hold: */
				/* (2 + stash) * magazine * threads */
};

/*
 * Makes p a pool of nblocks blocks of at least block_size bytes each
 * (rounded up to a multiple of 64), all free, in one mapping that holds the
 * blocks, the magazines and the pool's bookkeeping, locked and prefaulted (see rtmem.h: a
 * refused mlock warns once on stderr and shows in the stats, it does not
 * fail).  p is caller-allocated; its old contents are ignored.
 * With RTPOOL_MAG_MIN_BLOCKS blocks or more, and fewer than
 * RTPOOL_MAX_POOLS such pools alive, the pool has magazines.
 * Control thread, at start-up, before any other thread uses p (it takes a
 * mutex, briefly).
 * Returns RTPOOL_OK, RTPOOL_EINVAL (a size of zero, or 2^32 blocks or
 * more) or RTPOOL_ENOMEM (also when the sizes overflow); on failure p is
 * left zeroed.
 */
int rtpool_init(struct rtpool *p, size_t block_size, size_t nblocks);

/*
 * Unmaps the pool's memory, blocks and magazines included, and zeroes p;
 * safe on a zeroed struct and twice.  Threads still alive that held
 * magazines of p simply lose them.  Control thread, once no other thread
 * uses p (it takes a mutex, briefly).
 */
void rtpool_done(struct rtpool *p);

/*
 * Takes a free block: from the thread's magazines, else a magazine from the
 * depot, else the stack of blocks.  Its contents are whatever the last user
 * left.  Any thread, lock-free: see the top of this file.
 * Returns the block, or NULL when none is free for this thread (see the
 * top for blocks in other threads' magazines); that is counted in the
 * stats' `exhausted` and brings `min_free` to 0.
 */
void *rtpool_get(struct rtpool *p) TP_REALTIME;

/*
 * Gives a block back, into the thread's magazines, else the depot, else the
 * stack of blocks.  A block already free is refused and counted, not
 * stored a second time, so nothing hands it out twice; the check reads a
 * per-block flag, so it catches a block returned twice (see the top for
 * two puts racing), but not a stale pointer to a block that someone has
 * taken again since (that one looks like a legitimate return).  Nothing
 * is printed.  Any thread, lock-free.
 * Returns RTPOOL_OK; RTPOOL_EINVAL for NULL; RTPOOL_EFOREIGN for a pointer
 * that is not the start of one of this pool's blocks (outside the pool or
 * misaligned); RTPOOL_EDOUBLE for a block that is already free.
 */
int rtpool_put(struct rtpool *p, void *block) TP_REALTIME;

/*
 * Fills *out.  Each field is read atomically but not all together, so
 * while other threads get and put the figures are each true of a slightly
 * different moment (free_now included: it adds up the stack of blocks, the
 * depot and each thread's magazines, which may change under the reader).
 * With no get or put running, free_now and cached are exact; for min_free
 * and exhausted, see the top of this file.
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
 * Walks the stack of blocks, the depot and the threads' magazines, and
 * checks them against the block states: every block found is marked free
 * and found once, each stacked block carries the right depth (the number
 * of blocks from it to the end of the stack), every magazine is in exactly
 * one place, the depot's count is right, and every block marked free is
 * found.  Stores the number of free blocks in *nfree if nfree is not NULL.
 * Control thread, only while no thread gets or puts (tests, shutdown).
 * Returns RTPOOL_OK, RTPOOL_ECORRUPT, or RTPOOL_ENOMEM if the walk's own
 * memory cannot be allocated.
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
