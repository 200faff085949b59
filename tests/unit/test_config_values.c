/*
 * config/: the strict conversions the fixed sections and the daemon's
 * stage checks share: numbers, whole numbers, yes/no, channel lists.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "config/config.h"

static void
test_double(void **state)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "3dB", "1,5", "nan", "NAN", "inf", "-inf",
		"infinity", "0x10", "0X1p3", "1e999", "-1e999", "--1", "e3",
		".", "-", "+", "1e", "1..2",
	};
	double d;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_double("-3.5", &d), 0);
	assert_true(d == -3.5);
	assert_int_equal(config_parse_double("0.707", &d), 0);
	assert_true(d == 0.707);
	assert_int_equal(config_parse_double("+6", &d), 0);
	assert_true(d == 6);
	assert_int_equal(config_parse_double("1e3", &d), 0);
	assert_true(d == 1000);
	assert_int_equal(config_parse_double(".5", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(config_parse_double("-0", &d), 0);
	assert_true(d == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 42;
		if (config_parse_double(bad[i], &d) != -1)
			fail_msg("took \"%s\"", bad[i]);
		assert_true(d == 42);
	}
	assert_int_equal(config_parse_double(NULL, &d), -1);
}

static void
test_uint(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "12a",
		"4294967296", "99999999999999999999999",
	};
	unsigned u;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_uint("12", &u), 0);
	assert_int_equal(u, 12);
	assert_int_equal(config_parse_uint("0", &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(config_parse_uint("007", &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(config_parse_uint("4294967295", &u), 0);
	assert_int_equal(u, UINT_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = 42;
		if (config_parse_uint(bad[i], &u) != -1)
			fail_msg("took \"%s\"", bad[i]);
		assert_int_equal(u, 42);
	}
	assert_int_equal(config_parse_uint(NULL, &u), -1);
}

static void
test_bool(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "Yes",
		"TRUE", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "NO",
		"False", "oFF" };
	static const char *const bad[] = { "", "2", "y", "n", "yes ", " no",
		"enabled", "-1", "00" };
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = 0;
		assert_int_equal(config_parse_bool(yes[i], &b), 0);
		assert_int_equal(b, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = 1;
		assert_int_equal(config_parse_bool(no[i], &b), 0);
		assert_int_equal(b, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = 42;
		if (config_parse_bool(bad[i], &b) != -1)
			fail_msg("took \"%s\"", bad[i]);
		assert_int_equal(b, 42);
	}
	assert_int_equal(config_parse_bool(NULL, &b), -1);
}

static void
test_channels(void **state)
{
	static const char *const bad[] = {
		"", " ", "x", "0,", ",0", "0,,1", "2-1", "0-", "-1", "1-a",
		"0;1", "0 1", "All", "all,0", "0-3-4", "+1",
	};
	uint32_t m;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_channels("0,1", &m, 2), 0);
	assert_int_equal(m, 0x3);
	assert_int_equal(config_parse_channels("1", &m, 2), 0);
	assert_int_equal(m, 0x2);
	assert_int_equal(config_parse_channels("0-3", &m, 4), 0);
	assert_int_equal(m, 0xf);
	assert_int_equal(config_parse_channels("1, 3-4", &m, 8), 0);
	assert_int_equal(m, 0x1a);
	assert_int_equal(config_parse_channels("2-3,0", &m, 4), 0);
	assert_int_equal(m, 0xd);
	assert_int_equal(config_parse_channels("1,1,0-1", &m, 4), 0);
	assert_int_equal(m, 0x3);
	assert_int_equal(config_parse_channels("all", &m, 3), 0);
	assert_int_equal(m, 0x7);
	assert_int_equal(config_parse_channels("all", &m, 32), 0);
	assert_true(m == UINT32_MAX);
	assert_int_equal(config_parse_channels("all", &m, 64), 0);
	assert_true(m == UINT32_MAX);
	assert_int_equal(config_parse_channels("31", &m, 32), 0);
	assert_true(m == UINT32_C(0x80000000));
	assert_int_equal(config_parse_channels("0-31", &m, 32), 0);
	assert_true(m == UINT32_MAX);

	/* Each channel must be below max_channels and below 32. */
	assert_int_equal(config_parse_channels("2", &m, 2), -1);
	assert_int_equal(config_parse_channels("0-2", &m, 2), -1);
	assert_int_equal(config_parse_channels("32", &m, 64), -1);
	assert_int_equal(config_parse_channels("99999999999999999999", &m,
	    32), -1);
	assert_int_equal(config_parse_channels("0", &m, 0), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = 42;
		if (config_parse_channels(bad[i], &m, 8) != -1)
			fail_msg("took \"%s\"", bad[i]);
		assert_int_equal(m, 42);
	}
	assert_int_equal(config_parse_channels(NULL, &m, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_channels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
