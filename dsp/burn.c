/*
 * burn: for overload tests only.  It spins on the clock for a share of each
 * block's real-time budget, so a test can push the audio callback past its
 * deadline on purpose and watch the daemon count it and recover.  Audio
 * passes unchanged.
 */
#include "dsp/types.h"

static const struct dsp_param params[] = {
	{ "load", "", 0, 4, 0.5, 0,
	    "share of the block's duration to spin (1 = all of it)" },
};

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

/* The stage layer has copied in to out: only spin. */
static void burn_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames) TP_REALTIME;

static void
burn_process(struct dsp_stage *st, const float *in, float *out,
    unsigned frames)
{
	uint64_t until = dsp_clock_ns() +
	    (uint64_t)(st->values[0] * frames / st->rate * 1e9);

	(void)in;
	(void)out;
	while (dsp_clock_ns() < until)
		;
}

static const struct dsp_stage_ops ops = {
	burn_init, burn_process, NULL, NULL, NULL, NULL, DSP_OPS_PASS
};

const struct dsp_type dsp_type_burn = {
	"burn",
	"TEST ONLY: spins load x each block's duration (overload tests)",
	params, 1, &ops
};
