/*
 * The block pool.
 *
 * One mapping, made once, holds the bookkeeping (a link word and a state
 * byte per block), the per-thread slots, the magazines, then the blocks.
 *
 * Bottom tier, the stack of blocks: block numbers threaded through links[],
 * never through the blocks themselves, so a user scribbling on a free block
 * (or reading a stale one) cannot break it.  A link is a block index plus
 * one, so that 0 ends the stack and a zeroed struct is an empty pool.  The
 * top is one 64-bit word, a generation count beside the link, swapped with
 * a compare-and-swap: a thread that read the top, slept while others popped
 * and pushed the same block back, and then tries its swap sees a different
 * generation and retries instead of installing a stale next link (the ABA
 * problem).  The generation would have to advance by exactly 2^32 during
 * one such sleep to fool it.  Each stacked block's link word also holds its
 * depth, so the stack's length is the depth of its top, not a shared
 * counter.
 *
 * The depot: two stacks of magazines built the same way (loaded ones and
 * empty ones), linked through each magazine's `next`; each magazine's
 * `below` counts the blocks in it and under it, so the depot's free count
 * is the top's, as with the depth of the blocks.  A fixed number of
 * magazines exists: enough for every block plus two per thread slot and
 * its spares; when there is no empty one to take, a put goes to the stack
 * of blocks.  A slot keeps up to SPARES empty magazines it emptied, for
 * its next full one, and up to p->stash full ones it filled, for its next
 * empty one: a thread taking and giving back bursts of up to 2 + stash
 * magazines then stays off the depot, whose tops every core writes (each
 * exchange there cost a cache miss per compare-and-swap when two threads
 * burst at once).
 *
 * The top tier: a thread's slot, claimed with a compare-and-swap on its
 * first use of the pool, holds two magazines, `loaded` and `prev`; a
 * thread-local table indexed by the pool's id keeps the slot and its
 * loaded magazine at hand, so that the fast path is three dependent loads
 * (the entry's magazine, its count, the block number).  As in Bonwick and
 * Adams, a get takes from loaded and a put adds to it, and only when loaded
 * is empty (or full) and prev is too does the thread go to the depot, so a
 * thread going back and forth around a magazine boundary does not go there
 * on every call.  Only the slot's owner changes its magazines; their
 * `count` and `low` are also read by others, for statistics.  A
 * thread-specific key's destructor gives a slot's magazines back to the
 * depot when its thread exits; a process-wide table of live pools (under a
 * mutex, as is rtpool_init() and rtpool_done()) tells it which pools still
 * exist.
 *
 * The low-water mark: at every slow-path event (a magazine swapped, a block
 * stacked or unstacked) the thread lowers min_free to what the stack and
 * the depot hold plus the lowest its own magazines held since its last
 * event (prev's count and its stash's, fixed between events, and the
 * lowest count of loaded, kept in the magazine by every get), counting
 * other threads' magazines as empty: a figure never above the free count
 * of some moment since that event, and, with one thread,
 * the exact low.  rtpool_stats() adds the same, over all threads, for the
 * time since their last events.
 *
 * This module does not grow, shrink or zero blocks, and knows nothing of
 * what they hold.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include "rtpool/rtmem.h"
#include "rtpool/rtpool.h"
#include "rtpool/rttsan.h"

/* Cache lines a magazine takes: its four counts and its block numbers. */
#define MAG_LINES (((4 + RTPOOL_MAG) * sizeof(uint32_t) + RTPOOL_ALIGN - 1) / \
	RTPOOL_ALIGN)

struct rtpool_mag {
	uint32_t count;		/* blocks in idx[] (its holder writes) */
	uint32_t low;		/* lowest count since the holder's last event */
	uint32_t next;		/* in a depot stack: the next one's index + 1 */
	uint32_t below;		/* in a depot stack: blocks in it and below */
	uint32_t idx[RTPOOL_MAG];	/* block numbers; idx[count - 1] next out */
	/* Whole lines: two threads' magazines never share one. */
	char pad_[MAG_LINES * RTPOOL_ALIGN - (4 + RTPOOL_MAG) *
	    sizeof(uint32_t)];
};

/* Empty magazines a slot keeps, so that a burst need not fetch them. */
#define SPARES 8

struct rtpool_slot {
	/* Whole lines: two threads' slots never share one. */
	_Alignas(RTPOOL_ALIGN) uint32_t owner;	/* 0: free; 1: claimed (CAS) */
	uint32_t nspare;	/* owner only: empty magazines in spare[] */
	struct rtpool_mag *loaded;	/* the owner writes, others read */
	struct rtpool_mag *prev;	/* the same; never NULL while owned */
	uint32_t spare[SPARES];	/* owner only: their indices */
	uint32_t nstash;	/* full magazines in stash[]: others read */
	uint32_t stash[RTPOOL_STASH];	/* owner only: their indices */
};

/* A thread's view of one pool: its slot there, and the loaded magazine. */
struct tls_entry {
	uint64_t serial;	/* the pool's serial when claimed */
	struct rtpool_mag *mag;	/* the slot's loaded magazine */
	struct rtpool_slot *slot;
	uint64_t pad_;		/* 32 bytes: the index is a shift */
};

/*
 * Indexed by pool id.  Entry 0 belongs to the pools without magazines
 * (id 0, serial 0) and never matches one: its serial is set, once, to a
 * value no pool has.  Local-exec: a constant offset from the thread
 * pointer, the storage made with the thread; no call, no allocation on
 * first use.  (It binds rtpool to executables, as tidepool links it: a
 * shared library holding it fails to link rather than allocate.)
 */
#define TLS_LE __attribute__((tls_model("local-exec")))
static _Thread_local struct tls_entry tls[RTPOOL_MAX_POOLS] TLS_LE = {
	{ UINT64_MAX, NULL, NULL, 0 }
};
static _Thread_local int tls_exit_armed TLS_LE;	/* the key's value is set */

/* The process-wide table of pools with magazines, by id. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rtpool *live[RTPOOL_MAX_POOLS];
static uint64_t live_serial;	/* the last serial given out */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_ok;

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

/* The number of blocks on the stack: the depth of the top one. */
static uint64_t
stack_count(const struct rtpool *p)
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

/* Pops a block off the stack: its number, or -1 if the stack is empty. */
static int64_t
stack_pop(struct rtpool *p)
{
	uint64_t head, link;
	uint32_t i;

	/* Relaxed: a stale top only makes the CAS below fail and retry. */
	head = ck_pr_load_64(&p->head);
	for (;;) {
		if ((uint32_t)head == 0)
			return -1;
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
	 * Acquire: the caller's reads and writes of the block stay after
	 * the CAS that took it, hence after its last putter's writes.
	 */
	ck_pr_fence_acquire();
	return i;
}

/* Pushes block i, which the caller owns, onto the stack. */
static void
stack_push(struct rtpool *p, uint32_t i)
{
	uint64_t head, below;
	uint32_t top;

	/*
	 * Release: the caller's reads and writes of the block complete
	 * before the CAS below makes it available to another thread.
	 */
	ck_pr_fence_release();
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
	} while (!ck_pr_cas_64_value(&p->head, head, pack(head, i + 1), &head));
}

/* The number of blocks in the depot: `below` of the top loaded magazine. */
static uint64_t
depot_count(const struct rtpool *p)
{
	/* Relaxed, for statistics: as in stack_count(). */
	uint32_t link = (uint32_t)ck_pr_load_64(&p->full);

	if (link == 0 || link > p->nmags)
		return 0;
	return ck_pr_load_32(&p->mags[link - 1].below);
}

/* Pops a magazine off a depot stack (full or empty), or NULL. */
static struct rtpool_mag *
depot_pop(struct rtpool *p, uint64_t *top)
{
	uint64_t head;
	uint32_t next;
	struct rtpool_mag *m;

	/* The same protocol as stack_pop(), on magazines. */
	head = ck_pr_load_64(top);
	for (;;) {
		if ((uint32_t)head == 0)
			return NULL;
		m = &p->mags[(uint32_t)head - 1];
		ck_pr_fence_load();
		next = ck_pr_load_32(&m->next);
		if (ck_pr_cas_64_value(top, head, pack(head, next), &head))
			break;
	}
	/*
	 * Acquire: the magazine's contents, and the blocks in it, as the
	 * thread that pushed it left them.
	 */
	ck_pr_fence_acquire();
	RTTSAN_ACQUIRE(m);
	return m;
}

/* Pushes magazine m, which the caller holds, onto a depot stack. */
static void
depot_push(struct rtpool *p, uint64_t *top, struct rtpool_mag *m)
{
	uint64_t head;
	uint32_t link = (uint32_t)(m - p->mags) + 1, under, below;
	uint32_t count = m->count;	/* read while m is still ours alone */

	RTTSAN_RELEASE(m);
	/* Release: the magazine's contents and its blocks, before it shows. */
	ck_pr_fence_release();
	head = ck_pr_load_64(top);
	do {
		under = (uint32_t)head;
		/* As in stack_push(): read after the top that named it. */
		ck_pr_fence_load();
		below = under == 0 ? 0 :
		    ck_pr_load_32(&p->mags[under - 1].below);
		/* Only the holder of m writes its link and count. */
		ck_pr_store_32(&m->below, below + count);
		ck_pr_store_32(&m->next, under);
		/* The link must be visible before m is on top. */
		ck_pr_fence_store_atomic();
	} while (!ck_pr_cas_64_value(top, head, pack(head, link), &head));
}

/* Hands block i to the caller. */
static void *
take(struct rtpool *p, uint32_t i)
{
	void *b = p->base + (size_t)i * p->block_size;

	RTTSAN_ACQUIRE(b);
	/*
	 * Relaxed: the next put of i to read this is its owner's, ordered
	 * after us by whatever hands the block on.
	 */
	ck_pr_store_8(&p->state[i], RTPOOL_BLOCK_TAKEN);
	return b;
}

/*
 * A slow-path event of a thread holding slot s (or none): see the top of
 * the file.  Called before the event moves anything.
 */
static void
note_low(struct rtpool *p, const struct rtpool_slot *s)
{
	uint64_t n = stack_count(p) + depot_count(p);

	if (s != NULL)
		n += s->loaded->low + s->prev->count +
		    (uint64_t)s->nstash * p->mag;
	lower_min(p, n);
}

/*
 * After an event: the slot's magazines are now `loaded` and `prev`, and
 * the owner's window for the low-water mark starts again.
 */
static void
set_mags(struct tls_entry *e, struct rtpool_slot *s,
    struct rtpool_mag *loaded, struct rtpool_mag *prev)
{
	/* Relaxed: others read these only for statistics. */
	ck_pr_store_32(&loaded->low, loaded->count);
	ck_pr_store_ptr(&s->loaded, loaded);
	ck_pr_store_ptr(&s->prev, prev);
	e->mag = loaded;
}

/*
 * A full magazine for the slot's owner: from its stash, where nobody else
 * looks (no atomic, no line another core writes), else from the depot;
 * NULL if neither has one.
 */
static struct rtpool_mag *
full_take(struct rtpool *p, struct rtpool_slot *s)
{
	uint32_t n = s->nstash;

	if (n == 0)
		return depot_pop(p, &p->full);
	/* Relaxed: others read nstash only for statistics. */
	ck_pr_store_32(&s->nstash, n - 1);
	return &p->mags[s->stash[n - 1]];
}

/* Puts full magazine m in the slot's stash if it has room, else the depot. */
static void
full_give(struct rtpool *p, struct rtpool_slot *s, struct rtpool_mag *m)
{
	uint32_t n = s->nstash;

	if (n == p->stash) {
		depot_push(p, &p->full, m);
		return;
	}
	s->stash[n] = (uint32_t)(m - p->mags);
	ck_pr_store_32(&s->nstash, n + 1);
}

/*
 * clang's nonblocking analysis refuses every thread-local variable, since
 * one of the general-dynamic model is allocated on first use; these are
 * local-exec (above), so the two functions below, the only places that
 * touch them, tell it so.
 */
#if defined(__clang__)
#define ALLOW_TLS_BEGIN _Pragma("clang diagnostic push") \
	_Pragma("clang diagnostic ignored \"-Wunknown-warning-option\"") \
	_Pragma("clang diagnostic ignored \"-Wfunction-effects\"")
#define ALLOW_TLS_END _Pragma("clang diagnostic pop")
#else
#define ALLOW_TLS_BEGIN
#define ALLOW_TLS_END
#endif

/* The calling thread's entry for pool id. */
static struct tls_entry *
tls_entry(unsigned id) TP_REALTIME
{
	struct tls_entry *e;

	ALLOW_TLS_BEGIN
	e = &tls[id];
	ALLOW_TLS_END
	return e;
}

/*
 * Arms the thread-exit destructor for the calling thread, once.  Any
 * non-NULL value arms it.  glibc keeps the values of the first 32 keys in
 * the thread's own descriptor, and rtpool_init() makes this key early: a
 * store, no allocation (the RTSan runs would abort on one).
 */
static void
tls_arm_exit(void) TP_REALTIME
{
	ALLOW_TLS_BEGIN
	if (!tls_exit_armed && exit_key_ok) {
		tls_exit_armed = 1;
		(void)pthread_setspecific(exit_key, tls);
	}
	ALLOW_TLS_END
}

static void
on_thread_exit(void *arg);

static void
make_exit_key(void)
{
	exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

/*
 * The calling thread's slot in p, claimed now if it has none; NULL if p
 * has no magazines or all its slots are taken.
 */
static struct rtpool_slot *
my_slot(struct rtpool *p, struct tls_entry *e) TP_REALTIME
{
	struct rtpool_slot *s;
	struct rtpool_mag *a, *b;
	unsigned k;

	if (p->mag == 0)
		return NULL;
	if (e->serial == p->serial)
		return e->slot;
	for (k = 0; k < RTPOOL_THREADS; k++) {
		s = &p->slots[k];
		/* Relaxed load: a test before the CAS that decides. */
		if (ck_pr_load_32(&s->owner) != 0 ||
		    !ck_pr_cas_32(&s->owner, 0, 1))
			continue;
		ck_pr_fence_acquire();
		RTTSAN_ACQUIRE(s);
		a = depot_pop(p, &p->empty);
		b = a != NULL ? depot_pop(p, &p->empty) : NULL;
		if (b == NULL) {
			/* No two empty magazines: go without, as if full. */
			if (a != NULL)
				depot_push(p, &p->empty, a);
			RTTSAN_RELEASE(s);
			ck_pr_fence_release();
			ck_pr_store_32(&s->owner, 0);
			return NULL;
		}
		s->nspare = 0;
		ck_pr_store_32(&s->nstash, 0);
		set_mags(e, s, a, b);
		e->serial = p->serial;
		e->slot = s;
		tls_arm_exit();
		return s;
	}
	return NULL;
}

/* Gives slot s's magazines back to p's depot and frees the slot. */
static void
slot_return(struct rtpool *p, struct rtpool_slot *s)
{
	struct rtpool_mag *m[2] = { s->loaded, s->prev };
	unsigned k;

	note_low(p, s);
	while (s->nspare > 0)
		depot_push(p, &p->empty, &p->mags[s->spare[--s->nspare]]);
	while (s->nstash > 0)
		depot_push(p, &p->full, full_take(p, s));
	for (k = 0; k < 2; k++) {
		if (m[k]->count != 0)
			depot_push(p, &p->full, m[k]);
		else
			depot_push(p, &p->empty, m[k]);
	}
	ck_pr_store_ptr(&s->loaded, NULL);
	ck_pr_store_ptr(&s->prev, NULL);
	RTTSAN_RELEASE(s);
	/* Release: the slot's fields are settled before another claims it. */
	ck_pr_fence_release();
	ck_pr_store_32(&s->owner, 0);
}

/* The key's destructor: the exiting thread's magazines go back. */
static void
on_thread_exit(void *arg)
{
	struct tls_entry *t = arg;
	unsigned id;

	pthread_mutex_lock(&live_lock);
	for (id = 1; id < RTPOOL_MAX_POOLS; id++) {
		if (t[id].serial == 0 || t[id].slot == NULL)
			continue;
		/* A pool done since, or another in its place: nothing to do. */
		if (live[id] != NULL && live[id]->serial == t[id].serial)
			slot_return(live[id], t[id].slot);
		t[id].serial = 0;
		t[id].slot = NULL;
		t[id].mag = NULL;
	}
	pthread_mutex_unlock(&live_lock);
}

/* Trailing zero bits of x, which is not 0. */
static unsigned
ctz(size_t x)
{
	unsigned n = 0;

	while ((x & 1) == 0) {
		x >>= 1;
		n++;
	}
	return n;
}

/* The inverse of odd d modulo 2^64 (Newton's iteration, Hacker's Delight). */
static uint64_t
inverse(uint64_t d)
{
	uint64_t x = d;	/* right to 3 bits; each step doubles them */
	unsigned k;

	for (k = 0; k < 5; k++)
		x *= 2 - d * x;
	return x;
}

int
rtpool_init(struct rtpool *p, size_t block_size, size_t nblocks)
{
	size_t bs, book, blocks_bytes, i, nmags = 0, magbytes, slotbytes;
	unsigned char *mem;
	unsigned id = 0;

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
	if (nblocks >= RTPOOL_MAG_MIN_BLOCKS) {
		pthread_once(&key_once, make_exit_key);
		pthread_mutex_lock(&live_lock);
		/* p made again without rtpool_done(): its old place goes. */
		for (id = 1; id < RTPOOL_MAX_POOLS; id++)
			if (live[id] == p)
				live[id] = NULL;
		for (id = 1; id < RTPOOL_MAX_POOLS && live[id] != NULL; id++)
			;
		if (id < RTPOOL_MAX_POOLS) {
			live[id] = p;	/* reserved; serial set below */
			p->serial = ++live_serial;
		} else
			id = 0;
		pthread_mutex_unlock(&live_lock);
	}
	if (id != 0)	/* every block in one, two per slot, its spares */
		nmags = (nblocks + RTPOOL_MAG - 1) / RTPOOL_MAG +
		    (2 + SPARES) * RTPOOL_THREADS;
	magbytes = nmags * sizeof(struct rtpool_mag);
	slotbytes = id != 0 ? RTPOOL_THREADS * sizeof(struct rtpool_slot) : 0;
	/*
	 * Bookkeeping first: a block overrun past the last block then runs
	 * off the end of the mapping rather than into the links.
	 */
	book = nblocks * (sizeof(uint64_t) + sizeof(uint8_t));
	book = (book + RTPOOL_ALIGN - 1) / RTPOOL_ALIGN * RTPOOL_ALIGN;
	book += slotbytes + magbytes;
	if (blocks_bytes > SIZE_MAX - book ||
	    (mem = rtmem_alloc(book + blocks_bytes, &p->mapped,
	    &p->locked)) == NULL) {
		rtpool_done(p);
		return RTPOOL_ENOMEM;
	}
	p->map = mem;
	p->links = (uint64_t *)mem;	/* the mapping is page aligned */
	p->state = mem + nblocks * sizeof(uint64_t);
	p->base = mem + book;
	if (id != 0) {
		p->slots = (struct rtpool_slot *)(p->base - magbytes -
		    slotbytes);
		p->mags = (struct rtpool_mag *)(p->base - magbytes);
	}
	p->block_size = bs;
	p->nblocks = nblocks;
	p->shift = ctz(bs);
	p->inverse = inverse(bs >> p->shift);
	p->id = id;
	p->mag = id != 0 ? RTPOOL_MAG : 0;
	/*
	 * A quarter of the pool's magazines at most in one thread's stash,
	 * so that one thread's bursts cannot strand much of a small pool.
	 */
	p->stash = id != 0 ? (unsigned)(nblocks / RTPOOL_MAG / 4) : 0;
	if (p->stash > RTPOOL_STASH)
		p->stash = RTPOOL_STASH;
	p->nmags = (unsigned)nmags;
	/*
	 * Plain stores: no other thread may see p before rtpool_init()
	 * returns, and whatever hands p to them (thread creation, a channel)
	 * orders these stores before their first access.
	 */
	for (i = 0; i < nblocks; i++)
		p->state[i] = RTPOOL_BLOCK_FREE;
	if (id == 0) {
		/* Block i is on top of i + 1: depth n - i, next link i + 2. */
		for (i = 0; i < nblocks; i++)
			p->links[i] = (uint64_t)(nblocks - i) << 32 |
			    (i + 1 < nblocks ? (uint32_t)(i + 2) : 0);
		p->head = 1;	/* block 0 on top: gets go 0, 1, 2... */
	} else {
		/*
		 * Full magazines in the depot, in order: magazine k holds
		 * blocks 32k .. 32k + 31, handed out lowest first, and is
		 * above k + 1.  The rest are empty.
		 */
		for (i = 0; i < nmags; i++) {
			struct rtpool_mag *m = &p->mags[i];
			size_t first = i * RTPOOL_MAG, k;

			m->count = first >= nblocks ? 0 :
			    (uint32_t)(nblocks - first < RTPOOL_MAG ?
			    nblocks - first : RTPOOL_MAG);
			for (k = 0; k < m->count; k++)
				m->idx[k] = (uint32_t)(first + m->count - 1 - k);
		}
		for (i = nmags; i-- > 0;) {
			uint64_t *top = p->mags[i].count ? &p->full : &p->empty;
			uint32_t under = (uint32_t)*top;

			p->mags[i].next = under;
			p->mags[i].below = p->mags[i].count +
			    (under != 0 ? p->mags[under - 1].below : 0);
			*top = i + 1;
		}
	}
	p->min_free = nblocks;
	if (id != 0) {
		pthread_mutex_lock(&live_lock);
		/* From here the exit destructor may return magazines to p. */
		live[id] = p;
		pthread_mutex_unlock(&live_lock);
	}
	return RTPOOL_OK;
}

void
rtpool_done(struct rtpool *p)
{
	if (p->id != 0) {
		pthread_mutex_lock(&live_lock);
		if (live[p->id] == p)
			live[p->id] = NULL;
		pthread_mutex_unlock(&live_lock);
	}
	rtmem_free(p->map, p->mapped);
	memset(p, 0, sizeof(*p));
}

/*
 * A get that found the thread's loaded magazine empty, or the thread
 * without a slot.
 */
__attribute__((noinline)) static void *
get_slow(struct rtpool *p) TP_REALTIME
{
	struct tls_entry *e = tls_entry(p->id);
	struct rtpool_slot *s = my_slot(p, e);
	struct rtpool_mag *m, *prev;
	int64_t i;

	note_low(p, s);
	if (s != NULL) {
		prev = s->prev;
		if (prev->count == 0 && (m = full_take(p, s)) != NULL) {
			if (s->nspare < SPARES)
				s->spare[s->nspare++] =
				    (uint32_t)(prev - p->mags);
			else
				depot_push(p, &p->empty, prev);
			prev = m;
		}
		if (prev->count != 0) {
			m = prev;
			ck_pr_store_32(&m->count, m->count - 1);
			set_mags(e, s, m, s->loaded);
			return take(p, m->idx[m->count]);
		}
	}
	if ((i = stack_pop(p)) >= 0)
		return take(p, (uint32_t)i);
	if (s == NULL && (m = depot_pop(p, &p->full)) != NULL) {
		/* No slot of our own: one block out of a depot magazine. */
		i = m->idx[--m->count];
		depot_push(p, m->count != 0 ? &p->full : &p->empty, m);
		return take(p, (uint32_t)i);
	}
	/* Statistics only: relaxed. */
	ck_pr_inc_64(&p->exhausted);
	ck_pr_store_64(&p->min_free, 0);
	return NULL;
}

void *
rtpool_get(struct rtpool *p)
{
	struct tls_entry *e = tls_entry(p->id);
	struct rtpool_mag *m;
	uint32_t c;

	/* The fast path: plain loads and stores on the thread's own lines. */
	if (e->serial == p->serial) {
		m = e->mag;
		c = m->count;
		if (c != 0) {
			c--;
			/* Relaxed: others read these only for statistics. */
			ck_pr_store_32(&m->count, c);
			if (c < m->low)
				ck_pr_store_32(&m->low, c);
			return take(p, m->idx[c]);
		}
	}
	return get_slow(p);
}

/* A put that found the thread's loaded magazine full, or no slot. */
__attribute__((noinline)) static void
put_slow(struct rtpool *p, uint32_t i) TP_REALTIME
{
	struct tls_entry *e = tls_entry(p->id);
	struct rtpool_slot *s = my_slot(p, e);
	struct rtpool_mag *m, *prev;

	note_low(p, s);
	if (s != NULL) {
		prev = s->prev;
		if (prev->count == p->mag && ((m = s->nspare > 0 ?
		    &p->mags[s->spare[--s->nspare]] : NULL) != NULL ||
		    (m = depot_pop(p, &p->empty)) != NULL)) {
			full_give(p, s, prev);
			prev = m;
		}
		if (prev->count < p->mag) {
			m = prev;
			m->idx[m->count] = i;
			ck_pr_store_32(&m->count, m->count + 1);
			set_mags(e, s, m, s->loaded);
			return;
		}
	}
	stack_push(p, i);
}

int
rtpool_put(struct rtpool *p, void *block)
{
	struct tls_entry *e;
	struct rtpool_mag *m;
	uint32_t c;
	size_t i;

	if (block == NULL)
		return RTPOOL_EINVAL;
	i = rtpool_index(p, block);
	if (i == RTPOOL_NOINDEX)
		return RTPOOL_EFOREIGN;
	/*
	 * Relaxed: a put ordered after the block's last get or put (the
	 * owner's, or one handed the block) reads what that one wrote.
	 */
	if (ck_pr_load_8(&p->state[i]) == RTPOOL_BLOCK_FREE) {
		ck_pr_inc_64(&p->double_returns);	/* statistic: relaxed */
		return RTPOOL_EDOUBLE;
	}
	ck_pr_store_8(&p->state[i], RTPOOL_BLOCK_FREE);
	RTTSAN_RELEASE(block);
	e = tls_entry(p->id);
	if (e->serial == p->serial) {
		m = e->mag;
		c = m->count;
		if (c != p->mag) {
			m->idx[c] = (uint32_t)i;
			/* Relaxed: others read it only for statistics. */
			ck_pr_store_32(&m->count, c + 1);
			return RTPOOL_OK;
		}
	}
	put_slow(p, (uint32_t)i);
	return RTPOOL_OK;
}

void
rtpool_stats(const struct rtpool *p, struct rtpool_stats *out)
{
	uint64_t base, low = 0, held = 0, min;
	unsigned k, threads = 0;

	/*
	 * Relaxed loads of independent counters: each is exact, together
	 * they are only approximately simultaneous (said in the header).
	 */
	base = stack_count(p) + depot_count(p);
	for (k = 0; p->slots != NULL && k < RTPOOL_THREADS; k++) {
		struct rtpool_mag *l, *v;
		uint64_t pc;

		if (ck_pr_load_32(&p->slots[k].owner) == 0)
			continue;
		/* A slot being claimed or returned: NULL for a moment. */
		l = ck_pr_load_ptr(&p->slots[k].loaded);
		v = ck_pr_load_ptr(&p->slots[k].prev);
		if (l == NULL || v == NULL)
			continue;
		threads++;
		/* Stashed magazines are full: prev's count and theirs. */
		pc = ck_pr_load_32(&v->count) +
		    (uint64_t)ck_pr_load_32(&p->slots[k].nstash) * p->mag;
		held += ck_pr_load_32(&l->count) + pc;
		low += ck_pr_load_32(&l->low) + pc;
	}
	min = ck_pr_load_64(&p->min_free);
	out->blocks = p->nblocks;
	out->block_size = p->block_size;
	out->free_now = (size_t)(base + held);
	/* The low since each thread's last event: see the top. */
	out->min_free = (size_t)(base + low < min ? base + low : min);
	out->exhausted = ck_pr_load_64(&p->exhausted);
	out->double_returns = ck_pr_load_64(&p->double_returns);
	out->locked = p->locked;
	out->magazine = p->mag;
	out->stash = p->stash;
	out->threads = threads;
	out->cached = (size_t)held;
	out->cache_bound = (size_t)(2 + p->stash) * p->mag * threads;
}

void
rtpool_stats_reset(struct rtpool *p)
{
	struct rtpool_stats st;
	unsigned k;

	/*
	 * Statistics only: relaxed, racing gets may land on either side.  An
	 * owner's get racing with the reset of its `low` may write back an
	 * older, lower value: min_free then reads low, never high.
	 */
	for (k = 0; p->slots != NULL && k < RTPOOL_THREADS; k++) {
		struct rtpool_mag *l = ck_pr_load_ptr(&p->slots[k].loaded);

		if (ck_pr_load_32(&p->slots[k].owner) != 0 && l != NULL)
			ck_pr_store_32(&l->low, ck_pr_load_32(&l->count));
	}
	rtpool_stats(p, &st);
	ck_pr_store_64(&p->min_free, st.free_now);
	ck_pr_store_64(&p->exhausted, 0);
}

size_t
rtpool_index(const struct rtpool *p, const void *block)
{
	uintptr_t a = (uintptr_t)block, b = (uintptr_t)p->base;
	uint64_t off, q;

	if (p->base == NULL || a < b)
		return RTPOOL_NOINDEX;
	off = a - b;
	/*
	 * off / block_size without a division: block_size is odd << shift,
	 * and multiplying by the odd part's inverse gives the exact quotient
	 * of a multiple of it; of anything else, a product above
	 * 2^64 / odd, hence above nblocks (nblocks * block_size fits).
	 */
	if ((off & (((uint64_t)1 << p->shift) - 1)) != 0)
		return RTPOOL_NOINDEX;
	q = (off >> p->shift) * p->inverse;
	if (q >= p->nblocks)
		return RTPOOL_NOINDEX;
	return (size_t)q;
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

/* Marks magazine m's blocks seen; 0 if one is not free or seen already. */
static int
check_mag(const struct rtpool *p, const struct rtpool_mag *m,
    unsigned char *seen, size_t *n)
{
	uint32_t k;

	if (m->count > p->mag)
		return 0;
	for (k = 0; k < m->count; k++) {
		if (m->idx[k] >= p->nblocks || seen[m->idx[k]]++ ||
		    p->state[m->idx[k]] != RTPOOL_BLOCK_FREE)
			return 0;
		(*n)++;
	}
	return 1;
}

/* Walks a depot stack; 0 if broken.  *where marks each magazine's place. */
static int
check_depot(const struct rtpool *p, uint64_t top, int loaded,
    unsigned char *seen, unsigned char *where, size_t *n, uint64_t *sum)
{
	uint32_t link;

	for (link = (uint32_t)top; link != 0;
	    link = p->mags[link - 1].next) {
		if (link > p->nmags || where[link - 1]++)
			return 0;	/* out of range, twice, or a cycle */
		if ((p->mags[link - 1].count != 0) != loaded)
			return 0;
		*sum += p->mags[link - 1].count;
		/* Its count of blocks below: checked from the bottom up. */
		if (p->mags[link - 1].below - p->mags[link - 1].count !=
		    (p->mags[link - 1].next != 0 ?
		    p->mags[p->mags[link - 1].next - 1].below : 0))
			return 0;
		if (!check_mag(p, &p->mags[link - 1], seen, n))
			return 0;
	}
	return 1;
}

int
rtpool_check(const struct rtpool *p, size_t *nfree)
{
	size_t n = 0, marked = 0, i, len = 0, nstack = 0;
	unsigned char *seen, *where;
	uint64_t sum = 0;
	uint32_t link;
	unsigned k;
	int ok = 1;

	/* Quiescent by contract: plain reads are enough. */
	for (link = (uint32_t)p->head; link != 0;
	    link = (uint32_t)p->links[link - 1]) {
		/* A stack longer than the pool has a cycle. */
		if (link > p->nblocks || len == p->nblocks)
			return RTPOOL_ECORRUPT;
		len++;
	}
	seen = calloc(p->nblocks + 1, 1);
	where = calloc(p->nmags + 1, 1);
	if (seen == NULL || where == NULL) {
		free(seen);
		free(where);
		return RTPOOL_ENOMEM;
	}
	for (link = (uint32_t)p->head; ok && link != 0;
	    link = (uint32_t)p->links[link - 1]) {
		if (p->state[link - 1] != RTPOOL_BLOCK_FREE ||
		    p->links[link - 1] >> 32 != len - nstack ||
		    seen[link - 1]++)
			ok = 0;
		nstack++;
	}
	n = nstack;
	if (p->mag != 0) {
		ok = ok && check_depot(p, p->full, 1, seen, where, &n, &sum) &&
		    sum == depot_count(p) &&
		    check_depot(p, p->empty, 0, seen, where, &n, &sum);
		for (k = 0; ok && k < RTPOOL_THREADS; k++) {
			const struct rtpool_slot *s = &p->slots[k];

			if (s->owner == 0)
				continue;
			if (s->loaded == NULL || s->prev == NULL ||
			    s->nspare > SPARES || s->nstash > p->stash ||
			    where[s->loaded - p->mags]++ ||
			    where[s->prev - p->mags]++ ||
			    !check_mag(p, s->loaded, seen, &n) ||
			    !check_mag(p, s->prev, seen, &n))
				ok = 0;
			for (i = 0; ok && i < s->nspare; i++)
				if (s->spare[i] >= p->nmags ||
				    where[s->spare[i]]++ ||
				    p->mags[s->spare[i]].count != 0)
					ok = 0;
			for (i = 0; ok && i < s->nstash; i++)
				if (s->stash[i] >= p->nmags ||
				    where[s->stash[i]]++ ||
				    p->mags[s->stash[i]].count != p->mag ||
				    !check_mag(p, &p->mags[s->stash[i]], seen,
				    &n))
					ok = 0;
		}
		/* Every magazine somewhere, once. */
		for (i = 0; ok && i < p->nmags; i++)
			if (where[i] != 1)
				ok = 0;
	}
	free(seen);
	free(where);
	if (!ok)
		return RTPOOL_ECORRUPT;
	if (nfree != NULL)
		*nfree = n;
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
