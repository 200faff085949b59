/*
 * The tail of a stream: a ring holding the last `frames` interleaved
 * frames one thread writes, which other threads may copy out without ever
 * making the writer wait.
 *
 * Made for a chain reload: the audio callback writes each period's chain
 * input here, and the control thread runs a new chain over the recent
 * input before the callback crossfades to it, so the new chain's delay
 * lines, IR history and filter states are those of the music, not empty.
 *
 * Positions are absolute: frame k is the k-th frame ever written, and the
 * ring holds frames [head - frames, head).  A reader copies, then checks
 * that the writer had not begun to overwrite what it copied (a sequence
 * check: the writer announces how far it is about to write before it
 * writes, and publishes how far it has written after).  Nothing locks, so
 * a reader that falls a whole ring behind is told, not waited for.
 *
 * Every shared word, samples included, is read and written as a relaxed
 * atomic, so the overlap a reader detects and discards is no data race in
 * C11's terms (nor to ThreadSanitizer); on x86-64 and aarch64 these are
 * plain loads and stores.  The fences that order them are in rttail.c.
 */
#ifndef TP_RTTAIL_H
#define TP_RTTAIL_H

#include <stddef.h>
#include <stdint.h>

#include "rtpool/realtime.h"

struct rttail {
	uint32_t *buf;		/* frames x channels samples, as float bits */
	unsigned frames;	/* capacity */
	unsigned channels;
	uint64_t claim;		/* frames written or being written */
	uint64_t head;		/* frames written and published */
	size_t mapped;		/* of buf, for rtmem_free */
	int locked;		/* buf is mlock()ed */
};

/*
 * Makes t a ring of `frames` frames of `channels` samples, zeroed, in one
 * locked, prefaulted mapping (rtmem.h).  Control thread, before either
 * side uses it.  Returns RTPOOL_OK, RTPOOL_EINVAL (a size of 0 or one too
 * large) or RTPOOL_ENOMEM.
 */
int rttail_init(struct rttail *t, unsigned frames, unsigned channels);

/* Unmaps the ring and zeroes t; safe on a zeroed t and twice.  Control
   thread, once no side uses t. */
void rttail_done(struct rttail *t);

/*
 * Appends n frames from src (channels interleaved); more than the ring
 * holds keeps only the last of them, though head counts them all.  The
 * one writer thread only; wait-free.
 */
void rttail_write_sw(struct rttail *t, const float *src, unsigned n)
    TP_REALTIME;

/*
 * Frames written so far (the position after the newest).  Any thread;
 * frames before it read by that thread after this call are complete.
 */
uint64_t rttail_head(const struct rttail *t) TP_REALTIME;

/*
 * Copies frames [from, from + n) into dst, which the caller sized for n
 * frames; from + n must not be past rttail_head().  Any thread.  Returns 0,
 * or -1 when some of them had been (or were being) overwritten by the
 * writer: then dst holds garbage and the caller should start again from a
 * newer position.  The writer itself always gets 0 for frames in the ring.
 */
int rttail_read(const struct rttail *t, uint64_t from, unsigned n,
    float *dst) TP_REALTIME;

/*
 * The oldest position still readable once the writer has advanced by
 * `slack` more frames: head + slack - frames, or 0.  Any thread.
 */
uint64_t rttail_oldest(const struct rttail *t, unsigned slack) TP_REALTIME;

#endif /* TP_RTTAIL_H */
