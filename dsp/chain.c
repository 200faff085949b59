/*
 * The chain runs its stages one after another.  The first stage reads the
 * caller's input and the last writes the caller's output directly; between
 * them the block stays in one scratch buffer, processed in place, except
 * where a stage changes the channel count (a mixer), which writes into
 * the other scratch buffer.  So a chain costs no copies beyond its stages.
 * The scratch buffers are as wide as DSP_MAX_CHANNELS, so any stage fits.
 *
 * No NaN or infinity passes a stage: one NaN sample in a played file made
 * every biquad after it output NaN forever.  The chain's input (a file, a
 * device) and every stage's output are checked; a non-finite sample
 * becomes 0 and is counted, and the stage that made it is reset, because
 * its state is most likely what went non-finite.  The check is one pass of
 * vector multiply-adds; the slow path runs only on a bad block.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/types.h"

struct dsp_chain {
	unsigned in_channels, out_channels;
	unsigned max_frames;
	double rate;
	unsigned n, cap;
	struct dsp_stage **stages;
	char **names;
	float *scratch[2];	/* max_frames x DSP_MAX_CHANNELS each */
	float *clean;		/* max_frames x DSP_MAX_CHANNELS: the input
				   with its non-finite samples zeroed */
	void (*on_del)(void *arg, struct dsp_chain *c);	/* or NULL */
	void *on_del_arg;
};

/* Four floats, for a check the compiler does a vector at a time (GNU C
   vector extensions: gcc and clang; SSE2 is x86-64's baseline). */
typedef float chain_v4f __attribute__((vector_size(16)));

static int all_finite(const float *buf, size_t n) TP_REALTIME;

/*
 * 1 if no sample of buf is NaN or infinite.  x * 0 is 0 for every finite
 * x and NaN for infinity and NaN, and NaN survives any sum: running sums
 * in two vectors of four lanes (two, so that one add need not wait for
 * the other), then a look at the lanes.  About a multiply and an add per
 * four samples.
 */
static int
all_finite(const float *buf, size_t n)
{
	chain_v4f a = { 0 }, b = { 0 }, v, w;
	float lanes[4], sum = 0;
	size_t i = 0;
	unsigned j;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, &buf[i], sizeof(v));
		memcpy(&w, &buf[i + 4], sizeof(w));
		a += v * 0.0f;
		b += w * 0.0f;
	}
	for (; i < n; i++)
		sum += buf[i] * 0.0f;
	a += b;
	memcpy(lanes, &a, sizeof(lanes));
	for (j = 0; j < 4; j++)
		sum += lanes[j];
	return sum == 0;
}

static unsigned scrub_copy(const float *in, float *out, size_t n)
    TP_REALTIME;

/* Copies n samples, each non-finite one as 0; returns how many. */
static unsigned
scrub_copy(const float *in, float *out, size_t n)
{
	unsigned bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (isfinite(in[i]))
			out[i] = in[i];
		else {
			out[i] = 0;
			bad++;
		}
	}
	return bad;
}

struct dsp_chain *
dsp_chain_new(unsigned in_channels, unsigned max_frames, double rate)
{
	struct dsp_chain *c;
	size_t n = (size_t)max_frames * DSP_MAX_CHANNELS;

	if (in_channels < 1 || in_channels > DSP_MAX_CHANNELS ||
	    max_frames < 1 || !(rate > 0))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->in_channels = c->out_channels = in_channels;
	c->max_frames = max_frames;
	c->rate = rate;
	c->scratch[0] = calloc(n, sizeof(float));
	c->scratch[1] = calloc(n, sizeof(float));
	c->clean = calloc(n, sizeof(float));
	if (c->scratch[0] == NULL || c->scratch[1] == NULL ||
	    c->clean == NULL) {
		dsp_chain_del(c);
		return NULL;
	}
	dsp_prefault(c->scratch[0], n * sizeof(float));
	dsp_prefault(c->scratch[1], n * sizeof(float));
	dsp_prefault(c->clean, n * sizeof(float));
	return c;
}

int
dsp_chain_append(struct dsp_chain *c, struct dsp_stage *st, const char *name)
{
	struct dsp_stage **ns;
	char **nn, *copy;

	if (st == NULL)
		return DSP_EINVAL;
	if (st->in_channels != c->out_channels)
		return DSP_ECHANNELS;
	/* It must be made for this chain's rate and blocks. */
	if (st->rate != c->rate || st->max_frames < c->max_frames)
		return DSP_EINVAL;
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 8;

		ns = realloc(c->stages, sizeof(*ns) * cap);
		if (ns == NULL)
			return DSP_ENOMEM;
		c->stages = ns;
		nn = realloc(c->names, sizeof(*nn) * cap);
		if (nn == NULL)
			return DSP_ENOMEM;
		c->names = nn;
		c->cap = cap;
	}
	copy = strdup(name != NULL ? name : "");
	if (copy == NULL)
		return DSP_ENOMEM;
	c->stages[c->n] = st;
	c->names[c->n] = copy;
	c->n++;
	c->out_channels = st->out_channels;
	return DSP_OK;
}

void
dsp_chain_on_del(struct dsp_chain *c, void (*fn)(void *arg,
    struct dsp_chain *c), void *arg)
{
	c->on_del = fn;
	c->on_del_arg = arg;
}

void
dsp_chain_del(struct dsp_chain *c)
{
	unsigned i;

	if (c == NULL)
		return;
	if (c->on_del != NULL)
		c->on_del(c->on_del_arg, c);
	for (i = 0; i < c->n; i++) {
		dsp_stage_del(c->stages[i]);
		free(c->names[i]);
	}
	free(c->stages);
	free(c->names);
	free(c->scratch[0]);
	free(c->scratch[1]);
	free(c->clean);
	free(c);
}

unsigned
dsp_chain_in_channels(const struct dsp_chain *c)
{
	return c->in_channels;
}

unsigned
dsp_chain_out_channels(const struct dsp_chain *c)
{
	return c->out_channels;
}

unsigned
dsp_chain_length(const struct dsp_chain *c)
{
	return c->n;
}

uint64_t
dsp_chain_late(const struct dsp_chain *c)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < c->n; i++)
		n += dsp_stage_late(c->stages[i]);
	return n;
}

struct dsp_stage *
dsp_chain_stage(const struct dsp_chain *c, unsigned i)
{
	return i < c->n ? c->stages[i] : NULL;
}

const char *
dsp_chain_stage_name(const struct dsp_chain *c, unsigned i)
{
	return i < c->n ? c->names[i] : NULL;
}

int
dsp_chain_find(const struct dsp_chain *c, const char *name)
{
	unsigned i;

	if (name == NULL)
		return -1;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return (int)i;
	return -1;
}

unsigned
dsp_chain_process(struct dsp_chain *c, const float *in, float *out,
    unsigned frames, uint32_t *stage_ns)
{
	const float *src = in;
	float *dst;
	unsigned i, which = 0, bad = 0, n;
	size_t len;
	uint64_t t0 = 0, t1;
	struct dsp_stage *st;

	if (frames > c->max_frames)
		frames = c->max_frames;
	len = (size_t)frames * c->in_channels;
	/* A bad input is cleaned into a buffer of its own: in is only
	   read, and may be a block the caller still owns. */
	if (!all_finite(in, len)) {
		bad += scrub_copy(in, c->clean, len);
		src = c->clean;
	}
	if (c->n == 0) {
		if (out != src)
			memcpy(out, src, sizeof(float) * len);
		return bad;
	}
	if (stage_ns != NULL)
		t0 = dsp_clock_ns();
	for (i = 0; i < c->n; i++) {
		st = c->stages[i];
		if (i + 1 == c->n)
			dst = out;
		else if (src == c->scratch[which] &&
		    st->out_channels != st->in_channels)
			dst = c->scratch[which ^= 1];
		else
			dst = c->scratch[which];
		/* The last stage may get src == out when the caller passed
		   in == out; a stage that changes the channel count cannot
		   work in place, so it goes through scratch. */
		if (dst == src && st->out_channels != st->in_channels) {
			dst = c->scratch[which ^= 1];
			dsp_stage_process(st, src, dst, frames);
			memcpy(out, dst, sizeof(float) * frames *
			    st->out_channels);
			dst = out;
		} else
			dsp_stage_process(st, src, dst, frames);
		len = (size_t)frames * st->out_channels;
		if (!all_finite(dst, len)) {
			n = scrub_copy(dst, dst, len);
			bad += n;
			/* Its state made or kept the bad samples: start it
			   afresh rather than let them recirculate. */
			dsp_stage_reset(st);
		}
		src = dst;
		if (stage_ns != NULL) {
			t1 = dsp_clock_ns();
			stage_ns[i] = (uint32_t)(t1 - t0);
			t0 = t1;
		}
	}
	return bad;
}

unsigned
dsp_chain_memory(const struct dsp_chain *c)
{
	unsigned i;
	uint64_t sum = 0;

	for (i = 0; i < c->n; i++) {
		sum += (uint64_t)dsp_stage_latency(c->stages[i]) +
		    dsp_stage_ir_frames(c->stages[i]);
		/* A delay's delay is its effect, not latency, but its line
		   holds that much input all the same (parameter 0, ms). */
		if (c->stages[i]->type == &dsp_type_delay)
			sum += (uint64_t)ceil(c->stages[i]->values[0] *
			    c->rate / 1000);
	}
	return sum > UINT32_MAX ? UINT32_MAX : (unsigned)sum;
}

void
dsp_chain_reset(struct dsp_chain *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		dsp_stage_reset(c->stages[i]);
}
