/*
 * What --check prints (tidepoold and tidepool-render): the chain chainbuild
 * makes from a config, stage by stage, with the channels each takes and
 * gives and the latency each adds.  The chain is built and freed here and
 * never run; errors are chainbuild's, word for word.
 */
#include <stdio.h>

#include "daemon/cfgcheck.h"
#include "daemon/chainbuild.h"

int
cfgcheck_chain(const struct config *cfg, double rate, unsigned channels,
    unsigned max_frames, FILE *out, char *err, size_t errlen)
{
	struct dsp_chain *chain;
	const struct dsp_stage *st;
	unsigned i, n, lat, total = 0;

	chain = chainbuild_new(cfg, rate, channels, max_frames, err, errlen);
	if (chain == NULL)
		return -1;
	n = dsp_chain_length(chain);
	for (i = 0; i < n; i++)
		total += dsp_stage_latency(dsp_chain_stage(chain, i));
	fprintf(out, "chain: %u stage%s, %u -> %u channels at %g Hz, "
	    "latency %u frames (%.2f ms) in the chain, blocks of %u frames "
	    "(%.2f ms)\n", n, n == 1 ? "" : "s", channels,
	    dsp_chain_out_channels(chain), rate, total, 1e3 * total / rate,
	    max_frames, 1e3 * max_frames / rate);
	for (i = 0; i < n; i++) {
		st = dsp_chain_stage(chain, i);
		lat = dsp_stage_latency(st);
		fprintf(out, "  %2u  %-16s %-10s %u -> %u channels, latency "
		    "%u frames\n", i + 1, dsp_chain_stage_name(chain, i),
		    dsp_stage_type(st)->name, dsp_stage_in_channels(st),
		    dsp_stage_out_channels(st), lat);
	}
	dsp_chain_del(chain);
	return 0;
}
