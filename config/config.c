/*
 * Parsing tidepool's config file with libinih, strictly.
 *
 * libinih splits "key = value" and calls a handler for each; this file
 * adds the strictness a config file for a daemon needs.  Debian builds
 * libinih (r55) with its defaults, checked in /usr/include/ini.h and by
 * trying it: the handler gets no line number (INI_HANDLER_LINENO is 0 in
 * the library, so defining it here would not change what it passes) and
 * is not called for a section header; an indented line continues the
 * previous key (INI_ALLOW_MULTILINE); "key: value" is taken as well as
 * "key = value"; text after "[section]" is ignored; ';' after a blank
 * starts an inline comment, '#' does not; keys are not checked; parsing
 * goes on after an error.  Those switches are process-wide variables in
 * Debian's build only, so rather than set them this file feeds the text
 * to ini_parse_stream() through its own reader, which hands out one line
 * at a time, counts them, and looks at each line before libinih does:
 *  - it drops a UTF-8 byte order mark and leading blanks, so indenting is
 *    fine and no line is ever a continuation;
 *  - it parses section headers itself (unknown, malformed, duplicate,
 *    stage names), opens each [stage.NAME] and checks the one before had
 *    a type, and hands libinih a clean "[NAME]";
 *  - it refuses a key line that has no '=', has ':' in its key, is outside
 *    any section, or has ';' or '#' after a blank: comments are whole lines
 *    only, so no value is ever cut short (a mixer's "1 0 ; 0 1") or carries
 *    a comment along ("hw:1 # card");
 *  - it hands libinih blank and comment lines as empty ones;
 *  - it takes lines of up to CONFIG_MAX_LINE characters, though libinih's
 *    buffer holds 197 (INI_MAX_LINE 200, fixed in Debian's build): a key
 *    line longer than that reaches libinih as "KEY =", and its value is
 *    kept aside (long_value) for the handler, which runs before the next
 *    line is read.  A mixer's row of 32 gains such as -0.7071 is about
 *    260 characters; the limit stays so that a runaway line is an error
 *    with its line number.
 * The handler then checks the key and its value; when it runs, the reader
 * has just handed out its line, which is how errors get line numbers.  The
 * first error is written to the caller's buffer and stops everything.
 *
 * What a stage's keys mean is not known here: they are kept as text for
 * the daemon, which checks them against the processor's parameters.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "config/config.h"

#define CONFIG_MAX_BYTES (1u << 20)	/* config_load refuses larger files */
#define STAGE_NAME_MAX 31
#define CONFIG_MAX_LINE 4096	/* characters, blanks around it aside */

/* ---- strict conversions ----------------------------------------------- */

int
config_parse_double(const char *text, double *out)
{
	char *end;
	double v;

	/* strtod skips leading blanks and reads hex: neither is wanted. */
	if (text == NULL || *text == '\0' || isspace((unsigned char)*text) ||
	    strpbrk(text, "xX") != NULL)
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
config_parse_uint(const char *text, unsigned *out)
{
	unsigned long v;
	char *end;

	/* strtoul takes "-1", "+1" and leading blanks: a digit must come
	   first. */
	if (text == NULL || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (*end != '\0' || errno == ERANGE || v > UINT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
config_parse_bool(const char *text, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	if (text == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
config_parse_channels(const char *text, uint32_t *mask, unsigned max_channels)
{
	unsigned long a, b, limit = max_channels < 32 ? max_channels : 32;
	const char *p = text;
	uint32_t m = 0;
	char *end;

	if (text == NULL)
		return -1;
	if (strcmp(text, "all") == 0) {
		*mask = limit >= 32 ? UINT32_MAX : (UINT32_C(1) << limit) - 1;
		return 0;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		a = b = strtoul(p, &end, 10);
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			b = strtoul(p, &end, 10);
			p = end;
		}
		if (a > b || b >= limit)
			return -1;
		for (; a <= b; a++)
			m |= UINT32_C(1) << a;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -1;
	}
	*mask = m;
	return 0;
}

/* ---- the keys of the fixed sections ----------------------------------- */

enum section {
	SEC_NONE,	/* before the first header */
	SEC_ENGINE,
	SEC_POOL,
	SEC_CONTROL,
	SEC_METRICS,
	SEC_FILES,
	SEC_STAGE	/* [stage.NAME]: the last of cfg->stages */
};
#define NFIXED 6	/* SEC_NONE..SEC_FILES, to index by section */
static const char *const fixed_names[NFIXED] = {
	"", "engine", "pool", "control", "metrics", "files"
};

enum kind {
	K_UINT,		/* unsigned in [min, max] */
	K_DOUBLE,	/* double in [min, max] */
	K_BOOL,		/* int, 0 or 1 */
	K_STRING,	/* char *, not empty, at most max bytes if max > 0 */
	K_DIRS,		/* char *: absolute directories, ':' between them;
			   at most max of them */
	K_INPUT		/* engine.input and what comes with it */
};

struct key {
	enum section section;
	const char *name;
	enum kind kind;
	double min, max;	/* see enum kind */
	int zero_ok;		/* K_UINT: 0 is allowed as well */
	size_t offset;		/* of the field in struct config */
};

#define OFF(f) offsetof(struct config, f)
#define SOCKET_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
static const struct key keys[] = {
	{ SEC_ENGINE, "rate", K_UINT, 8000, 384000, 0, OFF(engine.rate) },
	{ SEC_ENGINE, "period", K_UINT, 16, 8192, 0, OFF(engine.period) },
	{ SEC_ENGINE, "channels", K_UINT, 1, 32, 0, OFF(engine.channels) },
	{ SEC_ENGINE, "device", K_STRING, 0, 0, 0, OFF(engine.device) },
	{ SEC_ENGINE, "input", K_INPUT, 0, 0, 0, 0 },
	{ SEC_ENGINE, "loop", K_BOOL, 0, 1, 0, OFF(engine.loop) },
	{ SEC_ENGINE, "tone_level", K_DOUBLE, -120, 0, 0,
	    OFF(engine.tone_level) },
	{ SEC_POOL, "blocks", K_UINT, 8, 65536, 0, OFF(pool.blocks) },
	{ SEC_POOL, "block_frames", K_UINT, 16, 65536, 1,
	    OFF(pool.block_frames) },
	{ SEC_POOL, "messages", K_UINT, 16, 65536, 0, OFF(pool.messages) },
	{ SEC_CONTROL, "socket", K_STRING, 0, SOCKET_MAX, 0,
	    OFF(control.socket) },
	{ SEC_CONTROL, "group", K_STRING, 0, 0, 0, OFF(control.group) },
	{ SEC_CONTROL, "idle_timeout", K_DOUBLE, 1, 3600, 0,
	    OFF(control.idle_timeout) },
	{ SEC_CONTROL, "monitor_group", K_STRING, 0, 0, 0,
	    OFF(control.monitor_group) },
	{ SEC_METRICS, "listen", K_STRING, 0, SOCKET_MAX, 0,
	    OFF(metrics.listen) },
	{ SEC_FILES, "recordings", K_DIRS, 0, 1, 0, OFF(files.recordings) },
	{ SEC_FILES, "play", K_DIRS, 0, CONFIG_FILES_MAX_PLAY, 0,
	    OFF(files.play) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *
config_key_section(const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			return fixed_names[keys[i].section];
	return NULL;
}

/* ---- parser state ------------------------------------------------------ */

struct parse {
	struct config *cfg;		/* being filled in */
	const char *pos, *end;		/* text not yet handed to libinih */
	unsigned line;			/* number of the line last handed out */
	char *err;			/* the caller's, for the first error */
	size_t errlen;
	int failed;			/* err holds an error: stop */
	enum section section;		/* the one the last header opened */
	char label[48];			/* its name in messages: "engine",
					   "stage.hp"; "" before any */
	unsigned section_line[NFIXED];	/* header of each fixed section;
					   0: not seen */
	unsigned key_line[NKEYS];	/* where each fixed key was set;
					   0: not yet */
	unsigned rate_line;		/* of engine.rate; 0: the default */
	unsigned input_line;		/* of engine.input */
	char input_text[256];		/* its value, for a late message */
	char *long_value;		/* the value of the line just handed
					   out, when too long for libinih;
					   else NULL */
};

static void fail(struct parse *p, unsigned line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes the first error, "PATH:LINE: " and the message, and stops. */
static void
fail(struct parse *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = 1;
	if (p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->cfg->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Returns arr with room for element n (0-based), reallocated if needed, or
 * NULL.  Capacity is the power of two at or above the count, so it grows
 * by doubling without a field to keep it in.
 */
static void *
grow(void *arr, unsigned n, size_t size)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return arr;
	if (n > UINT_MAX / 2)
		return NULL;
	return realloc(arr, size * (n != 0 ? 2 * (size_t)n : 1));
}

static int
replace(char **slot, const char *value, size_t len)
{
	char *s = strndup(value, len);

	if (s == NULL)
		return -1;
	free(*slot);
	*slot = s;
	return 0;
}

/* ---- [engine] input ---------------------------------------------------- */

/*
 * A tone's frequency depends on the rate, which may come later in the file
 * or not at all: it is checked once both are known, at the later of the
 * two lines or at the end, and blamed on the input line.
 */
static void
check_tone(struct parse *p, int at_end)
{
	const struct config_engine *e = &p->cfg->engine;

	if (e->input != CONFIG_INPUT_TONE || (p->rate_line == 0) != at_end)
		return;
	if (e->tone_freq < 1 || e->tone_freq > e->rate / 2.0)
		fail(p, p->input_line, "engine: input = %s: must be "
		    "tone:FREQ with FREQ between 1 and %g (rate/2)",
		    p->input_text, e->rate / 2.0);
}

static void
set_input(struct parse *p, const char *value)
{
	struct config_engine *e = &p->cfg->engine;
	const char *arg;
	double f;

	if (strcmp(value, "none") == 0)
		e->input = CONFIG_INPUT_NONE;
	else if (strcmp(value, "device") == 0)
		e->input = CONFIG_INPUT_DEVICE;
	else if (strncmp(value, "file:", 5) == 0) {
		for (arg = value + 5; isspace((unsigned char)*arg); arg++)
			;
		if (*arg == '\0') {
			fail(p, p->line, "engine: input = %s: must be "
			    "file:PATH with a PATH, e.g. "
			    "file:/srv/audio/loop.wav", value);
			return;
		}
		if (replace(&e->input_path, arg, strlen(arg)) != 0) {
			fail(p, p->line, "out of memory");
			return;
		}
		e->input = CONFIG_INPUT_FILE;
	} else if (strncmp(value, "tone:", 5) == 0) {
		for (arg = value + 5; isspace((unsigned char)*arg); arg++)
			;
		if (config_parse_double(arg, &f) != 0) {
			fail(p, p->line, "engine: input = %s: must be "
			    "tone:FREQ with FREQ a number of Hz, e.g. tone:440",
			    value);
			return;
		}
		e->input = CONFIG_INPUT_TONE;
		e->tone_freq = f;
	} else {
		fail(p, p->line, "engine: input = %s: must be none, device, "
		    "file:PATH or tone:FREQ", value);
		return;
	}
	p->input_line = p->line;
	snprintf(p->input_text, sizeof(p->input_text), "%s", value);
	check_tone(p, 0);
}

/* ---- keys -------------------------------------------------------------- */

/*
 * A K_DIRS value: absolute paths, because the daemon runs in / and a
 * client's path is resolved beneath them; ':' separates them as in PATH.
 */
static void
set_dirs(struct parse *p, const struct key *k, const char *value)
{
	const char *section = fixed_names[p->section], *s = value, *colon;
	unsigned n = 0;

	if (*value == '\0') {
		fail(p, p->line, "%s: %s: no value", section, k->name);
		return;
	}
	for (;;) {
		colon = strchr(s, ':');
		if (*s != '/') {
			fail(p, p->line, "%s: %s = %s: each directory must be "
			    "an absolute path (starting with /)%s", section,
			    k->name, value, k->max > 1 ? ", ':' between "
			    "them" : "");
			return;
		}
		n++;
		if (colon == NULL)
			break;
		s = colon + 1;
	}
	if (n > k->max) {
		fail(p, p->line, "%s: %s = %s: at most %g director%s",
		    section, k->name, value, k->max, k->max > 1 ? "ies" :
		    "y (no ':')");
		return;
	}
	if (replace((char **)((char *)p->cfg + k->offset), value,
	    strlen(value)) != 0)
		fail(p, p->line, "out of memory");
}

static void
set_fixed(struct parse *p, const char *name, const char *value)
{
	const char *section = fixed_names[p->section], *home;
	char *base = (char *)p->cfg, known[256];
	const struct key *k = NULL;
	size_t i, used = 0;
	unsigned u;
	double d;
	int b;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].section == p->section &&
		    strcmp(keys[i].name, name) == 0) {
			k = &keys[i];
			break;
		}
	if (k == NULL) {
		known[0] = '\0';
		for (i = 0; i < NKEYS; i++)
			if (keys[i].section == p->section &&
			    used < sizeof(known))
				used += (size_t)snprintf(known + used,
				    sizeof(known) - used, "%s%s",
				    used != 0 ? ", " : "", keys[i].name);
		home = config_key_section(name);
		if (home != NULL)
			fail(p, p->line, "%s: %s: belongs in [%s], not here "
			    "(known here: %s)", section, name, home, known);
		else
			fail(p, p->line, "%s: %s: unknown key (known: %s)",
			    section, name, known);
		return;
	}
	if (p->key_line[i] != 0) {
		fail(p, p->line, "%s: %s: already set at line %u", section,
		    name, p->key_line[i]);
		return;
	}
	p->key_line[i] = p->line;
	switch (k->kind) {
	case K_UINT:
		if (config_parse_uint(value, &u) == 0 &&
		    ((u >= k->min && u <= k->max) || (k->zero_ok && u == 0)))
			*(unsigned *)(base + k->offset) = u;
		else
			fail(p, p->line, "%s: %s = %s: must be %sbetween %g "
			    "and %g", section, name, value,
			    k->zero_ok ? "0 or " : "", k->min, k->max);
		break;
	case K_DOUBLE:
		if (config_parse_double(value, &d) == 0 && d >= k->min &&
		    d <= k->max)
			*(double *)(base + k->offset) = d;
		else
			fail(p, p->line, "%s: %s = %s: must be between %g and "
			    "%g", section, name, value, k->min, k->max);
		break;
	case K_BOOL:
		if (config_parse_bool(value, &b) == 0)
			*(int *)(base + k->offset) = b;
		else
			fail(p, p->line, "%s: %s = %s: must be yes or no",
			    section, name, value);
		break;
	case K_STRING:
		if (*value == '\0')
			fail(p, p->line, "%s: %s: no value", section, name);
		else if (k->max > 0 && strlen(value) > k->max)
			fail(p, p->line, "%s: %s = %s: must be at most %g "
			    "bytes long", section, name, value, k->max);
		else if (replace((char **)(base + k->offset), value,
		    strlen(value)) != 0)
			fail(p, p->line, "out of memory");
		break;
	case K_INPUT:
		set_input(p, value);
		break;
	case K_DIRS:
		set_dirs(p, k, value);
		break;
	}
	if (!p->failed && k->offset == OFF(engine.rate)) {
		p->rate_line = p->line;
		check_tone(p, 0);
	}
}

/* A word: letters, digits, '_' and '-', at least one, at most max. */
static int
is_word(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return 0;
	return 1;
}

static void
set_stage_key(struct parse *p, const char *key, const char *value)
{
	struct config_stage *s = &p->cfg->stages[p->cfg->nstages - 1];
	struct config_kv *kv;
	unsigned i;

	if (*value == '\0') {
		fail(p, p->line, "%s: %s: no value", p->label, key);
		return;
	}
	if (strcmp(key, "type") == 0) {
		if (s->type != NULL) {
			fail(p, p->line, "%s: type: already set at line %u",
			    p->label, s->type_line);
			return;
		}
		if (!is_word(value, strlen(value), 64)) {
			fail(p, p->line, "%s: type = %s: must be one word, "
			    "e.g. type = gain", p->label, value);
			return;
		}
		if ((s->type = strdup(value)) == NULL)
			fail(p, p->line, "out of memory");
		s->type_line = p->line;
		return;
	}
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].key, key) == 0) {
			fail(p, p->line, "%s: %s: already set at line %u",
			    p->label, key, s->keys[i].line);
			return;
		}
	kv = grow(s->keys, s->nkeys, sizeof(*kv));
	if (kv == NULL) {
		fail(p, p->line, "out of memory");
		return;
	}
	s->keys = kv;
	kv = &s->keys[s->nkeys];
	kv->key = strdup(key);
	kv->value = strdup(value);
	kv->line = p->line;
	if (kv->key == NULL || kv->value == NULL) {
		free(kv->key);
		free(kv->value);
		fail(p, p->line, "out of memory");
		return;
	}
	s->nkeys++;
}

/* ini_handler: one "key = value" of the line the reader handed out last. */
static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	/* section is p->label: the reader handed libinih that header. */
	(void)section;
	if (p->failed)
		return 0;
	if (p->long_value != NULL)
		value = p->long_value;
	if (p->section == SEC_STAGE)
		set_stage_key(p, name, value);
	else
		set_fixed(p, name, value);
	free(p->long_value);
	p->long_value = NULL;
	return !p->failed;
}

/* ---- lines, before libinih sees them ------------------------------------ */

/* At a new header or the end: the stage just ended must have had a type. */
static void
end_section(struct parse *p)
{
	const struct config *c = p->cfg;

	if (p->section == SEC_STAGE && c->stages[c->nstages - 1].type == NULL)
		fail(p, c->stages[c->nstages - 1].line, "%s: no type; every "
		    "stage needs one, e.g. type = gain", p->label);
}

static void
open_stage(struct parse *p, const char *name, size_t len)
{
	struct config *c = p->cfg;
	struct config_stage *s;
	unsigned i;

	if (!is_word(name, len, STAGE_NAME_MAX)) {
		fail(p, p->line, "[stage.%.*s]: a stage name is 1 to %d "
		    "letters, digits, '_' or '-'", (int)len, name,
		    STAGE_NAME_MAX);
		return;
	}
	for (i = 0; i < c->nstages; i++)
		if (strlen(c->stages[i].name) == len &&
		    memcmp(c->stages[i].name, name, len) == 0) {
			fail(p, p->line, "[stage.%.*s]: already defined at "
			    "line %u", (int)len, name, c->stages[i].line);
			return;
		}
	s = grow(c->stages, c->nstages, sizeof(*s));
	if (s == NULL) {
		fail(p, p->line, "out of memory");
		return;
	}
	c->stages = s;
	s = &c->stages[c->nstages];
	memset(s, 0, sizeof(*s));
	if ((s->name = strndup(name, len)) == NULL) {
		fail(p, p->line, "out of memory");
		return;
	}
	s->line = p->line;
	c->nstages++;
	p->section = SEC_STAGE;
	snprintf(p->label, sizeof(p->label), "stage.%s", s->name);
}

/*
 * A "[...]" line of len bytes, no blanks around it.  Opens the section and
 * writes the header libinih is to see into buf; returns its length.
 */
static size_t
header_line(struct parse *p, const char *s, size_t len, char *buf)
{
	const char *name, *close;
	size_t n;
	int i;

	end_section(p);
	if (p->failed)
		return 0;
	close = memchr(s, ']', len);
	if (close == NULL) {
		fail(p, p->line, "\"%.*s\": a section header needs a closing "
		    "]", (int)len, s);
		return 0;
	}
	if (close != s + len - 1) {
		fail(p, p->line, "\"%.*s\": nothing may follow the ] of a "
		    "section header (comments go on a line of their own)",
		    (int)len, s);
		return 0;
	}
	name = s + 1;
	n = (size_t)(close - name);
	while (n > 0 && isspace((unsigned char)*name)) {
		name++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)name[n - 1]))
		n--;
	p->section = SEC_NONE;
	p->label[0] = '\0';
	if (n >= 6 && memcmp(name, "stage.", 6) == 0)
		open_stage(p, name + 6, n - 6);
	else {
		for (i = SEC_ENGINE; i < NFIXED; i++)
			if (strlen(fixed_names[i]) == n &&
			    memcmp(fixed_names[i], name, n) == 0)
				break;
		if (i == NFIXED)
			fail(p, p->line, "[%.*s]: unknown section (known: "
			    "engine, pool, control, metrics, files, stage.NAME)",
			    (int)n, name);
		else if (p->section_line[i] != 0)
			fail(p, p->line, "[%s]: already defined at line %u",
			    fixed_names[i], p->section_line[i]);
		else {
			p->section_line[i] = p->line;
			p->section = (enum section)i;
			snprintf(p->label, sizeof(p->label), "%s",
			    fixed_names[i]);
		}
	}
	if (p->failed)
		return 0;
	/* At most len bytes: the name came from between the brackets. */
	buf[0] = '[';
	memcpy(buf + 1, name, n);
	buf[n + 1] = ']';
	return n + 2;
}

/* A line of len bytes that is not blank, a comment or a header. */
static void
key_line(struct parse *p, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len), *k, *v;
	size_t kn, vn, i;

	if (eq == NULL || memchr(s, ':', (size_t)(eq - s)) != NULL) {
		fail(p, p->line, "\"%.*s\": expected [section], key = value, "
		    "or a comment", (int)len, s);
		return;
	}
	k = s;
	kn = (size_t)(eq - s);
	while (kn > 0 && isspace((unsigned char)k[kn - 1]))
		kn--;
	v = eq + 1;
	vn = len - (size_t)(v - s);
	while (vn > 0 && isspace((unsigned char)*v)) {
		v++;
		vn--;
	}
	if (kn == 0) {
		fail(p, p->line, "\"%.*s\": expected [section], key = value, "
		    "or a comment", (int)len, s);
		return;
	}
	if (p->section == SEC_NONE) {
		char key[64];
		const char *home;

		snprintf(key, sizeof(key), "%.*s", (int)kn, k);
		home = config_key_section(key);
		if (home != NULL)
			fail(p, p->line, "%s: outside any section; it belongs "
			    "in [%s]", key, home);
		else
			fail(p, p->line, "%.*s: outside any section; put it "
			    "under [engine], [pool], [control], [files] or "
			    "[stage.NAME]", (int)kn, k);
		return;
	}
	for (i = 1; i < len; i++)
		if ((s[i] == ';' || s[i] == '#') &&
		    isspace((unsigned char)s[i - 1])) {
			fail(p, p->line, "%s: %.*s = %.*s: comments go on a "
			    "line of their own (no ';' or '#' after a blank)",
			    p->label, (int)kn, k, (int)vn, v);
			return;
		}
}

/*
 * A key line (checked by key_line) longer than libinih's buffer: writes
 * "KEY =" into buf and keeps the value for the handler.  Returns the
 * length written.
 */
static size_t
long_line(struct parse *p, const char *s, size_t len, char *buf,
    size_t room)
{
	const char *eq = memchr(s, '=', len), *v = eq + 1;
	size_t kn = (size_t)(eq - s), vn;

	while (kn > 0 && isspace((unsigned char)s[kn - 1]))
		kn--;
	vn = len - (size_t)(v - s);
	while (vn > 0 && isspace((unsigned char)*v)) {
		v++;
		vn--;
	}
	if (kn + 2 > room) {
		fail(p, p->line, "%.40s...: a key of %zu characters is too "
		    "long", s, kn);
		return 0;
	}
	free(p->long_value);
	if ((p->long_value = strndup(v, vn)) == NULL) {
		fail(p, p->line, "out of memory");
		return 0;
	}
	memcpy(buf, s, kn);
	buf[kn] = ' ';
	buf[kn + 1] = '=';
	return kn + 2;
}

/* ini_reader: hands libinih the next line, checked, as fgets would. */
static char *
reader(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	const char *s, *e, *nl;
	size_t n;

	if (p->failed || p->pos >= p->end || size < 4)
		return NULL;
	s = p->pos;
	nl = memchr(s, '\n', (size_t)(p->end - s));
	e = nl != NULL ? nl : p->end;
	p->pos = nl != NULL ? nl + 1 : p->end;
	p->line++;
	if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
		fail(p, p->line, "a NUL byte: this is not a text file");
		return NULL;
	}
	if (p->line == 1 && e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n > CONFIG_MAX_LINE) {
		fail(p, p->line, "line too long (at most %d characters)",
		    CONFIG_MAX_LINE);
		return NULL;
	}
	if (n == 0 || *s == '#' || *s == ';')
		n = 0;
	else if (*s == '[')
		n = header_line(p, s, n, buf);	/* writes a short one only */
	else {
		key_line(p, s, n);
		/* libinih wants room for "\r\n\0" past the longest line. */
		if (n <= (size_t)size - 3)
			memcpy(buf, s, n);
		else if (!p->failed)
			n = long_line(p, s, n, buf, (size_t)size - 3);
	}
	if (p->failed)
		return NULL;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return buf;
}

/* ---- load, free, look up ---------------------------------------------- */

static int
set_defaults(struct config *c)
{
	c->engine.rate = 48000;
	c->engine.period = 256;
	c->engine.channels = 2;
	c->engine.input = CONFIG_INPUT_NONE;
	c->engine.tone_freq = 440;
	c->engine.tone_level = -20;
	c->engine.loop = 1;
	c->pool.blocks = 256;
	c->pool.block_frames = 0;
	c->pool.messages = 256;
	c->engine.device = strdup("default");
	c->control.socket = strdup(CONFIG_DEFAULT_SOCKET);
	c->control.idle_timeout = 60;
	c->files.recordings = strdup(CONFIG_DEFAULT_FILES);
	return c->engine.device != NULL && c->control.socket != NULL &&
	    c->files.recordings != NULL ? 0 : -1;
}

struct config *
config_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct parse p;
	struct config *c;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(name)) == NULL ||
	    set_defaults(c) != 0) {
		config_free(c);
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = c;
	if (text == NULL) {	/* as good as "" */
		text = "";
		len = 0;
	}
	p.pos = text;
	p.end = text + len;
	p.err = err;
	p.errlen = errlen;
	rc = ini_parse_stream(reader, &p, handler, &p);
	free(p.long_value);
	if (!p.failed)
		end_section(&p);
	check_tone(&p, 1);
	/* The reader lets through only lines libinih takes: a safety net. */
	if (!p.failed && rc > 0)
		fail(&p, (unsigned)rc, "cannot parse this line");
	else if (!p.failed && rc < 0)
		fail(&p, p.line, "out of memory");
	if (p.failed) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *c;
	char *text;
	size_t len;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
		return NULL;
	}
	/* One byte more than allowed, to tell a file that is too big. */
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (text == NULL) {
		fclose(f);
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
		c = NULL;
	} else if (len > CONFIG_MAX_BYTES) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: larger than %u MiB: not a "
			    "config file", path, CONFIG_MAX_BYTES >> 20);
		c = NULL;
	} else
		c = config_parse(text, len, path, err, errlen);
	fclose(f);
	free(text);
	return c;
}

void
config_free(struct config *c)
{
	unsigned i, k;

	if (c == NULL)
		return;
	for (i = 0; i < c->nstages; i++) {
		for (k = 0; k < c->stages[i].nkeys; k++) {
			free(c->stages[i].keys[k].key);
			free(c->stages[i].keys[k].value);
		}
		free(c->stages[i].keys);
		free(c->stages[i].name);
		free(c->stages[i].type);
	}
	free(c->stages);
	free(c->engine.device);
	free(c->engine.input_path);
	free(c->control.socket);
	free(c->control.group);
	free(c->control.monitor_group);
	free(c->metrics.listen);
	free(c->files.recordings);
	free(c->files.play);
	free(c->path);
	free(c);
}

const struct config_kv *
config_stage_key(const struct config_stage *s, const char *key)
{
	unsigned i;

	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].key, key) == 0)
			return &s->keys[i];
	return NULL;
}

const struct config_stage *
config_find_stage(const struct config *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->nstages; i++)
		if (strcmp(c->stages[i].name, name) == 0)
			return &c->stages[i];
	return NULL;
}

int
config_stage_error(const struct config *c, const struct config_stage *s,
    const struct config_kv *kv, char *err, size_t errlen, const char *fmt,
    ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return -1;
	if (kv != NULL)
		n = snprintf(err, errlen, "%s:%u: stage.%s: %s = %s: ",
		    c->path, kv->line, s->name, kv->key, kv->value);
	else
		n = snprintf(err, errlen, "%s:%u: stage.%s: ", c->path,
		    s->line, s->name);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}
