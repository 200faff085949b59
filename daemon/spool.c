/*
 * Temporary files for streams that libsndfile cannot take as they come.
 * The file is unlinked as soon as it is made: it leaves nothing behind,
 * whatever ends the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/spool.h"

int
spool_temp(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/tidepool-spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot make a temporary file to "
		    "spool a stream: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

int
spool_copy(int from, int to, const char *name, char *err, size_t errlen)
{
	char buf[65536];
	ssize_t n, w, off;

	for (;;) {
		n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: reading: %s", name,
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		for (off = 0; off < n; off += w) {
			w = write(to, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				snprintf(err, errlen, "%s: writing: %s", name,
				    strerror(errno));
				return -1;
			}
		}
	}
}
