/*
 * Fuzz target: the config file, from the bytes to a running chain.
 *
 * Any bytes go through config_parse.  A config it accepts goes on to
 * chainbuild_new, which checks every stage key against its processor's
 * table, as the daemon does at start and on reload.  A chain that builds
 * then processes a few blocks of a test signal, and its output must stay
 * finite: a value that passes its range check must never make a processor
 * blow up.  Errors are expected and fine; a crash, a sanitizer report, a
 * message without the one-line shape or a NaN is a bug.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/chainbuild.h"
#include "dsp/chain.h"
#include "dsp/dsp.h"

#define BLOCKS 4		/* processed per chain */
#define MAX_FRAMES 512		/* per block, whatever the period */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static float in[MAX_FRAMES * DSP_MAX_CHANNELS];
static float out[MAX_FRAMES * DSP_MAX_CHANNELS];

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
	abort();
}

/* The test-only burn stage spins on purpose: not worth the time here. */
static int
has_burn(const struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nstages; i++)
		if (strcmp(cfg->stages[i].type, "burn") == 0)
			return 1;
	return 0;
}

static void
run_chain(struct dsp_chain *chain, const struct config *cfg)
{
	unsigned ic = dsp_chain_in_channels(chain);
	unsigned oc = dsp_chain_out_channels(chain);
	unsigned frames = cfg->engine.period < MAX_FRAMES ?
	    cfg->engine.period : MAX_FRAMES;
	unsigned b, i;
	char where[64];

	for (b = 0; b < BLOCKS; b++) {
		/* A loud, busy signal: a ramp folded into [-0.9, 0.9]. */
		for (i = 0; i < frames * ic; i++)
			in[i] = (float)((int)((b * frames * ic + i) * 37u %
			    181u) - 90) / 100.0f;
		dsp_chain_process(chain, in, out, frames, NULL);
		for (i = 0; i < frames * oc; i++)
			if (!isfinite(out[i])) {
				snprintf(where, sizeof(where), "block %u "
				    "sample %u is %g", b, i, (double)out[i]);
				fail("chain output not finite", where);
			}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	struct dsp_chain *chain;
	char err[512];

	err[0] = '\0';
	cfg = config_parse((const char *)data, size, "fuzz.conf", err,
	    sizeof(err));
	if (cfg == NULL) {
		/* Every error names the file: "fuzz.conf:..." */
		if (strncmp(err, "fuzz.conf", 9) != 0 ||
		    strchr(err, '\n') != NULL)
			fail("badly shaped error", err);
		return 0;
	}
	err[0] = '\0';
	chain = chainbuild_new(cfg, cfg->engine.rate, cfg->engine.channels,
	    cfg->engine.period, err, sizeof(err));
	if (chain == NULL) {
		if (strncmp(err, "fuzz.conf:", 10) != 0 ||
		    strchr(err, '\n') != NULL)
			fail("badly shaped error", err);
	} else {
		if (!has_burn(cfg))
			run_chain(chain, cfg);
		dsp_chain_del(chain);
	}
	config_free(cfg);
	return 0;
}
