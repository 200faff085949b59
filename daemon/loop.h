/*
 * The control thread's event loop: epoll, with timers (timerfd) and
 * signals (signalfd) as descriptors like any other.  Each kind of
 * descriptor brings its own handlers in a struct loop_ops, the shape of
 * sndiod's fileops and redis's aeCreateFileEvent, so that a new kind (a
 * disk thread's wake-up, a listener) is one ops table and one loop_add,
 * and the loop itself never changes.
 *
 * Threads.  Everything here belongs to the one thread that runs the loop;
 * handlers run on it, inside loop_poll.  Registrations are preallocated and
 * capped at loop_init: when full, loop_add refuses.
 */
#ifndef TP_LOOP_H
#define TP_LOOP_H

#include <signal.h>
#include <stdint.h>

/* What a registration waits for (loop_want). */
enum loop_events {
	LOOP_IN = 1,		/* readable (or, for a timer, expired) */
	LOOP_OUT = 2		/* writable */
};

/* The handlers of one kind of descriptor; any may be NULL. */
struct loop_ops {
	const char *name;	/* for messages: "timer", "client" */
	void (*in)(void *arg);	/* readable; a timer: it expired */
	void (*out)(void *arg);	/* writable, when LOOP_OUT is wanted */
	/* An error or a hang-up with nothing left to read; without it, in
	   is called and finds out from its read. */
	void (*hup)(void *arg);
	/* A signalfd registration: one call per signal delivered. */
	void (*signal)(void *arg, int signo);
};

/* One registration; opaque. */
struct loop_file;

struct loop {
	int epfd;
	struct loop_file *files;	/* nfiles slots */
	unsigned nfiles;
	void *batch;		/* the events loop_poll is dispatching */
	int batch_len, batch_next;	/* how many; the next one's index */
};

/*
 * Makes a loop for at most max_files registrations.  Returns 0, or -1 with
 * errno set.
 * The loop's thread.
 */
int loop_init(struct loop *l, unsigned max_files);

/*
 * Removes every registration, closing the timers and signalfds the loop
 * made (descriptors given to loop_add stay their owner's), and frees it.
 * The loop's thread.
 */
void loop_done(struct loop *l);

/*
 * Watches fd for LOOP_IN on behalf of ops and arg.  The caller keeps the
 * descriptor and closes it after loop_del.  Returns the registration, or
 * NULL (the table is full, or epoll refused: errno says).
 * The loop's thread.
 */
struct loop_file *loop_add(struct loop *l, int fd, const struct loop_ops *ops,
    void *arg);

/*
 * A timer that calls ops->in every period_ns, the first time after
 * period_ns.  Expirations missed while the loop was busy make one call.
 * Returns the registration, or NULL with errno set.
 * The loop's thread.
 */
struct loop_file *loop_add_timer(struct loop *l, uint64_t period_ns,
    const struct loop_ops *ops, void *arg);

/*
 * Blocks the signals of set for the whole process (call it before any
 * thread is made, which inherits the mask) and calls ops->signal for each
 * one that arrives.  Returns the registration, or NULL with errno set.
 */
struct loop_file *loop_add_signals(struct loop *l, const sigset_t *set,
    const struct loop_ops *ops, void *arg);

/*
 * Waits for events (enum loop_events bits) instead.  Returns 0 or -1.
 * The loop's thread.
 */
int loop_want(struct loop *l, struct loop_file *f, unsigned events);

/*
 * Stops watching; NULL is ignored.  Safe from inside a handler, even the
 * registration's own: no handler of it runs afterwards, and an event of
 * the batch being dispatched never reaches whoever takes its slot next.
 */
void loop_del(struct loop *l, struct loop_file *f);

/*
 * Waits up to timeout_ms (-1: no limit) and runs the handlers of what
 * happened.  Returns how many descriptors had events (0 on a timeout or a
 * signal), or -1 with errno set when epoll fails.
 * The loop's thread.
 */
int loop_poll(struct loop *l, int timeout_ms);

#endif /* TP_LOOP_H */
