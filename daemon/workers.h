/*
 * The worker threads that run the background work of a chain's stages
 * (dsp_stage_work(): a convolver's larger partitions), scheduled below
 * the audio thread.  The callback submits jobs and wakes a worker with
 * sem_post (it never blocks, and RealtimeSanitizer accepts it); it never
 * waits for one: a job not done in time is counted by the stage and
 * summed here (workers_late()).
 *
 * Threads: everything here is control thread only, but the workers
 * themselves.  Each worker has its own table and lock, shared with the
 * control thread and never with the audio thread, so a long job on one
 * worker never holds up another's.
 */
#ifndef TP_WORKERS_H
#define TP_WORKERS_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/chain.h"
#include "dsp/dsp.h"

/* Workers, by urgency: a stage's first handed level goes to the first,
   its second to the second, the rest to the last. */
#define WORKERS_THREADS 3
/* Works one worker runs at once: a reload keeps two chains alive. */
#define WORKERS_WORKS 32
/* Chains with works at once: the running one and the one fading out,
   and one built and not yet swapped in. */
#define WORKERS_CHAINS 4

struct workers;

/* One thread and the works it runs. */
struct workers_thread {
	struct workers *w;
	unsigned rank;		/* 0: the most urgent */
	pthread_t thread;
	int started;		/* thread is running */
	sem_t wake;		/* posted by the callback after a submission,
				   and by workers_done() */
	pthread_mutex_t lock;	/* work, chain, n: this thread and the
				   control thread */
	struct dsp_work *work[WORKERS_WORKS];
	const struct dsp_chain *chain[WORKERS_WORKS];	/* each work's */
	unsigned n;
};

struct workers {
	struct workers_thread th[WORKERS_THREADS];
	atomic_int stop;	/* set by workers_done() before the wake */
	const struct dsp_chain *chains[WORKERS_CHAINS];	/* adopted, alive */
	unsigned nchains;
	uint64_t retired_late;	/* late partitions of chains freed since */
	int audio_tid;		/* whose scheduling the workers follow */
	int audio_policy, audio_prio;	/* what it was at the last look */
	uint64_t delay_ns;	/* TEST ONLY: TIDEPOOL_TEST_WORKER_DELAY_MS,
				   a sleep before each round of work */
};

/*
 * Prepares w with no threads yet (w may be adopted into at once).
 * Returns 0, or -1 with err.
 */
int workers_init(struct workers *w, char *err, size_t errlen);

/*
 * Starts the threads (after the control thread blocked its signals: they
 * inherit the mask).  Returns 0, or -1 with err (none left running).
 */
int workers_start(struct workers *w, char *err, size_t errlen);

/*
 * Stops and joins the threads and frees what init made.  Chains still
 * adopted must not run any more.
 */
void workers_done(struct workers *w);

/*
 * Hands every background work of c's stages to the workers, while no
 * other thread runs c (see dsp_work_hand()), and has dsp_chain_del() take
 * them back.  Returns 0, or -1
 * with err when the tables are full (then nothing was handed: c runs all
 * its work in the callback).
 */
int workers_adopt(struct workers *w, struct dsp_chain *c, char *err,
    size_t errlen);

/*
 * Follows the audio thread's scheduling (audio_tid: engine_audio_tid(),
 * <= 0 unknown): under SCHED_FIFO or SCHED_RR at priority p, worker r
 * runs SCHED_FIFO at p - 1 - r (at least 1); otherwise SCHED_OTHER.  Only
 * acts when the thread or its scheduling changed.
 */
void workers_follow(struct workers *w, int audio_tid);

/* Late partitions of every adopted chain since start. */
uint64_t workers_late(struct workers *w);

#endif /* TP_WORKERS_H */
