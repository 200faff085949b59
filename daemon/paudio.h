/*
 * The PortAudio backend: opens the configured device and calls the engine
 * from PortAudio's real-time callback.  Control thread only, bar the
 * callback itself.
 *
 * PortAudio sees only the audio servers that are up when it initialises
 * (JACK is opened with JackNoStartServer), so after a device or server is
 * lost the daemon terminates and re-initialises it: paudio_close, then
 * paudio_open again, which does both.
 */
#ifndef TP_PAUDIO_H
#define TP_PAUDIO_H

#include <stddef.h>
#include <stdio.h>

#include "daemon/engine.h"

struct paudio {
	void *stream;		/* PaStream *, NULL when closed */
	int initialised;	/* Pa_Initialize succeeded */
	struct engine *engine;
	char device[256];	/* the name of the device opened */
	char host_api[64];
	double latency_s;	/* output latency PortAudio reports, -1 if
				   it reports none that makes sense */
};

struct paudio_params {
	const char *device;	/* "default", an index, or part of a name */
	double rate;
	unsigned period;
	unsigned in_channels;	/* 0: output only */
	unsigned out_channels;
};

/*
 * Initialises PortAudio, opens and starts the stream.  Returns 0, or -1
 * with a message (PortAudio is left terminated).
 */
int paudio_open(struct paudio *pa, const struct paudio_params *p,
    struct engine *e, char *err, size_t errlen);

/* 1 while PortAudio says the stream is running. */
int paudio_active(const struct paudio *pa);

/* Stops and closes the stream and terminates PortAudio. */
void paudio_close(struct paudio *pa);

/*
 * Stops the callbacks for good, at exit: the stream is not closed and
 * PortAudio not terminated.  PortAudio 19.6's JACK host asserts (and so
 * aborts the daemon) when the server goes while a stream is being closed,
 * which is what happens when the server and the daemon are stopped
 * together; the process's end closes the client instead.
 */
void paudio_stop(struct paudio *pa);

/*
 * "latency 5.3 ms", or "latency unknown" when PortAudio gave nothing
 * believable.  Returns buf.
 */
const char *paudio_latency_text(const struct paudio *pa, char *buf,
    size_t len);

/*
 * Whether alsa-lib's own messages reach stderr (tidepoold -v) or are
 * dropped (the default).  Any time before paudio_open.  The JACK client
 * is named "tidepoold", or $TIDEPOOLD_CLIENT_NAME when set.
 */
void paudio_set_verbose(int verbose);

/* Prints every device (index, name, host API, channels, rate) to f. */
int paudio_list(FILE *f);

#endif /* TP_PAUDIO_H */
