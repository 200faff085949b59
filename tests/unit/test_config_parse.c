/*
 * config/: defaults, every key, stage order and line numbers, the exact
 * error messages, the value helpers, and the shipped config files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

static struct config *
parse(const char *text, char *err, size_t errlen)
{
	return config_parse(text, strlen(text), "t.conf", err, errlen);
}

/* The text must fail with exactly this message. */
static void
fails_with(const char *text, const char *want)
{
	char err[512] = "";
	struct config *c = parse(text, err, sizeof(err));

	if (c != NULL) {
		config_free(c);
		fail_msg("accepted: %s", text);
	}
	assert_string_equal(err, want);
}

static void
test_defaults(void **state)
{
	char err[256];
	struct config *c = parse("", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->engine.rate, 48000);
	assert_int_equal(c->engine.period, 256);
	assert_int_equal(c->engine.channels, 2);
	assert_string_equal(c->engine.device, "default");
	assert_int_equal(c->engine.input, CONFIG_INPUT_NONE);
	assert_int_equal(c->engine.loop, 1);
	assert_int_equal(c->pool.blocks, 256);
	assert_int_equal(c->pool.block_frames, 0);
	assert_int_equal(c->pool.messages, 256);
	assert_string_equal(c->control.socket, "/run/tidepool/control.sock");
	assert_null(c->control.group);
	assert_int_equal(c->nstages, 0);
	config_free(c);
}

static void
test_every_key(void **state)
{
	char err[256];
	struct config *c = parse(
	    "[engine]\n"
	    "rate = 44100\n"
	    "period = 128\n"
	    "channels = 4\n"
	    "device = hw:1\n"
	    "input = file:/srv/a b.wav\n"
	    "loop = no\n"
	    "tone_level = -6\n"
	    "[pool]\n"
	    "blocks = 64\n"
	    "block_frames = 512\n"
	    "messages = 32\n"
	    "[control]\n"
	    "socket = /tmp/x.sock\n"
	    "group = staff\n", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->engine.rate, 44100);
	assert_int_equal(c->engine.period, 128);
	assert_int_equal(c->engine.channels, 4);
	assert_string_equal(c->engine.device, "hw:1");
	assert_int_equal(c->engine.input, CONFIG_INPUT_FILE);
	assert_string_equal(c->engine.input_path, "/srv/a b.wav");
	assert_int_equal(c->engine.loop, 0);
	assert_true(c->engine.tone_level == -6);
	assert_int_equal(c->pool.blocks, 64);
	assert_int_equal(c->pool.block_frames, 512);
	assert_int_equal(c->pool.messages, 32);
	assert_string_equal(c->control.socket, "/tmp/x.sock");
	assert_string_equal(c->control.group, "staff");
	config_free(c);
}

static void
test_inputs(void **state)
{
	char err[256];
	struct config *c;

	(void)state;
	c = parse("[engine]\ninput = tone:1000\n", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->engine.input, CONFIG_INPUT_TONE);
	assert_true(c->engine.tone_freq == 1000);
	config_free(c);
	c = parse("[engine]\ninput = device\n", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->engine.input, CONFIG_INPUT_DEVICE);
	config_free(c);
}

static void
test_stages_in_order(void **state)
{
	char err[256];
	struct config *c = parse(
	    "# a comment\n"
	    "[stage.hp]\n"
	    "type = highpass\n"
	    "freq = 80\n"
	    "q = 0.707\n"
	    "\n"
	    "[stage.vol]\n"
	    "type = gain\n"
	    "gain = -3 ; inline comment\n", err, sizeof(err));
	const struct config_kv *kv;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nstages, 2);
	assert_string_equal(c->stages[0].name, "hp");
	assert_string_equal(c->stages[0].type, "highpass");
	assert_int_equal(c->stages[0].line, 2);
	assert_int_equal(c->stages[0].type_line, 3);
	assert_int_equal(c->stages[0].nkeys, 2);
	assert_string_equal(c->stages[0].keys[0].key, "freq");
	assert_string_equal(c->stages[0].keys[0].value, "80");
	assert_int_equal(c->stages[0].keys[0].line, 4);
	assert_int_equal(c->stages[0].keys[1].line, 5);
	assert_string_equal(c->stages[1].name, "vol");
	assert_int_equal(c->stages[1].line, 7);
	kv = config_stage_key(&c->stages[1], "gain");
	assert_non_null(kv);
	assert_string_equal(kv->value, "-3");
	assert_int_equal(kv->line, 9);
	assert_null(config_stage_key(&c->stages[1], "type"));
	assert_ptr_equal(config_find_stage(c, "vol"), &c->stages[1]);
	assert_null(config_find_stage(c, "nope"));
	config_free(c);
}

static void
test_errors(void **state)
{
	(void)state;
	fails_with("[engine]\nrate = 7\n",
	    "t.conf:2: engine: rate = 7: must be between 8000 and 384000");
	fails_with("[engine]\n\nperiod = 99999\n",
	    "t.conf:3: engine: period = 99999: must be between 16 and 8192");
	fails_with("[engine]\nrate = fast\n",
	    "t.conf:2: engine: rate = fast: must be between 8000 and "
	    "384000");
	fails_with("[engine]\nspeed = 1\n",
	    "t.conf:2: engine: speed: unknown key (known: rate, period, "
	    "channels, device, input, loop, tone_level)");
	fails_with("[engine]\nrate = 44100\nrate = 48000\n",
	    "t.conf:3: engine: rate: set twice");
	fails_with("[engines]\n", "t.conf:1: [engines]: unknown section "
	    "(known: engine, pool, control, stage.NAME)");
	fails_with("rate = 1\n", "t.conf:1: rate: outside any section; put "
	    "it under [engine], [pool], [control] or [stage.NAME]");
	fails_with("[engine]\nthis is not a key\n", "t.conf:2: cannot parse "
	    "this line: expected [section], key = value, or a comment");
	fails_with("[stage.hp]\nfreq = 80\n[stage.vol]\ntype = gain\n",
	    "t.conf:1: stage.hp: no type = ...");
	fails_with("[stage.hp]\nfreq = 80\n",
	    "t.conf:1: stage.hp: no type = ...");
	fails_with("[stage.a]\ntype = gain\n[stage.a]\ntype = gain\n",
	    "t.conf:3: [stage.a]: already defined at line 1");
	fails_with("[stage.a]\ntype = gain\ngain = 1\ngain = 2\n",
	    "t.conf:4: stage.a: gain: set twice (line 3)");
	fails_with("[stage.a b]\ntype = gain\n", "t.conf:1: [stage.a b]: a "
	    "stage name is 1 to 31 letters, digits, '_' or '-'");
	fails_with("[engine]\ninput = file:\n", "t.conf:2: engine: input = "
	    "file:: file: needs a path, e.g. file:/srv/audio/loop.wav");
	fails_with("[engine]\ninput = tone:x\n", "t.conf:2: engine: input = "
	    "tone:x: tone: needs a frequency in Hz, e.g. tone:440");
	fails_with("[engine]\ninput = mic\n", "t.conf:2: engine: input = mic: "
	    "must be none, device, file:PATH or tone:FREQ");
	fails_with("[engine]\nloop = maybe\n",
	    "t.conf:2: engine: loop = maybe: must be yes or no");
	fails_with("[pool]\nblock_frames = 8\n", "t.conf:2: pool: "
	    "block_frames = 8: must be 0 or between 16 and 65536");
	fails_with("[engine]\nrate = 8000\ninput = tone:5000\n",
	    "t.conf:3: engine: input = tone:5000: must be below rate/2 "
	    "(4000)");
}

static void
test_missing_file(void **state)
{
	char err[256];

	(void)state;
	assert_null(config_load("/nonexistent/x.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/x.conf: cannot open: No such "
	    "file or directory");
}

static void
test_value_helpers(void **state)
{
	uint32_t m;
	unsigned u;
	double d;
	int b;

	(void)state;
	assert_int_equal(config_parse_channels("0,1", &m, 2), 0);
	assert_int_equal(m, 3);
	assert_int_equal(config_parse_channels("0-3", &m, 4), 0);
	assert_int_equal(m, 15);
	assert_int_equal(config_parse_channels("1, 3-4", &m, 8), 0);
	assert_int_equal(m, 0x1a);
	assert_int_equal(config_parse_channels("all", &m, 3), 0);
	assert_int_equal(m, 7);
	assert_int_equal(config_parse_channels("3", &m, 2), -1);
	assert_int_equal(config_parse_channels("2-1", &m, 4), -1);
	assert_int_equal(config_parse_channels("0,", &m, 4), -1);
	assert_int_equal(config_parse_channels("x", &m, 4), -1);
	assert_int_equal(config_parse_uint("12", &u), 0);
	assert_int_equal(u, 12);
	assert_int_equal(config_parse_uint("-1", &u), -1);
	assert_int_equal(config_parse_uint("1.5", &u), -1);
	assert_int_equal(config_parse_double("-3.5", &d), 0);
	assert_true(d == -3.5);
	assert_int_equal(config_parse_double("3dB", &d), -1);
	assert_int_equal(config_parse_double("nan", &d), -1);
	assert_int_equal(config_parse_double("", &d), -1);
	assert_int_equal(config_parse_bool("Yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(config_parse_bool("off", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(config_parse_bool("2", &b), -1);
}

/* Every config we ship must load (tests run from the repository root). */
static void
test_shipped_configs(void **state)
{
	static const char *files[] = {
		"config/tidepool.conf", "config/examples/crossover.conf",
		"config/examples/limiter.conf", "config/examples/room-eq.conf",
		"config/examples/passthrough.conf"
	};
	char err[512];
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		c = config_load(files[i], err, sizeof(err));
		if (c == NULL)
			fail_msg("%s", err);
		config_free(c);
	}
	c = config_load("config/tidepool.conf", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->engine.input, CONFIG_INPUT_TONE);
	assert_int_equal(c->engine.period, 64);
	assert_true(c->nstages >= 3);
	config_free(c);
}

static void
test_binary_garbage(void **state)
{
	static const char text[] = "[engine]\nrate\0= 1\n";
	char err[256];
	struct config *c;

	(void)state;
	c = config_parse(text, sizeof(text) - 1, "bin", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "bin:2: a NUL byte: this is not a text file");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_stages_in_order),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_value_helpers),
		cmocka_unit_test(test_shipped_configs),
		cmocka_unit_test(test_binary_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
