/*
 * The settled biquad a group of four samples at a time, with AVX2 and FMA
 * (see biquad.h for why).
 *
 * A vector holds two frames of a channel pair a, b: { a, b, a', b' }.  A
 * group's inputs are two such vectors (x01, x23), its outputs two more
 * (y01, y23), and the history before it is the last group's x23 and y23
 * (xp, yp).  Each output vector is the sum of every vector times weights,
 * plus every vector with its two frames swapped times other weights; so
 * the only shuffle is that swap, and the next group waits on two fused
 * multiply-adds.  Partial groups (a block that ends inside one, or starts
 * inside one) take the missing inputs as 0: an output never weighs an
 * input that comes after it (its weight is 0), so the outputs given are
 * those the whole group gives, except that 0 times a missing input can
 * turn an exact zero's sign.  So each output's sum starts from +0: then
 * no output is ever -0 (a sum of zeros that includes +0 is +0, and an
 * exact cancellation is +0 too), whichever inputs were missing.
 */
#include <string.h>

#include "dsp/biquad.h"

/* Lane l of a vector: channel l % 2 of its frame l / 2. */
enum { V_XP, V_YP, V_X01, V_X23, NV };
enum { T_X2, T_X1, T_Y2, T_Y1, T_IN0, NT = T_IN0 + BQ_GROUP };

/* Which terms a vector's two frames hold; swapped, the other way round. */
static const unsigned char term_of[NV][2] = {
	{ T_X2, T_X1 }, { T_Y2, T_Y1 }, { T_IN0, T_IN0 + 1 },
	{ T_IN0 + 2, T_IN0 + 3 }
};

void
bq_ahead_unroll(struct bq_ahead *w, double b0, double b1, double b2,
    double a1, double a2)
{
	/* x[n+m] and y[n+m] at [m + 2], m = -2 .. BQ_GROUP - 1, each as
	   weights of the terms. */
	double x[BQ_GROUP + 2][NT], y[BQ_GROUP + 2][NT];
	unsigned j, t, half, v, l;

	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	x[0][T_X2] = x[1][T_X1] = 1;
	y[0][T_Y2] = y[1][T_Y1] = 1;
	for (j = 0; j < BQ_GROUP; j++)
		x[j + 2][T_IN0 + j] = 1;
	for (j = 2; j < BQ_GROUP + 2; j++)
		for (t = 0; t < NT; t++)
			y[j][t] = b0 * x[j][t] + b1 * x[j - 1][t] +
			    b2 * x[j - 2][t] - a1 * y[j - 1][t] -
			    a2 * y[j - 2][t];
	for (half = 0; half < 2; half++)
		for (v = 0; v < NV; v++)
			for (l = 0; l < 4; l++) {
				j = 2 * half + l / 2;
				w->w[half][v][0][l] =
				    y[j + 2][term_of[v][l / 2]];
				w->w[half][v][1][l] =
				    y[j + 2][term_of[v][1 - l / 2]];
			}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define KERNEL static inline __attribute__((always_inline)) TARGET

int
bq_ahead_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

KERNEL __m256d
swap(__m256d v)
{
	return _mm256_permute2f128_pd(v, v, 1);
}

/* Vector v (swapped or not) times its weights in the outputs of half,
   plus acc. */
KERNEL __m256d
mad(const struct bq_ahead *w, unsigned half, unsigned v, unsigned swapped,
    __m256d x, __m256d acc)
{
	return _mm256_fmadd_pd(_mm256_loadu_pd(w->w[half][v][swapped]), x,
	    acc);
}

/* The weights of the last group's outputs, [half][swapped]: loaded once
   per call, as they are on the path each group waits on (the others are
   read from memory as they are used: 16 registers do not hold them all). */
struct feedback {
	__m256d w[2][2];
};

KERNEL void
feedback_load(const struct bq_ahead *w, struct feedback *fb)
{
	unsigned half, swapped;

	for (half = 0; half < 2; half++)
		for (swapped = 0; swapped < 2; swapped++)
			fb->w[half][swapped] =
			    _mm256_loadu_pd(w->w[half][V_YP][swapped]);
}

/* The outputs of a group; sxp and sx23 are swap(xp) and swap(x23), so
   that a loop swaps each input once, for this group and the next. */
KERNEL void
run_group(const struct bq_ahead *w, const struct feedback *fb, __m256d xp,
    __m256d sxp, __m256d yp, __m256d x01, __m256d x23, __m256d sx23,
    __m256d *y01, __m256d *y23)
{
	__m256d syp = swap(yp), sx01 = swap(x01), acc;

	/* One chain of fused multiply-adds from +0 (see the top): the
	   inputs' part does not wait on the last group, so its latency
	   overlaps, and no add is spent on summing partial sums. */
	acc = mad(w, 0, V_XP, 1, sxp, _mm256_setzero_pd());
	acc = mad(w, 0, V_XP, 0, xp, acc);
	acc = mad(w, 0, V_X01, 1, sx01, acc);
	acc = mad(w, 0, V_X01, 0, x01, acc);
	*y01 = _mm256_fmadd_pd(fb->w[0][1], syp,
	    _mm256_fmadd_pd(fb->w[0][0], yp, acc));
	acc = mad(w, 1, V_XP, 1, sxp, _mm256_setzero_pd());
	acc = mad(w, 1, V_XP, 0, xp, acc);
	acc = mad(w, 1, V_X01, 1, sx01, acc);
	acc = mad(w, 1, V_X01, 0, x01, acc);
	acc = mad(w, 1, V_X23, 1, sx23, acc);
	acc = mad(w, 1, V_X23, 0, x23, acc);
	*y23 = _mm256_fmadd_pd(fb->w[1][1], syp,
	    _mm256_fmadd_pd(fb->w[1][0], yp, acc));
}

/* Frames p and p + ch of channels a and b. */
KERNEL __m256d
load2(const float *p, unsigned ch, unsigned a, unsigned b)
{
	if (ch == 2)
		return _mm256_cvtps_pd(_mm_loadu_ps(p));
	return _mm256_cvtps_pd(_mm_setr_ps(p[a], p[b], p[ch + a], p[ch + b]));
}

KERNEL void
to_floats(__m256d y, float f[4])
{
	_mm_storeu_ps(f, _mm256_cvtpd_ps(y));
}

/* Frame `half` of y into the frame at p; channel a only unless both. */
KERNEL void
store1(float *p, unsigned a, unsigned b, __m256d y, unsigned half, int both)
{
	float f[4];

	to_floats(y, f);
	p[a] = f[2 * half];
	if (both)
		p[b] = f[2 * half + 1];
}

/* Both frames of y into the frames at p and p + ch. */
KERNEL void
store2(float *p, unsigned ch, unsigned a, unsigned b, __m256d y, int both)
{
	if (ch == 2 && both) {
		_mm_storeu_ps(p, _mm256_cvtpd_ps(y));
		return;
	}
	store1(p, a, b, y, 0, both);
	store1(p + ch, a, b, y, 1, both);
}

KERNEL void
hist_to_vectors(const struct bq_hist *ha, const struct bq_hist *hb,
    __m256d *xp, __m256d *yp)
{
	*xp = _mm256_setr_pd(ha->x2, hb->x2, ha->x1, hb->x1);
	*yp = _mm256_setr_pd(ha->y2, hb->y2, ha->y1, hb->y1);
}

KERNEL void
vectors_to_hist(__m256d xp, __m256d yp, struct bq_hist *ha,
    struct bq_hist *hb)
{
	double x[4], y[4];

	_mm256_storeu_pd(x, xp);
	_mm256_storeu_pd(y, yp);
	ha->x2 = x[0];
	hb->x2 = x[1];
	ha->x1 = x[2];
	hb->x1 = x[3];
	ha->y2 = y[0];
	hb->y2 = y[1];
	ha->y1 = y[2];
	hb->y1 = y[3];
}

/*
 * A group this call cannot finish alone: the open one, with `pend`
 * inputs from earlier calls in pa[] and pb[], or one the block's end
 * cuts.  Takes m new inputs from in (pend + m <= BQ_GROUP) and outputs
 * them; then either the group is whole (returns 1, *xp and *yp advanced)
 * or its inputs wait in pa[] and pb[] for the next call (returns 0).
 */
KERNEL int
part_group(const struct bq_ahead *w, __m256d *xp, __m256d *yp,
    const float *in, float *out, unsigned ch, unsigned a, unsigned b,
    unsigned pend, unsigned m, double *pa, double *pb, int both)
{
	double va[BQ_GROUP] = { 0 }, vb[BQ_GROUP] = { 0 };
	struct feedback fb;
	__m256d x01, x23, y01, y23;
	unsigned j;

	feedback_load(w, &fb);
	for (j = 0; j < pend + m; j++) {
		va[j] = j < pend ? pa[j] : in[(size_t)(j - pend) * ch + a];
		vb[j] = j < pend ? pb[j] : in[(size_t)(j - pend) * ch + b];
	}
	x01 = _mm256_setr_pd(va[0], vb[0], va[1], vb[1]);
	x23 = _mm256_setr_pd(va[2], vb[2], va[3], vb[3]);
	run_group(w, &fb, *xp, swap(*xp), *yp, x01, x23, swap(x23), &y01,
	    &y23);
	for (j = pend; j < pend + m; j++)
		store1(out + (size_t)(j - pend) * ch, a, b, j < 2 ? y01 : y23,
		    j % 2, both);
	if (pend + m == BQ_GROUP) {
		*xp = x23;
		*yp = y23;
		return 1;
	}
	for (j = pend; j < pend + m; j++) {
		pa[j] = va[j];
		pb[j] = vb[j];
	}
	return 0;
}

/* n frames of channels a and b, or of a alone (both = 0). */
KERNEL void
run_pair(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, unsigned a, unsigned b,
    struct bq_hist *ha, struct bq_hist *hb, double *pa, double *pb,
    int both)
{
	__m256d xp, sxp, yp, x01, x23, sx23, y01, y23;
	struct feedback fb;
	unsigned i = 0, m;

	hist_to_vectors(ha, hb, &xp, &yp);
	if (pend > 0 || n < BQ_GROUP) {
		m = n < BQ_GROUP - pend ? n : BQ_GROUP - pend;
		if (!part_group(w, &xp, &yp, in, out, ch, a, b, pend, m, pa,
		    pb, both))
			return;		/* the group is still open */
		i = m;
	}
	sxp = swap(xp);
	feedback_load(w, &fb);
	for (; i + BQ_GROUP <= n; i += BQ_GROUP) {
		x01 = load2(in + (size_t)i * ch, ch, a, b);
		x23 = load2(in + (size_t)(i + 2) * ch, ch, a, b);
		sx23 = swap(x23);
		run_group(w, &fb, xp, sxp, yp, x01, x23, sx23, &y01, &y23);
		store2(out + (size_t)i * ch, ch, a, b, y01, both);
		store2(out + (size_t)(i + 2) * ch, ch, a, b, y23, both);
		xp = x23;
		sxp = sx23;
		yp = y23;
	}
	vectors_to_hist(xp, yp, ha, hb);
	if (i < n)
		(void)part_group(w, &xp, &yp, in + (size_t)i * ch,
		    out + (size_t)i * ch, ch, a, b, 0, n - i, pa, pb, both);
}

/* run_pair() compiled for interleaved stereo, for a pair among other
   channels, and for one channel (its partner lane computes the same
   and is not stored). */
static void run_stereo(const struct bq_ahead *w, const float *in,
    float *out, unsigned n, unsigned pend, struct bq_hist *h,
    bq_pending *pending) TARGET TP_REALTIME;

static void
run_stereo(const struct bq_ahead *w, const float *in, float *out,
    unsigned n, unsigned pend, struct bq_hist *h, bq_pending *pending)
{
	run_pair(w, in, out, 2, n, pend, 0, 1, &h[0], &h[1], pending[0],
	    pending[1], 1);
}

static void run_two(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, unsigned a, unsigned b,
    struct bq_hist *ha, struct bq_hist *hb, double *pa, double *pb)
    TARGET TP_REALTIME;

static void
run_two(const struct bq_ahead *w, const float *in, float *out, unsigned ch,
    unsigned n, unsigned pend, unsigned a, unsigned b, struct bq_hist *ha,
    struct bq_hist *hb, double *pa, double *pb)
{
	run_pair(w, in, out, ch, n, pend, a, b, ha, hb, pa, pb, 1);
}

static void run_one(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, unsigned a, struct bq_hist *ha,
    struct bq_hist *spare, double *pa, double *pspare) TARGET TP_REALTIME;

static void
run_one(const struct bq_ahead *w, const float *in, float *out, unsigned ch,
    unsigned n, unsigned pend, unsigned a, struct bq_hist *ha,
    struct bq_hist *spare, double *pa, double *pspare)
{
	run_pair(w, in, out, ch, n, pend, a, a, ha, spare, pa, pspare, 0);
}

void
bq_ahead_run(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, const unsigned char *act,
    unsigned nact, struct bq_hist *h, bq_pending *pending)
{
	unsigned k;

	if (ch == 2 && nact == 2) {
		run_stereo(w, in, out, n, pend, h, pending);
		return;
	}
	for (k = 0; k + 1 < nact; k += 2)
		run_two(w, in, out, ch, n, pend, act[k], act[k + 1], &h[k],
		    &h[k + 1], pending[k], pending[k + 1]);
	if (k < nact) {
		h[nact] = h[k];
		memcpy(pending[nact], pending[k], sizeof(pending[k]));
		run_one(w, in, out, ch, n, pend, act[k], &h[k], &h[nact],
		    pending[k], pending[nact]);
	}
}

static void close_pair(const struct bq_ahead *w, unsigned pend,
    struct bq_hist *ha, struct bq_hist *hb, const double *pa,
    const double *pb) TARGET TP_REALTIME;

/* The group's outputs so far, computed again exactly as they were given,
   and the last two samples of each channel become its history. */
static void
close_pair(const struct bq_ahead *w, unsigned pend, struct bq_hist *ha,
    struct bq_hist *hb, const double *pa, const double *pb)
{
	double va[BQ_GROUP] = { 0 }, vb[BQ_GROUP] = { 0 };
	double y[2 * BQ_GROUP];
	struct feedback fb;
	__m256d xp, yp, x01, x23, y01, y23;
	unsigned j;

	memcpy(va, pa, sizeof(*pa) * pend);
	memcpy(vb, pb, sizeof(*pb) * pend);
	hist_to_vectors(ha, hb, &xp, &yp);
	x01 = _mm256_setr_pd(va[0], vb[0], va[1], vb[1]);
	x23 = _mm256_setr_pd(va[2], vb[2], va[3], vb[3]);
	feedback_load(w, &fb);
	run_group(w, &fb, xp, swap(xp), yp, x01, x23, swap(x23), &y01, &y23);
	/* y[2j] and y[2j + 1]: sample j of a and of b */
	_mm256_storeu_pd(y, y01);
	_mm256_storeu_pd(y + 4, y23);
	j = pend - 1;
	if (pend >= 2) {
		xp = _mm256_setr_pd(va[j - 1], vb[j - 1], va[j], vb[j]);
		yp = _mm256_setr_pd(y[2 * j - 2], y[2 * j - 1], y[2 * j],
		    y[2 * j + 1]);
	} else {
		xp = _mm256_setr_pd(ha->x1, hb->x1, va[0], vb[0]);
		yp = _mm256_setr_pd(ha->y1, hb->y1, y[0], y[1]);
	}
	vectors_to_hist(xp, yp, ha, hb);
}

void
bq_ahead_close(const struct bq_ahead *w, unsigned pend, unsigned nact,
    struct bq_hist *h, bq_pending *pending)
{
	unsigned k, c;

	for (k = 0; k < nact; k += 2) {
		/* An odd channel's partner is itself. */
		c = k + 1 < nact ? k + 1 : k;
		close_pair(w, pend, &h[k], &h[c], pending[k], pending[c]);
	}
}

#else /* no AVX2 here: biquad.c never calls the two below */

int
bq_ahead_available(void)
{
	return 0;
}

void
bq_ahead_run(const struct bq_ahead *w, const float *in, float *out,
    unsigned ch, unsigned n, unsigned pend, const unsigned char *act,
    unsigned nact, struct bq_hist *h, bq_pending *pending)
{
	(void)w, (void)in, (void)out, (void)ch, (void)n, (void)pend;
	(void)act, (void)nact, (void)h, (void)pending;
}

void
bq_ahead_close(const struct bq_ahead *w, unsigned pend, unsigned nact,
    struct bq_hist *h, bq_pending *pending)
{
	(void)w, (void)pend, (void)nact, (void)h, (void)pending;
}

#endif
