/*
 * daemon/proto: every command parses, and every malformed request gets a
 * message instead of a guess.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/proto.h"

static struct proto_req req;
static char err[256];

static int
parse(const char *line)
{
	err[0] = '\0';
	return proto_parse(line, strlen(line), &req, err, sizeof(err));
}

static void
test_commands(void **state)
{
	(void)state;
	assert_int_equal(parse("status"), 0);
	assert_int_equal(req.cmd, PROTO_STATUS);
	assert_int_equal(parse("stats"), 0);
	assert_int_equal(req.cmd, PROTO_STATS);
	assert_int_equal(parse("  stats   reset "), 0);
	assert_int_equal(req.cmd, PROTO_STATS_RESET);
	assert_int_equal(parse("set eq.gain -3.5"), 0);
	assert_int_equal(req.cmd, PROTO_SET);
	assert_string_equal(req.stage, "eq");
	assert_string_equal(req.param, "gain");
	assert_true(req.value == -3.5);
	assert_int_equal(parse("get eq.freq"), 0);
	assert_int_equal(req.cmd, PROTO_GET);
	assert_string_equal(req.param, "freq");
	assert_int_equal(parse("get eq"), 0);
	assert_string_equal(req.stage, "eq");
	assert_string_equal(req.param, "");
	assert_int_equal(parse("chain"), 0);
	assert_int_equal(req.cmd, PROTO_CHAIN);
	assert_int_equal(parse("reload"), 0);
	assert_int_equal(req.cmd, PROTO_RELOAD);
	assert_int_equal(parse("play /srv/my song.wav"), 0);
	assert_int_equal(req.cmd, PROTO_PLAY);
	assert_int_equal(req.once, 0);
	assert_string_equal(req.path, "/srv/my song.wav");
	assert_int_equal(parse("play --once x.flac"), 0);
	assert_int_equal(req.once, 1);
	assert_string_equal(req.path, "x.flac");
	assert_int_equal(parse("play --oncex.wav"), 0);
	assert_int_equal(req.once, 0);
	assert_string_equal(req.path, "--oncex.wav");
	assert_int_equal(parse("stop"), 0);
	assert_int_equal(req.cmd, PROTO_STOP);
	assert_int_equal(parse("record /tmp/r.wav"), 0);
	assert_int_equal(req.cmd, PROTO_RECORD);
	assert_string_equal(req.path, "/tmp/r.wav");
	assert_int_equal(parse("record stop"), 0);
	assert_int_equal(req.cmd, PROTO_RECORD_STOP);
	assert_int_equal(parse("metrics"), 0);
	assert_int_equal(req.cmd, PROTO_METRICS);
	assert_int_equal(parse("help\r"), 0);	/* CRLF clients */
	assert_int_equal(req.cmd, PROTO_HELP);
	/* File names in any script: two-, three- and four-byte UTF-8. */
	assert_int_equal(parse("play /srv/Müller – 東京 \xf0\x9f\x8e\xb5.flac"),
	    0);
	assert_string_equal(req.path,
	    "/srv/Müller – 東京 \xf0\x9f\x8e\xb5.flac");
	assert_int_equal(parse("record /tmp/Ça va.wav"), 0);
	assert_string_equal(req.path, "/tmp/Ça va.wav");
}

static void
fails(const char *line, const char *want)
{
	if (parse(line) == 0)
		fail_msg("accepted: '%s'", line);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': said '%s', wanted '%s'", line, err, want);
}

static void
test_errors(void **state)
{
	(void)state;
	fails("", "empty request");
	fails("   ", "empty request");
	fails("frobnicate", "unknown command 'frobnicate'");
	fails("stats now", "usage: stats | stats reset");
	fails("status please", "status takes no more arguments");
	fails("set eq.gain", "usage: set STAGE.PARAM VALUE");
	fails("set eq.gain loud", "'loud' is not a number");
	fails("set eq.gain 3dB", "'3dB' is not a number");
	fails("set eq.gain inf", "'inf' is not a number");
	fails("set eq -3", "expected STAGE.PARAM");
	fails("set .gain -3", "expected STAGE.PARAM");
	fails("set eq. -3", "expected STAGE.PARAM");
	fails("set eq.gain 1 2", "set takes no more arguments");
	fails("get", "usage: get");
	fails("play", "usage: play [--once] FILE");
	fails("play --once", "usage: play [--once] FILE");
	fails("record", "usage: record [--overwrite] FILE | record stop");
	fails("stat\x01us", "byte 5 is 0x01");
	fails("stat\x7fus", "byte 5 is 0x7f");
	fails("\xff\xfe", "byte 1 is 0xff");
	/* Not UTF-8: a lone continuation byte, a truncated sequence, an
	   overlong '/', a surrogate, a code point past U+10FFFF. */
	fails("play a\x80" "b.wav", "byte 7 is 0x80");
	fails("play ab\xc3", "byte 8 is 0xc3");
	fails("play \xc3(.wav", "byte 6 is 0xc3");
	fails("play \xc0\xaf.wav", "byte 6 is 0xc0");
	fails("play \xe0\x80\xaf.wav", "byte 6 is 0xe0");
	fails("play \xed\xa0\x80.wav", "byte 6 is 0xed");
	fails("play \xf4\x90\x80\x80.wav", "byte 6 is 0xf4");
	fails("set averyveryveryveryveryveryveryveryveryveryveryveryverylongstagename.x 1",
	    "expected STAGE.PARAM");
}

/* The line need not be NUL-terminated: only len bytes are read. */
static void
test_length_bound(void **state)
{
	const char buf[] = { 's', 't', 'o', 'p', 'X', 'Y' };

	(void)state;
	assert_int_equal(proto_parse(buf, 4, &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, PROTO_STOP);
}

static void
test_help(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < PROTO_NCMDS; i++)
		assert_true(strlen(proto_help((enum proto_cmd)i)) > 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
