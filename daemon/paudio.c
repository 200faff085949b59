/*
 * PortAudio backend.  The callback translates PortAudio's status flags and
 * hands the buffers to engine_process; when PortAudio asks for more frames
 * than the engine was sized for (some host APIs vary the count) it calls
 * the engine several times.  Nothing else happens in the callback.
 */
#include <alsa/asoundlib.h>
#include <math.h>
#include <pa_jack.h>
#include <pa_linux_alsa.h>
#include <portaudio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/paudio.h"

#define CLIENT_NAME_ENV "TIDEPOOLD_CLIENT_NAME"

static int alsa_verbose;	/* pass alsa-lib's messages to the log */
static char client_name[64] = "tidepoold";	/* PortAudio keeps the pointer */

/*
 * alsa-lib prints every probe of a card that is not there (60 lines each
 * time PortAudio initialises, so each reconnect): the log takes them at
 * debug level only.
 */
static void
alsa_message(const char *file, int line, const char *function, int err,
    const char *fmt, ...)
{
	va_list ap;

	if (!alsa_verbose)
		return;
	fprintf(stderr, "tidepoold: ALSA: %s:%d (%s): ", file, line, function);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err != 0)
		fprintf(stderr, ": %s", snd_strerror(err));
	fputc('\n', stderr);
}

void
paudio_set_verbose(int verbose)
{
	alsa_verbose = verbose;
}

/* Before every Pa_Initialize: the handler and the JACK client's name. */
static void
before_initialize(void)
{
	const char *name = getenv(CLIENT_NAME_ENV);

	snd_lib_error_set_handler(alsa_message);
	if (name != NULL && name[0] != '\0')
		snprintf(client_name, sizeof(client_name), "%s", name);
	(void)PaJack_SetClientName(client_name);
}

static int callback(const void *in, void *out, unsigned long frames,
    const PaStreamCallbackTimeInfo *t, PaStreamCallbackFlags flags,
    void *user) TP_REALTIME;

static int
callback(const void *in, void *out, unsigned long frames,
    const PaStreamCallbackTimeInfo *t, PaStreamCallbackFlags flags,
    void *user)
{
	struct engine *e = user;
	const float *src = in;
	float *dst = out;
	uint32_t status = 0;
	unsigned long n;

	if (engine_halted(e))
		return paAbort;
	engine_stamp(e, t->currentTime, t->outputBufferDacTime);
	if (flags & paOutputUnderflow)
		status |= ENGINE_CAUSE_OUTPUT_UNDERFLOW;
	if (flags & paInputOverflow)
		status |= ENGINE_CAUSE_INPUT_OVERFLOW;
	while (frames > 0) {
		n = frames < e->setup.max_frames ? frames : e->setup.max_frames;
		engine_process(e, src, dst, (unsigned)n, status);
		status = 0;
		if (src != NULL)
			src += n * e->setup.channels;
		dst += n * e->setup.out_channels;
		frames -= n;
	}
	return paContinue;
}

/* "default", a number, or a case-insensitive part of a device's name. */
static PaDeviceIndex
find_device(const char *want, unsigned out_channels, char *err,
    size_t errlen)
{
	const PaDeviceInfo *d;
	PaDeviceIndex i, n = Pa_GetDeviceCount();
	char *end;
	long idx;

	if (want == NULL || strcmp(want, "default") == 0) {
		i = Pa_GetDefaultOutputDevice();
		if (i == paNoDevice)
			snprintf(err, errlen, "no default output device "
			    "(PortAudio sees %d devices; is the sound server "
			    "up?)", n < 0 ? 0 : n);
		return i;
	}
	idx = strtol(want, &end, 10);
	if (*end == '\0' && end != want) {
		if (idx < 0 || idx >= n) {
			snprintf(err, errlen, "device %ld: no such index "
			    "(0-%d); see tidepoold --list-devices", idx, n - 1);
			return paNoDevice;
		}
		return (PaDeviceIndex)idx;
	}
	for (i = 0; i < n; i++) {
		d = Pa_GetDeviceInfo(i);
		if (d != NULL && d->maxOutputChannels >= (int)out_channels &&
		    strcasestr(d->name, want) != NULL)
			return i;
	}
	snprintf(err, errlen, "no output device named like '%s' with %u "
	    "channels; see tidepoold --list-devices", want, out_channels);
	return paNoDevice;
}

int
paudio_open(struct paudio *pa, const struct paudio_params *p,
    struct engine *e, char *err, size_t errlen)
{
	PaStreamParameters ip, op;
	const PaDeviceInfo *info;
	const PaStreamInfo *si;
	PaDeviceIndex dev;
	PaError pe;
	PaStream *s = NULL;

	memset(pa, 0, sizeof(*pa));
	pa->engine = e;
	/* A new stream counts time from a new origin. */
	engine_stamp_reset(e);
	before_initialize();
	pe = Pa_Initialize();
	if (pe != paNoError) {
		snprintf(err, errlen, "PortAudio: %s", Pa_GetErrorText(pe));
		return -1;
	}
	pa->initialised = 1;
	dev = find_device(p->device, p->out_channels, err, errlen);
	if (dev == paNoDevice)
		goto fail;
	info = Pa_GetDeviceInfo(dev);
	memset(&op, 0, sizeof(op));
	op.device = dev;
	op.channelCount = (int)p->out_channels;
	op.sampleFormat = paFloat32;
	op.suggestedLatency = info->defaultLowOutputLatency;
	memset(&ip, 0, sizeof(ip));
	if (p->in_channels > 0) {
		ip.device = dev;
		ip.channelCount = (int)p->in_channels;
		ip.sampleFormat = paFloat32;
		ip.suggestedLatency = info->defaultLowInputLatency;
	}
	pe = Pa_OpenStream(&s, p->in_channels > 0 ? &ip : NULL, &op, p->rate,
	    p->period, paNoFlag, callback, e);
	if (pe != paNoError) {
		snprintf(err, errlen, "%s: cannot open %u in/%u out at %g Hz, "
		    "%u frames: %s", info->name, p->in_channels,
		    p->out_channels, p->rate, p->period, Pa_GetErrorText(pe));
		goto fail;
	}
	/*
	 * Real-time priority for the audio thread only, not the daemon:
	 * PortAudio's ALSA host makes its callback thread SCHED_FIFO when
	 * asked (within LimitRTPRIO); a JACK client's thread gets the JACK
	 * server's scheduling.
	 */
	if (Pa_GetHostApiInfo(info->hostApi)->type == paALSA)
		PaAlsa_EnableRealtimeScheduling(s, 1);
	pe = Pa_StartStream(s);
	if (pe != paNoError) {
		snprintf(err, errlen, "%s: cannot start: %s", info->name,
		    Pa_GetErrorText(pe));
		Pa_CloseStream(s);
		goto fail;
	}
	pa->stream = s;
	snprintf(pa->device, sizeof(pa->device), "%s", info->name);
	snprintf(pa->host_api, sizeof(pa->host_api), "%s",
	    Pa_GetHostApiInfo(info->hostApi)->name);
	si = Pa_GetStreamInfo(s);
	/*
	 * PortAudio's JACK host adds the port's latency range unchecked: a
	 * server that has not set it reads as 2^32 frames (89478464 ms at
	 * 48 kHz).  Anything over 10 s, or not a number, is not reported.
	 */
	pa->latency_s = si != NULL && isfinite(si->outputLatency) &&
	    si->outputLatency >= 0 && si->outputLatency < 10 ?
	    si->outputLatency : -1;
	return 0;
fail:
	Pa_Terminate();
	pa->initialised = 0;
	return -1;
}

int
paudio_active(const struct paudio *pa)
{
	return pa->stream != NULL && Pa_IsStreamActive(pa->stream) == 1;
}

void
paudio_close(struct paudio *pa)
{
	if (pa->stream != NULL) {
		/*
		 * Abort: a stream whose server died may never drain.  And
		 * not at all once PortAudio has seen the JACK server go
		 * (the stream is then inactive): the abort would wait for a
		 * callback that never comes, for minutes.
		 */
		if (Pa_IsStreamActive(pa->stream) == 1)
			Pa_AbortStream(pa->stream);
		Pa_CloseStream(pa->stream);
		pa->stream = NULL;
	}
	if (pa->initialised)
		Pa_Terminate();
	pa->initialised = 0;
}

void
paudio_stop(struct paudio *pa)
{
	/* An inactive stream (the server is gone) calls back no more. */
	if (pa->stream != NULL && Pa_IsStreamActive(pa->stream) == 1)
		Pa_AbortStream(pa->stream);
}

const char *
paudio_latency_text(const struct paudio *pa, char *buf, size_t len)
{
	if (pa->latency_s < 0)
		snprintf(buf, len, "latency unknown");
	else
		snprintf(buf, len, "latency %.1f ms", pa->latency_s * 1e3);
	return buf;
}

int
paudio_list(FILE *f)
{
	const PaDeviceInfo *d;
	PaError pe;
	PaDeviceIndex i, n;

	before_initialize();
	pe = Pa_Initialize();

	if (pe != paNoError) {
		fprintf(stderr, "tidepoold: PortAudio: %s\n",
		    Pa_GetErrorText(pe));
		return -1;
	}
	n = Pa_GetDeviceCount();
	fprintf(f, "%5s  %-40s %-24s %4s %4s %8s\n", "index", "name",
	    "host api", "in", "out", "rate");
	for (i = 0; i < n; i++) {
		d = Pa_GetDeviceInfo(i);
		if (d == NULL)
			continue;
		fprintf(f, "%5d%s %-40.40s %-24.24s %4d %4d %8g\n", i,
		    i == Pa_GetDefaultOutputDevice() ? "*" : " ", d->name,
		    Pa_GetHostApiInfo(d->hostApi)->name,
		    d->maxInputChannels, d->maxOutputChannels,
		    d->defaultSampleRate);
	}
	if (n == 0)
		fprintf(f, "no devices (is a sound server or card there?)\n");
	Pa_Terminate();
	return 0;
}
