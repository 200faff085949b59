/*
 * Offline rendering: four threads and the daemon's engine.
 *
 *   reader thread  --feed ring-->  engine (this thread)  --rec ring-->  writer
 *
 * The reader fills pool blocks from the input file; this thread calls
 * engine_process exactly as the audio callback would, with recording on;
 * the writer encodes the recorded blocks.  Unlike the callback, this loop
 * may wait: it sleeps on a semaphore until a block is ready, so nothing is
 * ever starved offline.  Pool blocks are split into two quotas, one for
 * the reader and one for recording, so neither side can take every block
 * and deadlock the other.  The output is trimmed to the input's length
 * (the last engine period is padded with silence).
 *
 * The chain is built to hide latency (chainbuild_new_offline(): a
 * convolver then runs large partitions and comes late by a known number
 * of frames): the writer drops that many first frames, and the engine
 * runs on silence after the input's end until they are made up, so the
 * output lines up with the input as the zero-latency chain's would.
 * render_opts' live_partitions builds the chain as the daemon does.
 *
 * A fourth thread, the helper, runs the chain's background work (a
 * convolver's larger levels, dsp_stage_work()) on the second core.  The
 * daemon's callback never waits for that work and counts what is late;
 * offline, where a result is due and not done, the engine thread waits
 * for the helper, or runs the job itself if the helper has not taken it
 * (dsp_work_wait_due(), helper_wait()), so nothing is ever late or
 * dropped and the output is bit-identical to running the work inline in
 * the engine thread (TIDEPOOL_RENDER_INLINE=1 does that).  Why not
 * daemon/workers.c: its threads follow the audio thread's real-time
 * scheduling, spread the levels over three threads for the callback's
 * deadlines and count late work; offline, one more thread than the
 * engine's is all two cores have, and a wait costs only time.
 */
#include <ck_pr.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/chainbuild.h"
#include "daemon/engine.h"
#include "daemon/render.h"
#include "daemon/sfin.h"
#include "daemon/sfout.h"
#include "rtpool/rtclock.h"

#if defined(__has_feature)
#if __has_feature(realtime_sanitizer)
#include <sanitizer/rtsan_interface.h>
#define RENDER_RTSAN 1
#endif
#endif

#define QUOTA 8		/* blocks the reader (and recording) may hold */
#define GEN 1		/* one file, one recording: one generation */
#define IO_FRAMES 16384	/* at least this much per read, write, hand-over */
#define HELPER_WORKS 64	/* background works the helper takes; more run
			   inline in the engine thread */

struct helper;

/* One background work and who runs it now. */
struct helper_work {
	struct dsp_work *w;
	pthread_mutex_t lock;	/* held by whichever thread runs w's jobs:
				   the helper, or the engine thread when a
				   result is due */
	struct helper *h;
};

/* The helper thread and the background work it runs. */
struct helper {
	pthread_t thread;
	int started;		/* thread is running */
	sem_t wake;		/* posted by the engine thread after each
				   submission */
	int sem;		/* wake was initialised */
	int stop;		/* ck_pr: leave at the next wake */
	struct helper_work work[HELPER_WORKS];	/* smallest frames (most
				   urgent) first */
	unsigned n;		/* works, their locks initialised */
	uint64_t jobs;		/* run by the helper: its own, read after
				   the join */
	uint64_t due_jobs;	/* run by the engine thread, due before the
				   helper took them: its own */
	uint64_t delay_ns;	/* TEST ONLY: TIDEPOOL_TEST_RENDER_HELPER_
				   DELAY_MS, a sleep after each wake */
};

struct job {
	struct engine engine;
	struct dsp_chain *chain;	/* the engine's, alive until
				   engine_done */
	struct helper helper;
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct sfin *in;
	struct sfout *out;
	unsigned channels, out_channels;
	double rate;		/* the chain's: the input's or out_rate */
	unsigned block_frames;	/* the engine's period (-b) */
	unsigned io_frames;	/* per pool block: a multiple of block_frames */
	sem_t reader_quota, record_quota, feed_ready, rec_ready;
	/* ck_pr: the input's length once the reader reached its end,
	   UINT64_MAX before.  One word that carries its own value, so the
	   writer needs no fence pairing to read it. */
	uint64_t total_frames;
	unsigned hidden;	/* frames the chain's output comes late */
	/* The writer's, read after it is joined: what the file holds
	   (the engine's meter also saw the frames cut off either end). */
	float peak;		/* largest |x| written */
	uint64_t clipped;	/* samples written with |x| >= 1 */
	int failed;		/* ck_pr: some thread gave up */
	int pools_ready;	/* blocks and msgs were initialised */
	char reader_err[512], writer_err[512];
	const int *interrupted;	/* ck_pr: see render_opts */
};

static int
stop_requested(struct job *j)
{
	return ck_pr_load_int(&j->failed) ||
	    (j->interrupted != NULL && ck_pr_load_int(j->interrupted));
}

/*
 * The reader and writer run SCHED_BATCH: they keep QUOTA blocks of slack,
 * while this thread, running the chain, is the pipeline's critical path.
 * As ordinary threads, each of their wakeups (one per block) would take
 * the core from the engine; two cores, three threads.  Measured on the
 * benchmark's chain, 10 minutes of stereo: 188 ms as ordinary threads,
 * 169 ms as batch ones, and the empty chain unchanged (128, 130 ms).
 * Unprivileged; if it fails the render is only slower.
 */
static void
io_thread_policy(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
}

static void *
reader_main(void *arg)
{
	struct job *j = arg;
	struct engine_block *b;
	long n;
	uint64_t total = 0;

	io_thread_policy();

	for (;;) {
		sem_wait(&j->reader_quota);
		b = rtpool_get(&j->blocks);	/* quota: cannot fail */
		n = stop_requested(j) ? -1 : sfin_read(j->in, b->data,
		    j->io_frames, j->reader_err, sizeof(j->reader_err));
		b->channels = j->channels;
		b->generation = GEN;
		b->flags = 0;
		if (n < 0) {
			ck_pr_store_int(&j->failed, 1);
			n = 0;
		}
		b->frames = (uint32_t)n;
		total += (uint64_t)n;
		if (n < (long)j->io_frames) {
			b->flags = ENGINE_BLOCK_END;
			ck_pr_store_64(&j->total_frames, total);
		}
		/* Feed capacity exceeds the reader's quota: cannot fail. */
		(void)engine_feed_push_spsc(&j->engine, b);
		sem_post(&j->feed_ready);
		if (b->flags & ENGINE_BLOCK_END)
			return NULL;
	}
}

/* Peak and clipped samples of n samples about to be written. */
static void
measure(struct job *j, const float *x, size_t n)
{
	float peak = j->peak, a;
	uint64_t clipped = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		a = fabsf(x[i]);
		peak = a > peak ? a : peak;
		/* As the meter: a NaN counts too (none should come). */
		clipped += !(a < 1.0f);
	}
	j->peak = peak;
	j->clipped += clipped;
}

static void *
writer_main(void *arg)
{
	struct job *j = arg;
	struct engine_block *b;
	uint64_t written = 0, n, total, skip = j->hidden, s;
	const float *x;
	int done = 0;

	io_thread_policy();

	while (!done) {
		sem_wait(&j->rec_ready);
		while ((b = engine_rec_pop_spsc(&j->engine)) != NULL) {
			n = b->frames;
			/* The chain's hidden latency: its first frames are
			   from before the input. */
			s = n < skip ? n : skip;
			skip -= s;
			n -= s;
			x = b->data + (size_t)s * j->out_channels;
			/* The output ends where the input did. */
			total = ck_pr_load_64(&j->total_frames);
			if (written + n > total)
				n = total - written;
			if (n > 0)
				measure(j, x, (size_t)n * j->out_channels);
			if (n > 0 && !ck_pr_load_int(&j->failed) &&
			    sfout_write(j->out, x, n, j->writer_err,
			    sizeof(j->writer_err)) != 0)
				ck_pr_store_int(&j->failed, 1);
			written += n;
			if (b->flags & ENGINE_BLOCK_END)
				done = 1;
			rtpool_put(&j->blocks, b);
			sem_post(&j->record_quota);
		}
	}
	return NULL;
}

static void helper_wake(void *arg) TP_REALTIME;

/*
 * sem_post never blocks (an atomic increment, a futex wake when the
 * helper sleeps); clang's effect analysis objects only because glibc does
 * not mark it nonblocking.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static void
helper_wake(void *arg)
{
	(void)sem_post(arg);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

/*
 * The engine thread, inside the convolver's process(), again and again
 * while a due result is not done.  If the helper is not running a job of
 * this work (the lock is free), the oldest job not run is the due one or
 * an earlier one: the engine thread runs it itself rather than sleep
 * until the helper gets to it.  If the helper is running one, the engine
 * thread yields and looks again: blocking on the lock could also wait
 * for the next job, not yet due, which the helper may take on first.
 * This is offline, where waiting is right; RealtimeSanitizer, which
 * watches engine_process as the callback it is live, is told so.
 */
static void
helper_wait(void *arg)
{
	struct helper_work *hw = arg;

#ifdef RENDER_RTSAN
	__rtsan_disable();
#endif
	if (pthread_mutex_trylock(&hw->lock) == 0) {
		hw->h->due_jobs += dsp_work_run_one(hw->w);
		pthread_mutex_unlock(&hw->lock);
	} else
		sched_yield();
#ifdef RENDER_RTSAN
	__rtsan_enable();
#endif
}

/*
 * Runs the pending jobs one at a time, always the most urgent work's
 * first: after any job it starts again from the smallest level, whose
 * result is due soonest.  A work the engine thread is running a job of
 * (its lock taken) is skipped.
 */
static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	struct helper_work *hw;
	struct timespec d;
	unsigned i, ran;

	for (;;) {
		while (sem_wait(&h->wake) != 0 && errno == EINTR)
			;
		if (ck_pr_load_int(&h->stop))
			break;
		if (h->delay_ns > 0) {
			d.tv_sec = (time_t)(h->delay_ns / 1000000000u);
			d.tv_nsec = (long)(h->delay_ns % 1000000000u);
			nanosleep(&d, NULL);
		}
		do {
			for (i = 0, ran = 0; i < h->n && ran == 0; i++) {
				hw = &h->work[i];
				if (pthread_mutex_trylock(&hw->lock) != 0)
					continue;
				ran = dsp_work_run_one(hw->w);
				pthread_mutex_unlock(&hw->lock);
			}
			h->jobs += ran;
		} while (ran > 0);
	}
	return NULL;
}

/*
 * Hands the chain's background work to the helper, most urgent first,
 * while nothing runs the chain yet.  Returns how many works it took, or
 * -1 with err.
 */
static int
helper_adopt(struct helper *h, struct dsp_chain *c, char *err,
    size_t errlen)
{
	struct dsp_work *w, *all[HELPER_WORKS];
	struct dsp_stage *st;
	unsigned i, k, m, n = 0;
	int e;

	for (i = 0; (st = dsp_chain_stage(c, i)) != NULL; i++)
		for (k = 0; (w = dsp_stage_work(st, k)) != NULL &&
		    n < HELPER_WORKS; k++) {
			for (m = n++; m > 0 && all[m - 1]->frames > w->frames;
			    m--)
				all[m] = all[m - 1];
			all[m] = w;
		}
	for (i = 0; i < n; i++) {
		e = pthread_mutex_init(&h->work[i].lock, NULL);
		if (e != 0) {
			snprintf(err, errlen, "render: %s", strerror(e));
			return -1;
		}
		h->work[i].w = all[i];
		h->work[i].h = h;
		h->n = i + 1;
		dsp_work_hand(all[i], helper_wake, &h->wake);
		dsp_work_wait_due(all[i], helper_wait, &h->work[i]);
	}
	return (int)n;
}

/*
 * Starts the helper if the chain has background work and
 * TIDEPOOL_RENDER_INLINE is not set.  Returns 0, or -1 with err.
 */
static int
helper_start(struct helper *h, struct dsp_chain *c, char *err,
    size_t errlen)
{
	const char *s = getenv("TIDEPOOL_RENDER_INLINE");
	const char *delay = getenv("TIDEPOOL_TEST_RENDER_HELPER_DELAY_MS");
	int e, n;

	if (s != NULL && *s != '\0' && strcmp(s, "0") != 0)
		return 0;
	if (delay != NULL && *delay != '\0')
		h->delay_ns = (uint64_t)strtoul(delay, NULL, 10) * 1000000u;
	if (sem_init(&h->wake, 0, 0) != 0) {
		snprintf(err, errlen, "render: %s", strerror(errno));
		return -1;
	}
	h->sem = 1;
	n = helper_adopt(h, c, err, errlen);
	if (n <= 0)
		return n;
	e = pthread_create(&h->thread, NULL, helper_main, h);
	if (e != 0) {
		/* The engine thread runs every job itself when it is due. */
		snprintf(err, errlen, "render: cannot start a thread: %s",
		    strerror(e));
		return -1;
	}
	h->started = 1;
	return 0;
}

/* Stops and joins the helper, once the engine runs the chain no more. */
static void
helper_stop(struct helper *h)
{
	if (h->started) {
		/* The helper reads stop after its sem_wait returns: the
		   post orders it. */
		ck_pr_store_int(&h->stop, 1);
		sem_post(&h->wake);
		pthread_join(h->thread, NULL);
		h->started = 0;
	}
	while (h->n > 0)
		pthread_mutex_destroy(&h->work[--h->n].lock);
	if (h->sem) {
		sem_destroy(&h->wake);
		h->sem = 0;
	}
}

/* Hands back what the engine returned; each block frees the reader. */
static void
recycle(struct job *j)
{
	unsigned n = engine_reclaim(&j->engine, NULL, NULL);

	while (n-- > 0)
		sem_post(&j->reader_quota);
}

/* Keeps one empty block ready for the engine to record into. */
static void
offer_record_block(struct job *j)
{
	void *b;

	if (engine_recfree_count(&j->engine) > 0)
		return;
	sem_wait(&j->record_quota);
	b = rtpool_get(&j->blocks);
	(void)engine_recfree_push_spsc(&j->engine, b);
}

/*
 * Percent, position, speed and the time left at that speed; without a
 * length (a pipe) just position and speed.  frames are the chain's, at
 * its rate; the input's length is at the input's rate.
 */
static void
draw_progress(const struct job *j, uint64_t frames, double elapsed)
{
	const struct sfin_info *info = sfin_info(j->in);
	double secs = (double)frames / j->rate, total, speed;

	speed = elapsed > 0 ? secs / elapsed : 0;
	if (info->frames > 0) {
		total = (double)info->frames / info->rate;
		fprintf(stderr, "\r%5.1f%%  %7.1f s of %.1f s  %6.1fx "
		    "realtime  %s%.0f s left ", secs < total ?
		    100.0 * secs / total : 100.0, secs, total, speed,
		    info->estimated ? "about " : "", speed > 0 && secs < total ?
		    ceil((total - secs) / speed) : 0.0);
	} else
		fprintf(stderr, "\r%7.1f s  %6.1fx realtime ", secs, speed);
}

/* One period with the feed at its end (silence in), its record handed on. */
static void
silent_period(struct job *j)
{
	offer_record_block(j);
	engine_process(&j->engine, NULL, NULL, j->block_frames, 0);
	recycle(j);
	sem_post(&j->rec_ready);
}

/*
 * The engine loop: for each block the reader hands over, as many periods
 * as it holds; until the feed's END block has been processed.
 */
static void
drive(struct job *j, const struct render_opts *o, uint64_t t0)
{
	struct engine *e = &j->engine;
	uint64_t next_draw = t0, now;
	unsigned flushed;
	int stopping = 0;

	for (;;) {
		sem_wait(&j->feed_ready);
		offer_record_block(j);
		do {
			engine_process(e, NULL, NULL, j->block_frames, 0);
			/* A record block filled mid-way needs a successor. */
			offer_record_block(j);
		} while (engine_feed_pending(e));
		recycle(j);
		sem_post(&j->rec_ready);
		if (o->progress && (now = rtclock_ns()) >= next_draw) {
			draw_progress(j, engine_frames(e),
			    (double)(now - t0) / 1e9);
			next_draw = now + 200000000;
		}
		if (engine_feed_ended(e) || stopping)
			break;
		if (ck_pr_load_int(&j->failed))
			stopping = 1;
	}
	/* Silence in, until the hidden latency's frames are out. */
	for (flushed = 0; flushed < j->hidden && !stopping;
	    flushed += j->block_frames)
		silent_period(j);
	/* The stop message flushes the last, partial record block. */
	engine_send_record(e, 0, GEN);
	silent_period(j);
	if (o->progress)
		fprintf(stderr, "\r%72s\r", "");
}

static void
summarize(struct job *j, struct render_result *r)
{
	const struct engine_stats *s = engine_stats_live(&j->engine);
	double scale = 64.0 / j->block_frames;
	const struct dsp_stage *st;
	unsigned c;

	r->peak = j->peak;
	r->clipped = j->clipped;
	rthist_summarize(&s->callback_ns, &r->per64);
	r->per64.min = (uint64_t)((double)r->per64.min * scale);
	r->per64.max = (uint64_t)((double)r->per64.max * scale);
	r->per64.p50 = (uint64_t)((double)r->per64.p50 * scale);
	r->per64.p90 = (uint64_t)((double)r->per64.p90 * scale);
	r->per64.p99 = (uint64_t)((double)r->per64.p99 * scale);
	r->per64.p999 = (uint64_t)((double)r->per64.p999 * scale);
	r->per64.mean *= scale;
	r->budget64_ns = 64.0 * 1e9 / r->rate;
	for (c = 0; (st = dsp_chain_stage(j->chain, c)) != NULL; c++)
		r->late += dsp_stage_late(st);
}

static int
setup_job(struct job *j, const char *inpath, const char *outpath,
    const struct render_opts *o, struct render_result *r, char *err,
    size_t errlen)
{
	struct engine_setup es;
	struct dsp_chain *chain;
	const struct sfin_info *info;
	unsigned maxch;
	char why[512];

	j->block_frames = o->block_frames;
	j->io_frames = (IO_FRAMES + o->block_frames - 1) / o->block_frames *
	    o->block_frames;
	j->interrupted = o->interrupted;
	j->total_frames = UINT64_MAX;
	j->in = o->open_input != NULL ? o->open_input(o->open_arg, inpath,
	    j->io_frames, err, errlen) :
	    sfin_open_spec(inpath, o->in_spec, o->out_rate, 0, j->io_frames,
	    err, errlen);
	if (j->in == NULL)
		return -1;
	info = sfin_info(j->in);
	j->channels = info->channels;
	j->rate = o->out_rate > 0 ? o->out_rate : info->rate;
	r->rate = j->rate;
	r->promised = info->frames;
	r->estimated = info->estimated;
	r->channels = info->channels;
	snprintf(r->in_format, sizeof(r->in_format), "%s", info->format);
	if (j->channels > DSP_MAX_CHANNELS) {
		snprintf(err, errlen, "%s: %u channels; at most %d", inpath,
		    j->channels, DSP_MAX_CHANNELS);
		return -1;
	}
	chain = o->live_partitions ? chainbuild_new(o->cfg, j->rate,
	    j->channels, j->block_frames, why, sizeof(why)) :
	    chainbuild_new_offline(o->cfg, j->rate, j->channels,
	    j->block_frames, &j->hidden, why, sizeof(why));
	if (chain == NULL) {
		snprintf(err, errlen, "%s (for %s: %u channels at %g Hz)",
		    why, inpath, j->channels, j->rate);
		return -1;
	}
	j->out_channels = dsp_chain_out_channels(chain);
	r->out_channels = j->out_channels;
	if (o->out_channels != 0 && o->out_channels != j->out_channels) {
		dsp_chain_del(chain);
		snprintf(err, errlen, "%s: the chain gives %u channels, not "
		    "the %u asked for (a mixer stage sets the count)",
		    outpath, j->out_channels, o->out_channels);
		return -1;
	}
	maxch = j->channels > j->out_channels ? j->channels : j->out_channels;
	if (rtpool_init(&j->blocks, sizeof(struct engine_block) +
	    sizeof(float) * (size_t)j->io_frames * maxch,
	    2 * QUOTA + 2) != RTPOOL_OK ||
	    rtmsgpool_init(&j->msgs, 16) != RTPOOL_OK) {
		dsp_chain_del(chain);
		snprintf(err, errlen, "out of memory for the block pool");
		return -1;
	}
	j->pools_ready = 1;
	memset(&es, 0, sizeof(es));
	es.rate = j->rate;
	es.max_frames = j->block_frames;
	es.channels = j->channels;
	es.out_channels = j->out_channels;
	es.block_frames = j->io_frames;
	es.blocks = &j->blocks;
	es.msgs = &j->msgs;
	es.ring_capacity = 2 * QUOTA;
	es.offline = 1;
	if (engine_init(&j->engine, &es, chain, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	j->chain = chain;
	if (helper_start(&j->helper, chain, err, errlen) != 0)
		return -1;
	j->out = sfout_open_spec(outpath, SFOUT_ATOMIC, j->rate,
	    j->out_channels, o->out_spec, err, errlen);
	if (j->out == NULL)
		return -1;
	if (o->temp_slot != NULL)
		ck_pr_store_ptr(o->temp_slot, sfout_temp_path(j->out));
	sem_init(&j->reader_quota, 0, QUOTA);
	sem_init(&j->record_quota, 0, QUOTA);
	sem_init(&j->feed_ready, 0, 0);
	sem_init(&j->rec_ready, 0, 0);
	return 0;
}

static void
teardown(struct job *j, const struct render_opts *o)
{
	if (o->temp_slot != NULL)
		ck_pr_store_ptr(o->temp_slot, NULL);
	helper_stop(&j->helper);
	if (j->out != NULL)
		sfout_abort(j->out);
	if (engine_stats_live(&j->engine) != NULL) {
		recycle(j);
		engine_done(&j->engine);
	}
	if (j->pools_ready) {
		rtpool_done(&j->blocks);
		rtmsgpool_done(&j->msgs);
	}
	sfin_close(j->in);
}

int
render_file(const char *inpath, const char *outpath,
    const struct render_opts *o, struct render_result *r, char *err,
    size_t errlen)
{
	struct job *j;
	pthread_t reader, writer;
	uint64_t t0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (setup_job(j, inpath, outpath, o, r, err, errlen) != 0)
		goto out;
	engine_send_source(&j->engine, ENGINE_SRC_FEED, GEN, 0, 0);
	engine_send_record(&j->engine, 1, GEN);
	t0 = rtclock_ns();
	pthread_create(&reader, NULL, reader_main, j);
	pthread_create(&writer, NULL, writer_main, j);
	drive(j, o, t0);
	pthread_join(reader, NULL);
	pthread_join(writer, NULL);
	r->wall_s = (double)(rtclock_ns() - t0) / 1e9;
	r->frames = sfout_frames(j->out);
	helper_stop(&j->helper);
	r->helper_jobs = j->helper.jobs;
	r->due_jobs = j->helper.due_jobs;
	r->hidden = j->hidden;
	summarize(j, r);
	if (j->reader_err[0] != '\0')
		snprintf(err, errlen, "%s", j->reader_err);
	else if (j->writer_err[0] != '\0')
		snprintf(err, errlen, "%s", j->writer_err);
	else if (o->interrupted != NULL && ck_pr_load_int(o->interrupted))
		snprintf(err, errlen, "%s: interrupted", outpath);
	else if (r->late > 0)
		/* Offline every result is waited for: this is a bug. */
		snprintf(err, errlen, "%s: %llu output blocks lost a "
		    "convolver level's result (late partitions): the output "
		    "is incomplete, and not kept", outpath,
		    (unsigned long long)r->late);
	else {
		rc = sfout_commit(j->out, err, errlen);
		j->out = NULL;
	}
out:
	teardown(j, o);
	free(j);
	return rc;
}
