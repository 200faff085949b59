/*
 * Audio file input: libsndfile decodes, soxr converts the rate, and a small
 * channel map adapts the file to the engine.  It does not run in the audio
 * callback: the control thread (or the render reader thread) fills pool
 * blocks from it.
 *
 * The resampler is driven in fixed input chunks; its output is buffered so
 * that sfin_read can hand out exactly what it was asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sfin.h"
#include "daemon/spool.h"

/* How the file's channels become the engine's (see sfin.h). */
enum channel_map {
	MAP_SAME,		/* as they are */
	MAP_FEWER,		/* channel i to channel i, the rest silent */
	MAP_MONO,		/* the one channel to every channel */
	MAP_STEREO_MONO,	/* (L + R) / 2 */
	MAP_51_STEREO,		/* ITU-R BS.775: L + .7071 C + .7071 Ls ... */
	MAP_51_MONO		/* that, then (L' + R') / 2 */
};

struct sfin {
	SNDFILE *sf;
	enum channel_map map;
	int fd;			/* ours to close after sf; -1: sf's own */
	struct sfin_info info;
	char *path;
	unsigned out_channels;
	double out_rate;
	int64_t frames_read;	/* from the file, to detect truncation */
	int file_ended;
	soxr_t soxr;		/* NULL when the rates match */
	unsigned chunk;		/* file frames read at a time */
	float *filebuf;		/* chunk x file channels */
	float *mapbuf;		/* chunk x out channels, before resampling */
	float *outbuf;		/* resampled, waiting to be handed out */
	size_t out_cap, out_have, out_pos;	/* in frames */
};

static void
describe_format(int format, char *buf, size_t len)
{
	SF_FORMAT_INFO fi;

	memset(&fi, 0, sizeof(fi));
	fi.format = format & SF_FORMAT_TYPEMASK;
	if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) != 0)
		fi.name = "unknown";
	snprintf(buf, len, "%s", fi.name);
}

/*
 * libsndfile reads a truncated WAV or AIFF without complaint, up to where
 * the file ends; only its log says "data : N (should be M)".  A shorter
 * file than its header promises is an error here: the rest of the audio
 * is missing.
 */
static int
truncated(SNDFILE *sf, long long *promised, long long *holds)
{
	char log[8192], *line, *rest;

	if (sf_command(sf, SFC_GET_LOG_INFO, log, sizeof(log)) <= 0)
		return 0;
	/* strtok_r: render jobs (-j) open files on several threads. */
	for (line = strtok_r(log, "\n", &rest); line != NULL;
	    line = strtok_r(NULL, "\n", &rest)) {
		if ((strncmp(line, "data", 4) == 0 ||
		    strncmp(line, "SSND", 4) == 0) &&
		    sscanf(line + 4, " : %lld (should be %lld)", promised,
		    holds) == 2 && *holds < *promised)
			return 1;
	}
	return 0;
}

/*
 * The one rule for a file whose channels differ from the engine's: fewer
 * go channel by channel (a mono file to every channel), the rest silent;
 * more only by a standard downmix (stereo to mono, 5.1 to stereo or
 * mono); anything else is refused, never cut.  0, or -1 with a message.
 */
static int
pick_map(struct sfin *in, const char *path, char *err, size_t errlen)
{
	unsigned fc = in->info.channels, oc = in->out_channels;

	if (fc == oc)
		in->map = MAP_SAME;
	else if (fc == 1)
		in->map = MAP_MONO;
	else if (fc < oc)
		in->map = MAP_FEWER;
	else if (fc == 2 && oc == 1)
		in->map = MAP_STEREO_MONO;
	else if (fc == 6 && oc == 2)
		in->map = MAP_51_STEREO;
	else if (fc == 6 && oc == 1)
		in->map = MAP_51_MONO;
	else {
		snprintf(err, errlen, "%s: %u channels, the engine %u: a file "
		    "with more channels than the engine plays only as stereo "
		    "into mono or 5.1 (6 channels) into stereo or mono; "
		    "convert it first (sox FILE -c %u OUT.wav remixes)", path,
		    fc, oc, oc);
		return -1;
	}
	snprintf(in->info.channel_map, sizeof(in->info.channel_map), "%s",
	    in->map == MAP_SAME ? "as is" : in->map == MAP_MONO ?
	    "mono to every channel" : in->map == MAP_FEWER ?
	    "channel by channel, the rest silent" :
	    in->map == MAP_STEREO_MONO ? "stereo downmix: (L+R)/2" :
	    in->map == MAP_51_STEREO ? "5.1 downmix to stereo (ITU-R "
	    "BS.775, LFE left out)" : "5.1 downmix to mono (ITU-R BS.775, "
	    "LFE left out)");
	return 0;
}

/*
 * Takes over sf, opened on path (or what stands for it), and makes it
 * ready to read: the checks and buffers that do not depend on where the
 * bytes come from.  Closes sf and returns NULL on failure.
 */
static struct sfin *
setup(SNDFILE *sf, const SF_INFO *sip, const char *path, double out_rate,
    unsigned out_channels, unsigned max_frames, char *err, size_t errlen)
{
	struct sfin *in;
	SF_INFO si = *sip;
	soxr_error_t serr;
	soxr_io_spec_t io;
	soxr_quality_spec_t q;
	double ratio;

	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		sf_close(sf);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	in->sf = sf;
	in->fd = -1;
	/* Before anything is sized from them: a header may claim anything
	   (an 88-byte WAV at 1 Hz once asked for 700 MB of buffers). */
	if (si.channels < 1 || si.channels > SFIN_MAX_CHANNELS ||
	    si.samplerate < SFIN_MIN_RATE || si.samplerate > SFIN_MAX_RATE) {
		snprintf(err, errlen, "%s: %d channels at %d Hz: tidepool "
		    "reads files of 1 to %d channels at %d to %d Hz", path,
		    si.channels, si.samplerate, SFIN_MAX_CHANNELS,
		    SFIN_MIN_RATE, SFIN_MAX_RATE);
		goto fail;
	}
	{
		long long promised, holds;

		if (truncated(in->sf, &promised, &holds)) {
			snprintf(err, errlen, "%s: truncated: the header "
			    "promises %lld bytes of audio, the file holds "
			    "%lld", path, promised, holds);
			goto fail;
		}
	}
	in->path = strdup(path);
	in->info.rate = si.samplerate;
	in->info.channels = (unsigned)si.channels;
	in->info.frames = si.frames == SF_COUNT_MAX ? -1 : si.frames;
	/* libsndfile counts an MP3's frames from its size and bitrate (or
	   a Xing tag): an estimate, ~0.5% high for CBR at 44.1 kHz. */
	in->info.estimated = (si.format & SF_FORMAT_TYPEMASK) ==
	    SF_FORMAT_MPEG;
	describe_format(si.format, in->info.format, sizeof(in->info.format));
	in->out_rate = out_rate > 0 ? out_rate : si.samplerate;
	in->out_channels = out_channels ? out_channels : (unsigned)si.channels;
	if (pick_map(in, path, err, errlen) != 0)
		goto fail;
	/* Read floats in [-1, 1] whatever the file's integer width. */
	sf_command(in->sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);

	in->chunk = max_frames;
	ratio = in->out_rate / in->info.rate;
	if (ratio != 1.0) {
		/* Upsampling reads fewer file frames at a time, so that one
		   chunk's output, not the file's rate, sizes the buffer. */
		if (ratio > 1.0) {
			in->chunk = (unsigned)((double)max_frames / ceil(ratio));
			if (in->chunk < 1)
				in->chunk = 1;
		}
		in->out_cap = (size_t)ceil((double)in->chunk * ratio) + 64;
		io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		q = soxr_quality_spec(SOXR_HQ, 0);
		in->soxr = soxr_create(in->info.rate, in->out_rate,
		    in->out_channels, &serr, &io, &q, NULL);
		if (in->soxr == NULL) {
			snprintf(err, errlen, "%s: cannot resample %g Hz to "
			    "%g Hz: %s", path, in->info.rate, in->out_rate,
			    serr);
			goto fail;
		}
	} else
		in->out_cap = in->chunk;
	in->filebuf = malloc(sizeof(float) * in->chunk * in->info.channels);
	in->mapbuf = malloc(sizeof(float) * in->chunk * in->out_channels);
	in->outbuf = malloc(sizeof(float) * in->out_cap * in->out_channels);
	if (in->path == NULL || in->filebuf == NULL || in->mapbuf == NULL ||
	    in->outbuf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	return in;
fail:
	sfin_close(in);
	return NULL;
}

/* Why sf_open failed on path, in words a user can act on. */
static void
open_error(const char *path, int stream, char *err, size_t errlen)
{
	FILE *f;

	if (stream) {
		snprintf(err, errlen, "%s: cannot read this stream from a "
		    "pipe (%s): libsndfile reads FLAC, MP3, AIFF and some "
		    "others only by seeking; name its type (-t flac ...) to "
		    "have it spooled to a temporary file, or send WAV, AU, "
		    "Ogg or raw", path, sf_strerror(NULL));
		return;
	}
	/* libsndfile says "System error" for a missing file; say which. */
	f = fopen(path, "rb");
	if (f == NULL)
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
	else {
		fclose(f);
		snprintf(err, errlen, "%s: not an audio file libsndfile can "
		    "read (%s)", path, sf_strerror(NULL));
	}
}

/* Is path (or stdin for "-") something that cannot seek? */
static int
is_stream(const char *path)
{
	struct stat st;
	int r = strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &st) :
	    stat(path, &st);

	return r == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
}

struct sfin *
sfin_open(const char *path, double out_rate, unsigned out_channels,
    unsigned max_frames, char *err, size_t errlen)
{
	return sfin_open_spec(path, NULL, out_rate, out_channels, max_frames,
	    err, errlen);
}

/* Types libsndfile reads from a pipe as they come (each tried). */
static int
streams_in(int major)
{
	return major == SF_FORMAT_WAV || major == SF_FORMAT_AU ||
	    major == SF_FORMAT_OGG || major == SF_FORMAT_RAW;
}

/* The pipe at path ("-": stdin) copied into an unlinked file; or NULL. */
static SNDFILE *
open_spooled(const char *path, SF_INFO *si, char *err, size_t errlen)
{
	SNDFILE *sf;
	int from, fd;

	from = strcmp(path, "-") == 0 ? STDIN_FILENO :
	    open(path, O_RDONLY | O_CLOEXEC);
	if (from < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	fd = spool_temp(err, errlen);
	if (fd >= 0 && (spool_copy(from, fd, path, err, errlen) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0)) {
		close(fd);
		fd = -1;
	}
	if (from != STDIN_FILENO)
		close(from);
	if (fd < 0)
		return NULL;
	sf = sf_open_fd(fd, SFM_READ, si, SF_TRUE);
	if (sf == NULL)
		snprintf(err, errlen, "%s: not audio libsndfile can read (%s)",
		    path, sf_strerror(NULL));
	return sf;
}

struct sfin *
sfin_open_spec(const char *path, const struct sfin_spec *spec,
    double out_rate, unsigned out_channels, unsigned max_frames, char *err,
    size_t errlen)
{
	struct sfin *in;
	struct stat st;
	SNDFILE *sf;
	SF_INFO si;
	/* Asked now: a failed sf_open("-") closes standard input. */
	int stream = is_stream(path);
	int major = spec != NULL ? spec->format & SF_FORMAT_TYPEMASK : 0;

	memset(&si, 0, sizeof(si));
	if (major == SF_FORMAT_RAW) {
		si.format = spec->format;
		si.samplerate = spec->rate;
		si.channels = spec->channels;
		if (!sf_format_check(&si)) {
			snprintf(err, errlen, "%s: libsndfile cannot read "
			    "that raw format (%d channels at %d Hz)", path,
			    spec->channels, spec->rate);
			return NULL;
		}
	}
	if (stream && major != 0 && !streams_in(major)) {
		if ((sf = open_spooled(path, &si, err, errlen)) == NULL)
			return NULL;
		stream = 0;
	} else if ((sf = sf_open(path, SFM_READ, &si)) == NULL) {
		open_error(path, stream, err, errlen);
		return NULL;
	}
	/* A stream's header cannot count what was not yet written: sox and
	   libsndfile put a placeholder there.  Its end is where it ends. */
	if (stream)
		si.frames = SF_COUNT_MAX;
	in = setup(sf, &si, path, out_rate, out_channels, max_frames, err,
	    errlen);
	if (in != NULL && !stream && stat(path, &st) == 0) {
		in->info.dev = (uint64_t)st.st_dev;
		in->info.ino = (uint64_t)st.st_ino;
	}
	return in;
}

struct sfin *
sfin_open_fd(int fd, const char *name, double out_rate,
    unsigned out_channels, unsigned max_frames, char *err, size_t errlen)
{
	struct sfin *in;
	struct stat st;
	SNDFILE *sf;
	SF_INFO si;
	int stream;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", name,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: a directory, not a file", name);
		close(fd);
		return NULL;
	}
	stream = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	memset(&si, 0, sizeof(si));
	/* The descriptor stays ours: libsndfile's error paths differ on
	   whether they close it. */
	sf = sf_open_fd(fd, SFM_READ, &si, SF_FALSE);
	if (sf == NULL) {
		if (stream)
			open_error(name, 1, err, errlen);
		else
			snprintf(err, errlen, "%s: not an audio file "
			    "libsndfile can read (%s)", name,
			    sf_strerror(NULL));
		close(fd);
		return NULL;
	}
	if (stream)
		si.frames = SF_COUNT_MAX;
	in = setup(sf, &si, name, out_rate, out_channels, max_frames, err,
	    errlen);
	if (in == NULL) {
		close(fd);
		return NULL;
	}
	in->fd = fd;
	in->info.dev = (uint64_t)st.st_dev;
	in->info.ino = (uint64_t)st.st_ino;
	return in;
}

struct sfin *
sfin_open_virtual(SF_VIRTUAL_IO *vio, void *user, const char *name,
    double out_rate, unsigned out_channels, unsigned max_frames, char *err,
    size_t errlen)
{
	SNDFILE *sf;
	SF_INFO si;

	memset(&si, 0, sizeof(si));
	sf = sf_open_virtual(vio, SFM_READ, &si, user);
	if (sf == NULL) {
		snprintf(err, errlen, "%s: not an audio file libsndfile can "
		    "read (%s)", name, sf_strerror(NULL));
		return NULL;
	}
	return setup(sf, &si, name, out_rate, out_channels, max_frames, err,
	    errlen);
}

const struct sfin_info *
sfin_info(const struct sfin *in)
{
	return &in->info;
}

/* File frames -> out channels, by the rule pick_map chose. */
static void
map_channels(const struct sfin *in, const float *src, float *dst, size_t n)
{
	/* 1/sqrt(2): the centre and surrounds at -3 dB, as BS.775 has. */
	const float k = 0.70710678f;
	unsigned fc = in->info.channels, oc = in->out_channels, c;
	const float *f;
	float l, r;
	size_t i;

	for (i = 0; i < n; i++) {
		f = src + i * fc;
		switch (in->map) {
		case MAP_SAME:
			memcpy(dst + i * oc, f, sizeof(float) * oc);
			break;
		case MAP_MONO:
			for (c = 0; c < oc; c++)
				dst[i * oc + c] = f[0];
			break;
		case MAP_FEWER:
			for (c = 0; c < oc; c++)
				dst[i * oc + c] = c < fc ? f[c] : 0.0f;
			break;
		case MAP_STEREO_MONO:
			dst[i] = 0.5f * (f[0] + f[1]);
			break;
		case MAP_51_STEREO:
		case MAP_51_MONO:
			/* WAV's order: L R C LFE Ls Rs. */
			l = f[0] + k * f[2] + k * f[4];
			r = f[1] + k * f[2] + k * f[5];
			if (in->map == MAP_51_MONO)
				dst[i] = 0.5f * (l + r);
			else {
				dst[i * 2] = l;
				dst[i * 2 + 1] = r;
			}
			break;
		}
	}
}

/*
 * An estimated length (MP3) is trusted to within what the estimate can be
 * off: 1% (seen: up to 0.47%, sox's CBR at 22.05 kHz) or 4 MPEG frames,
 * whichever is more.  A Xing-tagged file cut short falls outside; a CBR
 * file without a tag promises nothing, so cut at a frame boundary it is
 * just a shorter file.
 */
static int
close_enough(const struct sfin *in)
{
	int64_t slack = in->info.frames / 100;

	if (slack < 4 * 1152)
		slack = 4 * 1152;
	return in->frames_read + slack >= in->info.frames;
}

/*
 * Decodes up to frames frames into buf.  Returns how many, 0 at the end,
 * or -1 with a message: a decoding error, or a file that ends before its
 * header says it should.
 */
static long
decode(struct sfin *in, float *buf, unsigned frames, char *err,
    size_t errlen)
{
	sf_count_t n;

	if (in->file_ended)
		return 0;
	n = sf_readf_float(in->sf, buf, frames);
	if (n < 0 || sf_error(in->sf) != SF_ERR_NO_ERROR) {
		snprintf(err, errlen, "%s: decoding failed after %lld "
		    "frames: %s", in->path, (long long)in->frames_read,
		    sf_strerror(in->sf));
		return -1;
	}
	in->frames_read += n;
	if (n < (sf_count_t)frames) {
		in->file_ended = 1;
		if (in->info.frames >= 0 && in->frames_read < in->info.frames &&
		    !(in->info.estimated && close_enough(in))) {
			snprintf(err, errlen, "%s: truncated: the header "
			    "promises %lld frames, the file holds %lld",
			    in->path, (long long)in->info.frames,
			    (long long)in->frames_read);
			return -1;
		}
	}
	return (long)n;
}

/* Reads one chunk from the file into mapbuf; returns frames, 0 at end. */
static long
read_chunk(struct sfin *in, char *err, size_t errlen)
{
	long n = decode(in, in->filebuf, in->chunk, err, errlen);

	if (n > 0)
		map_channels(in, in->filebuf, in->mapbuf, (size_t)n);
	return n;
}

/* Refills outbuf; returns frames now waiting, 0 at end, -1 on error. */
static long
refill(struct sfin *in, char *err, size_t errlen)
{
	size_t done = 0;
	long n;
	soxr_error_t serr;

	in->out_pos = in->out_have = 0;
	while (done == 0) {
		n = read_chunk(in, err, errlen);
		if (n < 0)
			return -1;
		if (in->soxr == NULL) {
			if (n == 0)
				return 0;
			memcpy(in->outbuf, in->mapbuf,
			    sizeof(float) * (size_t)n * in->out_channels);
			done = (size_t)n;
			break;
		}
		/* At the end, NULL input asks soxr for what it holds. */
		serr = soxr_process(in->soxr, n ? in->mapbuf : NULL,
		    (size_t)n, NULL, in->outbuf, in->out_cap, &done);
		if (serr != NULL) {
			snprintf(err, errlen, "%s: resampling failed: %s",
			    in->path, serr);
			return -1;
		}
		if (n == 0 && done == 0)
			return 0;
	}
	in->out_have = done;
	return (long)done;
}

long
sfin_read(struct sfin *in, float *buf, unsigned frames, char *err,
    size_t errlen)
{
	unsigned oc = in->out_channels;
	size_t got = 0, n;
	long r;

	/* Same rate, same channels: straight into the caller's buffer. */
	if (in->soxr == NULL && in->info.channels == oc)
		return decode(in, buf, frames, err, errlen);
	while (got < frames) {
		if (in->out_pos == in->out_have) {
			r = refill(in, err, errlen);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
		n = in->out_have - in->out_pos;
		if (n > frames - got)
			n = frames - got;
		memcpy(buf + got * oc, in->outbuf + in->out_pos * oc,
		    sizeof(float) * n * oc);
		in->out_pos += n;
		got += n;
	}
	return (long)got;
}

int
sfin_rewind(struct sfin *in)
{
	if (sf_seek(in->sf, 0, SEEK_SET) != 0)
		return -1;
	in->frames_read = 0;
	in->file_ended = 0;
	in->out_pos = in->out_have = 0;
	if (in->soxr != NULL)
		soxr_clear(in->soxr);
	return 0;
}

void
sfin_close(struct sfin *in)
{
	if (in == NULL)
		return;
	if (in->sf != NULL)
		sf_close(in->sf);
	if (in->fd >= 0)
		close(in->fd);
	soxr_delete(in->soxr);
	free(in->filebuf);
	free(in->mapbuf);
	free(in->outbuf);
	free(in->path);
	free(in);
}
