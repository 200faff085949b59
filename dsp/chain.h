/*
 * A chain: stages run in order on interleaved blocks.  Built and freed on
 * the control thread; run on the audio thread.
 */
#ifndef TP_DSP_CHAIN_H
#define TP_DSP_CHAIN_H

#include <stdint.h>

#include "dsp/dsp.h"
#include "rtpool/realtime.h"

struct dsp_chain;

/*
 * An empty chain (a pass-through) for in_channels, blocks of at most
 * max_frames, at rate.  Allocates its scratch buffers.  Control thread.
 * Returns NULL when out of memory or the sizes are not supported.
 */
struct dsp_chain *dsp_chain_new(unsigned in_channels, unsigned max_frames,
    double rate);

/*
 * Appends st (the chain takes it) under name (copied).  Control thread.
 * Returns DSP_OK; DSP_ECHANNELS if st does not take the channels the chain
 * gives now; DSP_ENOMEM.
 */
int dsp_chain_append(struct dsp_chain *c, struct dsp_stage *st,
    const char *name);

/* Frees the chain and its stages.  Control thread. */
void dsp_chain_del(struct dsp_chain *c);

unsigned dsp_chain_in_channels(const struct dsp_chain *c) TP_REALTIME;
unsigned dsp_chain_out_channels(const struct dsp_chain *c) TP_REALTIME;
unsigned dsp_chain_length(const struct dsp_chain *c) TP_REALTIME;

/* Stage i (NULL past the end) and its name.  Any thread. */
struct dsp_stage *dsp_chain_stage(const struct dsp_chain *c, unsigned i)
    TP_REALTIME;
const char *dsp_chain_stage_name(const struct dsp_chain *c, unsigned i);

/* The index of the stage called name, or -1. */
int dsp_chain_find(const struct dsp_chain *c, const char *name);

/*
 * Runs frames (<= max_frames) from in (in_channels interleaved) to out
 * (out_channels interleaved); out may be in when the counts match.  If
 * stage_ns is not NULL it receives each stage's time in ns.  An empty chain
 * copies.  Audio thread.
 */
void dsp_chain_process(struct dsp_chain *c, const float *in, float *out,
    unsigned frames, uint32_t *stage_ns) TP_REALTIME;

/* Clears every stage's state.  Audio thread. */
void dsp_chain_reset(struct dsp_chain *c) TP_REALTIME;

#endif /* TP_DSP_CHAIN_H */
