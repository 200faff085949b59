/*
 * The tail ring.  It is a sequence lock turned around: the writer never
 * waits and never retries; a reader copies, then learns from `claim`
 * whether the writer had reached what it copied.
 *
 * Orders: the writer stores claim, then the samples, then head; a reader
 * loads head, then the samples, then claim.  So a reader that copied any
 * sample of a write in progress sees that write's claim afterwards, and
 * one that sees a head has the samples before it.  ck's fences are the
 * barriers (C11 fences are refused by gcc's -fsanitize=thread build); on
 * x86-64 they only stop the compiler, the processor keeping stores and
 * loads in order.
 */
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rtmem.h"
#include "rtpool/rtpool.h"
#include "rtpool/rttail.h"

/* Largest ring: 2^31 samples, so a sample index fits in a size_t
   everywhere and the mapping stays far below the address space. */
#define RTTAIL_MAX_SAMPLES ((size_t)1 << 31)

static uint32_t float_bits(float f) TP_REALTIME;
static float bits_float(uint32_t u) TP_REALTIME;

static uint32_t
float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
bits_float(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

int
rttail_init(struct rttail *t, unsigned frames, unsigned channels)
{
	size_t n = (size_t)frames * channels;

	memset(t, 0, sizeof(*t));
	if (frames == 0 || channels == 0 || n > RTTAIL_MAX_SAMPLES)
		return RTPOOL_EINVAL;
	t->buf = rtmem_alloc(n * sizeof(uint32_t), &t->mapped, &t->locked);
	if (t->buf == NULL)
		return RTPOOL_ENOMEM;
	t->frames = frames;
	t->channels = channels;
	return RTPOOL_OK;
}

void
rttail_done(struct rttail *t)
{
	if (t->buf != NULL)
		rtmem_free(t->buf, t->mapped);
	memset(t, 0, sizeof(*t));
}

void
rttail_write_sw(struct rttail *t, const float *src, unsigned n)
{
	uint64_t h = __atomic_load_n(&t->head, __ATOMIC_RELAXED);
	uint64_t pos;
	size_t i, k, ch = t->channels;
	unsigned skip = 0;

	if (n > t->frames)
		skip = n - t->frames;	/* only the newest fit */
	__atomic_store_n(&t->claim, h + n, __ATOMIC_RELAXED);
	/* The claim is seen before any sample it covers changes. */
	ck_pr_fence_store();
	for (pos = h + skip; pos < h + n; pos++) {
		k = (size_t)(pos % t->frames) * ch;
		for (i = 0; i < ch; i++)
			__atomic_store_n(&t->buf[k + i],
			    float_bits(src[(size_t)(pos - h) * ch + i]),
			    __ATOMIC_RELAXED);
	}
	/* The samples are in place before head says they are. */
	ck_pr_fence_store();
	__atomic_store_n(&t->head, h + n, __ATOMIC_RELAXED);
}

uint64_t
rttail_head(const struct rttail *t)
{
	uint64_t h = __atomic_load_n(&t->head, __ATOMIC_RELAXED);

	/* Samples read after this are at least as new as h says. */
	ck_pr_fence_load();
	return h;
}

int
rttail_read(const struct rttail *t, uint64_t from, unsigned n, float *dst)
{
	size_t i, k, ch = t->channels, j = 0;
	uint64_t pos, claim;

	for (pos = from; pos < from + n; pos++) {
		k = (size_t)(pos % t->frames) * ch;
		for (i = 0; i < ch; i++)
			dst[j++] = bits_float(__atomic_load_n(&t->buf[k + i],
			    __ATOMIC_RELAXED));
	}
	/* The copy is done before the claim is looked at: a claim that
	   reached into what was copied means it may be torn. */
	ck_pr_fence_load();
	claim = __atomic_load_n(&t->claim, __ATOMIC_RELAXED);
	return claim > t->frames && from < claim - t->frames ? -1 : 0;
}

uint64_t
rttail_oldest(const struct rttail *t, unsigned slack)
{
	uint64_t h = __atomic_load_n(&t->head, __ATOMIC_RELAXED) + slack;

	return h > t->frames ? h - t->frames : 0;
}
