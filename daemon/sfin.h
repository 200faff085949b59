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
	char format[64];	/* "WAV float", "FLAC 24 bit" ... */
};

/*
 * Opens path for reading frames at out_rate with out_channels (0 for both
 * keep the file's own).  A mono file is copied to every channel; otherwise
 * channel i comes from file channel i, and channels the file lacks are
 * silent.  max_frames bounds one sfin_read.  Returns NULL with a message
 * naming the file and what is wrong.
 */
struct sfin *sfin_open(const char *path, double out_rate,
    unsigned out_channels, unsigned max_frames, char *err, size_t errlen);

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
 * shorter than its header says).
 */
long sfin_read(struct sfin *in, float *buf, unsigned frames, char *err,
    size_t errlen);

/* Goes back to the first frame (for looping).  Returns 0 or -1. */
int sfin_rewind(struct sfin *in);

void sfin_close(struct sfin *in);

#endif /* TP_SFIN_H */
