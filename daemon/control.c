/*
 * The control thread: start, the tick, reload and stop, and the glue
 * between the modules the event loop (loop.c) serves:
 *   - a timer, every 1 to 10 ms (tick): take back what the callback
 *     handed back, top up the feed and record rings, hand recorded
 *     blocks to the disk thread, move the audio device's state on
 *     (audio.c), ping systemd;
 *   - the disk thread's wake-up (disk.c): files opened, blocks decoded or
 *     written, answers for the clients that wait for them;
 *   - signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads;
 *   - the control socket and its clients (client.c), whose lines become
 *     commands (command.c).
 * Nothing here runs in the audio callback; everything the callback needs
 * is sent as a message through the engine.  This is the one file that
 * knows every module, so their hooks meet here: a little over 600 lines,
 * each function short.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "config/config.h"
#include "daemon/audio.h"
#include "daemon/chainbuild.h"
#include "daemon/client.h"
#include "daemon/command.h"
#include "daemon/control.h"
#include "daemon/disk.h"
#include "daemon/engine.h"
#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/notify.h"
#include "daemon/player.h"
#include "daemon/recorder.h"
#include "daemon/stats.h"
#include "daemon/watchdog.h"
#include "daemon/workers.h"
#include "rtpool/rtclock.h"

#define INPUT_RETRY_NS 1000000000ull	/* an [engine] file that is not there */
#define FADE_MS 10		/* crossfade of a chain swap */
/* The recent input kept to warm a reloaded chain up on, beyond what the
   first chain needs (engine_warm_up): room for ENGINE_SETTLE_MS and for a
   reload that brings a longer IR.  The daemon does not grow it later
   (it is the callback's memory): a chain that remembers more than this
   is warmed on what there is. */
#define TAIL_EXTRA_MS 1500
#define TICK_MIN_NS 1000000ull
#define TICK_MAX_NS 10000000ull
#define STOP_CLOSE_NS 700000000ull	/* SIGTERM must end within 2 s */
#define STATUS_EVERY_NS 1000000000ull	/* STATUS= and idle clients */
#define QUEUED_S 0.1		/* audio queued each way, in seconds */

struct control {
	const struct control_opts *opts;
	struct config *cfg;
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine engine;
	struct player player;
	struct recorder recorder;
	struct disk disk;	/* every file's open, read, write, close */
	struct stats stats;
	struct audio audio;
	struct loop loop;
	struct clients clients;
	struct command_env cmd;
	struct http http;	/* [metrics] listen */
	struct workers workers;	/* the convolvers' larger partitions */
	uint64_t start_ns;
	struct watchdog watchdog;	/* WATCHDOG=1 or not */
	uint64_t next_status_ns;
	uint64_t tick_ns;
	int stopping;
	char source_desc[600];	/* "tone 440 Hz", for status */
	char input_error[512];	/* why the [engine] file did not open, or "" */
	uint64_t input_retry_ns;	/* when to try that file again */
};

/* ---- sources and statistics ------------------------------------------- */

static void input_opened(struct control *c, const char *err);

/* Sends the [engine] input as the engine's source, or after a file's end
   what follows it (player_send_after_end()). */
static int
send_source(struct control *c, int after_end)
{
	char err[512];
	int rc;

	rc = (after_end ? player_send_after_end : player_send_configured)(
	    &c->player, &c->engine, &c->blocks, &c->cfg->engine,
	    c->source_desc, sizeof(c->source_desc), err, sizeof(err));
	c->input_retry_ns = rtclock_ns() + INPUT_RETRY_NS;
	/* An [engine] file being opened: input_opened() says how it went. */
	if (c->player.state == PLAYER_OPENING)
		return rc;
	input_opened(c, err);
	return rc;
}

/* The [engine] file opened (err ""), or not. */
static void
input_opened(struct control *c, const char *err)
{
	/* An [engine] file that cannot be opened is said once, shown in
	   status, and tried again every second (retry_input) until it can. */
	if (err[0] != '\0' && strcmp(err, c->input_error) != 0)
		log_msg("%s; trying again every %.0f s", err,
		    (double)INPUT_RETRY_NS / 1e9);
	else if (err[0] == '\0' && c->input_error[0] != '\0')
		log_msg("input: %s opens now", c->cfg->engine.input_path);
	snprintf(c->input_error, sizeof(c->input_error), "%s", err);
}

/* The [engine] file that did not open, while no client plays one. */
static void
retry_input(struct control *c, uint64_t now)
{
	if (c->input_error[0] != '\0' && c->player.state == PLAYER_IDLE &&
	    now >= c->input_retry_ns)
		(void)send_source(c, 0);
}

/* A fresh statistics snapshot, and what the control side knows beside. */
static void
snapshot(struct control *c, struct stats_context *x)
{
	stats_refresh(&c->stats, &c->engine);
	memset(x, 0, sizeof(*x));
	audio_context(&c->audio, c->cfg->engine.device, x);
	x->rate = c->engine.setup.rate;
	x->period = c->cfg->engine.period;
	x->channels = c->engine.setup.channels;
	x->out_channels = c->engine.setup.out_channels;
	x->chain = c->cmd.view.chain;
	rtpool_stats(&c->blocks, &x->pool);
	rtmsgpool_stats(&c->msgs, &x->msg_pool);
	if (c->player.state != PLAYER_IDLE)
		snprintf(c->source_desc, sizeof(c->source_desc), "file %s%s",
		    c->player.path, c->player.loop ? " (looping)" : "");
	x->source = c->source_desc;
	x->source_error = c->input_error[0] != '\0' ? c->input_error : NULL;
	x->recording = c->recorder.state != RECORDER_OFF ?
	    c->recorder.path : NULL;
	x->recorded_frames = c->recorder.frames;
	x->recording_error = c->recorder.error[0] != '\0' ?
	    c->recorder.error : NULL;
	x->recording_errors = c->recorder.errors;
	x->uptime_ns = rtclock_ns() - c->start_ns;
}

/* ---- reload ----------------------------------------------------------- */

/* Keeps the running [engine] settings in cfg; says if they differ. */
static void
keep_engine(struct control *c, struct config *cfg, char *note,
    size_t notelen)
{
	struct config_engine *a = &c->cfg->engine, *b = &cfg->engine;
	char *dev;

	if (a->rate != b->rate || a->period != b->period ||
	    a->channels != b->channels || strcmp(a->device, b->device) != 0)
		snprintf(note, notelen, "[engine] rate, period, channels and "
		    "device take effect at the next start");
	b->rate = a->rate;
	b->period = a->period;
	b->channels = a->channels;
	/* The device name moves over rather than being copied: the audio
	   parameters point at it, for reconnecting. */
	dev = b->device;
	b->device = a->device;
	a->device = dev;
}

/* The workers run the chain's background work, or if they cannot, the
   callback does (it costs the callback more, and is logged). */
static void
adopt(struct control *c, struct dsp_chain *chain)
{
	char err[256];

	if (workers_adopt(&c->workers, chain, err, sizeof(err)) != 0)
		log_msg("warning: %s: the callback does all of it", err);
}

/*
 * While a reload warms its chain up (engine_warm_up): what the tick does
 * to keep audio moving, so that a long warm-up (a long IR) does not
 * starve a played file or overflow a recording.  As end_recording() does
 * while it waits.
 */
static void recycle(struct control *c);
static void disk_results(struct control *c);

static void
warm_pump(void *arg)
{
	struct control *c = arg;

	recycle(c);
	disk_results(c);
	disk_kick(&c->disk);
	player_refill(&c->player, &c->engine, &c->blocks);
	recorder_pump(&c->recorder, &c->engine, &c->blocks);
}

/* The new chain from cfg, ready to swap in; NULL with err. */
static struct dsp_chain *
reload_chain(struct control *c, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct engine_setup *es = &c->engine.setup;
	struct dsp_chain *chain;

	chain = chainbuild_new(cfg, es->rate, es->channels, es->max_frames,
	    err, errlen);
	if (chain == NULL)
		return NULL;
	if (dsp_chain_out_channels(chain) != es->out_channels) {
		snprintf(err, errlen, "%s: the new chain gives %u channels; "
		    "the device was opened with %u: restart the daemon to "
		    "change that", cfg->path, dsp_chain_out_channels(chain),
		    es->out_channels);
		dsp_chain_del(chain);
		return NULL;
	}
	return chain;
}

/*
 * Re-reads the config and swaps the new chain in.  On any error the
 * running chain stays and the error is returned (and logged).
 */
static int
reload(struct control *c, char *err, size_t errlen, char *note,
    size_t notelen)
{
	struct config *cfg;
	struct dsp_chain *chain = NULL;
	uint64_t warm_pos = ENGINE_NOT_WARMED, warmed = 0, warm_ns = 0;

	note[0] = '\0';
	notify_reloading(rtclock_ns() / 1000);
	cfg = config_load(c->opts->config_path, err, errlen);
	if (cfg != NULL)
		chain = reload_chain(c, cfg, err, errlen);
	/* Last, so that the input it catches up on is the newest. */
	if (chain != NULL) {
		warm_ns = rtclock_ns();
		warm_pos = engine_warm_up(&c->engine, chain, &warmed,
		    warm_pump, c);
		warm_ns = rtclock_ns() - warm_ns;
		/* Only now: the warm-up ran every level inline. */
		adopt(c, chain);
	}
	if (chain != NULL &&
	    engine_send_swap(&c->engine, chain, warm_pos) != 0) {
		snprintf(err, errlen, "busy: the message queue is full; try "
		    "again");
		dsp_chain_del(chain);
		chain = NULL;
	}
	if (chain == NULL) {
		config_free(cfg);
		log_msg("reload failed, the running chain stays: %s", err);
		notify_reloaded();
		return -1;
	}
	keep_engine(c, cfg, note, notelen);
	config_free(c->cfg);
	c->cfg = cfg;
	command_view_set(&c->cmd.view, cfg, chain);
	/* The warm-up holds this thread: how long is worth seeing. */
	log_msg("reloaded %s: %u stages, warmed up on %.0f ms of input in "
	    "%.1f ms", cfg->path, dsp_chain_length(chain),
	    (double)warmed * 1000 / c->engine.setup.rate, warm_ns / 1e6);
	notify_reloaded();
	return 0;
}

/* ---- recording -------------------------------------------------------- */

/* A recording ended: answers clients waiting for "record stop". */
static void
recording_finished(struct control *c)
{
	const struct recorder *r = &c->recorder;
	cJSON *o;

	if (r->error[0] != '\0')
		log_msg("recording %s ended at %llu frames: %s",
		    r->ended_path != NULL ? r->ended_path : "",
		    (unsigned long long)r->frames, r->error);
	o = command_recorded(r, c->engine.setup.rate);
	if (clients_answer_waiting(&c->clients, COMMAND_WAIT_RECORD_STOP,
	    o) > 0)
		c->recorder.error_unreported = 0;
	cJSON_Delete(o);
}

/*
 * With no callback running, none will end the recording: the file is
 * finished with every frame recorded so far, and the waiting clients are
 * answered when the disk thread is done (RECORDER_FINISHED).
 */
static void
finish_recording_now(struct control *c)
{
	recorder_finish_stopped(&c->recorder, &c->engine, &c->blocks);
}

/* What the recorder said: answers the clients waiting for it. */
static void
recorder_event(struct control *c, enum recorder_event ev)
{
	cJSON *o;

	switch (ev) {
	case RECORDER_NOTHING:
		break;
	case RECORDER_STARTED:
	case RECORDER_FAILED:
		if (ev == RECORDER_FAILED)
			log_msg("record: %s", c->recorder.open_error);
		o = command_record_started(&c->recorder);
		clients_answer_waiting(&c->clients, COMMAND_WAIT_RECORD, o);
		cJSON_Delete(o);
		break;
	case RECORDER_FINISHED:
		recording_finished(c);
		break;
	}
}

/* What the player said about the start under way. */
static void
player_event(struct control *c, enum player_event ev)
{
	struct player *p = &c->player;
	cJSON *o;

	if (ev == PLAYER_NOTHING)
		return;
	if (p->configured) {
		input_opened(c, ev == PLAYER_FAILED ? p->open_error : "");
		if (ev == PLAYER_FAILED) {
			snprintf(c->source_desc, sizeof(c->source_desc),
			    "none");
			(void)engine_send_source(&c->engine, ENGINE_SRC_NONE,
			    p->generation, 0, 0);
		}
	} else if (ev == PLAYER_FAILED) {
		log_msg("play: %s", p->open_error);
		(void)send_source(c, 0);	/* what played before goes on */
	}
	o = command_played(p);
	clients_answer_waiting(&c->clients, COMMAND_WAIT_PLAY, o);
	cJSON_Delete(o);
}

/* The disk thread handed jobs back (or the tick looks). */
static void
disk_results(struct control *c)
{
	player_event(c, player_collect(&c->player, &c->engine, &c->blocks));
	recorder_event(c, recorder_collect(&c->recorder, &c->engine,
	    &c->blocks));
}

static void
on_disk(void *arg)
{
	struct control *c = arg;

	disk_woken(&c->disk);
	disk_results(c);
}

/* ---- hooks: what the modules ask of the daemon ------------------------ */

/* A feed block came back: what follows a file's end is sent. */
static void
block_returned(void *arg, const struct engine_block *b)
{
	struct control *c = arg;

	if (player_returned(&c->player, b)) {
		if (c->player.error[0] != '\0')
			log_msg("%s", c->player.error);
		(void)send_source(c, 1);
	}
}

/* The engine has applied a "record stop": see recorder_stop_applied(). */
static void
record_stopped(void *arg, uint64_t generation)
{
	struct control *c = arg;

	recorder_stop_applied(&c->recorder, &c->engine, &c->blocks,
	    generation);
}

static void
recycle(struct control *c)
{
	static const struct engine_reclaim_ops ops = {
		block_returned, record_stopped
	};

	(void)engine_reclaim(&c->engine, &ops, c);
}

static void
audio_idle_hook(void *arg, int closed)
{
	struct control *c = arg;

	/* Keep what the callback recorded before it stopped. */
	if (closed)
		recorder_salvage(&c->recorder, &c->engine, &c->blocks);
	/* No callback will end a recording that was being stopped. */
	if (c->recorder.state == RECORDER_STOPPING)
		finish_recording_now(c);
}

static void
audio_restarting_hook(void *arg)
{
	struct control *c = arg;

	recorder_salvage(&c->recorder, &c->engine, &c->blocks);
	if (c->recorder.state != RECORDER_OFF) {
		/* exec ends the disk thread: the file is finished first. */
		finish_recording_now(c);
		recorder_event(c, recorder_wait(&c->recorder, &c->engine,
		    &c->blocks, 1000000000ull));
		log_msg("recording %s ended at %llu frames",
		    c->recorder.ended_path != NULL ? c->recorder.ended_path :
		    "", (unsigned long long)c->recorder.frames);
	}
	clients_done(&c->clients);
}

static void
snapshot_hook(void *arg, struct stats_context *x)
{
	snapshot(arg, x);
}

static int
reload_hook(void *arg, char *err, size_t errlen, char *note, size_t notelen)
{
	return reload(arg, err, errlen, note, notelen);
}

/* Answers the clients still waiting for a play that will not start. */
static void
play_superseded(struct control *c, const char *why)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 0);
	cJSON_AddStringToObject(o, "error", why);
	clients_answer_waiting(&c->clients, COMMAND_WAIT_PLAY, o);
	cJSON_Delete(o);
}

static int
source_hook(void *arg)
{
	/* "stop": a play still opening is not going to start. */
	play_superseded(arg, "stopped before it started");
	return send_source(arg, 0);
}

/* One request line from a client: run it, answer it. */
static void
on_line(void *arg, struct client *cl, const char *line, size_t len)
{
	struct control *c = arg;
	struct command_reply r;
	int wait;

	command_line(&c->cmd, client_trusted(cl), line, len, &r);
	if (client_retry(cl, r.again, line, len)) {
		command_reply_done(&r);
		return;
	}
	/* A play still opening was just replaced by this one. */
	if (r.wait == COMMAND_WAIT_PLAY)
		play_superseded(c, "replaced by a later play");
	if (r.text != NULL)
		client_write(cl, r.text, strlen(r.text));
	else if (r.json != NULL)
		client_send_json(cl, r.json);
	wait = r.wait;
	command_reply_done(&r);
	if (wait == COMMAND_WAIT_NONE)
		return;
	client_wait(cl, wait);
	/* With the stream opening or closing, the callback may yet run:
	   the audio hooks decide.  With none, nothing else will. */
	if (wait == COMMAND_WAIT_RECORD_STOP && audio_idle(&c->audio))
		finish_recording_now(c);
}

/* ---- the tick and the signals ----------------------------------------- */

/* WATCHDOG=1 if the daemon is healthy (daemon/watchdog.h says what that
   means), and a line in the log when that changes. */
static void
check_health(struct control *c, uint64_t now)
{
	struct watchdog_view v;
	struct rtpool_stats ps;
	char news[256];

	rtpool_stats(&c->blocks, &ps);
	v.alive = audio_alive(&c->audio, now, c->watchdog.every_ns);
	v.pool_free = ps.free_now;
	v.frames = engine_frames(&c->engine);
	v.rate = c->engine.setup.rate;
	if (watchdog_check(&c->watchdog, now, &v, news, sizeof(news)))
		notify_watchdog();
	if (news[0] != '\0')
		log_msg("%s", news);
}

static void
tick(void *arg)
{
	struct control *c = arg;
	uint64_t now = rtclock_ns();
	struct stats_context x;
	char line[512];
	const char *news;
	double speed;

	recycle(c);
	clients_resume(&c->clients);
	disk_results(c);
	player_event(c, player_tick(&c->player, now));
	recorder_event(c, recorder_tick(&c->recorder, now));
	disk_kick(&c->disk);
	player_refill(&c->player, &c->engine, &c->blocks);
	recorder_pump(&c->recorder, &c->engine, &c->blocks);
	audio_watch(&c->audio, now);
	workers_follow(&c->workers, engine_audio_tid(&c->engine));
	http_tick(&c->http);
	retry_input(c, now);
	if (now >= c->next_status_ns) {
		snapshot(c, &x);
		stats_status_line(&c->stats, &x, line, sizeof(line));
		notify_status(line);
		if ((news = stats_news(&c->stats, &x)) != NULL)
			log_msg("warning: %s", news);
		if (c->audio.state == AUDIO_RUNNING &&
		    (speed = stats_clockless(&c->stats, &x)) > 0)
			audio_no_clock(&c->audio, now, speed);
		c->next_status_ns = now + STATUS_EVERY_NS;
		clients_reap(&c->clients, now);
	}
	if (watchdog_due(&c->watchdog, now))
		check_health(c, now);
}

static void
on_signal(void *arg, int signo)
{
	struct control *c = arg;
	char err[1024], note[256];

	switch (signo) {
	case SIGHUP:
		log_msg("SIGHUP: reloading %s", c->opts->config_path);
		(void)reload(c, err, sizeof(err), note, sizeof(note));
		break;
	case SIGTERM:
	case SIGINT:
		log_msg("%s: stopping", signo == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		c->stopping = 1;
		break;
	}
}

/* ---- start and stop --------------------------------------------------- */

static unsigned
block_frames(const struct config *cfg)
{
	unsigned f = cfg->pool.block_frames;

	/* Blocks of a few periods: fewer ring operations per second. */
	if (f == 0)
		f = cfg->engine.period > 1024 ? cfg->engine.period : 1024;
	return f;
}

/*
 * The pools and the engine around chain (which the engine then owns, or
 * which is freed on failure).  Returns the depth of the feed and record
 * queues in blocks, or 0 with the reason logged.
 */
static unsigned
start_engine(struct control *c, struct dsp_chain *chain)
{
	const struct config_engine *en = &c->cfg->engine;
	struct engine_setup es;
	unsigned bf = block_frames(c->cfg), depth, maxch;
	char err[1024];

	maxch = en->channels > dsp_chain_out_channels(chain) ? en->channels :
	    dsp_chain_out_channels(chain);
	if (rtpool_init(&c->blocks, sizeof(struct engine_block) +
	    sizeof(float) * (size_t)bf * maxch, c->cfg->pool.blocks) != 0 ||
	    rtmsgpool_init(&c->msgs, c->cfg->pool.messages) != 0) {
		log_msg("cannot allocate the pools");
		dsp_chain_del(chain);
		return 0;
	}
	/* About QUEUED_S of audio queued each way, within the pool. */
	depth = (unsigned)(QUEUED_S * en->rate / bf) + 2;
	if (depth > c->cfg->pool.blocks / 3)
		depth = c->cfg->pool.blocks / 3;
	if (depth < 1)
		depth = 1;
	memset(&es, 0, sizeof(es));
	es.rate = en->rate;
	es.max_frames = en->period;
	es.channels = en->channels;
	es.out_channels = dsp_chain_out_channels(chain);
	es.block_frames = bf;
	es.fade_frames = (unsigned)(en->rate * FADE_MS / 1000);
	es.tail_frames = dsp_chain_memory(chain) +
	    (unsigned)(en->rate * TAIL_EXTRA_MS / 1000);
	es.blocks = &c->blocks;
	es.msgs = &c->msgs;
	es.ring_capacity = c->cfg->pool.messages > depth * 2 ?
	    c->cfg->pool.messages : depth * 2;
	if (engine_init(&c->engine, &es, chain, err, sizeof(err)) != 0) {
		log_msg("%s", err);
		dsp_chain_del(chain);
		return 0;
	}
	return depth;
}

/*
 * The feed and record rings hold `depth` blocks (about 100 ms) and the
 * return ring can hold every block and message there is, so a tick every
 * eighth of the queue keeps them topped up, and waking more often only
 * costs CPU: on a 2-core VM, in alternating 30 s runs, a 2 ms tick cost
 * the daemon 0.038 to 0.051 CPU-seconds per audio second and a 10 ms one
 * 0.021 to 0.025, the callback's load the same.
 */
static uint64_t
tick_period(const struct control *c, unsigned depth)
{
	uint64_t queued_ns = (uint64_t)((double)depth *
	    c->engine.setup.block_frames * 1e9 / c->engine.setup.rate);
	uint64_t t = queued_ns / 8;

	if (t < TICK_MIN_NS)
		t = TICK_MIN_NS;
	if (t > TICK_MAX_NS)
		t = TICK_MAX_NS;
	return t;
}

/* The signals the loop takes from a signalfd.  Blocked before any thread
   exists (every thread inherits the mask), so that none of them can be
   delivered to a thread that would die of it. */
static void
handled_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The loop, its signals, timer and socket.  0, or -1 (logged). */
static int
start_loop(struct control *c)
{
	static const struct loop_ops tick_ops = { .name = "timer",
	    .in = tick };
	static const struct loop_ops signal_ops = { .name = "signals",
	    .signal = on_signal };
	sigset_t mask;

	handled_signals(&mask);
	/* Clients, and the signals, the timer, the socket and the disk. */
	if (loop_init(&c->loop, CLIENT_MAX + 4) != 0 ||
	    loop_add_signals(&c->loop, &mask, &signal_ops, c) == NULL) {
		log_msg("event loop: %s", strerror(errno));
		return -1;
	}
	if (clients_init(&c->clients, &c->loop, c->cfg->control.socket,
	    c->cfg->control.group, on_line, c) != 0)
		return -1;
	c->clients.idle_ns = (uint64_t)(c->cfg->control.idle_timeout * 1e9);
	if (loop_add_timer(&c->loop, c->tick_ns, &tick_ops, c) == NULL) {
		log_msg("event loop: timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The disk threads (every block can be at one at once, and an open and a
   close) and their wake-up.  0, or -1 with err. */
static int
start_disk(struct control *c, char *err, size_t errlen)
{
	static const struct loop_ops disk_ops = { .name = "disk thread",
	    .in = on_disk };

	if (disk_init(&c->disk, c->cfg->pool.blocks + 16, err, errlen) != 0)
		return -1;
	if (loop_add(&c->loop, disk_fd(&c->disk), &disk_ops, c) == NULL) {
		snprintf(err, errlen, "event loop: disk thread: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
start_commands(struct control *c, struct dsp_chain *chain)
{
	static const struct command_hooks hooks = {
		snapshot_hook, reload_hook, source_hook
	};
	struct command_env *env = &c->cmd;

	env->engine = &c->engine;
	env->blocks = &c->blocks;
	env->msgs = &c->msgs;
	env->stats = &c->stats;
	env->player = &c->player;
	env->recorder = &c->recorder;
	env->hooks = &hooks;
	env->arg = c;
	command_view_set(&env->view, c->cfg, chain);
}

static void
start_audio(struct control *c)
{
	static const struct audio_hooks hooks = {
		audio_idle_hook, audio_restarting_hook
	};
	const struct config_engine *en = &c->cfg->engine;
	struct paudio_params p;

	memset(&p, 0, sizeof(p));
	p.device = en->device;
	p.rate = en->rate;
	p.period = en->period;
	p.in_channels = en->input == CONFIG_INPUT_DEVICE ? en->channels : 0;
	p.out_channels = c->engine.setup.out_channels;
	audio_init(&c->audio, &c->engine, &p, c->opts->argv, &hooks, c);
}

/* A start that failed: the HTTP thread stops (control_run then stops
   the disk threads before it frees c: a refused start once crashed the
   daemon so), and a config refused that early leaves no leak for the
   sanitizers.  What the engine and the pools hold goes with the exit.
   -1. */
static int
give_up(struct control *c)
{
	struct config *cfg = c->cfg;

	c->cfg = NULL;
	http_done(&c->http);
	config_free(cfg);
	return -1;
}

static int
start(struct control *c)
{
	const struct config_engine *en;
	struct dsp_chain *chain;
	char err[1024];
	unsigned depth;
	sigset_t mask;

	c->cfg = config_load(c->opts->config_path, err, sizeof(err));
	if (c->cfg == NULL) {
		log_msg("%s", err);
		return -1;
	}
	en = &c->cfg->engine;
	/* First, so that a port in use or a bad address fails the start
	   before anything else is made.  Its thread serves nothing until the
	   loop's ticks hand it a text. */
	handled_signals(&mask);
	if (http_init(&c->http, c->cfg->metrics.listen, &c->cmd, err,
	    sizeof(err)) != 0) {
		log_msg("%s", err);
		return give_up(c);
	}
	/* Lock everything, now and later, so the callback never faults. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		log_msg("warning: cannot lock memory (%s); the audio thread "
		    "may take page faults (raise LimitMEMLOCK)",
		    strerror(errno));
	if (workers_init(&c->workers, err, sizeof(err)) != 0) {
		log_msg("%s", err);
		return give_up(c);
	}
	chain = chainbuild_new(c->cfg, en->rate, en->channels, en->period,
	    err, sizeof(err));
	if (chain == NULL) {
		log_msg("%s", err);
		return give_up(c);
	}
	adopt(c, chain);
	if ((depth = start_engine(c, chain)) == 0)
		return give_up(c);
	start_commands(c, chain);
	recorder_init(&c->recorder, depth, &c->disk);
	if (player_init(&c->player, depth, &c->disk) != 0 ||
	    stats_init(&c->stats) != 0) {
		log_msg("out of memory");
		return give_up(c);
	}
	c->stats.workers = &c->workers;
	c->tick_ns = tick_period(c, depth);
	if (start_loop(c) != 0)
		return give_up(c);
	/* After start_loop: the threads inherit its blocked signals. */
	if (start_disk(c, err, sizeof(err)) != 0 ||
	    workers_start(&c->workers, err, sizeof(err)) != 0) {
		log_msg("%s", err);
		return give_up(c);
	}
	(void)send_source(c, 0);
	c->cmd.have_group = clients_have_group(&c->clients);
	clients_monitor_group(&c->clients, c->cfg->control.monitor_group);
	watchdog_init(&c->watchdog, notify_watchdog_ns() / 2, rtclock_ns());
	log_msg("listening on %s; %u stages from %s",
	    c->cfg->control.socket, dsp_chain_length(chain), c->cfg->path);
	start_audio(c);
	return 0;
}

/*
 * Lets the callback hand over the recording's last block (END) and the
 * disk thread finish the file; a disk thread held by a FIFO nobody reads
 * is interrupted half way through the second.
 */
static void
end_recording(struct control *c)
{
	uint64_t start = rtclock_ns(), now = start, cancelled = 0;
	struct timespec ts = { 0, 1000000 };

	if (c->recorder.state != RECORDER_ON ||
	    c->audio.state != AUDIO_RUNNING ||
	    recorder_stop(&c->recorder, &c->engine) != 0)
		return;
	while (c->recorder.state != RECORDER_OFF &&
	    now - start < 1000000000ull && audio_active(&c->audio)) {
		nanosleep(&ts, NULL);
		recycle(c);
		recorder_pump(&c->recorder, &c->engine, &c->blocks);
		(void)recorder_collect(&c->recorder, &c->engine, &c->blocks);
		now = rtclock_ns();
		if (!cancelled && now - start > 250000000ull) {
			disk_cancel(&c->disk, DISK_RECORD,
			    c->recorder.generation + 1);
			cancelled = now;
		}
		/* Held where no signal reaches: leave it to the exit. */
		if (cancelled && now - cancelled > 100000000ull &&
		    disk_stuck(&c->disk, DISK_RECORD))
			break;
		disk_kick(&c->disk);
	}
}

/*
 * Stops within a bounded time, finishing the recording first.  Returns 0
 * if c may be freed, -1 if a thread left behind still uses it.
 */
static int
stop(struct control *c)
{
	int closed;

	notify_stopping();
	end_recording(c);
	closed = audio_close(&c->audio, STOP_CLOSE_NS);
	if (!closed)
		log_msg("audio: the sound server does not answer; leaving "
		    "without closing the stream");
	if (c->recorder.state != RECORDER_OFF) {
		/* What the ring still holds goes in first: the log gives the
		   file's final length. */
		recorder_finish_stopped(&c->recorder, &c->engine, &c->blocks);
		(void)recorder_wait(&c->recorder, &c->engine, &c->blocks,
		    400000000ull);
		if (c->recorder.state != RECORDER_OFF)
			log_msg("recording %s left at %llu frames: the disk "
			    "thread is held by its file", c->recorder.path,
			    (unsigned long long)(c->recorder.frames));
		else
			log_msg("recording %s closed at %llu frames%s%s",
			    c->recorder.ended_path,
			    (unsigned long long)(c->recorder.frames),
			    c->recorder.error[0] != '\0' ? ": " : "",
			    c->recorder.error);
	}
	recorder_done(&c->recorder, &c->blocks, &c->engine);
	http_done(&c->http);
	clients_done(&c->clients);
	loop_done(&c->loop);
	/* A disk thread held where no signal reaches it (a dead NFS mount)
	   may still use its blocks: leave the memory to the exit, as for a
	   worker stuck in PortAudio. */
	if (!disk_done(&c->disk, 200000000ull)) {
		log_msg("disk thread: a file does not answer; leaving "
		    "without waiting for it");
		return -1;
	}
	if (!closed)
		return -1;
	recycle(c);
	player_done(&c->player, &c->blocks);
	engine_done(&c->engine);
	workers_done(&c->workers);
	stats_done(&c->stats);
	rtmsgpool_done(&c->msgs);
	rtpool_done(&c->blocks);
	config_free(c->cfg);
	log_msg("stopped");
	return 0;
}

int
control_run(const struct control_opts *o)
{
	struct control *c;

	log_set_verbose(o->verbose);
	paudio_set_verbose(o->verbose);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return 1;
	c->opts = o;
	c->loop.epfd = -1;
	c->clients.listen_fd = -1;
	c->start_ns = rtclock_ns();
	if (start(c) != 0) {
		/* start() may have begun the disk threads before it failed
		   (the workers' start comes after them): they read c, so it
		   is freed only once they are gone, else left to the exit. */
		if (disk_done(&c->disk, 200000000ull))
			free(c);
		return 1;
	}
	while (!c->stopping)
		if (loop_poll(&c->loop, 1000) < 0) {
			log_msg("event loop: %s", strerror(errno));
			break;
		}
	if (stop(c) == 0)
		free(c);
	return 0;
}
