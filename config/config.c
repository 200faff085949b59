/*
 * Parsing tidepool's INI config with libinih.
 *
 * Debian's libinih does not pass line numbers to the handler, so the text
 * is fed to ini_parse_stream() through a reader that counts lines: when the
 * handler runs, the reader has just returned the line it is about.  The
 * reader also sees section headers, which the handler only learns of with
 * their first key, so duplicate and empty sections are found there.
 * Inline comments follow libinih's build: ';' after a blank starts one.
 * The first error stops parsing and is the one reported.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

struct parse {
	struct config *cfg;
	const char *text, *pos, *end;	/* what the reader hands out */
	unsigned line;			/* the line last handed out */
	char *err;
	size_t errlen;
	int failed;
	char section[80];		/* the current one, as the reader saw */
	unsigned section_line;
	unsigned seen;			/* bits: engine, pool, control */
	uint64_t keys_seen;		/* bits of keys in the fixed sections */
	unsigned input_line;		/* of engine's input, for late checks */
};

static void
fail(struct parse *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = 1;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->cfg->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

int
config_parse_double(const char *text, double *out)
{
	char *end;
	double v;

	if (text == NULL || *text == '\0' || isspace((unsigned char)*text))
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

	if (text == NULL || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (*end != '\0' || errno == ERANGE || v > 0xffffffffUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
config_parse_bool(const char *text, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

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
	const char *p = text;
	unsigned long a, b;
	char *end;
	uint32_t m = 0;

	if (strcmp(text, "all") == 0) {
		*mask = max_channels >= 32 ? UINT32_MAX :
		    (UINT32_C(1) << max_channels) - 1;
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
		if (a > b || b >= max_channels || b >= 32)
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

/* ---- the fixed sections ------------------------------------------------ */

enum kind { K_UINT, K_DOUBLE, K_BOOL, K_STRING, K_INPUT };

struct key {
	const char *section, *name;
	enum kind kind;
	double min, max;
	size_t offset;		/* in struct config */
};

#define OFF(f) offsetof(struct config, f)
static const struct key keys[] = {
	{ "engine", "rate", K_UINT, 8000, 384000, OFF(engine.rate) },
	{ "engine", "period", K_UINT, 16, 8192, OFF(engine.period) },
	{ "engine", "channels", K_UINT, 1, 32, OFF(engine.channels) },
	{ "engine", "device", K_STRING, 0, 0, OFF(engine.device) },
	{ "engine", "input", K_INPUT, 0, 0, 0 },
	{ "engine", "loop", K_BOOL, 0, 1, OFF(engine.loop) },
	{ "engine", "tone_level", K_DOUBLE, -120, 0, OFF(engine.tone_level) },
	{ "pool", "blocks", K_UINT, 8, 65536, OFF(pool.blocks) },
	{ "pool", "block_frames", K_UINT, 0, 65536, OFF(pool.block_frames) },
	{ "pool", "messages", K_UINT, 16, 65536, OFF(pool.messages) },
	{ "control", "socket", K_STRING, 0, 0, OFF(control.socket) },
	{ "control", "group", K_STRING, 0, 0, OFF(control.group) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int
replace(char **slot, const char *value)
{
	char *s = strdup(value);

	if (s == NULL)
		return -1;
	free(*slot);
	*slot = s;
	return 0;
}

static void
set_input(struct parse *p, const char *value)
{
	struct config_engine *e = &p->cfg->engine;
	double f;

	p->input_line = p->line;
	if (strcmp(value, "none") == 0)
		e->input = CONFIG_INPUT_NONE;
	else if (strcmp(value, "device") == 0)
		e->input = CONFIG_INPUT_DEVICE;
	else if (strncmp(value, "file:", 5) == 0) {
		if (value[5] == '\0') {
			fail(p, p->line, "engine: input = %s: file: needs a "
			    "path, e.g. file:/srv/audio/loop.wav", value);
			return;
		}
		e->input = CONFIG_INPUT_FILE;
		if (replace(&e->input_path, value + 5) != 0)
			fail(p, p->line, "out of memory");
	} else if (strncmp(value, "tone:", 5) == 0) {
		if (config_parse_double(value + 5, &f) != 0 || f < 1) {
			fail(p, p->line, "engine: input = %s: tone: needs a "
			    "frequency in Hz, e.g. tone:440", value);
			return;
		}
		e->input = CONFIG_INPUT_TONE;
		e->tone_freq = f;
	} else
		fail(p, p->line, "engine: input = %s: must be none, device, "
		    "file:PATH or tone:FREQ", value);
}

static void
set_fixed(struct parse *p, const char *section, const char *name,
    const char *value)
{
	const struct key *k = NULL;
	char *base = (char *)p->cfg;
	unsigned u;
	double d;
	int b;
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0) {
			k = &keys[i];
			break;
		}
	if (k == NULL) {
		char known[256];
		size_t used = 0;

		known[0] = '\0';
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].section, section) == 0)
				used += (size_t)snprintf(known + used,
				    sizeof(known) - used, "%s%s",
				    used ? ", " : "", keys[i].name);
		fail(p, p->line, "%s: %s: unknown key (known: %s)", section,
		    name, known);
		return;
	}
	if (p->keys_seen & (UINT64_C(1) << i)) {
		fail(p, p->line, "%s: %s: set twice", section, name);
		return;
	}
	p->keys_seen |= UINT64_C(1) << i;
	switch (k->kind) {
	case K_UINT:
		if (config_parse_uint(value, &u) != 0 || u < k->min ||
		    u > k->max || (strcmp(name, "block_frames") == 0 &&
		    u != 0 && u < 16))
			fail(p, p->line, "%s: %s = %s: must be %sbetween %g "
			    "and %g", section, name, value,
			    strcmp(name, "block_frames") == 0 ? "0 or " : "",
			    strcmp(name, "block_frames") == 0 ? 16 : k->min,
			    k->max);
		else
			*(unsigned *)(base + k->offset) = u;
		break;
	case K_DOUBLE:
		if (config_parse_double(value, &d) != 0 || d < k->min ||
		    d > k->max)
			fail(p, p->line, "%s: %s = %s: must be between %g and "
			    "%g", section, name, value, k->min, k->max);
		else
			*(double *)(base + k->offset) = d;
		break;
	case K_BOOL:
		if (config_parse_bool(value, &b) != 0)
			fail(p, p->line, "%s: %s = %s: must be yes or no",
			    section, name, value);
		else
			*(int *)(base + k->offset) = b;
		break;
	case K_STRING:
		if (*value == '\0')
			fail(p, p->line, "%s: %s: empty", section, name);
		else if (replace((char **)(base + k->offset), value) != 0)
			fail(p, p->line, "out of memory");
		break;
	case K_INPUT:
		set_input(p, value);
		break;
	}
}

/* ---- stages ------------------------------------------------------------ */

static int
valid_stage_name(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return n >= 1 && n <= 31;
}

static struct config_stage *
new_stage(struct parse *p, const char *name)
{
	struct config *c = p->cfg;
	struct config_stage *ns, *s;

	ns = realloc(c->stages, sizeof(*ns) * (c->nstages + 1));
	if (ns == NULL)
		return NULL;
	c->stages = ns;
	s = &c->stages[c->nstages];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (s->name == NULL)
		return NULL;
	s->line = p->section_line;
	c->nstages++;
	return s;
}

static void
set_stage_key(struct parse *p, const char *name, const char *key,
    const char *value)
{
	struct config *c = p->cfg;
	struct config_stage *s = &c->stages[c->nstages - 1];
	struct config_kv *nk;
	unsigned i;

	(void)name;
	if (strcmp(key, "type") == 0) {
		if (s->type != NULL) {
			fail(p, p->line, "stage.%s: type: set twice (line %u)",
			    s->name, s->type_line);
			return;
		}
		if (*value == '\0') {
			fail(p, p->line, "stage.%s: type: empty", s->name);
			return;
		}
		s->type = strdup(value);
		s->type_line = p->line;
		return;
	}
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].key, key) == 0) {
			fail(p, p->line, "stage.%s: %s: set twice (line %u)",
			    s->name, key, s->keys[i].line);
			return;
		}
	nk = realloc(s->keys, sizeof(*nk) * (s->nkeys + 1));
	if (nk == NULL) {
		fail(p, p->line, "out of memory");
		return;
	}
	s->keys = nk;
	nk[s->nkeys].key = strdup(key);
	nk[s->nkeys].value = strdup(value);
	nk[s->nkeys].line = p->line;
	s->nkeys++;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (section[0] == '\0') {
		fail(p, p->line, "%s: outside any section; put it under "
		    "[engine], [pool], [control] or [stage.NAME]", name);
		return 0;
	}
	if (strncmp(section, "stage.", 6) == 0)
		set_stage_key(p, section + 6, name, value);
	else
		set_fixed(p, section, name, value);
	return !p->failed;
}

/* ---- the reader -------------------------------------------------------- */

/* A section header line: checks it and opens stages. */
static void
see_section(struct parse *p, const char *line)
{
	const char *s = line, *close;
	char name[80];
	size_t n;
	unsigned i;

	while (isspace((unsigned char)*s))
		s++;
	if (*s != '[')
		return;
	close = strchr(s, ']');
	if (close == NULL)
		return;		/* libinih reports it */
	/* The previous stage must have had a type. */
	if (p->cfg->nstages > 0 && strncmp(p->section, "stage.", 6) == 0 &&
	    p->cfg->stages[p->cfg->nstages - 1].type == NULL) {
		fail(p, p->section_line, "%s: no type = ...", p->section);
		return;
	}
	n = (size_t)(close - s - 1);
	if (n >= sizeof(name)) {
		fail(p, p->line, "[%.20s...]: section name too long", s + 1);
		return;
	}
	memcpy(name, s + 1, n);
	name[n] = '\0';
	while (n > 0 && isspace((unsigned char)name[n - 1]))
		name[--n] = '\0';
	snprintf(p->section, sizeof(p->section), "%s", name);
	p->section_line = p->line;
	if (strncmp(name, "stage.", 6) == 0) {
		if (!valid_stage_name(name + 6)) {
			fail(p, p->line, "[%s]: a stage name is 1 to 31 "
			    "letters, digits, '_' or '-'", name);
			return;
		}
		for (i = 0; i < p->cfg->nstages; i++)
			if (strcmp(p->cfg->stages[i].name, name + 6) == 0) {
				fail(p, p->line, "[%s]: already defined at "
				    "line %u", name, p->cfg->stages[i].line);
				return;
			}
		if (new_stage(p, name + 6) == NULL)
			fail(p, p->line, "out of memory");
		return;
	}
	for (i = 0; i < 3; i++) {
		static const char *fixed[] = { "engine", "pool", "control" };

		if (strcmp(name, fixed[i]) == 0) {
			if (p->seen & (1u << i))
				fail(p, p->line, "[%s]: appears twice", name);
			p->seen |= 1u << i;
			return;
		}
	}
	fail(p, p->line, "[%s]: unknown section (known: engine, pool, "
	    "control, stage.NAME)", name);
}

/* ini_reader: hands libinih one line at a time, counting them. */
static char *
reader(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	const char *nl;
	size_t n;

	if (p->pos >= p->end || p->failed)
		return NULL;
	nl = memchr(p->pos, '\n', (size_t)(p->end - p->pos));
	n = nl != NULL ? (size_t)(nl - p->pos + 1) : (size_t)(p->end - p->pos);
	if (n >= (size_t)size) {
		p->line++;
		fail(p, p->line, "line longer than %d bytes", size - 1);
		return NULL;
	}
	if (memchr(p->pos, '\0', n) != NULL) {
		p->line++;
		fail(p, p->line, "a NUL byte: this is not a text file");
		return NULL;
	}
	memcpy(buf, p->pos, n);
	buf[n] = '\0';
	p->pos += n;
	p->line++;
	see_section(p, buf);
	return p->failed ? NULL : buf;
}

/* ---- load -------------------------------------------------------------- */

static void
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
}

struct config *
config_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct parse p;
	struct config *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(name)) == NULL) {
		free(c);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	set_defaults(c);
	if ((c->engine.device = strdup("default")) == NULL ||
	    (c->control.socket = strdup("/run/tidepool/control.sock")) ==
	    NULL) {
		config_free(c);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = c;
	p.text = p.pos = text;
	p.end = text + len;
	p.err = err;
	p.errlen = errlen;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && rc > 0)
		fail(&p, (unsigned)rc, "cannot parse this line: expected "
		    "[section], key = value, or a comment");
	if (!p.failed && c->nstages > 0 &&
	    strncmp(p.section, "stage.", 6) == 0 &&
	    c->stages[c->nstages - 1].type == NULL)
		fail(&p, p.section_line, "%s: no type = ...", p.section);
	if (!p.failed && c->engine.input == CONFIG_INPUT_TONE &&
	    c->engine.tone_freq >= c->engine.rate / 2.0)
		fail(&p, p.input_line, "engine: input = tone:%g: must be below "
		    "rate/2 "
		    "(%g)", c->engine.tone_freq, c->engine.rate / 2.0);
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
	char *text = NULL, *nt;
	size_t len = 0, cap = 0, n;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (16u << 20)) {
				snprintf(err, errlen, "%s: larger than 16 MiB: "
				    "not a config file", path);
				goto fail;
			}
			nt = realloc(text, cap);
			if (nt == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			text = nt;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto fail;
	}
	fclose(f);
	c = config_parse(text ? text : "", len, path, err, errlen);
	free(text);
	return c;
fail:
	fclose(f);
	free(text);
	return NULL;
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
