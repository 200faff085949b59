/*
 * Reading audio files for the engine: decode with libsndfile, convert the
 * sample rate with soxr when the file's differs from the engine's, and map
 * the file's channels onto the engine's.  Control side (or a reader thread):
 * it allocates and blocks on the disk.
 */
#ifndef TP_SFIN_H
#define TP_SFIN_H

#include <stddef.h>
#include <stdint.h>

#include <sndfile.h>

struct sfin;

struct sfin_info {
	double rate;		/* the file's own */
	unsigned channels;	/* the file's own */
	int64_t frames;		/* as the header says; -1 if unknown */
	int estimated;		/* frames is the decoder's guess (MP3) */
	char format[64];	/* "WAV float", "FLAC 24 bit" ... */
	char channel_map[64];	/* how its channels become the output's */
	uint64_t dev, ino;	/* which file (st_dev, st_ino), so that
				   nothing overwrites it while it plays;
				   0, 0 when not a file */
};

/* What the input is said to be (sox's -t; -r, -c, -b, -e for raw). */
struct sfin_spec {
	int format;		/* libsndfile major | subtype, e.g.
				   SF_FORMAT_RAW | SF_FORMAT_PCM_16; for
				   any other major, the major alone */
	int rate;		/* raw: frames per second */
	int channels;		/* raw */
};

/* What a file may claim; anything else is refused before it sizes a
   buffer.  The rate's bounds keep a resampling ratio at most 384. */
#define SFIN_MIN_RATE 1000
#define SFIN_MAX_RATE 768000
#define SFIN_MAX_CHANNELS 64

/*
 * Opens path for reading frames at out_rate with out_channels (0 for both
 * keep the file's own).  One rule maps the file's channels onto
 * out_channels: a mono file goes to every channel; a file with fewer
 * channels goes channel by channel, the rest silent; one with more is
 * downmixed only where a standard says how (stereo to mono: (L+R)/2; 5.1,
 * in WAV's order L R C LFE Ls Rs, to stereo by ITU-R BS.775: L + 0.7071 C
 * + 0.7071 Ls, R + 0.7071 C + 0.7071 Rs, the LFE left out as BS.775 does,
 * and to mono as the mean of those two) and refused otherwise, with both
 * counts named.  max_frames bounds one sfin_read.  Returns NULL with a
 * message naming the file and what is wrong.
 */
struct sfin *sfin_open(const char *path, double out_rate,
    unsigned out_channels, unsigned max_frames, char *err, size_t errlen);

/*
 * sfin_open for a descriptor opened for reading (see daemon/files.h); the
 * sfin owns fd from here on, and closes it on failure too.  name stands
 * for the path in messages.  A descriptor that cannot seek (a FIFO) is
 * read as a stream: only the types listed at sfin_open_spec.
 */
struct sfin *sfin_open_fd(int fd, const char *name, double out_rate,
    unsigned out_channels, unsigned max_frames, char *err, size_t errlen);

/*
 * sfin_open for an input described by spec (NULL: as sfin_open).  path "-"
 * is standard input, for sfin_open too.  From a pipe, a type libsndfile
 * reads only by seeking (FLAC, MP3, AIFF ...) is spooled to a temporary
 * file first when spec names it; without a spec it is refused with a
 * message that says so.
 */
struct sfin *sfin_open_spec(const char *path, const struct sfin_spec *spec,
    double out_rate, unsigned out_channels, unsigned max_frames, char *err,
    size_t errlen);

/*
 * The same for bytes that libsndfile reads through vio (called with user):
 * memory, a pipe, fuzz data.  name stands for the path in messages.  vio
 * and user must outlive the sfin.
 */
struct sfin *sfin_open_virtual(SF_VIRTUAL_IO *vio, void *user,
    const char *name, double out_rate, unsigned out_channels,
    unsigned max_frames, char *err, size_t errlen);

/* Describes the file as opened. */
const struct sfin_info *sfin_info(const struct sfin *in);

/*
 * Reads up to frames (<= max_frames) interleaved frames into buf.  Returns
 * how many (0 at the end), or -1 with a message (a decoding error, or a file
 * shorter than its header says; for an estimated length, shorter by more
 * than the estimate can be off).
 */
long sfin_read(struct sfin *in, float *buf, unsigned frames, char *err,
    size_t errlen);

/* Goes back to the first frame (for looping).  Returns 0 or -1. */
int sfin_rewind(struct sfin *in);

void sfin_close(struct sfin *in);

#endif /* TP_SFIN_H */
