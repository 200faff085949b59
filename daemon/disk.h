/*
 * The disk threads (the role of Ardour's butler): every open, read,
 * decode, resample, encode, write and close of a played or recorded file
 * happens on one of them, never on the control thread, so that a FIFO, a
 * stalled mount or a full disk delays or ends that file's audio and
 * nothing else.  There is one lane, with a thread of its own, per kind of
 * stream (playback, recording): a FIFO nobody writes to holds the playback
 * lane in open() while the recording's blocks keep being written.
 *
 * The control thread hands a lane jobs (struct disk_job, malloc'd by it)
 * through an SPSC channel and takes them back, done, through another; an
 * eventfd (disk_fd) wakes the control loop when a job is back.  A job may
 * carry a pool block to fill or write; the pool itself stays the control
 * thread's.  A job whose generation is below the lane's cancel mark
 * (disk_cancel) is abandoned: a blocking call under way is interrupted with
 * a signal (repeated by disk_kick until it returns), reads and writes of it
 * are skipped, and an open fails.  Closing always runs.
 *
 * Threads.  disk_init, disk_done, disk_submit, disk_collect, disk_cancel,
 * disk_kick, disk_fd and disk_woken: the control thread only.  The jobs
 * run on the lane's own thread, which touches nothing but the job, the
 * block it carries and the lane's open file.
 */
#ifndef TP_DISK_H
#define TP_DISK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/engine.h"
#include "daemon/files.h"
#include "daemon/sfin.h"
#include "daemon/sfout.h"
#include "rtpool/rtchan.h"

/* Which lane (the index into disk.lanes). */
enum disk_lane_id {
	DISK_PLAY,		/* the played file */
	DISK_RECORD,		/* the recorded file */
	DISK_LANES
};

/* What a job asks for (the field disk_job.op). */
enum disk_op {
	DISK_OPEN_READ,		/* open path for reading: info, or err */
	DISK_FILL,		/* fill block from the open file */
	DISK_OPEN_WRITE,	/* open path for a live recording */
	DISK_WRITE,		/* write block's frames to the open file */
	DISK_CLOSE,		/* close the open file (commit a recording) */
	DISK_QUIT		/* the thread ends (disk_done only) */
};

struct disk_job {
	enum disk_op op;
	uint64_t generation;	/* the file it belongs to */
	struct engine_block *block;	/* FILL, WRITE; the caller's */
	/* OPEN_READ, OPEN_WRITE */
	char *path;		/* malloc'd by the caller, freed by it */
	double rate;		/* the engine's */
	unsigned channels;	/* the engine's (in or out) */
	unsigned capacity;	/* OPEN_READ: frames per block at most */
	int loop;		/* OPEN_READ: wrap around at the end */
	/* A client's path: opened only beneath these (daemon/files.h), a
	   copy the job owns, since a reload may free the config meanwhile. */
	int confined;		/* 0: the config's own input, trusted */
	struct config_files dirs;
	int overwrite;		/* OPEN_WRITE: as files_target's */
	struct files_id keep;	/* OPEN_WRITE: never replaced */
	/* What the lane says back. */
	int failed;		/* err says why */
	int skipped;		/* abandoned or after an error: no I/O */
	char err[1024];
	struct sfin_info info;	/* OPEN_READ */
	uint64_t frames;	/* FILL: frames in block; WRITE: written */
	uint64_t loops;		/* FILL: times the file wrapped around */
	int end;		/* FILL: the file ended in this block */
};

/* One lane: its thread, its channels and its file. */
struct disk_lane {
	pthread_t thread;
	int started;		/* thread runs (made by disk_init) */
	int joined;
	struct rtchan todo;	/* control -> lane */
	struct rtchan done;	/* lane -> control */
	unsigned jobs_out;	/* submitted, not yet collected */
	int wake_fd;		/* eventfd: control -> lane */
	int done_fd;		/* the disk's eventfd: lane -> control */
	/* Written by the control thread, read by the lane (ck_pr). */
	uint64_t cancel_below;	/* jobs of older generations: abandoned */
	/* Written by the lane, read by the control thread (ck_pr). */
	uint64_t busy_generation;	/* the job under way's + 1; 0: idle */
	/* The lane thread's own. */
	struct sfin *in;
	struct sfout *out;
	uint64_t file_generation;	/* of in or out */
	uint64_t fed;			/* frames read from in */
	int write_failed;		/* out's writes stopped at an error */
	int loop;
	struct disk_job *quit;	/* disk_done's, until the thread takes it */
};

struct disk {
	struct disk_lane lanes[DISK_LANES];
	int done_fd;		/* eventfd: readable when a job is back */
	int inited;		/* disk_init ran: done_fd is ours */
};

/*
 * Starts the lanes, each able to hold max_jobs jobs either way.  Returns
 * 0, or -1 with a message.  Control thread, before any other disk call.
 */
int disk_init(struct disk *d, unsigned max_jobs, char *err, size_t errlen);

/*
 * Abandons everything under way, ends the threads and frees d, waiting at
 * most timeout_ns for them (a thread held in a kernel call that a signal
 * cannot interrupt is left behind, and its lane's memory with it).
 * Returns 1 if every thread ended.  Jobs not collected are freed with
 * their path, not their block.  Safe on a zeroed struct.
 * Control thread.
 */
int disk_done(struct disk *d, uint64_t timeout_ns);

/*
 * Queues j on lane l.  Returns 0, or -1 if the lane's channel is full (the
 * lane is stuck behind a blocking call: the caller keeps j).
 * Control thread.
 */
int disk_submit(struct disk *d, enum disk_lane_id l, struct disk_job *j);

/* The oldest job lane l has finished, or NULL.  Control thread. */
struct disk_job *disk_collect(struct disk *d, enum disk_lane_id l);

/*
 * Abandons lane l's jobs of generations below below (see above).
 * Control thread.
 */
void disk_cancel(struct disk *d, enum disk_lane_id l, uint64_t below);

/*
 * Interrupts again a lane still held by an abandoned job: a signal sent
 * just before its thread entered the blocking call found nothing to
 * interrupt.  Call every tick.  Control thread.
 */
void disk_kick(struct disk *d);

/*
 * 1 while lane l's thread is still in a job that was abandoned: a call
 * that no signal interrupts (libsndfile retries a write to a full FIFO
 * after EINTR).  Control thread.
 */
int disk_stuck(const struct disk *d, enum disk_lane_id l);

/* The descriptor the control loop watches, readable when a job is back. */
int disk_fd(const struct disk *d);

/* Clears disk_fd's readiness before collecting.  Control thread. */
void disk_woken(struct disk *d);

/* A job of op for generation, zeroed; NULL if out of memory. */
struct disk_job *disk_job_new(enum disk_op op, uint64_t generation);

/* Frees j, its path and its dirs (not its block).  NULL is fine. */
void disk_job_del(struct disk_job *j);

/*
 * Confines j's open to dirs (a copy: see the field).  0, or -1 if out of
 * memory.  Control thread.
 */
int disk_job_confine(struct disk_job *j, const struct config_files *dirs);

#endif /* TP_DISK_H */
