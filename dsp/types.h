/*
 * Inside dsp/: the processor types each module defines, and helpers they
 * share.  Not a public header: nothing outside dsp/ includes it.
 */
#ifndef TP_DSP_TYPES_H
#define TP_DSP_TYPES_H

#include "dsp/dsp.h"

extern const struct dsp_type dsp_type_gain;
extern const struct dsp_type dsp_type_lowpass, dsp_type_highpass,
    dsp_type_bandpass, dsp_type_notch, dsp_type_allpass, dsp_type_peaking,
    dsp_type_lowshelf, dsp_type_highshelf;
extern const struct dsp_type dsp_type_delay;
extern const struct dsp_type dsp_type_limiter, dsp_type_compressor;
extern const struct dsp_type dsp_type_mixer;
extern const struct dsp_type dsp_type_meter;
extern const struct dsp_type dsp_type_burn;

/* Copies the channels outside the stage's mask when in != out. */
void dsp_copy_unmasked(const struct dsp_stage *st, const float *in,
    float *out, unsigned frames) TP_REALTIME;

/* Samples a parameter change glides over at this rate. */
unsigned dsp_ramp_samples(double rate) TP_REALTIME;

/* CLOCK_MONOTONIC in ns; a vDSO read, safe in the callback. */
uint64_t dsp_clock_ns(void) TP_REALTIME;

/* 10^(db/20) */
double dsp_db_to_gain(double db) TP_REALTIME;

#endif /* TP_DSP_TYPES_H */
