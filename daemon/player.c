/*
 * File playback on the control side.  The disk thread's playback lane
 * opens the file and decodes it a block at a time into pool blocks tagged
 * with the playback's generation (the blocks go there empty and come back
 * filled, in order); this side only moves blocks and messages.  A block
 * the feed ring has no room for waits in p->held. the audio
 * side discards blocks of any other generation, so a stopped or replaced
 * file can never leak into the output.  A file's first blocks are queued
 * just before its source message: the engine keeps a newer generation's
 * blocks until the message is applied, so the first callback of the file
 * already has its audio.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/files.h"
#include "daemon/player.h"
#include "rtpool/rtclock.h"

/* Reads TIDEPOOL_TEST_STALL_DECODE="FRAMES:MS"; anything else: no stall. */
static void
stall_hook_init(struct player *p)
{
	const char *v = getenv("TIDEPOOL_TEST_STALL_DECODE");
	unsigned long long frames, ms;
	char junk;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &frames, &ms, &junk) != 2 ||
	    frames == 0)
		return;
	p->stall_after = frames;
	p->stall_ns = ms * 1000000ull;
	fprintf(stderr, "tidepoold: test hook: decoding stalls %llu ms after "
	    "%llu frames of each file\n", ms, frames);
}

/* 1 while the test hook holds decoding back. */
static int
stalling(struct player *p)
{
	uint64_t now;

	if (p->stall_after == 0 || p->frames_fed < p->stall_after)
		return 0;
	now = rtclock_ns();
	if (!p->stalled) {
		p->stalled = 1;
		p->stall_until = now + p->stall_ns;
	}
	return now < p->stall_until;
}

int
player_init(struct player *p, unsigned depth, struct disk *d)
{
	memset(p, 0, sizeof(*p));
	p->depth = depth;
	p->disk = d;
	p->held = calloc(depth, sizeof(*p->held));
	stall_hook_init(p);
	return p->held == NULL ? -1 : 0;
}

int
player_start(struct player *p, struct engine *e, struct rtpool *pool,
    const char *path, const struct config_files *dirs, int loop, char *err,
    size_t errlen)
{
	struct disk_job *j;

	(void)pool;
	player_stop(p);		/* a new generation for the new file */
	j = disk_job_new(DISK_OPEN_READ, p->generation);
	if (j == NULL || (j->path = strdup(path)) == NULL ||
	    (dirs != NULL && disk_job_confine(j, dirs) != 0) ||
	    (p->path = strdup(path)) == NULL) {
		disk_job_del(j);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	j->rate = e->setup.rate;
	j->channels = e->setup.channels;
	j->capacity = engine_block_capacity(e, e->setup.channels);
	j->loop = loop;
	if (disk_submit(p->disk, DISK_PLAY, j) != 0) {
		disk_job_del(j);
		free(p->path);
		p->path = NULL;
		snprintf(err, errlen, "busy: the disk thread is still on an "
		    "earlier file; try again");
		return -1;
	}
	p->loop = loop;
	p->state = PLAYER_OPENING;
	p->open_deadline_ns = rtclock_ns() + PLAYER_OPEN_TIMEOUT_NS;
	p->frames_fed = 0;
	p->queued = 0;
	p->loops = 0;
	p->stalled = 0;
	p->error[0] = '\0';
	p->open_error[0] = '\0';
	p->configured = 0;
	p->source_sent = 0;
	return 0;
}

void
player_stop(struct player *p)
{
	struct disk_job *j;

	free(p->path);
	p->path = NULL;
	p->source_sent = 0;
	/* Every block queued so far is stale from now on; the source sent
	   next carries this generation (see engine.c, drop_stale_feed). */
	p->generation++;
	if (p->disk == NULL)
		return;
	if (p->state != PLAYER_IDLE) {
		/* Whatever the lane still does for the old file is abandoned,
		   an open or a read that blocks included. */
		disk_cancel(p->disk, DISK_PLAY, p->generation);
		j = disk_job_new(DISK_CLOSE, p->generation);
		if (j != NULL && disk_submit(p->disk, DISK_PLAY, j) != 0)
			disk_job_del(j);	/* the next open closes it */
	}
	p->state = PLAYER_IDLE;
}

/* Moves held blocks on to the feed ring, oldest first; stale ones go back
   to the pool. */
static void
flush_held(struct player *p, struct engine *e, struct rtpool *pool)
{
	unsigned i = 0, k = 0;

	for (; i < p->nheld; i++) {
		struct engine_block *b = p->held[i];

		if (b->generation != p->generation)
			rtpool_put(pool, b);
		else if (k == 0 && !engine_feed_full(e))
			(void)engine_feed_push_spsc(e, b);	/* room seen */
		else
			p->held[k++] = b;
	}
	p->nheld = k;
}

void
player_refill(struct player *p, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;
	struct disk_job *j;

	flush_held(p, e, pool);
	if (p->state != PLAYER_STREAMING || stalling(p))
		return;
	/* Blocks of a stopped file may still sit in the ring until the
	   engine drops them: count this file's own, not the ring's. */
	while (p->queued < p->depth) {
		/* Full of stale blocks only while no callback runs to drop
		   them (the device is gone): wait, decode nothing. */
		if (engine_feed_full(e))
			return;
		b = rtpool_get(pool);
		if (b == NULL) {
			p->pool_empty++;
			return;
		}
		b->frames = 0;
		b->channels = e->setup.channels;
		b->generation = p->generation;
		b->flags = 0;
		j = disk_job_new(DISK_FILL, p->generation);
		if (j != NULL) {
			j->block = b;
			j->capacity = engine_block_capacity(e,
			    e->setup.channels);
		}
		if (j == NULL || disk_submit(p->disk, DISK_PLAY, j) != 0) {
			disk_job_del(j);
			rtpool_put(pool, b);
			return;
		}
		p->queued++;
	}
}

/* A start that cannot go on: says why, and plays nothing. */
static enum player_event
failed(struct player *p, const char *why)
{
	char msg[sizeof(p->open_error)];

	snprintf(msg, sizeof(msg), "%s", why);
	player_stop(p);
	memcpy(p->open_error, msg, sizeof(msg));
	return PLAYER_FAILED;
}

static enum player_event
opened(struct player *p, struct engine *e, struct rtpool *pool,
    const struct disk_job *j)
{
	if (j->failed)
		return failed(p, j->err);
	p->info = j->info;
	p->state = PLAYER_STREAMING;
	player_refill(p, e, pool);
	return PLAYER_NOTHING;
}

/* A filled block of the current file. */
static enum player_event
filled(struct player *p, struct engine *e, struct rtpool *pool,
    struct disk_job *j)
{
	struct engine_block *b = j->block;

	if (p->state != PLAYER_STREAMING) {
		/* Decoded after the END block: not needed. */
		rtpool_put(pool, b);
		if (p->queued > 0)
			p->queued--;
		return PLAYER_NOTHING;
	}
	p->frames_fed += j->frames;
	p->loops += j->loops;
	if (j->failed)
		snprintf(p->error, sizeof(p->error), "%s", j->err);
	if (j->end) {
		b->flags |= ENGINE_BLOCK_END;
		p->state = PLAYER_DRAINING;
	}
	p->held[p->nheld++] = b;	/* at most depth are out */
	flush_held(p, e, pool);
	if (p->source_sent)
		return PLAYER_NOTHING;
	/*
	 * The first blocks go before the source message, so that the
	 * callback that applies it has audio: the engine keeps a newer
	 * generation's blocks until its message comes.
	 */
	if (engine_send_source(e, ENGINE_SRC_FEED, p->generation, 0, 0) != 0)
		return failed(p, "busy: the message pool is empty; try again");
	p->source_sent = 1;
	return PLAYER_STARTED;
}

enum player_event
player_collect(struct player *p, struct engine *e, struct rtpool *pool)
{
	enum player_event ev = PLAYER_NOTHING, now;
	struct disk_job *j;

	while ((j = disk_collect(p->disk, DISK_PLAY)) != NULL) {
		now = PLAYER_NOTHING;
		if (j->generation != p->generation) {
			if (j->block != NULL)
				rtpool_put(pool, j->block);
		} else if (j->op == DISK_OPEN_READ &&
		    p->state == PLAYER_OPENING) {
			now = opened(p, e, pool, j);
		} else if (j->op == DISK_FILL) {
			now = filled(p, e, pool, j);
		}
		disk_job_del(j);
		if (now != PLAYER_NOTHING)
			ev = now;
	}
	player_refill(p, e, pool);
	return ev;
}

enum player_event
player_tick(struct player *p, uint64_t now)
{
	char msg[sizeof(p->open_error)];

	if (p->state != PLAYER_OPENING || now < p->open_deadline_ns)
		return PLAYER_NOTHING;
	snprintf(msg, sizeof(msg), "%s: not open after %.0f s (a FIFO "
	    "nobody writes to, or a mount that does not answer); abandoned",
	    p->path, (double)PLAYER_OPEN_TIMEOUT_NS / 1e9);
	return failed(p, msg);
}

int
player_returned(struct player *p, const struct engine_block *b)
{
	if (b->generation == p->generation && p->queued > 0)
		p->queued--;
	if (b->generation == p->generation &&
	    (b->flags & ENGINE_BLOCK_END) && p->state == PLAYER_DRAINING) {
		player_stop(p);
		return 1;
	}
	return 0;
}

void
player_done(struct player *p, struct rtpool *pool)
{
	unsigned i;

	player_stop(p);
	for (i = 0; i < p->nheld; i++)
		rtpool_put(pool, p->held[i]);
	p->nheld = 0;
	free(p->held);
	p->held = NULL;
}

int
player_send_configured(struct player *p, struct engine *e,
    struct rtpool *pool, const struct config_engine *en, char *desc,
    size_t desclen, char *err, size_t errlen)
{
	err[0] = '\0';
	switch (en->input) {
	case CONFIG_INPUT_TONE:
		snprintf(desc, desclen, "tone %g Hz", en->tone_freq);
		return engine_send_source(e, ENGINE_SRC_TONE, p->generation,
		    en->tone_freq, pow(10.0, en->tone_level / 20.0));
	case CONFIG_INPUT_DEVICE:
		snprintf(desc, desclen, "device");
		return engine_send_source(e, ENGINE_SRC_DEVICE, p->generation,
		    0, 0);
	case CONFIG_INPUT_FILE:
		snprintf(desc, desclen, "file %s", en->input_path);
		if (player_start(p, e, pool, en->input_path, NULL, en->loop,
		    err, errlen) == 0) {
			p->configured = 1;
			return 0;
		}
		break;
	case CONFIG_INPUT_NONE:
		break;
	}
	snprintf(desc, desclen, "none");
	return engine_send_source(e, ENGINE_SRC_NONE, p->generation, 0, 0);
}

int
player_send_after_end(struct player *p, struct engine *e,
    struct rtpool *pool, const struct config_engine *en, char *desc,
    size_t desclen, char *err, size_t errlen)
{
	if (!p->configured)
		return player_send_configured(p, e, pool, en, desc, desclen,
		    err, errlen);
	err[0] = '\0';
	snprintf(desc, desclen, "none (the file ended)");
	return engine_send_source(e, ENGINE_SRC_NONE, p->generation, 0, 0);
}
