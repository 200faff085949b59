/*
 * The control thread.  One epoll loop serves:
 *   - a timerfd, every 1 to 10 ms: recycle what the callback handed back,
 *     top up the feed and record rings, write recorded blocks, watch that
 *     the callback is still being called, ping systemd;
 *   - a signalfd: SIGTERM/SIGINT stop cleanly, SIGHUP reloads;
 *   - the listening Unix socket and each client: one request line in, one
 *     JSON line out.
 * Nothing here runs in the audio callback; everything the callback needs
 * is sent as a message through the engine.  A client that breaks the
 * protocol gets an error or is disconnected; the loop carries on.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ck_pr.h>
#include <grp.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/chainbuild.h"
#include "daemon/control.h"
#include "daemon/engine.h"
#include "daemon/notify.h"
#include "daemon/paudio.h"
#include "daemon/paworker.h"
#include "daemon/player.h"
#include "daemon/proto.h"
#include "daemon/recorder.h"
#include "daemon/stats.h"
#include "rtpool/rtclock.h"

#define MAX_CLIENTS 128
#define CLIENT_OUT_MAX (1 << 20)	/* unread replies before we give up */
#define CLIENT_IDLE_NS (60ull * 1000000000ull)
#define CLIENT_DRAIN_NS (5ull * 1000000000ull)
#define FADE_MS 10
#define STALL_MIN_NS (250ull * 1000000ull)	/* no callback for this long */
#define TICK_MIN_NS 1000000ull
#define TICK_MAX_NS 10000000ull
#define RETRY_MAX_NS (10ull * 1000000000ull)
#define STOP_CLOSE_NS 700000000ull	/* SIGTERM must end within 2 s */
#define WARMUP_CALLBACKS 200

enum audio_state {
	AUDIO_STARTING,		/* not yet opened */
	AUDIO_OPENING,		/* the worker is opening the stream */
	AUDIO_RUNNING,		/* stream open, callbacks arriving */
	AUDIO_CLOSING,		/* lost; the worker is closing the stream */
	AUDIO_DISCONNECTED	/* lost or never found; retrying */
};

enum client_wait {
	CLIENT_READY,		/* reading requests */
	CLIENT_WAIT_RECORD	/* "record stop" answered when the file is done */
};

struct client {
	int fd;			/* -1: free slot */
	char in[PROTO_MAX_LINE];
	size_t inlen;
	char *out;		/* replies not yet written */
	size_t outlen, outcap;
	int trusted;		/* root, our user or the group: may use us */
	int closing;		/* stop reading; drain once out is flushed */
	int draining;		/* write side shut: discard input until EOF */
	int eof;		/* it shut its side: answer what it sent, close */
	enum client_wait wait;
	uint64_t last_ns;	/* last activity */
};

/* What the control side knows of the running chain. */
struct chain_view {
	struct dsp_chain *chain;	/* owned by the engine */
	double values[ENGINE_MAX_STAGES][DSP_MAX_PARAMS]; /* last set */
};

struct control {
	const struct control_opts *opts;
	struct config *cfg;
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine engine;
	struct paudio pa;
	struct paudio_params pa_params;
	struct player player;
	struct recorder recorder;
	struct stats stats;
	struct chain_view view;
	enum audio_state audio;
	int audio_failed;	/* an open failed or the stream was lost */
	int no_clock;		/* closed for running with no clock */
	struct paworker paw;	/* opens and closes the stream */
	uint64_t start_ns;
	uint64_t retry_at_ns, retry_delay_ns;
	uint64_t seen_callbacks;	/* at the last tick */
	uint64_t seen_at_ns;		/* when they last advanced */
	int64_t faults_at_warmup;	/* -1 until warm */
	int ready_sent;
	uint64_t watchdog_ns, next_watchdog_ns, next_status_ns;
	uint64_t tick_ns;
	uint64_t last_tick_ns;		/* when the last tick ran */
	char sched_desc[32];	/* the audio thread's scheduling, for status */
	int stopping;
	gid_t group;
	int have_group;
	int epfd, listen_fd, timer_fd, signal_fd;
	struct client clients[MAX_CLIENTS];
	char source_desc[600];
};

/* ---- logging ---------------------------------------------------------- */

static int verbose;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("tidepoold: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the chain -------------------------------------------------------- */

static void
view_set(struct chain_view *v, struct dsp_chain *chain)
{
	unsigned i, p, n = dsp_chain_length(chain);
	const struct dsp_type *t;

	v->chain = chain;
	for (i = 0; i < n && i < ENGINE_MAX_STAGES; i++) {
		t = dsp_stage_type(dsp_chain_stage(chain, i));
		for (p = 0; p < t->nparams && p < DSP_MAX_PARAMS; p++)
			v->values[i][p] = dsp_stage_get(
			    dsp_chain_stage(chain, i), p);
	}
}

static unsigned
block_frames(const struct config *cfg)
{
	unsigned f = cfg->pool.block_frames;

	/* Blocks of a few periods: fewer ring operations per second. */
	if (f == 0)
		f = cfg->engine.period > 1024 ? cfg->engine.period : 1024;
	return f;
}

/* ---- sources ---------------------------------------------------------- */

/* Sends the [engine] input as the engine's source. */
static int
send_configured_source(struct control *c)
{
	const struct config_engine *en = &c->cfg->engine;

	switch (en->input) {
	case CONFIG_INPUT_TONE:
		snprintf(c->source_desc, sizeof(c->source_desc),
		    "tone %g Hz", en->tone_freq);
		return engine_send_source(&c->engine, ENGINE_SRC_TONE,
		    c->player.generation, en->tone_freq,
		    pow(10.0, en->tone_level / 20.0));
	case CONFIG_INPUT_DEVICE:
		snprintf(c->source_desc, sizeof(c->source_desc), "device");
		return engine_send_source(&c->engine, ENGINE_SRC_DEVICE,
		    c->player.generation, 0, 0);
	case CONFIG_INPUT_FILE:
		snprintf(c->source_desc, sizeof(c->source_desc), "file %s",
		    en->input_path);
		{
			char err[512];

			if (player_start(&c->player, &c->engine,
			    &c->blocks, en->input_path, en->loop, err,
			    sizeof(err)) == 0)
				return 0;
			logmsg("%s", err);
		}
		/* FALLTHROUGH */
	case CONFIG_INPUT_NONE:
		break;
	}
	snprintf(c->source_desc, sizeof(c->source_desc), "none");
	return engine_send_source(&c->engine, ENGINE_SRC_NONE,
	    c->player.generation, 0, 0);
}

/* ---- replies ---------------------------------------------------------- */

static void
client_close(struct control *c, struct client *cl)
{
	(void)c;
	if (cl->fd < 0)
		return;
	close(cl->fd);	/* also removes it from the epoll set */
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	cl->outlen = cl->outcap = 0;
	cl->inlen = 0;
}

static void
client_flush(struct control *c, struct client *cl)
{
	ssize_t n;
	struct epoll_event ev;

	while (cl->outlen > 0) {
		n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(c, cl);
			return;
		}
		memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
		cl->outlen -= (size_t)n;
	}
	if (cl->outlen == 0 && cl->closing && !cl->draining) {
		/*
		 * Closing with unread input would send a reset, which can
		 * destroy the reply before the client reads it: end our side
		 * and discard what it still sends until it hangs up.
		 */
		shutdown(cl->fd, SHUT_WR);
		cl->draining = 1;
		cl->last_ns = rtclock_ns();
	}
	/* A client that hung up has said everything: once each of its
	   requests is answered, it goes. */
	if (cl->eof && cl->outlen == 0 && cl->wait == CLIENT_READY &&
	    memchr(cl->in, '\n', cl->inlen) == NULL) {
		client_close(c, cl);
		return;
	}
	/* Ask for EPOLLOUT only while something waits to be written. */
	ev.events = (cl->eof ? 0 : EPOLLIN) | (cl->outlen > 0 ? EPOLLOUT : 0);
	ev.data.ptr = cl;
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

static void
client_write(struct control *c, struct client *cl, const char *s, size_t n)
{
	char *nb;

	if (cl->fd < 0)
		return;
	if (cl->outlen + n > CLIENT_OUT_MAX) {
		/* It does not read its replies: it cannot hold us up. */
		if (verbose)
			logmsg("client %d: %zu bytes of unread replies; "
			    "disconnected", cl->fd, cl->outlen);
		client_close(c, cl);
		return;
	}
	if (cl->outlen + n > cl->outcap) {
		nb = realloc(cl->out, cl->outlen + n + 4096);
		if (nb == NULL) {
			client_close(c, cl);
			return;
		}
		cl->out = nb;
		cl->outcap = cl->outlen + n + 4096;
	}
	memcpy(cl->out + cl->outlen, s, n);
	cl->outlen += n;
	client_flush(c, cl);
}

/* A reply object; "ok" comes first, where people look for it. */
static cJSON *
ok_object(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	return o;
}

/* Sends o as one line and deletes it. */
static void
reply_json(struct control *c, struct client *cl, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (s == NULL) {
		client_close(c, cl);
		return;
	}
	client_write(c, cl, s, strlen(s));
	client_write(c, cl, "\n", 1);
	free(s);
}

static void
reply_ok(struct control *c, struct client *cl)
{
	reply_json(c, cl, ok_object());
}

static void
reply_error(struct control *c, struct client *cl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
reply_error(struct control *c, struct client *cl, const char *fmt, ...)
{
	char msg[1024], *s;
	cJSON *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", msg);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s != NULL) {
		client_write(c, cl, s, strlen(s));
		client_write(c, cl, "\n", 1);
		free(s);
	}
}

/* ---- statistics ------------------------------------------------------- */

/* "SCHED_FIFO 70", "SCHED_OTHER"...: how the audio thread is scheduled. */
static void
audio_thread_sched(const struct engine *e, char *out, size_t outlen)
{
	int tid = ck_pr_load_int((int *)&e->audio_tid), pol;
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

/* Page faults of the audio thread, from /proc; -1 if unknown. */
static int64_t
audio_thread_faults(const struct engine *e)
{
	char path[64], buf[1024], *p;
	unsigned long long minflt = 0, majflt = 0;
	int tid = ck_pr_load_int((int *)&e->audio_tid), i;
	FILE *f;

	if (tid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return -1;
	/* Fields after "(comm)": state ppid pgrp session tty tpgid flags
	   minflt cminflt majflt; minflt follows the eighth blank. */
	for (i = 0; i < 8 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %*u %llu", &minflt, &majflt) != 2)
		return -1;
	return (int64_t)(minflt + majflt);
}

static const char *
audio_state_name(const struct control *c)
{
	switch (c->audio) {
	case AUDIO_STARTING:
	case AUDIO_OPENING:
		return c->audio_failed ? "disconnected" : "starting";
	case AUDIO_RUNNING:
		return "running";
	case AUDIO_CLOSING:
	case AUDIO_DISCONNECTED:
		return c->no_clock ? "no_clock" : "disconnected";
	}
	return "?";
}

static void
fill_context(struct control *c, struct stats_context *x)
{
	int64_t faults = audio_thread_faults(&c->engine);

	memset(x, 0, sizeof(*x));
	x->state = audio_state_name(c);
	/* c->pa is the worker's while it opens or closes. */
	x->device = c->audio == AUDIO_RUNNING && c->pa.device[0] ?
	    c->pa.device : c->cfg->engine.device;
	x->rate = c->engine.setup.rate;
	x->period = c->cfg->engine.period;
	x->channels = c->engine.setup.channels;
	x->out_channels = c->engine.setup.out_channels;
	x->chain = c->view.chain;
	rtpool_stats(&c->blocks, &x->pool);
	rtmsgpool_stats(&c->msgs, &x->msg_pool);
	x->page_faults = faults;
	x->page_faults_warm = faults >= 0 && c->faults_at_warmup >= 0 ?
	    faults - c->faults_at_warmup : -1;
	if (c->player.state != PLAYER_IDLE)
		snprintf(c->source_desc, sizeof(c->source_desc), "file %s%s",
		    c->player.path, c->player.loop ? " (looping)" : "");
	x->source = c->source_desc;
	x->recording = c->recorder.state != RECORDER_OFF ?
	    c->recorder.path : NULL;
	x->recorded_frames = c->recorder.frames;
	x->uptime_ns = rtclock_ns() - c->start_ns;
	audio_thread_sched(&c->engine, c->sched_desc, sizeof(c->sched_desc));
	x->audio_sched = c->sched_desc;
}

/* ---- commands --------------------------------------------------------- */

static int
find_target(struct control *c, struct client *cl, const struct proto_req *r,
    unsigned *stage, int *param)
{
	const struct dsp_type *t;
	int s;

	s = dsp_chain_find(c->view.chain, r->stage);
	if (s < 0) {
		reply_error(c, cl, "no stage named '%s'; 'chain' lists them",
		    r->stage);
		return -1;
	}
	*stage = (unsigned)s;
	*param = -1;
	if (r->param[0] == '\0')
		return 0;
	t = dsp_stage_type(dsp_chain_stage(c->view.chain, *stage));
	*param = dsp_param_index(t, r->param);
	if (*param < 0) {
		char names[256];
		size_t used = 0;
		unsigned i;

		names[0] = '\0';
		for (i = 0; i < t->nparams && used < sizeof(names); i++)
			used += (size_t)snprintf(names + used,
			    sizeof(names) - used, "%s%s", i ? ", " : "",
			    t->params[i].name);
		reply_error(c, cl, "stage %s (%s) has no parameter '%s' "
		    "(it has: %s)", r->stage, t->name, r->param,
		    t->nparams ? names : "none");
		return -1;
	}
	return 0;
}

static cJSON *
stage_json(struct control *c, unsigned i)
{
	struct dsp_stage *st = dsp_chain_stage(c->view.chain, i);
	const struct dsp_type *t = dsp_stage_type(st);
	cJSON *o = cJSON_CreateObject(), *ps;
	unsigned p;

	cJSON_AddStringToObject(o, "name",
	    dsp_chain_stage_name(c->view.chain, i));
	cJSON_AddStringToObject(o, "type", t->name);
	cJSON_AddNumberToObject(o, "in_channels", dsp_stage_in_channels(st));
	cJSON_AddNumberToObject(o, "out_channels", dsp_stage_out_channels(st));
	ps = cJSON_AddObjectToObject(o, "params");
	for (p = 0; p < t->nparams && p < DSP_MAX_PARAMS; p++)
		cJSON_AddNumberToObject(ps, t->params[p].name,
		    c->view.values[i][p]);
	return o;
}

static void
do_set(struct control *c, struct client *cl, const struct proto_req *r)
{
	const struct dsp_type *t;
	unsigned stage;
	int param;
	char why[256];
	cJSON *o;

	if (find_target(c, cl, r, &stage, &param) != 0)
		return;
	t = dsp_stage_type(dsp_chain_stage(c->view.chain, stage));
	if (chainbuild_check(t, (unsigned)param, c->engine.setup.rate,
	    r->value, why, sizeof(why)) != 0) {
		reply_error(c, cl, "%s.%s = %g: %s", r->stage, r->param,
		    r->value, why);
		return;
	}
	if (engine_send_set(&c->engine, stage, (unsigned)param, r->value)) {
		reply_error(c, cl, "busy: the message queue is full; try "
		    "again");
		return;
	}
	c->view.values[stage][param] = r->value;
	o = ok_object();
	cJSON_AddStringToObject(o, "stage", r->stage);
	cJSON_AddStringToObject(o, "param", r->param);
	cJSON_AddNumberToObject(o, "value", r->value);
	reply_json(c, cl, o);
}

static void
do_get(struct control *c, struct client *cl, const struct proto_req *r)
{
	unsigned stage;
	int param;
	cJSON *o;

	if (find_target(c, cl, r, &stage, &param) != 0)
		return;
	if (param < 0) {
		o = ok_object();
		cJSON_AddItemToObject(o, "stage", stage_json(c, stage));
		reply_json(c, cl, o);
		return;
	}
	o = ok_object();
	cJSON_AddStringToObject(o, "stage", r->stage);
	cJSON_AddStringToObject(o, "param", r->param);
	cJSON_AddNumberToObject(o, "value", c->view.values[stage][param]);
	reply_json(c, cl, o);
}

static void
do_chain(struct control *c, struct client *cl)
{
	cJSON *o = ok_object(), *a;
	unsigned i, n = dsp_chain_length(c->view.chain);

	cJSON_AddStringToObject(o, "config", c->cfg->path);
	cJSON_AddNumberToObject(o, "in_channels",
	    dsp_chain_in_channels(c->view.chain));
	cJSON_AddNumberToObject(o, "out_channels",
	    dsp_chain_out_channels(c->view.chain));
	a = cJSON_AddArrayToObject(o, "stages");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, stage_json(c, i));
	reply_json(c, cl, o);
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
	struct dsp_chain *chain;
	const struct config_engine *a = &c->cfg->engine, *b;
	char *dev;

	note[0] = '\0';
	notify_reloading(rtclock_ns() / 1000);
	cfg = config_load(c->opts->config_path, err, errlen);
	if (cfg == NULL)
		goto fail;
	chain = chainbuild_new(cfg, c->engine.setup.rate,
	    c->engine.setup.channels, c->engine.setup.max_frames, err, errlen);
	if (chain == NULL) {
		config_free(cfg);
		goto fail;
	}
	if (dsp_chain_out_channels(chain) != c->engine.setup.out_channels) {
		snprintf(err, errlen, "%s: the new chain gives %u channels; "
		    "the device was opened with %u: restart the daemon to "
		    "change that", cfg->path, dsp_chain_out_channels(chain),
		    c->engine.setup.out_channels);
		dsp_chain_del(chain);
		config_free(cfg);
		goto fail;
	}
	if (engine_send_swap(&c->engine, chain) != 0) {
		snprintf(err, errlen, "busy: the message queue is full; try "
		    "again");
		dsp_chain_del(chain);
		config_free(cfg);
		goto fail;
	}
	b = &cfg->engine;
	if (a->rate != b->rate || a->period != b->period ||
	    a->channels != b->channels || strcmp(a->device, b->device) != 0)
		snprintf(note, notelen, "[engine] rate, period, channels and "
		    "device take effect at the next start");
	/* Keep the running engine settings; take everything else.  The
	   device name moves over rather than being copied: pa_params points
	   at it, for reconnecting. */
	cfg->engine.rate = a->rate;
	cfg->engine.period = a->period;
	cfg->engine.channels = a->channels;
	dev = cfg->engine.device;
	cfg->engine.device = c->cfg->engine.device;
	c->cfg->engine.device = dev;
	config_free(c->cfg);
	c->cfg = cfg;
	view_set(&c->view, chain);
	logmsg("reloaded %s: %u stages", cfg->path, dsp_chain_length(chain));
	notify_reloaded();
	return 0;
fail:
	logmsg("reload failed, the running chain stays: %s", err);
	notify_reloaded();
	return -1;
}

static void recording_finished(struct control *c);

/*
 * With no callback running, none will end the recording: it ends here,
 * with every frame recorded so far, and the waiting clients are answered.
 */
static void
finish_recording_now(struct control *c)
{
	recorder_finish_stopped(&c->recorder, &c->engine, &c->blocks);
	recording_finished(c);
}

static void
do_command(struct control *c, struct client *cl, const struct proto_req *r)
{
	struct stats_context x;
	char err[1024], note[256];
	cJSON *o, *a;
	char *text;
	unsigned i;

	/* Anyone who can connect may ask for help; nothing else. */
	if (!cl->trusted && r->cmd != PROTO_HELP) {
		reply_error(c, cl, "permission denied: '%s' is for root, "
		    "tidepoold's own user%s only", proto_cmd_name(r->cmd),
		    c->have_group ? " and the members of its [control] group" :
		    "");
		return;
	}
	switch (r->cmd) {
	case PROTO_STATUS:
		stats_refresh(&c->stats, &c->engine);
		fill_context(c, &x);
		o = ok_object();
		stats_status_json(&c->stats, &x, o);
		reply_json(c, cl, o);
		break;
	case PROTO_STATS:
		stats_refresh(&c->stats, &c->engine);
		fill_context(c, &x);
		o = ok_object();
		stats_json(&c->stats, &x, o);
		reply_json(c, cl, o);
		break;
	case PROTO_STATS_RESET:
		stats_refresh(&c->stats, &c->engine);
		stats_reset(&c->stats);
		rtpool_stats_reset(&c->blocks);
		rtpool_stats_reset(&c->msgs.pool);
		(void)engine_send_reset(&c->engine);
		reply_ok(c, cl);
		break;
	case PROTO_SET:
		do_set(c, cl, r);
		break;
	case PROTO_GET:
		do_get(c, cl, r);
		break;
	case PROTO_CHAIN:
		do_chain(c, cl);
		break;
	case PROTO_RELOAD:
		if (reload(c, err, sizeof(err), note, sizeof(note)) != 0) {
			reply_error(c, cl, "%s", err);
			break;
		}
		o = ok_object();
		cJSON_AddStringToObject(o, "config", c->cfg->path);
		cJSON_AddNumberToObject(o, "stages",
		    dsp_chain_length(c->view.chain));
		if (note[0] != '\0')
			cJSON_AddStringToObject(o, "note", note);
		reply_json(c, cl, o);
		break;
	case PROTO_PLAY:
		if (player_start(&c->player, &c->engine, &c->blocks,
		    r->path, !r->once, err, sizeof(err)) != 0) {
			reply_error(c, cl, "%s", err);
			break;
		}
		o = ok_object();
		cJSON_AddStringToObject(o, "playing", r->path);
		cJSON_AddBoolToObject(o, "loop", !r->once);
		cJSON_AddStringToObject(o, "format",
		    sfin_info(c->player.in)->format);
		cJSON_AddNumberToObject(o, "file_rate",
		    sfin_info(c->player.in)->rate);
		cJSON_AddNumberToObject(o, "file_channels",
		    sfin_info(c->player.in)->channels);
		reply_json(c, cl, o);
		break;
	case PROTO_STOP:
		player_stop(&c->player);
		if (send_configured_source(c) != 0) {
			reply_error(c, cl, "busy: try again");
			break;
		}
		reply_ok(c, cl);
		break;
	case PROTO_RECORD:
		if (recorder_start(&c->recorder, &c->engine, r->path, err,
		    sizeof(err)) != 0) {
			reply_error(c, cl, "%s", err);
			break;
		}
		/* Blocks to record into before the first callback asks. */
		(void)recorder_pump(&c->recorder, &c->engine, &c->blocks);
		o = ok_object();
		cJSON_AddStringToObject(o, "recording", r->path);
		reply_json(c, cl, o);
		break;
	case PROTO_RECORD_STOP:
		if (c->recorder.state == RECORDER_OFF) {
			reply_error(c, cl, "not recording");
			break;
		}
		if (c->recorder.state == RECORDER_ON &&
		    recorder_stop(&c->recorder, &c->engine) != 0) {
			reply_error(c, cl, "busy: try again");
			break;
		}
		cl->wait = CLIENT_WAIT_RECORD;	/* answered when done */
		/* With the stream opening or closing, the callback may yet
		   run: audio_opened() or audio_closed() decide. */
		if (c->audio == AUDIO_DISCONNECTED ||
		    c->audio == AUDIO_STARTING)
			finish_recording_now(c);
		break;
	case PROTO_METRICS:
		stats_refresh(&c->stats, &c->engine);
		fill_context(c, &x);
		text = stats_metrics(&c->stats, &x);
		if (text == NULL) {
			reply_error(c, cl, "out of memory");
			break;
		}
		client_write(c, cl, text, strlen(text));
		free(text);
		break;
	case PROTO_HELP:
		o = ok_object();
		a = cJSON_AddArrayToObject(o, "commands");
		for (i = 0; i < PROTO_NCMDS; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(
			    proto_help((enum proto_cmd)i)));
		reply_json(c, cl, o);
		break;
	}
}

/* A recording ended: answers clients waiting for "record stop". */
static void
recording_finished(struct control *c)
{
	const struct recorder *r = &c->recorder;
	/* A write error may end it while the file is still open. */
	const char *path = r->path != NULL ? r->path :
	    r->ended_path != NULL ? r->ended_path : "";
	uint64_t frames = r->frames;
	struct client *cl;
	cJSON *o;
	unsigned i;

	if (c->recorder.error[0] != '\0')
		logmsg("recording %s ended: %s", path, c->recorder.error);
	for (i = 0; i < MAX_CLIENTS; i++) {
		cl = &c->clients[i];
		if (cl->fd < 0 || cl->wait != CLIENT_WAIT_RECORD)
			continue;
		cl->wait = CLIENT_READY;
		if (c->recorder.error[0] != '\0') {
			reply_error(c, cl, "%s", c->recorder.error);
			continue;
		}
		o = ok_object();
		cJSON_AddStringToObject(o, "recorded", path);
		cJSON_AddNumberToObject(o, "frames", (double)frames);
		cJSON_AddNumberToObject(o, "seconds",
		    (double)frames / c->engine.setup.rate);
		reply_json(c, cl, o);
	}
	/* The lines sent behind "record stop" run at the next tick
	   (resume_clients), not from inside this. */
}

static void client_run_lines(struct control *c, struct client *cl);

/* Runs the lines clients sent while they waited for an answer. */
static void
resume_clients(struct control *c)
{
	struct client *cl;
	unsigned i;

	for (i = 0; i < MAX_CLIENTS; i++) {
		cl = &c->clients[i];
		if (cl->fd < 0 || cl->wait != CLIENT_READY || cl->closing ||
		    memchr(cl->in, '\n', cl->inlen) == NULL)
			continue;
		client_run_lines(c, cl);
		if (cl->fd >= 0)
			client_flush(c, cl);
	}
}

/* ---- clients ---------------------------------------------------------- */

/*
 * 1 if the peer is root, our user, or has the [control] group among its
 * groups.  The groups are the ones the kernel recorded for the peer at
 * connect (SO_PEERGROUPS), as file permissions would see them, and
 * reading them needs no user database lookup in the event loop.
 */
static int
peer_trusted(struct control *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[256];
	unsigned i, n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 1;
	if (!c->have_group)
		return 0;
	if (cr.gid == c->group)
		return 1;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return 0;
	n = len / sizeof(groups[0]);
	for (i = 0; i < n; i++)
		if (groups[i] == c->group)
			return 1;
	return 0;
}

static void
accept_clients(struct control *c)
{
	struct epoll_event ev;
	struct client *cl;
	unsigned i;
	int fd;

	for (;;) {
		fd = accept4(c->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < MAX_CLIENTS && c->clients[i].fd >= 0; i++)
			;
		if (i == MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":"
			    "\"too many clients\"}\n";

			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		cl = &c->clients[i];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->trusted = peer_trusted(c, fd);
		cl->last_ns = rtclock_ns();
		ev.events = EPOLLIN;
		ev.data.ptr = cl;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			client_close(c, cl);
	}
}

/*
 * Runs the complete lines a client has sent, in order, until one must
 * wait for its answer ("record stop"); resume_clients() goes on.
 */
static void
client_run_lines(struct control *c, struct client *cl)
{
	struct proto_req *req;
	char err[512], *nl;
	size_t len;

	req = malloc(sizeof(*req));
	if (req == NULL) {
		client_close(c, cl);
		return;
	}
	while (cl->fd >= 0 && cl->wait == CLIENT_READY && !cl->closing &&
	    (nl = memchr(cl->in, '\n', cl->inlen)) != NULL) {
		len = (size_t)(nl - cl->in);
		if (proto_parse(cl->in, len, req, err, sizeof(err)) != 0) {
			memmove(cl->in, nl + 1, cl->inlen - len - 1);
			cl->inlen -= len + 1;
			reply_error(c, cl, "%s", err);
			continue;
		}
		memmove(cl->in, nl + 1, cl->inlen - len - 1);
		cl->inlen -= len + 1;
		do_command(c, cl, req);
	}
	free(req);
}

static void
client_readable(struct control *c, struct client *cl)
{
	ssize_t n;

	if (cl->draining) {
		n = recv(cl->fd, cl->in, sizeof(cl->in), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			client_close(c, cl);
		return;
	}
	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen, 0);
	if (n == 0) {
		/* Half a line left at the end was never a request. */
		cl->eof = 1;
		client_run_lines(c, cl);
		if (cl->fd >= 0)
			client_flush(c, cl);
		return;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		client_close(c, cl);
		return;
	}
	if (n < 0)
		return;
	cl->inlen += (size_t)n;
	cl->last_ns = rtclock_ns();
	client_run_lines(c, cl);
	if (cl->fd >= 0 && cl->inlen == sizeof(cl->in)) {
		reply_error(c, cl, "request longer than %d bytes; "
		    "disconnecting", PROTO_MAX_LINE - 1);
		cl->closing = 1;
		cl->inlen = 0;
		client_flush(c, cl);
	}
}

/* Disconnects clients that sent half a line and went quiet. */
static void
reap_idle_clients(struct control *c, uint64_t now)
{
	struct client *cl;
	unsigned i;

	for (i = 0; i < MAX_CLIENTS; i++) {
		cl = &c->clients[i];
		if (cl->fd < 0)
			continue;
		/* Half a line, or a drained client that never hangs up. */
		if ((cl->inlen > 0 || cl->draining) &&
		    now - cl->last_ns > (cl->draining ? CLIENT_DRAIN_NS :
		    CLIENT_IDLE_NS))
			client_close(c, cl);
	}
}

/* ---- audio ------------------------------------------------------------ */

/* Retries after the current delay, which then doubles up to the limit. */
static void
audio_retry_later(struct control *c, uint64_t now)
{
	c->audio = AUDIO_DISCONNECTED;
	c->audio_failed = 1;
	c->retry_at_ns = now + c->retry_delay_ns;
	c->retry_delay_ns *= 2;
	if (c->retry_delay_ns > RETRY_MAX_NS)
		c->retry_delay_ns = RETRY_MAX_NS;
	/* No callback will end a recording that was being stopped. */
	if (c->recorder.state == RECORDER_STOPPING)
		finish_recording_now(c);
}

static void
audio_open(struct control *c, uint64_t now)
{
	/*
	 * A new stream is a new audio thread: it must flush its own
	 * denormals and name itself again.  No stream is open, so nothing
	 * else touches these now.
	 */
	c->engine.ftz_done = 0;
	ck_pr_store_int(&c->engine.audio_tid, 0);
	if (paworker_start(&c->paw, PAWORKER_OPEN, &c->pa, &c->pa_params,
	    &c->engine) != 0) {
		logmsg("audio: cannot start a thread to open the device; "
		    "retrying in %.1f s", (double)c->retry_delay_ns / 1e9);
		audio_retry_later(c, now);
		return;
	}
	c->audio = AUDIO_OPENING;
}

/* The worker has tried to open the stream. */
static void
audio_opened(struct control *c, uint64_t now)
{
	char lat[64];

	if (c->paw.result != 0) {
		logmsg("audio: %s; retrying in %.1f s", c->paw.err,
		    (double)c->retry_delay_ns / 1e9);
		audio_retry_later(c, now);
		return;
	}
	logmsg("audio: %s (%s), %g Hz, %u frames, %u in / %u out, %s",
	    c->pa.device, c->pa.host_api, c->pa_params.rate,
	    c->pa_params.period, c->pa_params.in_channels,
	    c->pa_params.out_channels, paudio_latency_text(&c->pa, lat,
	    sizeof(lat)));
	c->audio = AUDIO_RUNNING;
	c->no_clock = 0;
	c->retry_delay_ns = 500000000ull;
	c->seen_at_ns = now;
	c->seen_callbacks = ck_pr_load_64(
	    &c->engine.live->counters.callbacks);
}

static void audio_closed(struct control *c, uint64_t now);

#define RESTARTED_ENV "TIDEPOOLD_RESTARTED"

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
restart_in_place(struct control *c, const char *why)
{
	sigset_t mask;
	unsigned i;

	logmsg("audio: %s: the sound server is gone; PortAudio would hold "
	    "its stream for minutes, so tidepoold starts again in place",
	    why);
	if (c->opts->argv == NULL)
		return;
	recorder_salvage(&c->recorder, &c->engine, &c->blocks);
	if (c->recorder.state != RECORDER_OFF) {
		logmsg("recording %s ended at %llu frames", c->recorder.path,
		    (unsigned long long)c->recorder.frames);
		finish_recording_now(c);
	}
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(c, &c->clients[i]);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		c->listen_fd = -1;
		unlink(c->cfg->control.socket);
	}
	setenv(RESTARTED_ENV, why, 1);
	/* exec keeps the mask; the new process blocks what it needs. */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	execv("/proc/self/exe", c->opts->argv);
	logmsg("cannot start again: %s; waiting for PortAudio instead",
	    strerror(errno));
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* The callback stopped coming: close (on the worker), then retry. */
static void
audio_lost(struct control *c, uint64_t now, const char *why)
{
	logmsg("audio: %s; reconnecting", why);
	c->audio_failed = 1;
	c->faults_at_warmup = -1;
	if (paworker_start(&c->paw, PAWORKER_CLOSE, &c->pa, &c->pa_params,
	    &c->engine) != 0) {
		paudio_close(&c->pa);
		audio_closed(c, now);
		return;
	}
	c->audio = AUDIO_CLOSING;
}

/*
 * Frames far faster than real time: nothing clocks the device, and the
 * callback would take a core for ever.  Closed, and tried again only at
 * the longest retry delay.
 */
static void
audio_no_clock(struct control *c, uint64_t now, double speed)
{
	char why[768];

	snprintf(why, sizeof(why), "%s runs %.0f times faster than %g Hz: "
	    "nothing clocks it; closed, next try in %.0f s", c->pa.device,
	    speed, c->engine.setup.rate, (double)RETRY_MAX_NS / 1e9);
	c->no_clock = 1;
	c->retry_delay_ns = RETRY_MAX_NS;
	audio_lost(c, now, why);
}

/* The stream is closed: the callback is over; keep what it recorded. */
static void
audio_closed(struct control *c, uint64_t now)
{
	recorder_salvage(&c->recorder, &c->engine, &c->blocks);
	c->audio = AUDIO_DISCONNECTED;
	c->retry_at_ns = now + c->retry_delay_ns;
	if (c->recorder.state == RECORDER_STOPPING)
		finish_recording_now(c);
}

static void
watch_audio(struct control *c, uint64_t now)
{
	uint64_t cbs = ck_pr_load_64(&c->engine.live->counters.callbacks);
	uint64_t stall = STALL_MIN_NS;
	char why[128];

	if (paworker_collect(&c->paw)) {
		if (c->paw.job == PAWORKER_OPEN)
			audio_opened(c, now);
		else
			audio_closed(c, now);
		return;
	}
	if (c->audio == AUDIO_DISCONNECTED || c->audio == AUDIO_STARTING) {
		if (now >= c->retry_at_ns)
			audio_open(c, now);
		return;
	}
	if (c->audio != AUDIO_RUNNING)
		return;
	if (cbs != c->seen_callbacks) {
		c->seen_callbacks = cbs;
		c->seen_at_ns = now;
		if (c->faults_at_warmup < 0 && cbs >= WARMUP_CALLBACKS)
			c->faults_at_warmup = audio_thread_faults(&c->engine);
		if (!c->ready_sent && cbs > 0) {
			notify_ready();
			c->ready_sent = 1;
		}
		return;
	}
	if (now - c->seen_at_ns > stall) {
		snprintf(why, sizeof(why), "no callback for %.0f ms",
		    (double)(now - c->seen_at_ns) / 1e6);
		if (!paudio_active(&c->pa))
			restart_in_place(c, why);	/* returns if exec failed */
		audio_lost(c, now, why);
	}
}

/* ---- the tick --------------------------------------------------------- */

/* The engine has applied a "record stop": see recorder_stop_applied(). */
static void
recording_stop_applied(struct control *c, uint64_t generation)
{
	if (recorder_stop_applied(&c->recorder, &c->engine, &c->blocks,
	    generation))
		recording_finished(c);
}

static void
recycle(struct control *c)
{
	void *item;
	struct rtmsg *m;
	struct dsp_chain *old;

	while ((item = rtchan_pop_spsc(&c->engine.ret)) != NULL) {
		if (rtpool_owns(&c->blocks, item)) {
			if (player_returned(&c->player, item)) {
				if (c->player.error[0] != '\0')
					logmsg("%s", c->player.error);
				(void)send_configured_source(c);
			}
			rtpool_put(&c->blocks, item);
			continue;
		}
		m = item;
		if (m->type == ENGINE_MSG_SWAP &&
		    (old = m->payload.ptr[1]) != NULL)
			dsp_chain_del(old);
		if (m->type == ENGINE_MSG_RECORD && m->payload.u64[0] == 0)
			recording_stop_applied(c, m->payload.u64[1]);
		rtmsg_put(&c->msgs, m);
	}
}

static void
tick(struct control *c)
{
	uint64_t now = rtclock_ns(), expirations;
	struct stats_context x;
	struct rtpool_stats ps;
	char line[512];
	const char *news;
	double speed;

	if (read(c->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		logmsg("timer: %s", strerror(errno));
	/* A tick this late means the whole process was stopped (SIGSTOP):
	   the callback gets a fresh chance to show it runs. */
	if (c->last_tick_ns != 0 && now - c->last_tick_ns > STALL_MIN_NS)
		c->seen_at_ns = now;
	c->last_tick_ns = now;
	recycle(c);
	resume_clients(c);
	player_refill(&c->player, &c->engine, &c->blocks);
	if (recorder_pump(&c->recorder, &c->engine, &c->blocks))
		recording_finished(c);
	watch_audio(c, now);
	if (now >= c->next_status_ns) {
		stats_refresh(&c->stats, &c->engine);
		fill_context(c, &x);
		stats_status_line(&c->stats, &x, line, sizeof(line));
		notify_status(line);
		if ((news = stats_news(&c->stats, &x)) != NULL)
			logmsg("warning: %s", news);
		if (c->audio == AUDIO_RUNNING &&
		    (speed = stats_clockless(&c->stats, &x)) > 0)
			audio_no_clock(c, now, speed);
		c->next_status_ns = now + 1000000000ull;
		reap_idle_clients(c, now);
	}
	if (c->watchdog_ns && now >= c->next_watchdog_ns) {
		/* Only while the audio path is alive and the pool healthy. */
		rtpool_stats(&c->blocks, &ps);
		if (c->audio == AUDIO_RUNNING && now - c->seen_at_ns <
		    c->watchdog_ns / 2 && ps.free_now > 0)
			notify_watchdog();
		c->next_watchdog_ns = now + c->watchdog_ns / 2;
	}
}

/* ---- signals ---------------------------------------------------------- */

static void
on_signal(struct control *c)
{
	struct signalfd_siginfo si;
	char err[1024], note[256];

	while (read(c->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			logmsg("SIGHUP: reloading %s", c->opts->config_path);
			(void)reload(c, err, sizeof(err), note, sizeof(note));
			break;
		case SIGTERM:
		case SIGINT:
			logmsg("%s: stopping",
			    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			c->stopping = 1;
			break;
		}
	}
}

/* ---- start and stop --------------------------------------------------- */

static int
open_socket(struct control *c, const char *path)
{
	struct sockaddr_un sa;
	struct group *gr;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logmsg("%s: socket path too long (at most %zu bytes)", path,
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		logmsg("socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file nobody listens on is left from a crash: reuse it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		logmsg("%s: another tidepoold is listening there", path);
		close(fd);
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0) {
		logmsg("%s: cannot listen: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0660);
	if (c->cfg->control.group != NULL) {
		gr = getgrnam(c->cfg->control.group);
		if (gr == NULL)
			logmsg("[control] group = %s: no such group; only "
			    "root and this user may use the socket",
			    c->cfg->control.group);
		else {
			c->group = gr->gr_gid;
			c->have_group = 1;
			if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
				logmsg("%s: cannot give it to group %s: %s",
				    path, gr->gr_name, strerror(errno));
		}
	}
	return fd;
}

static int
add_fd(struct control *c, int fd, void *tag)
{
	struct epoll_event ev;

	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int
start(struct control *c)
{
	const struct config_engine *en;
	struct engine_setup es;
	struct dsp_chain *chain;
	struct itimerspec its;
	sigset_t mask;
	char err[1024];
	unsigned bf, depth, maxch, i;
	uint64_t queued_ns;

	c->cfg = config_load(c->opts->config_path, err, sizeof(err));
	if (c->cfg == NULL) {
		logmsg("%s", err);
		return -1;
	}
	en = &c->cfg->engine;
	/* Lock everything, now and later, so the callback never faults. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		logmsg("warning: cannot lock memory (%s); the audio thread "
		    "may take page faults (raise LimitMEMLOCK)",
		    strerror(errno));
	chain = chainbuild_new(c->cfg, en->rate, en->channels, en->period,
	    err, sizeof(err));
	if (chain == NULL) {
		logmsg("%s", err);
		return -1;
	}
	bf = block_frames(c->cfg);
	maxch = en->channels > dsp_chain_out_channels(chain) ? en->channels :
	    dsp_chain_out_channels(chain);
	if (rtpool_init(&c->blocks, sizeof(struct engine_block) +
	    sizeof(float) * (size_t)bf * maxch, c->cfg->pool.blocks) != 0 ||
	    rtmsgpool_init(&c->msgs, c->cfg->pool.messages) != 0) {
		logmsg("cannot allocate the pools");
		dsp_chain_del(chain);
		return -1;
	}
	/* About 100 ms of audio queued each way, within the pool. */
	depth = (unsigned)(0.1 * en->rate / bf) + 2;
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
	es.blocks = &c->blocks;
	es.msgs = &c->msgs;
	es.ring_capacity = c->cfg->pool.messages > depth * 2 ?
	    c->cfg->pool.messages : depth * 2;
	if (engine_init(&c->engine, &es, chain, err, sizeof(err)) != 0) {
		logmsg("%s", err);
		dsp_chain_del(chain);
		return -1;
	}
	view_set(&c->view, chain);
	player_init(&c->player, depth);
	recorder_init(&c->recorder, depth);
	if (stats_init(&c->stats) != 0) {
		logmsg("out of memory");
		return -1;
	}
	(void)send_configured_source(c);

	/* Signals arrive on a signalfd; block them before threads exist. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->listen_fd = open_socket(c, c->cfg->control.socket);
	if (c->signal_fd < 0 || c->timer_fd < 0 || c->epfd < 0 ||
	    c->listen_fd < 0)
		return -1;
	/*
	 * The feed and record rings hold `depth` blocks (about 100 ms) and
	 * the return ring can hold every block and message there is, so a
	 * tick every eighth of the queue keeps them topped up, and waking
	 * more often only costs CPU: on a 2-core VM, in alternating 30 s
	 * runs, a 2 ms tick cost the daemon 0.038 to 0.051 CPU-seconds per
	 * audio second and a 10 ms one 0.021 to 0.025, the callback's load
	 * the same.
	 */
	queued_ns = (uint64_t)((double)depth * bf * 1e9 / en->rate);
	c->tick_ns = queued_ns / 8;
	if (c->tick_ns < TICK_MIN_NS)
		c->tick_ns = TICK_MIN_NS;
	if (c->tick_ns > TICK_MAX_NS)
		c->tick_ns = TICK_MAX_NS;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = (long)c->tick_ns;
	its.it_value.tv_nsec = (long)c->tick_ns;
	timerfd_settime(c->timer_fd, 0, &its, NULL);
	add_fd(c, c->signal_fd, &c->signal_fd);
	add_fd(c, c->timer_fd, &c->timer_fd);
	add_fd(c, c->listen_fd, &c->listen_fd);
	for (i = 0; i < MAX_CLIENTS; i++)
		c->clients[i].fd = -1;

	c->pa_params.device = en->device;
	c->pa_params.rate = en->rate;
	c->pa_params.period = en->period;
	c->pa_params.in_channels = en->input == CONFIG_INPUT_DEVICE ?
	    en->channels : 0;
	c->pa_params.out_channels = es.out_channels;
	c->watchdog_ns = notify_watchdog_ns();
	c->faults_at_warmup = -1;
	c->retry_delay_ns = 500000000ull;
	logmsg("listening on %s; %u stages from %s",
	    c->cfg->control.socket, dsp_chain_length(chain), c->cfg->path);
	if (getenv(RESTARTED_ENV) != NULL) {
		logmsg("started again in place after: %s",
		    getenv(RESTARTED_ENV));
		c->audio_failed = 1;	/* status: disconnected */
		unsetenv(RESTARTED_ENV);
	}
	c->audio = AUDIO_STARTING;
	c->retry_at_ns = 0;		/* the first tick opens it */
	return 0;
}

/* Stops within a bounded time, finishing the recording first. */
static void
stop(struct control *c)
{
	uint64_t deadline = rtclock_ns() + 1000000000ull;
	struct timespec ts = { 0, 1000000 };
	unsigned i;
	int closed;

	notify_stopping();
	if (c->recorder.state == RECORDER_ON && c->audio == AUDIO_RUNNING &&
	    recorder_stop(&c->recorder, &c->engine) == 0) {
		/* Let the callback hand over its last block (END). */
		while (c->recorder.state != RECORDER_OFF &&
		    rtclock_ns() < deadline && paudio_active(&c->pa)) {
			nanosleep(&ts, NULL);
			recorder_pump(&c->recorder, &c->engine, &c->blocks);
		}
	}
	/*
	 * Close on the worker, within a bound: a stopped sound server would
	 * hold a close (or an open still under way) for ever.
	 */
	closed = paworker_wait(&c->paw, STOP_CLOSE_NS) &&
	    paworker_start(&c->paw, PAWORKER_STOP, &c->pa, &c->pa_params,
	    &c->engine) == 0 && paworker_wait(&c->paw, STOP_CLOSE_NS);
	if (!closed)
		logmsg("audio: the sound server does not answer; leaving "
		    "without closing the stream");
	else
		logmsg("audio: stream stopped; closing it is left to the "
		    "exit, as PortAudio aborts when the server goes "
		    "during a close");
	if (c->recorder.state != RECORDER_OFF)
		logmsg("recording %s closed at %llu frames", c->recorder.path,
		    (unsigned long long)(c->recorder.frames));
	recorder_done(&c->recorder, &c->blocks, &c->engine);
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(c, &c->clients[i]);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->cfg->control.socket);
	}
	/* A worker stuck in PortAudio may still use the engine: leave the
	   memory to the exit. */
	if (!closed)
		return;
	recycle(c);
	player_done(&c->player);
	engine_done(&c->engine);
	stats_done(&c->stats);
	rtmsgpool_done(&c->msgs);
	rtpool_done(&c->blocks);
	config_free(c->cfg);
	logmsg("stopped");
}

int
control_run(const struct control_opts *o)
{
	struct control *c;
	struct epoll_event evs[32];
	int n, i, rc = 0;

	verbose = o->verbose;
	paudio_set_verbose(verbose);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return 1;
	c->opts = o;
	c->listen_fd = c->timer_fd = c->signal_fd = c->epfd = -1;
	c->start_ns = rtclock_ns();
	if (start(c) != 0) {
		free(c);
		return 1;
	}
	while (!c->stopping) {
		n = epoll_wait(c->epfd, evs, 32, 1000);
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &c->timer_fd)
				tick(c);
			else if (tag == &c->signal_fd)
				on_signal(c);
			else if (tag == &c->listen_fd)
				accept_clients(c);
			else {
				struct client *cl = tag;

				if (cl->fd < 0)
					continue;
				if (evs[i].events & (EPOLLERR | EPOLLHUP) &&
				    !(evs[i].events & EPOLLIN))
					client_close(c, cl);
				else if (evs[i].events & EPOLLIN)
					client_readable(c, cl);
				if (cl->fd >= 0 && evs[i].events & EPOLLOUT)
					client_flush(c, cl);
			}
		}
	}
	stop(c);
	free(c);
	return rc;
}
