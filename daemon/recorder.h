/*
 * Recording, control side: keeps the engine supplied with empty record
 * blocks and hands the filled ones to the disk thread (disk.h, its
 * recording lane), which writes them to a file that stays valid at every
 * moment (sfout's LIVE mode).  Nothing here touches the file: a FIFO
 * nobody reads or a full disk holds or ends the lane's work, never the
 * caller.  A write error ends the recording at once: the engine is told to
 * stop recording (so it does not count a missing record block in every
 * callback), the file is closed with everything written so far, and the
 * error stays for status, metrics and the next "record stop".
 * Control thread only.
 */
#ifndef TP_RECORDER_H
#define TP_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/disk.h"
#include "daemon/engine.h"
#include "daemon/files.h"

/* How long opening, or finishing, a recording may take before the disk
   thread's call is abandoned (a FIFO nobody reads, a stalled mount). */
#define RECORDER_TIMEOUT_NS (3ull * 1000000000ull)

enum recorder_state {
	RECORDER_OFF,
	RECORDER_OPENING,	/* the disk thread opens the file */
	RECORDER_ON,		/* blocks flowing into the file */
	RECORDER_STOPPING,	/* stop sent; waiting for the END block */
	RECORDER_CLOSING	/* the disk thread finishes the file */
};

/* What recorder_collect and recorder_tick report. */
enum recorder_event {
	RECORDER_NOTHING,
	RECORDER_STARTED,	/* recording: the engine was told */
	RECORDER_FAILED,	/* did not start: r->open_error says why */
	RECORDER_FINISHED	/* the file is closed (r->error if it failed) */
};

struct recorder {
	enum recorder_state state;
	struct disk *disk;	/* its lane DISK_RECORD writes */
	char *path;		/* the recording under way, or NULL */
	char *ended_path;	/* the last one that ended, for its report */
	uint64_t generation;
	unsigned depth;		/* empty blocks to keep offered */
	unsigned writing;	/* blocks at the disk thread */
	uint64_t frames;	/* written to the file */
	uint64_t pool_empty;	/* top-ups that found no free block */
	uint64_t backlog_full;	/* top-ups held back: the disk is behind */
	uint64_t deadline_ns;	/* OPENING, STOPPING, CLOSING: abandon then */
	char error[1024];	/* a write error that ended the recording */
	char open_error[1024];	/* why the last start failed */
	uint64_t errors;	/* recordings ended by a write error */
	int error_unreported;	/* no "record stop" has said error yet */
};

/* Writes through d's DISK_RECORD lane.  Control thread. */
void recorder_init(struct recorder *r, unsigned depth, struct disk *d);

/*
#include "daemon/files.h"
 * Starts recording the engine's output to path: the disk thread opens it,
 * and recorder_collect() reports RECORDER_STARTED or RECORDER_FAILED.
 * Returns 0 (under way), or -1 with a message.
 * Control thread.
 */
int recorder_start(struct recorder *r, struct engine *e, const char *path,
    const struct files_target *t, char *err, size_t errlen);

/*
 * Asks the engine to stop; the file is finished when END arrives
 * (RECORDER_FINISHED).  Returns 0, or -1 (not recording, or busy).
 * Control thread.
 */
int recorder_stop(struct recorder *r, struct engine *e);

/*
 * Offers empty blocks and hands filled ones to the disk thread.
 * Control thread.
 */
void recorder_pump(struct recorder *r, struct engine *e, struct rtpool *pool);

/*
 * Takes back what the disk thread finished (written blocks go back to the
 * pool) and says what happened to the recording.  Call when disk_fd() is
 * readable and every tick.
 * Control thread.
 */
enum recorder_event recorder_collect(struct recorder *r, struct engine *e,
    struct rtpool *pool);

/*
 * Abandons an open, or a file's finish, that took longer than
 * RECORDER_TIMEOUT_NS.  now_ns: rtclock_ns().
 * Control thread.
 */
enum recorder_event recorder_tick(struct recorder *r, uint64_t now_ns);

/*
 * The engine has applied the stop (its message came back on the return
 * ring, after any END block it sent): hands over what came, and if no END
 * did (the engine had no free block to mark it with), finishes the file
 * anyway.
 * Control thread.
 */
void recorder_stop_applied(struct recorder *r, struct engine *e,
    struct rtpool *pool, uint64_t generation);

/*
 * The audio stopped (device lost): hands over the block the engine was
 * filling, so every processed frame reaches the file, and goes on
 * recording when the audio comes back.  Call only when no callback can
 * run.
 * Control thread.
 */
void recorder_salvage(struct recorder *r, struct engine *e,
    struct rtpool *pool);

/*
 * The audio has stopped for good (shutdown, device lost): hands over what
 * the engine still holds and has the file finished (RECORDER_FINISHED
 * follows from recorder_collect).  Call only when no callback can run.
 * Control thread.
 */
void recorder_finish_stopped(struct recorder *r, struct engine *e,
    struct rtpool *pool);

/*
 * Collects until the recording is off or timeout_ns passed, abandoning
 * the disk thread's call half way (a FIFO nobody reads).  Returns the
 * last event.  For a shutdown or a restart, where nothing else will.
 * Control thread.
 */
enum recorder_event recorder_wait(struct recorder *r, struct engine *e,
    struct rtpool *pool, uint64_t timeout_ns);

/*
 * Ends any recording (as recorder_finish_stopped, then recorder_wait) and
 * frees the rest.
 * Control thread.
 */
void recorder_done(struct recorder *r, struct rtpool *pool,
    struct engine *e);

#endif /* TP_RECORDER_H */
