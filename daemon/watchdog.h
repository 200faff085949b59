/*
 * The systemd watchdog's verdict: whether the daemon is healthy enough to
 * send WATCHDOG=1, and, when that changes, a line saying why.
 *
 * Healthy means all three: callbacks keep coming (the audio path is not
 * stalled), the block pool has a free block (playing and recording can go
 * on), and the audio delivered since the last check is at least half of
 * what the clock says should have passed at the configured rate.  The last
 * is the missed-frames rule: a daemon whose callbacks come but that the
 * server skips most of the time (stopped and continued, starved of CPU)
 * passes the first two checks while losing most of its audio.  Withholding
 * WATCHDOG=1 for longer than WatchdogSec= gets the service restarted.
 *
 * No clock or I/O of its own: the caller passes the time and what it read,
 * so the rule is tested with made-up numbers.  Control thread only.
 */
#ifndef TP_WATCHDOG_H
#define TP_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

/* What the control thread read for one check. */
struct watchdog_view {
	int alive;		/* audio_alive(): a callback recently */
	size_t pool_free;	/* free blocks in the pool */
	uint64_t frames;	/* frames delivered so far (engine_frames()) */
	unsigned rate;		/* frames per second the clock should give */
};

struct watchdog {
	uint64_t every_ns;	/* between checks (half of WatchdogSec=) */
	uint64_t next_ns;	/* the next check is due then */
	uint64_t since_ns;	/* the last check, where the window starts */
	uint64_t since_frames;	/* engine_frames() then */
	int pinged;		/* WATCHDOG=1 was sent at least once */
	int withholding;	/* and the last check withheld it */
};

/* every_ns 0: no watchdog (watchdog_due() is never true). */
void watchdog_init(struct watchdog *w, uint64_t every_ns, uint64_t now_ns);

int watchdog_due(const struct watchdog *w, uint64_t now_ns);

/*
 * One check at now_ns: 1 if WATCHDOG=1 is to be sent.  news gets a line
 * for the log when the verdict changed since the last check ("withheld:
 * ..." with the reason and its numbers, or "sent again"), else "".  The
 * verdicts before the first ping are not news: the daemon is still
 * starting.
 */
int watchdog_check(struct watchdog *w, uint64_t now_ns,
    const struct watchdog_view *v, char *news, size_t newslen);

#endif /* TP_WATCHDOG_H */
