/*
 * The dsp cost of tidepool-render's benchmark chain (gain, highpass,
 * lowpass) on 10 minutes of 48 kHz stereo, in blocks of 4096 frames, with
 * no file I/O: how much of the render budget the processing itself takes.
 * Also each stage alone, and the output meter the engine runs.  Prints
 * one line per case: CPU ns per frame (this thread's CPU time, which
 * other load on the machine disturbs less than wall time) and the speed
 * as a multiple of real time.  Also the highpass as it runs on machines
 * without AVX2 and FMA, sample by sample.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/chain.h"
#include "dsp/dsp.h"

#define RATE 48000
#define CH 2
#define BLOCK 4096
#define SECONDS 600

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct dsp_stage *
stage(const char *type, double v0, double v1)
{
	const struct dsp_type *t = dsp_type_find(type);
	struct dsp_setup s;
	struct dsp_stage *st;
	char err[256];

	dsp_setup_init(&s, t, RATE, CH, BLOCK);
	if (t->nparams > 0)
		s.values[0] = v0;
	if (t->nparams > 1)
		s.values[1] = v1;
	st = dsp_stage_new(t, &s, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "bench_dsp_chain: %s\n", err);
		exit(1);
	}
	return st;
}

static void
report(const char *what, double secs)
{
	double frames = (double)RATE * SECONDS;

	printf("%-28s %7.2f ns/frame %8.0fx real time\n", what,
	    secs * 1e9 / frames, SECONDS / secs);
}

int
main(void)
{
	static const char *const types[][3] = {
		{ "gain", "-3", "0" }, { "highpass", "80", "0.707" },
		{ "lowpass", "16000", "0.707" }, { "peaking", "1000", "1" },
		{ "compressor", "-20", "4" }, { "limiter", "-1", "50" },
		{ "delay", "10", "0" },
	};
	float *in = malloc(sizeof(float) * BLOCK * CH);
	float *out = malloc(sizeof(float) * BLOCK * CH);
	uint64_t x = 1;
	struct dsp_chain *c;
	struct dsp_stage *st;
	struct dsp_meter m;
	long blocks = (long)RATE * SECONDS / BLOCK, b;
	double t0;
	unsigned i;

	dsp_flush_denormals();
	for (i = 0; i < BLOCK * CH; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		in[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
	}
	c = dsp_chain_new(CH, BLOCK, RATE);
	dsp_chain_append(c, stage("gain", -3, 0), "gain");
	dsp_chain_append(c, stage("highpass", 80, 0.707), "hp");
	dsp_chain_append(c, stage("lowpass", 16000, 0.707), "lp");
	t0 = now();
	for (b = 0; b < blocks; b++)
		dsp_chain_process(c, in, out, BLOCK, NULL);
	report("chain gain+highpass+lowpass", now() - t0);
	dsp_chain_del(c);

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		st = stage(types[i][0], atof(types[i][1]), atof(types[i][2]));
		t0 = now();
		for (b = 0; b < blocks; b++)
			dsp_stage_process(st, in, out, BLOCK);
		report(types[i][0], now() - t0);
		dsp_stage_del(st);
	}
	/* The biquad sample by sample, as on machines without AVX2 and FMA
	   (dsp/biquad.h). */
	setenv("TIDEPOOL_DSP_PLAIN", "1", 1);
	st = stage("highpass", 80, 0.707);
	unsetenv("TIDEPOOL_DSP_PLAIN");
	t0 = now();
	for (b = 0; b < blocks; b++)
		dsp_stage_process(st, in, out, BLOCK);
	report("highpass, sample by sample", now() - t0);
	dsp_stage_del(st);
	dsp_meter_init(&m, CH, RATE);
	t0 = now();
	for (b = 0; b < blocks; b++)
		dsp_meter_run(&m, out, BLOCK);
	report("meter (dsp_meter_run)", now() - t0);
	free(in);
	free(out);
	return 0;
}
