/*
 * The engine seen from the control side, beyond sending messages
 * (engine.c): taking back what the audio side returns, and the accessors
 * that keep the other modules out of struct engine.  Part of engine.h's
 * module, kept apart so that engine.c stays the code of the callback and
 * its set-up.
 *
 * engine_reclaim() is the one place that knows what a returned message
 * still carries: a swap comes back with the chain it retired, a record
 * stop with its generation.
 */
#include <ck_pr.h>

#include "daemon/engine.h"

/* ---- control side: what comes back ------------------------------------ */

unsigned
engine_reclaim(struct engine *e, const struct engine_reclaim_ops *ops,
    void *arg)
{
	struct rtmsg *m;
	struct dsp_chain *old;
	unsigned blocks = 0;
	void *item;

	while ((item = rtchan_pop_spsc(&e->ret)) != NULL) {
		if (rtpool_owns(e->setup.blocks, item)) {
			if (ops != NULL && ops->block != NULL)
				ops->block(arg, item);
			rtpool_put(e->setup.blocks, item);
			blocks++;
			continue;
		}
		m = item;
		/* A swap comes back with the chain it retired. */
		if (m->type == ENGINE_MSG_SWAP &&
		    (old = m->payload.ptr[1]) != NULL)
			dsp_chain_del(old);
		if (m->type == ENGINE_MSG_RECORD && m->payload.u64[0] == 0 &&
		    ops != NULL && ops->record_stopped != NULL)
			ops->record_stopped(arg, m->payload.u64[1]);
		rtmsg_put(e->setup.msgs, m);
	}
	return blocks;
}

/* ---- control side: accessors ------------------------------------------ */

int
engine_feed_push_spsc(struct engine *e, struct engine_block *b)
{
	return rtchan_push_spsc(&e->feed, b) ? 0 : -1;
}

int
engine_feed_full(const struct engine *e)
{
	return rtchan_count(&e->feed) >= rtchan_capacity(&e->feed);
}

struct engine_block *
engine_rec_pop_spsc(struct engine *e)
{
	return rtchan_pop_spsc(&e->rec);
}

int
engine_recfree_push_spsc(struct engine *e, struct engine_block *b)
{
	return rtchan_push_spsc(&e->recfree, b) ? 0 : -1;
}

struct engine_block *
engine_recfree_pop_spsc(struct engine *e)
{
	return rtchan_pop_spsc(&e->recfree);
}

unsigned
engine_recfree_count(const struct engine *e)
{
	return rtchan_count(&e->recfree);
}

unsigned
engine_pending_messages(const struct engine *e)
{
	return rtchan_count(&e->cmd);
}

int
engine_feed_pending(const struct engine *e)
{
	return e->feed_blk != NULL && !e->feed_ended;
}

int
engine_feed_ended(const struct engine *e)
{
	return e->feed_ended;
}

uint64_t
engine_callbacks(const struct engine *e)
{
	/* Atomic: the audio side writes it (see bump()). */
	return ck_pr_load_64((uint64_t *)&e->live->counters.callbacks);
}

uint64_t
engine_frames(const struct engine *e)
{
	return ck_pr_load_64((uint64_t *)&e->live->counters.frames);
}

int
engine_audio_tid(const struct engine *e)
{
	return ck_pr_load_int((int *)&e->audio_tid);
}

void
engine_thread_changed(struct engine *e)
{
	e->ftz_done = 0;
	ck_pr_store_int(&e->audio_tid, 0);
}

struct engine_block *
engine_rec_salvage(struct engine *e)
{
	struct engine_block *b = e->rec_blk;

	e->rec_blk = NULL;
	return b;
}

void
engine_rec_stopped(struct engine *e)
{
	e->recording = 0;
}

const struct engine_stats *
engine_stats_live(const struct engine *e)
{
	return e->live;
}
