/*
 * Statistics as people read them: the engine's raw counters and histograms
 * turned into the JSON of "stats", the Prometheus text of "metrics" and the
 * one-line summary for systemd's STATUS=.  "stats reset" is a baseline kept
 * here, subtracted from later snapshots, so the audio side never has to
 * clear its histograms.  Control thread only.
 */
#ifndef TP_STATS_H
#define TP_STATS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"

struct workers;

/* What the control side knows beside the engine's own figures. */
struct stats_context {
	const char *state;	/* "running", "disconnected", ... */
	const char *device;
	double rate;
	unsigned period;
	unsigned channels, out_channels;
	const struct dsp_chain *chain;	/* names and types of stages */
	struct rtpool_stats pool;
	struct rtpool_stats msg_pool;
	int64_t page_faults;		/* callback thread, -1 unknown */
	int64_t page_faults_warm;	/* since warm-up, -1 unknown */
	const char *source;		/* "tone 440 Hz", "file x.wav" ... */
	const char *source_error;	/* why the [engine] input failed, or NULL */
	const char *recording;		/* path, or NULL */
	uint64_t recorded_frames;
	const char *recording_error;	/* why the last recording ended
					   early, or NULL */
	uint64_t recording_errors;	/* recordings ended by an error */
	uint64_t uptime_ns;
	const char *audio_sched;	/* "SCHED_FIFO 70", "SCHED_OTHER" */
};

struct stats {
	struct engine_stats *now;	/* latest snapshot */
	struct engine_stats *base;	/* at the last reset */
	struct engine_stats *diff;	/* now - base, for reports */
	uint64_t reset_ns;		/* when (CLOCK_MONOTONIC) */
	unsigned warned_period;		/* real period last warned about */
	uint64_t clock_ns, clock_frames;	/* stats_clockless's last look */
	unsigned clock_fast;		/* looks in a row far too fast */
	char news[512];			/* stats_news()'s message */
	double start_unix;		/* stats_init's wall clock, for
					   start_time and _created */
	struct workers *workers;	/* whose late partitions to report;
					   NULL: none */
};

/* The two dialects of the metrics text. */
enum stats_format {
	STATS_PROMETHEUS,	/* text format 0.0.4 */
	STATS_OPENMETRICS	/* OpenMetrics 1.0.0 */
};

/* Returns 0, or -1 when out of memory.  Control thread. */
int stats_init(struct stats *s);
void stats_done(struct stats *s);

/*
 * Takes a fresh snapshot from the engine and recomputes the diff.
 * Control thread.
 */
void stats_refresh(struct stats *s, struct engine *e);

/* Makes the latest snapshot the new zero.  Control thread. */
void stats_reset(struct stats *s);

/* Adds the fields of the "stats" reply to o.  Control thread. */
void stats_json(const struct stats *s, const struct stats_context *c,
    cJSON *o);

/* Adds the fields of the "status" reply to o.  Control thread. */
void stats_status_json(const struct stats *s, const struct stats_context *c,
    cJSON *o);

/*
 * The metrics text in format f: counters and histograms since start, in
 * base units, ended by "# EOF" (a comment in 0.0.4, which the control
 * socket's readers wait for).  Returns a malloc'd string, or NULL when
 * out of memory.  Control thread.
 */
char *stats_metrics(const struct stats *s, const struct stats_context *c,
    enum stats_format f);

/*
 * The server's period in frames as measured (frames per server cycle), or
 * 0 while not yet known (no stamps from the backend, or too few cycles).
 */
unsigned stats_real_period(const struct stats *s);

/*
 * Something the log should say once: the server's period turned out not
 * to be [engine] period (with the fix).  Call after stats_refresh.
 * Returns the message (valid until the next call), or NULL if nothing new.
 */
const char *stats_news(struct stats *s, const struct stats_context *c);

/*
 * A device nothing clocks (alsa-lib's null PCM, a broken driver) calls
 * back as fast as the CPU allows.  Call after stats_refresh while the
 * stream runs: returns how many times faster than real time the frames
 * came once that has lasted two looks of at least 0.5 s each, else 0.
 */
#define STATS_CLOCKLESS_SPEED 4.0
double stats_clockless(struct stats *s, const struct stats_context *c);

/* One line for systemd's STATUS=.  Control thread. */
void stats_status_line(const struct stats *s, const struct stats_context *c,
    char *buf, size_t len);

#endif /* TP_STATS_H */
