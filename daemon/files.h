/*
 * A client's path turned into a file descriptor, or a clear refusal.  The
 * daemon may run as root; a client (a member of [control] group) names a
 * file for "play" or "record", and it is opened only beneath the [files]
 * directories: openat2() with RESOLVE_BENEATH, so no "..", no absolute
 * symbolic link and no relative one that climbs out can leave them, and
 * the answer for a path outside never depends on whether it exists.
 *
 * Control side or a disk thread: it blocks on the file system.  No state:
 * each call opens the directory it needs and closes it.
 */
#ifndef TP_FILES_H
#define TP_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Which file a descriptor is: st_dev and st_ino; all zero for none. */
struct files_id {
	uint64_t dev;
	uint64_t ino;
};

/* How "record" may create its file. */
struct files_target {
	const struct config_files *dirs;	/* the [files] section */
	int overwrite;		/* replace an existing regular file
				   ("record --overwrite") */
	struct files_id keep;	/* never replaced, overwrite or not: the
				   file being played; zero: none */
};

/*
 * Opens path for reading ("play"): a relative path is looked up in
 * dirs->recordings, then in each dirs->play directory in turn; an absolute
 * one must lie in one of them.  Returns the descriptor (O_CLOEXEC), or -1
 * with a message naming the path and what is wrong.
 */
int files_open_read(const struct config_files *dirs, const char *path,
    char *err, size_t errlen);

/*
 * Opens path for writing a recording: relative to t->dirs->recordings, or
 * absolute within it.  A new file is created with mode 0666 less the
 * umask; an existing one is refused unless t->overwrite, and even then if
 * it is not a regular file, is a symbolic link, has other names (hard
 * links) or is t->keep.  An existing file is not truncated here: the
 * caller truncates once it knows it can write the format.  Returns the
 * descriptor (O_RDWR, O_CLOEXEC) or -1 with a message.
 */
int files_create(const struct files_target *t, const char *path, char *err,
    size_t errlen);

/* The identity of an open descriptor (zero if fstat fails). */
struct files_id files_id_of(int fd);

#endif /* TP_FILES_H */
