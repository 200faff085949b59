/*
 * daemon/chainbuild: a 32 x 32 mixer can be written (issue 14), a key per
 * row ("row.N = ...", each up to 4096 characters) or one "matrix" line,
 * and what it builds routes every channel where the rows say (a channel
 * permutation with a crossfeed, checked on a frame whose channels all
 * differ).  Hostile matrices are refused with the file, the line and
 * what is wrong: ragged rows, a missing row, a 33rd column, NaN, inf, a
 * huge gain, an empty row, a row index out of range, both spellings.
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
#include "daemon/chainbuild.h"

#define RATE 48000
#define N 32
#define TEXT 65536

/* Output k takes input perm(k): a permutation of the 32 channels. */
static unsigned
perm(unsigned k)
{
	return (k * 7 + 3) % N;
}

/*
 * Row k of the test matrix: 1 at perm(k); output 0 also takes half of
 * input 31 (a crossfeed).  Written wide, "0.00000" for a zero, so that a
 * row is 250 characters: longer than the 197 libinih takes itself.
 */
static void
put_row(char *buf, size_t len, unsigned k)
{
	size_t used = 0;
	unsigned c;

	buf[0] = '\0';
	for (c = 0; c < N; c++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    c ? " " : "", c == perm(k) ? "1.00000" :
		    k == 0 && c == 31 ? "0.50000" : "0.00000");
}

/* "[stage.mix]\ntype = mixer\n" then rows 0..31 as row.N keys. */
static void
rows_config(char *text, size_t len)
{
	char row[512];
	size_t used;
	unsigned k;

	used = (size_t)snprintf(text, len, "[stage.mix]\ntype = mixer\n");
	for (k = 0; k < N; k++) {
		put_row(row, sizeof(row), k);
		used += (size_t)snprintf(text + used, len - used,
		    "row.%u = %s\n", k, row);
	}
}

static struct dsp_chain *
build(const char *text, char *err, size_t errlen)
{
	struct config *cfg;
	struct dsp_chain *chain;

	err[0] = '\0';
	cfg = config_parse(text, strlen(text), "t.conf", err, errlen);
	if (cfg == NULL)
		return NULL;
	chain = chainbuild_new(cfg, RATE, N, 64, err, errlen);
	config_free(cfg);
	return chain;
}

/* Runs one frame, input channel c = c + 1, and checks the routing. */
static void
check_routing(struct dsp_chain *chain)
{
	float in[N], out[N], want;
	unsigned c, k;

	assert_int_equal(dsp_chain_out_channels(chain), N);
	for (c = 0; c < N; c++)
		in[c] = (float)(c + 1);
	(void)dsp_chain_process(chain, in, out, 1, NULL);
	for (k = 0; k < N; k++) {
		want = in[perm(k)] + (k == 0 ? 0.5f * in[31] : 0);
		if (out[k] != want)
			fail_msg("output %u is %g, want %g", k, out[k], want);
	}
}

static void
test_rows_32x32(void **state)
{
	char *text = malloc(TEXT), err[1024];
	struct dsp_chain *chain;

	(void)state;
	assert_non_null(text);
	rows_config(text, TEXT);
	chain = build(text, err, sizeof(err));
	if (chain == NULL)
		fail_msg("%s", err);
	check_routing(chain);
	dsp_chain_del(chain);
	free(text);
}

/* The same as one "matrix" line of 8,000 characters is too long; with
   "1" and "0" it is 2,079 and fits. */
static void
test_matrix_line_32x32(void **state)
{
	char *text = malloc(TEXT), err[1024];
	struct dsp_chain *chain;
	size_t used;
	unsigned k, c;

	(void)state;
	assert_non_null(text);
	used = (size_t)snprintf(text, TEXT, "[stage.mix]\ntype = mixer\n"
	    "matrix =");
	for (k = 0; k < N; k++)
		for (c = 0; c < N; c++)
			used += (size_t)snprintf(text + used, TEXT - used,
			    "%s%s", c == 0 && k > 0 ? "; " : " ",
			    c == perm(k) ? "1" : k == 0 && c == 31 ? ".5" :
			    "0");
	snprintf(text + used, TEXT - used, "\n");
	chain = build(text, err, sizeof(err));
	if (chain == NULL)
		fail_msg("%s", err);
	check_routing(chain);
	dsp_chain_del(chain);
	free(text);
}

/*
 * The test config with row k's line replaced by `line` (NULL: dropped),
 * must fail with exactly want.
 */
static void
fails_with_row(unsigned k, const char *line, const char *want)
{
	char *text = malloc(TEXT), *good = malloc(TEXT), err[1024];
	const char *p, *nl;
	char key[16];
	size_t used = 0;
	struct dsp_chain *chain;

	assert_non_null(text);
	assert_non_null(good);
	rows_config(good, TEXT);
	snprintf(key, sizeof(key), "row.%u = ", k);
	for (p = good; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (strncmp(p, key, strlen(key)) == 0) {
			if (line != NULL)
				used += (size_t)snprintf(text + used,
				    TEXT - used, "%s\n", line);
		} else {
			memcpy(text + used, p, (size_t)(nl - p + 1));
			used += (size_t)(nl - p + 1);
		}
	}
	text[used] = '\0';
	chain = build(text, err, sizeof(err));
	if (chain != NULL) {
		dsp_chain_del(chain);
		fail_msg("accepted row.%u = %s", k, line ? line : "(none)");
	}
	if (strcmp(err, want) != 0)
		fail_msg("got:  %s\nwant: %s", err, want);
	free(text);
	free(good);
}

static void
test_hostile_rows(void **state)
{
	char row[600];
	char line[700];

	(void)state;
	/* Ragged: row 5 one gain short. */
	put_row(row, sizeof(row), 5);
	row[strlen(row) - 8] = '\0';
	snprintf(line, sizeof(line), "row.5 = %s", row);
	fails_with_row(5, line, "t.conf:8: stage.mix: row.5 = 0.00000 0.00000 "
	    "0.00000 0.00000 0.00000 0.00000 1.00000 0.00...: has 31 gains; the "
	    "stage gets 32 channels, so each row needs 32");
	/* A 33rd column. */
	put_row(row, sizeof(row), 9);
	snprintf(line, sizeof(line), "row.9 = %s 0", row);
	fails_with_row(9, line, "t.conf:12: stage.mix: row.9 = 0.00000 0.00000 "
	    "1.00000 0.00000 0.00000 0.00000 0.00000 0.00...: has 33 gains; the "
	    "stage gets 32 channels, so each row needs 32");
	/* A missing row: said at the stage, with the last row's line. */
	fails_with_row(7, NULL, "t.conf:1: stage.mix: row.7 is missing "
	    "(row.31 is at line 33): a mixer needs every row from row.0 to "
	    "its last");
	/* Not numbers a mixer can use. */
	fails_with_row(3, "row.3 = nan 0", "t.conf:6: stage.mix: row.3 = nan 0: "
	    "'nan': each gain must be between -16 and 16");
	fails_with_row(3, "row.3 = 0 -inf", "t.conf:6: stage.mix: row.3 = "
	    "0 -inf: '-inf': each gain must be between -16 and 16");
	fails_with_row(3, "row.3 = 1e39 0", "t.conf:6: stage.mix: row.3 = "
	    "1e39 0: '1e39': each gain must be between -16 and 16");
	fails_with_row(3, "row.3 = 16.5", "t.conf:6: stage.mix: row.3 = 16.5: "
	    "'16.5': each gain must be between -16 and 16");
	fails_with_row(3, "row.3 = 1 x", "t.conf:6: stage.mix: row.3 = 1 x: "
	    "'x' is not a number");
	/* An empty row. */
	fails_with_row(4, "row.4 =", "t.conf:7: stage.mix: row.4: no value");
	/* Rows by index: 0 to 31, written plainly. */
	fails_with_row(4, "row.32 = 1", "t.conf:7: stage.mix: row.32 = 1: a "
	    "row is row.N with N from 0 to 31, one per output");
	fails_with_row(4, "row.04 = 1", "t.conf:7: stage.mix: row.04 = 1: a "
	    "row is row.N with N from 0 to 31, one per output");
	fails_with_row(4, "row.x = 1", "t.conf:7: stage.mix: row.x = 1: a "
	    "row is row.N with N from 0 to 31, one per output");
	/* The same row twice is the config's "already set". */
	fails_with_row(4, "row.3 = 1", "t.conf:7: stage.mix: row.3: already "
	    "set at line 6");
	/* Both spellings, and rows with ';'. */
	fails_with_row(4, "matrix = 1", "t.conf:7: stage.mix: matrix = 1: a "
	    "mixer takes matrix = ... or row.N keys, not both (row keys from "
	    "line 3)");
	fails_with_row(4, "row.4 = 1; 0", "t.conf:7: stage.mix: row.4 = 1; 0: "
	    "one output's gains, without ';' (rows separated by ';' go in "
	    "matrix = ...)");
	/* outputs = N must agree with the rows. */
	fails_with_row(31, "outputs = 32", "t.conf:1: stage.mix: outputs = 32 "
	    "but the matrix has 31 rows");
}

/* A row key after a matrix line is refused at the row's line. */
static void
test_matrix_then_row(void **state)
{
	char text[2048], row[512], err[1024];

	(void)state;
	put_row(row, sizeof(row), 1);
	snprintf(text, sizeof(text), "[stage.m]\ntype = mixer\nmatrix = %s\n"
	    "row.0 = %s\n", row, row);
	assert_null(build(text, err, sizeof(err)));
	assert_string_equal(err, "t.conf:4: stage.m: row.0 = 0.00000 0.00000 "
	    "0.00000 0.00000 0.00000 0.00000 0.00000 0.00...: a mixer "
	    "takes matrix = ... or row.N keys, not both (matrix is at line 3)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_32x32),
		cmocka_unit_test(test_matrix_line_32x32),
		cmocka_unit_test(test_hostile_rows),
		cmocka_unit_test(test_matrix_then_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
