/*
 * The engine seen from the control side: sending messages, warming a new
 * chain up before it is sent, reading the statistics, taking back what
 * the audio side returns, and the accessors
 * that keep the other modules out of struct engine.  Part of engine.h's
 * module, kept apart so that engine.c stays the code of the callback and
 * its set-up.
 *
 * engine_reclaim() is the one place that knows what a returned message
 * still carries: a swap comes back with the chain it retired, a record
 * stop with its generation.
 */
#include <ck_pr.h>
#include <ck_sequence.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine.h"
#include "rtpool/rtclock.h"

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
engine_last_callback_ns(const struct engine *e)
{
	/* Atomic: the audio side stores it (see account()). */
	return ck_pr_load_64(
	    (uint64_t *)&e->live->counters.last_callback_ns);
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

/* ---- control side: messages ------------------------------------------ */

/* Stamps m and queues it for the audio side; on a full ring, m goes back. */
static int
post(struct engine *e, struct rtmsg *m)
{
	m->enqueue_ns = rtclock_ns();
	if (!rtchan_push_spsc(&e->cmd, m)) {
		rtmsg_put(e->setup.msgs, m);
		return -1;
	}
	return 0;
}

int
engine_send_set(struct engine *e, unsigned stage, unsigned param,
    double value)
{
	struct rtmsg *m = rtmsg_get(e->setup.msgs);

	if (m == NULL)
		return -1;
	m->type = ENGINE_MSG_SET;
	m->payload.u64[0] = stage;
	m->payload.u64[1] = param;
	m->payload.f64[2] = value;
	return post(e, m);
}

int
engine_send_swap(struct engine *e, struct dsp_chain *chain, uint64_t warm_pos)
{
	struct rtmsg *m = rtmsg_get(e->setup.msgs);

	if (m == NULL)
		return -1;
	m->type = ENGINE_MSG_SWAP;
	m->payload.ptr[0] = chain;
	m->payload.ptr[1] = NULL;
	m->payload.u64[2] = warm_pos;
	return post(e, m);
}

int
engine_send_source(struct engine *e, enum engine_source src,
    uint64_t generation, double tone_hz, double tone_amp)
{
	struct rtmsg *m = rtmsg_get(e->setup.msgs);

	if (m == NULL)
		return -1;
	m->type = ENGINE_MSG_SOURCE;
	m->payload.u64[0] = (uint64_t)src;
	m->payload.u64[1] = generation;
	m->payload.f64[2] = tone_hz;
	m->payload.f64[3] = tone_amp;
	return post(e, m);
}

int
engine_send_record(struct engine *e, int start, uint64_t generation)
{
	struct rtmsg *m = rtmsg_get(e->setup.msgs);

	if (m == NULL)
		return -1;
	m->type = ENGINE_MSG_RECORD;
	m->payload.u64[0] = start != 0;
	m->payload.u64[1] = generation;
	return post(e, m);
}

int
engine_send_reset(struct engine *e)
{
	struct rtmsg *m = rtmsg_get(e->setup.msgs);

	if (m == NULL)
		return -1;
	m->type = ENGINE_MSG_RESET;
	return post(e, m);
}

/* ---- control side: warming a new chain up ----------------------------- */

/*
 * Passes over what came in while the previous one ran, before the chain
 * is handed over with whatever is left (the callback's to feed it).  Each
 * pass is shorter than the last, as the chain runs far faster than real
 * time; a machine so busy that it is not is stopped here all the same.
 */
#define WARM_PASSES 8

/* A warm-up under way. */
struct warm {
	float *in, *out;	/* a period of input and output */
	uint64_t run;		/* frames run */
	void (*pump)(void *arg);	/* the caller's, or NULL */
	void *arg;
	uint64_t pumped_ns;	/* when pump last ran */
};

static void
warm_pump(struct warm *w)
{
	if (w->pump != NULL) {
		w->pump(w->arg);
		w->pumped_ns = rtclock_ns();
	}
}

/*
 * Runs chain over the tail from *pos to head, in periods, pumping every
 * ENGINE_WARM_PUMP_MS; 0, or -1 if the writer overwrote what was being
 * read (this thread fell a whole tail behind, preempted): then *pos is
 * where the chain stopped.
 */
static int
warm_pass(struct engine *e, struct dsp_chain *chain, uint64_t *pos,
    uint64_t head, struct warm *w)
{
	unsigned n;

	while (*pos < head) {
		if (w->pump != NULL && rtclock_ns() - w->pumped_ns >=
		    ENGINE_WARM_PUMP_MS * 1000000ull)
			warm_pump(w);
		n = e->setup.max_frames;
		if (n > head - *pos)
			n = (unsigned)(head - *pos);
		if (rttail_read(&e->tail, *pos, n, w->in) != 0)
			return -1;
		(void)dsp_chain_process(chain, w->in, w->out, n, NULL);
		*pos += n;
		w->run += n;
	}
	return 0;
}

uint64_t
engine_warm_up(struct engine *e, struct dsp_chain *chain,
    uint64_t *frames_run, void (*pump)(void *arg), void *arg)
{
	const struct engine_setup *s = &e->setup;
	uint64_t want, head, pos, oldest;
	unsigned pass, slack;
	struct warm w;

	if (frames_run != NULL)
		*frames_run = 0;
	if (e->tail.frames == 0)
		return ENGINE_NOT_WARMED;
	memset(&w, 0, sizeof(w));
	w.pump = pump;
	w.arg = arg;
	w.pumped_ns = rtclock_ns();
	w.in = malloc(sizeof(float) * s->max_frames * s->channels);
	w.out = malloc(sizeof(float) * s->max_frames * DSP_MAX_CHANNELS);
	if (w.in == NULL || w.out == NULL) {
		free(w.in);
		free(w.out);
		return ENGINE_NOT_WARMED;
	}
	/* A quarter of the tail is left for the writer to move on into
	   while the warm-up reads the oldest part. */
	slack = e->tail.frames / 4;
	want = (uint64_t)dsp_chain_memory(chain) +
	    (uint64_t)(s->rate * ENGINE_SETTLE_MS / 1000);
	head = rttail_head(&e->tail);
	oldest = rttail_oldest(&e->tail, slack);
	pos = head > want ? head - want : 0;
	if (pos < oldest)
		pos = oldest;
	for (pass = 0; pass < WARM_PASSES; pass++) {
		if (warm_pass(e, chain, &pos, head, &w) != 0) {
			/* Lost the oldest input: from the newest that is
			   safe, the state as it was is the best there is. */
			oldest = rttail_oldest(&e->tail, slack);
			if (pos < oldest)
				pos = oldest;
			continue;
		}
		/* The rings have moved on meanwhile. */
		warm_pump(&w);
		head = rttail_head(&e->tail);
		if (head - pos <= s->max_frames)
			break;
	}
	free(w.in);
	free(w.out);
	if (frames_run != NULL)
		*frames_run = w.run;
	return pos;
}

/* ---- control side: statistics ----------------------------------------- */

static uint64_t
load_counter(uint64_t *p)
{
	return ck_pr_load_64(p);
}

void
engine_stats_read(struct engine *e, struct engine_stats *out)
{
	struct engine_stats *s = e->live;
	uint64_t *src = (uint64_t *)&s->counters;
	uint64_t *dst = (uint64_t *)&out->counters;
	unsigned i, v;

	for (i = 0; i < sizeof(s->counters) / sizeof(uint64_t); i++)
		dst[i] = load_counter(&src[i]);
	do {
		v = ck_sequence_read_begin(&e->seq);
		out->nstages = s->nstages;
		out->meter = s->meter;
		memcpy(out->episodes, s->episodes, sizeof(out->episodes));
		out->nepisodes = s->nepisodes;
		out->episodes_total = s->episodes_total;
		out->period_ns = s->period_ns;
		out->cycle_frames = s->cycle_frames;
		out->source = s->source;
		out->recording = s->recording;
		out->fading = s->fading;
	} while (ck_sequence_read_retry(&e->seq, v));
	rthist_snapshot(&s->callback_ns, &out->callback_ns);
	rthist_snapshot(&s->interval_ns, &out->interval_ns);
	rthist_snapshot(&s->message_ns, &out->message_ns);
	rthist_snapshot(&s->cycle_ns, &out->cycle_ns);
	for (i = 0; i < out->nstages && i < ENGINE_MAX_STAGES; i++)
		rthist_snapshot(&s->stage_ns[i], &out->stage_ns[i]);
}

const char *
engine_cause_name(uint32_t cause_bit)
{
	switch (cause_bit) {
	case ENGINE_CAUSE_OUTPUT_UNDERFLOW:
		return "output_underflow";
	case ENGINE_CAUSE_INPUT_OVERFLOW:
		return "input_overflow";
	case ENGINE_CAUSE_LATE:
		return "late";
	case ENGINE_CAUSE_SOURCE_STARVED:
		return "source_starved";
	case ENGINE_CAUSE_POOL_EXHAUSTED:
		return "pool_exhausted";
	case ENGINE_CAUSE_MISSED:
		return "missed";
	case ENGINE_CAUSE_LATE_PARTITION:
		return "late_partition";
	}
	return "unknown";
}
