/*
 * The control protocol's requests: one text line each, parsed into a plain
 * struct.  Replies are built elsewhere (one JSON object per line).  Pure
 * parsing: no I/O, so it can be unit-tested and fuzzed on its own.
 */
#ifndef TP_PROTO_H
#define TP_PROTO_H

#include <stddef.h>

/* The longest request line, newline included. */
#define PROTO_MAX_LINE 4096

enum proto_cmd {
	PROTO_STATUS,		/* status */
	PROTO_STATS,		/* stats */
	PROTO_STATS_RESET,	/* stats reset */
	PROTO_SET,		/* set STAGE.PARAM VALUE */
	PROTO_GET,		/* get STAGE.PARAM | get STAGE */
	PROTO_CHAIN,		/* chain: the stages and their values */
	PROTO_RELOAD,		/* reload */
	PROTO_PLAY,		/* play [--once] FILE */
	PROTO_STOP,		/* stop */
	PROTO_RECORD,		/* record [--overwrite] FILE */
	PROTO_RECORD_STOP,	/* record stop */
	PROTO_METRICS,		/* metrics */
	PROTO_HELP		/* help */
};

/* Who may send a request: each client is one, each command needs one. */
enum proto_tier {
	PROTO_TIER_ANYONE,	/* anyone who can connect: help only */
	PROTO_TIER_MONITOR,	/* [control] monitor_group: may read */
	PROTO_TIER_FULL		/* root, our user, [control] group */
};

struct proto_req {
	enum proto_cmd cmd;
	char stage[64];		/* set, get */
	char param[64];		/* set, get; empty for "get STAGE" */
	double value;		/* set */
	int once;		/* play: do not loop */
	int overwrite;		/* record: an existing file may go */
	char path[PROTO_MAX_LINE]; /* play, record */
};

/*
 * Parses one request (without its newline; len bytes, need not be NUL
 * terminated).  Returns 0, or -1 with a message for the client in err.
 * Any thread: no state.
 */
int proto_parse(const char *line, size_t len, struct proto_req *req,
    char *err, size_t errlen);

/* The name of a command as typed ("stats reset").  Any thread: no state. */
const char *proto_cmd_name(enum proto_cmd cmd);

/*
 * One line per command: its syntax and what it does, for "help".
 * Any thread: no state.
 */
const char *proto_help(enum proto_cmd cmd);

/* How many commands there are (for iterating proto_help). */
#define PROTO_NCMDS (PROTO_HELP + 1)

#endif /* TP_PROTO_H */
