/*
 * Turning the engine's figures into reports.  Times are reported in
 * microseconds (load as a fraction of the period); everything in "stats"
 * and "status" counts from the last reset, everything in "metrics" from the
 * start, as Prometheus counters must only grow.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stats.h"
#include "rtpool/rtclock.h"

int
stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	s->now = engine_stats_new();
	s->base = engine_stats_new();
	s->diff = engine_stats_new();
	if (s->now == NULL || s->base == NULL || s->diff == NULL) {
		stats_done(s);
		return -1;
	}
	s->reset_ns = rtclock_ns();
	return 0;
}

void
stats_done(struct stats *s)
{
	free(s->now);
	free(s->base);
	free(s->diff);
	memset(s, 0, sizeof(*s));
}

void
stats_refresh(struct stats *s, struct engine *e)
{
	const uint64_t *n, *b;
	uint64_t *d;
	unsigned i;

	engine_stats_read(e, s->now);
	*s->diff = *s->now;
	n = (const uint64_t *)&s->now->counters;
	b = (const uint64_t *)&s->base->counters;
	d = (uint64_t *)&s->diff->counters;
	for (i = 0; i < sizeof(s->now->counters) / sizeof(uint64_t); i++)
		d[i] = n[i] - b[i];
	d[offsetof(struct engine_counters, last_callback_ns) /
	    sizeof(uint64_t)] = s->now->counters.last_callback_ns;
	rthist_subtract(&s->diff->callback_ns, &s->base->callback_ns);
	rthist_subtract(&s->diff->interval_ns, &s->base->interval_ns);
	rthist_subtract(&s->diff->message_ns, &s->base->message_ns);
	rthist_subtract(&s->diff->cycle_ns, &s->base->cycle_ns);
	for (i = 0; i < s->now->nstages && i < ENGINE_MAX_STAGES; i++)
		rthist_subtract(&s->diff->stage_ns[i], &s->base->stage_ns[i]);
	/* Episodes older than the reset are not shown. */
	if (s->now->episodes_total - s->base->episodes_total <
	    s->diff->nepisodes) {
		unsigned keep = (unsigned)(s->now->episodes_total -
		    s->base->episodes_total);
		unsigned drop = s->diff->nepisodes - keep;

		memmove(s->diff->episodes, s->diff->episodes + drop,
		    sizeof(s->diff->episodes[0]) * keep);
		s->diff->nepisodes = keep;
	}
	s->diff->episodes_total = s->now->episodes_total -
	    s->base->episodes_total;
}

void
stats_reset(struct stats *s)
{
	*s->base = *s->now;
	s->reset_ns = rtclock_ns();
}

static double
round_to(double v, double step)
{
	return round(v / step) * step;
}

static double
dbfs(double linear)
{
	return linear > 0 ? round_to(20.0 * log10(linear), 0.01) : -200.0;
}

/* {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..} in ns/div. */
static cJSON *
summary_json(const struct rthist *h, double div, double step)
{
	struct rthist_summary m;
	cJSON *o = cJSON_CreateObject();

	rthist_summarize(h, &m);
	cJSON_AddNumberToObject(o, "p50", round_to((double)m.p50 / div, step));
	cJSON_AddNumberToObject(o, "p90", round_to((double)m.p90 / div, step));
	cJSON_AddNumberToObject(o, "p99", round_to((double)m.p99 / div, step));
	cJSON_AddNumberToObject(o, "p999",
	    round_to((double)m.p999 / div, step));
	cJSON_AddNumberToObject(o, "max", round_to((double)m.max / div, step));
	cJSON_AddNumberToObject(o, "mean", round_to(m.mean / div, step));
	cJSON_AddNumberToObject(o, "count", (double)m.count);
	return o;
}

/* The histogram as bars for drawing: edges in us and counts. */
static cJSON *
bars_json(const struct rthist *h, unsigned nbars)
{
	uint64_t edges[33], counts[32];
	cJSON *o = cJSON_CreateObject(), *e, *c;
	unsigned i;

	if (nbars > 32)
		nbars = 32;
	rthist_bars(h, edges, counts, nbars);
	e = cJSON_AddArrayToObject(o, "edges_us");
	c = cJSON_AddArrayToObject(o, "counts");
	for (i = 0; i <= nbars; i++)
		cJSON_AddItemToArray(e, cJSON_CreateNumber(
		    round_to((double)edges[i] / 1e3, 0.1)));
	for (i = 0; i < nbars; i++)
		cJSON_AddItemToArray(c, cJSON_CreateNumber((double)counts[i]));
	return o;
}

static cJSON *
causes_json(uint32_t causes)
{
	cJSON *a = cJSON_CreateArray();
	uint32_t bit;

	for (bit = 1; bit <= ENGINE_CAUSE_LAST; bit <<= 1)
		if (causes & bit)
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(engine_cause_name(bit)));
	return a;
}

static double
period_ns(const struct stats_context *c)
{
	return c->rate > 0 ? (double)c->period * 1e9 / c->rate : 0;
}

unsigned
stats_real_period(const struct stats *s)
{
	/* A few cycles first: the stream's first may be partial. */
	if (s->now->counters.cycles < 20)
		return 0;
	return s->now->cycle_frames;
}

/* The real period when it differs from [engine] period, else 0. */
static unsigned
period_mismatch(const struct stats *s, const struct stats_context *c)
{
	unsigned real = stats_real_period(s);

	return real != 0 && real != c->period ? real : 0;
}

/*
 * What to tell the user when the server's period is not the configured
 * one: the server decides, so the fix is on its side.
 */
static void
mismatch_text(const struct stats_context *c, unsigned real, char *buf,
    size_t len)
{
	snprintf(buf, len, "the server runs %u-frame periods, not the "
	    "configured %u: load is measured against %u; to run at %u, "
	    "start tidepoold with PIPEWIRE_QUANTUM=%u/%g or pw-jack -p %u "
	    "(PipeWire), jackd -p %u (JACK), or set [engine] period = %u",
	    real, c->period, real, c->period, c->period, c->rate, c->period,
	    c->period, real);
}

/*
 * The histogram and the period that load is measured against: time in
 * the callback per server cycle over the real period once the cycles are
 * known (a server with a larger period calls a burst of callbacks per
 * cycle), per callback over [engine] period before.
 */
static const struct rthist *
load_basis(const struct stats *s, const struct stats_context *c,
    const struct engine_stats *d, double *pns)
{
	unsigned real = stats_real_period(s);

	if (real != 0 && c->rate > 0 && d->cycle_ns.total > 0) {
		*pns = (double)real * 1e9 / c->rate;
		return &d->cycle_ns;
	}
	*pns = period_ns(c);
	return &d->callback_ns;
}

double
stats_clockless(struct stats *s, const struct stats_context *c)
{
	uint64_t now = rtclock_ns(), frames = s->now->counters.frames;
	double dt = (double)(now - s->clock_ns) / 1e9, speed;

	if (s->clock_ns == 0 || frames < s->clock_frames || dt <= 0) {
		s->clock_ns = now;
		s->clock_frames = frames;
		s->clock_fast = 0;
		return 0;
	}
	if (dt < 0.5)
		return 0;
	speed = (double)(frames - s->clock_frames) / (dt * c->rate);
	s->clock_ns = now;
	s->clock_frames = frames;
	/* Far faster than real time, twice in a row: no clock at all.
	   A server catching up after a stall runs fast for a moment only. */
	if (speed < STATS_CLOCKLESS_SPEED) {
		s->clock_fast = 0;
		return 0;
	}
	return ++s->clock_fast >= 2 ? speed : 0;
}

const char *
stats_news(struct stats *s, const struct stats_context *c)
{
	unsigned real = period_mismatch(s, c);

	if (real == 0 || real == s->warned_period)
		return NULL;
	s->warned_period = real;
	mismatch_text(c, real, s->news, sizeof(s->news));
	return s->news;
}

/* "load", the server's real period and its cycles. */
static void
load_json(const struct stats *s, const struct stats_context *c, cJSON *o,
    uint64_t now)
{
	const struct engine_stats *d = s->diff;
	double lns;
	const struct rthist *lh = load_basis(s, c, d, &lns);
	unsigned real = stats_real_period(s);

	cJSON_AddItemToObject(o, "load", summary_json(lh, lns > 0 ? lns : 1,
	    0.0001));
	if (real != 0) {
		cJSON_AddNumberToObject(o, "real_period", real);
		cJSON_AddNumberToObject(o, "real_period_us", round_to(
		    (double)real * 1e6 / c->rate, 0.1));
	} else
		cJSON_AddNullToObject(o, "real_period");
	cJSON_AddNumberToObject(o, "cycles", (double)d->counters.cycles);
	cJSON_AddNumberToObject(o, "cycles_per_s", now > s->reset_ns ?
	    round_to((double)d->counters.cycles * 1e9 /
	    (double)(now - s->reset_ns), 0.1) : 0);
}

static void
xruns_json(const struct engine_counters *k, cJSON *o)
{
	cJSON *x = cJSON_AddObjectToObject(o, "xruns");

	cJSON_AddNumberToObject(x, "output_underflow",
	    (double)k->output_underflow);
	cJSON_AddNumberToObject(x, "input_overflow", (double)k->input_overflow);
	cJSON_AddNumberToObject(x, "late", (double)k->late);
	cJSON_AddNumberToObject(x, "source_starved", (double)k->source_starved);
	cJSON_AddNumberToObject(x, "pool_exhausted", (double)k->pool_exhausted);
	cJSON_AddNumberToObject(x, "missed", (double)k->missed);
	cJSON_AddNumberToObject(x, "total", (double)k->xruns);
	cJSON_AddNumberToObject(x, "starved_frames", (double)k->starved_frames);
	cJSON_AddNumberToObject(x, "record_dropped_frames",
	    (double)k->record_dropped_frames);
	cJSON_AddNumberToObject(x, "missed_frames", (double)k->missed_frames);
}

/* "pool" and "messages": the two pools and the messages' latency. */
static void
pools_json(const struct engine_stats *d, const struct stats_context *c,
    cJSON *o)
{
	cJSON *x = cJSON_AddObjectToObject(o, "pool");

	cJSON_AddNumberToObject(x, "blocks", (double)c->pool.blocks);
	cJSON_AddNumberToObject(x, "block_bytes", (double)c->pool.block_size);
	cJSON_AddNumberToObject(x, "free", (double)c->pool.free_now);
	cJSON_AddNumberToObject(x, "min_free", (double)c->pool.min_free);
	cJSON_AddNumberToObject(x, "exhausted", (double)c->pool.exhausted);
	cJSON_AddBoolToObject(x, "locked", c->pool.locked);

	x = cJSON_AddObjectToObject(o, "messages");
	cJSON_AddNumberToObject(x, "applied", (double)d->counters.messages);
	cJSON_AddNumberToObject(x, "pool", (double)c->msg_pool.blocks);
	cJSON_AddNumberToObject(x, "free", (double)c->msg_pool.free_now);
	cJSON_AddNumberToObject(x, "min_free", (double)c->msg_pool.min_free);
	cJSON_AddItemToObject(x, "latency_us",
	    summary_json(&d->message_ns, 1e3, 0.1));
}

static void
stages_json(const struct engine_stats *d, const struct stats_context *c,
    double pns, cJSON *o)
{
	cJSON *a = cJSON_AddArrayToObject(o, "stages"), *st;
	unsigned i, n = c->chain != NULL ? dsp_chain_length(c->chain) : 0;

	for (i = 0; i < n && i < d->nstages && i < ENGINE_MAX_STAGES; i++) {
		st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "name",
		    dsp_chain_stage_name(c->chain, i));
		cJSON_AddStringToObject(st, "type", dsp_stage_type(
		    dsp_chain_stage(c->chain, i))->name);
		if (dsp_stage_ir_frames(dsp_chain_stage(c->chain, i)) > 0)
			cJSON_AddNumberToObject(st, "ir_frames",
			    dsp_stage_ir_frames(dsp_chain_stage(c->chain,
			    i)));
		cJSON_AddItemToObject(st, "us",
		    summary_json(&d->stage_ns[i], 1e3, 0.01));
		cJSON_AddItemToObject(st, "load",
		    summary_json(&d->stage_ns[i], pns > 0 ? pns : 1, 0.00001));
		cJSON_AddItemToArray(a, st);
	}
}

static void
meters_json(const struct engine_stats *d, cJSON *o)
{
	cJSON *x = cJSON_AddObjectToObject(o, "meters");
	cJSON *pk = cJSON_AddArrayToObject(x, "peak_dbfs");
	cJSON *rms = cJSON_AddArrayToObject(x, "rms_dbfs");
	cJSON *cl = cJSON_AddArrayToObject(x, "clipped");
	unsigned i;

	for (i = 0; i < d->meter.channels; i++) {
		cJSON_AddItemToArray(pk, cJSON_CreateNumber(
		    dbfs(d->meter.peak[i])));
		cJSON_AddItemToArray(rms, cJSON_CreateNumber(
		    dbfs(dsp_meter_rms(&d->meter, i))));
		cJSON_AddItemToArray(cl, cJSON_CreateNumber(
		    (double)d->meter.clipped[i]));
	}
	cJSON_AddNumberToObject(x, "nonfinite",
	    (double)d->counters.nonfinite);
}

static void
episodes_json(const struct engine_stats *d, double pns, uint64_t now,
    cJSON *o)
{
	cJSON *a = cJSON_AddArrayToObject(o, "episodes"), *st;
	unsigned i;

	for (i = 0; i < d->nepisodes; i++) {
		const struct engine_episode *ep = &d->episodes[i];

		st = cJSON_CreateObject();
		cJSON_AddNumberToObject(st, "ago_s", round_to(
		    (double)(now - ep->start_ns) / 1e9, 0.001));
		cJSON_AddNumberToObject(st, "callbacks", (double)ep->callbacks);
		cJSON_AddNumberToObject(st, "ms", round_to((double)ep->callbacks
		    * pns / 1e6, 0.01));
		cJSON_AddItemToObject(st, "causes", causes_json(ep->causes));
		cJSON_AddNumberToObject(st, "load_before",
		    round_to(ep->load_before, 0.0001));
		cJSON_AddNumberToObject(st, "load_max",
		    round_to(ep->load_max, 0.0001));
		cJSON_AddItemToArray(a, st);
	}
	cJSON_AddNumberToObject(o, "episodes_total", (double)d->episodes_total);
}

void
stats_json(const struct stats *s, const struct stats_context *c, cJSON *o)
{
	const struct engine_stats *d = s->diff;
	const struct engine_counters *k = &d->counters;
	uint64_t now = rtclock_ns();
	double pns = period_ns(c);
	cJSON *x;

	cJSON_AddStringToObject(o, "state", c->state);
	cJSON_AddNumberToObject(o, "rate", c->rate);
	cJSON_AddNumberToObject(o, "period", c->period);
	cJSON_AddNumberToObject(o, "period_us", round_to(pns / 1e3, 0.1));
	cJSON_AddNumberToObject(o, "uptime_s",
	    round_to((double)c->uptime_ns / 1e9, 0.001));
	cJSON_AddNumberToObject(o, "since_reset_s",
	    round_to((double)(now - s->reset_ns) / 1e9, 0.001));
	cJSON_AddNumberToObject(o, "callbacks", (double)k->callbacks);
	cJSON_AddNumberToObject(o, "frames", (double)k->frames);
	cJSON_AddItemToObject(o, "callback_us",
	    summary_json(&d->callback_ns, 1e3, 0.1));
	cJSON_AddItemToObject(o, "callback_hist",
	    bars_json(&d->callback_ns, 16));
	cJSON_AddItemToObject(o, "interval_us",
	    summary_json(&d->interval_ns, 1e3, 0.1));
	load_json(s, c, o, now);
	xruns_json(k, o);
	pools_json(d, c, o);
	stages_json(d, c, pns, o);
	meters_json(d, o);
	episodes_json(d, pns, now, o);
	x = cJSON_AddObjectToObject(o, "page_faults");
	cJSON_AddNumberToObject(x, "callback_thread", (double)c->page_faults);
	cJSON_AddNumberToObject(x, "after_warmup", (double)c->page_faults_warm);
}

void
stats_status_json(const struct stats *s, const struct stats_context *c,
    cJSON *o)
{
	const struct engine_stats *d = s->diff;
	struct rthist_summary m;
	double pns;
	unsigned real = period_mismatch(s, c);
	char warn[512];

	rthist_summarize(load_basis(s, c, d, &pns), &m);
	cJSON_AddStringToObject(o, "state", c->state);
	cJSON_AddStringToObject(o, "device", c->device ? c->device : "");
	cJSON_AddNumberToObject(o, "rate", c->rate);
	cJSON_AddNumberToObject(o, "period", c->period);
	if (stats_real_period(s) != 0)
		cJSON_AddNumberToObject(o, "real_period", stats_real_period(s));
	else
		cJSON_AddNullToObject(o, "real_period");
	if (real != 0) {
		mismatch_text(c, real, warn, sizeof(warn));
		cJSON_AddStringToObject(o, "warning", warn);
	}
	cJSON_AddNumberToObject(o, "channels", c->channels);
	cJSON_AddNumberToObject(o, "out_channels", c->out_channels);
	cJSON_AddStringToObject(o, "source", c->source ? c->source : "none");
	if (c->source_error != NULL)
		cJSON_AddStringToObject(o, "source_error", c->source_error);
	else
		cJSON_AddNullToObject(o, "source_error");
	cJSON_AddStringToObject(o, "audio_thread",
	    c->audio_sched ? c->audio_sched : "unknown");
	if (c->recording != NULL) {
		cJSON_AddStringToObject(o, "recording", c->recording);
		cJSON_AddNumberToObject(o, "recorded_frames",
		    (double)c->recorded_frames);
	} else
		cJSON_AddNullToObject(o, "recording");
	cJSON_AddNumberToObject(o, "stages",
	    c->chain ? dsp_chain_length(c->chain) : 0);
	cJSON_AddNumberToObject(o, "callbacks", (double)d->counters.callbacks);
	cJSON_AddNumberToObject(o, "load_p99",
	    pns > 0 ? round_to((double)m.p99 / pns, 0.0001) : 0);
	cJSON_AddNumberToObject(o, "xruns", (double)d->counters.xruns);
	cJSON_AddNumberToObject(o, "missed_frames",
	    (double)d->counters.missed_frames);
	cJSON_AddNumberToObject(o, "uptime_s",
	    round_to((double)c->uptime_ns / 1e9, 0.001));
}

/* A growable string for the metrics text. */
struct text {
	char *buf;
	size_t len, cap;
};

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *nb;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		nb = realloc(t->buf, t->cap * 2 + (size_t)n);
		if (nb == NULL)
			return;
		t->buf = nb;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static void
put_summary(struct text *t, const char *name, const char *labels,
    const struct rthist *h)
{
	static const double q[] = { 0.5, 0.9, 0.99, 0.999 };
	struct rthist_summary m;
	size_t i;

	rthist_summarize(h, &m);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		put(t, "%s{%s%squantile=\"%g\"} %.9g\n", name, labels,
		    labels[0] ? "," : "", q[i],
		    (double)rthist_percentile(h, q[i] * 100) / 1e9);
	put(t, "%s_sum{%s} %.9g\n", name, labels,
	    m.mean * (double)m.count / 1e9);
	put(t, "%s_count{%s} %llu\n", name, labels,
	    (unsigned long long)m.count);
}

/* The daemon's state as gauges. */
static void
metrics_state(struct text *t, const struct stats_context *c)
{
	put(t, "# HELP tidepool_up 1 while the audio callback runs.\n"
	    "# TYPE tidepool_up gauge\ntidepool_up %d\n",
	    strcmp(c->state, "running") == 0);
	put(t, "# HELP tidepool_no_clock 1 while the device was closed "
	    "for running far faster than real time (nothing clocks it).\n"
	    "# TYPE tidepool_no_clock gauge\ntidepool_no_clock %d\n",
	    strcmp(c->state, "no_clock") == 0);
	put(t, "# HELP tidepool_source_error 1 while the configured input "
	    "file cannot be opened (it is tried again every second).\n"
	    "# TYPE tidepool_source_error gauge\ntidepool_source_error %d\n",
	    c->source_error != NULL);
}

/* Callbacks, xruns by cause, missed frames and the period. */
static void
metrics_xruns(struct text *t, const struct stats *s,
    const struct stats_context *c)
{
	const struct engine_counters *k = &s->now->counters;
	const uint64_t by_cause[] = { k->output_underflow, k->input_overflow,
	    k->late, k->source_starved, k->pool_exhausted, k->missed };
	uint32_t bit;
	unsigned i;

	put(t, "# HELP tidepool_callbacks_total Audio callbacks run.\n"
	    "# TYPE tidepool_callbacks_total counter\n"
	    "tidepool_callbacks_total %llu\n",
	    (unsigned long long)k->callbacks);
	put(t, "# HELP tidepool_xrun_callbacks_total Callbacks with an "
	    "xrun of any cause.\n"
	    "# TYPE tidepool_xrun_callbacks_total counter\n"
	    "tidepool_xrun_callbacks_total %llu\n",
	    (unsigned long long)k->xruns);
	put(t, "# HELP tidepool_xruns_total Callbacks with an xrun, by "
	    "cause (one callback may have several).\n"
	    "# TYPE tidepool_xruns_total counter\n");
	for (bit = 1, i = 0; bit <= ENGINE_CAUSE_LAST; bit <<= 1, i++)
		put(t, "tidepool_xruns_total{cause=\"%s\"} %llu\n",
		    engine_cause_name(bit), (unsigned long long)by_cause[i]);
	put(t, "# HELP tidepool_missed_frames_total Frames the server's "
	    "clock went past without calling us.\n"
	    "# TYPE tidepool_missed_frames_total counter\n"
	    "tidepool_missed_frames_total %llu\n",
	    (unsigned long long)k->missed_frames);
	put(t, "# HELP tidepool_period_frames Frames per server cycle as "
	    "configured and as measured (0 until known).\n"
	    "# TYPE tidepool_period_frames gauge\n"
	    "tidepool_period_frames{source=\"config\"} %u\n"
	    "tidepool_period_frames{source=\"server\"} %u\n",
	    c->period, stats_real_period(s));
}

/* The time summaries: callback, interval, messages, each stage. */
static void
metrics_times(struct text *t, const struct engine_stats *d,
    const struct stats_context *c)
{
	char labels[128];
	unsigned i, n;

	put(t, "# HELP tidepool_callback_seconds Time spent in the audio "
	    "callback.\n# TYPE tidepool_callback_seconds summary\n");
	put_summary(t, "tidepool_callback_seconds", "", &d->callback_ns);
	put(t, "# HELP tidepool_interval_seconds Time between callback "
	    "starts.\n# TYPE tidepool_interval_seconds summary\n");
	put_summary(t, "tidepool_interval_seconds", "", &d->interval_ns);
	put(t, "# HELP tidepool_message_latency_seconds From a control "
	    "request to its application in the callback.\n"
	    "# TYPE tidepool_message_latency_seconds summary\n");
	put_summary(t, "tidepool_message_latency_seconds", "",
	    &d->message_ns);
	put(t, "# HELP tidepool_stage_seconds Time per stage per callback."
	    "\n# TYPE tidepool_stage_seconds summary\n");
	n = c->chain != NULL ? dsp_chain_length(c->chain) : 0;
	for (i = 0; i < n && i < d->nstages && i < ENGINE_MAX_STAGES; i++) {
		snprintf(labels, sizeof(labels), "stage=\"%s\"",
		    dsp_chain_stage_name(c->chain, i));
		put_summary(t, "tidepool_stage_seconds", labels,
		    &d->stage_ns[i]);
	}
}

/* The pool, the meters, the episodes and the page faults. */
static void
metrics_levels(struct text *t, const struct engine_stats *d,
    const struct stats_context *c)
{
	unsigned i;

	put(t, "# HELP tidepool_pool_blocks Audio blocks in the pool.\n"
	    "# TYPE tidepool_pool_blocks gauge\ntidepool_pool_blocks %zu\n"
	    "# HELP tidepool_pool_free_blocks Free audio blocks now.\n"
	    "# TYPE tidepool_pool_free_blocks gauge\n"
	    "tidepool_pool_free_blocks %zu\n"
	    "# HELP tidepool_pool_min_free_blocks Lowest free count since "
	    "reset.\n# TYPE tidepool_pool_min_free_blocks gauge\n"
	    "tidepool_pool_min_free_blocks %zu\n", c->pool.blocks,
	    c->pool.free_now, c->pool.min_free);
	put(t, "# HELP tidepool_meter_peak_dbfs Output peak since reset.\n"
	    "# TYPE tidepool_meter_peak_dbfs gauge\n");
	for (i = 0; i < d->meter.channels; i++)
		put(t, "tidepool_meter_peak_dbfs{channel=\"%u\"} %.2f\n", i,
		    dbfs(d->meter.peak[i]));
	put(t, "# HELP tidepool_clipped_samples_total Output samples at or "
	    "beyond full scale.\n# TYPE tidepool_clipped_samples_total "
	    "counter\n");
	for (i = 0; i < d->meter.channels; i++)
		put(t, "tidepool_clipped_samples_total{channel=\"%u\"} %llu\n",
		    i, (unsigned long long)d->meter.clipped[i]);
	put(t, "# HELP tidepool_nonfinite_samples_total NaN or infinite "
	    "samples replaced by 0 in the chain.\n"
	    "# TYPE tidepool_nonfinite_samples_total counter\n"
	    "tidepool_nonfinite_samples_total %llu\n",
	    (unsigned long long)d->counters.nonfinite);
	put(t, "# HELP tidepool_underrun_episodes_total Runs of bad "
	    "callbacks.\n# TYPE tidepool_underrun_episodes_total counter\n"
	    "tidepool_underrun_episodes_total %llu\n",
	    (unsigned long long)d->episodes_total);
	put(t, "# HELP tidepool_callback_page_faults_total Page faults of "
	    "the audio thread.\n# TYPE tidepool_callback_page_faults_total "
	    "counter\ntidepool_callback_page_faults_total %lld\n",
	    (long long)c->page_faults);
}

char *
stats_metrics(const struct stats *s, const struct stats_context *c)
{
	struct text t = { NULL, 0, 4096 };

	t.buf = malloc(t.cap);
	if (t.buf == NULL)
		return NULL;
	t.buf[0] = '\0';
	metrics_state(&t, c);
	metrics_xruns(&t, s, c);
	metrics_times(&t, s->now, c);
	metrics_levels(&t, s->now, c);
	put(&t, "# EOF\n");
	return t.buf;
}

void
stats_status_line(const struct stats *s, const struct stats_context *c,
    char *buf, size_t len)
{
	struct rthist_summary m;
	double pns;
	unsigned real = period_mismatch(s, c);
	char warn[512] = "";

	rthist_summarize(load_basis(s, c, s->diff, &pns), &m);
	if (real != 0) {
		/* Short: STATUS= shows in one line of systemctl status. */
		snprintf(warn, sizeof(warn), "; server period %u, not %u: "
		    "PIPEWIRE_QUANTUM=%u/%g or jackd -p %u", real, c->period,
		    c->period, c->rate, c->period);
	}
	snprintf(buf, len, "%s: %g Hz/%u, load p99 %.1f%%, %llu xruns, "
	    "source %s%s%s%s", c->state, c->rate, c->period,
	    pns > 0 ? 100.0 * (double)m.p99 / pns : 0,
	    (unsigned long long)s->diff->counters.xruns,
	    c->source ? c->source : "none",
	    c->recording ? ", recording " : "",
	    c->recording ? c->recording : "", warn);
}
