/*
 * Messages: fixed 64-byte records from a block pool of their own, for
 * commands between threads (typically sent over an rtchan and handed back
 * over another).  What a message type means is up to the user; this layer
 * only stores the fields.
 */
#ifndef TP_RTMSG_H
#define TP_RTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "rtpool/realtime.h"
#include "rtpool/rtpool.h"

struct rtmsg {
	uint32_t type;		/* the user's */
	uint32_t flags;		/* the user's */
	uint64_t enqueue_ns;	/* when sent (rtclock_ns()), for latency */
	union {
		uint64_t u64[6];
		int64_t i64[6];
		double f64[6];
		void *ptr[6];
		unsigned char bytes[48];
	} payload;
};

/* One message is exactly one cache line, one pool block. */
_Static_assert(sizeof(struct rtmsg) == 64, "struct rtmsg is not 64 bytes");

struct rtmsgpool {
	struct rtpool pool;	/* blocks of sizeof(struct rtmsg) */
};

/*
 * Makes mp a pool of `count` messages (see rtpool_init(): one locked,
 * prefaulted mapping).  Control thread, at start-up.
 * Returns RTPOOL_OK, RTPOOL_EINVAL (count 0 or too large) or
 * RTPOOL_ENOMEM.
 */
int rtmsgpool_init(struct rtmsgpool *mp, size_t count);

/*
 * Unmaps the messages, taken or not.  Control thread, once no other thread
 * uses mp.
 */
void rtmsgpool_done(struct rtmsgpool *mp);

/*
 * Takes a message with every field zeroed.  Any thread, lock-free (see
 * rtpool_get()).
 * Returns it, or NULL when all are taken (counted as `exhausted`).
 */
struct rtmsg *rtmsg_get(struct rtmsgpool *mp) TP_REALTIME;

/*
 * Gives a message back.  Any thread, lock-free.
 * Returns what rtpool_put() returns: RTPOOL_OK, RTPOOL_EINVAL,
 * RTPOOL_EFOREIGN or RTPOOL_EDOUBLE.
 */
int rtmsg_put(struct rtmsgpool *mp, struct rtmsg *m) TP_REALTIME;

/*
 * The pool's figures, as rtpool_stats() gives them.  Any thread.
 */
void rtmsgpool_stats(const struct rtmsgpool *mp, struct rtpool_stats *out)
    TP_REALTIME;

/*
 * Returns 1 if m is one of mp's messages, else 0.  Any thread.
 */
int rtmsgpool_owns(const struct rtmsgpool *mp, const void *m) TP_REALTIME;

#endif /* TP_RTMSG_H */
