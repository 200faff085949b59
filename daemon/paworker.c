/*
 * PortAudio open and close off the control thread; see paworker.h.
 */
#include <ck_pr.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/paworker.h"
#include "rtpool/rtclock.h"

/*
 * TEST ONLY: TIDEPOOL_TEST_CLOSE_DELAY_MS holds each close that long, as
 * a loaded machine does while a clockless stream's thread spins, so that
 * tests/integration/noclock.sh can see the stream stop before its close.
 */
static void
close_delay(void)
{
	const char *v = getenv("TIDEPOOL_TEST_CLOSE_DELAY_MS");
	long ms = v != NULL ? strtol(v, NULL, 10) : 0;
	struct timespec ts;

	if (ms <= 0 || ms > 10000)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	nanosleep(&ts, NULL);
}

static void *
run(void *arg)
{
	struct paworker *w = arg;

	if (w->job == PAWORKER_OPEN)
		w->result = paudio_open(w->pa, w->params, w->engine, w->err,
		    sizeof(w->err));
	else {
		if (w->job == PAWORKER_STOP)
			paudio_stop(w->pa);
		else {
			close_delay();
			paudio_close(w->pa);
		}
		w->result = 0;
	}
	/* Publishes result and err with it. */
	ck_pr_fence_store();
	ck_pr_store_int(&w->done, 1);
	return NULL;
}

int
paworker_start(struct paworker *w, enum paworker_job job, struct paudio *pa,
    const struct paudio_params *params, struct engine *e)
{
	if (w->busy)
		return -1;
	w->job = job;
	w->pa = pa;
	w->params = params;
	w->engine = e;
	w->result = -1;
	w->err[0] = '\0';
	ck_pr_store_int(&w->done, 0);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		return -1;
	w->busy = 1;
	return 0;
}

int
paworker_collect(struct paworker *w)
{
	if (!w->busy || !ck_pr_load_int(&w->done))
		return 0;
	ck_pr_fence_load();
	pthread_join(w->thread, NULL);
	w->busy = 0;
	return 1;
}

int
paworker_wait(struct paworker *w, uint64_t timeout_ns)
{
	uint64_t deadline = rtclock_ns() + timeout_ns;
	struct timespec ts = { 0, 1000000 };

	if (!w->busy)
		return 1;
	while (!paworker_collect(w)) {
		if (rtclock_ns() >= deadline)
			return 0;
		nanosleep(&ts, NULL);
	}
	return 1;
}
