/*
 * config/: a key of a fixed section written in another section, or before
 * any, is refused with a message naming the section it belongs in.
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
	    "belongs in [engine], not here (known here: socket, group)");
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
	    "it under [engine], [pool], [control] or [stage.NAME]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_section),
		cmocka_unit_test(test_wrong_fixed_section),
		cmocka_unit_test(test_outside_any_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
