/*
 * tidepool's config file: INI, parsed with libinih into plain structs.
 * No audio, no threads: the daemon turns [stage.*] sections into a dsp
 * chain and checks their keys against each processor's own parameters.
 * Every function here is for the control thread (it allocates).
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_input {
	CONFIG_INPUT_NONE,	/* silence */
	CONFIG_INPUT_DEVICE,	/* the device's capture channels */
	CONFIG_INPUT_FILE,	/* file:PATH */
	CONFIG_INPUT_TONE	/* tone:FREQ */
};

/* One "key = value" line of a stage section. */
struct config_kv {
	char *key;
	char *value;
	unsigned line;
};

/* One [stage.NAME] section. */
struct config_stage {
	char *name;		/* NAME */
	char *type;		/* the type key's value */
	unsigned line;		/* of the [stage.NAME] header */
	unsigned type_line;	/* of the type key */
	struct config_kv *keys;	/* every other key, in file order */
	unsigned nkeys;
};

struct config_engine {
	unsigned rate;		/* Hz */
	unsigned period;	/* frames per callback */
	unsigned channels;	/* into the chain */
	char *device;		/* "default", an index or part of a name */
	enum config_input input;
	char *input_path;	/* file: */
	double tone_freq;	/* tone: */
	double tone_level;	/* dBFS peak */
	int loop;		/* file input loops */
};

struct config_pool {
	unsigned blocks;	/* audio blocks */
	unsigned block_frames;	/* frames per block; 0: the daemon picks */
	unsigned messages;	/* control messages */
};

struct config_control {
	char *socket;		/* path of the Unix socket */
	char *group;		/* may change things too; NULL: none */
};

struct config {
	char *path;		/* as given, or the name given to config_parse */
	struct config_engine engine;
	struct config_pool pool;
	struct config_control control;
	struct config_stage *stages;	/* in file order */
	unsigned nstages;
};

/*
 * Reads and checks the file at path.  Returns the config, or NULL with one
 * line in err: "path:LINE: SECTION: KEY = VALUE: what is allowed".
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/*
 * The same from len bytes of text; name stands for the path in messages.
 * An empty text is a valid config: defaults and no stages.
 */
struct config *config_parse(const char *text, size_t len, const char *name,
    char *err, size_t errlen);

void config_free(struct config *c);

/* The key of stage s, or NULL. */
const struct config_kv *config_stage_key(const struct config_stage *s,
    const char *key);

/* The stage called name, or NULL. */
const struct config_stage *config_find_stage(const struct config *c,
    const char *name);

/* Strict conversions: the whole text, or -1. */
int config_parse_double(const char *text, double *out);	/* finite */
int config_parse_uint(const char *text, unsigned *out);
int config_parse_bool(const char *text, int *out); /* yes/no true/false on/off 1/0 */
/* "0,1", "0-3", "1,4-5" or "all" into a mask of channels < max_channels. */
int config_parse_channels(const char *text, uint32_t *mask,
    unsigned max_channels);

#endif /* TP_CONFIG_H */
