/*
 * The message pool: a block pool whose blocks are struct rtmsg.  It adds
 * only the typing and a zeroed message on every get, so a sender never
 * ships a field left over from an earlier message.  Ordering between
 * threads is the pool's and the channel's; there are no atomics here.
 */
#include <string.h>

#include "rtpool/rtmsg.h"

int
rtmsgpool_init(struct rtmsgpool *mp, size_t count)
{
	return rtpool_init(&mp->pool, sizeof(struct rtmsg), count);
}

void
rtmsgpool_done(struct rtmsgpool *mp)
{
	rtpool_done(&mp->pool);
}

struct rtmsg *
rtmsg_get(struct rtmsgpool *mp)
{
	struct rtmsg *m = rtpool_get(&mp->pool);

	if (m != NULL)
		memset(m, 0, sizeof(*m));
	return m;
}

int
rtmsg_put(struct rtmsgpool *mp, struct rtmsg *m)
{
	return rtpool_put(&mp->pool, m);
}

void
rtmsgpool_stats(const struct rtmsgpool *mp, struct rtpool_stats *out)
{
	rtpool_stats(&mp->pool, out);
}

int
rtmsgpool_owns(const struct rtmsgpool *mp, const void *m)
{
	return rtpool_owns(&mp->pool, m);
}
