/*
 * A chain: stages run in order on interleaved blocks, each stage's output
 * the next one's input.  Built and freed on the control thread; run on the
 * audio thread, which never allocates for it: the scratch buffers are made
 * with the chain.  A stage's channel count may differ from the chain's
 * input (after a mixer); each stage must take what the one before gives.
 */
#ifndef TP_DSP_CHAIN_H
#define TP_DSP_CHAIN_H

#include <stdint.h>

#include "dsp/dsp.h"
#include "rtpool/realtime.h"

struct dsp_chain;

/*
 * An empty chain (a pass-through) for in_channels (1..DSP_MAX_CHANNELS),
 * blocks of at most max_frames, at rate.  Allocates its scratch buffers
 * (two of max_frames x DSP_MAX_CHANNELS floats).  Control thread.  Returns
 * NULL when out of memory or for sizes out of range.
 */
struct dsp_chain *dsp_chain_new(unsigned in_channels, unsigned max_frames,
    double rate);

/*
 * Appends st under name (copied; NULL is taken as "").  Control thread.
 * Returns DSP_OK, and the chain owns st from then on (dsp_chain_del frees
 * it); DSP_ECHANNELS if st does not take the channels the chain gives now
 * (dsp_chain_out_channels()); DSP_EINVAL if st is NULL or was made for
 * another rate or for smaller blocks than the chain's; DSP_ENOMEM.  On
 * any error the caller keeps st.
 */
int dsp_chain_append(struct dsp_chain *c, struct dsp_stage *st,
    const char *name);

/*
 * Has dsp_chain_del() call fn(arg, c) first, before any stage is freed:
 * whoever runs the stages' background work (dsp_stage_work()) stops
 * there.  One per chain; NULL removes it.  Control thread.
 */
void dsp_chain_on_del(struct dsp_chain *c, void (*fn)(void *arg,
    struct dsp_chain *c), void *arg);

/* Frees the chain and its stages (see dsp_chain_on_del()).  Control
   thread. */
void dsp_chain_del(struct dsp_chain *c);

unsigned dsp_chain_in_channels(const struct dsp_chain *c) TP_REALTIME;
unsigned dsp_chain_out_channels(const struct dsp_chain *c) TP_REALTIME;
unsigned dsp_chain_length(const struct dsp_chain *c) TP_REALTIME;
/* Its stages' late background work so far (dsp_stage_late(), summed). */
uint64_t dsp_chain_late(const struct dsp_chain *c) TP_REALTIME;

/* Stage i (NULL past the end) and its name (NULL past the end).  The
   chain never changes once built: any thread. */
struct dsp_stage *dsp_chain_stage(const struct dsp_chain *c, unsigned i)
    TP_REALTIME;
const char *dsp_chain_stage_name(const struct dsp_chain *c, unsigned i);

/* The index of the first stage called name, or -1.  Control thread. */
int dsp_chain_find(const struct dsp_chain *c, const char *name);

/*
 * Runs frames (<= max_frames; more are cut to it) from in (in_channels
 * interleaved) to out (out_channels interleaved); out may be in when the
 * counts match.  in is only read.  If stage_ns is not NULL, its
 * dsp_chain_length() entries receive each stage's duration in ns
 * (CLOCK_MONOTONIC, a vDSO read).  An empty chain copies in to out.
 * No NaN or infinity passes: one in the input or in a stage's output is
 * replaced by 0, and a stage that gave one is reset (dsp_stage_reset()).
 * Returns how many samples were so replaced.  Audio thread.
 */
unsigned dsp_chain_process(struct dsp_chain *c, const float *in, float *out,
    unsigned frames, uint32_t *stage_ns) TP_REALTIME;

/*
 * Frames of past input the chain's output depends on exactly: the sum of
 * its stages' latencies (a limiter's lookahead), IR lengths (a convolver)
 * and delays (the target, as set last).  Recursive filters and envelopes also remember, but fading:
 * their settling is the caller's to add.  Any thread while the chain is
 * not being changed (a chain never is once built).
 */
unsigned dsp_chain_memory(const struct dsp_chain *c);

/* dsp_stage_reset() on every stage.  Audio thread. */
void dsp_chain_reset(struct dsp_chain *c) TP_REALTIME;

#endif /* TP_DSP_CHAIN_H */
