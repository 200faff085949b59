/*
 * Output never depends on the block size: every processor type, given the
 * same input in blocks of 64, of 4096 and of random sizes, with the same
 * parameter change at the same sample, gives bit-identical output.  The
 * last test shows the comparison can fail: a change at another sample
 * gives different output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/dsp.h"

#define RATE 48000
#define CH 2
#define FRAMES 20000
#define CHANGE_AT 9001	/* the sample where a parameter changes */
#define MAX_BLOCK 4096

static float input[FRAMES * CH];

static void
make_input(void)
{
	uint64_t x = 88172645463325252ull;
	size_t i;

	for (i = 0; i < FRAMES * CH; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Loud enough to drive the limiter and compressor. */
		input[i] = (float)(((double)(x >> 11) / 9007199254740992.0) *
		    2.4 - 1.2);
	}
}

static struct dsp_stage *
build(const struct dsp_type *t)
{
	static const float matrix[] = { 1, 0, 0, 1, 0.5f, 0.5f };
	struct dsp_setup s;
	char err[256];
	struct dsp_stage *st;
	unsigned p;

	memset(&s, 0, sizeof(s));
	s.rate = RATE;
	s.channels = CH;
	s.max_frames = MAX_BLOCK;
	for (p = 0; p < t->nparams; p++)
		s.values[p] = t->params[p].def;
	if (strcmp(t->name, "delay") == 0)
		s.values[0] = 3.3;
	if (strcmp(t->name, "burn") == 0)
		s.values[0] = 0;
	s.out_channels = 3;
	s.matrix = matrix;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s: %s", t->name, err);
	return st;
}

/* A value for the first parameter other than its default. */
static int
changed_value(const struct dsp_type *t, double *v)
{
	const struct dsp_param *p;

	if (t->nparams == 0 || strcmp(t->name, "burn") == 0)
		return 0;
	p = &t->params[0];
	*v = p->def + (p->max - p->def) * 0.25;
	if ((p->flags & DSP_PARAM_NYQUIST) && *v >= RATE / 2)
		*v = p->def * 1.5;
	if (p->flags & DSP_PARAM_BOOL)
		*v = 1 - p->def;
	return 1;
}

/*
 * Runs t over the input, cutting it by next_size (0: random sizes), with
 * the change applied before sample change_at.
 */
static float *
render(const struct dsp_type *t, unsigned size, unsigned change_at)
{
	struct dsp_stage *st = build(t);
	unsigned och = dsp_stage_out_channels(st), i = 0, n;
	float *out = calloc((size_t)FRAMES * och, sizeof(float));
	uint32_t seed = 12345;
	double v;

	while (i < FRAMES) {
		if (size == 0) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 16) % MAX_BLOCK;
		} else
			n = size;
		if (n > FRAMES - i)
			n = FRAMES - i;
		/* Messages are applied between blocks: cut there. */
		if (i < change_at && i + n > change_at)
			n = change_at - i;
		if (i == change_at && changed_value(t, &v))
			assert_int_equal(dsp_stage_set(st, 0, v), DSP_OK);
		dsp_stage_process(st, input + (size_t)i * CH,
		    out + (size_t)i * och, n);
		i += n;
	}
	dsp_stage_del(st);
	return out;
}

static void
test_every_type(void **state)
{
	const struct dsp_type *t;
	float *a, *b, *c;
	unsigned i, och;
	size_t bytes;

	(void)state;
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		a = render(t, 64, CHANGE_AT);
		b = render(t, 4096, CHANGE_AT);
		c = render(t, 0, CHANGE_AT);
		och = strcmp(t->name, "mixer") == 0 ? 3 : CH;
		bytes = sizeof(float) * FRAMES * och;
		if (memcmp(a, b, bytes) != 0 || memcmp(a, c, bytes) != 0)
			fail_msg("%s: output depends on the block size",
			    t->name);
		print_message("# %-10s bit-identical in blocks of 64, 4096 "
		    "and random sizes\n", t->name);
		free(a);
		free(b);
		free(c);
	}
}

/* The comparison above can fail: the change one sample later differs. */
static void
test_comparison_can_fail(void **state)
{
	const struct dsp_type *t = dsp_type_find("gain");
	float *a, *b;

	(void)state;
	a = render(t, 64, CHANGE_AT);
	b = render(t, 64, CHANGE_AT + 1);
	assert_true(memcmp(a, b, sizeof(float) * FRAMES * CH) != 0);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_comparison_can_fail),
	};

	make_input();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
