/*
 * File playback on the control side.  The file is decoded a block at a
 * time into pool blocks tagged with the playback's generation; the audio
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

void
player_init(struct player *p, unsigned depth)
{
	memset(p, 0, sizeof(*p));
	p->depth = depth;
	stall_hook_init(p);
}

int
player_start(struct player *p, struct engine *e, struct rtpool *pool,
    const char *path, const struct config_files *dirs, int loop, char *err,
    size_t errlen)
{
	unsigned max = engine_block_capacity(e, e->setup.channels);
	struct sfin *in = NULL;
	int fd;

	if (dirs == NULL)
		in = sfin_open(path, e->setup.rate, e->setup.channels, max,
		    err, errlen);
	else if ((fd = files_open_read(dirs, path, err, errlen)) >= 0)
		in = sfin_open_fd(fd, path, e->setup.rate, e->setup.channels,
		    max, err, errlen);
	if (in == NULL)
		return -1;
	player_stop(p);		/* a new generation for the new file */
	p->in = in;
	p->path = strdup(path);
	p->loop = loop;
	p->state = PLAYER_STREAMING;
	p->frames_fed = 0;
	p->queued = 0;
	p->loops = 0;
	p->stalled = 0;
	p->error[0] = '\0';
	p->configured = 0;
	/*
	 * The first blocks go before the source message, so that the
	 * callback that applies it has audio: the engine keeps a newer
	 * generation's blocks until its message comes.
	 */
	player_refill(p, e, pool);
	if (engine_send_source(e, ENGINE_SRC_FEED, p->generation, 0,
	    0) != 0) {
		player_stop(p);
		snprintf(err, errlen, "busy: the message pool is empty; try "
		    "again");
		return -1;
	}
	return 0;
}

void
player_stop(struct player *p)
{
	sfin_close(p->in);
	p->in = NULL;
	free(p->path);
	p->path = NULL;
	p->state = PLAYER_IDLE;
	/* Every block queued so far is stale from now on; the source sent
	   next carries this generation (see engine.c, drop_stale_feed). */
	p->generation++;
}

/* Fills one block; returns 1 if it is the last. */
static int
fill(struct player *p, struct engine *e, struct engine_block *b)
{
	unsigned cap = engine_block_capacity(e, e->setup.channels);
	unsigned ch = e->setup.channels;
	long n;

	b->frames = 0;
	b->channels = ch;
	b->generation = p->generation;
	b->flags = 0;
	while (b->frames < cap) {
		n = sfin_read(p->in, b->data + (size_t)b->frames * ch,
		    cap - b->frames, p->error, sizeof(p->error));
		if (n < 0)
			break;
		b->frames += (uint32_t)n;
		if (n > 0)
			continue;
		/* End of file: wrap around, unless the file is empty. */
		if (p->loop && p->frames_fed + b->frames > 0 &&
		    sfin_rewind(p->in) == 0) {
			p->loops++;
			continue;
		}
		break;
	}
	p->frames_fed += b->frames;
	if (b->frames < cap) {
		b->flags |= ENGINE_BLOCK_END;
		return 1;
	}
	return 0;
}

void
player_refill(struct player *p, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;

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
		p->queued++;
		if (fill(p, e, b)) {
			p->state = PLAYER_DRAINING;
			(void)engine_feed_push_spsc(e, b);	/* room seen */
			return;
		}
		(void)engine_feed_push_spsc(e, b);	/* room seen */
	}
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
player_done(struct player *p)
{
	player_stop(p);
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
