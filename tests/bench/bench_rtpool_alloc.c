/*
 * Cost of taking and giving back one block: rtpool_get + rtpool_put against
 * malloc + free, while a second thread churns the heap (mallocs and frees
 * of random sizes, 16 B to 2 MiB, a working set of 4096 live blocks).
 *
 * Which malloc: the one this process runs with.  tests/bench/rtpool.sh runs
 * this program once per allocator, with LD_PRELOAD=libjemalloc.so.2 or
 * libtcmalloc_minimal.so.4 or nothing (glibc), and says which with
 * --alloc; the program checks, with dladdr() on the malloc it resolves,
 * that the allocator named is the one loaded, and refuses to run if not.
 * Preloading (rather than dlopen()ing the allocator and calling its
 * symbols) measures each allocator as it is used in production: the whole
 * process, the churning thread included, allocates from it, with its
 * thread caches and its purging, and nothing allocated by one malloc is
 * ever freed by another.  --alloc pool times the pool (the churn then runs
 * on glibc); --alloc none times an empty pair, the cost of the clock.
 *
 * Timing uses the TSC (lfence; rdtsc ... rdtscp; lfence), converted to ns
 * with a rate measured against CLOCK_MONOTONIC.  Two passes over the same
 * number of pairs.  First each pair is timed alone, for p50, p99, p99.99
 * and max: not batched, as a batch would hide the outliers those are
 * about; these include the timer's own cost (see --alloc none) and are
 * quantized by the TSC's step (printed as tsc_step).  Then batches of 1000
 * pairs are timed, and the median batch divided by 1000 is the typical
 * cost of a pair with the timer out of the way ("batched").
 *
 * Around both passes, on the timing thread only: page faults from
 * getrusage(RUSAGE_THREAD), and system calls from a perf_event_open()
 * counter on the raw_syscalls:sys_enter tracepoint, less what enabling and
 * disabling the counter alone count; "n/a" when the kernel refuses that
 * counter (perf_event_paranoid, no tracefs).
 *
 * Prints one line of key=value pairs.
 * Usage: bench_rtpool_alloc --alloc pool|glibc|jemalloc|tcmalloc|none
 *            [--size BYTES] [--hold N] [--pairs N] [--no-churn]
 */
#include <dlfcn.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "rtpool/rtpool.h"

#define CHURN_SLOTS 4096
#define POOL_BLOCKS 64		/* more than HOLD_MAX */
#define BATCH 1000		/* pairs per batch in the batched pass */
#define HOLD_MAX 48		/* most blocks --hold may keep in flight */

enum kind { K_NONE, K_POOL, K_MALLOC };

static unsigned churn_stop, churn_ready;
static uint64_t churn_ops;

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

/* TSC ticks per ns, over 200 ms of busy waiting. */
static double
tsc_per_ns(void)
{
	uint64_t n0 = mono_ns(), t0 = tsc_begin(), n1, t1;

	while ((n1 = mono_ns()) - n0 < 200000000u)
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
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static void *
churn(void *arg)
{
	void *slot[CHURN_SLOTS] = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull, r;
	size_t size;
	unsigned i;

	(void)arg;
	pin(1);
	/* Relaxed flag polls: they order nothing but the loop's end. */
	while (!ck_pr_load_uint(&churn_stop)) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		r = s;
		i = (unsigned)(r % CHURN_SLOTS);
		free(slot[i]);
		/*
		 * Sizes spread over doublings from 16 B to 128 KiB; one in
		 * 256 up to 2 MiB, past glibc's mmap threshold.
		 */
		size = (size_t)16 << ((r >> 20) % ((r >> 40) % 256 ? 13 : 17));
		size += (r >> 32) % size;
		slot[i] = malloc(size);
		if (slot[i] != NULL)
			memset(slot[i], (int)i, size < 256 ? size : 256);
		/*
		 * Single writer, relaxed: the count is only reported, and
		 * churn_ready only says "warm enough", ordering nothing.
		 */
		ck_pr_store_64(&churn_ops, ck_pr_load_64(&churn_ops) + 1);
		if (ck_pr_load_64(&churn_ops) == 200000)
			ck_pr_store_uint(&churn_ready, 1);
	}
	for (i = 0; i < CHURN_SLOTS; i++)
		free(slot[i]);
	return NULL;
}

static int
open_counter(uint32_t type, uint64_t config)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	a.disabled = 1;
	/* This thread only, any CPU: the churning thread is not counted. */
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

/* The id of raw_syscalls:sys_enter, or -1. */
static long
sys_enter_id(void)
{
	static const char *const path[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	long id = -1;
	unsigned i;
	FILE *f;

	for (i = 0; i < 2 && id < 0; i++) {
		if ((f = fopen(path[i], "r")) == NULL)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
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

/*
 * One pair: take a block, write into it, and give one back: the same block
 * (hold 0), or the one taken `hold` pairs earlier, as blocks that travel
 * through rings come back (hold > 0: a FIFO of that many blocks in
 * flight, which overflows the small per-thread caches of mallocs).
 */
static void *held[HOLD_MAX];
static size_t hpos;

static inline void
give(enum kind k, struct rtpool *pool, void *p)
{
	if (k == K_POOL)
		rtpool_put(pool, p);
	else
		free(p);
}

static inline void
pair(enum kind k, struct rtpool *pool, size_t size, size_t hold, size_t i)
{
	void *p, *old;

	if (k == K_NONE) {
		__asm__ __volatile__("" : : : "memory");
		return;
	}
	p = k == K_POOL ? rtpool_get(pool) : malloc(size);
	*(volatile uint64_t *)p = i;
	/* Keeps the compiler from pairing malloc and free away. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
	if (hold == 0) {
		give(k, pool, p);
		return;
	}
	old = held[hpos];
	held[hpos] = p;
	if (++hpos == hold)
		hpos = 0;
	if (old != NULL)
		give(k, pool, old);
}

/* Gives back whatever the FIFO still holds. */
static void
release_held(enum kind k, struct rtpool *pool)
{
	size_t i;

	for (i = 0; i < HOLD_MAX; i++) {
		if (held[i] != NULL && k != K_NONE)
			give(k, pool, held[i]);
		held[i] = NULL;
	}
	hpos = 0;
}

/*
 * The timed loop: n pairs, into ticks[].  With batch 1 each pair is timed
 * alone; with batch b > 1, each of n / b runs of b pairs is timed as one
 * and ticks[] gets n / b totals.  The kind is tested inside the loop, a
 * branch that always goes the same way and so costs next to nothing.
 */
static void
timed(enum kind k, struct rtpool *pool, size_t size, size_t hold,
    uint32_t *ticks, size_t n, size_t batch)
{
	uint64_t t0, t1;
	size_t i, j;

	for (i = 0; i < n / batch; i++) {
		t0 = tsc_begin();
		for (j = 0; j < batch; j++)
			pair(k, pool, size, hold, j);
		t1 = tsc_end();
		ticks[i] = (uint32_t)(t1 - t0);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rtpool_alloc --alloc pool|glibc|"
	    "jemalloc|tcmalloc|none [--size BYTES] [--hold N (<= %d)] "
	    "[--pairs N] [--no-churn]\n", HOLD_MAX);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *alloc = NULL, *lib, *want = NULL;
	size_t size = 512, pairs = 1000000, nticks, hold = 0;
	int churning = 1, sc_fd = -1, a;
	long id;
	enum kind k;
	struct rtpool pool;
	struct rusage r0, r1;
	uint32_t *ticks;
	uint64_t sc_base = 0, sc = 0;
	long long syscalls = -1;
	double rate, p50, p99, p9999, pmax, batched;
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
		else if (strcmp(argv[a], "--no-churn") == 0)
			churning = 0;
		else
			usage();
	}
	if (alloc == NULL || size == 0 || pairs < BATCH || hold > HOLD_MAX)
		usage();
	if (strcmp(alloc, "none") == 0)
		k = K_NONE;
	else if (strcmp(alloc, "pool") == 0)
		k = K_POOL;
	else if (strcmp(alloc, "glibc") == 0)
		want = "libc.so";
	else if (strcmp(alloc, "jemalloc") == 0)
		want = "jemalloc";
	else if (strcmp(alloc, "tcmalloc") == 0)
		want = "tcmalloc";
	else
		usage();
	if (want != NULL)
		k = K_MALLOC;
	lib = malloc_library();
	if (want != NULL && strstr(lib, want) == NULL) {
		fprintf(stderr, "bench_rtpool_alloc: --alloc %s, but malloc "
		    "comes from %s: run it with LD_PRELOAD (see "
		    "tests/bench/rtpool.sh)\n", alloc, lib);
		return 2;
	}

	/* The samples: locked and touched, so recording them never faults. */
	/* pairs per-pair samples, then pairs / BATCH batch samples. */
	nticks = pairs + pairs / BATCH;
	ticks = mmap(NULL, nticks * sizeof(*ticks), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ticks == MAP_FAILED) {
		perror("bench_rtpool_alloc: mmap");
		return 1;
	}
	(void)mlock(ticks, nticks * sizeof(*ticks));
	memset(ticks, 0, nticks * sizeof(*ticks));
	if (rtpool_init(&pool, size, POOL_BLOCKS) != RTPOOL_OK) {
		fprintf(stderr, "bench_rtpool_alloc: rtpool_init failed\n");
		return 1;
	}
	pin(0);
	rate = tsc_per_ns();
	if (churning) {
		if (pthread_create(&ct, NULL, churn, NULL) != 0) {
			fprintf(stderr, "bench_rtpool_alloc: no thread\n");
			return 1;
		}
		/* Wait until the heap is in its churning steady state. */
		while (!ck_pr_load_uint(&churn_ready))
			usleep(1000);
	}
	if ((id = sys_enter_id()) >= 0)
		sc_fd = open_counter(PERF_TYPE_TRACEPOINT, (uint64_t)id);
	if (sc_fd >= 0) {
		/* What enabling and disabling alone count. */
		ioctl(sc_fd, PERF_EVENT_IOC_RESET, 0);
		ioctl(sc_fd, PERF_EVENT_IOC_ENABLE, 0);
		ioctl(sc_fd, PERF_EVENT_IOC_DISABLE, 0);
		if (read(sc_fd, &sc_base, sizeof(sc_base)) !=
		    (ssize_t)sizeof(sc_base))
			sc_fd = -1;
	}
	/* Warm up: caches, the allocator's thread cache, branch history. */
	timed(k, &pool, size, hold, ticks, pairs < 100000 ? pairs : 100000,
	    1);

	getrusage(RUSAGE_THREAD, &r0);
	if (sc_fd >= 0) {
		ioctl(sc_fd, PERF_EVENT_IOC_RESET, 0);
		ioctl(sc_fd, PERF_EVENT_IOC_ENABLE, 0);
	}
	timed(k, &pool, size, hold, ticks, pairs, 1);
	/* The same pairs again in batches: the typical cost, timer aside. */
	timed(k, &pool, size, hold, ticks + pairs, pairs, BATCH);
	if (sc_fd >= 0) {
		ioctl(sc_fd, PERF_EVENT_IOC_DISABLE, 0);
		if (read(sc_fd, &sc, sizeof(sc)) == (ssize_t)sizeof(sc))
			syscalls = (long long)(sc - sc_base);
	}
	getrusage(RUSAGE_THREAD, &r1);
	/* Sorting allocates (qsort): only once the counters are read. */
	qsort(ticks, pairs, sizeof(*ticks), cmp_u32);
	p50 = pct(ticks, pairs, 50) / rate;
	p99 = pct(ticks, pairs, 99) / rate;
	p9999 = pct(ticks, pairs, 99.99) / rate;
	pmax = ticks[pairs - 1] / rate;
	qsort(ticks + pairs, pairs / BATCH, sizeof(*ticks), cmp_u32);
	batched = pct(ticks + pairs, pairs / BATCH, 50) / rate / BATCH;

	release_held(k, &pool);
	if (churning) {
		ck_pr_store_uint(&churn_stop, 1);
		pthread_join(ct, NULL);
	}
	printf("alloc=%s size=%zu hold=%zu pairs=%zu churn=%d batched=%.1f "
	    "p50=%.1f p99=%.1f p9999=%.1f max=%.1f tsc_step=%.1f faults=%ld "
	    "syscalls=", alloc, size, hold, pairs, churning, batched, p50, p99,
	    p9999, pmax,
	    tsc_step() / rate,
	    (r1.ru_minflt - r0.ru_minflt) + (r1.ru_majflt - r0.ru_majflt));
	if (syscalls >= 0)
		printf("%lld", syscalls);
	else
		printf("n/a");
	printf(" ctxsw=%ld churn_ops=%llu malloc=%s\n",
	    (r1.ru_nivcsw - r0.ru_nivcsw) + (r1.ru_nvcsw - r0.ru_nvcsw),
	    (unsigned long long)ck_pr_load_64(&churn_ops), lib);
	rtpool_done(&pool);
	return 0;
}
