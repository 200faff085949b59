/*
 * A fault to inject with LD_PRELOAD: fsync(), fdatasync() or close() of a
 * file whose path contains TP_FAIL_PATH fails with EIO, as they do when a
 * disk or a network mount reports a write error late.  TP_FAIL_CALL names
 * the call (fsync, close).  close() still closes the descriptor, as Linux
 * does when it reports an error.  Tests only: no disk here can be made to
 * fail these calls on demand.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 if fd is a file of TP_FAIL_PATH and call is TP_FAIL_CALL. */
static int
doomed(int fd, const char *call)
{
	const char *want = getenv("TP_FAIL_CALL"), *path = getenv("TP_FAIL_PATH");
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (want == NULL || path == NULL || strcmp(want, call) != 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strstr(target, path) != NULL;
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	if (doomed(fd, "fsync")) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	if (doomed(fd, "fsync")) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int
close(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "close");
	int bad = doomed(fd, "close");

	if (real(fd) != 0)
		return -1;
	if (bad) {
		errno = EIO;
		return -1;
	}
	return 0;
}
