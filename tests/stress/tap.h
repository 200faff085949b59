/*
 * TAP output for the stress tests, which run without cmocka: one
 * "ok N - what" or "not ok N - what" line per check, flushed at once so
 * that a later crash still leaves the lines before it.  Header only: each
 * stress test is one program of one file.
 */
#ifndef TP_STRESS_TAP_H
#define TP_STRESS_TAP_H

#include <stdarg.h>
#include <stdio.h>

/* Checks that failed so far: main returns failures ? 1 : 0. */
static int failures;

static void
tap(int n, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tap(int n, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

#endif /* TP_STRESS_TAP_H */
