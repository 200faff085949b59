/*
 * daemon/audio: the audio thread's page faults as /proc reports them.
 * Every field of the line holds a different number, so reading a
 * neighbour (the children's cminflt or cmajflt, an off-by-one field)
 * gives another sum; and the thread's name may hold what looks like
 * fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/audio.h"

/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
   majflt cmajflt utime ... */
static void
test_fields(void **state)
{
	(void)state;
	assert_int_equal(audio_stat_faults("4242 (tidepoold) R 1 2 3 4 5 "
	    "4194560 11 1000 7 30000 12 13 14 15 20 0 1 0"), 18);
	/* A name with blanks and a ')' of its own. */
	assert_int_equal(audio_stat_faults("4242 (a) b (c) d) S 1 2 3 4 5 "
	    "4194560 3 5000 2 70000 12 13"), 5);
	assert_int_equal(audio_stat_faults("4242 (x) S 1 2 3 4 5 6 0 0 0 0"),
	    0);
}

static void
test_malformed(void **state)
{
	(void)state;
	assert_int_equal(audio_stat_faults(""), -1);
	assert_int_equal(audio_stat_faults("4242 no parenthesis 1 2 3"), -1);
	assert_int_equal(audio_stat_faults("4242 (short) S 1 2 3"), -1);
	assert_int_equal(audio_stat_faults("4242 (x) S 1 2 3 4 5 6 x y"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
