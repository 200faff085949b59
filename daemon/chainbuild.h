/*
 * Building a dsp chain from a config: the one place that knows both the
 * config's plain descriptions and the processors' parameter tables.
 */
#ifndef TP_CHAINBUILD_H
#define TP_CHAINBUILD_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"
#include "dsp/chain.h"
#include "dsp/dsp.h"

/*
 * Builds the chain of cfg's [stage.*] sections for audio of the given rate
 * and channel count, in blocks of at most max_frames.  Every key is checked
 * against the stage type's parameters; the first problem is described in err
 * as "FILE:LINE: stage.NAME: KEY = VALUE: what is allowed".  More stages
 * than the engine keeps statistics for (ENGINE_MAX_STAGES) are refused.
 * Returns the chain, or NULL.  Control thread (it allocates).
 */
struct dsp_chain *chainbuild_new(const struct config *cfg, double rate,
    unsigned channels, unsigned max_frames, char *err, size_t errlen);

/*
 * The same for a caller that removes latency from the output itself
 * (tidepool-render): convolvers may then take some to run faster
 * (dsp_setup's hidden_latency).  *hidden is set to the frames by which
 * the chain's whole output comes late because of it; the caller drops
 * that many first frames and feeds as many of silence after the input.
 */
struct dsp_chain *chainbuild_new_offline(const struct config *cfg,
    double rate, unsigned channels, unsigned max_frames, unsigned *hidden,
    char *err, size_t errlen);

/*
 * Checks one value for parameter p of type t at the given rate, as
 * dsp_param_check() does.  Returns 0, or -1 with "must be between A and
 * B" (and the like) in err.  Any thread.
 */
int chainbuild_check(const struct dsp_type *t, unsigned p, double rate,
    double value, char *err, size_t errlen);

/*
 * Parameter p of type t as the documentation gives it, from its table:
 * "dB, -120 to 24; 0" (unit, range; default), "Hz, 1 to below rate/2;
 * 1000", "yes/no"; the unit is left out when it is the name ("ms").  The
 * one source of the ranges in tidepool.conf(5) and --list-stages (checked
 * by test_daemon_stagedoc).  Any thread.
 */
void chainbuild_param_doc(const struct dsp_type *t, unsigned p, char *buf,
    size_t len);

/*
 * Prints every stage type, its keys and parameters with their ranges and
 * defaults, as "tidepoold --list-stages" shows them.  Any thread.
 */
void chainbuild_describe(FILE *out);

#endif /* TP_CHAINBUILD_H */
