/*
 * burn: for overload tests only.  It spins on the clock for a share of each
 * block's real-time budget, so a test can push the audio callback past its
 * deadline on purpose and watch the daemon count it and recover.  Audio
 * passes unchanged.
 */
#include <string.h>
#include <time.h>

#include "dsp/types.h"

static const struct dsp_param params[] = {
	{ "load", "", 0, 4, 0.5, 0,
	    "share of the block's duration to spin (1 = all of it)" },
};

/*
 * clock_gettime on CLOCK_MONOTONIC is a vDSO read that cannot block;
 * clang only objects because libc does not mark it nonblocking.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
uint64_t dsp_clock_ns(void) TP_REALTIME;

uint64_t
dsp_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static int
burn_init(struct dsp_stage *st, const struct dsp_setup *s, char *err,
    size_t errlen)
{
	(void)st;
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

static void burn_set(struct dsp_stage *st, unsigned p, double v)
    TP_REALTIME;

static void
burn_set(struct dsp_stage *st, unsigned p, double v)
{
	(void)st;
	(void)p;
	(void)v;
}

static void burn_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
burn_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	uint64_t until = dsp_clock_ns() +
	    (uint64_t)(st->values[0] * frames / st->rate * 1e9);

	if (in != out)
		memcpy(out, in, sizeof(float) * frames * st->in_channels);
	while (dsp_clock_ns() < until)
		;
}

static const struct dsp_stage_ops ops = {
	burn_init, burn_process, burn_set, NULL, NULL
};

const struct dsp_type dsp_type_burn = {
	"burn", "TEST ONLY: spins for a share of each block (overload tests)",
	params, 1, &ops
};
