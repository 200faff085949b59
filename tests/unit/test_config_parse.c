/*
 * config/: what a good config parses into.  Defaults, every key of the
 * fixed sections, their boundary values, the inputs, stages in file order
 * with their keys and line numbers, lookups, the lexical details (comments,
 * indentation, CRLF, a byte order mark, the longest line), and random text
 * that must never crash the parser.  Errors: test_config_errors.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

/* Parses text that must be valid; fails the test with the message if not. */
static struct config *
good(const char *text)
{
	char err[512] = "";
	struct config *c;

	c = config_parse(text, strlen(text), "t.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("rejected: %s\n%s", err, text);
	return c;
}

static void
test_defaults(void **state)
{
	struct config *c = good("");

	(void)state;
	assert_string_equal(c->path, "t.conf");
	assert_int_equal(c->engine.rate, 48000);
	assert_int_equal(c->engine.period, 256);
	assert_int_equal(c->engine.channels, 2);
	assert_string_equal(c->engine.device, "default");
	assert_int_equal(c->engine.input, CONFIG_INPUT_NONE);
	assert_null(c->engine.input_path);
	assert_true(c->engine.tone_level == -20);
	assert_int_equal(c->engine.loop, 1);
	assert_int_equal(c->pool.blocks, 256);
	assert_int_equal(c->pool.block_frames, 0);
	assert_int_equal(c->pool.messages, 256);
	assert_string_equal(c->control.socket, "/run/tidepool/control.sock");
	assert_null(c->control.group);
	assert_null(c->control.monitor_group);
	assert_null(c->metrics.listen);	/* the endpoint is off */
	assert_string_equal(c->files.recordings, "/var/lib/tidepool");
	assert_null(c->files.play);
	assert_int_equal(c->nstages, 0);
	assert_null(c->stages);
	config_free(c);
}

/* Only comments and empty sections: still all defaults, no stages. */
static void
test_comments_and_empty_sections(void **state)
{
	struct config *c = good(
	    "# hash comment\n"
	    "; semicolon comment\n"
	    "\n"
	    "   # indented comment\n"
	    "[engine]\n"
	    "[pool]\n"
	    "\t\n"
	    "[control]\n");

	(void)state;
	assert_int_equal(c->engine.rate, 48000);
	assert_int_equal(c->pool.blocks, 256);
	assert_int_equal(c->nstages, 0);
	config_free(c);
}

static void
test_every_key(void **state)
{
	struct config *c = good(
	    "[engine]\n"
	    "rate = 44100\n"
	    "period = 128\n"
	    "channels = 4\n"
	    "device = USB Audio: hw:1,0\n"
	    "input = file:/srv/a b.wav\n"
	    "loop = no\n"
	    "tone_level = -6.5\n"
	    "[pool]\n"
	    "blocks = 64\n"
	    "block_frames = 512\n"
	    "messages = 32\n"
	    "[control]\n"
	    "socket = /tmp/x.sock\n"
	    "group = staff\n"
	    "monitor_group = adm\n"
	    "[metrics]\n"
	    "listen = 127.0.0.1:9464\n"
	    "[files]\n"
	    "recordings = /srv/rec\n"
	    "play = /srv/a b:/usr/share/sounds/\n");

	(void)state;
	assert_int_equal(c->engine.rate, 44100);
	assert_int_equal(c->engine.period, 128);
	assert_int_equal(c->engine.channels, 4);
	assert_string_equal(c->engine.device, "USB Audio: hw:1,0");
	assert_int_equal(c->engine.input, CONFIG_INPUT_FILE);
	assert_string_equal(c->engine.input_path, "/srv/a b.wav");
	assert_int_equal(c->engine.loop, 0);
	assert_true(c->engine.tone_level == -6.5);
	assert_int_equal(c->pool.blocks, 64);
	assert_int_equal(c->pool.block_frames, 512);
	assert_int_equal(c->pool.messages, 32);
	assert_string_equal(c->control.socket, "/tmp/x.sock");
	assert_string_equal(c->control.group, "staff");
	assert_string_equal(c->control.monitor_group, "adm");
	assert_string_equal(c->metrics.listen, "127.0.0.1:9464");
	assert_string_equal(c->files.recordings, "/srv/rec");
	assert_string_equal(c->files.play, "/srv/a b:/usr/share/sounds/");
	config_free(c);
}

/* Sections in any order, and keys without blanks around '='. */
static void
test_any_order(void **state)
{
	struct config *c = good(
	    "[stage.a]\ntype=gain\n"
	    "[control]\nsocket=/s\n"
	    "[engine]\nrate=96000\n"
	    "[stage.b]\ntype=meter\n");

	(void)state;
	assert_int_equal(c->engine.rate, 96000);
	assert_string_equal(c->control.socket, "/s");
	assert_int_equal(c->nstages, 2);
	assert_string_equal(c->stages[0].name, "a");
	assert_string_equal(c->stages[1].name, "b");
	config_free(c);
}

struct bound {
	const char *section, *key, *value;
	size_t offset;		/* of the unsigned or double it sets */
	int is_double;
	double want;
};

#define U(sec, key, val, field, want) \
	{ sec, key, val, offsetof(struct config, field), 0, want }
#define D(sec, key, val, field, want) \
	{ sec, key, val, offsetof(struct config, field), 1, want }

/* Both ends of every range are allowed (the errors test the outside). */
static void
test_boundaries(void **state)
{
	static const struct bound b[] = {
		U("engine", "rate", "8000", engine.rate, 8000),
		U("engine", "rate", "384000", engine.rate, 384000),
		U("engine", "period", "16", engine.period, 16),
		U("engine", "period", "8192", engine.period, 8192),
		U("engine", "channels", "1", engine.channels, 1),
		U("engine", "channels", "32", engine.channels, 32),
		D("engine", "tone_level", "-120", engine.tone_level, -120),
		D("engine", "tone_level", "0", engine.tone_level, 0),
		D("engine", "tone_level", "-0.5", engine.tone_level, -0.5),
		U("pool", "blocks", "8", pool.blocks, 8),
		U("pool", "blocks", "65536", pool.blocks, 65536),
		U("pool", "block_frames", "0", pool.block_frames, 0),
		U("pool", "block_frames", "16", pool.block_frames, 16),
		U("pool", "block_frames", "65536", pool.block_frames, 65536),
		U("pool", "messages", "16", pool.messages, 16),
		U("pool", "messages", "65536", pool.messages, 65536),
		U("engine", "rate", "048000", engine.rate, 48000),
	};
	char text[128];
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", b[i].section,
		    b[i].key, b[i].value);
		c = good(text);
		if (b[i].is_double)
			assert_true(*(double *)((char *)c + b[i].offset) ==
			    b[i].want);
		else
			assert_int_equal(*(unsigned *)((char *)c +
			    b[i].offset), (unsigned)b[i].want);
		config_free(c);
	}
}

static void
test_bools(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES",
		"True" };
	static const char *const no[] = { "no", "false", "off", "0", "No",
		"OFF" };
	char text[64];
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[engine]\nloop = %s\n", no[i]);
		c = good(text);
		assert_int_equal(c->engine.loop, 0);
		config_free(c);
		snprintf(text, sizeof(text), "[engine]\nloop = %s\n", yes[i]);
		c = good(text);
		assert_int_equal(c->engine.loop, 1);
		config_free(c);
	}
}

static void
test_inputs(void **state)
{
	struct config *c;

	(void)state;
	c = good("[engine]\ninput = tone:1000\n");
	assert_int_equal(c->engine.input, CONFIG_INPUT_TONE);
	assert_true(c->engine.tone_freq == 1000);
	config_free(c);

	c = good("[engine]\ninput = tone:440.5\ntone_level = -3\n");
	assert_true(c->engine.tone_freq == 440.5);
	assert_true(c->engine.tone_level == -3);
	config_free(c);

	/* 1 Hz to rate/2, inclusive, whichever line comes first. */
	c = good("[engine]\ninput = tone:1\n");
	assert_true(c->engine.tone_freq == 1);
	config_free(c);
	c = good("[engine]\ninput = tone:24000\n");
	assert_true(c->engine.tone_freq == 24000);
	config_free(c);
	c = good("[engine]\nrate = 96000\ninput = tone:48000\n");
	assert_true(c->engine.tone_freq == 48000);
	config_free(c);
	c = good("[engine]\ninput = tone:30000\nrate = 96000\n");
	assert_true(c->engine.tone_freq == 30000);
	config_free(c);
	c = good("[engine]\ninput = tone: 440\n");
	assert_true(c->engine.tone_freq == 440);
	config_free(c);

	c = good("[engine]\ninput = device\n");
	assert_int_equal(c->engine.input, CONFIG_INPUT_DEVICE);
	config_free(c);

	c = good("[engine]\ninput = none\n");
	assert_int_equal(c->engine.input, CONFIG_INPUT_NONE);
	config_free(c);

	/* A file name keeps what it has, blanks after "file:" aside. */
	c = good("[engine]\ninput = file: music/a b;c#1.flac\nloop = off\n");
	assert_int_equal(c->engine.input, CONFIG_INPUT_FILE);
	assert_string_equal(c->engine.input_path, "music/a b;c#1.flac");
	assert_int_equal(c->engine.loop, 0);
	config_free(c);

	c = good("[engine]\ninput = file:x=y:z.wav\n");
	assert_string_equal(c->engine.input_path, "x=y:z.wav");
	config_free(c);
}

static void
test_stages_in_order(void **state)
{
	struct config *c = good(
	    "# a comment\n"				/* 1 */
	    "[stage.hp]\n"				/* 2 */
	    "type = highpass\n"				/* 3 */
	    "freq = 80\n"				/* 4 */
	    "q = 0.707\n"				/* 5 */
	    "\n"					/* 6 */
	    "[stage.vol]\n"				/* 7 */
	    "gain = -3\n"				/* 8 */
	    "; type may come after other keys\n"	/* 9 */
	    "type = gain\n"				/* 10 */
	    "channels = 0,1\n"				/* 11 */
	    "[engine]\n"				/* 12 */
	    "rate = 44100\n"				/* 13 */
	    "[stage.Mix_2-b]\n"				/* 14 */
	    "type = mixer\n"				/* 15 */
	    "matrix = 1 0; 0 1; 1 0; 0 1\n"		/* 16 */
	    "[stage.m]\n"				/* 17 */
	    "type = meter\n");				/* 18 */
	const struct config_stage *s;
	const struct config_kv *kv;

	(void)state;
	assert_int_equal(c->nstages, 4);

	s = &c->stages[0];
	assert_string_equal(s->name, "hp");
	assert_string_equal(s->type, "highpass");
	assert_int_equal(s->line, 2);
	assert_int_equal(s->type_line, 3);
	assert_int_equal(s->nkeys, 2);
	assert_string_equal(s->keys[0].key, "freq");
	assert_string_equal(s->keys[0].value, "80");
	assert_int_equal(s->keys[0].line, 4);
	assert_string_equal(s->keys[1].key, "q");
	assert_string_equal(s->keys[1].value, "0.707");
	assert_int_equal(s->keys[1].line, 5);

	s = &c->stages[1];
	assert_string_equal(s->name, "vol");
	assert_string_equal(s->type, "gain");
	assert_int_equal(s->line, 7);
	assert_int_equal(s->type_line, 10);
	assert_int_equal(s->nkeys, 2);
	assert_string_equal(s->keys[0].key, "gain");
	assert_int_equal(s->keys[0].line, 8);
	assert_string_equal(s->keys[1].key, "channels");
	assert_string_equal(s->keys[1].value, "0,1");
	assert_int_equal(s->keys[1].line, 11);

	s = &c->stages[2];
	assert_string_equal(s->name, "Mix_2-b");
	assert_int_equal(s->line, 14);
	kv = config_stage_key(s, "matrix");
	assert_non_null(kv);
	assert_string_equal(kv->value, "1 0; 0 1; 1 0; 0 1");
	assert_int_equal(kv->line, 16);

	s = &c->stages[3];
	assert_string_equal(s->type, "meter");
	assert_int_equal(s->nkeys, 0);
	assert_null(s->keys);
	assert_int_equal(c->engine.rate, 44100);
	config_free(c);
}

static void
test_lookups(void **state)
{
	struct config *c = good(
	    "[stage.a]\ntype = gain\ngain = -3\nmute = no\n"
	    "[stage.b]\ntype = meter\n");
	const struct config_kv *kv;

	(void)state;
	assert_ptr_equal(config_find_stage(c, "a"), &c->stages[0]);
	assert_ptr_equal(config_find_stage(c, "b"), &c->stages[1]);
	assert_null(config_find_stage(c, "A"));
	assert_null(config_find_stage(c, "nope"));
	kv = config_stage_key(&c->stages[0], "mute");
	assert_ptr_equal(kv, &c->stages[0].keys[1]);
	assert_string_equal(kv->value, "no");
	assert_null(config_stage_key(&c->stages[0], "type"));
	assert_null(config_stage_key(&c->stages[0], "Gain"));
	assert_null(config_stage_key(&c->stages[1], "gain"));
	config_free(c);
}

/* Many stages and keys: the arrays grow and keep their order. */
static void
test_many_stages(void **state)
{
	char *text = malloc(200000), name[16];
	struct config *c;
	size_t n = 0;
	unsigned i, k;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 300; i++) {
		n += (size_t)sprintf(text + n, "[stage.s%u]\ntype = gain\n", i);
		for (k = 0; k < i % 7; k++)
			n += (size_t)sprintf(text + n, "k%u = %u\n", k, i);
	}
	c = good(text);
	assert_int_equal(c->nstages, 300);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_string_equal(c->stages[i].name, name);
		assert_int_equal(c->stages[i].nkeys, i % 7);
		for (k = 0; k < i % 7; k++)
			assert_int_equal(atoi(c->stages[i].keys[k].value),
			    (int)i);
	}
	assert_ptr_equal(config_find_stage(c, "s299"), &c->stages[299]);
	config_free(c);
	free(text);
}

/* Indentation, CRLF, tabs, a byte order mark, no final newline. */
static void
test_lexical(void **state)
{
	struct config *c;

	(void)state;
	c = good("\xef\xbb\xbf[engine]\r\n"
	    "  rate = 44100\r\n"
	    "\tperiod\t=\t512\t\r\n"
	    "[ stage.x ]\r\n"
	    "    type = gain\r\n"
	    "    gain = -3");
	assert_int_equal(c->engine.rate, 44100);
	assert_int_equal(c->engine.period, 512);
	assert_int_equal(c->nstages, 1);
	assert_string_equal(c->stages[0].name, "x");
	assert_int_equal(c->stages[0].line, 4);
	assert_string_equal(c->stages[0].keys[0].value, "-3");
	assert_int_equal(c->stages[0].keys[0].line, 6);
	config_free(c);

	/* An indented line is a key of its own, not a continuation. */
	c = good("[stage.x]\ntype = gain\ngain = -3\n    mute = yes\n");
	assert_int_equal(c->stages[0].nkeys, 2);
	assert_string_equal(c->stages[0].keys[1].key, "mute");
	config_free(c);

	/* ';' and '#' inside a value, not after a blank, are kept. */
	c = good("[stage.x]\ntype = mixer\nmatrix = 1 0;0 1\nnote = a#b\n");
	assert_string_equal(c->stages[0].keys[0].value, "1 0;0 1");
	assert_string_equal(c->stages[0].keys[1].value, "a#b");
	config_free(c);

	/* '=' and ':' in a value are fine. */
	c = good("[engine]\ndevice = hw:CARD=x,DEV=0\n");
	assert_string_equal(c->engine.device, "hw:CARD=x,DEV=0");
	config_free(c);
}

/*
 * The longest line: 4096 characters, though libinih's buffer holds 197
 * (ini_max_line 200): longer values are kept aside for the handler.  The
 * lines around a long one are read as usual, and so is the next long one.
 */
static void
test_longest_line(void **state)
{
	char text[9000];
	struct config *c;
	const struct config_kv *kv;
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "[engine]\ninput = file:");
	memset(text + n, 'a', 4096 - 13);
	n += 4096 - 13;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\nrate = 44100\n"
	    "[stage.x]\ntype = gain\nnote = ");
	memset(text + n, 'b', 300);
	n += 300;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\nmore = 1\n");
	c = good(text);
	assert_int_equal(strlen(c->engine.input_path), 4096 - 13);
	assert_int_equal(c->engine.rate, 44100);
	kv = config_stage_key(&c->stages[0], "note");
	assert_non_null(kv);
	assert_int_equal(strlen(kv->value), 300);
	assert_int_equal(kv->line, 6);
	assert_string_equal(config_stage_key(&c->stages[0], "more")->value,
	    "1");
	config_free(c);
}

/* The text need not be NUL-terminated: only len bytes are read. */
static void
test_length_not_nul(void **state)
{
	static const char text[] = "[engine]\nrate = 441000\n[junk";
	char err[256];
	struct config *c;

	(void)state;
	c = config_parse(text, strlen("[engine]\nrate = 44100"), "m", err,
	    sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->engine.rate, 44100);
	config_free(c);
	c = config_parse(text, strlen("[engine]\nrate = 441000\n"), "m", err,
	    sizeof(err));
	assert_null(c);
	assert_string_equal(err, "m:2: engine: rate = 441000: must be between "
	    "8000 and 384000");
	c = config_parse(text, 0, "m", err, sizeof(err));
	assert_non_null(c);
	config_free(c);
}

/* config_stage_error writes the shape every config error has. */
static void
test_stage_error(void **state)
{
	struct config *c = good("[stage.hp]\ntype = highpass\nfreq = 30000\n");
	char err[128], tiny[8];

	(void)state;
	assert_int_equal(config_stage_error(c, &c->stages[0],
	    &c->stages[0].keys[0], err, sizeof(err), "must be between 1 and "
	    "%d (below rate/2)", 24000), -1);
	assert_string_equal(err, "t.conf:3: stage.hp: freq = 30000: must be "
	    "between 1 and 24000 (below rate/2)");
	config_stage_error(c, &c->stages[0], NULL, err, sizeof(err),
	    "cannot be added");
	assert_string_equal(err, "t.conf:1: stage.hp: cannot be added");
	config_stage_error(c, &c->stages[0], NULL, tiny, sizeof(tiny), "x");
	assert_string_equal(tiny, "t.conf:");
	config_free(c);
}

/*
 * Random lines of INI-ish text: every one must either parse or give one
 * message naming the file, never crash or leak (the asan build checks).
 */
static void
test_random_text(void **state)
{
	static const char *const parts[] = {
		"[engine]", "[pool]", "[control]", "[stage.a]", "[stage.b]",
		"[stage.a", "[x]", "[]", "rate = 48000", "rate = 1",
		"period = 64", "input = tone:440", "input = tone:99999",
		"input = file:", "type = gain", "type =", "gain = -3 ; c",
		"gain = 1", "= 3", "key", "  x = y", "; c", "# c", "",
		"socket = /s", "group = g", "a:b = c", "blocks = 8",
		"\xef\xbb\xbf", "\t", "[stage.a] x", "loop = maybe",
	};
	unsigned seed = 12345, i, k, nparts;
	char text[2048], err[256];
	struct config *c;
	size_t n;

	(void)state;
	nparts = sizeof(parts) / sizeof(parts[0]);
	for (i = 0; i < 20000; i++) {
		n = 0;
		for (k = 0; k < 1 + i % 12; k++) {
			seed = seed * 1103515245u + 12345u;
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "%s%s", parts[(seed >> 16) % nparts],
			    (seed >> 8) % 5 == 0 ? "\r\n" : "\n");
		}
		err[0] = '\0';
		c = config_parse(text, n - (i % 3 == 0), "r.conf", err,
		    sizeof(err));
		if (c == NULL)
			assert_true(strncmp(err, "r.conf:", 7) == 0);
		config_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_comments_and_empty_sections),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_any_order),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_stages_in_order),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_many_stages),
		cmocka_unit_test(test_lexical),
		cmocka_unit_test(test_longest_line),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_stage_error),
		cmocka_unit_test(test_random_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
