/*
 * Reading an impulse response: libsndfile decodes it whole into memory
 * (an IR is at most a few MB, read once when a chain is built, on the
 * control thread), every sample is checked, and soxr brings it to the
 * engine's rate.  It does not stream, and it knows nothing of partitions:
 * dsp/conv.c takes the samples from here.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>
#include <soxr.h>

#include "daemon/irfile.h"

/* Reads every frame; 0, or -1 with err. */
static int
read_all(SNDFILE *f, const SF_INFO *info, const char *path,
    unsigned max_frames, struct irfile *ir, char *err, size_t errlen)
{
	size_t cap, n = 0, ch = (size_t)info->channels;
	sf_count_t got;
	float *buf, *nb;

	/* The header's count when there is one; a stream may not know. */
	cap = info->frames > 0 && info->frames <= (sf_count_t)max_frames ?
	    (size_t)info->frames : 65536;
	buf = malloc(cap * ch * sizeof(float));
	if (buf == NULL)
		goto nomem;
	for (;;) {
		if (n == cap) {
			if (cap >= (size_t)max_frames * 4) {
				snprintf(err, errlen, "%s: longer than %u "
				    "frames", path, max_frames);
				free(buf);
				return -1;
			}
			cap *= 2;
			nb = realloc(buf, cap * ch * sizeof(float));
			if (nb == NULL)
				goto nomem;
			buf = nb;
		}
		got = sf_readf_float(f, buf + n * ch, (sf_count_t)(cap - n));
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (sf_error(f) != SF_ERR_NO_ERROR) {
		snprintf(err, errlen, "%s: cannot read frame %zu: %s", path, n,
		    sf_strerror(f));
		free(buf);
		return -1;
	}
	ir->data = buf;
	ir->frames = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
	return 0;
nomem:
	free(buf);
	snprintf(err, errlen, "%s: out of memory reading it", path);
	return -1;
}

/* Brings ir to rate with soxr; 0, or -1 with err. */
static int
resample(struct irfile *ir, const char *path, double rate, char *err,
    size_t errlen)
{
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
	size_t olen, done = 0, i, n;
	double ratio = rate / ir->file_rate;
	soxr_error_t e;
	float *out, scale = (float)(ir->file_rate / rate);

	olen = (size_t)ceil(ir->frames * ratio);
	out = calloc(olen > 0 ? olen * ir->channels : 1, sizeof(float));
	if (out == NULL) {
		snprintf(err, errlen, "%s: out of memory resampling it", path);
		return -1;
	}
	e = soxr_oneshot(ir->file_rate, rate, ir->channels, ir->data,
	    ir->frames, NULL, out, olen, &done, &io, &q, NULL);
	if (e != NULL) {
		snprintf(err, errlen, "%s: resampling from %g to %g Hz: %s",
		    path, ir->file_rate, rate, e);
		free(out);
		return -1;
	}
	n = done * ir->channels;
	for (i = 0; i < n; i++)
		out[i] *= scale;
	free(ir->data);
	ir->data = out;
	ir->frames = (unsigned)done;
	ir->resampled = 1;
	return 0;
}

int
irfile_load(struct irfile *ir, const char *path, double rate,
    unsigned max_channels, unsigned max_frames, char *err, size_t errlen)
{
	SF_INFO info;
	SNDFILE *f;
	size_t i, n;

	memset(ir, 0, sizeof(*ir));
	memset(&info, 0, sizeof(info));
	f = sf_open(path, SFM_READ, &info);
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    sf_strerror(NULL));
		return -1;
	}
	if (info.channels < 1 || (unsigned)info.channels > max_channels) {
		snprintf(err, errlen, "%s: %d channels; an IR has 1 to %u",
		    path, info.channels, max_channels);
		sf_close(f);
		return -1;
	}
	ir->channels = (unsigned)info.channels;
	ir->file_rate = info.samplerate;
	if (read_all(f, &info, path, max_frames, ir, err, errlen) != 0) {
		sf_close(f);
		return -1;
	}
	sf_close(f);
	if (ir->frames == 0) {
		snprintf(err, errlen, "%s: holds no audio", path);
		irfile_free(ir);
		return -1;
	}
	n = (size_t)ir->frames * ir->channels;
	for (i = 0; i < n; i++)
		if (!isfinite(ir->data[i])) {
			snprintf(err, errlen, "%s: frame %zu, channel %zu is "
			    "not a finite number", path, i / ir->channels,
			    i % ir->channels);
			irfile_free(ir);
			return -1;
		}
	if (ir->file_rate != rate &&
	    resample(ir, path, rate, err, errlen) != 0) {
		irfile_free(ir);
		return -1;
	}
	if (ir->frames > max_frames) {
		snprintf(err, errlen, "%s: %u frames%s; at most %u", path,
		    ir->frames, ir->resampled ? " once resampled" : "",
		    max_frames);
		irfile_free(ir);
		return -1;
	}
	return 0;
}

void
irfile_free(struct irfile *ir)
{
	free(ir->data);
	ir->data = NULL;
	ir->frames = 0;
}
