/*
 * sox is the oracle: each biquad, the gain and the delay must agree with
 * sox's effect of the same name and parameters to within -145 dBFS RMS of
 * residual, over the input's length, on 3 s of 48 kHz stereo white noise
 * at -10 dBFS RMS.  Measured 2026-12-02: -154.2 to -155.2 dBFS for every
 * one, with the biquads a group at a time and sample by sample (the float
 * output's rounding: sox's is float too); the bar leaves 9 dB for another
 * machine's libm.  A deliberately wrong parameter must miss that bar,
 * which shows the comparison can fail, down to a gain 0.00001 dB off
 * (about -135 dBFS, which the former bar of -90 dBFS let through).  Each
 * residual is printed as a TAP comment.
 *
 * sox reads the float WAV into 32-bit integers, filters in double and
 * writes integers back, saturating at full scale: at -10 dBFS RMS the
 * allpass lifts a few peaks past 1.0 and sox clips them.  tidepool works
 * in float and does not clip, so our output is clamped to [-1, 1] before
 * the comparison, the same as sox's output stage; the count of samples
 * sox clipped is printed beside the residual.  Nothing else is adjusted.
 *
 * sox's delay takes one time per channel and leaves the channels after
 * the last one given alone: "delay 0.01" delays the left channel only,
 * which is a delay stage acting on channel 0.
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
#define BAR_DB (-145.0)

extern char **environ;

static char dir[64];
static char in_path[128];
static float *noise;

/* xorshift64: deterministic, so a failure can be replayed. */
static uint64_t
next_u64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Uniform white noise at -10 dBFS RMS: amplitude sqrt(3) x RMS. */
static void
make_noise(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double a = sqrt(3.0) * pow(10, -10 / 20.0), sum = 0;
	size_t i;

	noise = malloc(sizeof(float) * FRAMES * CH);
	assert_non_null(noise);
	for (i = 0; i < (size_t)FRAMES * CH; i++) {
		noise[i] = (float)(a * ((double)(next_u64(&x) >> 11) /
		    9007199254740992.0 * 2 - 1));
		sum += (double)noise[i] * noise[i];
	}
	print_message("# input: %d frames of %d-channel noise at %.2f dBFS "
	    "RMS\n", FRAMES, CH, 10 * log10(sum / ((double)FRAMES * CH)));
}

static int
write_wav(const char *path, const float *buf, sf_count_t frames)
{
	SF_INFO si;
	SNDFILE *f;
	sf_count_t n;

	memset(&si, 0, sizeof(si));
	si.samplerate = RATE;
	si.channels = CH;
	si.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(path, SFM_WRITE, &si);
	if (f == NULL)
		return -1;
	n = sf_writef_float(f, buf, frames);
	return sf_close(f) == 0 && n == frames ? 0 : -1;
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

/*
 * Runs "sox -V1 in.wav -e floating-point -b 32 out.wav EFFECT..." and
 * reads its output, at least the input's length, into *out.
 */
static void
run_sox(const char *effect, float **out)
{
	char out_path[160], cmd[512], *argv[32], *p, *save;
	SF_INFO si;
	SNDFILE *f;
	pid_t pid;
	int n = 0, status;

	snprintf(out_path, sizeof(out_path), "%s/out.wav", dir);
	snprintf(cmd, sizeof(cmd), "sox -V1 %s -e floating-point -b 32 %s %s",
	    in_path, out_path, effect);
	for (p = strtok_r(cmd, " ", &save); p != NULL && n < 31;
	    p = strtok_r(NULL, " ", &save))
		argv[n++] = p;
	argv[n] = NULL;
	if (posix_spawnp(&pid, "sox", NULL, NULL, argv, environ) != 0)
		fail_msg("cannot run sox: is it installed? (make test "
		    "installs it)");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail_msg("sox ... %s failed", effect);
	memset(&si, 0, sizeof(si));
	f = sf_open(out_path, SFM_READ, &si);
	assert_non_null(f);
	assert_int_equal(si.channels, CH);
	assert_true(si.frames >= FRAMES);
	*out = malloc(sizeof(float) * (size_t)si.frames * CH);
	assert_non_null(*out);
	assert_int_equal(sf_readf_float(f, *out, si.frames), si.frames);
	sf_close(f);
}

/* Our stage on the same noise, in blocks of odd sizes. */
static float *
run_stage(const char *type, const double *values, unsigned nvalues,
    uint32_t mask)
{
	const struct dsp_type *t = dsp_type_find(type);
	struct dsp_setup s;
	struct dsp_stage *st;
	float *out = malloc(sizeof(float) * FRAMES * CH);
	char err[256];
	unsigned i, n;

	assert_non_null(t);
	assert_non_null(out);
	dsp_setup_init(&s, t, RATE, CH, 1000);
	for (i = 0; i < nvalues && i < t->nparams; i++)
		s.values[i] = values[i];
	s.channel_mask = mask;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	for (i = 0; i < FRAMES; i += n) {
		n = FRAMES - i < 1000 ? FRAMES - i : 1000 - i % 7;
		dsp_stage_process(st, noise + (size_t)i * CH,
		    out + (size_t)i * CH, n);
	}
	dsp_stage_del(st);
	return out;
}

/*
 * RMS of ours (clamped to full scale, as sox's integer output is) minus
 * theirs over the input's length, in dBFS; *clipped gets the samples sox
 * saturated.
 */
static double
residual_db(const float *ours, const float *theirs, unsigned *clipped)
{
	double sum = 0, d, o;
	size_t i;

	*clipped = 0;
	for (i = 0; i < (size_t)FRAMES * CH; i++) {
		o = ours[i] > 1.0f ? 1.0 : ours[i] < -1.0f ? -1.0 : ours[i];
		*clipped += fabsf(theirs[i]) >= 1.0f;
		d = o - theirs[i];
		sum += d * d;
	}
	sum /= (double)FRAMES * CH;
	return sum > 0 ? 10 * log10(sum) : -400;
}

static double
compare(const char *effect, const char *type, const double *v, unsigned n,
    uint32_t mask)
{
	float *ours, *theirs;
	char what[128];
	unsigned clipped, i;
	size_t used = 0;
	double r;

	run_sox(effect, &theirs);
	ours = run_stage(type, v, n, mask);
	r = residual_db(ours, theirs, &clipped);
	used += (size_t)snprintf(what, sizeof(what), "%s", type);
	for (i = 0; i < n && used < sizeof(what); i++)
		used += (size_t)snprintf(what + used, sizeof(what) - used,
		    " %s=%g", dsp_type_find(type)->params[i].name, v[i]);
	if (mask != 0 && used < sizeof(what))
		snprintf(what + used, sizeof(what) - used, " channels=0x%x",
		    mask);
	print_message("# sox %-22s vs %-34s residual %8.2f dBFS "
	    "(sox clipped %u)\n", effect, what, r, clipped);
	free(ours);
	free(theirs);
	return r;
}

#define AGREES(name, effect, mask, type, ...)				\
static void								\
name(void **state)							\
{									\
	const double v[] = { __VA_ARGS__ };				\
									\
	(void)state;							\
	assert_true(compare(effect, type, v, sizeof(v) / sizeof(v[0]),	\
	    mask) < BAR_DB);						\
}

AGREES(test_highpass, "highpass 80 0.707q", 0, "highpass", 80, 0.707)
AGREES(test_lowpass, "lowpass 16000 0.707q", 0, "lowpass", 16000, 0.707)
AGREES(test_equalizer, "equalizer 1000 1q -3", 0, "peaking", 1000, 1, -3)
AGREES(test_bass, "bass -3 100 0.707q", 0, "lowshelf", 100, 0.707, -3)
AGREES(test_treble, "treble 2 8000 0.707q", 0, "highshelf", 8000, 0.707, 2)
AGREES(test_bandpass, "bandpass 1000 2q", 0, "bandpass", 1000, 2)
AGREES(test_bandreject, "bandreject 1000 2q", 0, "notch", 1000, 2)
AGREES(test_allpass, "allpass 1000 0.707q", 0, "allpass", 1000, 0.707)
AGREES(test_gain, "gain -6", 0, "gain", -6)
/* "delay 0.01" delays channel 0 only; with two times, both. */
AGREES(test_delay, "delay 0.01", 0x1, "delay", 10)
AGREES(test_delay_both, "delay 0.01 0.01", 0, "delay", 10)

/* The bar must be able to fail: 85 Hz is not sox's 80 Hz ... */
static void
test_wrong_frequency_fails(void **state)
{
	const double v[] = { 85, 0.707 };

	(void)state;
	assert_true(compare("highpass 80 0.707q", "highpass", v, 2, 0) >
	    BAR_DB);
}

/* ... nor is a gain 0.01 dB off ... */
static void
test_wrong_gain_fails(void **state)
{
	const double v[] = { 1000, 1, -3.01 };

	(void)state;
	assert_true(compare("equalizer 1000 1q -3", "peaking", v, 3, 0) >
	    BAR_DB);
}

/* ... nor a gain 0.00001 dB off ... */
static void
test_tiny_gain_error_fails(void **state)
{
	const double v[] = { -6.00001 };

	(void)state;
	assert_true(compare("gain -6", "gain", v, 1, 0) > BAR_DB);
}

/* ... nor a delay one sample short. */
static void
test_wrong_delay_fails(void **state)
{
	const double v[] = { 10 - 1000.0 / RATE };

	(void)state;
	assert_true(compare("delay 0.01 0.01", "delay", v, 1, 0) > BAR_DB);
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
		cmocka_unit_test(test_delay_both),
		cmocka_unit_test(test_wrong_frequency_fails),
		cmocka_unit_test(test_wrong_gain_fails),
		cmocka_unit_test(test_tiny_gain_error_fails),
		cmocka_unit_test(test_wrong_delay_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
