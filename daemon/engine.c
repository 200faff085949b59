/*
 * The engine: the code that runs inside the audio callback, and its
 * set-up.  What the control side does with it (messages, statistics,
 * taking back what it returns) is in engine_ctl.c.
 *
 * The audio side only ever pops and pushes SPSC rings, reads the clock and
 * computes; it owns no memory of its own once running.  Blocks it has read,
 * messages it has applied and chains it has retired all go back on the
 * return ring, where the control side recycles or frees them.  The return
 * ring is sized to hold every block and message that exists, so a push to it
 * cannot fail.
 *
 * A swapped-in chain is not heard at once: it was warmed up by the
 * control side on the input the callback keeps in its tail ring
 * (engine_warm_up), and the callback first feeds it the frames that came
 * after that (catch_up), then crossfades.  So a reload's crossfade goes
 * between two chains that have heard the same music.
 *
 * Statistics: counters are plain 64-bit fields written with atomic stores by
 * the audio side alone; histograms carry their own sequence locks; the
 * small remainder (meter, episodes, state) is published under one
 * ck_sequence.  Resetting the statistics is done by the reader keeping a
 * baseline (see stats.c), so the callback never clears large histograms.
 */
#include <ck_pr.h>
#include <ck_sequence.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "rtpool/rtclock.h"

static void bump(uint64_t *counter, uint64_t n) TP_REALTIME;
static void give_back(struct engine *e, void *item) TP_REALTIME;
static void apply_messages(struct engine *e, uint64_t now) TP_REALTIME;
static const float *read_source(struct engine *e, const float *in,
    unsigned frames, uint32_t *causes) TP_REALTIME;
static void read_feed(struct engine *e, unsigned frames,
    uint32_t *causes) TP_REALTIME;
static void run_chains(struct engine *e, const float *src, float *out,
    unsigned frames) TP_REALTIME;
static void start_fade(struct engine *e) TP_REALTIME;
static void late_partitions(struct engine *e, uint32_t *causes) TP_REALTIME;
static void catch_up(struct engine *e, unsigned frames) TP_REALTIME;
static void record(struct engine *e, const float *out, unsigned frames,
    uint32_t *causes) TP_REALTIME;
static void end_recording(struct engine *e) TP_REALTIME;
static void note_episode(struct engine *e, uint64_t start, uint32_t causes,
    float load) TP_REALTIME;
static void follow_clock(struct engine *e, uint32_t *causes) TP_REALTIME;
static void end_cycle(struct engine *e) TP_REALTIME;
static void account(struct engine *e, uint64_t start, unsigned frames,
    uint32_t causes) TP_REALTIME;

/*
 * gettid() is a bare system call that cannot block; clang only objects
 * because libc does not mark it nonblocking.  Called once per stream.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static int audio_thread_id(void) TP_REALTIME;

static int
audio_thread_id(void)
{
	return (int)gettid();
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

/* Single writer: a plain read then an atomic store is enough. */
static void
bump(uint64_t *counter, uint64_t n)
{
	/* The store is atomic so the reader never sees a torn value. */
	ck_pr_store_64(counter, ck_pr_load_64(counter) + n);
}

static void
give_back(struct engine *e, void *item)
{
	/* Cannot fail: ret holds every block and message there is. */
	(void)rtchan_push_spsc(&e->ret, item);
}

unsigned
engine_block_capacity(const struct engine *e, unsigned channels)
{
	return (unsigned)(e->block_bytes / (sizeof(float) * channels));
}

static void *
alloc_floats(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, n * sizeof(float) + 64) != 0)
		return NULL;
	/* Touch it now: the callback must not take the first page fault. */
	memset(p, 0, n * sizeof(float) + 64);
	return p;
}

int
engine_init(struct engine *e, const struct engine_setup *s,
    struct dsp_chain *chain, char *err, size_t errlen)
{
	struct rtpool_stats ps;
	unsigned ret_cap;

	memset(e, 0, sizeof(*e));
	e->setup = *s;
	if (dsp_chain_in_channels(chain) != s->channels ||
	    dsp_chain_out_channels(chain) != s->out_channels) {
		snprintf(err, errlen, "the chain takes %u channels and gives "
		    "%u; the engine has %u in and %u out",
		    dsp_chain_in_channels(chain),
		    dsp_chain_out_channels(chain), s->channels,
		    s->out_channels);
		return -1;
	}
	rtpool_stats(s->blocks, &ps);
	if (ps.block_size <= sizeof(struct engine_block)) {
		snprintf(err, errlen, "pool blocks of %zu bytes are too small",
		    ps.block_size);
		return -1;
	}
	e->block_bytes = ps.block_size - sizeof(struct engine_block);
	if (engine_block_capacity(e, s->channels > s->out_channels ?
	    s->channels : s->out_channels) == 0) {
		snprintf(err, errlen, "pool blocks cannot hold one frame");
		return -1;
	}
	/* Everything that exists can be in the return ring at once. */
	ret_cap = (unsigned)ps.blocks + s->ring_capacity * 2 + 8;
	{
		struct rtpool_stats ms;

		rtmsgpool_stats(s->msgs, &ms);
		ret_cap += (unsigned)ms.blocks;
	}
	if (rtchan_init(&e->cmd, s->ring_capacity) != 0 ||
	    rtchan_init(&e->feed, s->ring_capacity) != 0 ||
	    rtchan_init(&e->recfree, s->ring_capacity) != 0 ||
	    rtchan_init(&e->rec, (unsigned)ps.blocks + 1) != 0 ||
	    rtchan_init(&e->ret, ret_cap) != 0)
		goto nomem;
	e->src_buf = alloc_floats((size_t)s->max_frames * s->channels);
	e->fade_buf = alloc_floats((size_t)s->max_frames * s->out_channels);
	e->out_buf = alloc_floats((size_t)s->max_frames * s->out_channels);
	e->live = engine_stats_new();
	if (e->src_buf == NULL || e->fade_buf == NULL || e->out_buf == NULL ||
	    e->live == NULL)
		goto nomem;
	if (s->tail_frames > 0 && (rttail_init(&e->tail, s->tail_frames,
	    s->channels) != 0 || (e->catch_buf = alloc_floats(
	    (size_t)s->max_frames * s->channels)) == NULL))
		goto nomem;
	e->chain = chain;
	e->source = ENGINE_SRC_NONE;
	dsp_meter_init(&e->meter, s->out_channels, s->rate);
	e->live->meter = e->meter;
	e->live->nstages = dsp_chain_length(chain);
	e->live->period_ns = 0;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory setting up the engine");
	engine_done(e);
	return -1;
}

void
engine_done(struct engine *e)
{
	struct rtmsg *m;

	if (e->live != NULL)
		(void)engine_reclaim(e, NULL, NULL);
	/* A chain sent while no callback ran (the device was gone) was
	   never taken: it is still the message's. */
	while ((m = rtchan_pop_spsc(&e->cmd)) != NULL)
		if (m->type == ENGINE_MSG_SWAP)
			dsp_chain_del(m->payload.ptr[0]);
	if (e->old != NULL)
		dsp_chain_del(e->old);
	if (e->next != NULL)
		dsp_chain_del(e->next);
	if (e->chain != NULL)
		dsp_chain_del(e->chain);
	rtchan_done(&e->cmd);
	rtchan_done(&e->feed);
	rtchan_done(&e->recfree);
	rtchan_done(&e->rec);
	rtchan_done(&e->ret);
	free(e->src_buf);
	free(e->fade_buf);
	free(e->out_buf);
	free(e->catch_buf);
	rttail_done(&e->tail);
	free(e->live);
	memset(e, 0, sizeof(*e));
}

struct engine_stats *
engine_stats_new(void)
{
	struct engine_stats *s;
	unsigned i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	rthist_init(&s->callback_ns);
	rthist_init(&s->interval_ns);
	rthist_init(&s->message_ns);
	rthist_init(&s->cycle_ns);
	for (i = 0; i < ENGINE_MAX_STAGES; i++)
		rthist_init(&s->stage_ns[i]);
	return s;
}

/* ---- audio side ------------------------------------------------------- */

/*
 * Hands back the feed blocks of older generations than the current one.
 * Generations only grow, and the player queues a new file's blocks right
 * behind its source message, so a block of a newer generation may be
 * popped before that message is applied: it is kept, not played, until
 * the message makes its generation the current one.
 */
static void
drop_stale_feed(struct engine *e)
{
	struct engine_block *b;

	if (e->feed_blk != NULL && e->feed_blk->generation < e->feed_gen) {
		give_back(e, e->feed_blk);
		e->feed_blk = NULL;
	}
	while (e->feed_blk == NULL &&
	    (b = rtchan_pop_spsc(&e->feed)) != NULL) {
		if (b->generation >= e->feed_gen) {
			e->feed_blk = b;
			e->feed_pos = 0;
		} else
			give_back(e, b);
	}
}

static void
apply_messages(struct engine *e, uint64_t now)
{
	struct rtmsg *m;
	struct dsp_chain *c;

	while ((m = rtchan_pop_spsc(&e->cmd)) != NULL) {
		/*
		 * A message sent while this callback had already begun is
		 * stamped after `now`: the clock is read again after the pop,
		 * which the ring orders after the sender's stamp.
		 */
		if (m->enqueue_ns > now)
			now = rtclock_ns();
		rthist_record(&e->live->message_ns, now > m->enqueue_ns ?
		    now - m->enqueue_ns : 0);
		bump(&e->live->counters.messages, 1);
		switch ((enum engine_msg)m->type) {
		case ENGINE_MSG_SET:
			/* After a swap, a set is meant for the new chain
			   (the control side's view of the stages is its),
			   heard yet or not. */
			c = e->next != NULL ? e->next : e->chain;
			if (m->payload.u64[0] < dsp_chain_length(c))
				(void)dsp_stage_set(dsp_chain_stage(c,
				    (unsigned)m->payload.u64[0]),
				    (unsigned)m->payload.u64[1],
				    m->payload.f64[2]);
			break;
		case ENGINE_MSG_SWAP:
			if (e->next != NULL) {
				/* Overtaken before it was heard: the newer
				   one wins, this one goes back unheard. */
				e->next_msg->payload.ptr[1] = e->next;
				give_back(e, e->next_msg);
			}
			e->next = m->payload.ptr[0];
			e->next_msg = m;
			e->next_pos = m->payload.u64[2];
			if (e->tail.frames == 0 ||
			    e->next_pos == ENGINE_NOT_WARMED)
				start_fade(e);
			continue;	/* m goes back when the fade ends */
		case ENGINE_MSG_SOURCE:
			e->source = (enum engine_source)m->payload.u64[0];
			e->feed_gen = m->payload.u64[1];
			e->feed_ended = 0;
			drop_stale_feed(e);
			e->tone_step = 2.0 * M_PI * m->payload.f64[2] /
			    e->setup.rate;
			e->tone_amp = m->payload.f64[3];
			e->tone_phase = 0;
			break;
		case ENGINE_MSG_RECORD:
			if (e->recording)
				end_recording(e);
			e->recording = m->payload.u64[0] != 0;
			e->rec_gen = m->payload.u64[1];
			break;
		case ENGINE_MSG_RESET:
			dsp_meter_reset(&e->meter);
			break;
		}
		give_back(e, m);
	}
}

/*
 * The block being read, taking the next of this generation if needed;
 * NULL if none is ready (or the next is a newer file's: see
 * drop_stale_feed()).
 */
static struct engine_block *
current_feed_block(struct engine *e)
{
	drop_stale_feed(e);
	if (e->feed_blk == NULL || e->feed_blk->generation != e->feed_gen)
		return NULL;
	return e->feed_blk;
}

/* Done with the current block: the chain may still read it (see below). */
static void
finish_feed_block(struct engine *e)
{
	if (e->feed_blk->flags & ENGINE_BLOCK_END)
		e->feed_ended = 1;
	e->feed_done = e->feed_blk;
	e->feed_blk = NULL;
}

/*
 * The period's frames straight from the feed block when it holds them
 * all, so the chain reads the block itself: no copy.  NULL otherwise.
 */
static const float *
feed_in_place(struct engine *e, unsigned frames)
{
	struct engine_block *b;
	const float *p;

	if (e->feed_ended || (b = current_feed_block(e)) == NULL ||
	    b->frames - e->feed_pos < frames)
		return NULL;
	p = b->data + (size_t)e->feed_pos * e->setup.channels;
	e->feed_pos += frames;
	if (e->feed_pos == b->frames)
		finish_feed_block(e);
	return p;
}

static void
read_feed(struct engine *e, unsigned frames, uint32_t *causes)
{
	unsigned ch = e->setup.channels, got = 0, n;
	struct engine_block *b;

	while (got < frames && !e->feed_ended &&
	    (b = current_feed_block(e)) != NULL) {
		n = b->frames - e->feed_pos;
		if (n > frames - got)
			n = frames - got;
		memcpy(e->src_buf + (size_t)got * ch,
		    b->data + (size_t)e->feed_pos * ch,
		    (size_t)n * ch * sizeof(float));
		got += n;
		e->feed_pos += n;
		if (e->feed_pos == b->frames) {
			finish_feed_block(e);
			/* Copied out: it can go back now. */
			give_back(e, e->feed_done);
			e->feed_done = NULL;
		}
	}
	if (got < frames) {
		memset(e->src_buf + (size_t)got * ch, 0,
		    (size_t)(frames - got) * ch * sizeof(float));
		/* A newer file's block waiting for its source message
		   means a switch is under way, not a starved feed. */
		if (!e->feed_ended && (e->feed_blk == NULL ||
		    e->feed_blk->generation <= e->feed_gen)) {
			*causes |= ENGINE_CAUSE_SOURCE_STARVED;
			bump(&e->live->counters.source_starved, 1);
			bump(&e->live->counters.starved_frames, frames - got);
		}
	}
}

static const float *
read_source(struct engine *e, const float *in, unsigned frames,
    uint32_t *causes)
{
	unsigned ch = e->setup.channels, i, c;
	size_t bytes = (size_t)frames * ch * sizeof(float);
	const float *direct;
	float v;

	switch (e->source) {
	case ENGINE_SRC_NONE:
		memset(e->src_buf, 0, bytes);
		break;
	case ENGINE_SRC_DEVICE:
		if (in != NULL)
			return in;
		memset(e->src_buf, 0, bytes);
		break;
	case ENGINE_SRC_TONE:
		for (i = 0; i < frames; i++) {
			v = (float)(e->tone_amp * sin(e->tone_phase));
			for (c = 0; c < ch; c++)
				e->src_buf[(size_t)i * ch + c] = v;
			e->tone_phase += e->tone_step;
			if (e->tone_phase >= 2.0 * M_PI)
				e->tone_phase -= 2.0 * M_PI;
		}
		break;
	case ENGINE_SRC_FEED:
		direct = feed_in_place(e, frames);
		if (direct != NULL)
			return direct;
		read_feed(e, frames, causes);
		break;
	}
	return e->src_buf;
}

/* next has caught up with the input: it is heard from this period on. */
static void
start_fade(struct engine *e)
{
	if (e->old != NULL) {
		/* A swap during a fade cuts the old fade short. */
		e->swap_msg->payload.ptr[1] = e->old;
		give_back(e, e->swap_msg);
	}
	e->old = e->chain;
	e->chain = e->next;
	/* What it was late in catching up is not this callback's. */
	e->chain_late = dsp_chain_late(e->chain);
	e->swap_msg = e->next_msg;
	e->next = NULL;
	e->next_msg = NULL;
	e->fade_pos = 0;
	ck_sequence_write_begin(&e->seq);
	e->live->nstages = dsp_chain_length(e->chain);
	ck_sequence_write_end(&e->seq);
}

/*
 * The warmed-up chain waiting in next has run up to next_pos; the tail
 * holds the input up to the start of this period.  What lies between
 * (the input that came while the control side sent it: about a period)
 * is fed to it here from the tail, output discarded, and once it has
 * heard everything it crossfades in with this period.  The catching up
 * per callback is capped at one period more than the callback's own, so a
 * long gap (a control thread preempted between warming and sending)
 * costs a few callbacks of delay, never one long callback: each one gains
 * at least max_frames on the input.  Input older than the tail holds is
 * gone: the chain goes on from the oldest there is.
 */
static void
catch_up(struct engine *e, unsigned frames)
{
	uint64_t head = rttail_head(&e->tail), oldest;
	uint64_t budget = (uint64_t)frames + e->setup.max_frames;
	unsigned n;

	if (e->next == NULL)
		return;
	oldest = rttail_oldest(&e->tail, 0);
	if (e->next_pos < oldest)
		e->next_pos = oldest;
	while (e->next_pos < head && budget > 0) {
		n = e->setup.max_frames;
		if (n > head - e->next_pos)
			n = (unsigned)(head - e->next_pos);
		if (n > budget)
			n = (unsigned)budget;
		/* This thread writes the tail: its read cannot be torn.
		   A bad sample in it was counted when the running chain
		   took it. */
		(void)rttail_read(&e->tail, e->next_pos, n, e->catch_buf);
		(void)dsp_chain_process(e->next, e->catch_buf, e->fade_buf, n,
		    NULL);
		e->next_pos += n;
		budget -= n;
	}
	if (e->next_pos == head)
		start_fade(e);
}

static void
retire_old_chain(struct engine *e)
{
	e->swap_msg->payload.ptr[1] = e->old;
	give_back(e, e->swap_msg);
	e->swap_msg = NULL;
	e->old = NULL;
}

/* A level of the chain heard was late this callback: a cause of its own
   (the blocks it cost are counted by the workers, daemon/workers.h). */
static void
late_partitions(struct engine *e, uint32_t *causes)
{
	uint64_t late = dsp_chain_late(e->chain);

	if (late != e->chain_late) {
		*causes |= ENGINE_CAUSE_LATE_PARTITION;
		e->chain_late = late;
	}
}

static void
run_chains(struct engine *e, const float *src, float *out, unsigned frames)
{
	unsigned och = e->setup.out_channels, fade = e->setup.fade_frames;
	unsigned i, c;
	float g;

	/* Offline, nobody reads the stages' times: two clock reads per
	   stage and period saved (tidepool-render reports the periods). */
	bump(&e->live->counters.nonfinite, dsp_chain_process(e->chain, src,
	    out, frames, e->setup.offline ? NULL : e->stage_ns));
	if (e->old == NULL)
		return;
	bump(&e->live->counters.nonfinite, dsp_chain_process(e->old, src,
	    e->fade_buf, frames, NULL));
	/* Linear crossfade from the old chain's output to the new one's. */
	for (i = 0; i < frames; i++) {
		g = e->fade_pos >= fade ? 1.0f :
		    (float)e->fade_pos / (float)fade;
		for (c = 0; c < och; c++) {
			size_t k = (size_t)i * och + c;

			out[k] = e->fade_buf[k] + g * (out[k] - e->fade_buf[k]);
		}
		if (e->fade_pos < fade)
			e->fade_pos++;
	}
	if (e->fade_pos >= fade)
		retire_old_chain(e);
}

static struct engine_block *
take_record_block(struct engine *e)
{
	struct engine_block *b = rtchan_pop_spsc(&e->recfree);

	if (b == NULL)
		return NULL;
	b->frames = 0;
	b->channels = e->setup.out_channels;
	b->generation = e->rec_gen;
	b->flags = 0;
	return b;
}

static void
end_recording(struct engine *e)
{
	struct engine_block *b = e->rec_blk;

	if (b == NULL)
		b = take_record_block(e);
	e->rec_blk = NULL;
	e->recording = 0;
	if (b == NULL) {
		/* The writer notices a missing END by the generation. */
		bump(&e->live->counters.pool_exhausted, 1);
		return;
	}
	b->flags |= ENGINE_BLOCK_END;
	(void)rtchan_push_spsc(&e->rec, b);
}

static void
record(struct engine *e, const float *out, unsigned frames, uint32_t *causes)
{
	unsigned och = e->setup.out_channels;
	unsigned cap = engine_block_capacity(e, och), done = 0, n;
	struct engine_block *b;

	while (done < frames) {
		if (e->rec_blk == NULL) {
			e->rec_blk = take_record_block(e);
			if (e->rec_blk == NULL) {
				*causes |= ENGINE_CAUSE_POOL_EXHAUSTED;
				bump(&e->live->counters.pool_exhausted, 1);
				bump(&e->live->counters.record_dropped_frames,
				    frames - done);
				return;
			}
		}
		b = e->rec_blk;
		n = cap - b->frames;
		if (n > frames - done)
			n = frames - done;
		memcpy(b->data + (size_t)b->frames * och,
		    out + (size_t)done * och, (size_t)n * och * sizeof(float));
		b->frames += n;
		done += n;
		if (b->frames == cap) {
			(void)rtchan_push_spsc(&e->rec, b);
			e->rec_blk = NULL;
		}
	}
}

/*
 * Offline, the chain can write straight into the record block when the
 * period fits in it: no copy.  Returns where to write, or NULL.
 */
static float *
record_in_place(struct engine *e, unsigned frames)
{
	unsigned och = e->setup.out_channels;

	if (!e->recording)
		return NULL;
	if (e->rec_blk == NULL)
		e->rec_blk = take_record_block(e);
	if (e->rec_blk == NULL ||
	    engine_block_capacity(e, och) - e->rec_blk->frames < frames)
		return NULL;
	return e->rec_blk->data + (size_t)e->rec_blk->frames * och;
}

/* The chain wrote into the record block: count it, send it if full. */
static void
recorded_in_place(struct engine *e, unsigned frames)
{
	e->rec_blk->frames += frames;
	if (e->rec_blk->frames ==
	    engine_block_capacity(e, e->setup.out_channels)) {
		(void)rtchan_push_spsc(&e->rec, e->rec_blk);
		e->rec_blk = NULL;
	}
}

static void
note_episode(struct engine *e, uint64_t start, uint32_t causes, float load)
{
	struct engine_stats *s = e->live;
	struct engine_episode *ep;

	if (causes == 0) {
		e->in_episode = 0;
		e->last_load = load;
		return;
	}
	ck_sequence_write_begin(&e->seq);
	if (!e->in_episode) {
		if (s->nepisodes == ENGINE_EPISODES) {
			memmove(&s->episodes[0], &s->episodes[1],
			    sizeof(s->episodes[0]) * (ENGINE_EPISODES - 1));
			s->nepisodes--;
		}
		ep = &s->episodes[s->nepisodes++];
		ep->start_ns = start;
		ep->callbacks = 0;
		ep->causes = 0;
		ep->load_before = e->last_load;
		ep->load_max = 0;
		s->episodes_total++;
		e->in_episode = 1;
	}
	ep = &s->episodes[s->nepisodes - 1];
	ep->callbacks++;
	ep->causes |= causes;
	if (load > ep->load_max)
		ep->load_max = load;
	ck_sequence_write_end(&e->seq);
}

void
engine_stamp(struct engine *e, double now_s, double out_s)
{
	e->stamp_now_s = now_s;
	e->stamp_out_s = out_s;
	e->stamp_set = 1;
}

void
engine_stamp_reset(struct engine *e)
{
	e->stamp_set = 0;
	e->in_cycle = 0;
	e->have_pos = 0;
	e->gap_stamps = 0;
	e->stream_cycles = 0;
	e->cycle_frames = e->cycle_ns = 0;
	ck_pr_store_int(&e->halt, 0);
}

void
engine_halt(struct engine *e)
{
	ck_pr_store_int(&e->halt, 1);
}

int
engine_halted(const struct engine *e)
{
	return ck_pr_load_int(&e->halt);
}

/* A server cycle is over: its frames are the real period. */
static void
end_cycle(struct engine *e)
{
	struct engine_stats *s = e->live;

	rthist_record(&s->cycle_ns, e->cycle_ns);
	bump(&s->counters.cycles, 1);
	bump(&s->counters.cycle_frames, e->cycle_frames);
	e->last_cycle_frames = (uint32_t)e->cycle_frames;
	e->cycle_frames = e->cycle_ns = 0;
}

/*
 * Compares where the server's clock says this callback's frames play with
 * where the frames delivered so far end.  Within one server cycle the
 * backend's stamps advance exactly by the frames, but from one cycle to
 * the next they carry the audio thread's wake-up jitter, and a server
 * that fell behind (JACK's dummy driver on a busy machine) runs late
 * cycles back to back and catches up.  So a gap counts only once it has
 * lasted: ahead by more than half a server period and a millisecond, for
 * GAP_STAMPS stamps in a row spanning GAP_S of server time.  What it
 * counts is the smallest lead seen meanwhile: the frames really gone.
 * Smaller drifts are followed slowly, so jitter never adds up to a gap.
 */
#define GAP_STAMPS 8
#define GAP_S 0.5
#define NEW_ORIGIN_S 3600.0	/* a jump this far is a new time base */
#define SETTLE_CYCLES 20

static void
follow_clock(struct engine *e, uint32_t *causes)
{
	double rate = e->setup.rate, pos, drift, tol;
	uint32_t period;

	if (!e->stamp_set)
		return;		/* the rest of a split backend buffer */
	e->stamp_set = 0;
	if (!e->in_cycle || e->stamp_now_s != e->cycle_now_s) {
		if (e->in_cycle)
			end_cycle(e);
		e->in_cycle = 1;
		e->cycle_now_s = e->stamp_now_s;
		e->stream_cycles++;
	}
	pos = (e->stamp_out_s != 0 ? e->stamp_out_s : e->stamp_now_s) * rate;
	drift = pos - e->expect_pos;
	/*
	 * PortAudio's JACK host subtracts 32-bit frame counters, so an
	 * estimate just before the stream's origin reads as 24 hours on:
	 * such a jump, or going backwards by more than a second, starts
	 * the count afresh rather than counting anything.  So do a new
	 * stream's first cycles: pipewire-jack's frame time reads 0 until
	 * the client runs, then the graph's position since it started.
	 */
	if (!e->have_pos || drift > NEW_ORIGIN_S * rate || drift < -rate ||
	    e->stream_cycles <= SETTLE_CYCLES) {
		e->expect_pos = pos;
		e->have_pos = 1;
		e->gap_stamps = 0;
		return;
	}
	period = e->last_cycle_frames ? e->last_cycle_frames :
	    e->setup.max_frames;
	tol = period / 2.0 + rate / 1000.0;
	if (drift <= tol) {
		e->gap_stamps = 0;
		e->expect_pos += drift / 64;
		return;
	}
	if (e->gap_stamps == 0 || drift < e->gap_min)
		e->gap_min = drift;
	if (e->gap_stamps++ == 0)
		e->gap_from = pos;
	if (e->gap_stamps < GAP_STAMPS || pos - e->gap_from < GAP_S * rate)
		return;
	*causes |= ENGINE_CAUSE_MISSED;
	bump(&e->live->counters.missed, 1);
	bump(&e->live->counters.missed_frames, (uint64_t)(e->gap_min + 0.5));
	e->expect_pos += e->gap_min;
	e->gap_stamps = 0;
}

/*
 * The callback's own figures, once its work is done: its time and load
 * against the period, lateness, the histograms, the counters by cause, the
 * episode, and what the control side reads under the sequence lock.
 */
static void
account(struct engine *e, uint64_t start, unsigned frames, uint32_t causes)
{
	struct engine_stats *s = e->live;
	uint64_t end, dur, period_ns;
	unsigned i, nst;
	float load;

	end = rtclock_ns();
	dur = end - start;
	period_ns = (uint64_t)((double)frames * 1e9 / e->setup.rate);
	load = period_ns ? (float)dur / (float)period_ns : 0;
	if (!e->setup.offline && dur > period_ns)
		causes |= ENGINE_CAUSE_LATE;
	rthist_record(&s->callback_ns, dur);
	if (e->prev_start_ns != 0 && !e->setup.offline)
		rthist_record(&s->interval_ns, start - e->prev_start_ns);
	e->prev_start_ns = start;
	nst = e->setup.offline ? 0 : dsp_chain_length(e->chain);
	for (i = 0; i < nst && i < ENGINE_MAX_STAGES; i++)
		rthist_record(&s->stage_ns[i], e->stage_ns[i]);

	if (e->have_pos)
		e->expect_pos += frames;
	if (e->in_cycle) {
		e->cycle_frames += frames;
		e->cycle_ns += dur;
	}
	bump(&s->counters.callbacks, 1);
	bump(&s->counters.frames, frames);
	if (causes != 0)
		bump(&s->counters.xruns, 1);
	if (causes & ENGINE_CAUSE_OUTPUT_UNDERFLOW)
		bump(&s->counters.output_underflow, 1);
	if (causes & ENGINE_CAUSE_INPUT_OVERFLOW)
		bump(&s->counters.input_overflow, 1);
	if (causes & ENGINE_CAUSE_LATE)
		bump(&s->counters.late, 1);
	if (causes & ENGINE_CAUSE_LATE_PARTITION)
		bump(&s->counters.late_partition, 1);
	ck_pr_store_64(&s->counters.last_callback_ns, start);
	note_episode(e, start, causes, load);

	ck_sequence_write_begin(&e->seq);
	s->meter = e->meter;
	s->period_ns = (uint32_t)period_ns;
	s->cycle_frames = e->last_cycle_frames;
	s->source = (int)e->source;
	s->recording = e->recording;
	s->fading = e->old != NULL || e->next != NULL;
	ck_sequence_write_end(&e->seq);
}

void
engine_process(struct engine *e, const float *in, float *out,
    unsigned frames, uint32_t status)
{
	uint64_t start;
	uint32_t causes = status;
	const float *src;
	int in_place;

#ifdef TP_PLANT_MALLOC_IN_CALLBACK
	{
		/* Planted on purpose: RealtimeSanitizer must abort here.
		   volatile keeps clang from dropping the pair. */
		void *volatile planted = malloc(16);
		free(planted);
	}
#endif
	start = rtclock_ns();
	if (!e->ftz_done) {
		/* Once, on the audio thread itself: FTZ/DAZ are per thread,
		   and the control side reads this thread's page faults. */
		dsp_flush_denormals();
		ck_pr_store_int(&e->audio_tid, audio_thread_id());
		e->ftz_done = 1;
	}
	if (frames > e->setup.max_frames)
		frames = e->setup.max_frames;
	follow_clock(e, &causes);
	apply_messages(e, start);
	src = read_source(e, in, frames, &causes);
	in_place = out == NULL && (out = record_in_place(e, frames)) != NULL;
	if (out == NULL)
		out = e->out_buf;
	catch_up(e, frames);
	run_chains(e, src, out, frames);
	late_partitions(e, &causes);
	if (e->tail.frames > 0)
		rttail_write_sw(&e->tail, src, frames);
	if (e->feed_done != NULL) {
		/* The chain has read it. */
		give_back(e, e->feed_done);
		e->feed_done = NULL;
	}
	dsp_meter_run(&e->meter, out, frames);
	if (in_place)
		recorded_in_place(e, frames);
	else if (e->recording)
		record(e, out, frames, &causes);

	account(e, start, frames, causes);
}
