/*
 * daemon/chainbuild's parameter documentation: tidepool.conf(5) gives
 * every type and every parameter with the range and default of the code's
 * own tables (chainbuild_param_doc), so the page cannot drift from them;
 * and tidepoold --list-stages prints the same.  Run from the repository
 * root (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/chainbuild.h"

#define MAN "config/tidepool.conf.5"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* s with each '-' as roff's "\-", which the page writes for a minus. */
static void
roff(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '-')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

static void
test_the_page_gives_every_parameter(void **state)
{
	const struct dsp_type *t;
	char doc[128], want[256], *man = slurp(MAN);
	unsigned i, p, missing = 0;

	(void)state;
	assert_non_null(man);
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		snprintf(want, sizeof(want), ".B %s", t->name);
		if (strstr(man, want) == NULL && strstr(man, t->name) == NULL) {
			print_message("# %s: no type %s\n", MAN, t->name);
			missing++;
		}
		for (p = 0; p < t->nparams; p++) {
			chainbuild_param_doc(t, p, doc, sizeof(doc));
			snprintf(want, sizeof(want), ".B %s\n(%s)",
			    t->params[p].name, doc);
			roff(want, doc, sizeof(doc));
			if (strstr(man, doc) == NULL) {
				print_message("# %s: %s.%s: no \"%s\"\n", MAN,
				    t->name, t->params[p].name, doc);
				missing++;
			}
		}
	}
	free(man);
	assert_int_equal(missing, 0);
}

static void
test_the_docs_read_well(void **state)
{
	const struct dsp_type *gain = dsp_type_find("gain");
	const struct dsp_type *lp = dsp_type_find("lowpass");
	const struct dsp_type *delay = dsp_type_find("delay");
	char doc[128];

	(void)state;
	chainbuild_param_doc(gain, 0, doc, sizeof(doc));
	assert_string_equal(doc, "dB, -120 to 24; 0");
	chainbuild_param_doc(gain, 1, doc, sizeof(doc));
	assert_string_equal(doc, "yes/no");
	chainbuild_param_doc(lp, 0, doc, sizeof(doc));
	assert_string_equal(doc, "Hz, 1 to below rate/2; 1000");
	chainbuild_param_doc(delay, 0, doc, sizeof(doc));
	assert_string_equal(doc, "0 to 2000; 0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_page_gives_every_parameter),
		cmocka_unit_test(test_the_docs_read_well),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
