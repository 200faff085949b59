/*
 * The commands of the control protocol, one short handler each, found by
 * the request's enum proto_cmd in command_table.  A handler checks, acts
 * (through the engine's messages, the player, the recorder or a hook) and
 * writes its answer into a struct command_reply; it never touches a
 * socket.  Errors are replies too: {"ok":false,"error":"..."}, saying what
 * was wrong and, where it helps, what to do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/chainbuild.h"
#include "daemon/command.h"

/* A reply object; "ok" comes first, where people look for it. */
static cJSON *
ok_object(struct command_reply *out)
{
	out->json = cJSON_CreateObject();
	cJSON_AddTrueToObject(out->json, "ok");
	return out->json;
}

static void
error_reply(struct command_reply *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
error_reply(struct command_reply *out, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_Delete(out->json);
	out->json = cJSON_CreateObject();
	cJSON_AddFalseToObject(out->json, "ok");
	cJSON_AddStringToObject(out->json, "error", msg);
}

/* The engine had no room for the message: nothing changed, try again. */
static void
busy_reply(struct command_reply *out, const char *what)
{
	error_reply(out, "busy: %s; try again", what);
	out->again = 1;
}

void
command_view_set(struct command_view *v, const struct config *cfg,
    struct dsp_chain *chain)
{
	unsigned i, p, n = dsp_chain_length(chain);
	const struct dsp_type *t;

	v->cfg = cfg;
	v->chain = chain;
	for (i = 0; i < n && i < ENGINE_MAX_STAGES; i++) {
		t = dsp_stage_type(dsp_chain_stage(chain, i));
		for (p = 0; p < t->nparams && p < DSP_MAX_PARAMS; p++)
			v->values[i][p] = dsp_stage_get(
			    dsp_chain_stage(chain, i), p);
	}
}

/* "a, b, c": the parameters of t, for an error message. */
static void
list_params(const struct dsp_type *t, char *names, size_t len)
{
	size_t used = 0;
	unsigned i;

	names[0] = '\0';
	for (i = 0; i < t->nparams && used < len; i++)
		used += (size_t)snprintf(names + used, len - used, "%s%s",
		    i ? ", " : "", t->params[i].name);
}

/*
 * The stage and parameter r names (param -1 for "get STAGE").  Returns 0,
 * or -1 with the error replied.
 */
static int
find_target(struct command_env *env, const struct proto_req *r,
    struct command_reply *out, unsigned *stage, int *param)
{
	const struct command_view *v = &env->view;
	const struct dsp_type *t;
	char names[256];
	int s;

	s = dsp_chain_find(v->chain, r->stage);
	if (s < 0) {
		error_reply(out, "no stage named '%s'; 'chain' lists them",
		    r->stage);
		return -1;
	}
	*stage = (unsigned)s;
	*param = -1;
	if (r->param[0] == '\0')
		return 0;
	t = dsp_stage_type(dsp_chain_stage(v->chain, *stage));
	*param = dsp_param_index(t, r->param);
	if (*param < 0) {
		list_params(t, names, sizeof(names));
		error_reply(out, "stage %s (%s) has no parameter '%s' "
		    "(it has: %s)", r->stage, t->name, r->param,
		    t->nparams ? names : "none");
		return -1;
	}
	return 0;
}

static cJSON *
stage_json(const struct command_view *v, unsigned i)
{
	struct dsp_stage *st = dsp_chain_stage(v->chain, i);
	const struct dsp_type *t = dsp_stage_type(st);
	cJSON *o = cJSON_CreateObject(), *ps;
	unsigned p;

	cJSON_AddStringToObject(o, "name", dsp_chain_stage_name(v->chain, i));
	cJSON_AddStringToObject(o, "type", t->name);
	cJSON_AddNumberToObject(o, "in_channels", dsp_stage_in_channels(st));
	cJSON_AddNumberToObject(o, "out_channels", dsp_stage_out_channels(st));
	if (dsp_stage_ir_frames(st) > 0)
		cJSON_AddNumberToObject(o, "ir_frames",
		    dsp_stage_ir_frames(st));
	ps = cJSON_AddObjectToObject(o, "params");
	for (p = 0; p < t->nparams && p < DSP_MAX_PARAMS; p++)
		cJSON_AddNumberToObject(ps, t->params[p].name,
		    v->values[i][p]);
	return o;
}

/* ---- the handlers, in enum proto_cmd's order -------------------------- */

static void
do_status(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	struct stats_context x;

	(void)r;
	env->hooks->snapshot(env->arg, &x);
	stats_status_json(env->stats, &x, ok_object(out));
}

static void
do_stats(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	struct stats_context x;

	(void)r;
	env->hooks->snapshot(env->arg, &x);
	stats_json(env->stats, &x, ok_object(out));
}

static void
do_stats_reset(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	(void)r;
	stats_refresh(env->stats, env->engine);
	stats_reset(env->stats);
	rtpool_stats_reset(env->blocks);
	rtpool_stats_reset(&env->msgs->pool);
	/* The meter's reset rides on a message; a full queue only delays
	   the meter's zero, as it always has. */
	(void)engine_send_reset(env->engine);
	ok_object(out);
}

static void
do_set(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	struct command_view *v = &env->view;
	const struct dsp_type *t;
	unsigned stage;
	int param;
	char why[256];
	cJSON *o;

	if (find_target(env, r, out, &stage, &param) != 0)
		return;
	t = dsp_stage_type(dsp_chain_stage(v->chain, stage));
	if (chainbuild_check(t, (unsigned)param, env->engine->setup.rate,
	    r->value, why, sizeof(why)) != 0) {
		error_reply(out, "%s.%s = %g: %s", r->stage, r->param,
		    r->value, why);
		return;
	}
	if (engine_send_set(env->engine, stage, (unsigned)param, r->value)) {
		busy_reply(out, "the message queue is full");
		return;
	}
	v->values[stage][param] = r->value;
	o = ok_object(out);
	cJSON_AddStringToObject(o, "stage", r->stage);
	cJSON_AddStringToObject(o, "param", r->param);
	cJSON_AddNumberToObject(o, "value", r->value);
}

static void
do_get(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	unsigned stage;
	int param;
	cJSON *o;

	if (find_target(env, r, out, &stage, &param) != 0)
		return;
	o = ok_object(out);
	if (param < 0) {
		cJSON_AddItemToObject(o, "stage", stage_json(&env->view,
		    stage));
		return;
	}
	cJSON_AddStringToObject(o, "stage", r->stage);
	cJSON_AddStringToObject(o, "param", r->param);
	cJSON_AddNumberToObject(o, "value", env->view.values[stage][param]);
}

static void
do_chain(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	const struct command_view *v = &env->view;
	cJSON *o = ok_object(out), *a;
	unsigned i, n = dsp_chain_length(v->chain);

	(void)r;
	cJSON_AddStringToObject(o, "config", v->cfg->path);
	cJSON_AddNumberToObject(o, "in_channels",
	    dsp_chain_in_channels(v->chain));
	cJSON_AddNumberToObject(o, "out_channels",
	    dsp_chain_out_channels(v->chain));
	a = cJSON_AddArrayToObject(o, "stages");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, stage_json(v, i));
}

static void
do_reload(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	char err[1024], note[256];
	cJSON *o;

	(void)r;
	if (env->hooks->reload(env->arg, err, sizeof(err), note,
	    sizeof(note)) != 0) {
		error_reply(out, "%s", err);
		return;
	}
	o = ok_object(out);
	cJSON_AddStringToObject(o, "config", env->view.cfg->path);
	cJSON_AddNumberToObject(o, "stages",
	    dsp_chain_length(env->view.chain));
	if (note[0] != '\0')
		cJSON_AddStringToObject(o, "note", note);
}

static void
do_play(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	char err[1024];

	if (player_start(env->player, env->engine, env->blocks, r->path,
	    &env->view.cfg->files, !r->once, err, sizeof(err)) != 0) {
		error_reply(out, "%s", err);
		return;
	}
	out->wait = COMMAND_WAIT_PLAY;	/* answered by command_played */
}

static void
do_stop(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	(void)r;
	player_stop(env->player);
	if (env->hooks->source(env->arg) != 0) {
		busy_reply(out, "the message queue is full");
		return;
	}
	ok_object(out);
}

static void
do_record(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	struct files_target t = { &env->view.cfg->files, r->overwrite,
	    { 0, 0 } };
	char err[1024];

	/* A format that cannot be written: said before a file is made. */
	if (sfout_check(r->path, env->engine->setup.rate,
	    env->engine->setup.out_channels, err, sizeof(err)) != 0) {
		error_reply(out, "%s", err);
		return;
	}
	/* Not the file being played, even with --overwrite. */
	if (env->player->state == PLAYER_STREAMING ||
	    env->player->state == PLAYER_DRAINING) {
		t.keep.dev = env->player->info.dev;
		t.keep.ino = env->player->info.ino;
	}
	if (recorder_start(env->recorder, env->engine, r->path, &t, err,
	    sizeof(err)) != 0) {
		error_reply(out, "%s", err);
		return;
	}
	out->wait = COMMAND_WAIT_RECORD;	/* see command_record_started */
}

static void
do_record_stop(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	struct recorder *rec = env->recorder;

	(void)r;
	if (rec->state == RECORDER_OFF && rec->error_unreported) {
		/* Ended by a write error since: that is the answer. */
		out->json = command_recorded(rec, env->engine->setup.rate);
		rec->error_unreported = 0;
		return;
	}
	if (rec->state == RECORDER_OFF) {
		error_reply(out, "not recording");
		return;
	}
	if (rec->state == RECORDER_OPENING) {
		error_reply(out, "busy: %s is still being opened; try again",
		    rec->path);
		return;
	}
	if (rec->state == RECORDER_ON &&
	    recorder_stop(rec, env->engine) != 0) {
		busy_reply(out, "the message queue is full");
		return;
	}
	out->wait = COMMAND_WAIT_RECORD_STOP;	/* see command_recorded */
}

char *
command_metrics(struct command_env *env, enum stats_format f)
{
	struct stats_context x;

	env->hooks->snapshot(env->arg, &x);
	return stats_metrics(env->stats, &x, f);
}

static void
do_metrics(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	(void)r;
	out->text = command_metrics(env, STATS_PROMETHEUS);
	if (out->text == NULL)
		error_reply(out, "out of memory");
}

static void
do_help(struct command_env *env, const struct proto_req *r,
    struct command_reply *out)
{
	cJSON *a;
	unsigned i;

	(void)env;
	(void)r;
	a = cJSON_AddArrayToObject(ok_object(out), "commands");
	for (i = 0; i < PROTO_NCMDS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(
		    proto_help((enum proto_cmd)i)));
}

/* Reading is for the monitor tier: nothing here changes the daemon or
   touches a file. */
const struct command command_table[PROTO_NCMDS] = {
	[PROTO_STATUS] = { do_status, PROTO_TIER_MONITOR },
	[PROTO_STATS] = { do_stats, PROTO_TIER_MONITOR },
	[PROTO_STATS_RESET] = { do_stats_reset, PROTO_TIER_FULL },
	[PROTO_SET] = { do_set, PROTO_TIER_FULL },
	[PROTO_GET] = { do_get, PROTO_TIER_MONITOR },
	[PROTO_CHAIN] = { do_chain, PROTO_TIER_MONITOR },
	[PROTO_RELOAD] = { do_reload, PROTO_TIER_FULL },
	[PROTO_PLAY] = { do_play, PROTO_TIER_FULL },
	[PROTO_STOP] = { do_stop, PROTO_TIER_FULL },
	[PROTO_RECORD] = { do_record, PROTO_TIER_FULL },
	[PROTO_RECORD_STOP] = { do_record_stop, PROTO_TIER_FULL },
	[PROTO_METRICS] = { do_metrics, PROTO_TIER_MONITOR },
	[PROTO_HELP] = { do_help, PROTO_TIER_ANYONE },
};

void
command_run(struct command_env *env, int trusted, const struct proto_req *r,
    struct command_reply *out)
{
	const struct command *cmd;

	memset(out, 0, sizeof(*out));
	if ((unsigned)r->cmd >= PROTO_NCMDS ||
	    (cmd = &command_table[r->cmd])->run == NULL) {
		error_reply(out, "unknown command");
		return;
	}
	if (trusted < (int)cmd->tier) {
		error_reply(out, "permission denied: '%s' is for root, "
		    "tidepoold's own user%s%s only", proto_cmd_name(r->cmd),
		    cmd->tier != PROTO_TIER_MONITOR ? "" : env->have_group ?
		    ", the members of its [control] group and of its "
		    "[control] monitor_group" : " and the members of its "
		    "[control] monitor_group", cmd->tier == PROTO_TIER_MONITOR ||
		    !env->have_group ? "" : " and the members of its "
		    "[control] group");
		return;
	}
	cmd->run(env, r, out);
}

void
command_line(struct command_env *env, int trusted, const char *line,
    size_t len, struct command_reply *out)
{
	char err[512];

	if (proto_parse(line, len, &env->req, err, sizeof(err)) != 0) {
		memset(out, 0, sizeof(*out));
		error_reply(out, "%s", err);
		return;
	}
	command_run(env, trusted, &env->req, out);
}

void
command_reply_done(struct command_reply *out)
{
	cJSON_Delete(out->json);
	free(out->text);
	memset(out, 0, sizeof(*out));
}

cJSON *
command_recorded(const struct recorder *r, double rate)
{
	/* A write error may end it while the file is still open. */
	const char *path = r->path != NULL ? r->path :
	    r->ended_path != NULL ? r->ended_path : "";
	struct command_reply out;
	cJSON *o;

	memset(&out, 0, sizeof(out));
	if (r->error[0] != '\0')
		error_reply(&out, "recording ended early: %s", r->error);
	else
		ok_object(&out);
	o = out.json;
	cJSON_AddStringToObject(o, "recorded", path);
	cJSON_AddNumberToObject(o, "frames", (double)r->frames);
	cJSON_AddNumberToObject(o, "seconds", (double)r->frames / rate);
	return o;
}

cJSON *
command_played(const struct player *p)
{
	struct command_reply out;
	cJSON *o;

	memset(&out, 0, sizeof(out));
	if (p->state == PLAYER_IDLE) {
		error_reply(&out, "%s", p->open_error[0] != '\0' ?
		    p->open_error : "stopped before it started");
		return out.json;
	}
	o = ok_object(&out);
	cJSON_AddStringToObject(o, "playing", p->path);
	cJSON_AddBoolToObject(o, "loop", p->loop);
	cJSON_AddStringToObject(o, "format", p->info.format);
	cJSON_AddNumberToObject(o, "file_rate", p->info.rate);
	cJSON_AddNumberToObject(o, "file_channels", p->info.channels);
	cJSON_AddStringToObject(o, "channel_map", p->info.channel_map);
	return o;
}

cJSON *
command_record_started(const struct recorder *r)
{
	struct command_reply out;

	memset(&out, 0, sizeof(out));
	if (r->state == RECORDER_OFF || r->path == NULL)
		error_reply(&out, "%s", r->open_error[0] != '\0' ?
		    r->open_error : "stopped before it started");
	else
		cJSON_AddStringToObject(ok_object(&out), "recording",
		    r->path);
	return out.json;
}
