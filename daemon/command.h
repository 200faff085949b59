/*
 * The control protocol's commands: what each parsed request does, and the
 * JSON object (or, for "metrics", the text) that answers it.  One handler
 * per enum proto_cmd, in command_table.  Nothing here knows of sockets or
 * clients: a reply is built into a struct command_reply, and whoever asked
 * sends it (control.c to a client; the unit test and the fuzz target look
 * at it).  What needs the rest of the daemon (a statistics snapshot with
 * its context, reload, the configured source) comes through hooks.
 *
 * Threads.  The control thread only (it allocates, and sends messages to
 * the engine as its one control side).
 */
#ifndef TP_COMMAND_H
#define TP_COMMAND_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "config/config.h"
#include "daemon/engine.h"
#include "daemon/player.h"
#include "daemon/proto.h"
#include "daemon/recorder.h"
#include "daemon/stats.h"

/* What the control side knows of the running chain. */
struct command_view {
	const struct config *cfg;	/* the config it was built from */
	struct dsp_chain *chain;	/* owned by the engine */
	double values[ENGINE_MAX_STAGES][DSP_MAX_PARAMS]; /* last set */
};

/* What the handlers ask of the rest of the daemon; arg is env->arg. */
struct command_hooks {
	/* A fresh statistics snapshot in env->stats, and its context. */
	void (*snapshot)(void *arg, struct stats_context *x);
	/*
	 * Reloads the config and swaps the chain in (env->view follows).
	 * Returns 0, with note[0] != '\0' for something that waits for a
	 * restart; or -1 with err.
	 */
	int (*reload)(void *arg, char *err, size_t errlen, char *note,
	    size_t notelen);
	/* Sends the configured source again ("stop").  0, or -1 if busy. */
	int (*source)(void *arg);
};

struct command_env {
	struct engine *engine;
	struct rtpool *blocks;
	struct rtmsgpool *msgs;
	struct stats *stats;
	struct player *player;
	struct recorder *recorder;
	struct command_view view;
	int have_group;		/* a [control] group exists: say so */
	const struct command_hooks *hooks;
	void *arg;		/* for hooks */
	struct proto_req req;	/* command_line's: too big for the stack */
};

/* What a request whose answer comes later waits for. */
enum command_wait {
	COMMAND_WAIT_NONE,
	COMMAND_WAIT_PLAY,	/* the file open and queued: command_played */
	COMMAND_WAIT_RECORD,	/* the file open: command_record_started */
	COMMAND_WAIT_RECORD_STOP	/* the file finished: command_recorded */
};

/* An answer.  Exactly one of json and text is set once a handler ran. */
struct command_reply {
	cJSON *json;		/* "ok" first, then the command's fields */
	char *text;		/* "metrics": Prometheus text, malloc'd */
	enum command_wait wait;	/* the answer comes later, from the
				   control thread */
	int again;		/* the engine's queue was full and nothing was
				   done: the line may run again once the
				   callback has made room (json holds the
				   "busy" answer for a caller that cannot) */
};

typedef void command_fn(struct command_env *env, const struct proto_req *r,
    struct command_reply *out);

/* One command: its handler, and who may run it. */
struct command {
	command_fn *run;
	enum proto_tier tier;	/* the least a client must be */
};

/* Indexed by enum proto_cmd. */
extern const struct command command_table[PROTO_NCMDS];

/*
 * Records chain (just built from cfg) as the running one, with the values
 * it was made with.
 * Control thread.
 */
void command_view_set(struct command_view *v, const struct config *cfg,
    struct dsp_chain *chain);

/*
 * Runs r for a client of tier trusted (an enum proto_tier, see
 * client_trusted) and fills out (zeroed first).  Free it with command_reply_done.
 * Control thread.
 */
void command_run(struct command_env *env, int trusted,
    const struct proto_req *r, struct command_reply *out);

/*
 * Parses one request line (len bytes, no newline), then command_run.
 * Control thread.
 */
void command_line(struct command_env *env, int trusted, const char *line,
    size_t len, struct command_reply *out);

/*
 * A fresh metrics text in format f (see stats_metrics), as "metrics" and
 * the HTTP endpoint serve it.  Control thread.  NULL when out of memory.
 */
char *command_metrics(struct command_env *env, enum stats_format f);

/* Frees what out holds.  Control thread. */
void command_reply_done(struct command_reply *out);

/*
 * The answer to a "record stop" once the recording r is finished (or
 * ended by a write error), at rate frames per second.  The caller deletes
 * it.
 * Control thread.
 */
cJSON *command_recorded(const struct recorder *r, double rate);

/*
 * The answer to a "play" once the player said PLAYER_STARTED or
 * PLAYER_FAILED.  The caller deletes it.  Control thread.
 */
cJSON *command_played(const struct player *p);

/*
 * The answer to a "record FILE" once the recorder said RECORDER_STARTED or
 * RECORDER_FAILED.  The caller deletes it.  Control thread.
 */
cJSON *command_record_started(const struct recorder *r);

#endif /* TP_COMMAND_H */
