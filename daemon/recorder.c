/*
 * Recording on the control side.  The audio side copies its output into
 * empty blocks offered on the recfree ring and pushes them, filled, on the
 * rec ring; here they go to the disk thread's recording lane, which writes
 * them and hands them back to go to the pool.  The lane opens the file in
 * sfout's LIVE mode, so a recording interrupted by a crash is still a
 * valid file up to the last block written.
 *
 * The states move on the disk thread's answers: OPENING ends with the
 * open's, CLOSING with the close's.  A write error, seen in the answer to
 * a write, turns into a "record stop" to the engine at once; the lane
 * skips the blocks that were already on their way, and closes the file.
 * At most DISK_BACKLOG depths of blocks wait at the lane: a disk (or a
 * FIFO's reader) that falls further behind makes the engine count the
 * recording's overflow, rather than take the whole pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/recorder.h"
#include "rtpool/rtclock.h"

#define DISK_BACKLOG 4		/* depths of blocks at the lane, at most */

void
recorder_init(struct recorder *r, unsigned depth, struct disk *d)
{
	memset(r, 0, sizeof(*r));
	r->depth = depth;
	r->disk = d;
}

/* Hands j to the lane; on failure (the lane is stuck) drops it. */
static int
submit(struct recorder *r, struct disk_job *j, struct rtpool *pool)
{
	if (j != NULL && disk_submit(r->disk, DISK_RECORD, j) == 0) {
		if (j->block != NULL)
			r->writing++;
		return 0;
	}
	if (j != NULL && j->block != NULL)
		rtpool_put(pool, j->block);
	disk_job_del(j);
	return -1;
}

/* The END came (or will not): the lane finishes the file. */
static void
finish(struct recorder *r, struct rtpool *pool)
{
	struct disk_job *j = disk_job_new(DISK_CLOSE, r->generation);

	r->state = RECORDER_CLOSING;
	r->deadline_ns = rtclock_ns() + RECORDER_TIMEOUT_NS;
	if (submit(r, j, pool) != 0) {
		/* The lane's channel is full of this file's blocks; the
		   timeout will abandon them, and the close is tried again. */
		r->deadline_ns = rtclock_ns();
	}
}

int
recorder_start(struct recorder *r, struct engine *e, const char *path,
    const struct files_target *t, char *err, size_t errlen)
{
	struct disk_job *j;

	if (r->state != RECORDER_OFF) {
		snprintf(err, errlen, "already recording to %s; 'record "
		    "stop' first", r->path);
		return -1;
	}
	j = disk_job_new(DISK_OPEN_WRITE, r->generation + 1);
	if (j == NULL || (j->path = strdup(path)) == NULL ||
	    disk_job_confine(j, t->dirs) != 0) {
		disk_job_del(j);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	j->rate = e->setup.rate;
	j->channels = e->setup.out_channels;
	j->overwrite = t->overwrite;
	j->keep = t->keep;
	if (disk_submit(r->disk, DISK_RECORD, j) != 0) {
		disk_job_del(j);
		snprintf(err, errlen, "busy: the disk thread is still on an "
		    "earlier recording; try again");
		return -1;
	}
	r->generation++;
	free(r->path);
	r->path = strdup(path);
	r->frames = 0;
	r->error[0] = '\0';
	r->open_error[0] = '\0';
	r->error_unreported = 0;
	r->state = RECORDER_OPENING;
	r->deadline_ns = rtclock_ns() + RECORDER_TIMEOUT_NS;
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
	r->deadline_ns = rtclock_ns() + RECORDER_TIMEOUT_NS;
	return 0;
}

/*
 * A write error ends the recording at once: the engine stops asking for
 * record blocks, so it does not count a missing one in every callback
 * from now on.  Called again from every pump while the message pool is
 * empty.
 */
static void
stop_on_error(struct recorder *r, struct engine *e)
{
	if (r->state == RECORDER_ON && r->error[0] != '\0')
		(void)recorder_stop(r, e);
}

/* A filled block from the engine. */
static void
take(struct recorder *r, struct engine_block *b, struct rtpool *pool)
{
	struct disk_job *j;
	int end = (b->flags & ENGINE_BLOCK_END) != 0;

	if (b->generation != r->generation || (r->state != RECORDER_ON &&
	    r->state != RECORDER_STOPPING)) {
		rtpool_put(pool, b);
		return;
	}
	if (r->error[0] != '\0') {
		rtpool_put(pool, b);	/* the file takes no more */
	} else {
		j = disk_job_new(DISK_WRITE, r->generation);
		if (j != NULL)
			j->block = b;
		else
			rtpool_put(pool, b);
		(void)submit(r, j, pool);
	}
	if (end)
		finish(r, pool);
}

void
recorder_pump(struct recorder *r, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;

	while ((b = engine_rec_pop_spsc(e)) != NULL)
		take(r, b, pool);
	/* A write error whose stop could not be sent: again. */
	stop_on_error(r, e);
	if (r->error[0] != '\0')
		return;
	/* Offer blocks only while recording; the engine keeps the rest. */
	while (r->state == RECORDER_ON && engine_recfree_count(e) < r->depth) {
		if (r->writing >= DISK_BACKLOG * r->depth) {
			r->backlog_full++;
			break;
		}
		b = rtpool_get(pool);
		if (b == NULL) {
			r->pool_empty++;
			break;
		}
		(void)engine_recfree_push_spsc(e, b);
	}
}

static enum recorder_event
opened(struct recorder *r, struct engine *e, struct rtpool *pool,
    const struct disk_job *j)
{
	if (j->failed) {
		snprintf(r->open_error, sizeof(r->open_error), "%s", j->err);
		free(r->path);
		r->path = NULL;
		r->state = RECORDER_OFF;
		return RECORDER_FAILED;
	}
	if (engine_send_record(e, 1, r->generation) != 0) {
		snprintf(r->open_error, sizeof(r->open_error), "busy: the "
		    "message pool is empty; try again");
		finish(r, pool);
		return RECORDER_FAILED;
	}
	r->state = RECORDER_ON;
	/* Blocks to record into before the first callback asks. */
	recorder_pump(r, e, pool);
	return RECORDER_STARTED;
}

/* The answer to a write: the block goes back; an error ends it all. */
static void
written(struct recorder *r, struct engine *e, const struct disk_job *j)
{
	r->frames += j->frames;
	if (!j->failed || r->error[0] != '\0')
		return;
	snprintf(r->error, sizeof(r->error), "%s", j->err);
	r->errors++;
	r->error_unreported = 1;
	stop_on_error(r, e);
}

static enum recorder_event
closed(struct recorder *r, const struct disk_job *j)
{
	if (j->failed && r->error[0] == '\0') {
		snprintf(r->error, sizeof(r->error), "%s", j->err);
		r->errors++;
		r->error_unreported = 1;
	}
	free(r->ended_path);
	r->ended_path = r->path;	/* frames stays too, for the report */
	r->path = NULL;
	r->state = RECORDER_OFF;
	return RECORDER_FINISHED;
}

enum recorder_event
recorder_collect(struct recorder *r, struct engine *e, struct rtpool *pool)
{
	enum recorder_event ev = RECORDER_NOTHING, now;
	struct disk_job *j;

	while ((j = disk_collect(r->disk, DISK_RECORD)) != NULL) {
		now = RECORDER_NOTHING;
		if (j->block != NULL) {
			r->writing--;
			rtpool_put(pool, j->block);
		}
		if (j->generation == r->generation) {
			if (j->op == DISK_OPEN_WRITE &&
			    r->state == RECORDER_OPENING)
				now = opened(r, e, pool, j);
			else if (j->op == DISK_WRITE)
				written(r, e, j);
			else if (j->op == DISK_CLOSE &&
			    r->state == RECORDER_CLOSING)
				now = closed(r, j);
		}
		disk_job_del(j);
		/* A start that fails and a finish in one batch: the finish
		   is what the caller must act on last. */
		if (now != RECORDER_NOTHING)
			ev = now;
	}
	return ev;
}

enum recorder_event
recorder_tick(struct recorder *r, uint64_t now)
{
	if (r->state == RECORDER_OFF || r->state == RECORDER_ON ||
	    now < r->deadline_ns)
		return RECORDER_NOTHING;
	/* The lane is held by this file (an open, a write or the close):
	   interrupt it; what it skips from now on is not written. */
	disk_cancel(r->disk, DISK_RECORD, r->generation + 1);
	if (r->state == RECORDER_OPENING) {
		snprintf(r->open_error, sizeof(r->open_error), "%s: not open "
		    "after %.0f s (a FIFO nobody reads, or a mount that does "
		    "not answer); abandoned", r->path,
		    (double)RECORDER_TIMEOUT_NS / 1e9);
		free(r->path);
		r->path = NULL;
		r->state = RECORDER_OFF;
		return RECORDER_FAILED;
	}
	if (r->error[0] == '\0') {
		snprintf(r->error, sizeof(r->error), "%s: writing stalled "
		    "for %.0f s (a FIFO nobody reads, or a mount that does "
		    "not answer); the rest was abandoned", r->path,
		    (double)RECORDER_TIMEOUT_NS / 1e9);
		r->errors++;
		r->error_unreported = 1;
		/* A second to see the interrupt work, or the close come. */
		r->deadline_ns = now + 1000000000ull;
		return RECORDER_NOTHING;
	}
	/*
	 * Still held (libsndfile retries a write that a signal broke): the
	 * recording is over for us; the lane finishes with it whenever its
	 * call returns, skipping the rest.  Its blocks come back then.
	 */
	free(r->ended_path);
	r->ended_path = r->path;
	r->path = NULL;
	r->state = RECORDER_OFF;
	return RECORDER_FINISHED;
}

void
recorder_stop_applied(struct recorder *r, struct engine *e,
    struct rtpool *pool, uint64_t generation)
{
	recorder_pump(r, e, pool);
	if (r->state != RECORDER_STOPPING || generation != r->generation)
		return;
	/* Every block of it came before the message: nothing is lost. */
	finish(r, pool);
}

void
recorder_salvage(struct recorder *r, struct engine *e, struct rtpool *pool)
{
	struct engine_block *b;

	recorder_pump(r, e, pool);
	/* The callback is gone: its half-filled block is ours now. */
	b = engine_rec_salvage(e);
	if (b != NULL) {
		b->flags &= ~(uint32_t)ENGINE_BLOCK_END;
		take(r, b, pool);
	}
}

void
recorder_finish_stopped(struct recorder *r, struct engine *e,
    struct rtpool *pool)
{
	recorder_salvage(r, e, pool);
	engine_rec_stopped(e);
	if (r->state == RECORDER_ON || r->state == RECORDER_STOPPING)
		finish(r, pool);
}

enum recorder_event
recorder_wait(struct recorder *r, struct engine *e, struct rtpool *pool,
    uint64_t timeout_ns)
{
	uint64_t start = rtclock_ns(), now = start, cancelled = 0;
	struct timespec ts = { 0, 1000000 };
	enum recorder_event ev = RECORDER_NOTHING, got;

	while (r->state != RECORDER_OFF && now - start < timeout_ns) {
		got = recorder_collect(r, e, pool);
		if (got != RECORDER_NOTHING)
			ev = got;
		if (r->state == RECORDER_OFF)
			break;
		if (!cancelled && now - start > timeout_ns / 2) {
			disk_cancel(r->disk, DISK_RECORD, r->generation + 1);
			cancelled = now;
		}
		/* Interrupted (here or before), and still held: no use
		   waiting longer. */
		if ((cancelled == 0 || now - cancelled > 100000000ull) &&
		    disk_stuck(r->disk, DISK_RECORD))
			break;
		disk_kick(r->disk);
		nanosleep(&ts, NULL);
		now = rtclock_ns();
	}
	return ev;
}

void
recorder_done(struct recorder *r, struct rtpool *pool, struct engine *e)
{
	struct engine_block *b;

	recorder_finish_stopped(r, e, pool);
	(void)recorder_wait(r, e, pool, 400000000ull);
	while ((b = engine_recfree_pop_spsc(e)) != NULL)
		rtpool_put(pool, b);
	free(r->ended_path);
	r->ended_path = NULL;
	free(r->path);
	r->path = NULL;
}
