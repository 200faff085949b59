/*
 * config/: the config files tidepool ships, config/tidepool.conf and every
 * .conf file in config/examples, load and say what they are meant to say.
 * Run from the repository root, as tests/run.sh does.
 *
 * Loading proves there is no unknown section, no unknown key in [engine],
 * [pool] or [control], and no malformed line.  Stage keys are the daemon's
 * to check; config/ does not know the processors, so this test carries the
 * documented parameter names (README, "Processors") to catch a typo in a
 * shipped file early.  It is a copy: the daemon's own check, building the
 * chain of each shipped file, is the one that counts, and
 * test_all_build_and_run does it.  This test links config/ alone (the
 * layers stay apart), so it runs the daemon's code as a program:
 * tidepool-render of the same build (beside tests/) builds each file's
 * chain with the daemon's chain builder and processes half a second of
 * noise through it, at the file's rate and channel count; the output must
 * have every frame, the chain's channel count, only finite samples and
 * some signal.
 */
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "config/config.h"

static struct config *
load(const char *path)
{
	char err[512];
	struct config *c = config_load(path, err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

/* Documented stage types and their parameters, NULL-terminated. */
struct doc_type {
	const char *type;
	const char *params[8];
};
static const struct doc_type doc_types[] = {
	{ "gain", { "gain", "mute", NULL } },
	{ "lowpass", { "freq", "q", NULL } },
	{ "highpass", { "freq", "q", NULL } },
	{ "bandpass", { "freq", "q", NULL } },
	{ "notch", { "freq", "q", NULL } },
	{ "allpass", { "freq", "q", NULL } },
	{ "peaking", { "freq", "q", "gain", NULL } },
	{ "lowshelf", { "freq", "q", "gain", NULL } },
	{ "highshelf", { "freq", "q", "gain", NULL } },
	{ "delay", { "ms", NULL } },
	{ "limiter", { "threshold", "release", "lookahead", NULL } },
	{ "compressor", { "threshold", "ratio", "attack", "release", "knee",
		"makeup", NULL } },
	{ "mixer", { "matrix", "outputs", "gain", NULL } },
	{ "meter", { NULL } },
	{ "convolver", { "file", "normalize", "gain", NULL } },
};

/* A stage's type and keys are documented ones, with values that parse. */
static void
check_stage(const char *path, const struct config_stage *s,
    unsigned channels)
{
	const struct doc_type *t = NULL;
	const struct config_kv *kv;
	unsigned i, k, u;
	uint32_t mask;
	double d;
	int b, ok;

	for (i = 0; i < sizeof(doc_types) / sizeof(doc_types[0]); i++)
		if (strcmp(doc_types[i].type, s->type) == 0)
			t = &doc_types[i];
	if (t == NULL)
		fail_msg("%s:%u: stage.%s: type = %s: not a documented type",
		    path, s->type_line, s->name, s->type);
	for (k = 0; k < s->nkeys; k++) {
		kv = &s->keys[k];
		if (strcmp(kv->key, "channels") == 0) {
			if (config_parse_channels(kv->value, &mask, channels)
			    != 0)
				fail_msg("%s:%u: channels = %s: not a channel "
				    "list for %u channels", path, kv->line,
				    kv->value, channels);
			continue;
		}
		for (i = 0; t->params[i] != NULL; i++)
			if (strcmp(t->params[i], kv->key) == 0)
				break;
		if (t->params[i] == NULL)
			fail_msg("%s:%u: stage.%s: %s: not a documented "
			    "parameter of %s", path, kv->line, s->name,
			    kv->key, s->type);
		if (strcmp(kv->key, "matrix") == 0)
			ok = 1;		/* rows: test_crossover */
		else if (strcmp(kv->key, "file") == 0)
			ok = kv->value[0] != '\0';	/* read by the build */
		else if (strcmp(kv->key, "normalize") == 0)
			ok = strcmp(kv->value, "none") == 0 ||
			    strcmp(kv->value, "peak") == 0 ||
			    strcmp(kv->value, "energy") == 0;
		else if (strcmp(kv->key, "outputs") == 0)
			ok = config_parse_uint(kv->value, &u) == 0;
		else if (strcmp(kv->key, "mute") == 0)
			ok = config_parse_bool(kv->value, &b) == 0;
		else
			ok = config_parse_double(kv->value, &d) == 0;
		if (!ok)
			fail_msg("%s:%u: stage.%s: %s = %s: does not parse",
			    path, kv->line, s->name, kv->key, kv->value);
	}
}

/* Rows of a mixer matrix: "1 0; 0 1" has 2. */
static unsigned
matrix_rows(const char *m)
{
	unsigned rows = 1;

	for (; *m != '\0'; m++)
		rows += *m == ';';
	return rows;
}

/* Every shipped file loads, with only documented stage keys. */
static void
test_all_load(void **state)
{
	const char *patterns[] = { "config/*.conf", "config/examples/*.conf" };
	unsigned i, files = 0, p;
	struct config *c;
	glob_t g;

	(void)state;
	for (p = 0; p < 2; p++) {
		assert_int_equal(glob(patterns[p], 0, NULL, &g), 0);
		for (i = 0; i < g.gl_pathc; i++) {
			c = load(g.gl_pathv[i]);
			{
				unsigned s, ch = c->engine.channels;

				for (s = 0; s < c->nstages; s++) {
					const char *o;

					check_stage(g.gl_pathv[i],
					    &c->stages[s], ch);
					/* A mixer changes the count. */
					o = strcmp(c->stages[s].type,
					    "mixer") == 0 ? config_stage_key(
					    &c->stages[s], "matrix")->value :
					    NULL;
					if (o != NULL)
						ch = matrix_rows(o);
				}
			}
			config_free(c);
			files++;
		}
		globfree(&g);
	}
	assert_true(files >= 5);
}

extern char **environ;

/* tidepool-render of this test's own build: build/VARIANT/tidepool-render
   beside build/VARIANT/tests/. */
static void
render_path(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(out, outlen, "%s/../tidepool-render", dirname(self));
	if (access(out, X_OK) != 0)
		fail_msg("%s: not built (make tests builds it)", out);
}

/* Half a second of white noise at about -6 dBFS RMS, loud enough to make
   a compressor and a limiter work, as a float WAV. */
static void
write_noise(const char *path, unsigned rate, unsigned channels)
{
	SF_INFO si;
	SNDFILE *f;
	unsigned n = rate / 2, i;
	float *buf = malloc(sizeof(float) * n * channels);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	assert_non_null(buf);
	for (i = 0; i < n * channels; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (float)(((double)(x >> 11) / 9007199254740992.0 * 2 -
		    1) * 0.87);
	}
	memset(&si, 0, sizeof(si));
	si.samplerate = (int)rate;
	si.channels = (int)channels;
	si.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(path, SFM_WRITE, &si);
	assert_non_null(f);
	assert_int_equal(sf_writef_float(f, buf, n), n);
	assert_int_equal(sf_close(f), 0);
	free(buf);
}

/*
 * The chain of path through tidepool-render: it must build (exit 0) and
 * turn the noise into want_channels of finite, non-silent audio of the
 * same length.
 */
static void
build_and_run(const char *render, const char *path, const char *dir,
    unsigned rate, unsigned channels, unsigned want_channels)
{
	char in[PATH_MAX], out[PATH_MAX];
	char *argv[] = { (char *)render, "-q", "-c", (char *)path, in, out,
		NULL };
	SF_INFO si;
	SNDFILE *f;
	float *buf;
	double sum = 0;
	sf_count_t i, bad = 0;
	pid_t pid;
	int status;

	snprintf(in, sizeof(in), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	write_noise(in, rate, channels);
	if (posix_spawn(&pid, render, NULL, NULL, argv, environ) != 0)
		fail_msg("cannot run %s", render);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: tidepool-render -c %s fails (%s %d): the daemon "
		    "cannot build its chain", path, path, WIFEXITED(status) ?
		    "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
	memset(&si, 0, sizeof(si));
	f = sf_open(out, SFM_READ, &si);
	assert_non_null(f);
	if (si.frames != rate / 2 || si.channels != (int)want_channels)
		fail_msg("%s: %lld frames of %d channels from %u frames of %u; "
		    "want %u frames of %u", path, (long long)si.frames,
		    si.channels, rate / 2, channels, rate / 2, want_channels);
	buf = malloc(sizeof(float) * (size_t)si.frames * want_channels);
	assert_non_null(buf);
	assert_int_equal(sf_readf_float(f, buf, si.frames), si.frames);
	sf_close(f);
	for (i = 0; i < si.frames * (sf_count_t)want_channels; i++) {
		if (!isfinite(buf[i]))
			bad++;
		else
			sum += (double)buf[i] * buf[i];
	}
	free(buf);
	if (bad != 0)
		fail_msg("%s: %lld samples are not finite", path,
		    (long long)bad);
	sum /= (double)si.frames * want_channels;
	print_message("# %-32s %u -> %u channels, %lld frames, %.1f dBFS "
	    "RMS\n", path, channels, want_channels, (long long)si.frames,
	    10 * log10(sum > 0 ? sum : 1e-30));
	if (!(sum > 1e-6))
		fail_msg("%s: the output is silent (%.1f dBFS RMS)", path,
		    10 * log10(sum > 0 ? sum : 1e-30));
	unlink(in);
	unlink(out);
}

/* Every shipped file's chain, built by the daemon's code and run. */
static void
test_all_build_and_run(void **state)
{
	const char *patterns[] = { "config/*.conf", "config/examples/*.conf" };
	char render[PATH_MAX], dir[] = "/tmp/tidepool-shipped-XXXXXX";
	unsigned i, p, s, ch, files = 0;
	struct config *c;
	const struct config_kv *m;
	glob_t g;

	(void)state;
	render_path(render, sizeof(render));
	assert_non_null(mkdtemp(dir));
	for (p = 0; p < 2; p++) {
		assert_int_equal(glob(patterns[p], 0, NULL, &g), 0);
		for (i = 0; i < g.gl_pathc; i++) {
			c = load(g.gl_pathv[i]);
			ch = c->engine.channels;
			for (s = 0; s < c->nstages; s++)
				if (strcmp(c->stages[s].type, "mixer") == 0 &&
				    (m = config_stage_key(&c->stages[s],
				    "matrix")) != NULL)
					ch = matrix_rows(m->value);
			build_and_run(render, g.gl_pathv[i], dir,
			    c->engine.rate, c->engine.channels, ch);
			config_free(c);
			files++;
		}
		globfree(&g);
	}
	rmdir(dir);
	assert_true(files >= 5);
}

/* The default: a tone through a modest chain, at 48 kHz, 64 frames. */
static void
test_default(void **state)
{
	static const char *const chain[][2] = {
		{ "hp", "highpass" }, { "eq", "peaking" }, { "vol", "gain" },
		{ "limit", "limiter" }, { "meter", "meter" },
	};
	struct config *c = load("config/tidepool.conf");
	const struct config_stage *s;
	unsigned i;

	(void)state;
	assert_int_equal(c->engine.rate, 48000);
	assert_int_equal(c->engine.period, 64);
	assert_int_equal(c->engine.channels, 2);
	assert_string_equal(c->engine.device, "default");
	assert_int_equal(c->engine.input, CONFIG_INPUT_TONE);
	assert_true(c->engine.tone_freq == 440);
	assert_true(c->engine.tone_level == -20);
	assert_int_equal(c->engine.loop, 1);
	assert_int_equal(c->pool.blocks, 256);
	assert_int_equal(c->pool.block_frames, 0);
	assert_int_equal(c->pool.messages, 256);
	assert_string_equal(c->control.socket, "/run/tidepool/control.sock");
	assert_null(c->control.group);
	assert_string_equal(c->files.recordings, "/var/lib/tidepool");
	assert_null(c->files.play);
	assert_int_equal(c->nstages, 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(c->stages[i].name, chain[i][0]);
		assert_string_equal(c->stages[i].type, chain[i][1]);
	}
	s = config_find_stage(c, "hp");
	assert_string_equal(config_stage_key(s, "freq")->value, "20");
	s = config_find_stage(c, "vol");
	assert_string_equal(config_stage_key(s, "gain")->value, "-3");
	s = config_find_stage(c, "limit");
	assert_string_equal(config_stage_key(s, "threshold")->value, "-1");
	config_free(c);
}

/* "Fully commented": every key of the fixed sections is in the default
   file, set or shown in a comment, with a comment line just above it. */
static void
test_default_documents_every_key(void **state)
{
	static const char *const keys[] = {
		"rate", "period", "channels", "device", "input", "tone_level",
		"loop", "blocks", "block_frames", "messages", "socket", "group",
	};
	char line[512], prev[512] = "", want[64];
	unsigned found[sizeof(keys) / sizeof(keys[0])] = { 0 };
	size_t i, n;
	FILE *f;

	(void)state;
	f = fopen("config/tidepool.conf", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			n = (size_t)snprintf(want, sizeof(want), "%s = ",
			    keys[i]);
			if ((strncmp(line, want, n) == 0 ||
			    (line[0] == '#' && strncmp(line + 1, want, n) ==
			    0)) && prev[0] == '#')
				found[i]++;
		}
		memcpy(prev, line, sizeof(prev));
	}
	fclose(f);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (found[i] != 1)
			fail_msg("config/tidepool.conf: %s appears %u times "
			    "below a comment, not once", keys[i], found[i]);
}

/* 2 -> 4 channels: a mixer, then LR4 halves on 0,1 and 2,3, a delay. */
static void
test_crossover(void **state)
{
	struct config *c = load("config/examples/crossover.conf");
	const struct config_stage *s;
	unsigned i, low = 0, high = 0, delayed = 0;

	(void)state;
	assert_int_equal(c->engine.channels, 2);
	assert_true(c->nstages >= 6);
	s = &c->stages[0];
	assert_string_equal(s->type, "mixer");
	assert_int_equal(matrix_rows(config_stage_key(s, "matrix")->value), 4);
	for (i = 1; i < c->nstages; i++) {
		const struct config_kv *ch;

		s = &c->stages[i];
		ch = config_stage_key(s, "channels");
		if (strcmp(s->type, "lowpass") == 0 ||
		    strcmp(s->type, "highpass") == 0) {
			assert_string_equal(config_stage_key(s, "freq")->value,
			    "2000");
			assert_string_equal(config_stage_key(s, "q")->value,
			    "0.707");
			assert_non_null(ch);
			if (s->type[0] == 'l') {
				assert_string_equal(ch->value, "0,1");
				low++;
			} else {
				assert_string_equal(ch->value, "2,3");
				high++;
			}
		} else if (strcmp(s->type, "delay") == 0) {
			assert_non_null(ch);
			assert_string_equal(ch->value, "2,3");
			delayed++;
		}
	}
	assert_int_equal(low, 2);
	assert_int_equal(high, 2);
	assert_int_equal(delayed, 1);
	config_free(c);
}

/* A compressor, then a brickwall limiter at -1 dBFS, nothing after that
   but a meter. */
static void
test_limiter(void **state)
{
	struct config *c = load("config/examples/limiter.conf");
	unsigned i, comp = 0, lim = 0;

	(void)state;
	for (i = 0; i < c->nstages; i++) {
		if (strcmp(c->stages[i].type, "compressor") == 0)
			comp = i + 1;
		if (strcmp(c->stages[i].type, "limiter") == 0) {
			lim = i + 1;
			assert_string_equal(config_stage_key(&c->stages[i],
			    "threshold")->value, "-1");
		}
	}
	assert_true(comp != 0 && lim > comp);
	for (i = lim; i < c->nstages; i++)
		assert_string_equal(c->stages[i].type, "meter");
	config_free(c);
}

/* Several peaking cuts and a low shelf. */
static void
test_room_eq(void **state)
{
	struct config *c = load("config/examples/room-eq.conf");
	unsigned i, cuts = 0, shelves = 0;
	double g;

	(void)state;
	for (i = 0; i < c->nstages; i++) {
		if (strcmp(c->stages[i].type, "peaking") == 0) {
			assert_int_equal(config_parse_double(config_stage_key(
			    &c->stages[i], "gain")->value, &g), 0);
			assert_true(g < 0);
			cuts++;
		}
		if (strcmp(c->stages[i].type, "lowshelf") == 0)
			shelves++;
	}
	assert_true(cuts >= 3);
	assert_int_equal(shelves, 1);
	config_free(c);
}

static void
test_passthrough(void **state)
{
	struct config *c = load("config/examples/passthrough.conf");

	(void)state;
	assert_int_equal(c->nstages, 0);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_load),
		cmocka_unit_test(test_all_build_and_run),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_default_documents_every_key),
		cmocka_unit_test(test_crossover),
		cmocka_unit_test(test_limiter),
		cmocka_unit_test(test_room_eq),
		cmocka_unit_test(test_passthrough),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
