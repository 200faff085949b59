/*
 * The engine: everything that runs inside the audio callback.
 *
 * One call of engine_process() is one period: apply the messages waiting on
 * the command ring, take the source's frames (device input, a tone, or file
 * blocks from the feed ring), run the dsp chain, copy the result into a
 * record block when recording, and record timings and counters.  It never
 * allocates, locks, blocks or frees: everything it is done with goes back to
 * the control side through the return ring.
 *
 * Threads.  Two sides, one thread each.  The audio side is the thread that
 * calls engine_process: the real-time callback live, the render loop
 * offline.  The control side is the thread that made the engine; it calls
 * everything else below unless a function says otherwise (the ring
 * accessors name the one thread that may use each end).  The statistics
 * are written by the audio side only and read by the control side through
 * engine_stats_read(), without locks.  Outside engine.c, only e->setup (set
 * once by engine_init) is read; the other fields are here so that the
 * struct can be embedded, and are reached through the functions below.
 *
 * The message protocol lives here alone: engine_send_* encode, the audio
 * side applies, engine_reclaim() takes back what it is done with and frees
 * what the messages carried (retired chains).
 */
#ifndef TP_ENGINE_H
#define TP_ENGINE_H

#include <ck_sequence.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/chain.h"
#include "dsp/dsp.h"
#include "rtpool/realtime.h"
#include "rtpool/rtchan.h"
#include "rtpool/rthist.h"
#include "rtpool/rtmsg.h"
#include "rtpool/rtpool.h"
#include "rtpool/rttail.h"

#define ENGINE_MAX_STAGES 32
#define ENGINE_EPISODES 16
/* A new chain is run over this much recent input beyond its exact memory
   (dsp_chain_memory()) before it is heard: the time recursive filters,
   a limiter's release and a compressor's envelope take to settle. */
#define ENGINE_SETTLE_MS 500

/* What the audio side takes its input frames from. */
enum engine_source {
	ENGINE_SRC_NONE,	/* silence */
	ENGINE_SRC_DEVICE,	/* the capture buffer handed to engine_process */
	ENGINE_SRC_TONE,	/* a sine generated in place */
	ENGINE_SRC_FEED		/* file blocks from the feed ring */
};

/* Message types on the command ring (struct rtmsg.type). */
enum engine_msg {
	ENGINE_MSG_SET,		/* u64[0] stage, u64[1] param, f64[2] value */
	ENGINE_MSG_SWAP,	/* ptr[0] new chain, u64[2] the input position
				   it has been run up to (engine_warm_up);
				   comes back with ptr[1] the chain retired */
	ENGINE_MSG_SOURCE,	/* u64[0] enum engine_source, u64[1] generation,
				   f64[2] tone Hz, f64[3] tone amplitude */
	ENGINE_MSG_RECORD,	/* u64[0] 1 start / 0 stop, u64[1] generation */
	ENGINE_MSG_RESET	/* statistics reset */
};

/* Causes of an xrun, as bits so an episode can have several. */
enum engine_cause {
	ENGINE_CAUSE_OUTPUT_UNDERFLOW = 1 << 0, /* device said so */
	ENGINE_CAUSE_INPUT_OVERFLOW = 1 << 1,	/* device said so */
	ENGINE_CAUSE_LATE = 1 << 2,		/* deadline missed by the clock */
	ENGINE_CAUSE_SOURCE_STARVED = 1 << 3,	/* feed ring ran dry */
	ENGINE_CAUSE_POOL_EXHAUSTED = 1 << 4,	/* no free block to record into */
	ENGINE_CAUSE_MISSED = 1 << 5,		/* the server's clock ran on
						   without asking us */
	ENGINE_CAUSE_LATE_PARTITION = 1 << 6	/* a convolver level's worker
						   had no result in time */
};
#define ENGINE_CAUSE_LAST ENGINE_CAUSE_LATE_PARTITION

/*
 * The header at the start of every pool block that carries audio.  Samples
 * follow it, interleaved, 64-byte aligned.
 */
struct engine_block {
	uint32_t frames;	/* valid frames in data */
	uint32_t channels;	/* samples per frame */
	uint64_t generation;	/* which file or recording it belongs to */
	uint32_t flags;		/* ENGINE_BLOCK_* */
	uint32_t pad[11];	/* keeps data 64-byte aligned */
	float data[];
};
#define ENGINE_BLOCK_END 1u	/* last block of a file or a recording */

/* One glitch: a run of consecutive callbacks that had an xrun. */
struct engine_episode {
	uint64_t start_ns;	/* CLOCK_MONOTONIC of the first bad callback */
	uint64_t callbacks;	/* how many in a row */
	uint32_t causes;	/* enum engine_cause bits seen */
	float load_before;	/* load of the last good callback before it */
	float load_max;		/* highest load inside it */
};

/* Counters, each written by the audio side only. */
struct engine_counters {
	uint64_t callbacks;
	uint64_t frames;
	/* Callbacks with at least one cause below: an underflow callback is
	 * also an overflow one on a duplex stream, and counts once here. */
	uint64_t xruns;
	uint64_t output_underflow;
	uint64_t input_overflow;
	uint64_t late;
	uint64_t source_starved;	/* callbacks that ran short of feed */
	uint64_t starved_frames;	/* frames of silence put in their place */
	uint64_t pool_exhausted;	/* callbacks with no record block */
	uint64_t record_dropped_frames;
	uint64_t messages;		/* applied */
	uint64_t last_callback_ns;	/* start of the latest callback */
	uint64_t missed;		/* callbacks that found a gap */
	uint64_t missed_frames;		/* frames the server went past */
	uint64_t cycles;		/* server cycles completed */
	uint64_t cycle_frames;		/* frames in them */
	uint64_t nonfinite;		/* NaN or infinite samples the chains
					   replaced by 0 (dsp_chain_process) */
	uint64_t late_partition;	/* callbacks in which a convolver
					   level was late (the cause) */
	uint64_t late_partitions;	/* output blocks a convolver level had
					   no result for from its worker: not
					   the engine's, stats_refresh() fills
					   it in (daemon/workers.h) */
};

/* A consistent copy of everything the audio side measures. */
struct engine_stats {
	struct engine_counters counters;
	struct rthist callback_ns;	/* duration of engine_process */
	struct rthist interval_ns;	/* start to start */
	struct rthist message_ns;	/* enqueue to apply */
	struct rthist cycle_ns;		/* in the callback per server cycle */
	unsigned nstages;
	struct rthist stage_ns[ENGINE_MAX_STAGES];
	struct dsp_meter meter;		/* the output */
	struct engine_episode episodes[ENGINE_EPISODES];
	unsigned nepisodes;		/* valid entries, newest last */
	uint64_t episodes_total;
	uint32_t period_ns;
	uint32_t cycle_frames;		/* of the last server cycle, 0 unknown */
	int source;			/* enum engine_source */
	int recording;
	int fading;			/* a chain swap is crossfading */
};

struct engine_setup {
	double rate;
	unsigned max_frames;	/* largest period engine_process will get */
	unsigned channels;	/* chain input channels (and device input) */
	unsigned out_channels;	/* device output channels */
	unsigned block_frames;	/* frames in a feed or record block */
	unsigned fade_frames;	/* crossfade length of a chain swap */
	unsigned tail_frames;	/* recent chain input kept to warm a new
				   chain up on; 0: none, a new chain fades
				   in from silence (offline: no reloads) */
	struct rtpool *blocks;	/* audio blocks: the feed and recording */
	struct rtmsgpool *msgs;
	unsigned ring_capacity;	/* of the command, feed and recfree rings */
	int offline;		/* rendering: no deadlines, no intervals,
				   no per-stage times */
};

/*
 * The engine.  Fields below "audio side" are touched only by
 * engine_process once the engine runs.
 */
struct engine {
	struct engine_setup setup;
	struct rtchan cmd;	/* control -> audio: messages */
	struct rtchan feed;	/* control -> audio: filled file blocks */
	struct rtchan recfree;	/* control -> audio: empty record blocks */
	struct rtchan rec;	/* audio -> control: filled record blocks */
	struct rtchan ret;	/* audio -> control: spent blocks, messages */
	size_t block_bytes;	/* usable sample bytes in a pool block */

	/* audio side */
	struct dsp_chain *chain;	/* the running chain */
	struct dsp_chain *old;		/* fading out after a swap, or NULL */
	struct rtmsg *swap_msg;		/* carries old back when the fade ends */
	struct dsp_chain *next;		/* warmed, catching up on the input
					   since its warm-up, not yet heard;
					   or NULL */
	struct rtmsg *next_msg;		/* the swap that brought next */
	uint64_t next_pos;		/* tail position next has run to */
	struct rttail tail;		/* the chain's recent input; written
					   here, read by engine_warm_up */
	float *catch_buf;		/* max_frames x channels: from tail */
	unsigned fade_pos;		/* frames of the fade done */
	float *src_buf;			/* max_frames x channels */
	float *fade_buf;		/* max_frames x out_channels */
	float *out_buf;			/* output when the caller gives none */
	struct dsp_meter meter;		/* of the output */
	enum engine_source source;
	uint64_t feed_gen;		/* generation of the playing file */
	struct engine_block *feed_blk;	/* block being read, or NULL */
	struct engine_block *feed_done;	/* read to its end this period */
	unsigned feed_pos;		/* frames of it consumed */
	int feed_ended;			/* saw the END block: no starving */
	double tone_phase, tone_step, tone_amp;
	int recording;
	uint64_t rec_gen;
	uint64_t chain_late;		/* dsp_chain_late() of the chain heard,
					   at the last callback */
	struct engine_block *rec_blk;	/* block being filled, or NULL */
	uint64_t prev_start_ns;
	int ftz_done;			/* denormals flushed on this thread */
	int audio_tid;			/* ck_pr: the audio thread, for /proc */
	int halt;			/* ck_pr: the backend is to stop calling
					   (engine_halt) */
	int in_episode;
	float last_load;
	uint32_t stage_ns[ENGINE_MAX_STAGES];
	/* The server's clock, from engine_stamp(). */
	int stamp_set;			/* a stamp waits for engine_process */
	double stamp_now_s, stamp_out_s;
	int in_cycle;			/* a server cycle is being counted */
	double cycle_now_s;		/* its stamp: shared by its callbacks */
	uint64_t cycle_frames, cycle_ns;	/* so far in it */
	uint32_t last_cycle_frames;
	uint64_t stream_cycles;		/* since engine_stamp_reset */
	int have_pos;
	double expect_pos;		/* server frame expected next */
	unsigned gap_stamps;		/* in a row ahead of expect_pos */
	double gap_min, gap_from;	/* least lead seen; where it began */

	/* written by the audio side, read by engine_stats_read */
	struct engine_stats *live;	/* big: kept off the struct */
	ck_sequence_t seq;		/* guards live's small fields */
};

/*
 * Sets up an engine around an already built chain (which it then owns).
 * Control side, before the audio starts.  Returns 0, or -1 with a message.
 */
int engine_init(struct engine *e, const struct engine_setup *s,
    struct dsp_chain *chain, char *err, size_t errlen);

/* Frees everything; the audio side must be stopped.  Control side. */
void engine_done(struct engine *e);

/*
 * Runs one period: frames (<= max_frames) of out_channels interleaved into
 * out (may be NULL offline), reading in (channels interleaved, may be NULL)
 * when the source is the device.  status is enum engine_cause bits the
 * backend saw (device underflow/overflow).  Audio side only.
 */
void engine_process(struct engine *e, const float *in, float *out,
    unsigned frames, uint32_t status) TP_REALTIME;

/*
 * The backend's clock for the next engine_process: now_s the server's time
 * of the cycle being served (the same for every callback the backend makes
 * in one server cycle, as PortAudio's currentTime is), out_s the server
 * time at which the first frame will be heard (0 if unknown).  With it the
 * engine counts the server's real period and the frames the server went
 * past without asking (ENGINE_CAUSE_MISSED).  Audio side only.
 */
void engine_stamp(struct engine *e, double now_s, double out_s) TP_REALTIME;

/*
 * Forgets the server's clock and any halt: a new stream starts from a new
 * time base.  Control side, while no callback runs.
 */
void engine_stamp_reset(struct engine *e);

/*
 * Asks the backend to stop calling at its next callback (a device nothing
 * clocks, which would burn a core until its close is done): the callback
 * then returns paAbort.  Control side; engine_halted() is the audio
 * side's read.
 */
void engine_halt(struct engine *e);
int engine_halted(const struct engine *e) TP_REALTIME;

/*
 * Control-side senders.  Each takes a message from the pool, stamps it and
 * pushes it on the command ring.  They return 0, or -1 when the message pool
 * is exhausted or the ring is full (the caller reports "busy").
 */
int engine_send_set(struct engine *e, unsigned stage, unsigned param,
    double value);
int engine_send_swap(struct engine *e, struct dsp_chain *chain,
    uint64_t warm_pos);

/* A swap's warm_pos for a chain that has not been warmed up: it fades
   in at once, from its empty state. */
#define ENGINE_NOT_WARMED UINT64_MAX

/*
 * Warms chain (new, never run) up on the engine's recent input before it
 * is swapped in: runs it, output discarded, over the last
 * dsp_chain_memory() + ENGINE_SETTLE_MS of the chain input the audio side
 * kept (as much of it as the tail holds, and none before the stream
 * began), then over what came meanwhile, until it is within about a
 * period of the live input; the audio side feeds it the rest from the
 * same tail before fading it in (see engine.c).  So a reload's crossfade
 * goes between two chains that have both heard the music.  Control side;
 * takes as long as running the chain over that much audio (a 65,536-tap
 * convolver at 64 frames: 2 s of input in 130 to 170 ms), so it calls
 * pump(arg) (if not NULL) every ENGINE_WARM_PUMP_MS of it and after each
 * pass: the caller keeps the feed and record rings moving there, as its
 * tick would.  Returns the
 * tail position the chain has run up to, the warm_pos for
 * engine_send_swap(), and the frames it ran in *frames_run (may be NULL);
 * ENGINE_NOT_WARMED without a tail (engine_setup.tail_frames 0) or when
 * out of memory.
 */
uint64_t engine_warm_up(struct engine *e, struct dsp_chain *chain,
    uint64_t *frames_run, void (*pump)(void *arg), void *arg);

/* How often engine_warm_up lets its caller pump: a fraction of the
   100 ms or so of audio the feed and record rings hold. */
#define ENGINE_WARM_PUMP_MS 5
int engine_send_source(struct engine *e, enum engine_source src,
    uint64_t generation, double tone_hz, double tone_amp);
int engine_send_record(struct engine *e, int start, uint64_t generation);
int engine_send_reset(struct engine *e);

/*
 * What engine_reclaim() tells its caller; either may be NULL.  block sees
 * a pool block the audio side is done with (a spent feed block) before it
 * goes back to the pool; record_stopped hears that a "record stop" of that
 * generation has been applied (every block it recorded is on the rec ring
 * by then).
 */
struct engine_reclaim_ops {
	void (*block)(void *arg, const struct engine_block *b);
	void (*record_stopped)(void *arg, uint64_t generation);
};

/*
 * Empties the return ring: pool blocks go back to the pool, messages to
 * theirs, and a chain a swap retired is freed.  Control side (the one
 * thread that frees).  Returns how many blocks went back to the pool.
 */
unsigned engine_reclaim(struct engine *e, const struct engine_reclaim_ops *ops,
    void *arg);

/*
 * The rings' ends that belong to the control side (or, offline, to the
 * reader and writer threads: one thread per end).  The pushes return 0,
 * or -1 when the ring is full.
 */
int engine_feed_push_spsc(struct engine *e, struct engine_block *b);
int engine_feed_full(const struct engine *e);
struct engine_block *engine_rec_pop_spsc(struct engine *e);
int engine_recfree_push_spsc(struct engine *e, struct engine_block *b);
/* Takes back the empty record blocks offered; only while no audio runs. */
struct engine_block *engine_recfree_pop_spsc(struct engine *e);
unsigned engine_recfree_count(const struct engine *e);
/* Messages sent and not yet taken by the audio side. */
unsigned engine_pending_messages(const struct engine *e);

/*
 * The feed as the audio side left it: 1 while a block is being read and
 * the file has not ended (engine_feed_pending), 1 once the END block was
 * read (engine_feed_ended).  The thread that calls engine_process, between
 * two calls (the render loop).
 */
int engine_feed_pending(const struct engine *e);
int engine_feed_ended(const struct engine *e);

/* Callbacks and frames so far (atomic reads).  Any thread. */
uint64_t engine_callbacks(const struct engine *e);
/* The latest callback's start (rtclock_ns()), 0 before any.  Any thread. */
uint64_t engine_last_callback_ns(const struct engine *e);
uint64_t engine_frames(const struct engine *e);

/* The audio thread's id once it has run, 0 before.  Any thread. */
int engine_audio_tid(const struct engine *e);

/*
 * The next engine_process will run on a new thread (a new stream): it
 * flushes denormals and publishes its id again.  Control side, while no
 * engine_process can run.
 */
void engine_thread_changed(struct engine *e);

/*
 * With no engine_process running (the stream is closed): takes the record
 * block the audio side was filling, NULL if none (engine_rec_salvage), or
 * turns recording off for good (engine_rec_stopped).  Control side.
 */
struct engine_block *engine_rec_salvage(struct engine *e);
void engine_rec_stopped(struct engine *e);

/*
 * The statistics as the audio side writes them, without a copy: for the
 * thread that calls engine_process, or once it has stopped.
 */
const struct engine_stats *engine_stats_live(const struct engine *e);

/* Frames' worth of samples one pool block holds for c channels.  Any
   thread. */
unsigned engine_block_capacity(const struct engine *e, unsigned channels);

/*
 * Copies the statistics into *out (control side; any time).  Histograms
 * are taken as consistent snapshots; counters are each read atomically.
 */
void engine_stats_read(struct engine *e, struct engine_stats *out);

/* Allocates an engine_stats (they are large).  Control side. */
struct engine_stats *engine_stats_new(void);

/* The name of one cause bit, for reports: "late", "source_starved"...
   Any thread. */
const char *engine_cause_name(uint32_t cause_bit);

#endif /* TP_ENGINE_H */
