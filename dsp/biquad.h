/*
 * Inside dsp/: what biquad.c shares with biquad_ahead.c, the settled
 * filter computed a group of samples at a time.
 *
 * Direct form I computes each output from the one before: one multiply
 * and one addition per sample that no other work can overlap.  Unrolled
 * over a group of BQ_GROUP samples, each output of the group is instead a
 * fixed weighted sum of the history before the group and the group's
 * inputs, so a group waits on the last group once.  That costs more
 * multiplies, which pays only with wide vectors and fused multiply-adds:
 * biquad_ahead.c runs it with AVX2 and FMA on x86-64, and elsewhere the
 * filter stays in direct form I.  The two round differently in the last
 * bits of a double; rounded to float, a minute of stereo noise through an
 * 80 Hz highpass came out the same but for 155 of 5.76 million samples,
 * each one float step apart.  On one machine, every run gives the same
 * bits.
 */
#ifndef TP_DSP_BIQUAD_H
#define TP_DSP_BIQUAD_H

#include "rtpool/realtime.h"

#define BQ_GROUP 4

/* The history of one channel: two inputs, two outputs. */
struct bq_hist {
	double x1, x2, y1, y2;
};

/* Inputs of a part-done group, per channel. */
typedef double bq_pending[BQ_GROUP - 1];

/*
 * The filter y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2 unrolled over a
 * group, laid out as biquad_ahead.c reads it.
 */
struct bq_ahead {
	double w[2][4][2][4];
};

/* 1 if this machine runs the unrolled filter.  Any thread. */
int bq_ahead_available(void);

/* The weights for these coefficients (normalised by a0). */
void bq_ahead_unroll(struct bq_ahead *w, double b0, double b1, double b2,
    double a1, double a2) TP_REALTIME;

/*
 * n frames of the nact channels act[] of frames of ch channels, from in
 * to out, through the unrolled filter.  Groups continue from the last
 * call: the open one has `pend` samples in pending[] (0: none open), and
 * h[] is the history before it.  h[] and pending[] have nact + 1 entries:
 * the last is scratch for an odd channel's idle partner.
 */
void bq_ahead_run(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, const unsigned char *act,
    unsigned nact, struct bq_hist *h, bq_pending *pending) TP_REALTIME;

/*
 * Ends an open group `pend` samples in (1 .. BQ_GROUP - 1): h[] becomes
 * the history before the next sample, as direct form I keeps it.
 */
void bq_ahead_close(const struct bq_ahead *w, unsigned pend, unsigned nact,
    struct bq_hist *h, bq_pending *pending) TP_REALTIME;

#endif /* TP_DSP_BIQUAD_H */
