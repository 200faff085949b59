/*
 * Fuzz target: the control protocol, from a client's bytes to the engine.
 *
 * The input is what one client sends: lines.  Each goes through
 * proto_parse, whose result must be well formed (a known command,
 * NUL-terminated names, a finite value) or an error that is one line of
 * text.  Then the daemon's own command handlers (daemon/command.c) run it
 * where they need no files or audio: "set" and "get" find their stage and
 * parameter in a chain of every processor type, "set" checks the value
 * and sends it to an engine that runs a period after every line that sent
 * it something (so a value that passes the check is applied to the dsp);
 * "chain", "help", "stats", "status", "metrics" and "stats reset" build
 * their replies.  play, record, stop and reload need files or audio: they
 * are parsed only.  Every reply must be an object with "ok" (or, for
 * metrics, text), and the engine's output must stay finite.
 *
 * The engine and its statistics are made once (they are megabytes); each
 * input that follows one that changed a parameter starts by swapping in a
 * freshly built chain, the way reload does, so that nothing set by one
 * input carries over to the next.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "daemon/chainbuild.h"
#include "daemon/command.h"
#include "daemon/engine.h"
#include "daemon/proto.h"
#include "daemon/stats.h"

#define RATE 48000
#define PERIOD 64
#define CHANNELS 2
#define MAX_LINES 64		/* per input: keeps each run short */
#define MAX_REPORTS 4		/* a snapshot copies megabytes: a few do */
#define FADE 32			/* frames of crossfade on a swap */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every processor type with parameters; the mixer keeps two channels. */
static const char chain_text[] =
    "[stage.vol]\ntype = gain\n"
    "[stage.lp]\ntype = lowpass\n"
    "[stage.hp]\ntype = highpass\n"
    "[stage.bp]\ntype = bandpass\n"
    "[stage.notch]\ntype = notch\n"
    "[stage.ap]\ntype = allpass\n"
    "[stage.eq]\ntype = peaking\n"
    "[stage.bass]\ntype = lowshelf\n"
    "[stage.treble]\ntype = highshelf\nchannels = 1\n"
    "[stage.delay]\ntype = delay\nms = 1\n"
    "[stage.comp]\ntype = compressor\n"
    "[stage.mix]\ntype = mixer\nmatrix = 1 0.5; 0.5 1\n"
    "[stage.lim]\ntype = limiter\n"
    "[stage.meter]\ntype = meter\n";

static struct config *cfg;
static struct rtpool blocks;
static struct rtmsgpool msgs;
static struct engine engine;
static struct stats st;
static struct player player;
static struct recorder recorder;
static struct command_env env;
static int chain_changed;	/* by a set since the last swap */
static float out[PERIOD * CHANNELS];

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_proto: %s: %s\n", what, detail);
	abort();
}

static struct dsp_chain *
new_chain(void)
{
	struct dsp_chain *chain;
	char err[512];

	chain = chainbuild_new(cfg, RATE, CHANNELS, PERIOD, err, sizeof(err));
	if (chain == NULL)
		fail("the fixed chain", err);
	return chain;
}

/* The context the daemon's snapshot gives, with fixed device figures. */
static void
snapshot(void *arg, struct stats_context *x)
{
	(void)arg;
	stats_refresh(&st, &engine);
	memset(x, 0, sizeof(*x));
	x->state = "running";
	x->device = "fuzz";
	x->rate = engine.setup.rate;
	x->period = PERIOD;
	x->channels = engine.setup.channels;
	x->out_channels = engine.setup.out_channels;
	x->chain = env.view.chain;
	rtpool_stats(&blocks, &x->pool);
	rtmsgpool_stats(&msgs, &x->msg_pool);
	x->page_faults = x->page_faults_warm = -1;
	x->source = "tone 440 Hz";
}

/* Never called: reload and stop are parsed only. */
static int
reload(void *arg, char *err, size_t errlen, char *note, size_t notelen)
{
	(void)arg;
	(void)note;
	(void)notelen;
	snprintf(err, errlen, "not here");
	return -1;
}

static int
source(void *arg)
{
	(void)arg;
	return engine_send_source(&engine, ENGINE_SRC_TONE, 0, 440, 0.5);
}

static const struct command_hooks hooks = { snapshot, reload, source };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dsp_chain *chain;
	struct engine_setup es;
	char err[512];

	(void)argc;
	(void)argv;
	cfg = config_parse(chain_text, sizeof(chain_text) - 1, "proto.conf",
	    err, sizeof(err));
	if (cfg == NULL)
		fail("the fixed chain", err);
	/* The engine needs a block pool; nothing here takes from it. */
	if (rtpool_init(&blocks, sizeof(struct engine_block) +
	    sizeof(float) * PERIOD * CHANNELS, 8) != RTPOOL_OK ||
	    rtmsgpool_init(&msgs, 16) != RTPOOL_OK)
		fail("pools", "out of memory");
	memset(&es, 0, sizeof(es));
	es.rate = RATE;
	es.max_frames = PERIOD;
	es.channels = CHANNELS;
	es.out_channels = CHANNELS;
	es.block_frames = PERIOD;
	es.fade_frames = FADE;
	es.blocks = &blocks;
	es.msgs = &msgs;
	es.ring_capacity = 8;
	es.offline = 1;
	chain = new_chain();
	if (engine_init(&engine, &es, chain, err, sizeof(err)) != 0)
		fail("engine", err);
	if (stats_init(&st) != 0)
		fail("stats", "out of memory");
	/* No disk thread: play and record are not run here. */
	if (player_init(&player, 2, NULL) != 0)
		fail("player", "out of memory");
	recorder_init(&recorder, 2, NULL);
	env.engine = &engine;
	env.blocks = &blocks;
	env.msgs = &msgs;
	env.stats = &st;
	env.player = &player;
	env.recorder = &recorder;
	env.hooks = &hooks;
	command_view_set(&env.view, cfg, chain);
	if (engine_send_source(&engine, ENGINE_SRC_TONE, 0, 440, 0.5) != 0)
		fail("engine", "cannot send the source");
	return 0;
}

/* One period, then the applied messages go home and a chain swapped out
   is freed, as the control loop's recycle does. */
static void
period(struct engine *e)
{
	unsigned i;
	char where[64];

	engine_process(e, NULL, out, PERIOD, 0);
	(void)engine_reclaim(e, NULL, NULL);
	for (i = 0; i < PERIOD * CHANNELS; i++)
		if (!isfinite(out[i])) {
			snprintf(where, sizeof(where), "sample %u is %g", i,
			    (double)out[i]);
			fail("engine output not finite", where);
		}
}

static void
check_req(const struct proto_req *r)
{
	if ((unsigned)r->cmd >= PROTO_NCMDS ||
	    strcmp(proto_cmd_name(r->cmd), "?") == 0)
		fail("parsed", "an unknown command");
	if (memchr(r->stage, '\0', sizeof(r->stage)) == NULL ||
	    memchr(r->param, '\0', sizeof(r->param)) == NULL ||
	    memchr(r->path, '\0', sizeof(r->path)) == NULL)
		fail("parsed", "a name without its NUL");
	if ((r->cmd == PROTO_SET || r->cmd == PROTO_GET) &&
	    r->stage[0] == '\0')
		fail("parsed", "set or get without a stage");
	if (r->cmd == PROTO_SET && (r->param[0] == '\0' ||
	    !isfinite(r->value)))
		fail("parsed", "set without a parameter or a finite value");
	if ((r->cmd == PROTO_PLAY || r->cmd == PROTO_RECORD) &&
	    r->path[0] == '\0')
		fail("parsed", "play or record without a file");
}

/* The reply must be what a client can read: an object with "ok", one
   line of error text, or the metrics' text. */
static void
check_reply(const struct command_reply *rep)
{
	const cJSON *ok, *e;

	if (rep->text != NULL) {
		if (rep->json != NULL)
			fail("reply", "both text and JSON");
		return;
	}
	if (rep->json == NULL)
		fail("reply", "none");
	ok = cJSON_GetObjectItem(rep->json, "ok");
	if (!cJSON_IsBool(ok))
		fail("reply", "no \"ok\"");
	e = cJSON_GetObjectItem(rep->json, "error");
	if (cJSON_IsFalse(ok) && (!cJSON_IsString(e) ||
	    e->valuestring[0] == '\0' || strchr(e->valuestring, '\n')))
		fail("reply", "a failure without a one-line error");
}

/* Runs r through the daemon's handlers, as a trusted client. */
static void
run(struct engine *e, const struct proto_req *r)
{
	struct command_reply rep;
	const cJSON *err;

	command_run(&env, PROTO_TIER_FULL, r, &rep);
	check_reply(&rep);
	err = rep.json != NULL ? cJSON_GetObjectItem(rep.json, "error") :
	    NULL;
	if (r->cmd == PROTO_SET && cJSON_IsString(err) &&
	    strncmp(err->valuestring, "busy", 4) == 0) {
		/* Busy: the daemon says "try again"; a client would. */
		command_reply_done(&rep);
		period(e);
		command_run(&env, PROTO_TIER_FULL, r, &rep);
		check_reply(&rep);
		if (!cJSON_IsTrue(cJSON_GetObjectItem(rep.json, "ok")))
			fail("set", "still busy after a period");
	}
	if (r->cmd == PROTO_SET &&
	    cJSON_IsTrue(cJSON_GetObjectItem(rep.json, "ok")))
		chain_changed = 1;
	command_reply_done(&rep);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct engine *e = &engine;
	struct proto_req req;
	char err[512];
	unsigned lines = 0, reports = 0, i;

	/* A fresh chain, faded in and the old one gone before any line. */
	if (chain_changed) {
		struct dsp_chain *chain = new_chain();

		if (engine_send_swap(e, chain, ENGINE_NOT_WARMED) != 0)
			fail("engine", "cannot swap the chain");
		command_view_set(&env.view, cfg, chain);
		for (i = 0; i <= FADE / PERIOD + 1; i++)
			period(e);
		chain_changed = 0;
	}

	while (p < end && lines++ < MAX_LINES) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		/* The daemon refuses longer lines before parsing. */
		if ((size_t)(nl - p) < PROTO_MAX_LINE) {
			err[0] = '\0';
			if (proto_parse(p, (size_t)(nl - p), &req, err,
			    sizeof(err)) != 0) {
				if (err[0] == '\0' || strchr(err, '\n'))
					fail("badly shaped error", err);
			} else {
				check_req(&req);
				switch (req.cmd) {
				case PROTO_SET:
				case PROTO_GET:
				case PROTO_CHAIN:
				case PROTO_HELP:
					run(e, &req);
					break;
				case PROTO_STATS_RESET:
				case PROTO_STATUS:
				case PROTO_STATS:
				case PROTO_METRICS:
					if (reports++ < MAX_REPORTS)
						run(e, &req);
					break;
				case PROTO_RELOAD:
				case PROTO_PLAY:
				case PROTO_STOP:
				case PROTO_RECORD:
				case PROTO_RECORD_STOP:
					break;
				}
			}
		}
		/* The engine takes what a line sent at its next period. */
		if (engine_pending_messages(e) > 0)
			period(e);
		p = nl + 1;
	}
	period(e);
	return 0;
}
