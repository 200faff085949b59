/*
 * Audio file output through libsndfile.  The extension picks the container
 * (libsndfile's own table of formats and extensions), and the encoding is
 * the best one the container takes: 32-bit float, else 24-bit, else the
 * codec (Vorbis, Opus, MP3), else 16-bit; or a spec says both.
 *
 * Integers of at most 24 bits are quantized here, not by libsndfile, so
 * the rounding is known: x * 2^(bits-1), plus TPDF dither (two uniform
 * draws, +-1 LSB peak) when asked and the sample is not already on the
 * output's grid, rounded to nearest and clipped.  The
 * dither's generator starts from the same seed for every file, so a
 * render is reproducible to the bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sfformat.h"
#include "daemon/sfout.h"
#include "daemon/spool.h"

#define QUANT_FRAMES 4096	/* frames quantized per sf_writef_int */
#define DITHER_SEED 0x9e3779b97f4a7c15ull

struct sfout {
	SNDFILE *sf;
	enum sfout_mode mode;
	char *path;		/* the target */
	char *tmp;		/* ATOMIC: where we write until commit */
	size_t frames;
	int format;		/* libsndfile major | subtype */
	unsigned channels;
	unsigned qbits;		/* quantized here to this width; 0: not */
	int dither;		/* with TPDF dither */
	uint64_t rng;		/* xorshift64* state of the dither */
	int *qbuf;		/* QUANT_FRAMES x channels, left-justified */
	int spool_fd;		/* a stream written via this file; -1: not */
	int stream_fd;		/* where the spooled file goes at commit */
	int fd;			/* what libsndfile writes through vio (the
				   file, the temporary or the spool); -1: it
				   writes a stream itself (sf_open_fd) */
	int own_fd;		/* fd is closed here (not the spool's) */
	int werr;		/* errno of the first failed write; 0 */
};

/*
 * libsndfile's file I/O goes through these, so that every write error is
 * seen: some of its codecs (Vorbis, MP3) drop the result of a short
 * write, and a full disk would leave an empty file behind a success.
 */
static sf_count_t
vio_length(void *user)
{
	struct sfout *out = user;
	struct stat st;

	return fstat(out->fd, &st) == 0 ? (sf_count_t)st.st_size : -1;
}

static sf_count_t
vio_seek(sf_count_t offset, int whence, void *user)
{
	struct sfout *out = user;

	return (sf_count_t)lseek(out->fd, (off_t)offset, whence);
}

static sf_count_t
vio_read(void *ptr, sf_count_t count, void *user)
{
	struct sfout *out = user;
	sf_count_t done = 0;
	ssize_t n;

	while (done < count) {
		n = read(out->fd, (char *)ptr + done, (size_t)(count - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

/*
 * libsndfile 1.2 writes a PEAK chunk into every float RF64 file (it
 * ignores SFC_SET_ADD_PEAK_CHUNK there), and the chunk holds the time of
 * writing: the same render would differ from run to run.  Its headers are
 * written from offset 0, audio never is; the timestamp (after "PEAK",
 * the size and the version) is zeroed in those writes.
 */
static void
zero_peak_time(unsigned char *h, size_t len)
{
	size_t i;

	for (i = 0; i + 16 <= len; i++)
		if (memcmp(h + i, "PEAK", 4) == 0)
			memset(h + i + 12, 0, 4);
}

static sf_count_t
vio_write(const void *ptr, sf_count_t count, void *user)
{
	struct sfout *out = user;
	unsigned char header[4096];
	sf_count_t done = 0;
	ssize_t n;

	if (count <= (sf_count_t)sizeof(header) &&
	    lseek(out->fd, 0, SEEK_CUR) == 0) {
		memcpy(header, ptr, (size_t)count);
		zero_peak_time(header, (size_t)count);
		ptr = header;
	}
	while (done < count) {
		n = write(out->fd, (const char *)ptr + done,
		    (size_t)(count - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (out->werr == 0)
				out->werr = n < 0 ? errno : ENOSPC;
			break;
		}
		done += n;
	}
	return done;
}

static sf_count_t
vio_tell(void *user)
{
	struct sfout *out = user;

	return (sf_count_t)lseek(out->fd, 0, SEEK_CUR);
}

static SF_VIRTUAL_IO vio = {
	vio_length, vio_seek, vio_read, vio_write, vio_tell
};

int
sfout_format_for(const char *path)
{
	SF_FORMAT_INFO fi;
	const char *ext = strrchr(path, '.');
	int i, n = 0;

	if (ext == NULL || strchr(ext, '/') != NULL)
		return 0;
	ext++;
	/* Names people use that libsndfile's table spells otherwise. */
	if (strcasecmp(ext, "aif") == 0)
		ext = "aiff";
	if (strcasecmp(ext, "ogg") == 0 || strcasecmp(ext, "opus") == 0)
		return SF_FORMAT_OGG;
	if (strcasecmp(ext, "mp3") == 0)
		return SF_FORMAT_MPEG;
	sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		fi.format = i;
		if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi,
		    sizeof(fi)) != 0)
			continue;
		if (fi.extension != NULL && strcasecmp(fi.extension, ext) == 0)
			return fi.format;
	}
	return 0;
}

static int
pick_format(const char *path, double rate, unsigned channels)
{
	static const int subtypes[] = {
		SF_FORMAT_FLOAT, SF_FORMAT_PCM_24, SF_FORMAT_VORBIS,
		SF_FORMAT_OPUS, SF_FORMAT_MPEG_LAYER_III, SF_FORMAT_PCM_16
	};
	const char *ext = strrchr(path, '.');
	int major = sfout_format_for(path);
	SF_INFO si;
	size_t i;

	if (major == 0)
		return 0;
	memset(&si, 0, sizeof(si));
	si.samplerate = (int)rate;
	si.channels = (int)channels;
	for (i = 0; i < sizeof(subtypes) / sizeof(subtypes[0]); i++) {
		/* .ogg means Vorbis, .opus means Opus. */
		if (major == SF_FORMAT_OGG && ext != NULL &&
		    (strcasecmp(ext, ".opus") == 0) !=
		    (subtypes[i] == SF_FORMAT_OPUS))
			continue;
		si.format = major | subtypes[i];
		if (sf_format_check(&si))
			return si.format;
	}
	return 0;
}

/* A pipe, a terminal, a device: written in place, never renamed. */
static int
is_stream(const char *path)
{
	struct stat st;

	return strcmp(path, "-") == 0 ||
	    (stat(path, &st) == 0 && !S_ISREG(st.st_mode));
}

/* The format a spec (or the extension alone) asks for; 0 with a message. */
static int
spec_format(const char *path, const struct sfout_spec *spec, double rate,
    unsigned channels, char *err, size_t errlen)
{
	char why[256];
	int major, format;

	if (spec == NULL || (spec->major == 0 && spec->bits == 0 &&
	    spec->encoding == SFFORMAT_ENC_ANY)) {
		format = pick_format(path, rate, channels);
		if (format != 0)
			return format;
		if (strcmp(path, "-") == 0)
			snprintf(err, errlen, "-: standard output has no "
			    "extension: say its type with -t (wav, flac, "
			    "au, raw ...)");
		else
			snprintf(err, errlen, "%s: unknown output format: use "
			    "an extension libsndfile writes (.wav .flac .ogg "
			    ".aiff .caf .w64 ...) or -t, for %u channels at "
			    "%g Hz", path, channels, rate);
		return 0;
	}
	major = spec->major != 0 ? spec->major : sfout_format_for(path);
	if (major == 0) {
		snprintf(err, errlen, "%s: unknown output format: give -t "
		    "TYPE or an extension libsndfile writes", path);
		return 0;
	}
	format = sfformat_pick(major, spec->bits,
	    (enum sfformat_encoding)spec->encoding, (int)rate, (int)channels,
	    why, sizeof(why));
	if (format == 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return format;
}

/*
 * A new temporary file beside the target (the same folder, so the rename
 * is atomic), created with mode 0666 less the umask as the target would
 * be: mkstemp's 0600 would outlive the rename.
 */
static int
open_temp(struct sfout *out)
{
	size_t n = strlen(out->path) + 32;
	uint64_t r;
	int fd, i;

	out->tmp = malloc(n);
	if (out->tmp == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < 100; i++) {
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull +
			    (uint64_t)i;
		snprintf(out->tmp, n, "%s.partial-%06x", out->path,
		    (unsigned)(r & 0xffffff));
		fd = open(out->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Opens the descriptor to write to: a temporary name, the target, stdout. */
static int
open_fd(struct sfout *out, int stream)
{
	if (stream)
		return strcmp(out->path, "-") == 0 ? STDOUT_FILENO :
		    open(out->path, O_WRONLY | O_CLOEXEC);
	if (out->mode == SFOUT_LIVE)
		return open(out->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0666);
	return open_temp(out);
}

/* Sets up quantizing here, for integers narrower than libsndfile's 32. */
static int
setup_quantizer(struct sfout *out, const struct sfout_spec *spec)
{
	unsigned bits = sfformat_int_bits(out->format);

	if (spec == NULL || bits == 0 || bits > 24)
		return 0;
	out->qbits = bits;
	out->dither = spec->dither;
	out->rng = DITHER_SEED;
	out->qbuf = malloc(sizeof(int) * QUANT_FRAMES * out->channels);
	return out->qbuf == NULL ? -1 : 0;
}

/*
 * Types libsndfile writes into a pipe as they come (each tried).  Not
 * FLAC: libFLAC's seek back to its STREAMINFO fails on a pipe and leaves
 * that block's tail at the end of the stream, which decoders refuse.
 */
static int
streams_out(int format)
{
	int major = format & SF_FORMAT_TYPEMASK;

	return major == SF_FORMAT_AU || major == SF_FORMAT_RAW ||
	    major == SF_FORMAT_OGG;
}

/*
 * WAV, AIFF, CAF ... into a pipe: libsndfile writes their header last, so
 * the file is written to an unlinked temporary file and copied into the
 * stream fd at commit.  Returns the temporary file's descriptor, or -1.
 */
static int
spool_stream(struct sfout *out, int fd, char *err, size_t errlen)
{
	int tmp = spool_temp(err, errlen);

	if (tmp < 0) {
		if (fd != STDOUT_FILENO)
			close(fd);
		return -1;
	}
	out->stream_fd = fd;
	out->spool_fd = tmp;
	return tmp;
}

/*
 * Formats whose header libsndfile can rewrite in place after every write
 * (SFC_SET_UPDATE_HEADER_AUTO), so that a recording cut off by a crash
 * stays a valid file.  Not Ogg: its "header" is the codec's setup
 * packets, and writing them again after every block buried the audio
 * under copies of them.  Not MP3 (no header to update) and not FLAC
 * (libFLAC writes its STREAMINFO once, at the end).
 */
static int
updates_header(int format)
{
	int major = format & SF_FORMAT_TYPEMASK;

	return major != SF_FORMAT_OGG && major != SF_FORMAT_MPEG &&
	    major != SF_FORMAT_FLAC;
}

/*
 * Opens libsndfile on fd and gives every file its commands; 0, or -1 with
 * a message.  A file (not a stream) is written through vio, so every
 * write error is seen; WAV becomes RF64 past 4 GiB, where its 32-bit
 * sizes would wrap (libsndfile keeps it plain WAV below that).
 */
static int
open_sf(struct sfout *out, int fd, int stream, double rate, char *err,
    size_t errlen)
{
	SF_INFO si;
	int rf64;

	if (stream && !streams_out(out->format)) {
		if ((fd = spool_stream(out, fd, err, errlen)) < 0)
			return -1;
		stream = 0;
	}
	rf64 = !stream && (out->format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV;
	memset(&si, 0, sizeof(si));
	si.samplerate = (int)rate;
	si.channels = (int)out->channels;
	si.format = rf64 ? (out->format & ~SF_FORMAT_TYPEMASK) |
	    SF_FORMAT_RF64 : out->format;
	if (stream) {
		/* stdout stays open for whoever else writes to it. */
		out->sf = sf_open_fd(fd, SFM_WRITE, &si,
		    fd == STDOUT_FILENO ? SF_FALSE : SF_TRUE);
	} else {
		out->fd = fd;
		out->own_fd = fd != out->spool_fd;
		out->sf = sf_open_virtual(&vio, SFM_WRITE, &si, out);
	}
	if (out->sf == NULL) {
		if (stream)
			snprintf(err, errlen, "%s: cannot write this format "
			    "to a pipe or device (%s): it needs to seek; use "
			    "a file, or a type that streams (wav, au, raw, "
			    "flac)", out->path, sf_strerror(NULL));
		else
			snprintf(err, errlen, "%s: cannot write: %s",
			    out->path, out->werr != 0 ? strerror(out->werr) :
			    sf_strerror(NULL));
		if (stream && fd != STDOUT_FILENO)
			close(fd);
		return -1;
	}
	if (rf64)
		sf_command(out->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
	if (out->mode == SFOUT_LIVE && !stream && updates_header(out->format))
		sf_command(out->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	/* The PEAK chunk carries a timestamp: without it the same input
	   renders to the same bytes, every time. */
	sf_command(out->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	/* Float input beyond +-1 is kept as is in float files; integer
	   formats clip rather than wrap. */
	sf_command(out->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	return 0;
}

struct sfout *
sfout_open(const char *path, enum sfout_mode mode, double rate,
    unsigned channels, char *err, size_t errlen)
{
	return sfout_open_spec(path, mode, rate, channels, NULL, err,
	    errlen);
}

/* A new sfout for path, its format chosen; NULL with a message. */
static struct sfout *
new_out(const char *path, enum sfout_mode mode, double rate,
    unsigned channels, const struct sfout_spec *spec, char *err,
    size_t errlen)
{
	struct sfout *out;
	int format;

	format = spec_format(path, spec, rate, channels, err, errlen);
	if (format == 0)
		return NULL;
	out = calloc(1, sizeof(*out));
	if (out == NULL || (out->path = strdup(path)) == NULL) {
		free(out);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	out->mode = mode;
	out->format = format;
	out->channels = channels;
	out->spool_fd = out->stream_fd = out->fd = -1;
	if (setup_quantizer(out, spec) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		sfout_abort(out);
		return NULL;
	}
	return out;
}

struct sfout *
sfout_open_spec(const char *path, enum sfout_mode mode, double rate,
    unsigned channels, const struct sfout_spec *spec, char *err,
    size_t errlen)
{
	struct sfout *out;
	int fd, stream = is_stream(path);

	out = new_out(path, mode, rate, channels, spec, err, errlen);
	if (out == NULL)
		return NULL;
	fd = open_fd(out, stream);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		free(out->tmp);
		out->tmp = NULL;
		sfout_abort(out);
		return NULL;
	}
	if (open_sf(out, fd, stream, rate, err, errlen) != 0) {
		sfout_abort(out);
		return NULL;
	}
	return out;
}

struct sfout *
sfout_open_fd(int fd, const char *path, double rate, unsigned channels,
    char *err, size_t errlen)
{
	struct sfout *out;
	struct stat st;
	int stream = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);

	out = new_out(path, SFOUT_LIVE, rate, channels, NULL, err, errlen);
	if (out == NULL) {
		close(fd);
		return NULL;
	}
	/* Only now that the format is known to work may an existing file
	   (record --overwrite) lose what it held.  A pipe has nothing. */
	if (!stream && ftruncate(fd, 0) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		close(fd);
		sfout_abort(out);
		return NULL;
	}
	if (open_sf(out, fd, stream, rate, err, errlen) != 0) {
		sfout_abort(out);
		return NULL;
	}
	return out;
}

int
sfout_check(const char *path, double rate, unsigned channels, char *err,
    size_t errlen)
{
	return spec_format(path, NULL, rate, channels, err, errlen) != 0 ?
	    0 : -1;
}

int
sfout_format(const struct sfout *out)
{
	return out->format;
}

/* TPDF: the sum of two uniform draws, in [-1, 1) LSB. */
static double
tpdf(uint64_t *state)
{
	uint64_t x = *state, r;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	r = x * 0x2545f4914f6cdd1dull;
	return ((double)(r >> 32) + (double)(r & 0xffffffffu)) /
	    4294967296.0 - 1.0;
}

/* n samples to left-justified integers of out->qbits. */
static void
quantize(struct sfout *out, const float *in, int *q, size_t n)
{
	double scale = (double)(1u << (out->qbits - 1)), v;
	unsigned shift = 32 - out->qbits;
	size_t i;

	for (i = 0; i < n; i++) {
		v = (double)in[i] * scale;
		/* A sample already on the grid (a 16-bit input through an
		   empty chain, digital silence) has no error to decorrelate:
		   it is written as it is. */
		if (out->dither && v != floor(v))
			v += tpdf(&out->rng);
		v = floor(v + 0.5);
		if (!(v < scale))	/* NaN too */
			v = v != v ? 0 : scale - 1;
		else if (v < -scale)
			v = -scale;
		/* Left-justified: the shift of a negative is a multiply. */
		q[i] = (int)((int64_t)v * ((int64_t)1 << shift));
	}
}

static sf_count_t
write_quantized(struct sfout *out, const float *buf, size_t frames)
{
	size_t done = 0, n;
	sf_count_t w;

	while (done < frames) {
		n = frames - done < QUANT_FRAMES ? frames - done :
		    QUANT_FRAMES;
		quantize(out, buf + done * out->channels, out->qbuf,
		    n * out->channels);
		w = sf_writef_int(out->sf, out->qbuf, (sf_count_t)n);
		done += (size_t)(w > 0 ? w : 0);
		if (w != (sf_count_t)n)
			break;
	}
	return (sf_count_t)done;
}

int
sfout_write(struct sfout *out, const float *buf, size_t frames, char *err,
    size_t errlen)
{
	sf_count_t n;

	n = out->qbits != 0 ? write_quantized(out, buf, frames) :
	    sf_writef_float(out->sf, buf, (sf_count_t)frames);
	if (n != (sf_count_t)frames || out->werr != 0) {
		snprintf(err, errlen, "%s: write failed after %zu frames: %s",
		    out->path, out->frames, out->werr != 0 ?
		    strerror(out->werr) : sf_strerror(out->sf));
		return -1;
	}
	out->frames += frames;
	return 0;
}

size_t
sfout_frames(const struct sfout *out)
{
	return out->frames;
}

const char *
sfout_temp_path(const struct sfout *out)
{
	return out == NULL ? NULL : out->tmp;
}

/* Flushes what libsndfile holds and the file to the disk; 0 or -1. */
static int
finish(struct sfout *out, char *err, size_t errlen)
{
	int rc = sf_close(out->sf);

	out->sf = NULL;
	if (out->werr != 0) {
		snprintf(err, errlen, "%s: write failed after %zu frames: %s",
		    out->path, out->frames, strerror(out->werr));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: closing failed: %s", out->path,
		    sf_error_number(rc));
		return -1;
	}
	if (out->fd < 0)
		return 0;
	/* A file that says it is done is on the disk: a full disk or an
	   I/O error can still show up here, and must not be a success. */
	if (fsync(out->fd) != 0 && errno != EINVAL && errno != EROFS) {
		snprintf(err, errlen, "%s: cannot sync to the disk: %s",
		    out->path, strerror(errno));
		return -1;
	}
	if (out->own_fd) {
		rc = close(out->fd);
		out->fd = -1;
		if (rc != 0) {
			snprintf(err, errlen, "%s: closing failed: %s",
			    out->path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
sfout_commit(struct sfout *out, char *err, size_t errlen)
{
	int rc = finish(out, err, errlen);

	if (rc == 0 && out->spool_fd >= 0 &&
	    (lseek(out->spool_fd, 0, SEEK_SET) != 0 ||
	    spool_copy(out->spool_fd, out->stream_fd, out->path, err,
	    errlen) != 0))
		rc = -1;
	if (rc == 0 && out->tmp != NULL && rename(out->tmp, out->path) != 0) {
		snprintf(err, errlen, "%s: cannot rename %s into place: %s",
		    out->path, out->tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && out->tmp != NULL) {
		free(out->tmp);
		out->tmp = NULL;
	}
	sfout_abort(out);
	return rc;
}

void
sfout_abort(struct sfout *out)
{
	if (out == NULL)
		return;
	if (out->sf != NULL)
		sf_close(out->sf);
	if (out->fd >= 0 && out->own_fd)
		close(out->fd);
	if (out->tmp != NULL)
		unlink(out->tmp);
	if (out->spool_fd >= 0)
		close(out->spool_fd);
	if (out->stream_fd >= 0 && out->stream_fd != STDOUT_FILENO)
		close(out->stream_fd);
	free(out->tmp);
	free(out->path);
	free(out->qbuf);
	free(out);
}
