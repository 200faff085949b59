/*
 * The audio device's state, seen from the control thread: the stream is
 * opened and closed on a worker (paworker.c) so that a stopped sound
 * server never holds the loop; a stream whose callbacks stop coming is
 * closed and opened again with backoff; a sound server that is gone for
 * good makes the daemon execute itself again in place (see audio_watch).
 * It also reads what the kernel knows of the audio thread (scheduling,
 * page faults) for the statistics.
 *
 * Threads.  The control thread only; the worker runs inside paworker.c.
 */
#ifndef TP_AUDIO_H
#define TP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"
#include "daemon/paudio.h"
#include "daemon/paworker.h"
#include "daemon/stats.h"

/* The device's state (the field audio.state). */
enum audio_state {
	AUDIO_STARTING,		/* not yet opened */
	AUDIO_OPENING,		/* the worker is opening the stream */
	AUDIO_RUNNING,		/* stream open, callbacks arriving */
	AUDIO_CLOSING,		/* lost; the worker is closing the stream */
	AUDIO_DISCONNECTED	/* lost or never found; retrying */
};

/* What the device's changes mean to the rest of the daemon. */
struct audio_hooks {
	/*
	 * No callback can run now: the stream was closed (closed = 1: what
	 * the callback was recording is to be salvaged) or could not be
	 * opened (closed = 0).  A recording being stopped ends here.
	 */
	void (*idle)(void *arg, int closed);
	/* The daemon is about to execute itself again: end what must end
	   (the recording, the clients, the socket). */
	void (*restarting)(void *arg);
};

struct audio {
	enum audio_state state;
	int failed;		/* an open failed or the stream was lost */
	int no_clock;		/* closed for running with no clock */
	struct paudio pa;	/* the worker's while it opens or closes */
	struct paudio_params params;
	struct paworker paw;	/* opens and closes the stream */
	struct engine *engine;
	char *const *argv;	/* to execute again in place; NULL: never */
	uint64_t retry_at_ns, retry_delay_ns;
	uint64_t seen_callbacks;	/* at the last watch */
	uint64_t seen_at_ns;		/* when they last advanced */
	uint64_t watched_at_ns;		/* when audio_watch last ran */
	int64_t faults_at_warmup;	/* -1 until warm */
	int ready_sent;			/* READY=1 told to systemd */
	char sched_desc[32];		/* the audio thread's scheduling */
	const struct audio_hooks *hooks;
	void *arg;			/* for hooks */
};

/*
 * Sets a up to open params (copied; params->device must outlive a) for e;
 * the first audio_watch opens it.  After an in-place restart (the
 * environment says so) the state reads "disconnected" until it runs.
 * Control thread.
 */
void audio_init(struct audio *a, struct engine *e,
    const struct paudio_params *params, char *const *argv,
    const struct audio_hooks *hooks, void *arg);

/*
 * Moves the state machine on (call it every tick): collects the worker,
 * opens when a retry is due, sees the callbacks advance (READY=1 at the
 * first), and closes a stream that stalled (audio_stalled), or restarts
 * in place when the sound server is gone.  tick_ns, the tick's start, is
 * not used for that: the watch reads the clock itself, after the
 * callback's counters.
 * Control thread.
 */
void audio_watch(struct audio *a, uint64_t tick_ns);

/*
 * 1 if the callback stalled: no callback counted since the last watch
 * (cbs == seen_cbs) and the later of the last callback's own start
 * (last_cb_ns) and the moment the count last moved or the stream opened
 * (seen_at_ns) is more than 250 ms before fresh_ns, a clock read made
 * after the counters.  Any thread.
 */
int audio_stalled(uint64_t cbs, uint64_t seen_cbs, uint64_t last_cb_ns,
    uint64_t seen_at_ns, uint64_t fresh_ns);

/*
 * 1 if no callback can run (never opened, or lost and closed).
 * Control thread.
 */
int audio_idle(const struct audio *a);

/*
 * 1 if the stream runs and a callback came within the last within_ns.
 * Control thread.
 */
int audio_alive(const struct audio *a, uint64_t now_ns, uint64_t within_ns);

/* 1 while the stream is open and PortAudio calls it.  Control thread. */
int audio_active(const struct audio *a);

/*
 * Closes the stream for good, waiting at most timeout_ns for the worker
 * twice (a job under way, then the close).  Returns 1 if closed, 0 if the
 * sound server does not answer (the stream may still use the engine).
 * Control thread.
 */
int audio_close(struct audio *a, uint64_t timeout_ns);

/*
 * The device ran speed times faster than its rate (stats_clockless()):
 * nothing clocks it.  Closes it, says so in the state ("no_clock") and the
 * log, and tries again only at the longest retry delay, so the callback
 * does not take a core for ever.  Control thread.
 */
void audio_no_clock(struct audio *a, uint64_t now_ns, double speed);

/*
 * Fills x's state, device, page faults and scheduling; configured is the
 * [engine] device, shown while none is open.
 * Control thread.
 */
void audio_context(struct audio *a, const char *configured,
    struct stats_context *x);

/*
 * The page faults (minflt + majflt, not the children's) in one line of
 * /proc/.../stat, or -1 if it does not parse.  Any thread.
 */
int64_t audio_stat_faults(const char *stat);

#endif /* TP_AUDIO_H */
