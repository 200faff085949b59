/*
 * The audio device's state machine, on the control thread:
 *
 *   STARTING --open on the worker--> OPENING --ok--> RUNNING
 *       ^                               |              | no callback for
 *       |                            failed            | STALL_MIN_NS
 *   DISCONNECTED <--retry with backoff--+   CLOSING <--+
 *       ^----------------closed------------------|
 *
 * PortAudio is only ever called from the worker (paworker.c), so that a
 * sound server that stops answering holds a thread of its own and not the
 * loop.  It does not touch the recording or the clients itself: the hooks
 * tell the rest of the daemon when no callback can run any more.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/audio.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "rtpool/rtclock.h"

#define STALL_MIN_NS (250ull * 1000000ull)	/* no callback for this long */
#define RETRY_FIRST_NS 500000000ull
#define RETRY_MAX_NS (10ull * 1000000000ull)
#define WARMUP_CALLBACKS 200	/* page faults counted after these */
#define RESTARTED_ENV "TIDEPOOLD_RESTARTED"

/* Page faults of the audio thread, from /proc; -1 if unknown. */
static int64_t
thread_faults(const struct engine *e)
{
	char path[64], buf[1024], *p;
	int tid = engine_audio_tid(e);
	FILE *f;

	if (tid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	return p != NULL ? audio_stat_faults(buf) : -1;
}

int64_t
audio_stat_faults(const char *stat)
{
	unsigned long long minflt = 0, majflt = 0;
	const char *p;
	int i;

	/* The name in "(comm)" may hold blanks and parentheses: count from
	   the last ')'.  Then: state ppid pgrp session tty tpgid flags
	   minflt cminflt majflt cmajflt; minflt follows the eighth blank. */
	if ((p = strrchr(stat, ')')) == NULL)
		return -1;
	for (i = 0; i < 8 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %*u %llu", &minflt, &majflt) != 2)
		return -1;
	return (int64_t)(minflt + majflt);
}

/* "SCHED_FIFO 70", "SCHED_OTHER"...: how the audio thread is scheduled. */
static void
thread_sched(const struct engine *e, char *out, size_t outlen)
{
	int tid = engine_audio_tid(e), pol;
	struct sched_param sp;

	snprintf(out, outlen, "unknown");
	/* PortAudio's and JACK's threads carry SCHED_RESET_ON_FORK. */
	if (tid <= 0 || (pol = sched_getscheduler(tid) &
	    ~SCHED_RESET_ON_FORK) < 0 ||
	    sched_getparam(tid, &sp) != 0)
		return;
	if (pol == SCHED_FIFO || pol == SCHED_RR)
		snprintf(out, outlen, "%s %d", pol == SCHED_FIFO ?
		    "SCHED_FIFO" : "SCHED_RR", sp.sched_priority);
	else
		snprintf(out, outlen, "%s", pol == SCHED_OTHER ? "SCHED_OTHER" :
		    pol == SCHED_BATCH ? "SCHED_BATCH" : pol == SCHED_IDLE ?
		    "SCHED_IDLE" : "other");
}

void
audio_init(struct audio *a, struct engine *e,
    const struct paudio_params *params, char *const *argv,
    const struct audio_hooks *hooks, void *arg)
{
	memset(a, 0, sizeof(*a));
	a->engine = e;
	a->params = *params;
	a->argv = argv;
	a->hooks = hooks;
	a->arg = arg;
	a->faults_at_warmup = -1;
	a->retry_delay_ns = RETRY_FIRST_NS;
	if (getenv(RESTARTED_ENV) != NULL) {
		log_msg("started again in place after: %s",
		    getenv(RESTARTED_ENV));
		a->failed = 1;	/* status: disconnected */
		unsetenv(RESTARTED_ENV);
	}
	a->state = AUDIO_STARTING;
	a->retry_at_ns = 0;	/* the first watch opens it */
}

/* Retries after the current delay, which then doubles up to the limit. */
static void
retry_later(struct audio *a, uint64_t now)
{
	a->state = AUDIO_DISCONNECTED;
	a->failed = 1;
	a->retry_at_ns = now + a->retry_delay_ns;
	a->retry_delay_ns *= 2;
	if (a->retry_delay_ns > RETRY_MAX_NS)
		a->retry_delay_ns = RETRY_MAX_NS;
	a->hooks->idle(a->arg, 0);
}

static void
start_open(struct audio *a, uint64_t now)
{
	/* A new stream is a new audio thread.  No stream is open, so
	   nothing else touches the engine's thread state now. */
	engine_thread_changed(a->engine);
	if (paworker_start(&a->paw, PAWORKER_OPEN, &a->pa, &a->params,
	    a->engine) != 0) {
		log_msg("audio: cannot start a thread to open the device; "
		    "retrying in %.1f s", (double)a->retry_delay_ns / 1e9);
		retry_later(a, now);
		return;
	}
	a->state = AUDIO_OPENING;
}

/* The worker has tried to open the stream. */
static void
opened(struct audio *a, uint64_t now)
{
	if (a->paw.result != 0) {
		log_msg("audio: %s; retrying in %.1f s", a->paw.err,
		    (double)a->retry_delay_ns / 1e9);
		retry_later(a, now);
		return;
	}
	char lat[64];

	log_msg("audio: %s (%s), %g Hz, %u frames, %u in / %u out, %s",
	    a->pa.device, a->pa.host_api, a->params.rate, a->params.period,
	    a->params.in_channels, a->params.out_channels,
	    paudio_latency_text(&a->pa, lat, sizeof(lat)));
	a->state = AUDIO_RUNNING;
	a->no_clock = 0;
	a->retry_delay_ns = RETRY_FIRST_NS;
	a->seen_at_ns = now;
	a->seen_callbacks = engine_callbacks(a->engine);
}

/* The stream is closed: the callback is over. */
static void
closed(struct audio *a, uint64_t now)
{
	a->state = AUDIO_DISCONNECTED;
	a->retry_at_ns = now + a->retry_delay_ns;
	a->hooks->idle(a->arg, 1);
}

/*
 * The sound server is gone (PortAudio has marked the stream inactive, as
 * its JACK host does when the server shuts down or dies).  PortAudio 19.6
 * cannot close such a stream: Pa_CloseStream waits for a callback that
 * never comes, for ten minutes, and until it returns PortAudio cannot be
 * initialised afresh to find a new server.  So the daemon finishes the
 * recording (the callback cannot run again: every frame it processed is
 * in the file) and executes itself again, same pid, same arguments; the
 * new process retries the device with backoff.  Clients are disconnected
 * once and the statistics start again.  Returns only if exec failed.
 */
static void
restart_in_place(struct audio *a, const char *why)
{
	sigset_t mask;

	log_msg("audio: %s: the sound server is gone; PortAudio would hold "
	    "its stream for minutes, so tidepoold starts again in place",
	    why);
	if (a->argv == NULL)
		return;
	a->hooks->restarting(a->arg);
	setenv(RESTARTED_ENV, why, 1);
	/* exec keeps the mask; the new process blocks what it needs. */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	execv("/proc/self/exe", a->argv);
	log_msg("cannot start again: %s; waiting for PortAudio instead",
	    strerror(errno));
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* The callback stopped coming: close (on the worker), then retry. */
static void
lost(struct audio *a, uint64_t now, const char *why)
{
	log_msg("audio: %s; reconnecting", why);
	a->failed = 1;
	a->faults_at_warmup = -1;
	if (paworker_start(&a->paw, PAWORKER_CLOSE, &a->pa, &a->params,
	    a->engine) != 0) {
		paudio_close(&a->pa);
		closed(a, now);
		return;
	}
	a->state = AUDIO_CLOSING;
}

/* The callbacks advanced: warm-up, READY=1. */
static void
advanced(struct audio *a, uint64_t cbs, uint64_t now)
{
	a->seen_callbacks = cbs;
	a->seen_at_ns = now;
	if (a->faults_at_warmup < 0 && cbs >= WARMUP_CALLBACKS)
		a->faults_at_warmup = thread_faults(a->engine);
	if (!a->ready_sent && cbs > 0) {
		notify_ready();
		a->ready_sent = 1;
	}
}

int
audio_stalled(uint64_t cbs, uint64_t seen_cbs, uint64_t last_cb_ns,
    uint64_t seen_at_ns, uint64_t fresh_ns)
{
	uint64_t base = last_cb_ns > seen_at_ns ? last_cb_ns : seen_at_ns;

	/* Counted callbacks, not watches: any that came is life. */
	if (cbs != seen_cbs)
		return 0;
	return fresh_ns > base && fresh_ns - base > STALL_MIN_NS;
}

void
audio_watch(struct audio *a, uint64_t tick_ns)
{
	uint64_t cbs = engine_callbacks(a->engine);
	uint64_t last = engine_last_callback_ns(a->engine);
	/* Read after the counters, never the tick's start: a tick that was
	   held up must not read its own delay as the callback's. */
	uint64_t now = rtclock_ns();
	char why[128];

	(void)tick_ns;
	/* A watch this late means the whole process was stopped (SIGSTOP):
	   the callback gets a fresh chance to show it runs. */
	if (a->watched_at_ns != 0 && now - a->watched_at_ns > STALL_MIN_NS)
		a->seen_at_ns = now;
	a->watched_at_ns = now;
	if (paworker_collect(&a->paw)) {
		if (a->paw.job == PAWORKER_OPEN)
			opened(a, now);
		else
			closed(a, now);
		return;
	}
	if (audio_idle(a)) {
		if (now >= a->retry_at_ns)
			start_open(a, now);
		return;
	}
	if (a->state != AUDIO_RUNNING)
		return;
	if (cbs != a->seen_callbacks) {
		advanced(a, cbs, now);
		return;
	}
	if (audio_stalled(cbs, a->seen_callbacks, last, a->seen_at_ns, now)) {
		snprintf(why, sizeof(why), "no callback for %.0f ms",
		    (double)(now - (last > a->seen_at_ns ? last :
		    a->seen_at_ns)) / 1e6);
		if (!paudio_active(&a->pa))
			restart_in_place(a, why);	/* returns if exec failed */
		lost(a, now, why);
	}
}

int
audio_idle(const struct audio *a)
{
	return a->state == AUDIO_DISCONNECTED || a->state == AUDIO_STARTING;
}

int
audio_alive(const struct audio *a, uint64_t now, uint64_t within_ns)
{
	/* seen_at_ns comes from the watch's own clock read, which may be
	   later than the caller's now. */
	return a->state == AUDIO_RUNNING && (now <= a->seen_at_ns ||
	    now - a->seen_at_ns < within_ns);
}

int
audio_active(const struct audio *a)
{
	return a->state == AUDIO_RUNNING && paudio_active(&a->pa);
}

int
audio_close(struct audio *a, uint64_t timeout_ns)
{
	/* A stopped sound server would hold a close (or an open still
	   under way) for ever. */
	int stopped = paworker_wait(&a->paw, timeout_ns) &&
	    paworker_start(&a->paw, PAWORKER_STOP, &a->pa, &a->params,
	    a->engine) == 0 && paworker_wait(&a->paw, timeout_ns);

	if (stopped)
		log_msg("audio: stream stopped; closing it is left to the "
		    "exit, as PortAudio aborts when the server goes during a "
		    "close");
	return stopped;
}

void
audio_no_clock(struct audio *a, uint64_t now, double speed)
{
	char why[768];

	snprintf(why, sizeof(why), "%s runs %.0f times faster than %g Hz: "
	    "nothing clocks it; stopped and closed, next try in %.0f s",
	    a->pa.device, speed, a->params.rate,
	    (double)RETRY_MAX_NS / 1e9);
	/* At once: the close, on the worker, can take seconds on a loaded
	   machine while the stream's thread spins. */
	engine_halt(a->engine);
	a->no_clock = 1;
	a->retry_delay_ns = RETRY_MAX_NS;
	lost(a, now, why);
}

static const char *
state_name(const struct audio *a)
{
	switch (a->state) {
	case AUDIO_STARTING:
	case AUDIO_OPENING:
		return a->failed ? "disconnected" : "starting";
	case AUDIO_RUNNING:
		return "running";
	case AUDIO_CLOSING:
	case AUDIO_DISCONNECTED:
		return a->no_clock ? "no_clock" : "disconnected";
	}
	return "?";
}

void
audio_context(struct audio *a, const char *configured,
    struct stats_context *x)
{
	int64_t faults = thread_faults(a->engine);

	x->state = state_name(a);
	/* a->pa is the worker's while it opens or closes. */
	x->device = a->state == AUDIO_RUNNING && a->pa.device[0] ?
	    a->pa.device : configured;
	x->page_faults = faults;
	x->page_faults_warm = faults >= 0 && a->faults_at_warmup >= 0 ?
	    faults - a->faults_at_warmup : -1;
	thread_sched(a->engine, a->sched_desc, sizeof(a->sched_desc));
	x->audio_sched = a->sched_desc;
}
