/*
 * Cost of taking and giving back one block: rtpool_get + rtpool_put against
 * malloc + free, on one thread beside a neighbour that churns memory, or on
 * 2 or 4 threads at once.
 *
 * Which malloc: the one this process runs with.  tests/bench/rtpool.sh runs
 * this program once per allocator, with LD_PRELOAD=libjemalloc.so.2 or
 * libtcmalloc_minimal.so.4 or nothing (glibc), and says which with
 * --alloc; the program checks, with dladdr() on the malloc it resolves,
 * that the allocator named is the one loaded, and refuses to run if not.
 * --alloc pool times the pool, --alloc msg the message pool (64-byte
 * messages, zeroed on every get), --alloc none an empty pair, the cost of
 * the clock.
 *
 * The churn (--churn mem, the default) is the same for every row: a thread
 * on the other core streams reads and writes over a 32 MiB buffer mapped
 * and touched before the timing starts.  It makes no allocation and no
 * system call, so what it does does not depend on the allocator measured:
 * an earlier version churned the heap, which for the pool rows ran on
 * glibc (mmap and munmap of 2 MiB blocks, whose TLB shootdowns interrupted
 * the timing thread) and for the tcmalloc rows on tcmalloc (which keeps
 * them), so the rows did not face the same machine.  This one takes the
 * shared cache and the memory bus from the timing thread, as a busy
 * neighbour does.  With --threads 2 or 4 there is no churn thread: the
 * timing threads (pinned in turn to each core, 4 on 2 cores preempting
 * each other) are each other's load, on one shared pool or heap.
 *
 * Patterns: --hold 0 takes a block and gives it back at once; --hold N
 * keeps a FIFO of N blocks in flight, as blocks that travel through rings
 * come back; --burst N takes N blocks and then gives all N back, which
 * empties and fills magazines (and mallocs' thread caches) again and
 * again, so that the pool's depot and the mallocs' central lists are in
 * the loop, contended when several threads run.
 *
 * Timing uses the TSC (lfence; rdtsc ... rdtscp; lfence), converted to ns
 * with a rate measured against CLOCK_MONOTONIC.  Two passes over the same
 * number of pairs.  First each pair is timed alone (with --burst, its get
 * and its put each timed alone, added), for p50, p99, p99.99 and max: not
 * batched, as a batch would hide the outliers those are about; these
 * include the timer's own cost (see --alloc none) and are quantized by the
 * TSC's step (printed as tsc_step).  Then batches of about 1000 pairs are
 * timed, and the median batch divided by its pairs is the typical cost of
 * a pair with the timer out of the way ("batched").  With several threads,
 * the figures are over all threads' samples.
 *
 * Page faults: getrusage(RUSAGE_THREAD) around both passes, summed over
 * the timing threads.  System calls are not counted here: each timing
 * thread calls getppid() just before and just after its two passes, and
 * rtpool.sh runs the benchmark once more under strace -f to count what
 * each thread calls between its two marks (a separate pass, because
 * strace slows every system call down).
 *
 * Prints one line of key=value pairs.
 * Usage: bench_rtpool_alloc --alloc pool|msg|glibc|jemalloc|tcmalloc|none
 *            [--size BYTES] [--hold N | --burst N] [--threads T]
 *            [--blocks N] [--pairs N] [--churn mem|none]
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "rtpool/rtmsg.h"
#include "rtpool/rtpool.h"

#define CHURN_BYTES (32u << 20)
#define BATCH 1000		/* pairs per batch in the batched pass */
#define HOLD_MAX 48		/* most blocks --hold may keep in flight */
#define BURST_MAX 512		/* most blocks --burst may take at once */
#define THREADS_MAX 8

enum kind { K_NONE, K_POOL, K_MSG, K_MALLOC };

/*
 * The neighbour's flags, written on each of its passes, on lines of their
 * own (two, for the adjacent-line prefetcher): beside the globals the
 * timing loop reads on every pair (kind, the pool) they made it miss.
 */
static struct {
	_Alignas(128) unsigned stop, ready;
	uint64_t passes;
} neighbour;

/* What every timing thread shares. */
static enum kind kind;
static struct rtpool pool;
static struct rtmsgpool msgs;
static size_t size = 512, hold, burst, pairs = 1000000;
static double rate;
static pthread_barrier_t start;

/* One timing thread. */
struct timer {
	pthread_t thread;
	int cpu;
	uint32_t *ticks;	/* pairs per-pair samples, then batches */
	size_t nbatches;
	size_t per_batch;	/* pairs in one batch */
	void *held[BURST_MAX > HOLD_MAX ? BURST_MAX : HOLD_MAX];
	uint32_t gets[BURST_MAX];	/* --burst: each get's time */
	size_t hpos;
	long faults, ctxsw;
	int failed;		/* a get found nothing */
	/*
	 * Two cache lines (the pair the adjacent-line prefetcher fetches
	 * together) between one timer's hpos, written on every pair, and the
	 * next timer's first held[] slots in the array: without them every
	 * multi-thread row timed that false sharing with the allocator.
	 */
	char pad_[128];
};

static uint64_t
tsc_begin(void)
{
	uint32_t lo, hi;

	/* lfence: earlier instructions finish before the counter is read. */
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : :
	    "memory");
	return (uint64_t)hi << 32 | lo;
}

static uint64_t
tsc_end(void)
{
	uint32_t lo, hi, aux;

	/* rdtscp waits for earlier instructions; lfence holds later ones. */
	__asm__ __volatile__("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi),
	    "=c"(aux) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* TSC ticks per ns, over 100 ms of busy waiting. */
static double
tsc_per_ns(void)
{
	uint64_t n0 = mono_ns(), t0 = tsc_begin(), n1, t1;

	while ((n1 = mono_ns()) - n0 < 100000000u)
		;
	t1 = tsc_end();
	return (double)(t1 - t0) / (double)(n1 - n0);
}

/*
 * The smallest difference between two back-to-back TSC reads: on some CPUs
 * (the AMD EPYC of the VM this was written on among them) the TSC advances
 * in steps of about 10 ns, and that is then the resolution of every
 * per-pair figure.
 */
static uint64_t
tsc_step(void)
{
	uint64_t step = UINT64_MAX, a, b;
	uint32_t lo, hi;
	unsigned i;

	for (i = 0; i < 100000; i++) {
		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
		a = (uint64_t)hi << 32 | lo;
		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
		b = (uint64_t)hi << 32 | lo;
		if (b > a && b - a < step)
			step = b - a;
	}
	return step;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % sysconf(_SC_NPROCESSORS_ONLN), &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The neighbour: reads and writes every 64th byte of a big buffer, over
 * and over.  No allocation, no system call.
 */
static void *
churn(void *arg)
{
	volatile unsigned char *buf = arg;
	size_t i;

	pin(1);
	/* Relaxed flag polls: they order nothing but the loop's end. */
	while (!ck_pr_load_uint(&neighbour.stop)) {
		for (i = 0; i < CHURN_BYTES; i += 64)
			buf[i] = (unsigned char)(buf[i] + 1);
		/* Single writer, relaxed: the count is only reported. */
		ck_pr_store_64(&neighbour.passes,
		    ck_pr_load_64(&neighbour.passes) + 1);
		ck_pr_store_uint(&neighbour.ready, 1);
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted[0..n). */
static uint32_t
pct(const uint32_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)((double)n * p / 100.0 + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* Which library the malloc this process calls comes from. */
static const char *
malloc_library(void)
{
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;

	if (m == NULL || dladdr(m, &info) == 0 || info.dli_fname == NULL)
		return "?";
	return info.dli_fname;
}

static inline void *
get(void)
{
	void *p;

	switch (kind) {
	case K_POOL:
		p = rtpool_get(&pool);
		break;
	case K_MSG:
		p = rtmsg_get(&msgs);
		break;
	default:
		p = malloc(size);
		break;
	}
	if (p != NULL)
		*(volatile uint64_t *)p = 1;
	/* Keeps the compiler from pairing malloc and free away. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
	return p;
}

static inline void
give(void *p)
{
	switch (kind) {
	case K_POOL:
		rtpool_put(&pool, p);
		break;
	case K_MSG:
		rtmsg_put(&msgs, p);
		break;
	default:
		free(p);
		break;
	}
}

/* One pair of --hold: take a block, give back this one or the oldest. */
static inline void
pair(struct timer *t)
{
	void *p, *old;

	if (kind == K_NONE) {
		__asm__ __volatile__("" : : : "memory");
		return;
	}
	if ((p = get()) == NULL) {
		t->failed = 1;
		return;
	}
	if (hold == 0) {
		give(p);
		return;
	}
	old = t->held[t->hpos];
	t->held[t->hpos] = p;
	if (++t->hpos == hold)
		t->hpos = 0;
	if (old != NULL)
		give(old);
}

/* --hold: n pairs into ticks[], each timed alone or in batches of b. */
static void
timed_hold(struct timer *t, uint32_t *ticks, size_t n, size_t b)
{
	uint64_t t0, t1;
	size_t i, j;

	for (i = 0; i < n / b; i++) {
		t0 = tsc_begin();
		for (j = 0; j < b; j++)
			pair(t);
		t1 = tsc_end();
		ticks[i] = (uint32_t)(t1 - t0);
	}
}

/*
 * --burst: n pairs (a multiple of burst).  Alone (b == 1): each get and
 * each put timed, the i-th get's time added to the i-th put's.  Batched:
 * each run of b pairs (a multiple of burst) timed as one.
 */
static void
timed_burst(struct timer *t, uint32_t *ticks, size_t n, size_t b)
{
	uint64_t t0, t1;
	size_t i, k, c;

	if (b == 1) {
		for (i = 0; i < n / burst; i++) {
			for (k = 0; k < burst; k++) {
				t0 = tsc_begin();
				t->held[k] = get();
				t1 = tsc_end();
				t->gets[k] = (uint32_t)(t1 - t0);
				if (t->held[k] == NULL)
					t->failed = 1;
			}
			for (k = 0; k < burst; k++) {
				t0 = tsc_begin();
				if (t->held[k] != NULL)
					give(t->held[k]);
				t1 = tsc_end();
				ticks[i * burst + k] =
				    t->gets[k] + (uint32_t)(t1 - t0);
			}
		}
		return;
	}
	for (i = 0; i < n / b; i++) {
		t0 = tsc_begin();
		for (c = 0; c < b / burst; c++) {
			for (k = 0; k < burst; k++)
				t->held[k] = get();
			for (k = 0; k < burst; k++)
				if (t->held[k] != NULL)
					give(t->held[k]);
		}
		t1 = tsc_end();
		ticks[i] = (uint32_t)(t1 - t0);
	}
}

static void
timed(struct timer *t, uint32_t *ticks, size_t n, size_t b)
{
	if (burst != 0 && kind != K_NONE)
		timed_burst(t, ticks, n, b);
	else
		timed_hold(t, ticks, n, b);
}

static void *
timer_main(void *arg)
{
	struct timer *t = arg;
	struct rusage r0, r1;
	size_t i;

	pin(t->cpu);
	/* Warm up: caches, magazines, the allocator's thread cache. */
	timed(t, t->ticks, pairs < 100000 ? pairs : 100000, 1);
	pthread_barrier_wait(&start);
	getrusage(RUSAGE_THREAD, &r0);
	/* The strace pass counts this thread's system calls between these. */
	(void)getppid();
	timed(t, t->ticks, pairs, 1);
	/* The same pairs again in batches: the typical cost, timer aside. */
	timed(t, t->ticks + pairs, pairs, t->per_batch);
	(void)getppid();
	getrusage(RUSAGE_THREAD, &r1);
	t->faults = (r1.ru_minflt - r0.ru_minflt) +
	    (r1.ru_majflt - r0.ru_majflt);
	t->ctxsw = (r1.ru_nivcsw - r0.ru_nivcsw) +
	    (r1.ru_nvcsw - r0.ru_nvcsw);
	/* Give back whatever the FIFO still holds. */
	for (i = 0; i < HOLD_MAX && kind != K_NONE; i++)
		if (burst == 0 && t->held[i] != NULL)
			give(t->held[i]);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rtpool_alloc --alloc pool|msg|glibc|"
	    "jemalloc|tcmalloc|none [--size BYTES] [--hold N (<= %d) | "
	    "--burst N (<= %d)] [--threads T (<= %d)] [--blocks N] "
	    "[--pairs N] [--churn mem|none]\n", HOLD_MAX, BURST_MAX,
	    THREADS_MAX);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *alloc = NULL, *lib, *want = NULL, *churn_kind = "mem";
	size_t nticks, blocks = 0, per, all, nb;
	unsigned threads = 1, u;
	int a, failed = 0;
	struct timer *tm;
	struct rtpool_stats ps;
	uint32_t *merged;
	long faults = 0, ctxsw = 0;
	double p50, p99, p9999, pmax, batched;
	unsigned char *churn_buf = NULL;
	pthread_t ct;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--alloc") == 0 && a + 1 < argc)
			alloc = argv[++a];
		else if (strcmp(argv[a], "--size") == 0 && a + 1 < argc)
			size = strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--pairs") == 0 && a + 1 < argc)
			pairs = strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--hold") == 0 && a + 1 < argc)
			hold = strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--burst") == 0 && a + 1 < argc)
			burst = strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc)
			threads = (unsigned)strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--blocks") == 0 && a + 1 < argc)
			blocks = strtoul(argv[++a], NULL, 0);
		else if (strcmp(argv[a], "--churn") == 0 && a + 1 < argc)
			churn_kind = argv[++a];
		else
			usage();
	}
	if (alloc == NULL || size == 0 || pairs < BATCH || hold > HOLD_MAX ||
	    burst > BURST_MAX || (hold != 0 && burst != 0) || threads < 1 ||
	    threads > THREADS_MAX || (strcmp(churn_kind, "mem") != 0 &&
	    strcmp(churn_kind, "none") != 0))
		usage();
	if (strcmp(alloc, "none") == 0)
		kind = K_NONE;
	else if (strcmp(alloc, "pool") == 0)
		kind = K_POOL;
	else if (strcmp(alloc, "msg") == 0) {
		kind = K_MSG;
		size = sizeof(struct rtmsg);
	} else if (strcmp(alloc, "glibc") == 0)
		want = "libc.so";
	else if (strcmp(alloc, "jemalloc") == 0)
		want = "jemalloc";
	else if (strcmp(alloc, "tcmalloc") == 0)
		want = "tcmalloc";
	else
		usage();
	if (want != NULL)
		kind = K_MALLOC;
	lib = malloc_library();
	if (want != NULL && strstr(lib, want) == NULL) {
		fprintf(stderr, "bench_rtpool_alloc: --alloc %s, but malloc "
		    "comes from %s: run it with LD_PRELOAD (see "
		    "tests/bench/rtpool.sh)\n", alloc, lib);
		return 2;
	}
	/* A batch: about BATCH pairs, whole bursts. */
	per = burst != 0 && kind != K_NONE ?
	    (BATCH + burst - 1) / burst * burst : BATCH;
	/* Whole batches and whole bursts: pairs rounded down to both. */
	pairs = pairs / per * per;
	nb = pairs / per;
	/* Enough for every thread's blocks in flight and its magazines. */
	if (blocks == 0) {
		blocks = threads * ((hold > burst ? hold : burst) + 2 *
		    RTPOOL_MAG + 16);
		if (blocks < RTPOOL_MAG_MIN_BLOCKS)
			blocks = RTPOOL_MAG_MIN_BLOCKS;
	}
	if ((kind == K_POOL && rtpool_init(&pool, size, blocks) !=
	    RTPOOL_OK) || (kind == K_MSG && rtmsgpool_init(&msgs, blocks) !=
	    RTPOOL_OK)) {
		fprintf(stderr, "bench_rtpool_alloc: rtpool_init failed\n");
		return 1;
	}
	tm = calloc(threads, sizeof(*tm));
	all = (size_t)threads * pairs;
	merged = malloc(all * sizeof(*merged) + threads * nb *
	    sizeof(*merged));
	if (tm == NULL || merged == NULL) {
		fprintf(stderr, "bench_rtpool_alloc: out of memory\n");
		return 1;
	}
	/* The samples: locked and touched, so recording them never faults. */
	nticks = pairs + nb;
	for (u = 0; u < threads; u++) {
		tm[u].cpu = (int)u;
		tm[u].per_batch = per;
		tm[u].nbatches = nb;
		tm[u].ticks = mmap(NULL, nticks * sizeof(uint32_t),
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_POPULATE, -1, 0);
		if (tm[u].ticks == MAP_FAILED) {
			perror("bench_rtpool_alloc: mmap");
			return 1;
		}
		(void)mlock(tm[u].ticks, nticks * sizeof(uint32_t));
		memset(tm[u].ticks, 0, nticks * sizeof(uint32_t));
	}
	pin(0);
	rate = tsc_per_ns();
	if (threads == 1 && strcmp(churn_kind, "mem") == 0) {
		churn_buf = mmap(NULL, CHURN_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (churn_buf == MAP_FAILED ||
		    pthread_create(&ct, NULL, churn, churn_buf) != 0) {
			fprintf(stderr, "bench_rtpool_alloc: no churn\n");
			return 1;
		}
		/* Wait until it has gone through its buffer once. */
		while (!ck_pr_load_uint(&neighbour.ready))
			usleep(1000);
	} else
		churn_kind = "none";
	pthread_barrier_init(&start, NULL, threads);
	for (u = 0; u < threads; u++)
		if (pthread_create(&tm[u].thread, NULL, timer_main,
		    &tm[u]) != 0) {
			fprintf(stderr, "bench_rtpool_alloc: no thread\n");
			return 1;
		}
	for (u = 0; u < threads; u++) {
		pthread_join(tm[u].thread, NULL);
		faults += tm[u].faults;
		ctxsw += tm[u].ctxsw;
		failed |= tm[u].failed;
	}
	if (churn_buf != NULL) {
		ck_pr_store_uint(&neighbour.stop, 1);
		pthread_join(ct, NULL);
	}
	if (failed) {
		fprintf(stderr, "bench_rtpool_alloc: a get found nothing\n");
		return 1;
	}
	/* Every thread's samples together. */
	for (u = 0; u < threads; u++) {
		memcpy(merged + u * pairs, tm[u].ticks, pairs *
		    sizeof(*merged));
		memcpy(merged + all + u * nb, tm[u].ticks + pairs, nb *
		    sizeof(*merged));
	}
	qsort(merged, all, sizeof(*merged), cmp_u32);
	p50 = pct(merged, all, 50) / rate;
	p99 = pct(merged, all, 99) / rate;
	p9999 = pct(merged, all, 99.99) / rate;
	pmax = merged[all - 1] / rate;
	qsort(merged + all, threads * nb, sizeof(*merged), cmp_u32);
	batched = pct(merged + all, threads * nb, 50) / rate / (double)per;
	memset(&ps, 0, sizeof(ps));
	if (kind == K_POOL)
		rtpool_stats(&pool, &ps);
	else if (kind == K_MSG)
		rtmsgpool_stats(&msgs, &ps);
	printf("alloc=%s size=%zu hold=%zu burst=%zu threads=%u pairs=%zu "
	    "churn=%s batched=%.1f p50=%.1f p99=%.1f p9999=%.1f max=%.1f "
	    "tsc_step=%.1f faults=%ld ctxsw=%ld churn_passes=%llu blocks=%zu "
	    "magazine=%u malloc=%s\n", alloc, size, hold, burst, threads,
	    pairs, churn_kind, batched, p50, p99, p9999, pmax,
	    tsc_step() / rate, faults, ctxsw,
	    (unsigned long long)ck_pr_load_64(&neighbour.passes),
	    kind == K_POOL || kind == K_MSG ? blocks : 0, ps.magazine, lib);
	if (kind == K_POOL)
		rtpool_done(&pool);
	else if (kind == K_MSG)
		rtmsgpool_done(&msgs);
	return 0;
}
