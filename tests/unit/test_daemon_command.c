/*
 * daemon/command: each command of the control protocol against a real
 * engine and chain, without a socket: what it answers, what it sends to
 * the engine, and every refusal with its message.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/chainbuild.h"
#include "daemon/command.h"
#include "daemon/disk.h"

#define RATE 48000
#define PERIOD 64

static const char conf[] =
    "[stage.vol]\ntype = gain\n"
    "[stage.lp]\ntype = lowpass\nfreq = 5000\n";

struct rig {
	struct config *cfg;
	struct rtpool blocks;
	struct rtmsgpool msgs;
	struct engine engine;
	struct stats stats;
	struct player player;
	struct recorder recorder;
	struct disk disk;
	struct command_env env;
	struct command_reply reply;
	int snapshots, reloads, sources;
	int reload_fails, source_fails;
	float out[PERIOD * 2];
};

static void
snapshot(void *arg, struct stats_context *x)
{
	struct rig *r = arg;

	r->snapshots++;
	stats_refresh(&r->stats, &r->engine);
	memset(x, 0, sizeof(*x));
	x->state = "running";
	x->device = "test";
	x->rate = RATE;
	x->period = PERIOD;
	x->channels = x->out_channels = 2;
	x->chain = r->env.view.chain;
	rtpool_stats(&r->blocks, &x->pool);
	rtmsgpool_stats(&r->msgs, &x->msg_pool);
	x->page_faults = x->page_faults_warm = -1;
	x->source = "tone";
}

static int
reload(void *arg, char *err, size_t errlen, char *note, size_t notelen)
{
	struct rig *r = arg;

	r->reloads++;
	note[0] = '\0';
	if (r->reload_fails) {
		snprintf(err, errlen, "x.conf:3: stage.vol: gain = 99: no");
		return -1;
	}
	snprintf(note, notelen, "later");
	return 0;
}

static int
source(void *arg)
{
	struct rig *r = arg;

	r->sources++;
	return r->source_fails ? -1 : 0;
}

static const struct command_hooks hooks = { snapshot, reload, source };

static int
rig_up(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct engine_setup es;
	struct dsp_chain *chain;
	char err[256];

	assert_non_null(r);
	r->cfg = config_parse(conf, sizeof(conf) - 1, "test.conf", err,
	    sizeof(err));
	assert_non_null(r->cfg);
	chain = chainbuild_new(r->cfg, RATE, 2, PERIOD, err, sizeof(err));
	assert_non_null(chain);
	/* Enough blocks for magazines: stats reports what they hold. */
	assert_int_equal(rtpool_init(&r->blocks, sizeof(struct engine_block) +
	    sizeof(float) * 1024 * 2, RTPOOL_MAG_MIN_BLOCKS), RTPOOL_OK);
	assert_int_equal(rtmsgpool_init(&r->msgs, 16), RTPOOL_OK);
	memset(&es, 0, sizeof(es));
	es.rate = RATE;
	es.max_frames = PERIOD;
	es.channels = es.out_channels = 2;
	es.block_frames = 1024;
	es.blocks = &r->blocks;
	es.msgs = &r->msgs;
	es.ring_capacity = 4;
	es.offline = 1;
	assert_int_equal(engine_init(&r->engine, &es, chain, err,
	    sizeof(err)), 0);
	assert_int_equal(stats_init(&r->stats), 0);
	assert_int_equal(disk_init(&r->disk, 16, err, sizeof(err)), 0);
	assert_int_equal(player_init(&r->player, 2, &r->disk), 0);
	recorder_init(&r->recorder, 2, &r->disk);
	r->env.engine = &r->engine;
	r->env.blocks = &r->blocks;
	r->env.msgs = &r->msgs;
	r->env.stats = &r->stats;
	r->env.player = &r->player;
	r->env.recorder = &r->recorder;
	r->env.hooks = &hooks;
	r->env.arg = r;
	command_view_set(&r->env.view, r->cfg, chain);
	*state = r;
	return 0;
}

static int
rig_down(void **state)
{
	struct rig *r = *state;

	command_reply_done(&r->reply);
	recorder_done(&r->recorder, &r->blocks, &r->engine);
	player_done(&r->player, &r->blocks);
	assert_int_equal(disk_done(&r->disk, 1000000000ull), 1);
	engine_done(&r->engine);
	stats_done(&r->stats);
	rtmsgpool_done(&r->msgs);
	rtpool_done(&r->blocks);
	config_free(r->cfg);
	free(r);
	return 0;
}

/* Runs one line as a client of that enum proto_tier; the reply is in
   r->reply. */
static void
run_as(struct rig *r, enum proto_tier tier, const char *line)
{
	command_reply_done(&r->reply);
	command_line(&r->env, (int)tier, line, strlen(line), &r->reply);
}

/* Runs one line as a trusted client (the full tier) or a stranger. */
static void
run(struct rig *r, int trusted, const char *line)
{
	run_as(r, trusted ? PROTO_TIER_FULL : PROTO_TIER_ANYONE, line);
}

static int
ok(const struct rig *r)
{
	return r->reply.json != NULL &&
	    cJSON_IsTrue(cJSON_GetObjectItem(r->reply.json, "ok"));
}

static const char *
error(const struct rig *r)
{
	const cJSON *e;

	if (r->reply.json == NULL ||
	    !cJSON_IsFalse(cJSON_GetObjectItem(r->reply.json, "ok")))
		return "";
	e = cJSON_GetObjectItem(r->reply.json, "error");
	return cJSON_IsString(e) ? e->valuestring : "";
}

static double
number(const struct rig *r, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(r->reply.json, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void
test_every_command_has_a_handler(void **state)
{
	struct rig *r = *state;
	unsigned i;

	for (i = 0; i < PROTO_NCMDS; i++)
		assert_non_null(command_table[i].run);
	/* Only help is for anyone; the monitor tier reads and no more. */
	for (i = 0; i < PROTO_NCMDS; i++)
		assert_int_equal(command_table[i].tier, i == PROTO_HELP ?
		    PROTO_TIER_ANYONE : i == PROTO_STATUS || i == PROTO_STATS ||
		    i == PROTO_GET || i == PROTO_CHAIN || i == PROTO_METRICS ?
		    PROTO_TIER_MONITOR : PROTO_TIER_FULL);
	(void)r;
}

/* The monitor tier reads, and is refused every change with who may. */
static void
test_monitor_reads_only(void **state)
{
	struct rig *r = *state;

	r->env.have_group = 1;
	run_as(r, PROTO_TIER_MONITOR, "get vol.gain");
	assert_true(ok(r));
	run_as(r, PROTO_TIER_MONITOR, "chain");
	assert_true(ok(r));
	run_as(r, PROTO_TIER_MONITOR, "set vol.gain -6");
	assert_string_equal(error(r), "permission denied: 'set' is for "
	    "root, tidepoold's own user and the members of its [control] "
	    "group only");
	assert_int_equal(engine_pending_messages(&r->engine), 0);
	run_as(r, PROTO_TIER_ANYONE, "metrics");
	assert_string_equal(error(r), "permission denied: 'metrics' is for "
	    "root, tidepoold's own user, the members of its [control] group "
	    "and of its [control] monitor_group only");
}

static void
test_strangers_get_help_only(void **state)
{
	struct rig *r = *state;

	run(r, 0, "status");
	assert_string_equal(error(r), "permission denied: 'status' is for "
	    "root, tidepoold's own user and the members of its [control] "
	    "monitor_group only");
	r->env.have_group = 1;
	run(r, 0, "set vol.gain -6");
	assert_string_equal(error(r), "permission denied: 'set' is for "
	    "root, tidepoold's own user and the members of its [control] "
	    "group only");
	assert_int_equal(engine_pending_messages(&r->engine), 0);
	run(r, 0, "help");
	assert_true(ok(r));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	    r->reply.json, "commands")), PROTO_NCMDS);
}

static void
test_set_reaches_the_engine(void **state)
{
	struct rig *r = *state;
	struct dsp_stage *vol = dsp_chain_stage(r->env.view.chain, 0);

	run(r, 1, "set vol.gain -6");
	assert_true(ok(r));
	assert_true(number(r, "value") == -6);
	assert_int_equal(engine_pending_messages(&r->engine), 1);
	engine_process(&r->engine, NULL, r->out, PERIOD, 0);
	assert_true(dsp_stage_get(vol, 0) == -6);
	(void)engine_reclaim(&r->engine, NULL, NULL);
	run(r, 1, "get vol.gain");
	assert_true(ok(r));
	assert_true(number(r, "value") == -6);
	run(r, 1, "get lp");
	assert_true(ok(r));
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    r->reply.json, "stage"), "params"), "freq")->valuedouble == 5000);
}

static void
test_set_refusals_say_why(void **state)
{
	struct rig *r = *state;

	run(r, 1, "set eq.gain -6");
	assert_string_equal(error(r), "no stage named 'eq'; 'chain' lists "
	    "them");
	run(r, 1, "set vol.freq 100");
	assert_string_equal(error(r), "stage vol (gain) has no parameter "
	    "'freq' (it has: gain, mute)");
	run(r, 1, "set vol.gain 99");
	assert_string_equal(error(r), "vol.gain = 99: must be between -120 "
	    "and 24");
	run(r, 1, "set lp.freq 24000");
	assert_string_equal(error(r), "lp.freq = 24000: must be between 1 "
	    "and 24000 (below rate/2)");
	run(r, 1, "set vol.mute 0.5");
	assert_string_equal(error(r), "vol.mute = 0.5: must be 0 or 1 (or "
	    "yes/no)");
	assert_int_equal(engine_pending_messages(&r->engine), 0);
	run(r, 1, "sett vol.gain 1");
	assert_true(strstr(error(r), "sett") != NULL);
	assert_false(r->reply.again);	/* an error, not a full queue */
}

static void
test_busy_when_the_queue_is_full(void **state)
{
	struct rig *r = *state;
	unsigned i;

	for (i = 0; i < 16 && ok((run(r, 1, "set vol.gain -1"), r)); i++)
		;
	assert_true(i > 0 && i < 16);
	assert_string_equal(error(r), "busy: the message queue is full; try "
	    "again");
	assert_true(r->reply.again);	/* the client may run it later */
	/* The refused value is not the one "get" reports. */
	run(r, 1, "set vol.gain -2");
	assert_false(ok(r));
	run(r, 1, "get vol.gain");
	assert_true(number(r, "value") == -1);
}

static void
test_chain_lists_the_stages(void **state)
{
	struct rig *r = *state;
	const cJSON *a;

	run(r, 1, "chain");
	assert_true(ok(r));
	assert_string_equal(cJSON_GetObjectItem(r->reply.json,
	    "config")->valuestring, "test.conf");
	a = cJSON_GetObjectItem(r->reply.json, "stages");
	assert_int_equal(cJSON_GetArraySize(a), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 1),
	    "type")->valuestring, "lowpass");
}

static void
test_reports_take_a_snapshot(void **state)
{
	struct rig *r = *state;
	const cJSON *pool;
	size_t n;
	void *b;

	run(r, 1, "status");
	assert_true(ok(r));
	assert_string_equal(cJSON_GetObjectItem(r->reply.json,
	    "state")->valuestring, "running");
	/* A block taken here: this thread's magazine holds the rest of it. */
	b = rtpool_get(&r->blocks);
	assert_non_null(b);
	run(r, 1, "stats");
	assert_true(ok(r));
	assert_int_equal(r->snapshots, 2);
	pool = cJSON_GetObjectItem(r->reply.json, "pool");
	assert_int_equal(cJSON_GetObjectItem(pool, "threads")->valuedouble, 1);
	assert_int_equal(cJSON_GetObjectItem(pool, "cached")->valuedouble,
	    RTPOOL_MAG - 1);
	/* 256 blocks: two magazines and a stash of one. */
	assert_int_equal(cJSON_GetObjectItem(pool, "cache_bound")->valuedouble,
	    3 * RTPOOL_MAG);
	assert_int_equal(cJSON_GetObjectItem(pool, "free")->valuedouble,
	    RTPOOL_MAG_MIN_BLOCKS - 1);
	assert_int_equal(rtpool_put(&r->blocks, b), RTPOOL_OK);
	run(r, 1, "metrics");
	assert_null(r->reply.json);
	assert_non_null(r->reply.text);
	n = strlen(r->reply.text);
	assert_true(n > 6 && strcmp(r->reply.text + n - 6, "# EOF\n") == 0);
	assert_int_equal(r->snapshots, 3);
	run(r, 1, "stats reset");
	assert_true(ok(r));
	assert_int_equal(engine_pending_messages(&r->engine), 1);
}

static void
test_reload_and_stop_use_the_hooks(void **state)
{
	struct rig *r = *state;

	run(r, 1, "reload");
	assert_true(ok(r));
	assert_string_equal(cJSON_GetObjectItem(r->reply.json,
	    "note")->valuestring, "later");
	assert_true(number(r, "stages") == 2);
	r->reload_fails = 1;
	run(r, 1, "reload");
	assert_string_equal(error(r), "x.conf:3: stage.vol: gain = 99: no");
	assert_int_equal(r->reloads, 2);
	run(r, 1, "stop");
	assert_true(ok(r));
	r->source_fails = 1;
	run(r, 1, "stop");
	assert_string_equal(error(r), "busy: the message queue is full; "
	    "try again");
	assert_true(r->reply.again);
	assert_int_equal(r->sources, 2);
}

static void
test_record_stop_waits(void **state)
{
	struct rig *r = *state;

	run(r, 1, "record stop");
	assert_string_equal(error(r), "not recording");
	assert_int_equal(r->reply.wait, 0);
	/* Recording, but with the stop under way: the answer waits. */
	r->recorder.state = RECORDER_STOPPING;
	run(r, 1, "record stop");
	assert_null(r->reply.json);
	assert_int_equal(r->reply.wait, COMMAND_WAIT_RECORD_STOP);
	r->recorder.state = RECORDER_OFF;
}

/* play answers later, once the disk thread tried the file. */
static void
test_play_answers_later(void **state)
{
	struct rig *r = *state;
	enum player_event ev = PLAYER_NOTHING;
	int i;
	cJSON *o;

	run(r, 1, "play /nonexistent/x.wav");
	assert_null(r->reply.json);
	assert_int_equal(r->reply.wait, COMMAND_WAIT_PLAY);
	assert_int_equal(r->player.state, PLAYER_OPENING);
	for (i = 0; i < 2000 && ev == PLAYER_NOTHING; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		ev = player_collect(&r->player, &r->engine, &r->blocks);
	}
	assert_int_equal(ev, PLAYER_FAILED);
	o = command_played(&r->player);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
	assert_non_null(strstr(cJSON_GetObjectItem(o, "error")->valuestring,
	    "/nonexistent/x.wav"));
	cJSON_Delete(o);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, rig_up, rig_down)
	const struct CMUnitTest tests[] = {
		T(test_every_command_has_a_handler),
		T(test_strangers_get_help_only),
		T(test_monitor_reads_only),
		T(test_set_reaches_the_engine),
		T(test_set_refusals_say_why),
		T(test_busy_when_the_queue_is_full),
		T(test_chain_lists_the_stages),
		T(test_reports_take_a_snapshot),
		T(test_reload_and_stop_use_the_hooks),
		T(test_record_stop_waits),
		T(test_play_answers_later),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
