/*
 * The daemon's log: one line per message on stderr, "tidepoold: " first,
 * which journald takes as it comes.  Never from the audio callback (it
 * counts; the control thread reports).
 *
 * Threads.  log_msg and log_debug: any thread but the callback (stdio
 * locks the stream, so lines do not mix).  log_set_verbose: at start, before
 * other threads exist.
 */
#ifndef TP_LOG_H
#define TP_LOG_H

/* Whether log_debug prints (tidepoold -v). */
void log_set_verbose(int verbose);

/* One line, printf-style, without its newline. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As log_msg, only with -v: each client, each reconnect attempt. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TP_LOG_H */
