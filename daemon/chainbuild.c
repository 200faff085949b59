/*
 * Builds a dsp chain from the config's stage sections.
 *
 * config/ keeps each stage's keys as text with their line numbers and knows
 * nothing of processors; dsp/ describes each processor's parameters and
 * knows nothing of files.  This module joins the two: it finds the type,
 * parses and range-checks every key against that type's table, and reports
 * the first problem with the file, line and key.  The special keys are
 * "type", "channels" (any stage), "matrix"/"row.N"/"outputs" (the mixer) and
 * "file"/"normalize" (the convolver, whose IR file is read here, through
 * daemon/irfile.c, and partitioned by [engine] period).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/chainbuild.h"
#include "daemon/engine.h"
#include "daemon/irfile.h"
#include "daemon/log.h"

static void
list_types(char *buf, size_t len)
{
	const struct dsp_type *t;
	size_t used = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; (t = dsp_type_at(i)) != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i ? ", " : "", t->name);
}

static void
list_params(const struct dsp_type *t, char *buf, size_t len)
{
	size_t used;
	unsigned i;

	used = (size_t)snprintf(buf, len, "channels");
	if (strcmp(t->name, "mixer") == 0)
		used += (size_t)snprintf(buf + used, len - used,
		    ", outputs, matrix, row.N");
	if (strcmp(t->name, "convolver") == 0)
		used += (size_t)snprintf(buf + used, len - used,
		    ", file, normalize");
	for (i = 0; i < t->nparams && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, ", %s",
		    t->params[i].name);
}

int
chainbuild_check(const struct dsp_type *t, unsigned p, double rate,
    double value, char *err, size_t errlen)
{
	const struct dsp_param *d;

	switch (dsp_param_check(t, p, rate, value)) {
	case DSP_OK:
		return 0;
	case DSP_ERANGE:
		break;
	default:
		snprintf(err, errlen, "no such parameter");
		return -1;
	}
	/* Out of range: say what the range is (dsp/ said only that). */
	d = &t->params[p];
	if (d->flags & DSP_PARAM_BOOL)
		snprintf(err, errlen, "must be 0 or 1 (or yes/no)");
	else if (d->flags & DSP_PARAM_NYQUIST)
		snprintf(err, errlen, "must be between %g and %g (below "
		    "rate/2)", d->min, rate / 2 < d->max ? rate / 2 : d->max);
	else
		snprintf(err, errlen, "must be between %g and %g", d->min,
		    d->max);
	return -1;
}

/*
 * The largest linear gain a matrix entry may have: +24 dB, the mixer's own
 * gain limit.  Without a bound, "1e39" (inf as a float), "inf" or "nan"
 * passed and the mixer's output was not a number (found by fuzz_config).
 */
#define MATRIX_MAX_GAIN 16.0

/* Parses "1 0; 0 1; 1 0; 0 1" into rows x cols gains. */
static int
parse_matrix(const char *text, unsigned cols, float *m, unsigned max_rows,
    unsigned *rows, char *err, size_t errlen)
{
	const char *p = text;
	unsigned r = 0, c = 0;
	char *end;
	double v;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';' || *p == '\0') {
			if (c != cols) {
				snprintf(err, errlen, "row %u has %u gains; "
				    "the stage gets %u channels, so each row "
				    "needs %u", r + 1, c, cols, cols);
				return -1;
			}
			r++;
			c = 0;
			if (*p == '\0')
				break;
			p++;
			continue;
		}
		if (r >= max_rows) {
			snprintf(err, errlen, "more than %u rows", max_rows);
			return -1;
		}
		v = strtod(p, &end);
		if (end == p || (*end != ' ' && *end != '\t' && *end != ';' &&
		    *end != '\0')) {
			snprintf(err, errlen, "'%.20s' is not a number", p);
			return -1;
		}
		if (!isfinite(v) || fabs(v) > MATRIX_MAX_GAIN) {
			snprintf(err, errlen, "'%.*s': each gain must be "
			    "between -%g and %g", (int)(end - p < 20 ?
			    end - p : 20), p, MATRIX_MAX_GAIN,
			    MATRIX_MAX_GAIN);
			return -1;
		}
		if (c < cols)
			m[r * cols + c] = (float)v;
		c++;
		p = end;
	}
	*rows = r;
	return 0;
}

/* A stage's setup as its keys are read. */
struct stage_build {
	const struct dsp_type *t;
	unsigned channels;	/* entering the stage */
	double rate;
	struct dsp_setup setup;
	float matrix[DSP_MAX_CHANNELS * DSP_MAX_CHANNELS];
	unsigned rows;		/* of the matrix read */
	unsigned outputs;	/* the mixer's "outputs", 0 if not given */
	int have_matrix;
	unsigned matrix_line;	/* of "matrix", 0 if not given */
	unsigned row_line[DSP_MAX_CHANNELS];	/* of each "row.N", 0 if
				   not given */
	unsigned first_row_line;	/* of the first "row.N" read, 0 if
				   none */
	const struct config_kv *file;	/* the convolver's "file", or NULL */
};

/*
 * The N of a mixer's "row.N": digits only, no leading zero, below
 * DSP_MAX_CHANNELS.  Returns it, or -1.
 */
static int
row_index(const char *key)
{
	const char *d = key + 4;
	unsigned n = 0;

	if (strncmp(key, "row.", 4) != 0 || *d == '\0' ||
	    (d[0] == '0' && d[1] != '\0'))
		return -1;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		n = n * 10 + (unsigned)(*d - '0');
		if (n >= DSP_MAX_CHANNELS)
			return -1;
	}
	return (int)n;
}

/*
 * "row.N = g0 g1 ...": the gains of output N, one per input channel.  A
 * matrix of 32 x 32 does not fit on one line as "matrix = ...; ...", and a
 * key per row also puts an error on the line of the row it is in.
 */
static void
mixer_row(struct stage_build *sb, const struct config_kv *kv, char *why,
    size_t whylen)
{
	int n = row_index(kv->key);
	unsigned got;

	if (n < 0) {
		snprintf(why, whylen, "a row is row.N with N from 0 to %d, "
		    "one per output", DSP_MAX_CHANNELS - 1);
		return;
	}
	if (sb->matrix_line != 0) {
		snprintf(why, whylen, "a mixer takes matrix = ... or row.N "
		    "keys, not both (matrix is at line %u)", sb->matrix_line);
		return;
	}
	if (strchr(kv->value, ';') != NULL) {
		snprintf(why, whylen, "one output's gains, without ';' (rows "
		    "separated by ';' go in matrix = ...)");
		return;
	}
	if (parse_matrix(kv->value, sb->channels,
	    &sb->matrix[(size_t)n * sb->channels], 1, &got, why,
	    whylen) != 0) {
		/* "row 1 has ..." means this row: say it with its key. */
		if (strncmp(why, "row 1 has", 9) == 0)
			memmove(why, why + 6, strlen(why + 6) + 1);
		return;
	}
	sb->row_line[n] = kv->line;
	if (sb->first_row_line == 0)
		sb->first_row_line = kv->line;
}

/* Characters of a value an error message repeats. */
#define VALUE_SHOWN 60

/* The convolver's normalize modes, in enum dsp_conv_normalize's order. */
static const char *const norm_names[] = { "none", "peak", "energy" };

/* Takes one key; why gets what is wrong with it, or stays "". */
static void
stage_key(struct stage_build *sb, const struct config_kv *kv, char *why,
    size_t whylen)
{
	const struct dsp_type *t = sb->t;
	char names[512];
	double v;
	int p, b;

	if (strcmp(kv->key, "channels") == 0) {
		if (config_parse_channels(kv->value, &sb->setup.channel_mask,
		    DSP_MAX_CHANNELS) != 0)
			snprintf(why, whylen, "must be a list such as 0,1 or "
			    "0-3 or all");
		else if (sb->channels < 32 &&
		    (sb->setup.channel_mask >> sb->channels) != 0)
			snprintf(why, whylen, "the input has only %u channel%s "
			    "(0-%u)", sb->channels, sb->channels == 1 ? "" :
			    "s", sb->channels - 1);
	} else if (strcmp(t->name, "mixer") == 0 &&
	    strcmp(kv->key, "outputs") == 0) {
		if (config_parse_uint(kv->value, &sb->outputs) != 0 ||
		    sb->outputs < 1 || sb->outputs > DSP_MAX_CHANNELS)
			snprintf(why, whylen, "must be between 1 and %d",
			    DSP_MAX_CHANNELS);
	} else if (strcmp(t->name, "mixer") == 0 &&
	    strcmp(kv->key, "matrix") == 0) {
		if (sb->first_row_line != 0)
			snprintf(why, whylen, "a mixer takes matrix = ... or "
			    "row.N keys, not both (row keys from line %u)",
			    sb->first_row_line);
		else
			sb->have_matrix = parse_matrix(kv->value,
			    sb->channels, sb->matrix, DSP_MAX_CHANNELS,
			    &sb->rows, why, whylen) == 0;
		sb->matrix_line = kv->line;
	} else if (strcmp(t->name, "mixer") == 0 &&
	    strncmp(kv->key, "row.", 4) == 0) {
		mixer_row(sb, kv, why, whylen);
	} else if (strcmp(t->name, "convolver") == 0 &&
	    strcmp(kv->key, "file") == 0) {
		if (kv->value[0] == '\0')
			snprintf(why, whylen, "needs the path of an impulse "
			    "response file");
		sb->file = kv;
	} else if (strcmp(t->name, "convolver") == 0 &&
	    strcmp(kv->key, "normalize") == 0) {
		for (b = 0; b < 3; b++)
			if (strcmp(kv->value, norm_names[b]) == 0)
				break;
		if (b == 3)
			snprintf(why, whylen, "must be none, peak or energy");
		else
			sb->setup.normalize = (unsigned)b;
	} else if ((p = dsp_param_index(t, kv->key)) < 0) {
		list_params(t, names, sizeof(names));
		/* A key of [engine] or [pool] put in a stage. */
		if (config_key_section(kv->key) != NULL)
			snprintf(why, whylen, "belongs in [%s], not in a stage "
			    "(known for type %s: %s)",
			    config_key_section(kv->key), t->name, names);
		else
			snprintf(why, whylen, "unknown key for type %s "
			    "(known: %s)", t->name, names);
	} else if (t->params[p].flags & DSP_PARAM_BOOL) {
		if (config_parse_bool(kv->value, &b) != 0)
			snprintf(why, whylen, "must be yes or no");
		else
			sb->setup.values[p] = b;
	} else if (config_parse_double(kv->value, &v) != 0) {
		snprintf(why, whylen, "not a number");
	} else if (chainbuild_check(t, (unsigned)p, sb->rate, v, why,
	    whylen) == 0) {
		sb->setup.values[p] = v;
	}
}

/*
 * The row.N keys make rows 0 to the highest N, each given: 0, or -1 with
 * err naming the first one missing and where the next one is.
 */
static int
gather_rows(struct stage_build *sb, const struct config *cfg,
    const struct config_stage *cs, char *err, size_t errlen)
{
	unsigned n = DSP_MAX_CHANNELS, i;

	while (n > 0 && sb->row_line[n - 1] == 0)
		n--;
	for (i = 0; i < n; i++)
		if (sb->row_line[i] == 0) {
			snprintf(err, errlen, "%s:%u: stage.%s: row.%u is "
			    "missing (row.%u is at line %u): a mixer needs "
			    "every row from row.0 to its last", cfg->path,
			    cs->line, cs->name, i, n - 1,
			    sb->row_line[n - 1]);
			return -1;
		}
	sb->rows = n;
	sb->have_matrix = 1;
	return 0;
}

/* The mixer's matrix and outputs agree: 0, or -1 with err. */
static int
check_mixer(struct stage_build *sb, const struct config *cfg,
    const struct config_stage *cs, char *err, size_t errlen)
{
	if (sb->first_row_line != 0 &&
	    gather_rows(sb, cfg, cs, err, errlen) != 0)
		return -1;
	if (!sb->have_matrix) {
		snprintf(err, errlen, "%s:%u: stage.%s: a mixer needs matrix "
		    "= one row of %u gains per output, rows separated by ';' "
		    "(or row.0 = ..., row.1 = ..., one key per output)",
		    cfg->path, cs->line, cs->name, sb->channels);
		return -1;
	}
	if (sb->outputs != 0 && sb->outputs != sb->rows) {
		snprintf(err, errlen, "%s:%u: stage.%s: outputs = %u but the "
		    "matrix has %u rows", cfg->path, cs->line, cs->name,
		    sb->outputs, sb->rows);
		return -1;
	}
	sb->setup.out_channels = sb->rows;
	sb->setup.matrix = sb->matrix;
	return 0;
}

/*
 * The convolver's IR: read, resampled when the file's rate is not ours
 * (the log says so), partitioned by the engine's period.  ir holds it
 * until the stage has copied it.  0, or -1 with err.
 */
static int
load_ir(struct stage_build *sb, const struct config *cfg,
    const struct config_stage *cs, struct irfile *ir, char *err,
    size_t errlen)
{
	const struct config_kv *kv = sb->file;
	char path[4096], why[1024];
	const char *slash;

	if (kv == NULL) {
		snprintf(err, errlen, "%s:%u: stage.%s: a convolver needs file "
		    "= PATH of an impulse response (WAV, FLAC, any format "
		    "libsndfile reads)", cfg->path, cs->line, cs->name);
		return -1;
	}
	/* A relative path is from the config file's folder, so a config
	   and its IRs move together. */
	slash = strrchr(cfg->path, '/');
	if (kv->value[0] == '/' || slash == NULL)
		snprintf(path, sizeof(path), "%s", kv->value);
	else
		snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - cfg->path), cfg->path, kv->value);
	if (irfile_load(ir, path, sb->rate, DSP_MAX_CHANNELS,
	    DSP_CONV_MAX_FRAMES, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s:%u: stage.%s: file = %s: %s",
		    cfg->path, kv->line, cs->name, kv->value, why);
		return -1;
	}
	if (ir->resampled)
		log_msg("stage.%s: %s is at %g Hz: resampled to %g Hz with "
		    "soxr (%u frames)", cs->name, path, ir->file_rate,
		    sb->rate, ir->frames);
	sb->setup.ir = ir->data;
	sb->setup.ir_frames = ir->frames;
	sb->setup.ir_channels = ir->channels;
	sb->setup.partition = cfg->engine.period;
	return 0;
}

static struct dsp_stage *
build_stage(const struct config *cfg, const struct config_stage *cs,
    double rate, unsigned channels, unsigned max_frames, int offline,
    char *err, size_t errlen)
{
	struct stage_build sb;
	struct dsp_stage *st;
	struct irfile ir;
	const struct config_kv *kv;
	char why[1024], names[512];
	unsigned k;

	memset(&sb, 0, sizeof(sb));
	sb.t = dsp_type_find(cs->type);
	if (sb.t == NULL) {
		list_types(names, sizeof(names));
		snprintf(err, errlen, "%s:%u: stage.%s: type = %s: unknown "
		    "type (known: %s)", cfg->path, cs->type_line, cs->name,
		    cs->type, names);
		return NULL;
	}
	sb.channels = channels;
	sb.rate = rate;
	dsp_setup_init(&sb.setup, sb.t, rate, channels, max_frames);
	for (k = 0; k < cs->nkeys; k++) {
		kv = &cs->keys[k];
		why[0] = '\0';
		stage_key(&sb, kv, why, sizeof(why));
		if (why[0] != '\0') {
			/* A row of 32 gains would push the reason out of
			   the message: its start says which line it is. */
			snprintf(err, errlen, "%s:%u: stage.%s: %s = %.*s%s: %s",
			    cfg->path, kv->line, cs->name, kv->key,
			    VALUE_SHOWN, kv->value,
			    strlen(kv->value) > VALUE_SHOWN ? "..." : "", why);
			return NULL;
		}
	}
	if (strcmp(sb.t->name, "mixer") == 0 &&
	    check_mixer(&sb, cfg, cs, err, errlen) != 0)
		return NULL;
	memset(&ir, 0, sizeof(ir));
	if (strcmp(sb.t->name, "convolver") == 0 &&
	    load_ir(&sb, cfg, cs, &ir, err, errlen) != 0)
		return NULL;
	sb.setup.hidden_latency = offline;
	st = dsp_stage_new(sb.t, &sb.setup, why, sizeof(why));
	irfile_free(&ir);
	if (st == NULL)
		snprintf(err, errlen, "%s:%u: stage.%s: %s", cfg->path,
		    cs->line, cs->name, why);
	return st;
}

/* chainbuild_new(), or chainbuild_new_offline() when hidden != NULL. */
static struct dsp_chain *
build_chain(const struct config *cfg, double rate, unsigned channels,
    unsigned max_frames, unsigned *hidden, char *err, size_t errlen)
{
	struct dsp_chain *chain;
	struct dsp_stage *st;
	unsigned i, ch = channels;

	if (cfg->nstages > ENGINE_MAX_STAGES) {
		snprintf(err, errlen, "%s: %u stages; at most %d", cfg->path,
		    cfg->nstages, ENGINE_MAX_STAGES);
		return NULL;
	}
	chain = dsp_chain_new(channels, max_frames, rate);
	if (chain == NULL) {
		snprintf(err, errlen, "out of memory building the chain");
		return NULL;
	}
	for (i = 0; i < cfg->nstages; i++) {
		st = build_stage(cfg, &cfg->stages[i], rate, ch, max_frames,
		    hidden != NULL, err, errlen);
		if (st == NULL)
			goto fail;
		ch = dsp_stage_out_channels(st);
		/* Only the convolvers' latency is hidden: the limiter's
		   lookahead delays a render as it does the daemon. */
		if (hidden != NULL && dsp_stage_ir_frames(st) > 0)
			*hidden += dsp_stage_latency(st);
		if (dsp_chain_append(chain, st, cfg->stages[i].name) != 0) {
			dsp_stage_del(st);
			snprintf(err, errlen, "%s:%u: stage.%s: cannot be "
			    "added to the chain", cfg->path,
			    cfg->stages[i].line, cfg->stages[i].name);
			goto fail;
		}
	}
	return chain;
fail:
	dsp_chain_del(chain);
	return NULL;
}

struct dsp_chain *
chainbuild_new(const struct config *cfg, double rate, unsigned channels,
    unsigned max_frames, char *err, size_t errlen)
{
	return build_chain(cfg, rate, channels, max_frames, NULL, err,
	    errlen);
}

struct dsp_chain *
chainbuild_new_offline(const struct config *cfg, double rate,
    unsigned channels, unsigned max_frames, unsigned *hidden, char *err,
    size_t errlen)
{
	*hidden = 0;
	return build_chain(cfg, rate, channels, max_frames, hidden, err,
	    errlen);
}

void
chainbuild_param_doc(const struct dsp_type *t, unsigned p, char *buf,
    size_t len)
{
	const struct dsp_param *d = &t->params[p];
	int unit = d->unit[0] != '\0' && strcmp(d->unit, d->name) != 0;

	if (d->flags & DSP_PARAM_BOOL)
		snprintf(buf, len, "yes/no");
	else if (d->flags & DSP_PARAM_NYQUIST)
		snprintf(buf, len, "%s%s%g to below rate/2; %g",
		    unit ? d->unit : "", unit ? ", " : "", d->min, d->def);
	else
		snprintf(buf, len, "%s%s%g to %g; %g", unit ? d->unit : "",
		    unit ? ", " : "", d->min, d->max, d->def);
}

void
chainbuild_describe(FILE *out)
{
	const struct dsp_type *t;
	char doc[128];
	unsigned i, p;

	fprintf(out, "Every stage takes type = TYPE and channels = LIST "
	    "(0,1 or 0-3 or all).\n");
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		fprintf(out, "%s: %s\n", t->name, t->summary);
		if (strcmp(t->name, "mixer") == 0)
			fprintf(out, "  matrix (one row of gains per output, "
			    "rows separated by ';') or row.0, row.1, ... (a "
			    "key per output row, up to row.%d), outputs (1 to "
			    "%d)\n", DSP_MAX_CHANNELS - 1, DSP_MAX_CHANNELS);
		if (strcmp(t->name, "convolver") == 0)
			fprintf(out, "  file (the impulse response: 1 channel "
			    "for all, 1 per channel, or 4 on 2 for true "
			    "stereo), normalize (none, peak, energy; none)\n");
		for (p = 0; p < t->nparams; p++) {
			chainbuild_param_doc(t, p, doc, sizeof(doc));
			fprintf(out, "  %s (%s): %s\n", t->params[p].name, doc,
			    t->params[p].help);
		}
	}
}
