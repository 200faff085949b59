/*
 * The daemon's log lines, on stderr; see log.h.  No levels beyond -v and
 * no files: systemd's journal keeps, rotates and filters.
 */
#include <stdarg.h>
#include <stdio.h>

#include "daemon/log.h"

/* Set once at start, read after: no other thread exists yet. */
static int log_verbose;

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

static void
put(const char *fmt, va_list ap)
{
	/* One locked sequence, so that two threads' lines do not mix. */
	flockfile(stderr);
	fputs("tidepoold: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put(fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	put(fmt, ap);
	va_end(ap);
}
