/*
 * tidepool's config file: INI, parsed with libinih into plain structs.
 *
 * config/ knows the fixed sections ([engine], [pool], [control], [files])
 * and checks every key of them.  Of a [stage.NAME] section it knows only
 * that it needs a type; the other keys are kept as text with their line
 * numbers, and the daemon checks them against the processor's own parameter table when it
 * builds the chain.  No audio, no threads, no global state: every function
 * may be called from any thread but the real-time callback (they allocate
 * or call strtod), and two threads may parse at once.
 *
 * Every error is one line: "PATH:LINE: SECTION: KEY = VALUE: what is
 * allowed", e.g. "tidepool.conf:12: engine: rate = 7: must be between 8000
 * and 384000".  config_stage_error() writes the same shape for the daemon.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* What [engine] input = ... asks the chain to process. */
enum config_input {
	CONFIG_INPUT_NONE,	/* "none": silence */
	CONFIG_INPUT_DEVICE,	/* "device": the device's capture channels */
	CONFIG_INPUT_FILE,	/* "file:PATH", played through the pool */
	CONFIG_INPUT_TONE	/* "tone:FREQ", a sine */
};

/* One "key = value" line of a stage section. */
struct config_kv {
	char *key;		/* as written, e.g. "freq" */
	char *value;		/* as written, blanks around it removed */
	unsigned line;		/* 1-based line number in the file */
};

/* One [stage.NAME] section: one processor of the chain. */
struct config_stage {
	char *name;		/* NAME of [stage.NAME]: [A-Za-z0-9_-]{1,31} */
	char *type;		/* the value of "type", one word; never NULL */
	unsigned line;		/* of the [stage.NAME] header */
	unsigned type_line;	/* of the "type = ..." line */
	struct config_kv *keys;	/* every key but "type", in file order */
	unsigned nkeys;		/* entries in keys */
};

struct config_engine {
	unsigned rate;		/* Hz, 8000..384000; 48000 */
	unsigned period;	/* frames per callback, 16..8192; 256 */
	unsigned channels;	/* into the chain, 1..32; 2 */
	char *device;		/* "default", an index or part of a name */
	enum config_input input;	/* CONFIG_INPUT_NONE */
	char *input_path;	/* CONFIG_INPUT_FILE: the PATH; else NULL */
	double tone_freq;	/* CONFIG_INPUT_TONE: Hz, 1..rate/2; 440 */
	double tone_level;	/* dBFS peak of the tone, -120..0; -20 */
	int loop;		/* 1: file input starts again at its end */
};

struct config_pool {
	unsigned blocks;	/* audio blocks, 8..65536; 256 */
	unsigned block_frames;	/* frames per block, 16..65536; 0 (the
				   default): the daemon picks from the
				   period */
	unsigned messages;	/* control messages, 16..65536; 256 */
};

/* Where the daemon listens and tidepoolctl connects unless told. */
#define CONFIG_DEFAULT_SOCKET "/run/tidepool/control.sock"

struct config_control {
	char *socket;		/* Unix socket path (at most 107 bytes);
				   CONFIG_DEFAULT_SOCKET */
	char *group;		/* members may change things; NULL: none */
	double idle_timeout;	/* s a client may leave half a line, 1..3600;
				   60 */
	char *monitor_group;	/* members may read (status, stats, chain,
				   get, metrics); NULL: none */
};

struct config_metrics {
	char *listen;		/* HTTP /metrics on "HOST:PORT" or a Unix
				   socket path (starts with '/'); NULL:
				   off */
};

/*
 * Where clients' files may be (see daemon/files.h).  The daemon runs as
 * root in /: a client's path is opened beneath these directories only.
 */
#define CONFIG_DEFAULT_FILES "/var/lib/tidepool"	/* StateDirectory= */
#define CONFIG_FILES_MAX_PLAY 16

struct config_files {
	char *recordings;	/* "record" creates files here (and "play"
				   reads them); absolute; CONFIG_DEFAULT_FILES */
	char *play;		/* more directories "play" may read, ':'
				   between them (at most
				   CONFIG_FILES_MAX_PLAY), absolute; NULL:
				   none */
};

struct config {
	char *path;		/* the path given to config_load, or the
				   name given to config_parse */
	struct config_engine engine;
	struct config_pool pool;
	struct config_control control;
	struct config_metrics metrics;
	struct config_files files;
	struct config_stage *stages;	/* the chain, in file order */
	unsigned nstages;	/* entries in stages; 0: a pass-through */
};

/*
 * Reads and checks the config file at path (at most 1 MiB).  Returns a new
 * config for config_free(), or NULL with a one-line message in err (always
 * NUL-terminated if errlen > 0): the first error in the file, or "PATH:
 * cannot open: REASON".
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/*
 * The same from len bytes of text, which need not be NUL-terminated (tests,
 * fuzzing); name stands for the path in messages and in config->path.  An
 * empty text is a valid config: the defaults and no stages.
 */
struct config *config_parse(const char *text, size_t len, const char *name,
    char *err, size_t errlen);

/* Frees c and everything in it.  c may be NULL. */
void config_free(struct config *c);

/* The key of that name in stage s (never "type"), or NULL if absent. */
const struct config_kv *config_stage_key(const struct config_stage *s,
    const char *key);

/* The stage of that name in c, or NULL if there is none. */
const struct config_stage *config_find_stage(const struct config *c,
    const char *name);

/*
 * The fixed section ("engine", "pool", "control") that has a key of that
 * name, or NULL: for messages that say where a misplaced key belongs.
 */
const char *config_key_section(const char *key);

/*
 * Writes "PATH:LINE: stage.NAME: KEY = VALUE: " and then the printf-style
 * message into err: the shape of every config error, for the daemon's
 * checks of stage keys.  With kv NULL, LINE is that of the section header
 * and "KEY = VALUE: " is left out.  Returns -1, so a check can end with
 * "return config_stage_error(...)".
 */
int config_stage_error(const struct config *c, const struct config_stage *s,
    const struct config_kv *kv, char *err, size_t errlen, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/*
 * Strict conversions of a value, for the fixed sections and the daemon's
 * stage keys alike.  Each takes the whole text (no blanks, no units, no
 * trailing junk) and returns 0 with the result in *out, or -1 leaving *out
 * unchanged.
 */
/* A finite decimal number ("-3", "0.707", "1e3"; not "inf", "nan", hex),
   read in the C locale's format (tidepool never calls setlocale). */
int config_parse_double(const char *text, double *out);
/* A decimal whole number 0..UINT_MAX ("48000"; not "-1", "+1", "1.0"). */
int config_parse_uint(const char *text, unsigned *out);
/* yes/no, true/false, on/off, 1/0 in any case: *out is 1 or 0. */
int config_parse_bool(const char *text, int *out);
/*
 * A list of channels, each below max_channels and below 32: "0,1", "0-3",
 * "1, 4-5", or "all" (every channel below max_channels), as a mask with bit
 * n set for channel n.
 */
int config_parse_channels(const char *text, uint32_t *mask,
    unsigned max_channels);

#endif /* TP_CONFIG_H */
