/*
 * The event loop: one epoll set, a fixed table of registrations, and the
 * three kinds of descriptor the loop knows how to read for its users
 * (plain ones it leaves to them, timerfds and signalfds it drains itself).
 * It does not know what a client or a tick is; it calls the ops it was
 * given.
 *
 * A registration deleted while events are being dispatched has the
 * batch's remaining events for it dropped, so that its slot can be taken
 * at once (a full table of clients accepts the next one as soon as one
 * leaves) and an event meant for the old one cannot reach the new.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/loop.h"

#define LOOP_BATCH 32		/* events taken per epoll_wait */

enum loop_kind {
	LOOP_FREE,		/* unused slot */
	LOOP_PLAIN,		/* the owner's descriptor */
	LOOP_TIMER,		/* a timerfd the loop made and drains */
	LOOP_SIGNALS		/* a signalfd the loop made and drains */
};

struct loop_file {
	enum loop_kind kind;	/* what the slot holds */
	int fd;
	const struct loop_ops *ops;
	void *arg;
};

int
loop_init(struct loop *l, unsigned max_files)
{
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	l->files = calloc(max_files, sizeof(*l->files));
	if (l->files == NULL)
		return -1;
	for (i = 0; i < max_files; i++)
		l->files[i].fd = -1;
	l->nfiles = max_files;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l->files);
		l->files = NULL;
		return -1;
	}
	return 0;
}

void
loop_done(struct loop *l)
{
	unsigned i;

	for (i = 0; i < l->nfiles; i++)
		loop_del(l, &l->files[i]);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->files);
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
}

static struct loop_file *
add(struct loop *l, int fd, enum loop_kind kind, const struct loop_ops *ops,
    void *arg)
{
	struct epoll_event ev;
	struct loop_file *f = NULL;
	unsigned i;

	for (i = 0; i < l->nfiles && f == NULL; i++)
		if (l->files[i].kind == LOOP_FREE)
			f = &l->files[i];
	if (f == NULL) {
		errno = EMFILE;
		return NULL;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = f;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return NULL;
	f->kind = kind;
	f->fd = fd;
	f->ops = ops;
	f->arg = arg;
	return f;
}

struct loop_file *
loop_add(struct loop *l, int fd, const struct loop_ops *ops, void *arg)
{
	return add(l, fd, LOOP_PLAIN, ops, arg);
}

struct loop_file *
loop_add_timer(struct loop *l, uint64_t period_ns, const struct loop_ops *ops,
    void *arg)
{
	struct itimerspec its;
	struct loop_file *f;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = (time_t)(period_ns / 1000000000u);
	its.it_interval.tv_nsec = (long)(period_ns % 1000000000u);
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) != 0 ||
	    (f = add(l, fd, LOOP_TIMER, ops, arg)) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

struct loop_file *
loop_add_signals(struct loop *l, const sigset_t *set,
    const struct loop_ops *ops, void *arg)
{
	struct loop_file *f;
	int fd;

	/* Blocked, they wait on the signalfd instead of interrupting. */
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		return NULL;
	fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = add(l, fd, LOOP_SIGNALS, ops, arg);
	if (f == NULL)
		close(fd);
	return f;
}

int
loop_want(struct loop *l, struct loop_file *f, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = (events & LOOP_IN ? EPOLLIN : 0u) |
	    (events & LOOP_OUT ? EPOLLOUT : 0u);
	ev.data.ptr = f;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, f->fd, &ev);
}

void
loop_del(struct loop *l, struct loop_file *f)
{
	struct epoll_event *evs = l->batch;
	int k;

	if (f == NULL || f->kind == LOOP_FREE)
		return;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, f->fd, NULL);
	if (f->kind == LOOP_TIMER || f->kind == LOOP_SIGNALS)
		close(f->fd);
	f->fd = -1;
	f->ops = NULL;
	f->arg = NULL;
	f->kind = LOOP_FREE;
	for (k = l->batch_next; evs != NULL && k < l->batch_len; k++)
		if (evs[k].data.ptr == f)
			evs[k].data.ptr = NULL;
}

/* Reads what the loop reads itself, then calls the ops. */
static void
readable(struct loop_file *f)
{
	struct signalfd_siginfo si;
	uint64_t expirations;

	switch (f->kind) {
	case LOOP_TIMER:
		/* EAGAIN: another reader was first; the tick runs anyway,
		   as it did when it read the timer itself. */
		(void)read(f->fd, &expirations, sizeof(expirations));
		if (f->ops->in != NULL)
			f->ops->in(f->arg);
		break;
	case LOOP_SIGNALS:
		/* The handler may delete the registration: check each time. */
		while (f->kind == LOOP_SIGNALS &&
		    read(f->fd, &si, sizeof(si)) == sizeof(si))
			if (f->ops->signal != NULL)
				f->ops->signal(f->arg, (int)si.ssi_signo);
		break;
	case LOOP_PLAIN:
		if (f->ops->in != NULL)
			f->ops->in(f->arg);
		break;
	case LOOP_FREE:
		break;
	}
}

static void
dispatch(struct loop_file *f, uint32_t events)
{
	const struct loop_ops *ops;
	void *arg;

	if (f == NULL || f->kind == LOOP_FREE)
		return;		/* deleted earlier in this batch */
	ops = f->ops;
	arg = f->arg;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN) &&
	    ops->hup != NULL)
		ops->hup(arg);
	else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		readable(f);
	/* The handler above may have deleted it, and even given its slot
	   to somebody else. */
	if ((events & EPOLLOUT) && f->kind == LOOP_PLAIN && f->ops == ops &&
	    f->arg == arg && ops->out != NULL)
		ops->out(arg);
}

int
loop_poll(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int n, k;

	n = epoll_wait(l->epfd, evs, LOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	l->batch = evs;
	l->batch_len = n;
	for (k = 0; k < n; k++) {
		l->batch_next = k + 1;
		dispatch(evs[k].data.ptr, evs[k].events);
	}
	l->batch = NULL;
	l->batch_len = l->batch_next = 0;
	return n;
}
