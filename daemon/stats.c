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
#include <time.h>

#include "daemon/stats.h"
#include "daemon/version.h"
#include "daemon/workers.h"
#include "rtpool/rtclock.h"

int
stats_init(struct stats *s)
{
	struct timespec ts;

	memset(s, 0, sizeof(*s));
	s->now = engine_stats_new();
	s->base = engine_stats_new();
	s->diff = engine_stats_new();
	if (s->now == NULL || s->base == NULL || s->diff == NULL) {
		stats_done(s);
		return -1;
	}
	s->reset_ns = rtclock_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	s->start_unix = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	if (s->workers != NULL)
		s->now->counters.late_partitions = workers_late(s->workers);
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
	cJSON_AddNumberToObject(x, "late_partition", (double)k->late_partition);
	cJSON_AddNumberToObject(x, "total", (double)k->xruns);
	cJSON_AddNumberToObject(x, "late_partitions",
	    (double)k->late_partitions);
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
	/*
	 * Of free, what threads' magazines hold, and the most they can: how
	 * far a failed get and min_free can be from the whole pool's truth
	 * (rtpool.h).  The daemon's pool is the control thread's alone, so
	 * the figures are exact; these say so rather than ask for trust.
	 */
	cJSON_AddNumberToObject(x, "threads", (double)c->pool.threads);
	cJSON_AddNumberToObject(x, "cached", (double)c->pool.cached);
	cJSON_AddNumberToObject(x, "cache_bound", (double)c->pool.cache_bound);
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
	if (c->recording_error != NULL)
		cJSON_AddStringToObject(o, "recording_error",
		    c->recording_error);
	else
		cJSON_AddNullToObject(o, "recording_error");
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

/*
 * The metrics text.  One generator, two dialects: Prometheus text 0.0.4
 * and OpenMetrics 1.0 differ only in how a counter's family is named (with
 * or without _total), in "info" families and in _created; everything else
 * is written once.  Values are in base units (seconds, ratios) and count
 * from the start, as counters must only grow.
 */
struct text {
	char *buf;
	size_t len, cap;
	int om;			/* OpenMetrics, else text 0.0.4 */
	double created;		/* start, Unix seconds: counters' _created */
	int failed;		/* out of memory: the text is incomplete */
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
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		nb = realloc(t->buf, t->cap * 2 + (size_t)n);
		if (nb == NULL) {
			/* Half a text would read as counters going down. */
			t->failed = 1;
			t->buf[t->len] = '\0';
			return;
		}
		t->buf = nb;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

/* A value as both formats spell it: NaN, +Inf, or %.9g. */
static const char *
num(char *buf, size_t len, double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(buf, len, "%.9g", v);
	return buf;
}

/* # HELP and # TYPE of a family; counters are named without _total in
   OpenMetrics and with it in 0.0.4. */
static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	const char *suffix = strcmp(type, "counter") == 0 && !t->om ?
	    "_total" : "";

	put(t, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name,
	    suffix, type);
}

/* One counter sample, with its _created in OpenMetrics. */
static void
counter(struct text *t, const char *name, const char *labels, double v)
{
	char b[64];
	const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";

	put(t, "%s_total%s%s%s %s\n", name, open, labels, close,
	    num(b, sizeof(b), v));
	if (t->om)
		put(t, "%s_created%s%s%s %.3f\n", name, open, labels, close,
		    t->created);
}

static void
gauge(struct text *t, const char *name, const char *labels, double v)
{
	char b[64];

	put(t, "%s%s%s%s %s\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", num(b, sizeof(b), v));
}

/* Upper bounds of the time histograms, in seconds: 1-2-5 from 1 us to
   1 s, which brackets a callback (tens of us), a period (ms) and a
   message's way to the callback. */
static const double time_le[] = { 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5,
	1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5,
	1 };
/* Of the load histogram: fractions of the period, finer near the top,
   where a callback nears its deadline. */
static const double load_le[] = { 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4,
	0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2 };

/*
 * One histogram's series: cumulative _bucket{le} for each bound and +Inf,
 * _sum and _count, from rthist's buckets folded onto the bounds.  unit is
 * how many nanoseconds one base unit holds (1e9 for seconds, the period
 * for load).  A bucket of rthist's straddling a bound counts above it, so
 * a value may be placed one bound high when it lies within 1/512 below
 * the bound; never low.
 */
static void
histogram(struct text *t, const char *name, const char *labels,
    const struct rthist *h, const double *le, size_t nle, double unit)
{
	const char *sep = labels[0] ? "," : "";
	char b[64], lb[64];
	uint64_t cum = 0;
	size_t j = 0;
	unsigned i, lo, hi;

	if (h->total > 0) {
		lo = rthist_bucket_of(h->min);
		hi = rthist_bucket_of(h->max);
		for (i = lo; i <= hi; i++) {
			if (h->counts[i] == 0)
				continue;
			while (j < nle &&
			    (double)rthist_bucket_high(i) > le[j] * unit) {
				put(t, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
				    labels, sep, num(lb, sizeof(lb), le[j]),
				    (unsigned long long)cum);
				j++;
			}
			cum += h->counts[i];
		}
	}
	for (; j < nle; j++)
		put(t, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep,
		    num(lb, sizeof(lb), le[j]), (unsigned long long)cum);
	put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)h->total);
	put(t, "%s_sum%s%s%s %s\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", num(b, sizeof(b), unit > 0 ?
	    (double)h->sum / unit : NAN));
	put(t, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (unsigned long long)h->total);
	if (t->om)
		put(t, "%s_created%s%s%s %.3f\n", name, labels[0] ? "{" : "",
		    labels, labels[0] ? "}" : "", t->created);
}

/* The build, the start and the daemon's state as gauges. */
static void
metrics_state(struct text *t, const struct stats_context *c)
{
	/* A gauge, as node_exporter's node_exporter_build_info: OpenMetrics'
	   "info" type would be lost on 0.0.4 parsers such as promtool's. */
	family(t, "tidepool_build_info", "gauge",
	    "Version of tidepoold (always 1).");
	put(t, "tidepool_build_info{version=\"%s\"} 1\n", TIDEPOOL_VERSION);
	family(t, "tidepool_start_time_seconds", "gauge",
	    "When tidepoold started, in seconds since the Unix epoch.");
	put(t, "tidepool_start_time_seconds %.3f\n", t->created);
	family(t, "tidepool_up", "gauge", "1 while the audio callback runs.");
	gauge(t, "tidepool_up", "", strcmp(c->state, "running") == 0);
	family(t, "tidepool_no_clock", "gauge", "1 while the device was "
	    "closed for running far faster than real time (nothing clocks "
	    "it).");
	gauge(t, "tidepool_no_clock", "", strcmp(c->state, "no_clock") == 0);
	family(t, "tidepool_source_error", "gauge", "1 while the configured "
	    "input file cannot be opened (it is tried again every second).");
	gauge(t, "tidepool_source_error", "", c->source_error != NULL);
	family(t, "tidepool_recording_errors", "counter", "Recordings "
	    "ended early by a write error (a full disk) or a stalled file.");
	counter(t, "tidepool_recording_errors", "",
	    (double)c->recording_errors);
}

/* Callbacks, xruns by cause, missed frames and the period. */
static void
metrics_xruns(struct text *t, const struct stats *s,
    const struct stats_context *c)
{
	const struct engine_counters *k = &s->now->counters;
	const uint64_t by_cause[] = { k->output_underflow, k->input_overflow,
	    k->late, k->source_starved, k->pool_exhausted, k->missed,
	    k->late_partition };
	char labels[64];
	uint32_t bit;
	unsigned i, real = stats_real_period(s);

	family(t, "tidepool_callbacks", "counter", "Audio callbacks run.");
	counter(t, "tidepool_callbacks", "", (double)k->callbacks);
	family(t, "tidepool_frames", "counter", "Frames the callbacks "
	    "processed.");
	counter(t, "tidepool_frames", "", (double)k->frames);
	family(t, "tidepool_xrun_callbacks", "counter", "Callbacks with an "
	    "xrun of any cause.");
	counter(t, "tidepool_xrun_callbacks", "", (double)k->xruns);
	family(t, "tidepool_xruns", "counter", "Callbacks with an xrun, by "
	    "cause (one callback may have several).");
	for (bit = 1, i = 0; bit <= ENGINE_CAUSE_LAST; bit <<= 1, i++) {
		snprintf(labels, sizeof(labels), "cause=\"%s\"",
		    engine_cause_name(bit));
		counter(t, "tidepool_xruns", labels, (double)by_cause[i]);
	}
	family(t, "tidepool_missed_frames", "counter", "Frames the server's "
	    "clock went past without calling us.");
	counter(t, "tidepool_missed_frames", "", (double)k->missed_frames);
	family(t, "tidepool_late_partitions", "counter", "Output blocks of "
	    "a convolver level whose worker had no result in time (that "
	    "level added nothing to them).");
	counter(t, "tidepool_late_partitions", "",
	    (double)k->late_partitions);
	family(t, "tidepool_starved_frames", "counter", "Frames of silence "
	    "put in for a source that ran dry.");
	counter(t, "tidepool_starved_frames", "", (double)k->starved_frames);
	family(t, "tidepool_period_frames", "gauge", "Frames per server "
	    "cycle as configured and as measured (NaN until known).");
	gauge(t, "tidepool_period_frames", "source=\"config\"", c->period);
	gauge(t, "tidepool_period_frames", "source=\"server\"",
	    real != 0 ? (double)real : NAN);
}

/* The histograms: callback, interval, load, messages, each stage. */
static void
metrics_times(struct text *t, const struct stats *s,
    const struct stats_context *c)
{
	const struct engine_stats *d = s->now;
	const size_t nt = sizeof(time_le) / sizeof(time_le[0]);
	const struct rthist *lh;
	char labels[128];
	double pns;
	unsigned i, n;

	family(t, "tidepool_callback_seconds", "histogram", "Time spent in "
	    "the audio callback.");
	histogram(t, "tidepool_callback_seconds", "", &d->callback_ns,
	    time_le, nt, 1e9);
	family(t, "tidepool_interval_seconds", "histogram", "Time between "
	    "callback starts.");
	histogram(t, "tidepool_interval_seconds", "", &d->interval_ns,
	    time_le, nt, 1e9);
	lh = load_basis(s, c, d, &pns);
	family(t, "tidepool_load_ratio", "histogram", "Time in the callback "
	    "per server cycle over the cycle's length (1: the deadline).");
	histogram(t, "tidepool_load_ratio", "", lh, load_le,
	    sizeof(load_le) / sizeof(load_le[0]), pns);
	family(t, "tidepool_message_latency_seconds", "histogram", "From a "
	    "control request to its application in the callback.");
	histogram(t, "tidepool_message_latency_seconds", "", &d->message_ns,
	    time_le, nt, 1e9);
	family(t, "tidepool_stage_seconds", "histogram", "Time per stage per "
	    "callback.");
	n = c->chain != NULL ? dsp_chain_length(c->chain) : 0;
	for (i = 0; i < n && i < d->nstages && i < ENGINE_MAX_STAGES; i++) {
		snprintf(labels, sizeof(labels), "stage=\"%s\"",
		    dsp_chain_stage_name(c->chain, i));
		histogram(t, "tidepool_stage_seconds", labels, &d->stage_ns[i],
		    time_le, nt, 1e9);
	}
}

/* The pools, the meters, the episodes and the page faults. */
static void
metrics_levels(struct text *t, const struct engine_stats *d,
    const struct stats_context *c)
{
	char labels[32];
	unsigned i;

	family(t, "tidepool_pool_blocks", "gauge", "Audio blocks in the "
	    "pool.");
	gauge(t, "tidepool_pool_blocks", "", (double)c->pool.blocks);
	family(t, "tidepool_pool_free_blocks", "gauge", "Free audio blocks "
	    "now.");
	gauge(t, "tidepool_pool_free_blocks", "", (double)c->pool.free_now);
	family(t, "tidepool_pool_min_free_blocks", "gauge", "Lowest free "
	    "count (the low-water mark).");
	gauge(t, "tidepool_pool_min_free_blocks", "",
	    (double)c->pool.min_free);
	family(t, "tidepool_message_pool_free", "gauge", "Free control "
	    "messages now.");
	gauge(t, "tidepool_message_pool_free", "",
	    (double)c->msg_pool.free_now);
	family(t, "tidepool_messages_applied", "counter", "Control messages "
	    "the callback applied.");
	counter(t, "tidepool_messages_applied", "",
	    (double)d->counters.messages);
	family(t, "tidepool_meter_peak_ratio", "gauge", "Output peak since "
	    "start, as a fraction of full scale (1 = 0 dBFS).");
	for (i = 0; i < d->meter.channels; i++) {
		snprintf(labels, sizeof(labels), "channel=\"%u\"", i);
		gauge(t, "tidepool_meter_peak_ratio", labels,
		    d->meter.peak[i]);
	}
	family(t, "tidepool_meter_rms_ratio", "gauge", "Output RMS, as a "
	    "fraction of full scale.");
	for (i = 0; i < d->meter.channels; i++) {
		snprintf(labels, sizeof(labels), "channel=\"%u\"", i);
		gauge(t, "tidepool_meter_rms_ratio", labels,
		    dsp_meter_rms(&d->meter, i));
	}
	family(t, "tidepool_clipped_samples", "counter", "Output samples at "
	    "or beyond full scale.");
	for (i = 0; i < d->meter.channels; i++) {
		snprintf(labels, sizeof(labels), "channel=\"%u\"", i);
		counter(t, "tidepool_clipped_samples", labels,
		    (double)d->meter.clipped[i]);
	}
	family(t, "tidepool_nonfinite_samples", "counter", "NaN or infinite "
	    "samples replaced by 0 in the chain.");
	counter(t, "tidepool_nonfinite_samples", "",
	    (double)d->counters.nonfinite);
	family(t, "tidepool_underrun_episodes", "counter", "Runs of bad "
	    "callbacks.");
	counter(t, "tidepool_underrun_episodes", "",
	    (double)d->episodes_total);
	family(t, "tidepool_callback_page_faults", "counter", "Page faults "
	    "of the audio thread (NaN while unknown).");
	counter(t, "tidepool_callback_page_faults", "", c->page_faults >= 0 ?
	    (double)c->page_faults : NAN);
}

char *
stats_metrics(const struct stats *s, const struct stats_context *c,
    enum stats_format f)
{
	struct text t = { NULL, 0, 16384, f == STATS_OPENMETRICS, 0, 0 };

	t.created = s->start_unix;
	t.buf = malloc(t.cap);
	if (t.buf == NULL)
		return NULL;
	t.buf[0] = '\0';
	metrics_state(&t, c);
	metrics_xruns(&t, s, c);
	metrics_times(&t, s, c);
	metrics_levels(&t, s->now, c);
	put(&t, "# EOF\n");
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
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
