/*
 * The daemon's control thread: one event loop for everything that is not
 * real-time.  It owns the engine, the pools, the audio backend, the control
 * socket and its clients, file playback and recording, reload and the
 * statistics, and talks to the audio callback only through the engine's
 * rings.
 */
#ifndef TP_CONTROL_H
#define TP_CONTROL_H

struct control_opts {
	const char *config_path;
	int verbose;
	char *const *argv;	/* main's, to start again in place */
};

/*
 * Runs the daemon until SIGTERM or SIGINT.  Returns the process exit
 * status: 0 after a clean stop, 1 when start-up failed (the reason is
 * logged).
 * The main thread, which becomes the control thread.
 */
int control_run(const struct control_opts *o);

#endif /* TP_CONTROL_H */
