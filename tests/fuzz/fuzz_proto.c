/*
 * Fuzz target: the control protocol, from a client's bytes to the engine.
 *
 * The input is what one client sends: lines.  Each goes through
 * proto_parse, whose result must be well formed (a known command,
 * NUL-terminated names, a finite value) or an error that is one line of
 * text.  What the daemon's control thread then does without audio or
 * files is done too, with the same calls: "set" and "get" find their stage
 * and parameter in a chain of every processor type, "set" checks the value
 * and sends it to an engine that runs a period after every line that sent
 * it something (so a value that passes the check is applied to the dsp), and "stats",
 * "status", "metrics" and "stats reset" build their replies from its
 * statistics.  play, record and reload need files or audio: they are
 * parsed only.  The engine's output must stay finite.
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
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
	if (engine_init(&engine, &es, new_chain(), err, sizeof(err)) != 0)
		fail("engine", err);
	if (stats_init(&st) != 0)
		fail("stats", "out of memory");
	if (engine_send_source(&engine, ENGINE_SRC_TONE, 0, 440, 0.5) != 0)
		fail("engine", "cannot send the source");
	return 0;
}

/* One period, then the applied messages go home and a chain swapped out
   is freed, as the control loop's recycle does. */
static void
period(struct engine *e)
{
	struct rtmsg *m;
	struct dsp_chain *old;
	unsigned i;
	char where[64];

	engine_process(e, NULL, out, PERIOD, 0);
	while ((m = rtchan_pop_spsc(&e->ret)) != NULL) {
		if (m->type == ENGINE_MSG_SWAP &&
		    (old = m->payload.ptr[1]) != NULL)
			dsp_chain_del(old);
		if (rtmsg_put(&msgs, m) != RTPOOL_OK)
			fail("recycle", "the engine returned a stranger");
	}
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

/* find_target and do_set of the control thread, without the replies. */
static void
set_or_get(struct engine *e, const struct proto_req *r)
{
	const struct dsp_type *t;
	int s, p;
	char why[256];

	s = dsp_chain_find(e->chain, r->stage);
	if (s < 0)
		return;
	t = dsp_stage_type(dsp_chain_stage(e->chain, (unsigned)s));
	if (r->param[0] == '\0')
		return;
	p = dsp_param_index(t, r->param);
	if (p < 0 || r->cmd != PROTO_SET)
		return;
	if (chainbuild_check(t, (unsigned)p, e->setup.rate, r->value, why,
	    sizeof(why)) != 0)
		return;
	if (engine_send_set(e, (unsigned)s, (unsigned)p, r->value) != 0) {
		/* Busy: the daemon says "try again"; a client would. */
		period(e);
		if (engine_send_set(e, (unsigned)s, (unsigned)p,
		    r->value) != 0)
			fail("set", "still busy after a period");
	}
	chain_changed = 1;
}

static void
report(struct engine *e, enum proto_cmd cmd)
{
	struct stats_context x;
	cJSON *o;
	char *text;

	stats_refresh(&st, e);
	memset(&x, 0, sizeof(x));
	x.state = "running";
	x.device = "fuzz";
	x.rate = e->setup.rate;
	x.period = PERIOD;
	x.channels = e->setup.channels;
	x.out_channels = e->setup.out_channels;
	x.chain = e->chain;
	rtpool_stats(&blocks, &x.pool);
	rtmsgpool_stats(&msgs, &x.msg_pool);
	x.page_faults = x.page_faults_warm = -1;
	x.source = "tone 440 Hz";
	if (cmd == PROTO_METRICS) {
		text = stats_metrics(&st, &x);
		free(text);
		return;
	}
	o = cJSON_CreateObject();
	if (cmd == PROTO_STATUS)
		stats_status_json(&st, &x, o);
	else
		stats_json(&st, &x, o);
	text = cJSON_PrintUnformatted(o);
	if (text == NULL)
		fail("stats", "the reply does not print");
	free(text);
	cJSON_Delete(o);
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
		if (engine_send_swap(e, new_chain()) != 0)
			fail("engine", "cannot swap the chain");
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
					set_or_get(e, &req);
					break;
				case PROTO_STATS_RESET:
					if (reports++ >= MAX_REPORTS)
						break;
					stats_refresh(&st, e);
					stats_reset(&st);
					(void)engine_send_reset(e);
					break;
				case PROTO_STATUS:
				case PROTO_STATS:
				case PROTO_METRICS:
					if (reports++ < MAX_REPORTS)
						report(e, req.cmd);
					break;
				default:
					break;
				}
			}
		}
		/* The engine takes what a line sent at its next period. */
		if (rtchan_count(&e->cmd) > 0)
			period(e);
		p = nl + 1;
	}
	period(e);
	return 0;
}
