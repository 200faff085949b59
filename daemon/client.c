/*
 * The control socket's clients.  Each has a fixed input buffer of one
 * request line and a growing output buffer capped at CLIENT_OUT_MAX; the
 * socket is non-blocking and the loop says when to read or write.  A
 * client that breaks the protocol (an over-long line, replies it never
 * reads, half a line and silence) is answered with an error or
 * disconnected, and the daemon carries on.  What a request means is the
 * handler's business (command.c through control.c).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/log.h"
#include "rtpool/rtclock.h"

static void
client_close(struct client *cl)
{
	if (cl->fd < 0)
		return;
	loop_del(cl->owner->loop, cl->file);
	cl->file = NULL;
	close(cl->fd);
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	cl->outlen = cl->outcap = 0;
	cl->inlen = 0;
}

/*
 * Reads only while there is room for it (a client whose lines wait keeps
 * the rest in its socket, which holds its writes up), and asks for
 * writability only while something waits to be written.
 */
static void
client_listen(struct client *cl)
{
	int room = !cl->eof && cl->inlen < sizeof(cl->in);

	(void)loop_want(cl->owner->loop, cl->file, (room ? LOOP_IN : 0u) |
	    (cl->outlen > 0 ? LOOP_OUT : 0u));
}

static void
client_flush(struct client *cl)
{
	ssize_t n;

	while (cl->outlen > 0) {
		n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(cl);
			return;
		}
		memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
		cl->outlen -= (size_t)n;
	}
	if (cl->outlen == 0 && cl->closing && !cl->draining) {
		/*
		 * Closing with unread input would send a reset, which can
		 * destroy the reply before the client reads it: end our side
		 * and discard what it still sends until it hangs up.
		 */
		shutdown(cl->fd, SHUT_WR);
		cl->draining = 1;
		cl->last_ns = rtclock_ns();
	}
	/* A client that hung up has said everything: once each of its
	   requests is answered, it goes. */
	if (cl->eof && cl->outlen == 0 && cl->wait == CLIENT_READY &&
	    memchr(cl->in, '\n', cl->inlen) == NULL) {
		client_close(cl);
		return;
	}
	client_listen(cl);
}

void
client_write(struct client *cl, const char *s, size_t n)
{
	char *nb;

	if (cl->fd < 0)
		return;
	if (cl->outlen + n > CLIENT_OUT_MAX) {
		log_debug("client %d: %zu bytes of unread replies; "
		    "disconnected", cl->fd, cl->outlen);
		client_close(cl);
		return;
	}
	if (cl->outlen + n > cl->outcap) {
		nb = realloc(cl->out, cl->outlen + n + 4096);
		if (nb == NULL) {
			client_close(cl);
			return;
		}
		cl->out = nb;
		cl->outcap = cl->outlen + n + 4096;
	}
	memcpy(cl->out + cl->outlen, s, n);
	cl->outlen += n;
	client_flush(cl);
}

void
client_send_json(struct client *cl, const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s == NULL) {
		client_close(cl);
		return;
	}
	client_write(cl, s, strlen(s));
	client_write(cl, "\n", 1);
	free(s);
}

void
client_wait(struct client *cl, int tag)
{
	cl->wait = CLIENT_WAITING;
	cl->wait_tag = tag;
}

int
client_retry(struct client *cl, int busy, const char *line, size_t len)
{
	uint64_t now;

	if (!busy) {
		cl->busy_ns = 0;
		return 0;
	}
	now = rtclock_ns();
	if (cl->busy_ns == 0)
		cl->busy_ns = now;
	if (now - cl->busy_ns >= CLIENT_BUSY_NS)
		return 0;
	/* run_lines took the line and its newline out just now, and has
	   read nothing since: there is room to put them back. */
	memmove(cl->in + len + 1, cl->in, cl->inlen);
	memcpy(cl->in, line, len);
	cl->in[len] = '\n';
	cl->inlen += len + 1;
	cl->wait = CLIENT_BLOCKED;
	return 1;
}

int
client_trusted(const struct client *cl)
{
	return cl->trusted;
}

/*
 * Runs the complete lines a client has sent, in order, until one must
 * wait for its answer; clients_resume() goes on.
 */
static void
run_lines(struct client *cl)
{
	struct clients *s = cl->owner;
	char *nl;
	size_t len;

	while (cl->fd >= 0 && cl->wait == CLIENT_READY && !cl->closing &&
	    (nl = memchr(cl->in, '\n', cl->inlen)) != NULL) {
		len = (size_t)(nl - cl->in);
		/* Taken out first: the handler may close the client. */
		memcpy(s->line_buf, cl->in, len);
		memmove(cl->in, nl + 1, cl->inlen - len - 1);
		cl->inlen -= len + 1;
		s->line(s->arg, cl, s->line_buf, len);
	}
}

/* The one error this module answers itself. */
static void
send_too_long(struct client *cl)
{
	char msg[128];
	cJSON *o = cJSON_CreateObject();

	snprintf(msg, sizeof(msg), "request longer than %d bytes; "
	    "disconnecting", PROTO_MAX_LINE - 1);
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", msg);
	client_send_json(cl, o);
	cJSON_Delete(o);
}

static void
client_readable(struct client *cl)
{
	ssize_t n;

	if (cl->draining) {
		n = recv(cl->fd, cl->in, sizeof(cl->in), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			client_close(cl);
		return;
	}
	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen, 0);
	if (n == 0) {
		/* Half a line left at the end was never a request. */
		cl->eof = 1;
		run_lines(cl);
		if (cl->fd >= 0)
			client_flush(cl);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(cl);
		return;
	}
	cl->inlen += (size_t)n;
	cl->last_ns = rtclock_ns();
	run_lines(cl);
	if (cl->fd < 0)
		return;
	if (cl->inlen == sizeof(cl->in) &&
	    memchr(cl->in, '\n', cl->inlen) == NULL) {
		send_too_long(cl);
		cl->closing = 1;
		cl->inlen = 0;
		client_flush(cl);
		return;
	}
	client_listen(cl);	/* full of lines that wait: stop reading */
}

static void
client_in(void *arg)
{
	client_readable(arg);
}

static void
client_out(void *arg)
{
	client_flush(arg);
}

static void
client_hup(void *arg)
{
	client_close(arg);
}

static const struct loop_ops client_ops = {
	.name = "client", .in = client_in, .out = client_out,
	.hup = client_hup
};

/* 1 if gid is the peer's group or among its supplementary groups. */
static int
peer_in(int fd, const struct ucred *cr, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	unsigned i, n;

	if (cr->gid == gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return 0;
	n = len / sizeof(groups[0]);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * The peer's enum proto_tier: full for root, our user and the [control]
 * group, monitor for the monitor_group, else anyone.  The groups are the
 * ones the kernel recorded for the peer at connect (SO_PEERGROUPS), as
 * file permissions would see them, and reading them needs no user
 * database lookup in the event loop.
 */
static int
peer_trusted(const struct clients *s, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return PROTO_TIER_ANYONE;
	if (cr.uid == 0 || cr.uid == geteuid() ||
	    (s->have_group && peer_in(fd, &cr, s->group)))
		return PROTO_TIER_FULL;
	if (s->have_monitor && peer_in(fd, &cr, s->monitor))
		return PROTO_TIER_MONITOR;
	return PROTO_TIER_ANYONE;
}

static void
accept_clients(void *arg)
{
	static const char busy[] = "{\"ok\":false,\"error\":"
	    "\"too many clients\"}\n";
	struct clients *s = arg;
	struct client *cl;
	unsigned i;
	int fd;

	for (;;) {
		fd = accept4(s->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < CLIENT_MAX && s->slots[i].fd >= 0; i++)
			;
		if (i == CLIENT_MAX) {
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		cl = &s->slots[i];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->owner = s;
		cl->trusted = peer_trusted(s, fd);
		cl->last_ns = rtclock_ns();
		cl->file = loop_add(s->loop, fd, &client_ops, cl);
		if (cl->file == NULL) {
			close(fd);
			cl->fd = -1;
		}
	}
}

static const struct loop_ops listen_ops = {
	.name = "socket", .in = accept_clients
};

/* Gives the socket to the [control] group, if there is one. */
static void
set_group(struct clients *s, const char *path, const char *group)
{
	struct group *gr;

	if (group == NULL)
		return;
	gr = getgrnam(group);
	if (gr == NULL) {
		log_msg("[control] group = %s: no such group; only root and "
		    "this user may use the socket", group);
		return;
	}
	s->group = gr->gr_gid;
	s->have_group = 1;
	if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
		log_msg("%s: cannot give it to group %s: %s", path,
		    gr->gr_name, strerror(errno));
}

static int
open_socket(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_msg("%s: socket path too long (at most %zu bytes)", path,
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg("socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file nobody listens on is left from a crash: reuse it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		log_msg("%s: another tidepoold is listening there", path);
		close(fd);
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0) {
		log_msg("%s: cannot listen: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0660);
	return fd;
}

int
clients_init(struct clients *s, struct loop *l, const char *path,
    const char *group, client_line_fn *line, void *arg)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->loop = l;
	s->idle_ns = CLIENT_IDLE_NS;
	s->line = line;
	s->arg = arg;
	for (i = 0; i < CLIENT_MAX; i++)
		s->slots[i].fd = -1;
	s->listen_fd = open_socket(path);
	if (s->listen_fd < 0)
		return -1;
	/* Fits: open_socket checked it against sun_path, the same size. */
	snprintf(s->path, sizeof(s->path), "%s", path);
	set_group(s, path, group);
	s->listen_file = loop_add(l, s->listen_fd, &listen_ops, s);
	if (s->listen_file == NULL) {
		log_msg("%s: cannot watch the socket: %s", path,
		    strerror(errno));
		clients_done(s);
		return -1;
	}
	return 0;
}

void
clients_done(struct clients *s)
{
	unsigned i;

	for (i = 0; i < CLIENT_MAX; i++)
		client_close(&s->slots[i]);
	if (s->listen_fd < 0)
		return;
	loop_del(s->loop, s->listen_file);
	s->listen_file = NULL;
	close(s->listen_fd);
	s->listen_fd = -1;
	unlink(s->path);
}

void
clients_monitor_group(struct clients *s, const char *group)
{
	struct group *gr;

	if (group == NULL)
		return;
	gr = getgrnam(group);
	if (gr == NULL) {
		log_msg("[control] monitor_group = %s: no such group", group);
		return;
	}
	s->monitor = gr->gr_gid;
	s->have_monitor = 1;
	if (chmod(s->path, 0666) != 0)
		log_msg("%s: cannot open it to the monitor group: %s",
		    s->path, strerror(errno));
}

int
clients_have_group(const struct clients *s)
{
	return s->have_group;
}

void
clients_resume(struct clients *s)
{
	struct client *cl;
	unsigned i;

	for (i = 0; i < CLIENT_MAX; i++) {
		cl = &s->slots[i];
		if (cl->fd >= 0 && cl->wait == CLIENT_BLOCKED)
			cl->wait = CLIENT_READY;
		if (cl->fd < 0 || cl->wait != CLIENT_READY || cl->closing ||
		    memchr(cl->in, '\n', cl->inlen) == NULL)
			continue;
		run_lines(cl);
		if (cl->fd >= 0)
			client_flush(cl);
	}
}

void
clients_reap(struct clients *s, uint64_t now)
{
	struct client *cl;
	unsigned i;

	for (i = 0; i < CLIENT_MAX; i++) {
		cl = &s->slots[i];
		if (cl->fd < 0)
			continue;
		/* Half a line, or a drained client that never hangs up. */
		if ((cl->inlen > 0 || cl->draining) &&
		    now - cl->last_ns > (cl->draining ? CLIENT_DRAIN_NS :
		    s->idle_ns))
			client_close(cl);
	}
}

unsigned
clients_answer_waiting(struct clients *s, int tag, const cJSON *o)
{
	struct client *cl;
	unsigned i, n = 0;

	for (i = 0; i < CLIENT_MAX; i++) {
		cl = &s->slots[i];
		if (cl->fd < 0 || cl->wait != CLIENT_WAITING ||
		    cl->wait_tag != tag)
			continue;
		cl->wait = CLIENT_READY;
		client_send_json(cl, o);
		n++;
	}
	/* The lines sent behind the answered ones run at the next tick
	   (clients_resume), not from inside this. */
	return n;
}
