/*
 * The block pool.
 *
 * One mapping, made once, holds the bookkeeping (a link word and a state
 * byte per block) followed by the blocks.  The free list is a stack of
 * block numbers threaded through links[], never through the blocks
 * themselves, so a user scribbling on a free block (or reading a stale one)
 * cannot break the list.  A link is a block index plus one, so that 0 ends
 * the list and a zeroed struct is an empty pool.
 *
 * The top is one 64-bit word, a generation count beside the link, swapped
 * with a compare-and-swap: a thread that read the top, slept while others
 * popped and pushed the same block back, and then tries its swap sees a
 * different generation and retries instead of installing a stale next
 * link (the ABA problem).  The generation would have to advance by exactly
 * 2^32 during one such sleep to fool it.
 *
 * Each free block's link word also holds its depth, the length of the list
 * from it down; the pusher writes it with the link, before the CAS that
 * publishes both.  The free count is then the depth of the top block, read
 * rather than kept in a shared counter: a get or a put costs one CAS (and a
 * put one exchange on the block's state), not two more atomic additions.
 *
 * This module does not grow, shrink or zero blocks, and knows nothing of
 * what they hold.
 */
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rtmem.h"
#include "rtpool/rtpool.h"
#include "rtpool/rttsan.h"

static uint64_t
pack(uint64_t head, uint32_t link)
{
	/* The generation advances on every change of the top. */
	return ((head >> 32) + 1) << 32 | link;
}

/* Lowers min_free to n unless another thread has already gone lower. */
static void
lower_min(struct rtpool *p, uint64_t n)
{
	/*
	 * Relaxed: min_free is a statistic and orders nothing; the CAS only
	 * makes concurrent lowerings agree on the smallest.  In a steady
	 * state the load alone decides: no write.
	 */
	uint64_t m = ck_pr_load_64(&p->min_free);

	while (n < m && !ck_pr_cas_64_value(&p->min_free, m, n, &m))
		;
}

/* The number of free blocks: the depth of the top one. */
static uint64_t
free_count(const struct rtpool *p)
{
	/*
	 * Relaxed, for statistics: if the top changes between the two loads,
	 * the depth read belongs to a moment just after the top was read.
	 */
	uint32_t link = (uint32_t)ck_pr_load_64(&p->head);

	if (link == 0 || link > p->nblocks)
		return 0;
	return ck_pr_load_64(&p->links[link - 1]) >> 32;
}

int
rtpool_init(struct rtpool *p, size_t block_size, size_t nblocks)
{
	size_t bs, book, blocks_bytes, i;
	unsigned char *mem;

	memset(p, 0, sizeof(*p));
	if (block_size == 0 || nblocks == 0)
		return RTPOOL_EINVAL;
	/* Every link, index + 1, and every depth must fit 32 bits. */
	if (nblocks > UINT32_MAX)
		return RTPOOL_EINVAL;
	if (block_size > SIZE_MAX - (RTPOOL_ALIGN - 1))
		return RTPOOL_ENOMEM;
	bs = (block_size + RTPOOL_ALIGN - 1) / RTPOOL_ALIGN * RTPOOL_ALIGN;
	if (nblocks > SIZE_MAX / bs)
		return RTPOOL_ENOMEM;
	blocks_bytes = nblocks * bs;
	/*
	 * Bookkeeping first: a block overrun past the last block then runs
	 * off the end of the mapping rather than into the links.
	 */
	book = nblocks * (sizeof(uint64_t) + sizeof(uint8_t));
	book = (book + RTPOOL_ALIGN - 1) / RTPOOL_ALIGN * RTPOOL_ALIGN;
	if (blocks_bytes > SIZE_MAX - book)
		return RTPOOL_ENOMEM;
	mem = rtmem_alloc(book + blocks_bytes, &p->mapped, &p->locked);
	if (mem == NULL)
		return RTPOOL_ENOMEM;
	p->map = mem;
	p->links = (uint64_t *)mem;	/* the mapping is page aligned */
	p->state = mem + nblocks * sizeof(uint64_t);
	p->base = mem + book;
	p->block_size = bs;
	p->nblocks = nblocks;
	/* Block i is on top of i + 1: depth n - i, next link i + 2. */
	for (i = 0; i < nblocks; i++) {
		p->links[i] = (uint64_t)(nblocks - i) << 32 |
		    (i + 1 < nblocks ? (uint32_t)(i + 2) : 0);
		p->state[i] = RTPOOL_BLOCK_FREE;
	}
	/*
	 * Plain stores: no other thread may see p before rtpool_init()
	 * returns, and whatever hands p to them (thread creation, a channel)
	 * orders these stores before their first access.
	 */
	p->head = 1;	/* generation 0, block 0 on top: gets go 0, 1, 2... */
	p->min_free = nblocks;
	return RTPOOL_OK;
}

void
rtpool_done(struct rtpool *p)
{
	rtmem_free(p->map, p->mapped);
	memset(p, 0, sizeof(*p));
}

void *
rtpool_get(struct rtpool *p)
{
	uint64_t head, link;
	uint32_t i;

	/* Relaxed: a stale top only makes the CAS below fail and retry. */
	head = ck_pr_load_64(&p->head);
	for (;;) {
		if ((uint32_t)head == 0) {
			/* Statistics only: relaxed. */
			ck_pr_inc_64(&p->exhausted);
			ck_pr_store_64(&p->min_free, 0);
			return NULL;
		}
		i = (uint32_t)head - 1;
		/*
		 * Read the link word after the top that named i, so that it
		 * is at least as new as that top: the next link a successful
		 * CAS below installs is then the one the pusher of i wrote.
		 */
		ck_pr_fence_load();
		link = ck_pr_load_64(&p->links[i]);
		/*
		 * On failure head is reloaded with the current top.  Success
		 * means the top was still `head` (same generation), so i was
		 * still on top and `link` is its word.
		 */
		if (ck_pr_cas_64_value(&p->head, head,
		    pack(head, (uint32_t)link), &head))
			break;
	}
	/*
	 * Acquire: our later reads and writes of the block stay after the
	 * CAS that took it, hence after the previous owner's put published
	 * its last writes.
	 */
	ck_pr_fence_acquire();
	RTTSAN_ACQUIRE(p->base + (size_t)i * p->block_size);
	/*
	 * Relaxed: the next put of i to read this is the owner's, ordered
	 * after us by whatever hands the block on.  A buggy put racing with
	 * us reads FREE (refused, rightly: the block was free) or TAKEN.
	 */
	ck_pr_store_8(&p->state[i], RTPOOL_BLOCK_TAKEN);
	lower_min(p, (link >> 32) - 1);
	return p->base + (size_t)i * p->block_size;
}

int
rtpool_put(struct rtpool *p, void *block)
{
	uint64_t head, below;
	uint32_t top;
	size_t i;

	if (block == NULL)
		return RTPOOL_EINVAL;
	i = rtpool_index(p, block);
	if (i == RTPOOL_NOINDEX)
		return RTPOOL_EFOREIGN;
	/*
	 * The exchange makes TAKEN -> FREE happen once: of two puts of the
	 * same block, racing or not, exactly one sees TAKEN and pushes it.
	 */
	if (ck_pr_fas_8(&p->state[i], RTPOOL_BLOCK_FREE) ==
	    RTPOOL_BLOCK_FREE) {
		ck_pr_inc_64(&p->double_returns);	/* statistic: relaxed */
		return RTPOOL_EDOUBLE;
	}
	/*
	 * Release: the caller's reads and writes of the block complete
	 * before the CAS below makes it available to another thread.
	 */
	ck_pr_fence_release();
	RTTSAN_RELEASE(block);
	/* Relaxed: a stale top only makes the CAS fail and retry. */
	head = ck_pr_load_64(&p->head);
	do {
		top = (uint32_t)head;
		/*
		 * The depth of the block we go on top of.  Read after the
		 * top that named it (load fence); if that block has left the
		 * top since, the generation moved and the CAS fails.
		 */
		ck_pr_fence_load();
		below = top == 0 ? 0 : ck_pr_load_64(&p->links[top - 1]) >> 32;
		/* Only the thread holding block i writes its link word. */
		ck_pr_store_64(&p->links[i], (below + 1) << 32 | top);
		/* The link word must be visible before i is on top. */
		ck_pr_fence_store_atomic();
	} while (!ck_pr_cas_64_value(&p->head, head,
	    pack(head, (uint32_t)i + 1), &head));
	return RTPOOL_OK;
}

void
rtpool_stats(const struct rtpool *p, struct rtpool_stats *out)
{
	/*
	 * Relaxed loads of independent counters: each is exact, together
	 * they are only approximately simultaneous (said in the header).
	 */
	out->blocks = p->nblocks;
	out->block_size = p->block_size;
	out->free_now = (size_t)free_count(p);
	out->min_free = (size_t)ck_pr_load_64(&p->min_free);
	out->exhausted = ck_pr_load_64(&p->exhausted);
	out->double_returns = ck_pr_load_64(&p->double_returns);
	out->locked = p->locked;
}

void
rtpool_stats_reset(struct rtpool *p)
{
	/* Statistics only: relaxed, racing gets may land on either side. */
	ck_pr_store_64(&p->min_free, free_count(p));
	ck_pr_store_64(&p->exhausted, 0);
}

size_t
rtpool_index(const struct rtpool *p, const void *block)
{
	uintptr_t a = (uintptr_t)block, b = (uintptr_t)p->base;
	size_t off;

	if (p->base == NULL || a < b)
		return RTPOOL_NOINDEX;
	off = a - b;
	if (off / p->block_size >= p->nblocks || off % p->block_size != 0)
		return RTPOOL_NOINDEX;
	return off / p->block_size;
}

void *
rtpool_block(const struct rtpool *p, size_t index)
{
	if (index >= p->nblocks)
		return NULL;
	return p->base + index * p->block_size;
}

int
rtpool_owns(const struct rtpool *p, const void *block)
{
	return rtpool_index(p, block) != RTPOOL_NOINDEX;
}

int
rtpool_check(const struct rtpool *p, size_t *nfree)
{
	size_t n = 0, marked = 0, i, len = 0;
	uint32_t link;

	/* Quiescent by contract: plain reads are enough. */
	for (link = (uint32_t)p->head; link != 0;
	    link = (uint32_t)p->links[link - 1]) {
		/* A list longer than the pool has a cycle. */
		if (link > p->nblocks || len == p->nblocks)
			return RTPOOL_ECORRUPT;
		len++;
	}
	if (nfree != NULL)
		*nfree = len;
	for (link = (uint32_t)p->head; link != 0;
	    link = (uint32_t)p->links[link - 1]) {
		if (p->state[link - 1] != RTPOOL_BLOCK_FREE ||
		    p->links[link - 1] >> 32 != len - n)
			return RTPOOL_ECORRUPT;
		n++;
	}
	for (i = 0; i < p->nblocks; i++)
		marked += p->state[i] == RTPOOL_BLOCK_FREE;
	if (marked != n)
		return RTPOOL_ECORRUPT;
	return RTPOOL_OK;
}

unsigned
rtpool_mlock_refusals(void)
{
	return rtmem_refusals();
}

const char *
rtpool_strerror(int err)
{
	switch ((enum rtpool_err)err) {
	case RTPOOL_OK:
		return "success";
	case RTPOOL_EINVAL:
		return "invalid argument (a size of zero, too many blocks, "
		    "or NULL)";
	case RTPOOL_ENOMEM:
		return "cannot map the memory for the pool";
	case RTPOOL_EEMPTY:
		return "no free block: the pool is exhausted";
	case RTPOOL_EDOUBLE:
		return "block returned twice: it was already free";
	case RTPOOL_EFOREIGN:
		return "not a block of this pool (foreign or misaligned "
		    "pointer)";
	case RTPOOL_ECORRUPT:
		return "the pool's free list is inconsistent";
	}
	return "unknown rtpool error";
}
