/*
 * Spooling a stream through a temporary file, for the audio formats that
 * libsndfile reads or writes only by seeking (FLAC and MP3 in, WAV and
 * AIFF out, ...): a pipe is copied into an unlinked file and read from
 * there, or a file is written and then copied into the pipe.  Control side
 * (or a render thread): it blocks on the disk.
 */
#ifndef TP_SPOOL_H
#define TP_SPOOL_H

#include <stddef.h>

/*
 * An unlinked, empty temporary file in $TMPDIR (else /tmp), open for
 * reading and writing.  Returns its descriptor, or -1 with a message.
 */
int spool_temp(char *err, size_t errlen);

/*
 * Copies everything from from (to its end) into to.  name stands for the
 * stream in messages.  Returns 0, or -1 with a message.
 */
int spool_copy(int from, int to, const char *name, char *err,
    size_t errlen);

#endif /* TP_SPOOL_H */
