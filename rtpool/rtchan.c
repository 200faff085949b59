/*
 * SPSC channels: a thin layer over ck_ring's SPSC functions that owns the
 * slot array (one locked mapping made at init) and fixes the rules: one
 * producer, one consumer, pointers only, NULL never stored.
 *
 * The ordering lives in ck_ring: the producer stores the slot (reserve,
 * store, commit: the same steps as ck_ring_enqueue_spsc, spelled out so
 * that the slot store is ck's too), then a store fence, then the tail; the
 * consumer loads the tail, a load fence, the slot, then a store fence and
 * the head.  That publishes everything the producer
 * wrote before the push (the item's contents included) to the consumer, and
 * keeps the producer from reusing a slot before the consumer has read it.
 * This module adds no fences of its own (only, in ThreadSanitizer builds,
 * the annotations of rttsan.h that let it see this ordering).  It does not
 * block, wait or signal: a full or empty channel is reported, and the
 * caller decides.
 */
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rtchan.h"
#include "rtpool/rtmem.h"
#include "rtpool/rttsan.h"

int
rtchan_init(struct rtchan *c, unsigned capacity)
{
	unsigned size = 4;
	void *mem;

	memset(c, 0, sizeof(*c));
	if (capacity == 0 || capacity > 0x7fffffffu)
		return RTPOOL_EINVAL;
	while (size - 1 < capacity)
		size <<= 1;
	mem = rtmem_alloc(sizeof(ck_ring_buffer_t) * (size_t)size,
	    &c->mapped, &c->locked);
	if (mem == NULL)
		return RTPOOL_ENOMEM;
	c->slots = mem;
	/*
	 * Plain stores inside: neither end may use c before rtchan_init()
	 * returns, and whatever hands c to them orders these first.
	 */
	ck_ring_init(&c->ring, size);
	return RTPOOL_OK;
}

void
rtchan_done(struct rtchan *c)
{
	rtmem_free(c->slots, c->mapped);
	memset(c, 0, sizeof(*c));
}

int
rtchan_push_spsc(struct rtchan *c, void *item)
{
	ck_ring_buffer_t *slot;

	if (item == NULL)
		return 0;
	/* Reads the consumer's index: NULL if the ring is full. */
	slot = ck_ring_enqueue_reserve_spsc(&c->ring, c->slots);
	if (slot == NULL)
		return 0;
	/*
	 * The consumer does not look at this slot before the commit below,
	 * so the store needs no ordering of its own; it goes through ck_pr
	 * so that ThreadSanitizer, blind to ck's index updates, does not see
	 * it either (ck_ring_enqueue_spsc would write it with memcpy).
	 */
	ck_pr_store_ptr(&slot->value, item);
	RTTSAN_RELEASE(item);
	/* A store fence, then the new tail: slot and item before the index. */
	ck_ring_enqueue_commit_spsc(&c->ring);
	return 1;
}

void *
rtchan_pop_spsc(struct rtchan *c)
{
	void *item;

	if (!ck_ring_dequeue_spsc(&c->ring, c->slots, &item))
		return NULL;
	RTTSAN_ACQUIRE(item);
	return item;
}

unsigned
rtchan_count(const struct rtchan *c)
{
	/* Two relaxed index loads inside ck_ring_size(); see the header. */
	return ck_ring_size(&c->ring);
}

unsigned
rtchan_capacity(const struct rtchan *c)
{
	return c->ring.size > 0 ? ck_ring_capacity(&c->ring) - 1 : 0;
}
