/*
 * Recording on the control side.  The audio side copies its output into
 * empty blocks offered on the recfree ring and pushes them, filled, on the
 * rec ring; here they are written to the file and returned to the pool.
 * The file is opened in sfout's LIVE mode, so a recording interrupted by a
 * crash is still a valid file up to the last block written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/recorder.h"

void
recorder_init(struct recorder *r, unsigned depth)
{
	memset(r, 0, sizeof(*r));
	r->depth = depth;
}

static void
close_file(struct recorder *r)
{
	char err[512];

	if (r->out != NULL && sfout_commit(r->out, err, sizeof(err)) != 0)
		snprintf(r->error, sizeof(r->error), "%s", err);
	r->out = NULL;
	free(r->ended_path);
	r->ended_path = r->path;	/* frames stays too, for the report */
	r->path = NULL;
	r->state = RECORDER_OFF;
}

int
recorder_start(struct recorder *r, struct engine *e, const char *path,
    const struct files_target *t, char *err, size_t errlen)
{
	int fd;

	if (r->state != RECORDER_OFF) {
		snprintf(err, errlen, "already recording to %s; 'record "
		    "stop' first", r->path);
		return -1;
	}
	if ((fd = files_create(t, path, err, errlen)) < 0)
		return -1;
	r->out = sfout_open_fd(fd, path, e->setup.rate,
	    e->setup.out_channels, err, errlen);
	if (r->out == NULL)
		return -1;
	if (engine_send_record(e, 1, r->generation + 1) != 0) {
		sfout_abort(r->out);
		r->out = NULL;
		snprintf(err, errlen, "busy: the message pool is empty; try "
		    "again");
		return -1;
	}
	r->generation++;
	r->path = strdup(path);
	r->frames = 0;
	r->error[0] = '\0';
	r->state = RECORDER_ON;
	return 0;
}

int
recorder_stop(struct recorder *r, struct engine *e)
{
	if (r->state != RECORDER_ON)
		return -1;
	if (engine_send_record(e, 0, r->generation) != 0)
		return -1;
	r->state = RECORDER_STOPPING;
	return 0;
}

/* Writes one filled block; returns 1 if it ended the recording. */
static int
take(struct recorder *r, struct engine_block *b)
{
	char err[512];

	if (b->generation != r->generation || r->out == NULL)
		return 0;
	if (b->frames > 0 && sfout_write(r->out, b->data, b->frames, err,
	    sizeof(err)) != 0) {
		snprintf(r->error, sizeof(r->error), "%s", err);
		close_file(r);
		return 1;
	}
	r->frames += b->frames;
	if (b->flags & ENGINE_BLOCK_END) {
		close_file(r);
		return 1;
	}
	return 0;
}

int
recorder_pump(struct recorder *r, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;
	int ended = 0;

	while ((b = engine_rec_pop_spsc(e)) != NULL) {
		ended |= take(r, b);
		rtpool_put(pool, b);
	}
	if (r->state == RECORDER_ON && r->error[0] != '\0')
		ended = 1;
	/* Offer blocks only while recording; the engine keeps the rest. */
	while (r->state == RECORDER_ON && engine_recfree_count(e) < r->depth) {
		b = rtpool_get(pool);
		if (b == NULL) {
			r->pool_empty++;
			break;
		}
		(void)engine_recfree_push_spsc(e, b);
	}
	return ended;
}

int
recorder_stop_applied(struct recorder *r, struct engine *e,
    struct rtpool *pool, uint64_t generation)
{
	if (recorder_pump(r, e, pool))
		return 1;
	if (r->state != RECORDER_STOPPING || generation != r->generation)
		return 0;
	/* Every block of it came before the message: nothing is lost. */
	close_file(r);
	return 1;
}

void
recorder_salvage(struct recorder *r, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;

	(void)recorder_pump(r, e, pool);
	/* The callback is gone: its half-filled block is ours now. */
	b = engine_rec_salvage(e);
	if (b != NULL) {
		(void)take(r, b);
		rtpool_put(pool, b);
	}
}

void
recorder_finish_stopped(struct recorder *r, struct engine *e,
    struct rtpool *pool)
{
	recorder_salvage(r, e, pool);
	engine_rec_stopped(e);
	if (r->state != RECORDER_OFF)
		close_file(r);
}

void
recorder_done(struct recorder *r, struct rtpool *pool, struct engine *e)
{
	struct engine_block *b;

	recorder_finish_stopped(r, e, pool);
	while ((b = engine_recfree_pop_spsc(e)) != NULL)
		rtpool_put(pool, b);
	free(r->ended_path);
	r->ended_path = NULL;
}
