/*
 * The disk lanes: a thread each, that takes jobs from the control thread,
 * does the file work (libsndfile through sfin and sfout, which may block
 * for as long as a FIFO or a mount wants) and hands them back.  Nothing
 * here knows the player's or the recorder's states: a lane only knows the
 * one file it has open and the generation it belongs to.
 *
 * Abandoning a job: the control thread raises the lane's cancel mark and
 * sends the thread SIGUSR2, whose handler does nothing and is installed
 * without SA_RESTART, so an open(), read() or write() on a FIFO returns
 * EINTR and libsndfile reports an error.  The mark is read before each
 * job and each block, so the signal only has to break one call.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "daemon/disk.h"
#include "rtpool/rtclock.h"

#define DISK_SIGNAL SIGUSR2

static void
interrupted(int signo)
{
	(void)signo;	/* only there to make a blocking call return EINTR */
}

struct disk_job *
disk_job_new(enum disk_op op, uint64_t generation)
{
	struct disk_job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->op = op;
		j->generation = generation;
	}
	return j;
}

void
disk_job_del(struct disk_job *j)
{
	if (j == NULL)
		return;
	free(j->path);
	free(j->dirs.recordings);
	free(j->dirs.play);
	free(j);
}

int
disk_job_confine(struct disk_job *j, const struct config_files *dirs)
{
	j->confined = 1;
	if (dirs->recordings != NULL &&
	    (j->dirs.recordings = strdup(dirs->recordings)) == NULL)
		return -1;
	if (dirs->play != NULL && (j->dirs.play = strdup(dirs->play)) == NULL)
		return -1;
	return 0;
}

/* 1 if j's generation was abandoned.  Lane thread. */
static int
abandoned(struct disk_lane *l, const struct disk_job *j)
{
	/* Pairs with disk_cancel's store: a mark raised before the job was
	   handed over is always seen. */
	return j->generation < ck_pr_load_64(&l->cancel_below);
}

static void
close_files(struct disk_lane *l, struct disk_job *j)
{
	char err[512];

	sfin_close(l->in);
	l->in = NULL;
	if (l->out != NULL && sfout_commit(l->out, err, sizeof(err)) != 0 &&
	    j != NULL) {
		j->failed = 1;
		snprintf(j->err, sizeof(j->err), "%s", err);
	}
	l->out = NULL;
	l->write_failed = 0;
}

/* The file j names, as the config's input or as a client's. */
static struct sfin *
open_input(struct disk_job *j)
{
	int fd;

	if (!j->confined)
		return sfin_open(j->path, j->rate, j->channels, j->capacity,
		    j->err, sizeof(j->err));
	fd = files_open_read(&j->dirs, j->path, j->err, sizeof(j->err));
	if (fd < 0)
		return NULL;
	return sfin_open_fd(fd, j->path, j->rate, j->channels, j->capacity,
	    j->err, sizeof(j->err));
}

/* A new recording, created as j allows (daemon/files.h). */
static struct sfout *
open_output(struct disk_job *j)
{
	struct files_target t = { &j->dirs, j->overwrite, j->keep };
	int fd;

	if (!j->confined)
		return sfout_open(j->path, SFOUT_LIVE, j->rate, j->channels,
		    j->err, sizeof(j->err));
	fd = files_create(&t, j->path, j->err, sizeof(j->err));
	if (fd < 0)
		return NULL;
	return sfout_open_fd(fd, j->path, j->rate, j->channels, j->err,
	    sizeof(j->err));
}

static void
open_read(struct disk_lane *l, struct disk_job *j)
{
	close_files(l, NULL);
	if (abandoned(l, j)) {
		j->failed = j->skipped = 1;
		snprintf(j->err, sizeof(j->err), "%s: abandoned", j->path);
		return;
	}
	l->in = open_input(j);
	if (l->in == NULL) {
		j->failed = 1;
		return;
	}
	if (abandoned(l, j)) {	/* it opened, too late */
		close_files(l, NULL);
		j->failed = j->skipped = 1;
		snprintf(j->err, sizeof(j->err), "%s: abandoned", j->path);
		return;
	}
	j->info = *sfin_info(l->in);
	l->file_generation = j->generation;
	l->fed = 0;
	l->loop = j->loop;
}

/* Fills j's block from the open file; at its end (or an error) marks it
   END.  The same loop the control thread ran before the lanes. */
static void
fill(struct disk_lane *l, struct disk_job *j)
{
	struct engine_block *b = j->block;
	unsigned cap = (unsigned)j->capacity, ch = b->channels;
	long n;

	b->frames = 0;
	if (l->in == NULL || l->file_generation != j->generation ||
	    abandoned(l, j)) {
		j->skipped = 1;
		j->end = 1;
		return;
	}
	while (b->frames < cap) {
		n = sfin_read(l->in, b->data + (size_t)b->frames * ch,
		    cap - b->frames, j->err, sizeof(j->err));
		if (n < 0) {
			j->failed = 1;
			break;
		}
		b->frames += (uint32_t)n;
		if (n > 0)
			continue;
		/* End of file: wrap around, unless the file is empty. */
		if (l->loop && l->fed + b->frames > 0 &&
		    sfin_rewind(l->in) == 0) {
			j->loops++;
			continue;
		}
		break;
	}
	l->fed += b->frames;
	j->frames = b->frames;
	j->end = b->frames < cap;
}

static void
open_write(struct disk_lane *l, struct disk_job *j)
{
	close_files(l, NULL);
	if (abandoned(l, j)) {
		j->failed = j->skipped = 1;
		snprintf(j->err, sizeof(j->err), "%s: abandoned", j->path);
		return;
	}
	l->out = open_output(j);
	if (l->out == NULL) {
		j->failed = 1;
		return;
	}
	if (abandoned(l, j)) {
		sfout_abort(l->out);
		l->out = NULL;
		j->failed = j->skipped = 1;
		snprintf(j->err, sizeof(j->err), "%s: abandoned", j->path);
		return;
	}
	l->file_generation = j->generation;
	l->write_failed = 0;
}

/*
 * Writes j's block.  After the first error the file takes no more: what
 * is in it stays valid (LIVE mode), and the rest of this recording's
 * blocks come back skipped.
 */
static void
write_block(struct disk_lane *l, struct disk_job *j)
{
	const struct engine_block *b = j->block;

	if (l->out == NULL || l->file_generation != j->generation ||
	    l->write_failed || abandoned(l, j)) {
		j->skipped = 1;
		return;
	}
	if (b->frames > 0 && sfout_write(l->out, b->data, b->frames, j->err,
	    sizeof(j->err)) != 0) {
		j->failed = 1;
		l->write_failed = 1;
		return;
	}
	j->frames = b->frames;
}

static void
run_job(struct disk_lane *l, struct disk_job *j)
{
	switch (j->op) {
	case DISK_OPEN_READ:
		open_read(l, j);
		break;
	case DISK_FILL:
		fill(l, j);
		break;
	case DISK_OPEN_WRITE:
		open_write(l, j);
		break;
	case DISK_WRITE:
		write_block(l, j);
		break;
	case DISK_CLOSE:
		close_files(l, j);
		break;
	case DISK_QUIT:
		break;
	}
}

/* Hands j back and wakes the control loop. */
static void
give_back(struct disk_lane *l, struct disk_job *j)
{
	uint64_t one = 1;

	/* The channel holds every job the control thread may have out
	   (disk_submit refuses beyond), so this push has room. */
	(void)rtchan_push_spsc(&l->done, j);
	while (write(l->done_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *
lane_main(void *arg)
{
	struct disk_lane *l = arg;
	struct disk_job *j;
	sigset_t mask;
	uint64_t n;
	int quit = 0;

	/* The process's signals are the control thread's (its signalfd);
	   this thread takes only the one that interrupts it. */
	sigfillset(&mask);
	sigdelset(&mask, DISK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	while (!quit) {
		while ((j = rtchan_pop_spsc(&l->todo)) != NULL) {
			/* Read by disk_kick: whom to interrupt. */
			ck_pr_store_64(&l->busy_generation, j->generation + 1);
			ck_pr_fence_store_load();
			run_job(l, j);
			ck_pr_store_64(&l->busy_generation, 0);
			quit = j->op == DISK_QUIT;
			give_back(l, j);
			if (quit)
				break;
		}
		if (!quit && read(l->wake_fd, &n, sizeof(n)) < 0 &&
		    errno != EINTR && errno != EAGAIN)
			break;
	}
	close_files(l, NULL);
	return NULL;
}

static int
lane_init(struct disk_lane *l, int done_fd, unsigned max_jobs, char *err,
    size_t errlen)
{
	l->done_fd = done_fd;
	l->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (l->wake_fd < 0 || rtchan_init(&l->todo, max_jobs) != RTPOOL_OK ||
	    rtchan_init(&l->done, max_jobs) != RTPOOL_OK) {
		snprintf(err, errlen, "disk thread: %s", strerror(errno));
		return -1;
	}
	if ((errno = pthread_create(&l->thread, NULL, lane_main, l)) != 0) {
		snprintf(err, errlen, "disk thread: %s", strerror(errno));
		return -1;
	}
	l->started = 1;
	return 0;
}

int
disk_init(struct disk *d, unsigned max_jobs, char *err, size_t errlen)
{
	struct sigaction sa;
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->inited = 1;
	for (i = 0; i < DISK_LANES; i++)
		d->lanes[i].wake_fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = interrupted;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocking calls give EINTR */
	d->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->done_fd < 0 || sigaction(DISK_SIGNAL, &sa, NULL) != 0) {
		snprintf(err, errlen, "disk thread: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < DISK_LANES; i++)
		if (lane_init(&d->lanes[i], d->done_fd, max_jobs, err,
		    errlen) != 0)
			return -1;
	return 0;
}

int
disk_submit(struct disk *d, enum disk_lane_id id, struct disk_job *j)
{
	struct disk_lane *l = &d->lanes[id];
	uint64_t one = 1;

	/* Jobs out (queued, under way or done) never exceed one channel:
	   give_back always has room. */
	if (l->jobs_out >= rtchan_capacity(&l->done) ||
	    !rtchan_push_spsc(&l->todo, j))
		return -1;
	l->jobs_out++;
	while (write(l->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	return 0;
}

struct disk_job *
disk_collect(struct disk *d, enum disk_lane_id id)
{
	struct disk_job *j = rtchan_pop_spsc(&d->lanes[id].done);

	if (j != NULL)
		d->lanes[id].jobs_out--;
	return j;
}

static void
kick(struct disk_lane *l)
{
	uint64_t busy = ck_pr_load_64(&l->busy_generation);

	if (l->started && !l->joined && busy != 0 &&
	    busy - 1 < ck_pr_load_64(&l->cancel_below))
		(void)pthread_kill(l->thread, DISK_SIGNAL);
}

void
disk_cancel(struct disk *d, enum disk_lane_id id, uint64_t below)
{
	struct disk_lane *l = &d->lanes[id];

	if (below > ck_pr_load_64(&l->cancel_below))
		ck_pr_store_64(&l->cancel_below, below);
	/* The lane reads the mark after publishing what it is busy with:
	   either it sees the mark, or we see it busy and interrupt it. */
	ck_pr_fence_store_load();
	kick(l);
}

void
disk_kick(struct disk *d)
{
	unsigned i;

	for (i = 0; i < DISK_LANES; i++)
		kick(&d->lanes[i]);
}

int
disk_stuck(const struct disk *d, enum disk_lane_id id)
{
	const struct disk_lane *l = &d->lanes[id];
	uint64_t busy = ck_pr_load_64((uint64_t *)&l->busy_generation);

	return busy != 0 &&
	    busy - 1 < ck_pr_load_64((uint64_t *)&l->cancel_below);
}

int
disk_fd(const struct disk *d)
{
	return d->done_fd;
}

void
disk_woken(struct disk *d)
{
	uint64_t n;

	(void)read(d->done_fd, &n, sizeof(n));	/* nonblocking */
}

/* Waits for l's thread until deadline, interrupting it all the while. */
static int
join_lane(struct disk_lane *l, uint64_t deadline)
{
	struct timespec ts = { 0, 5000000 };
	struct disk_job *j;

	while (l->started && !l->joined) {
		if (pthread_tryjoin_np(l->thread, NULL) == 0) {
			l->joined = 1;
			break;
		}
		if (rtclock_ns() >= deadline)
			return 0;
		kick(l);
		nanosleep(&ts, NULL);
	}
	while ((j = rtchan_pop_spsc(&l->done)) != NULL)
		disk_job_del(j);
	while ((j = rtchan_pop_spsc(&l->todo)) != NULL)
		disk_job_del(j);
	rtchan_done(&l->todo);
	rtchan_done(&l->done);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	l->wake_fd = -1;
	return 1;
}

int
disk_done(struct disk *d, uint64_t timeout_ns)
{
	uint64_t deadline = rtclock_ns() + timeout_ns;
	struct disk_job *j;
	unsigned i;
	int all = 1;

	if (!d->inited)
		return 1;
	for (i = 0; i < DISK_LANES; i++) {
		struct disk_lane *l = &d->lanes[i];

		if (!l->started)
			continue;
		disk_cancel(d, (enum disk_lane_id)i, UINT64_MAX);
		/* Room is kept for it: jobs out never fill both channels. */
		j = disk_job_new(DISK_QUIT, UINT64_MAX - 1);
		if (j == NULL || disk_submit(d, (enum disk_lane_id)i, j) != 0)
			disk_job_del(j);
		else
			l->quit = j;	/* a lane left behind still holds it */
	}
	for (i = 0; i < DISK_LANES; i++)
		all &= join_lane(&d->lanes[i], deadline);
	if (all && d->done_fd >= 0)
		close(d->done_fd);
	if (all)
		memset(d, 0, sizeof(*d));
	return all;
}
