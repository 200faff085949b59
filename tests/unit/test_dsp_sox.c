/*
 * sox is the oracle: each biquad, the gain and the delay must agree with
 * sox's effect of the same name and parameters to within -90 dBFS RMS of
 * residual on noise peaking at -10 dBFS.  A deliberately wrong parameter must miss
 * that bar, which shows the comparison can fail.
 */
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

#include "dsp/dsp.h"

#define RATE 48000
#define CH 2
#define FRAMES (RATE * 3)
#define BLOCK 512

extern char **environ;

static char dir[64];
static char in_path[128];
static float *noise;

/*
 * White noise peaking at -10 dBFS (RMS -14.8), as sox's own "synth
 * whitenoise gain -10" makes it, from a fixed xorshift generator.  At
 * -10 dBFS RMS an allpass lifts some peaks past full scale and sox, which
 * works in integers, clips them: the oracle must not clip.
 */
static void
make_noise(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double a = pow(10, -10 / 20.0);
	size_t i;

	noise = malloc(sizeof(float) * FRAMES * CH);
	for (i = 0; i < (size_t)FRAMES * CH; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		noise[i] = (float)(a * ((double)(x >> 11) / 9007199254740992.0 *
		    2 - 1));
	}
}

static int
write_wav(const char *path, const float *buf, sf_count_t frames)
{
	SF_INFO si = { 0 };
	SNDFILE *f;

	si.samplerate = RATE;
	si.channels = CH;
	si.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(path, SFM_WRITE, &si);
	if (f == NULL)
		return -1;
	sf_writef_float(f, buf, frames);
	sf_close(f);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tidepool-sox-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(in_path, sizeof(in_path), "%s/in.wav", dir);
	make_noise();
	return write_wav(in_path, noise, FRAMES);
}

static int
teardown(void **state)
{
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/out.wav", dir);
	unlink(path);
	unlink(in_path);
	rmdir(dir);
	free(noise);
	return 0;
}

/* Runs sox on the noise with an effect; reads its output into *out. */
static void
run_sox(const char *effect, float **out)
{
	char out_path[160], cmd[512], *argv[32], *p;
	SF_INFO si = { 0 };
	SNDFILE *f;
	pid_t pid;
	int n = 0, status;

	snprintf(out_path, sizeof(out_path), "%s/out.wav", dir);
	snprintf(cmd, sizeof(cmd), "sox %s -e floating-point -b 32 %s %s",
	    in_path, out_path, effect);
	for (p = strtok(cmd, " "); p != NULL && n < 31; p = strtok(NULL, " "))
		argv[n++] = p;
	argv[n] = NULL;
	if (posix_spawnp(&pid, "sox", NULL, NULL, argv, environ) != 0)
		fail_msg("cannot run sox (make test installs it)");
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("sox %s failed", effect);
	f = sf_open(out_path, SFM_READ, &si);
	assert_non_null(f);
	assert_true(si.frames >= FRAMES);
	*out = malloc(sizeof(float) * (size_t)si.frames * CH);
	assert_int_equal(sf_readf_float(f, *out, si.frames), si.frames);
	sf_close(f);
}

/* Our stage on the same noise, in blocks. */
static float *
run_stage(const char *type, const double *values, unsigned nvalues)
{
	const struct dsp_type *t = dsp_type_find(type);
	struct dsp_setup s;
	struct dsp_stage *st;
	float *out = malloc(sizeof(float) * FRAMES * CH);
	char err[256];
	unsigned i;

	assert_non_null(t);
	memset(&s, 0, sizeof(s));
	s.rate = RATE;
	s.channels = CH;
	s.max_frames = BLOCK;
	for (i = 0; i < t->nparams; i++)
		s.values[i] = i < nvalues ? values[i] : t->params[i].def;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	for (i = 0; i < FRAMES; i += BLOCK)
		dsp_stage_process(st, noise + (size_t)i * CH,
		    out + (size_t)i * CH, FRAMES - i < BLOCK ? FRAMES - i :
		    BLOCK);
	dsp_stage_del(st);
	return out;
}

/* RMS of a - b over the input's length, in dBFS. */
static double
residual_db(const float *a, const float *b)
{
	double sum = 0, d;
	size_t i;

	for (i = 0; i < (size_t)FRAMES * CH; i++) {
		d = (double)a[i] - b[i];
		sum += d * d;
	}
	sum /= (double)FRAMES * CH;
	return sum > 0 ? 10 * log10(sum) : -400;
}

static double
compare(const char *effect, const char *type, const double *v, unsigned n)
{
	float *ours, *theirs;
	double r;

	run_sox(effect, &theirs);
	ours = run_stage(type, v, n);
	r = residual_db(ours, theirs);
	print_message("# sox %-26s vs %-9s residual %8.2f dBFS\n", effect,
	    type, r);
	free(ours);
	free(theirs);
	return r;
}

#define AGREES(name, effect, type, ...)					\
static void								\
name(void **state)							\
{									\
	const double v[] = { __VA_ARGS__ };				\
									\
	(void)state;							\
	assert_true(compare(effect, type, v, sizeof(v) / sizeof(v[0])) <	\
	    -90);							\
}

AGREES(test_highpass, "highpass 80 0.707q", "highpass", 80, 0.707)
AGREES(test_lowpass, "lowpass 16000 0.707q", "lowpass", 16000, 0.707)
AGREES(test_equalizer, "equalizer 1000 1q -3", "peaking", 1000, 1, -3)
AGREES(test_bass, "bass -3 100 0.707q", "lowshelf", 100, 0.707, -3)
AGREES(test_treble, "treble 2 8000 0.707q", "highshelf", 8000, 0.707, 2)
AGREES(test_bandpass, "bandpass 1000 2q", "bandpass", 1000, 2)
AGREES(test_bandreject, "bandreject 1000 2q", "notch", 1000, 2)
AGREES(test_allpass, "allpass 1000 0.707q", "allpass", 1000, 0.707)
AGREES(test_gain, "gain -6", "gain", -6)
/* sox's delay takes one time per channel. */
AGREES(test_delay, "delay 0.01 0.01", "delay", 10)

/* The bar must be able to fail: 85 Hz is not sox's 80 Hz. */
static void
test_wrong_parameter_fails(void **state)
{
	const double v[] = { 85, 0.707 };

	(void)state;
	assert_true(compare("highpass 80 0.707q", "highpass", v, 2) > -90);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_highpass),
		cmocka_unit_test(test_lowpass),
		cmocka_unit_test(test_equalizer),
		cmocka_unit_test(test_bass),
		cmocka_unit_test(test_treble),
		cmocka_unit_test(test_bandpass),
		cmocka_unit_test(test_bandreject),
		cmocka_unit_test(test_allpass),
		cmocka_unit_test(test_gain),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_wrong_parameter_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
