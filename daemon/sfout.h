/*
 * Writing audio files: the format comes from the file name's extension.
 * Control side (or a writer thread): it allocates and blocks on the disk.
 *
 * Two ways to write.  SFOUT_ATOMIC writes to a temporary name beside the
 * target and renames it into place on sfout_commit, so a failed or
 * interrupted write never leaves a partial file (tidepool-render).
 * SFOUT_LIVE writes the target directly and keeps its header up to date
 * after every write, so the file stays valid if the process dies
 * (recordings).
 */
#ifndef TP_SFOUT_H
#define TP_SFOUT_H

#include <stddef.h>

struct sfout;

enum sfout_mode { SFOUT_ATOMIC, SFOUT_LIVE };

/*
 * Opens path for rate and channels, format chosen from its extension
 * (.wav .flac .ogg .aiff .caf ...; floats where the format has them).
 * Returns NULL with a message naming the file and the problem.
 */
struct sfout *sfout_open(const char *path, enum sfout_mode mode,
    double rate, unsigned channels, char *err, size_t errlen);

/* What to write, when the extension is not enough. */
struct sfout_spec {
	int major;		/* libsndfile major format; 0: the extension's */
	unsigned bits;		/* sample width; 0: the format's best */
	int encoding;		/* enum sfformat_encoding; 0: any */
	int dither;		/* TPDF dither when reducing to <= 24-bit
				   integers; otherwise round to nearest */
};

/*
 * sfout_open with a spec (NULL: as sfout_open).  path "-" is standard
 * output, and a path that exists and is no regular file (a FIFO,
 * /dev/stdout) is written in place: both are streams, with no temporary
 * name whatever the mode, and need spec->major or an extension.
 * Integer output of at most 24 bits is quantized here (dithered if asked)
 * rather than by libsndfile.
 */
struct sfout *sfout_open_spec(const char *path, enum sfout_mode mode,
    double rate, unsigned channels, const struct sfout_spec *spec,
    char *err, size_t errlen);

/*
 * A recording on a descriptor opened for writing (see daemon/files.h),
 * in SFOUT_LIVE mode, the format chosen from path's extension (path is
 * used for that and in messages only).  fd is truncated once the format
 * is known to work, and belongs to the sfout from the call on (closed on
 * failure too).  Returns NULL with a message.
 */
struct sfout *sfout_open_fd(int fd, const char *path, double rate,
    unsigned channels, char *err, size_t errlen);

/*
 * Whether sfout_open_fd would find a format for path at rate and
 * channels: 0, or -1 with its message.  No I/O: to refuse before a file
 * is created for nothing.
 */
int sfout_check(const char *path, double rate, unsigned channels, char *err,
    size_t errlen);

/* The libsndfile format (major | subtype) being written. */
int sfout_format(const struct sfout *out);

/* Writes frames interleaved frames.  Returns 0, or -1 with a message. */
int sfout_write(struct sfout *out, const float *buf, size_t frames,
    char *err, size_t errlen);

/* Frames written so far. */
size_t sfout_frames(const struct sfout *out);

/*
 * Finishes the file: flushes and closes it, syncs it to the disk and, in
 * SFOUT_ATOMIC mode, renames it into place.  Returns 0, or -1 with a
 * message if any write, the close or the sync failed (ATOMIC: and no
 * file left behind; LIVE: the file keeps what was written).  Frees out
 * either way.
 */
int sfout_commit(struct sfout *out, char *err, size_t errlen);

/* Gives up: closes, removes the temporary file (ATOMIC), frees out. */
void sfout_abort(struct sfout *out);

/*
 * The temporary file's name while an ATOMIC write is open, or NULL: for a
 * signal handler that must unlink it (async-signal-safe to read).
 */
const char *sfout_temp_path(const struct sfout *out);

/* The libsndfile major format for a file name, or 0 if unknown. */
int sfout_format_for(const char *path);

#endif /* TP_SFOUT_H */
