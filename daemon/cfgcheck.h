/*
 * --check: builds the chain a config describes, exactly as the daemon or
 * a render would, and describes it, without running anything (no device,
 * no socket, no audio file).  Control side: it allocates.
 */
#ifndef TP_CFGCHECK_H
#define TP_CFGCHECK_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/*
 * Builds cfg's chain for channels at rate in blocks of max_frames and
 * writes to out one line for the chain (stages, channels in and out,
 * latency) and one per stage.  Returns 0, or -1 with the config error
 * ("FILE:LINE: stage.NAME: ...") in err.
 */
int cfgcheck_chain(const struct config *cfg, double rate, unsigned channels,
    unsigned max_frames, FILE *out, char *err, size_t errlen);

#endif /* TP_CFGCHECK_H */
