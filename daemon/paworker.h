/*
 * Opening and closing the PortAudio stream on a thread of its own, so
 * that the control thread never waits on the sound server.  A JACK server
 * that is stopped (not dead) makes Pa_CloseStream and jack_client_open
 * wait for as long as it stays stopped; meanwhile the socket must still be
 * served and the watchdog must stop.  One job at a time; control thread
 * only.
 */
#ifndef TP_PAWORKER_H
#define TP_PAWORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/paudio.h"

enum paworker_job {
	PAWORKER_OPEN,		/* paudio_open */
	PAWORKER_CLOSE,		/* paudio_close */
	PAWORKER_STOP		/* paudio_stop */
};

struct paworker {
	pthread_t thread;
	int busy;		/* a job was started and not yet collected */
	int done;		/* ck_pr: the job's thread has finished */
	enum paworker_job job;
	struct paudio *pa;	/* the worker's alone while busy */
	const struct paudio_params *params;
	struct engine *engine;
	int result;		/* of an open: 0, or -1 with err */
	char err[1024];
};

/*
 * Starts job on pa.  Returns 0, or -1 if a job is still busy or no thread
 * could be made (then nothing was started).
 */
int paworker_start(struct paworker *w, enum paworker_job job,
    struct paudio *pa, const struct paudio_params *params,
    struct engine *e);

/*
 * Collects a finished job: returns 1 (w->job, w->result and w->err tell
 * how it went; pa is the caller's again), or 0 while it still runs or if
 * none was started.
 * Control thread.
 */
int paworker_collect(struct paworker *w);

/*
 * Like paworker_collect, but waits up to timeout_ns.  Returns 1 if the
 * job finished (or none was busy), 0 if it is still running.
 * Control thread.
 */
int paworker_wait(struct paworker *w, uint64_t timeout_ns);

#endif /* TP_PAWORKER_H */
