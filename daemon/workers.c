/*
 * Worker threads for the stages' background work; see workers.h.  Each
 * worker sleeps on its semaphore, and on every wake runs all the jobs
 * pending in its works (dsp_work_run()), in the order the table holds
 * them.  What it does not do: decide what a job is (dsp/), know about the
 * engine (the control thread tells it the audio thread's id), or touch a
 * chain after dsp_chain_del() began (the chain's on_del hook removes its
 * works under the worker's lock, so it waits for a job in progress).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"
#include "daemon/workers.h"

static void wake(void *arg) TP_REALTIME;

/*
 * sem_post: an atomic increment, and a futex wake only when the worker
 * sleeps; it never blocks.  RealtimeSanitizer lets it pass (zita-
 * convolver wakes its threads the same way); clang's effect analysis
 * objects only because glibc does not mark it nonblocking.
 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
static void
wake(void *arg)
{
	(void)sem_post(arg);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void *
worker_main(void *arg)
{
	struct workers_thread *t = arg;
	struct workers *w = t->w;
	struct timespec d;
	unsigned i;

	for (;;) {
		while (sem_wait(&t->wake) != 0 && errno == EINTR)
			;
		if (atomic_load_explicit(&w->stop, memory_order_acquire))
			break;
		if (w->delay_ns > 0) {
			d.tv_sec = (time_t)(w->delay_ns / 1000000000u);
			d.tv_nsec = (long)(w->delay_ns % 1000000000u);
			nanosleep(&d, NULL);
		}
		pthread_mutex_lock(&t->lock);
		for (i = 0; i < t->n; i++)
			(void)dsp_work_run(t->work[i]);
		pthread_mutex_unlock(&t->lock);
	}
	return NULL;
}

int
workers_init(struct workers *w, char *err, size_t errlen)
{
	const char *delay = getenv("TIDEPOOL_TEST_WORKER_DELAY_MS");
	unsigned r;

	memset(w, 0, sizeof(*w));
	atomic_init(&w->stop, 0);
	w->audio_policy = -1;
	for (r = 0; r < WORKERS_THREADS; r++) {
		w->th[r].w = w;
		w->th[r].rank = r;
		if (sem_init(&w->th[r].wake, 0, 0) != 0 ||
		    pthread_mutex_init(&w->th[r].lock, NULL) != 0) {
			snprintf(err, errlen, "workers: %s", strerror(errno));
			return -1;
		}
	}
	if (delay != NULL && *delay != '\0') {
		w->delay_ns = (uint64_t)strtoul(delay, NULL, 10) * 1000000u;
		log_msg("TEST: every worker sleeps %s ms before each round of "
		    "work (TIDEPOOL_TEST_WORKER_DELAY_MS)", delay);
	}
	return 0;
}

int
workers_start(struct workers *w, char *err, size_t errlen)
{
	unsigned r;
	int e;

	for (r = 0; r < WORKERS_THREADS; r++) {
		e = pthread_create(&w->th[r].thread, NULL, worker_main,
		    &w->th[r]);
		if (e != 0) {
			snprintf(err, errlen, "workers: cannot start a thread: "
			    "%s", strerror(e));
			workers_done(w);
			return -1;
		}
		w->th[r].started = 1;
	}
	return 0;
}

void
workers_done(struct workers *w)
{
	unsigned r;

	/* Release: a worker that wakes and sees stop leaves. */
	atomic_store_explicit(&w->stop, 1, memory_order_release);
	for (r = 0; r < WORKERS_THREADS; r++) {
		if (!w->th[r].started)
			continue;
		sem_post(&w->th[r].wake);
		pthread_join(w->th[r].thread, NULL);
		w->th[r].started = 0;
	}
	for (r = 0; r < WORKERS_THREADS; r++) {
		sem_destroy(&w->th[r].wake);
		pthread_mutex_destroy(&w->th[r].lock);
	}
}

/* dsp_chain_del()'s hook: c's works leave their workers. */
static void
release(void *arg, struct dsp_chain *c)
{
	struct workers *w = arg;
	struct workers_thread *t;
	struct dsp_stage *st;
	unsigned r, i, j;

	for (r = 0; r < WORKERS_THREADS; r++) {
		t = &w->th[r];
		pthread_mutex_lock(&t->lock);
		for (i = j = 0; i < t->n; i++)
			if (t->chain[i] != c) {
				t->work[j] = t->work[i];
				t->chain[j++] = t->chain[i];
			}
		t->n = j;
		pthread_mutex_unlock(&t->lock);
	}
	for (i = 0; (st = dsp_chain_stage(c, i)) != NULL; i++)
		w->retired_late += dsp_stage_late(st);
	for (i = j = 0; i < w->nchains; i++)
		if (w->chains[i] != c)
			w->chains[j++] = w->chains[i];
	w->nchains = j;
}

int
workers_adopt(struct workers *w, struct dsp_chain *c, char *err,
    size_t errlen)
{
	unsigned need[WORKERS_THREADS] = { 0 }, r, i, k;
	struct dsp_stage *st;
	struct dsp_work *wk;
	struct workers_thread *t;

	for (i = 0; (st = dsp_chain_stage(c, i)) != NULL; i++)
		for (k = 0; dsp_stage_work(st, k) != NULL; k++)
			need[k < WORKERS_THREADS ? k : WORKERS_THREADS - 1]++;
	for (r = 0; r < WORKERS_THREADS; r++)
		if (w->th[r].n + need[r] > WORKERS_WORKS ||
		    w->nchains == WORKERS_CHAINS) {
			snprintf(err, errlen, "workers: more background work "
			    "than %u per worker in %u chains", WORKERS_WORKS,
			    WORKERS_CHAINS);
			return -1;
		}
	for (i = 0; (st = dsp_chain_stage(c, i)) != NULL; i++)
		for (k = 0; (wk = dsp_stage_work(st, k)) != NULL; k++) {
			t = &w->th[k < WORKERS_THREADS ? k :
			    WORKERS_THREADS - 1];
			dsp_work_hand(wk, wake, &t->wake);
			pthread_mutex_lock(&t->lock);
			t->work[t->n] = wk;
			t->chain[t->n++] = c;
			pthread_mutex_unlock(&t->lock);
		}
	w->chains[w->nchains++] = c;
	dsp_chain_on_del(c, release, w);
	return 0;
}

void
workers_follow(struct workers *w, int audio_tid)
{
	struct sched_param sp;
	int pol, prio = 0, r, p;

	if (audio_tid <= 0)
		return;
	/* PortAudio's and JACK's threads carry SCHED_RESET_ON_FORK. */
	pol = sched_getscheduler(audio_tid);
	if (pol < 0 || sched_getparam(audio_tid, &sp) != 0)
		return;
	pol &= ~SCHED_RESET_ON_FORK;
	if (pol == SCHED_FIFO || pol == SCHED_RR)
		prio = sp.sched_priority;
	else
		pol = SCHED_OTHER;
	if (audio_tid == w->audio_tid && pol == w->audio_policy &&
	    prio == w->audio_prio)
		return;
	w->audio_tid = audio_tid;
	w->audio_policy = pol;
	w->audio_prio = prio;
	for (r = 0; r < WORKERS_THREADS; r++) {
		if (!w->th[r].started)
			continue;
		p = prio - 1 - r;
		memset(&sp, 0, sizeof(sp));
		sp.sched_priority = pol == SCHED_OTHER ? 0 : p < 1 ? 1 : p;
		errno = pthread_setschedparam(w->th[r].thread,
		    pol == SCHED_OTHER ? SCHED_OTHER : SCHED_FIFO, &sp);
		if (errno != 0)
			log_msg("workers: cannot schedule worker %d as %s %d "
			    "(%s); it stays as it was", r, pol == SCHED_OTHER ?
			    "SCHED_OTHER" : "SCHED_FIFO", sp.sched_priority,
			    strerror(errno));
	}
	if (pol != SCHED_OTHER)
		log_msg("workers: SCHED_FIFO %d and below, under the audio "
		    "thread's %d", prio - 1 < 1 ? 1 : prio - 1, prio);
}

uint64_t
workers_late(struct workers *w)
{
	uint64_t n = w->retired_late;
	const struct dsp_stage *st;
	unsigned i, k;

	for (i = 0; i < w->nchains; i++)
		for (k = 0; (st = dsp_chain_stage(w->chains[i], k)) != NULL;
		    k++)
			n += dsp_stage_late(st);
	return n;
}
