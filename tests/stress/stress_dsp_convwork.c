/*
 * Stress test of the convolver's background work handed to a real thread
 * (dsp_work_hand/dsp_work_run), the way the daemon's workers run it: the
 * main thread plays the audio callback, in blocks of 64 frames; a runner
 * thread, woken by the stage's sem_post, runs the jobs.
 *
 *   lockstep   after each block that submitted a job, the main thread
 *              waits for the runner's round: nothing may be late, and the
 *              output must be bit-identical to the same stage doing its
 *              work in process();
 *   free       the two run at their own pace (the main thread pausing
 *              now and then, as a callback does): whatever is late is
 *              counted, the output stays finite, and with nothing late
 *              it is again bit-identical.
 *
 * Under ThreadSanitizer (make test runs it), the free run proves the
 * handoff's order: the runner's input is seen through posted's release
 * and the semaphore, its output only through done's release/acquire.
 * Prints TAP; exits non-zero on failure.
 * Usage: stress_dsp_convwork [--quick]
 */
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/dsp.h"
#include "tests/stress/tap.h"
#include "tests/noise.h"

#define RATE 48000.0
#define P 64
#define CH 2
#define TAPS 20000

static sem_t wake_sem, round_sem;
static atomic_int stop;
static struct dsp_stage *handed;
static _Atomic unsigned wakes;

static void wake(void *arg) TP_REALTIME;

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static void
wake(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&wakes, 1, memory_order_relaxed);
	sem_post(&wake_sem);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void *
runner(void *arg)
{
	struct dsp_work *w;
	unsigned k;

	(void)arg;
	for (;;) {
		while (sem_wait(&wake_sem) != 0)
			;
		if (atomic_load(&stop))
			break;
		for (k = 0; (w = dsp_stage_work(handed, k)) != NULL; k++)
			(void)dsp_work_run(w);
		sem_post(&round_sem);
	}
	return NULL;
}

static struct dsp_stage *
make(const float *ir)
{
	const struct dsp_type *t = dsp_type_find("convolver");
	struct dsp_setup s;
	char err[256];
	struct dsp_stage *st;

	dsp_setup_init(&s, t, RATE, CH, P);
	s.ir = ir;
	s.ir_frames = TAPS;
	s.ir_channels = CH;
	s.partition = P;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return st;
}

/* One run of frames through a fresh handed stage; returns its late
   count, the output in y. */
static uint64_t
run(const float *ir, const float *x, float *y, size_t frames, int lockstep)
{
	struct dsp_work *w;
	struct timespec pause = { 0, 200000 };
	pthread_t th;
	unsigned k, before;
	uint64_t late;
	size_t i;

	handed = make(ir);
	for (k = 0; (w = dsp_stage_work(handed, k)) != NULL; k++)
		dsp_work_hand(w, wake, NULL);
	atomic_store(&stop, 0);
	sem_init(&wake_sem, 0, 0);
	sem_init(&round_sem, 0, 0);
	pthread_create(&th, NULL, runner, NULL);
	for (i = 0; i + P <= frames; i += P) {
		before = atomic_load(&wakes);
		dsp_stage_process(handed, x + i * CH, y + i * CH, P);
		if (lockstep) {
			for (k = atomic_load(&wakes) - before; k > 0; k--)
				while (sem_wait(&round_sem) != 0)
					;
		} else if ((i / P) % 16 == 15)
			nanosleep(&pause, NULL);
	}
	atomic_store(&stop, 1);
	sem_post(&wake_sem);
	pthread_join(th, NULL);
	late = dsp_stage_late(handed);
	dsp_stage_del(handed);
	sem_destroy(&wake_sem);
	sem_destroy(&round_sem);
	return late;
}

int
main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	size_t frames = (size_t)(quick ? 1 : 8) * 48000 / P * P, i;
	float *ir = malloc(sizeof(float) * TAPS * CH);
	float *x = malloc(sizeof(float) * frames * CH);
	float *want = calloc(frames * CH, sizeof(float));
	float *y = calloc(frames * CH, sizeof(float));
	struct dsp_stage *ref;
	uint64_t late;
	int finite = 1, n = 0;

	noise(ir, (size_t)TAPS * CH, 3);
	noise(x, frames * CH, 4);
	ref = make(ir);
	for (i = 0; i + P <= frames; i += P)
		dsp_stage_process(ref, x + i * CH, want + i * CH, P);
	dsp_stage_del(ref);

	late = run(ir, x, y, frames, 1);
	tap(++n, late == 0, "lockstep: nothing late (%llu)",
	    (unsigned long long)late);
	tap(++n, memcmp(y, want, sizeof(float) * frames * CH) == 0,
	    "lockstep: bit-identical to the work done in process()");

	late = run(ir, x, y, frames, 0);
	for (i = 0; i < frames * CH; i++)
		finite &= isfinite(y[i]) != 0;
	tap(++n, finite, "free: the output is finite (%llu late partitions)",
	    (unsigned long long)late);
	tap(++n, late > 0 || memcmp(y, want, sizeof(float) * frames * CH) == 0,
	    "free: with nothing late, bit-identical too");
	printf("1..%d\n", n);
	free(ir);
	free(x);
	free(want);
	free(y);
	return failures ? 1 : 0;
}
