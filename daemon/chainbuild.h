/*
 * Building a dsp chain from a config: the one place that knows both the
 * config's plain descriptions and the processors' parameter tables.
 */
#ifndef TP_CHAINBUILD_H
#define TP_CHAINBUILD_H

#include <stddef.h>

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
 * Checks one value for parameter p of type t at the given rate, as
 * dsp_param_check() does.  Returns 0, or -1 with "must be between A and
 * B" (and the like) in err.  Any thread.
 */
int chainbuild_check(const struct dsp_type *t, unsigned p, double rate,
    double value, char *err, size_t errlen);

#endif /* TP_CHAINBUILD_H */
