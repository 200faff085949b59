/*
 * File playback, control side: has the disk thread (disk.h, its playback
 * lane) open the file and decode it into pool blocks, and keeps the
 * engine's feed ring topped up with them.  The audio side only consumes
 * them.  Nothing here touches the file: a FIFO or a slow mount holds the
 * lane, never the caller.
 * Control thread only.
 */
#ifndef TP_PLAYER_H
#define TP_PLAYER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/disk.h"
#include "daemon/engine.h"
#include "daemon/sfin.h"

/* How long an open may take before it is abandoned (a FIFO nobody writes
   to, a stalled mount). */
#define PLAYER_OPEN_TIMEOUT_NS (3ull * 1000000000ull)

enum player_state {
	PLAYER_IDLE,		/* nothing playing */
	PLAYER_OPENING,		/* the disk thread opens the file */
	PLAYER_STREAMING,	/* feeding blocks */
	PLAYER_DRAINING		/* END block sent; waiting for it back */
};

/* What player_collect and player_tick report. */
enum player_event {
	PLAYER_NOTHING,
	PLAYER_STARTED,		/* the file plays: p->info describes it */
	PLAYER_FAILED		/* it did not start: p->open_error says why */
};

struct player {
	enum player_state state;
	struct disk *disk;	/* its lane DISK_PLAY does the file work */
	struct sfin_info info;	/* the file's, once open */
	char *path;
	int loop;
	uint64_t generation;	/* tags this file's blocks; only grows */
	unsigned depth;		/* feed blocks to keep queued */
	unsigned queued;	/* this file's blocks sent and not yet back */
	uint64_t frames_fed;
	uint64_t loops;		/* times the file wrapped around */
	uint64_t pool_empty;	/* refills that found no free block */
	/*
	 * Test hook for starvation tests: with TIDEPOOL_TEST_STALL_DECODE
	 * set to "FRAMES:MS" in the environment, decoding pauses for MS
	 * milliseconds once FRAMES frames of a file have been fed, as a slow
	 * disk would, without blocking the control thread.  Once per file.
	 */
	uint64_t stall_after;	/* frames; 0: no stall */
	uint64_t stall_ns;
	uint64_t stall_until;	/* rtclock_ns() when the stall ends; 0 */
	int stalled;		/* this file's stall has begun */
	char error[1024];	/* the last decode error, or "" */
	char open_error[1024];	/* why the last start failed */
	int configured;		/* the [engine] input, not a client's play */
	int source_sent;	/* the engine was told to play this file */
	uint64_t open_deadline_ns;	/* OPENING: abandoned after this */
	struct engine_block **held;	/* filled, waiting for feed room */
	unsigned nheld;
};

/* Plays through d's DISK_PLAY lane.  Returns 0 or -1 (out of memory).
   Control thread. */
int player_init(struct player *p, unsigned depth, struct disk *d);

/*
 * Starts playing path (resampled to the engine's rate, mapped to its
 * channels): the disk thread opens it (a client's path only within
 * dirs, see daemon/files.h; dirs NULL for the config's own input, which
 * is trusted), and player_collect() reports
 * PLAYER_STARTED once its first blocks are queued and the source message
 * sent, or PLAYER_FAILED.  Returns 0 (under way), or -1 with a message
 * (the disk thread's queue is full); whatever played before is stopped
 * either way.
 * Control thread.
 */
int player_start(struct player *p, struct engine *e, struct rtpool *pool,
    const char *path, const struct config_files *dirs, int loop, char *err,
    size_t errlen);

/*
 * Takes back what the disk thread finished: opened files, filled blocks
 * (queued on the feed ring).  Returns what happened to the start under way,
 * if anything.  Call when disk_fd() is readable and every tick.
 * Control thread.
 */
enum player_event player_collect(struct player *p, struct engine *e,
    struct rtpool *pool);

/*
 * Abandons an open that took longer than PLAYER_OPEN_TIMEOUT_NS
 * (PLAYER_FAILED, p->open_error says so).  now_ns: rtclock_ns().
 * Control thread.
 */
enum player_event player_tick(struct player *p, uint64_t now_ns);

/*
 * Stops: the disk thread closes the file and the generation moves on, so that the
 * engine drops the queued blocks once it gets the next source message,
 * which must carry p->generation.
 * Control thread.
 */
void player_stop(struct player *p);

/*
 * Tops up the feed ring.  Call often (every timer tick).  At the end of
 * the file (or a decode error, kept in p->error) it sends the END block;
 * playback is over when that block comes back (player_returned).
 * Control thread.
 */
void player_refill(struct player *p, struct engine *e, struct rtpool *pool);

/*
 * Tells the player about a feed block the engine handed back.  Returns 1
 * if it was the last of the current file: playback has ended.
 * Control thread.
 */
int player_returned(struct player *p, const struct engine_block *b);

/* Stops and frees; the disk threads must be done.  Control thread. */
void player_done(struct player *p, struct rtpool *pool);

/*
 * What follows a file's end (player_returned() said so): a client's file
 * hands back to the [engine] input (player_send_configured()); the [engine]
 * input's own file, which ends only with loop = no or an error, leaves
 * silence ("none (the file ended)"), never the same file again.  Same
 * arguments and return as player_send_configured().  Control thread.
 */
int player_send_after_end(struct player *p, struct engine *e,
    struct rtpool *pool, const struct config_engine *en, char *desc,
    size_t desclen, char *err, size_t errlen);

/*
 * Sends the [engine] input en as the engine's source when no client plays
 * a file: a tone, the device, en's file (played by p), or silence; tagged
 * with p's generation.  desc gets what status shows ("tone 440 Hz").  A
 * file that cannot be played is described in err (else err[0] is '\0')
 * and silence is sent instead.  Returns 0, or -1 if the message could not
 * be sent (busy).  Control thread.
 */
int player_send_configured(struct player *p, struct engine *e,
    struct rtpool *pool, const struct config_engine *en, char *desc,
    size_t desclen, char *err, size_t errlen);

#endif /* TP_PLAYER_H */
