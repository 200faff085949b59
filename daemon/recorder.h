/*
 * Recording, control side: keeps the engine supplied with empty record
 * blocks and writes the filled ones to a file that stays valid at every
 * moment (its header is rewritten after each write).  Control thread only.
 */
#ifndef TP_RECORDER_H
#define TP_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"
#include "daemon/files.h"
#include "daemon/sfout.h"

enum recorder_state {
	RECORDER_OFF,
	RECORDER_ON,		/* blocks flowing into the file */
	RECORDER_STOPPING	/* stop sent; waiting for the END block */
};

struct recorder {
	enum recorder_state state;
	struct sfout *out;
	char *path;		/* the recording under way, or NULL */
	char *ended_path;	/* the last one that ended, for its report */
	uint64_t generation;
	unsigned depth;		/* empty blocks to keep offered */
	uint64_t frames;	/* written to the file */
	uint64_t pool_empty;	/* top-ups that found no free block */
	char error[512];	/* a write error that ended the recording */
};

/* Control thread. */
void recorder_init(struct recorder *r, unsigned depth);

/*
 * Starts recording the engine's output to path, created as t allows (see
 * daemon/files.h).  Returns 0 or -1 with a message.
 * Control thread.
 */
int recorder_start(struct recorder *r, struct engine *e, const char *path,
    const struct files_target *t, char *err, size_t errlen);

/*
 * Asks the engine to stop; the file is finished when END arrives.
 * Control thread.
 */
int recorder_stop(struct recorder *r, struct engine *e);

/*
 * Offers empty blocks and writes filled ones.  Returns 1 when a recording
 * finished (END written, or a write error in r->error) during this call.
 * Control thread.
 */
int recorder_pump(struct recorder *r, struct engine *e, struct rtpool *pool);

/*
 * The engine has applied the stop (its message came back on the return
 * ring, after any END block it sent): writes what came, and if no END
 * did (the engine had no free block to mark it with), finishes the file
 * anyway.  Returns 1 if the recording finished here.
 * Control thread.
 */
int recorder_stop_applied(struct recorder *r, struct engine *e,
    struct rtpool *pool, uint64_t generation);

/*
 * The audio stopped (device lost): writes the block the engine was filling,
 * so every processed frame is in the file, and goes on recording when the
 * audio comes back.  Call only when no callback can run.
 * Control thread.
 */
void recorder_salvage(struct recorder *r, struct engine *e,
    struct rtpool *pool);

/*
 * The audio has stopped for good (shutdown, device lost): writes what the
 * engine still holds and closes the file.  Call only when no callback can
 * run.
 * Control thread.
 */
void recorder_finish_stopped(struct recorder *r, struct engine *e,
    struct rtpool *pool);

/*
 * Ends any recording (as recorder_finish_stopped) and frees the rest.
 * Control thread.
 */
void recorder_done(struct recorder *r, struct rtpool *pool,
    struct engine *e);

#endif /* TP_RECORDER_H */
