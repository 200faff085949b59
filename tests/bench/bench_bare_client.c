/*
 * The peer for the live benchmark: the barest PortAudio client that does
 * the same job as tidepoold's callback minus the chain, copying its input
 * to its output.  It reports callbacks, xruns flagged by PortAudio, its
 * callback time percentiles and the CPU seconds it used per audio second.
 *
 *   bench_bare_client SECONDS [RATE PERIOD]
 */
#include <portaudio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CALLBACKS (48000 * 600 / 16)

struct bare {
	uint32_t *durations;	/* ns, one per callback, preallocated */
	unsigned long n;
	unsigned long xruns;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
callback(const void *in, void *out, unsigned long frames,
    const PaStreamCallbackTimeInfo *t, PaStreamCallbackFlags flags,
    void *user)
{
	struct bare *b = user;
	uint64_t start = now_ns();

	(void)t;
	if (flags & (paOutputUnderflow | paInputOverflow))
		b->xruns++;
	if (in != NULL)
		memcpy(out, in, frames * 2 * sizeof(float));
	else
		memset(out, 0, frames * 2 * sizeof(float));
	if (b->n < MAX_CALLBACKS)
		b->durations[b->n++] = (uint32_t)(now_ns() - start);
	return paContinue;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct bare b;
	struct rusage ru;
	PaStreamParameters ip, op;
	PaStream *s;
	double secs, rate = 48000, cpu, period_ns;
	unsigned long period = 64;
	PaError e;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_bare_client SECONDS [RATE "
		    "PERIOD]\n");
		return 2;
	}
	secs = atof(argv[1]);
	if (argc > 3) {
		rate = atof(argv[2]);
		period = strtoul(argv[3], NULL, 10);
	}
	memset(&b, 0, sizeof(b));
	b.durations = calloc(MAX_CALLBACKS, sizeof(uint32_t));
	if (b.durations == NULL || Pa_Initialize() != paNoError)
		return 1;
	memset(&ip, 0, sizeof(ip));
	memset(&op, 0, sizeof(op));
	ip.device = Pa_GetDefaultInputDevice();
	op.device = Pa_GetDefaultOutputDevice();
	if (op.device == paNoDevice) {
		fprintf(stderr, "bench_bare_client: no output device\n");
		return 1;
	}
	ip.channelCount = op.channelCount = 2;
	ip.sampleFormat = op.sampleFormat = paFloat32;
	op.suggestedLatency = Pa_GetDeviceInfo(op.device)->
	    defaultLowOutputLatency;
	if (ip.device != paNoDevice)
		ip.suggestedLatency = Pa_GetDeviceInfo(ip.device)->
		    defaultLowInputLatency;
	e = Pa_OpenStream(&s, ip.device != paNoDevice ? &ip : NULL, &op, rate,
	    period, paNoFlag, callback, &b);
	if (e != paNoError || Pa_StartStream(s) != paNoError) {
		fprintf(stderr, "bench_bare_client: %s\n", Pa_GetErrorText(e));
		return 1;
	}
	Pa_Sleep((long)(secs * 1000));
	Pa_StopStream(s);
	Pa_CloseStream(s);
	Pa_Terminate();
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(b.durations, b.n, sizeof(uint32_t), cmp_u32);
	period_ns = (double)period * 1e9 / rate;
	if (b.n == 0) {
		fprintf(stderr, "bench_bare_client: no callbacks\n");
		return 1;
	}
	/* One line of key=value for the benchmark script. */
	printf("callbacks=%lu xruns=%lu load_p50=%.5f load_p999=%.5f "
	    "load_max=%.5f cpu_per_audio_s=%.5f\n", b.n, b.xruns,
	    b.durations[b.n / 2] / period_ns,
	    b.durations[(unsigned long)((double)b.n * 0.999)] / period_ns,
	    b.durations[b.n - 1] / period_ns, cpu / secs);
	free(b.durations);
	return 0;
}
