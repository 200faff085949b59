/*
 * Confined opens for clients' paths.  A path is split into one of the
 * [files] directories and the rest; the directory is opened by its
 * configured (trusted) name, and the rest with openat2() beneath it.  The
 * kernel, not string checks here, keeps the rest inside: RESOLVE_BENEATH
 * fails with EXDEV at the first ".." or symbolic link that would climb
 * out, before anything outside is looked up, so the error cannot tell
 * whether a file out there exists.  An absolute path is only compared as
 * text with the directories' names: outside them, it is refused unopened.
 *
 * It does not decode, create directories or keep descriptors open.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/files.h"

/* Debian 12's glibc (2.36) has no openat2() wrapper. */
static int
openat2_beneath(int dirfd, const char *rest, uint64_t flags, uint64_t mode)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.mode = mode;
	/* /proc's magic links could name anything: never through them. */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, rest, &how, sizeof(how));
}

/* The length of dir without trailing slashes ("/" stays 1). */
static size_t
dir_len(const char *dir, size_t n)
{
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

/*
 * If path lies in dir (n bytes of it), the part after it (no leading
 * slash); else NULL.  A relative path is always "in" it.
 */
static const char *
within(const char *dir, size_t n, const char *path)
{
	n = dir_len(dir, n);
	if (path[0] != '/')
		return path;
	if (n == 1)
		return path + strspn(path, "/");
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	return path + n + strspn(path + n, "/");
}

/*
 * Opens rest beneath the directory dir (n bytes) with flags and mode.
 * Returns the descriptor, or -1 with errno (ENOENT and friends from the
 * kernel; ENOTDIR-like errors about dir itself are told apart by *dirfail).
 */
static int
open_in(const char *dir, size_t n, const char *rest, uint64_t flags,
    uint64_t mode, int *dirfail)
{
	char name[4096];
	int dfd, fd, e;

	*dirfail = 0;
	if (n >= sizeof(name)) {
		*dirfail = 1;
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, dir, n);
	name[n] = '\0';
	dfd = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		*dirfail = 1;
		return -1;
	}
	fd = openat2_beneath(dfd, rest, flags, mode);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

/* The message for errno e from opening path beneath dir (n bytes). */
static void
refusal(int e, const char *path, const char *dir, size_t n, int dirfail,
    char *err, size_t errlen)
{
	if (dirfail)
		snprintf(err, errlen, "%s: the directory %.*s ([files] in the "
		    "config) cannot be opened: %s", path, (int)n, dir,
		    strerror(e));
	else if (e == EXDEV)
		snprintf(err, errlen, "%s: refused: it leads out of %.*s "
		    "(through '..' or a symbolic link)", path, (int)n, dir);
	else if (e == ELOOP)
		snprintf(err, errlen, "%s: refused: a symbolic link (or too "
		    "many of them)", path);
	else if (e == ENOSYS)
		snprintf(err, errlen, "%s: cannot open safely: this kernel has "
		    "no openat2() (Linux 5.6 or later is needed)", path);
	else
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(e));
}

/*
 * The next directory of a ':' list: *d and *n get it, *list moves past
 * it.  Returns 0 at the end of the list (or for a NULL one).
 */
static int
next_dir(const char **list, const char **d, size_t *n)
{
	const char *colon;

	if (*list == NULL)
		return 0;
	*d = *list;
	colon = strchr(*list, ':');
	*n = colon != NULL ? (size_t)(colon - *list) : strlen(*list);
	*list = colon != NULL ? colon + 1 : NULL;
	return 1;
}

/* "DIR, DIR2": where play may read, for a message. */
static void
dirs_text(const struct config_files *dirs, char *buf, size_t len)
{
	const char *list = dirs->play, *d;
	size_t used, n;

	used = (size_t)snprintf(buf, len, "%s", dirs->recordings);
	while (next_dir(&list, &d, &n)) {
		if (used >= len)
			break;
		used += (size_t)snprintf(buf + used, len - used, ", %.*s",
		    (int)n, d);
	}
}

int
files_open_read(const struct config_files *dirs, const char *path,
    char *err, size_t errlen)
{
	const uint64_t flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	const char *list, *d, *rest, *missing = NULL;
	size_t n, missing_n = 0;
	char where[1024];
	int fd, dirfail, i;

	if (path[0] == '\0') {
		snprintf(err, errlen, "no file named");
		return -1;
	}
	for (i = 0; i < 2; i++) {
		list = i == 0 ? dirs->recordings : dirs->play;
		while (next_dir(&list, &d, &n)) {
			if ((rest = within(d, n, path)) == NULL)
				continue;
			if (*rest == '\0') {
				snprintf(err, errlen, "%s: a directory, not "
				    "a file", path);
				return -1;
			}
			fd = open_in(d, n, rest, flags, 0, &dirfail);
			if (fd >= 0)
				return fd;
			/* Not here: a relative name may be in the next. */
			if (errno == ENOENT && !dirfail) {
				if (missing == NULL) {
					missing = d;
					missing_n = n;
				}
				continue;
			}
			refusal(errno, path, d, n, dirfail, err, errlen);
			return -1;
		}
	}
	dirs_text(dirs, where, sizeof(where));
	if (missing != NULL && path[0] == '/')
		refusal(ENOENT, path, missing, missing_n, 0, err, errlen);
	else if (missing != NULL)
		snprintf(err, errlen, "%s: no such file in %s", path, where);
	else
		snprintf(err, errlen, "%s: refused: play reads only files in "
		    "%s ([files] in the config)", path, where);
	return -1;
}

struct files_id
files_id_of(int fd)
{
	struct files_id id = { 0, 0 };
	struct stat st;

	if (fstat(fd, &st) == 0) {
		id.dev = (uint64_t)st.st_dev;
		id.ino = (uint64_t)st.st_ino;
	}
	return id;
}

/* Checks an existing file that --overwrite would replace; 0 or -1. */
static int
replaceable(const struct files_target *t, int fd, const char *path,
    char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot check: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: refused: not a regular file", path);
		return -1;
	}
	if ((uint64_t)st.st_dev == t->keep.dev &&
	    (uint64_t)st.st_ino == t->keep.ino &&
	    (t->keep.dev != 0 || t->keep.ino != 0)) {
		snprintf(err, errlen, "%s: refused: it is the file being "
		    "played", path);
		return -1;
	}
	/* Another name for it may be anyone's file, outside too. */
	if (st.st_nlink > 1) {
		snprintf(err, errlen, "%s: refused: the file has other names "
		    "(hard links)", path);
		return -1;
	}
	return 0;
}

/*
 * A FIFO made in the recordings directory is a pipe to whoever reads it
 * (sox-style): recording into it replaces nothing.  Opened for writing,
 * which waits for a reader: the disk thread calls this and gives up after
 * its timeout.  Returns the descriptor, -1 if rest is not a FIFO, or -2
 * with errno.
 */
static int
open_pipe(const char *dir, size_t n, const char *rest)
{
	struct stat st;
	int fd, dirfail;

	fd = open_in(dir, n, rest, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
	    &dirfail);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -1;
	}
	close(fd);
	fd = open_in(dir, n, rest, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0,
	    &dirfail);
	if (fd < 0)
		return -2;
	/* Swapped for something else between the two opens: refused. */
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		errno = EPERM;
		return -2;
	}
	return fd;
}

int
files_create(const struct files_target *t, const char *path, char *err,
    size_t errlen)
{
	const char *dir = t->dirs->recordings, *rest;
	size_t n = strlen(dir);
	int fd, dirfail;

	err[0] = '\0';
	if (path[0] == '\0') {
		snprintf(err, errlen, "no file named");
		return -1;
	}
	rest = within(dir, n, path);
	if (rest == NULL) {
		snprintf(err, errlen, "%s: refused: record writes only in %s "
		    "([files] recordings in the config)", path, dir);
		return -1;
	}
	if (*rest == '\0') {
		snprintf(err, errlen, "%s: a directory, not a file", path);
		return -1;
	}
	/* O_EXCL: never through a symbolic link, never an existing file. */
	fd = open_in(dir, n, rest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0666, &dirfail);
	if (fd >= 0)
		return fd;
	if (errno != EEXIST || dirfail) {
		refusal(errno, path, dir, n, dirfail, err, errlen);
		return -1;
	}
	if ((fd = open_pipe(dir, n, rest)) != -1) {
		if (fd < 0)
			refusal(errno, path, dir, n, 0, err, errlen);
		return fd < 0 ? -1 : fd;
	}
	if (!t->overwrite) {
		snprintf(err, errlen, "%s: exists; 'record --overwrite %s' "
		    "replaces it", path, path);
		return -1;
	}
	/* O_NONBLOCK: a FIFO put there must not hold us; it is refused. */
	fd = open_in(dir, n, rest, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0, &dirfail);
	if (fd < 0) {
		refusal(errno, path, dir, n, dirfail, err, errlen);
		return -1;
	}
	if (replaceable(t, fd, path, err, errlen) != 0 ||
	    fcntl(fd, F_SETFL, 0) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
