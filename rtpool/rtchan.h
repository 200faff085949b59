/*
 * Single-producer, single-consumer channels of pointers, on ck_ring.
 *
 * Exactly one thread pushes and exactly one thread pops, for the life of
 * the channel (they may be the same thread).  With that, push and pop are
 * wait-free: a bounded number of instructions, no retry loop, whatever the
 * other side is doing, which is what the audio callback needs.  A second
 * producer or consumer breaks the channel silently.
 *
 * Never replace this with ck_ring's multi-producer enqueue from the audio
 * callback: an MP enqueue waits for earlier producers to commit their
 * slots, so a low-priority producer preempted in the middle of its enqueue
 * would stall the callback (see DESIGN.md).  To feed the callback from
 * several threads, give each its own channel.
 *
 * The struct is defined here so that callers can embed it; its fields are
 * private to rtchan.c.
 */
#ifndef TP_RTCHAN_H
#define TP_RTCHAN_H

#include <stddef.h>

#include <ck_ring.h>

#include "rtpool/realtime.h"
#include "rtpool/rtpool.h"	/* enum rtpool_err */

struct rtchan {
	ck_ring_t ring;		/* indices; ck pads producer from consumer */
	ck_ring_buffer_t *slots;	/* ring size entries, in one mapping */
	size_t mapped;		/* length of that mapping */
	int locked;		/* the mapping is mlock()ed */
};

/*
 * Makes c a channel that holds at least `capacity` items.  ck_ring needs a
 * power-of-two size of at least 4 and keeps one slot empty to tell full
 * from empty, so the ring gets the smallest power of two above capacity
 * and holds one less than that: rtchan_capacity() says exactly how many
 * (7 for 5, 7 or 4; 15 for 8).  The slot array is mapped once, locked and
 * prefaulted (see rtmem.h).  c is caller-allocated.
 * Control thread, at start-up, before either end uses c.
 * Returns RTPOOL_OK, RTPOOL_EINVAL (capacity 0 or above 2^31 - 1) or
 * RTPOOL_ENOMEM.
 */
int rtchan_init(struct rtchan *c, unsigned capacity);

/*
 * Unmaps the slots and zeroes c; items still in it are forgotten, not
 * freed.  Safe on a zeroed struct and twice.
 * Control thread, once neither end uses c.
 */
void rtchan_done(struct rtchan *c);

/*
 * Appends item.  Producer thread only; wait-free.  The item's contents,
 * written before the push, are visible to the consumer after its pop.
 * Returns 1 if pushed, 0 if the channel is full or item is NULL (which
 * would read as "empty" at the other end).
 */
int rtchan_push_spsc(struct rtchan *c, void *item) TP_REALTIME;

/*
 * Takes the oldest item.  Consumer thread only; wait-free.
 * Returns it, or NULL if the channel is empty.
 */
void *rtchan_pop_spsc(struct rtchan *c) TP_REALTIME;

/*
 * Returns the number of items in the channel.  Exact from the producer or
 * the consumer when the other end is idle; while it is active the answer
 * was true a moment ago (from the producer it can only be too high, from
 * the consumer only too low).  Any thread.
 */
unsigned rtchan_count(const struct rtchan *c) TP_REALTIME;

/*
 * Returns how many items the channel holds when full (see rtchan_init()).
 * Any thread.
 */
unsigned rtchan_capacity(const struct rtchan *c) TP_REALTIME;

#endif /* TP_RTCHAN_H */
