/*
 * What every processor type owes the chain, checked on every type that
 * dsp_type_at() lists:
 *
 * - output never depends on the block size: the same input in blocks of
 *   1, 64, 4096 and random sizes, in place or not, with the same parameter
 *   changes at the same samples (several parameters, some changed again in
 *   the middle of a glide), gives bit-identical output;
 * - the channels outside a stage's mask pass bit for bit, and the ones
 *   inside come out exactly as from a stage made for those channels alone;
 * - reset brings a stage back to where it started.
 *
 * The last test shows the comparison can fail: the same change one sample
 * later gives different output.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/dsp.h"

#define RATE 48000
#define FRAMES 20000
#define MAX_BLOCK 4096
#define MAX_CH 3
#define MAX_CHANGES 8

struct change {
	unsigned at;		/* before this sample */
	unsigned param;
	double value;
};

/* How each type is exercised: its values, and changes made on the way. */
struct plan {
	const char *type;
	unsigned nvalues;
	double values[DSP_MAX_PARAMS];
	unsigned nchanges;
	struct change changes[MAX_CHANGES];
};

static const struct plan plans[] = {
	{ "gain", 2, { -6, 0 }, 4, { { 3000, 0, -20 }, { 3100, 0, 6 },
	    { 9001, 1, 1 }, { 12000, 1, 0 } } },
	{ "lowpass", 2, { 15000, 0.707 }, 3, { { 3000, 0, 8000 },
	    { 3050, 1, 3 }, { 9001, 0, 300 } } },
	{ "highpass", 2, { 200, 0.707 }, 2, { { 3000, 0, 3000 },
	    { 9001, 1, 0.3 } } },
	{ "bandpass", 2, { 1000, 2 }, 2, { { 3000, 0, 250 },
	    { 3333, 1, 10 } } },
	{ "notch", 2, { 1000, 2 }, 2, { { 3000, 0, 5000 }, { 9001, 1, 0.5 } } },
	{ "allpass", 2, { 1000, 0.707 }, 2, { { 3000, 0, 100 },
	    { 9001, 1, 7 } } },
	{ "peaking", 3, { 1000, 1, 6 }, 3, { { 3000, 2, -12 },
	    { 3010, 0, 4000 }, { 9001, 1, 5 } } },
	{ "lowshelf", 3, { 150, 0.707, -6 }, 2, { { 3000, 2, 9 },
	    { 9001, 0, 600 } } },
	{ "highshelf", 3, { 6000, 0.707, 3 }, 2, { { 3000, 2, -9 },
	    { 9001, 1, 2 } } },
	{ "delay", 1, { 3.3 }, 3, { { 3000, 0, 10 }, { 3100, 0, 0.5 },
	    { 9001, 0, 0 } } },
	{ "limiter", 3, { -6, 30, 2 }, 4, { { 3000, 0, -12 },
	    { 6000, 2, 5 }, { 9001, 1, 200 }, { 12000, 2, 0 } } },
	{ "compressor", 6, { -30, 4, 5, 50, 6, 3 }, 6, { { 3000, 0, -20 },
	    { 5000, 1, 10 }, { 7000, 2, 1 }, { 9001, 3, 300 },
	    { 11000, 4, 0 }, { 13000, 5, 10 } } },
	{ "mixer", 1, { 0 }, 2, { { 3000, 0, -10 }, { 3500, 0, 3 } } },
	{ "meter", 0, { 0 }, 0, { { 0, 0, 0 } } },
	{ "burn", 1, { 0 }, 1, { { 3000, 0, 0.001 } } },
	{ "convolver", 1, { -3 }, 2, { { 3000, 0, -9 }, { 9001, 0, 2 } } },
};

static float input[FRAMES * MAX_CH];

static void
make_input(void)
{
	uint64_t x = 88172645463325252ull;
	size_t i;
	double level;

	for (i = 0; i < (size_t)FRAMES * MAX_CH; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Loud enough to drive the limiter and compressor, with a
		   quiet stretch for them to recover in. */
		level = i / MAX_CH >= 14000 && i / MAX_CH < 17000 ? 0.05 : 1.2;
		input[i] = (float)(((double)(x >> 11) / 9007199254740992.0 *
		    2 - 1) * level);
		/* It starts in digital silence of negative zeros: the
		   zeros that come out must not depend on the blocks either.
		   With the lowpass above fs/4 (negative feedback weights)
		   every product in a group can be -0; a biquad group whose
		   sum does not start from +0 then gives -0 when whole and
		   +0 when cut by a block's end. */
		if (i / MAX_CH < 64)
			input[i] = -0.0f;
	}
}

/* A plan for a type this file does not know: defaults, first param
   moved a quarter of the way to its maximum. */
static struct plan
plan_for(const struct dsp_type *t)
{
	struct plan p;
	const struct dsp_param *d;
	unsigned i;

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		if (strcmp(plans[i].type, t->name) == 0)
			return plans[i];
	memset(&p, 0, sizeof(p));
	p.type = t->name;
	if (t->nparams > 0) {
		d = &t->params[0];
		p.nchanges = 1;
		p.changes[0].at = 9001;
		p.changes[0].value = d->flags & DSP_PARAM_BOOL ? 1 - d->def :
		    d->def + (d->max - d->def) / 4;
		if ((d->flags & DSP_PARAM_NYQUIST) &&
		    p.changes[0].value >= RATE / 2)
			p.changes[0].value = d->def;
	}
	return p;
}

static struct dsp_stage *
build(const struct dsp_type *t, const struct plan *p, unsigned channels,
    uint32_t mask)
{
	static const float matrix[] = { 1, 0, 0, 1, 0.5f, 0.5f };
	static float ir[300];
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];
	unsigned i;

	dsp_setup_init(&s, t, RATE, channels, MAX_BLOCK);
	for (i = 0; i < p->nvalues && i < t->nparams; i++)
		s.values[i] = p->values[i];
	s.channel_mask = mask;
	if (strcmp(t->name, "mixer") == 0) {
		s.out_channels = 3;
		s.matrix = matrix;
	}
	if (strcmp(t->name, "convolver") == 0) {
		/* A decaying IR longer than a partition: both the sample by
		   sample head and the transformed tail are exercised. */
		for (i = 0; i < 300; i++)
			ir[i] = (float)(exp(-(double)i / 60.0) *
			    ((int)((i * 7919u) % 13u) - 6) / 6.0);
		s.ir = ir;
		s.ir_frames = 300;
		s.ir_channels = 1;
		s.partition = 64;
	}
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s: %s", t->name, err);
	return st;
}

/* Input channels picked by mask, as frames of their own. */
static float *
pick(uint32_t mask, unsigned channels, unsigned *picked)
{
	float *out = malloc(sizeof(float) * FRAMES * MAX_CH);
	unsigned i, c, k = 0;

	assert_non_null(out);
	for (i = 0; i < FRAMES; i++)
		for (c = 0; c < channels; c++)
			if (mask & (1u << c))
				out[k++] = input[i * MAX_CH + c];
	*picked = k / FRAMES;
	return out;
}

/*
 * Runs the plan over src (frames of channels), cutting it by size (0:
 * random sizes), in place or not; the change of index skip (if any) is
 * made one sample late.  Returns the output; *meter gets the meter
 * stage's readings.
 */
static float *
render(const struct dsp_type *t, const struct plan *p, const float *src,
    unsigned channels, uint32_t mask, unsigned size, int inplace,
    int late, struct dsp_meter *meter)
{
	struct dsp_stage *st = build(t, p, channels, mask);
	unsigned och = dsp_stage_out_channels(st), i = 0, n, c, at;
	float *out = calloc((size_t)FRAMES * MAX_CH, sizeof(float));
	uint32_t seed = 12345;

	assert_non_null(out);
	if (inplace)
		assert_int_equal(och, channels);
	while (i < FRAMES) {
		if (size == 0) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 16) % MAX_BLOCK;
		} else
			n = size;
		if (n > FRAMES - i)
			n = FRAMES - i;
		/* Changes are applied between blocks: cut there. */
		for (c = 0; c < p->nchanges; c++) {
			at = p->changes[c].at + (c == 0 ? (unsigned)late : 0);
			if (i < at && i + n > at)
				n = at - i;
		}
		for (c = 0; c < p->nchanges; c++) {
			at = p->changes[c].at + (c == 0 ? (unsigned)late : 0);
			if (at == i)
				assert_int_equal(dsp_stage_set(st,
				    p->changes[c].param, p->changes[c].value),
				    DSP_OK);
		}
		if (inplace) {
			memcpy(out + (size_t)i * och,
			    src + (size_t)i * channels,
			    sizeof(float) * n * channels);
			dsp_stage_process(st, out + (size_t)i * och,
			    out + (size_t)i * och, n);
		} else
			dsp_stage_process(st, src + (size_t)i * channels,
			    out + (size_t)i * och, n);
		i += n;
	}
	if (meter != NULL && dsp_stage_meter(st) != NULL)
		*meter = *dsp_stage_meter(st);
	dsp_stage_del(st);
	return out;
}

static int
meters_equal(const struct dsp_meter *a, const struct dsp_meter *b)
{
	return a->channels == b->channels && a->frames == b->frames &&
	    memcmp(a->peak, b->peak, sizeof(a->peak)) == 0 &&
	    memcmp(a->ms, b->ms, sizeof(a->ms)) == 0 &&
	    memcmp(a->clipped, b->clipped, sizeof(a->clipped)) == 0;
}

/* Every type, stereo, with no mask. */
static void
test_block_size_never_matters(void **state)
{
	static const unsigned sizes[] = { 64, 4096, 0, 1 };
	const struct dsp_type *t;
	struct dsp_meter ma, mb;
	struct plan p;
	float *src, *a, *b;
	unsigned i, k, och, ch;
	size_t bytes;

	(void)state;
	src = pick(0x3, MAX_CH, &ch);
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		p = plan_for(t);
		memset(&ma, 0, sizeof(ma));
		a = render(t, &p, src, ch, 0, 4096, 0, 0, &ma);
		och = strcmp(t->name, "mixer") == 0 ? 3 : ch;
		bytes = sizeof(float) * FRAMES * och;
		for (k = 0; k <= sizeof(sizes) / sizeof(sizes[0]); k++) {
			memset(&mb, 0, sizeof(mb));
			/* The last run: random sizes, in place. */
			b = k < sizeof(sizes) / sizeof(sizes[0]) ?
			    render(t, &p, src, ch, 0, sizes[k], 0, 0, &mb) :
			    och == ch ?
			    render(t, &p, src, ch, 0, 0, 1, 0, &mb) : NULL;
			if (b == NULL)
				continue;
			if (memcmp(a, b, bytes) != 0)
				fail_msg("%s: blocks of %u%s differ from "
				    "blocks of 4096", t->name,
				    k < sizeof(sizes) / sizeof(sizes[0]) ?
				    sizes[k] : 0, k < sizeof(sizes) /
				    sizeof(sizes[0]) ? "" : " in place");
			if (!meters_equal(&ma, &mb))
				fail_msg("%s: the meter depends on the block "
				    "size", t->name);
			free(b);
		}
		print_message("# %-10s bit-identical in blocks of 1, 64, 4096 "
		    "and random sizes, %u change%s\n", t->name, p.nchanges,
		    p.nchanges == 1 ? "" : "s");
		free(a);
	}
	free(src);
}

/*
 * Every type but the mixer on 3 channels acting on 0 and 2: channel 1
 * untouched, and 0 and 2 as from a stereo stage given only them.
 */
static void
test_channel_masks(void **state)
{
	const struct dsp_type *t;
	struct plan p;
	float *all, *two, *a, *b;
	unsigned i, f, na, n2;

	(void)state;
	all = pick(0x7, MAX_CH, &na);
	two = pick(0x5, MAX_CH, &n2);
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		if (strcmp(t->name, "mixer") == 0)
			continue;
		p = plan_for(t);
		a = render(t, &p, all, 3, 0x5, 0, 0, 0, NULL);
		b = render(t, &p, two, 2, 0, 0, 0, 0, NULL);
		for (f = 0; f < FRAMES; f++) {
			if (memcmp(&a[f * 3 + 1], &all[f * 3 + 1],
			    sizeof(float)) != 0)
				fail_msg("%s: channel 1, outside the mask, "
				    "changed at frame %u", t->name, f);
			if (memcmp(&a[f * 3], &b[f * 2], sizeof(float)) != 0 ||
			    memcmp(&a[f * 3 + 2], &b[f * 2 + 1],
			    sizeof(float)) != 0)
				fail_msg("%s: masked channels differ from a "
				    "stage of their own at frame %u",
				    t->name, f);
		}
		free(a);
		/* In place too. */
		a = render(t, &p, all, 3, 0x5, 0, 1, 0, NULL);
		for (f = 0; f < FRAMES; f++)
			if (memcmp(&a[f * 3 + 1], &all[f * 3 + 1],
			    sizeof(float)) != 0)
				fail_msg("%s: channel 1 changed in place",
				    t->name);
		print_message("# %-10s channel 1 untouched, 0 and 2 as a "
		    "stereo stage\n", t->name);
		free(a);
		free(b);
	}
	free(all);
	free(two);
}

/* After reset a stage gives what a new one gives. */
static void
test_reset_starts_over(void **state)
{
	const struct dsp_type *t;
	struct dsp_stage *st, *fresh;
	struct plan p;
	float *src, *a, *b;
	unsigned i, c, ch, och;

	(void)state;
	src = pick(0x3, MAX_CH, &ch);
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		p = plan_for(t);
		st = build(t, &p, ch, 0);
		och = dsp_stage_out_channels(st);
		a = malloc(sizeof(float) * FRAMES * och);
		b = malloc(sizeof(float) * FRAMES * och);
		assert_non_null(a);
		assert_non_null(b);
		dsp_stage_process(st, src, a, 4000);
		for (c = 0; c < p.nchanges; c++)
			assert_int_equal(dsp_stage_set(st, p.changes[c].param,
			    p.changes[c].value), DSP_OK);
		dsp_stage_process(st, src, a, 100);
		dsp_stage_reset(st);
		dsp_stage_process(st, src, a, 4000);
		/* A new stage made with the values the old one now has. */
		fresh = build(t, &p, ch, 0);
		for (c = 0; c < t->nparams; c++)
			assert_int_equal(dsp_stage_set(fresh, c,
			    dsp_stage_get(st, c)), DSP_OK);
		dsp_stage_reset(fresh);
		dsp_stage_process(fresh, src, b, 4000);
		if (memcmp(a, b, sizeof(float) * 4000 * och) != 0)
			fail_msg("%s: reset does not start over", t->name);
		dsp_stage_del(st);
		dsp_stage_del(fresh);
		free(a);
		free(b);
	}
	free(src);
}

/* The comparison above can fail: each type's first change one sample
   later gives different output. */
static void
test_comparison_can_fail(void **state)
{
	const struct dsp_type *t;
	struct plan p;
	float *src, *a, *b;
	unsigned i, ch, och, n = 0;

	(void)state;
	src = pick(0x3, MAX_CH, &ch);
	for (i = 0; (t = dsp_type_at(i)) != NULL; i++) {
		p = plan_for(t);
		if (p.nchanges == 0 || strcmp(t->name, "burn") == 0)
			continue;
		och = strcmp(t->name, "mixer") == 0 ? 3 : ch;
		a = render(t, &p, src, ch, 0, 64, 0, 0, NULL);
		b = render(t, &p, src, ch, 0, 64, 0, 1, NULL);
		if (memcmp(a, b, sizeof(float) * FRAMES * och) == 0)
			fail_msg("%s: a change one sample later gives the "
			    "same output", t->name);
		n++;
		free(a);
		free(b);
	}
	assert_true(n >= 13);
	free(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_size_never_matters),
		cmocka_unit_test(test_channel_masks),
		cmocka_unit_test(test_reset_starts_over),
		cmocka_unit_test(test_comparison_can_fail),
	};

	make_input();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
