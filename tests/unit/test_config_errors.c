/*
 * config/: every kind of mistake is refused with the exact message a user
 * sees: "FILE:LINE: SECTION: KEY = VALUE: what is allowed".  The first
 * error is the one reported, and nothing is ever silently ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

/* The text must be refused with exactly this message. */
static void
fails_with(const char *text, const char *want)
{
	char err[512] = "";
	struct config *c;

	c = config_parse(text, strlen(text), "t.conf", err, sizeof(err));
	if (c != NULL) {
		config_free(c);
		fail_msg("accepted:\n%s", text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("for:\n%s\ngot:  %s\nwant: %s", text, err, want);
}

/* Just outside both ends of every range, and text that is no number. */
static void
test_ranges(void **state)
{
	(void)state;
	fails_with("[engine]\nrate = 7\n",
	    "t.conf:2: engine: rate = 7: must be between 8000 and 384000");
	fails_with("[engine]\nrate = 7999\n",
	    "t.conf:2: engine: rate = 7999: must be between 8000 and 384000");
	fails_with("[engine]\nrate = 384001\n", "t.conf:2: engine: rate = "
	    "384001: must be between 8000 and 384000");
	fails_with("[engine]\nrate = fast\n",
	    "t.conf:2: engine: rate = fast: must be between 8000 and 384000");
	fails_with("[engine]\nrate = 48000.0\n", "t.conf:2: engine: rate = "
	    "48000.0: must be between 8000 and 384000");
	fails_with("[engine]\nrate = -48000\n", "t.conf:2: engine: rate = "
	    "-48000: must be between 8000 and 384000");
	fails_with("[engine]\nrate = 48 kHz\n", "t.conf:2: engine: rate = "
	    "48 kHz: must be between 8000 and 384000");
	fails_with("[engine]\nrate = 99999999999999999999\n", "t.conf:2: "
	    "engine: rate = 99999999999999999999: must be between 8000 and "
	    "384000");
	fails_with("[engine]\nrate =\n",
	    "t.conf:2: engine: rate = : must be between 8000 and 384000");
	fails_with("[engine]\n\nperiod = 15\n",
	    "t.conf:3: engine: period = 15: must be between 16 and 8192");
	fails_with("[engine]\nperiod = 8193\n",
	    "t.conf:2: engine: period = 8193: must be between 16 and 8192");
	fails_with("[engine]\nchannels = 0\n",
	    "t.conf:2: engine: channels = 0: must be between 1 and 32");
	fails_with("[engine]\nchannels = 33\n",
	    "t.conf:2: engine: channels = 33: must be between 1 and 32");
	fails_with("[engine]\ntone_level = 0.1\n",
	    "t.conf:2: engine: tone_level = 0.1: must be between -120 and 0");
	fails_with("[engine]\ntone_level = -120.5\n", "t.conf:2: engine: "
	    "tone_level = -120.5: must be between -120 and 0");
	fails_with("[engine]\ntone_level = -20dB\n", "t.conf:2: engine: "
	    "tone_level = -20dB: must be between -120 and 0");
	fails_with("[engine]\ntone_level = nan\n",
	    "t.conf:2: engine: tone_level = nan: must be between -120 and 0");
	fails_with("[engine]\nloop = maybe\n",
	    "t.conf:2: engine: loop = maybe: must be yes or no");
	fails_with("[engine]\nloop =\n",
	    "t.conf:2: engine: loop = : must be yes or no");
	fails_with("[pool]\nblocks = 7\n",
	    "t.conf:2: pool: blocks = 7: must be between 8 and 65536");
	fails_with("[pool]\nblocks = 65537\n",
	    "t.conf:2: pool: blocks = 65537: must be between 8 and 65536");
	fails_with("[pool]\nblock_frames = 15\n", "t.conf:2: pool: "
	    "block_frames = 15: must be 0 or between 16 and 65536");
	fails_with("[pool]\nblock_frames = 65537\n", "t.conf:2: pool: "
	    "block_frames = 65537: must be 0 or between 16 and 65536");
	fails_with("[pool]\nmessages = 15\n",
	    "t.conf:2: pool: messages = 15: must be between 16 and 65536");
	fails_with("[pool]\nmessages = 65537\n",
	    "t.conf:2: pool: messages = 65537: must be between 16 and 65536");
}

static void
test_strings(void **state)
{
	char text[300], want[400], path[120];

	(void)state;
	fails_with("[engine]\ndevice =\n",
	    "t.conf:2: engine: device: no value");
	fails_with("[control]\nsocket =   \n",
	    "t.conf:2: control: socket: no value");
	fails_with("[control]\ngroup =\n",
	    "t.conf:2: control: group: no value");
	/* Clients' paths resolve beneath these: the daemon runs in /. */
	fails_with("[files]\nrecordings = rec\n", "t.conf:2: files: "
	    "recordings = rec: each directory must be an absolute path "
	    "(starting with /)");
	fails_with("[files]\nrecordings = /a:/b\n", "t.conf:2: files: "
	    "recordings = /a:/b: at most 1 directory (no ':')");
	fails_with("[files]\nplay = /a:b\n", "t.conf:2: files: play = /a:b: "
	    "each directory must be an absolute path (starting with /), ':' "
	    "between them");
	fails_with("[files]\nplay = /a::/b\n", "t.conf:2: files: play = "
	    "/a::/b: each directory must be an absolute path (starting with "
	    "/), ':' between them");
	fails_with("[files]\nplay =\n", "t.conf:2: files: play: no value");
	fails_with("[files]\nplay = /1:/2:/3:/4:/5:/6:/7:/8:/9:/10:/11:/12:"
	    "/13:/14:/15:/16:/17\n", "t.conf:2: files: play = /1:/2:/3:/4:/5:"
	    "/6:/7:/8:/9:/10:/11:/12:/13:/14:/15:/16:/17: at most 16 "
	    "directories");
	/* A Unix socket path has at most 107 bytes. */
	memset(path, 'a', 108);
	path[0] = '/';
	path[108] = '\0';
	snprintf(text, sizeof(text), "[control]\nsocket = %s\n", path);
	snprintf(want, sizeof(want), "t.conf:2: control: socket = %s: must be "
	    "at most 107 bytes long", path);
	fails_with(text, want);
	path[107] = '\0';
	snprintf(text, sizeof(text), "[control]\nsocket = %s\n", path);
	{
		char err[256];
		struct config *c = config_parse(text, strlen(text), "t.conf",
		    err, sizeof(err));

		assert_non_null(c);
		assert_int_equal(strlen(c->control.socket), 107);
		config_free(c);
	}
}

static void
test_inputs(void **state)
{
	(void)state;
	fails_with("[engine]\ninput = mic\n", "t.conf:2: engine: input = mic: "
	    "must be none, device, file:PATH or tone:FREQ");
	fails_with("[engine]\ninput =\n", "t.conf:2: engine: input = : must be "
	    "none, device, file:PATH or tone:FREQ");
	fails_with("[engine]\ninput = Device\n", "t.conf:2: engine: input = "
	    "Device: must be none, device, file:PATH or tone:FREQ");
	fails_with("[engine]\ninput = file:\n", "t.conf:2: engine: input = "
	    "file:: must be file:PATH with a PATH, e.g. "
	    "file:/srv/audio/loop.wav");
	fails_with("[engine]\ninput = file:   \n", "t.conf:2: engine: input = "
	    "file:: must be file:PATH with a PATH, e.g. "
	    "file:/srv/audio/loop.wav");
	fails_with("[engine]\ninput = tone:\n", "t.conf:2: engine: input = "
	    "tone:: must be tone:FREQ with FREQ a number of Hz, e.g. "
	    "tone:440");
	fails_with("[engine]\ninput = tone:440Hz\n", "t.conf:2: engine: input "
	    "= tone:440Hz: must be tone:FREQ with FREQ a number of Hz, e.g. "
	    "tone:440");
	/* 1 to rate/2, checked when both are known, blamed on the input. */
	fails_with("[engine]\ninput = tone:0.5\n", "t.conf:2: engine: input = "
	    "tone:0.5: must be tone:FREQ with FREQ between 1 and 24000 "
	    "(rate/2)");
	fails_with("[engine]\ninput = tone:24000.5\n", "t.conf:2: engine: "
	    "input = tone:24000.5: must be tone:FREQ with FREQ between 1 and "
	    "24000 (rate/2)");
	fails_with("[engine]\nrate = 8000\ninput = tone:5e3\n", "t.conf:3: "
	    "engine: input = tone:5e3: must be tone:FREQ with FREQ between 1 "
	    "and 4000 (rate/2)");
	fails_with("[engine]\ninput = tone:5000\nrate = 8000\n", "t.conf:2: "
	    "engine: input = tone:5000: must be tone:FREQ with FREQ between 1 "
	    "and 4000 (rate/2)");
	fails_with("[engine]\nrate = 44101\ninput = tone:22051\n", "t.conf:3: "
	    "engine: input = tone:22051: must be tone:FREQ with FREQ between "
	    "1 and 22050.5 (rate/2)");
}

static void
test_unknown(void **state)
{
	(void)state;
	fails_with("[engine]\nspeed = 1\n", "t.conf:2: engine: speed: unknown "
	    "key (known: rate, period, channels, device, input, loop, "
	    "tone_level)");
	fails_with("[engine]\nRate = 48000\n", "t.conf:2: engine: Rate: "
	    "unknown key (known: rate, period, channels, device, input, loop, "
	    "tone_level)");
	fails_with("[pool]\nrate = 48000\n", "t.conf:2: pool: rate: belongs "
	    "in [engine], not here (known here: blocks, block_frames, "
	    "messages)");
	fails_with("[control]\nuser = x\n", "t.conf:2: control: user: unknown "
	    "key (known: socket, group, idle_timeout, monitor_group)");
	fails_with("[engines]\n", "t.conf:1: [engines]: unknown section "
	    "(known: engine, pool, control, metrics, files, stage.NAME)");
	fails_with("[Engine]\nrate = 48000\n", "t.conf:1: [Engine]: unknown "
	    "section (known: engine, pool, control, metrics, files, "
	    "stage.NAME)");
	fails_with("[stage]\ntype = gain\n", "t.conf:1: [stage]: unknown "
	    "section (known: engine, pool, control, metrics, files, "
	    "stage.NAME)");
	fails_with("[]\n", "t.conf:1: []: unknown section (known: engine, "
	    "pool, control, metrics, files, stage.NAME)");
	fails_with("[engine]\n[dsp]\n", "t.conf:2: [dsp]: unknown section "
	    "(known: engine, pool, control, metrics, files, stage.NAME)");
}

static void
test_duplicates(void **state)
{
	(void)state;
	fails_with("[engine]\nrate = 44100\nrate = 48000\n",
	    "t.conf:3: engine: rate: already set at line 2");
	fails_with("[pool]\nblocks = 8\n\n# again\nblocks = 8\n",
	    "t.conf:5: pool: blocks: already set at line 2");
	fails_with("[control]\ngroup = a\ngroup = b\n",
	    "t.conf:3: control: group: already set at line 2");
	fails_with("[engine]\nrate = 44100\n[engine]\nperiod = 64\n",
	    "t.conf:3: [engine]: already defined at line 1");
	fails_with("[pool]\n[control]\n[pool]\n",
	    "t.conf:3: [pool]: already defined at line 1");
	fails_with("[stage.a]\ntype = gain\n[stage.b]\ntype = gain\n"
	    "[stage.a]\ntype = meter\n",
	    "t.conf:5: [stage.a]: already defined at line 1");
	fails_with("[stage.a]\ntype = gain\ngain = 1\ngain = 2\n",
	    "t.conf:4: stage.a: gain: already set at line 3");
	fails_with("[stage.a]\ntype = gain\ntype = meter\n",
	    "t.conf:3: stage.a: type: already set at line 2");
	/* Stage names are case-sensitive: these are two stages. */
	{
		static const char text[] =
		    "[stage.a]\ntype = gain\n[stage.A]\ntype = gain\n";
		char err[128];
		struct config *c = config_parse(text, strlen(text), "t.conf",
		    err, sizeof(err));

		assert_non_null(c);
		assert_int_equal(c->nstages, 2);
		config_free(c);
	}
}

static void
test_outside_and_malformed(void **state)
{
	(void)state;
	fails_with("rate = 1\n", "t.conf:1: rate: outside any section; it "
	    "belongs in [engine]");
	fails_with("# top\n\ntype = gain\n[stage.a]\n", "t.conf:3: type: "
	    "outside any section; put it under [engine], [pool], [control], "
	    "[files] or [stage.NAME]");
	fails_with("[engine]\nthis is not a key\n", "t.conf:2: \"this is not a "
	    "key\": expected [section], key = value, or a comment");
	fails_with("[engine]\n= 48000\n", "t.conf:2: \"= 48000\": expected "
	    "[section], key = value, or a comment");
	/* "key: value" is not this format, though libinih would take it. */
	fails_with("[engine]\nrate: 48000\n", "t.conf:2: \"rate: 48000\": "
	    "expected [section], key = value, or a comment");
	fails_with("[engine]\nrate 48000\n", "t.conf:2: \"rate 48000\": "
	    "expected [section], key = value, or a comment");
	/* Would be a continuation of "rate" for libinih: not here. */
	fails_with("[engine]\nrate = 44100\n   48000\n", "t.conf:3: \"48000\": "
	    "expected [section], key = value, or a comment");
	fails_with("[engine\nrate = 48000\n", "t.conf:1: \"[engine\": a "
	    "section header needs a closing ]");
	fails_with("[engine] junk\n", "t.conf:1: \"[engine] junk\": nothing "
	    "may follow the ] of a section header (comments go on a line of "
	    "their own)");
	fails_with("[engine] # the engine\n", "t.conf:1: \"[engine] # the "
	    "engine\": nothing may follow the ] of a section header (comments "
	    "go on a line of their own)");
	fails_with("[engine]\nrate = 48000\n[pool\n", "t.conf:3: \"[pool\": a "
	    "section header needs a closing ]");
}

/* Comments are whole lines: a ';' or '#' after a blank is refused. */
static void
test_inline_comments(void **state)
{
	(void)state;
	fails_with("[engine]\nrate = 44100 ; CD rate\n", "t.conf:2: engine: "
	    "rate = 44100 ; CD rate: comments go on a line of their own (no "
	    "';' or '#' after a blank)");
	fails_with("[engine]\ndevice = hw:1 # my card\n", "t.conf:2: engine: "
	    "device = hw:1 # my card: comments go on a line of their own (no "
	    "';' or '#' after a blank)");
	/* libinih would keep "1 0": the other rows would quietly vanish. */
	fails_with("[stage.m]\ntype = mixer\nmatrix = 1 0 ; 0 1\n", "t.conf:3: "
	    "stage.m: matrix = 1 0 ; 0 1: comments go on a line of their own "
	    "(no ';' or '#' after a blank)");
	fails_with("[stage.v]\ntype = gain\t;\tlevel\n", "t.conf:2: stage.v: "
	    "type = gain\t;\tlevel: comments go on a line of their own (no "
	    "';' or '#' after a blank)");
}

static void
test_stages(void **state)
{
	(void)state;
	fails_with("[stage.hp]\nfreq = 80\n[stage.vol]\ntype = gain\n",
	    "t.conf:1: stage.hp: no type; every stage needs one, e.g. type = "
	    "gain");
	fails_with("[stage.hp]\nfreq = 80\n",
	    "t.conf:1: stage.hp: no type; every stage needs one, e.g. type = "
	    "gain");
	fails_with("[stage.a]\ntype = gain\n\n[stage.meter]\n",
	    "t.conf:4: stage.meter: no type; every stage needs one, e.g. type "
	    "= gain");
	fails_with("[stage.hp]\n[engine]\n",
	    "t.conf:1: stage.hp: no type; every stage needs one, e.g. type = "
	    "gain");
	fails_with("[stage.a]\ntype =\n", "t.conf:2: stage.a: type: no value");
	fails_with("[stage.a]\ntype = gain\nfreq =\n",
	    "t.conf:3: stage.a: freq: no value");
	fails_with("[stage.a]\ntype = high pass\n", "t.conf:2: stage.a: type = "
	    "high pass: must be one word, e.g. type = gain");
	fails_with("[stage.a b]\ntype = gain\n", "t.conf:1: [stage.a b]: a "
	    "stage name is 1 to 31 letters, digits, '_' or '-'");
	fails_with("[stage.]\ntype = gain\n", "t.conf:1: [stage.]: a stage "
	    "name is 1 to 31 letters, digits, '_' or '-'");
	fails_with("[stage.a.b]\ntype = gain\n", "t.conf:1: [stage.a.b]: a "
	    "stage name is 1 to 31 letters, digits, '_' or '-'");
	fails_with("[stage.abcdefghijklmnopqrstuvwxyz012345]\ntype = gain\n",
	    "t.conf:1: [stage.abcdefghijklmnopqrstuvwxyz012345]: a stage name "
	    "is 1 to 31 letters, digits, '_' or '-'");
	/* 31 is fine. */
	{
		static const char text[] =
		    "[stage.abcdefghijklmnopqrstuvwxyz01234]\ntype = gain\n";
		char err[128];
		struct config *c = config_parse(text, strlen(text), "t.conf",
		    err, sizeof(err));

		assert_non_null(c);
		assert_int_equal(strlen(c->stages[0].name), 31);
		config_free(c);
	}
}

/* The first error in the file is the one reported. */
static void
test_first_error(void **state)
{
	(void)state;
	fails_with("[engine]\nrate = 1\nperiod = 1\n[nope]\n",
	    "t.conf:2: engine: rate = 1: must be between 8000 and 384000");
	fails_with("[stage.a]\n[nope]\n",
	    "t.conf:1: stage.a: no type; every stage needs one, e.g. type = "
	    "gain");
	fails_with("[engine]\nx y\nrate = 1\n", "t.conf:2: \"x y\": expected "
	    "[section], key = value, or a comment");
}

static void
test_not_text(void **state)
{
	static const char nul[] = "[engine]\nrate\0= 1\n";
	char text[4200], err[256];
	struct config *c;
	int n;

	(void)state;
	c = config_parse(nul, sizeof(nul) - 1, "bin", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "bin:2: a NUL byte: this is not a text file");
	/* One character past the longest line (4096). */
	n = snprintf(text, sizeof(text), "[engine]\ninput = file:");
	memset(text + n, 'a', 4097 - 13);
	strcpy(text + n + 4097 - 13, "\n");
	fails_with(text, "t.conf:2: line too long (at most 4096 characters)");
	/* A key longer than libinih's line: nothing to keep aside for. */
	n = snprintf(text, sizeof(text), "[stage.x]\ntype = gain\n");
	memset(text + n, 'k', 300);
	strcpy(text + n + 300, " = 1\n");
	fails_with(text, "t.conf:3: kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "...: a key of 300 characters is too long");
}

/* A small err buffer gets a truncated, terminated message; none at all is
   fine too. */
static void
test_small_buffers(void **state)
{
	static const char text[] = "[engine]\nrate = 1\n";
	char err[12];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_null(config_parse(text, strlen(text), "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:2: e");
	assert_null(config_parse(text, strlen(text), "t.conf", NULL, 0));
	assert_null(config_load("/nonexistent/x.conf", NULL, 0));
}

static void
test_files(void **state)
{
	char err[256], path[] = "/tmp/test_config_XXXXXX";
	char *big;
	FILE *f;
	int fd;

	(void)state;
	assert_null(config_load("/nonexistent/x.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/x.conf: cannot open: No such "
	    "file or directory");
	assert_null(config_load("/", err, sizeof(err)));
	assert_string_equal(err, "/: cannot read: Is a directory");

	/* Errors in a file name the path as given. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[engine]\n\nchannels = 64\n", f);
	fclose(f);
	assert_null(config_load(path, err, sizeof(err)));
	{
		char want[256];

		snprintf(want, sizeof(want), "%s:3: engine: channels = 64: "
		    "must be between 1 and 32", path);
		assert_string_equal(err, want);
	}

	/* Larger than 1 MiB: refused before parsing. */
	big = malloc((1u << 20) + 1);
	assert_non_null(big);
	memset(big, '#', (1u << 20) + 1);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(big, 1, (1u << 20) + 1, f), (1u << 20) + 1);
	fclose(f);
	free(big);
	assert_null(config_load(path, err, sizeof(err)));
	{
		char want[256];

		snprintf(want, sizeof(want), "%s: larger than 1 MiB: not a "
		    "config file", path);
		assert_string_equal(err, want);
	}
	unlink(path);
}

/* A key of a fixed section written in another section, or before any,
   names the section it belongs in. */
static void
test_key_section(void **state)
{
	(void)state;
	assert_string_equal(config_key_section("period"), "engine");
	assert_string_equal(config_key_section("blocks"), "pool");
	assert_string_equal(config_key_section("socket"), "control");
	assert_null(config_key_section("freq"));
	assert_null(config_key_section("Period"));
}

static void
test_wrong_fixed_section(void **state)
{
	(void)state;
	fails_with("[engine]\nblocks = 64\n", "t.conf:2: engine: blocks: "
	    "belongs in [pool], not here (known here: rate, period, "
	    "channels, device, input, loop, tone_level)");
	fails_with("[control]\nperiod = 64\n", "t.conf:2: control: period: "
	    "belongs in [engine], not here (known here: socket, group, "
	    "idle_timeout, monitor_group)");
	fails_with("[metrics]\nsocket = /tmp/x\n", "t.conf:2: metrics: socket: "
	    "belongs in [control], not here (known here: listen)");
	fails_with("[pool]\nsocket = /tmp/x\n", "t.conf:2: pool: socket: "
	    "belongs in [control], not here (known here: blocks, "
	    "block_frames, messages)");
}

static void
test_outside_any_section(void **state)
{
	(void)state;
	fails_with("rate = 48000\n[engine]\n", "t.conf:1: rate: outside any "
	    "section; it belongs in [engine]");
	fails_with("freq = 80\n", "t.conf:1: freq: outside any section; put "
	    "it under [engine], [pool], [control], [files] or [stage.NAME]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_outside_and_malformed),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_first_error),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_key_section),
		cmocka_unit_test(test_wrong_fixed_section),
		cmocka_unit_test(test_outside_any_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
