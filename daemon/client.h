/*
 * The control socket and its clients: the listening Unix socket, each
 * peer's credentials, input and output buffers, splitting input into
 * request lines, idle clients reaped, clients waiting for a late answer.
 * What a line means is not known here: each complete line goes to the
 * handler given at clients_init, which answers through client_write or
 * client_send_json.
 *
 * Threads.  Everything here belongs to the thread that runs the loop the
 * clients are registered with (the control thread); handlers run on it.
 */
#ifndef TP_CLIENT_H
#define TP_CLIENT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/loop.h"
#include "daemon/proto.h"

#define CLIENT_MAX 128		/* connected at once; more are refused */
#define CLIENT_OUT_MAX (1 << 20)	/* unread replies before we give up */
#define CLIENT_IDLE_NS (60ull * 1000000000ull)	/* half a line, then quiet:
						   idle_ns unless set */
#define CLIENT_DRAIN_NS (5ull * 1000000000ull)	/* to hang up once answered */
/* How long a client's requests may wait for room in the engine's queue
   before they are answered "busy": a callback every period makes room,
   so only an engine that stopped taking messages waits this long. */
#define CLIENT_BUSY_NS (2ull * 1000000000ull)

/* Whether a client's next line may run (the field client.wait). */
enum client_wait {
	CLIENT_READY,		/* reading requests */
	CLIENT_WAITING,		/* its last request is answered later */
	CLIENT_BLOCKED		/* its next line waits for room in the
				   engine's queue: it runs again at the
				   next clients_resume */
};

struct clients;

struct client {
	int fd;			/* -1: free slot */
	struct loop_file *file;	/* its registration in the loop */
	struct clients *owner;
	char in[PROTO_MAX_LINE];	/* received, not yet run */
	size_t inlen;
	char *out;		/* replies not yet written */
	size_t outlen, outcap;
	int trusted;		/* an enum proto_tier: what it may do */
	int closing;		/* stop reading; drain once out is flushed */
	int draining;		/* write side shut: discard input until EOF */
	int eof;		/* it shut its side: answer what it sent, close */
	enum client_wait wait;
	int wait_tag;		/* WAITING: what for (the caller's code) */
	uint64_t last_ns;	/* last activity */
	uint64_t busy_ns;	/* when its requests first found the engine's
				   queue full; 0: they did not */
};

/*
 * Runs one request line (len bytes, no newline, not NUL-terminated) sent
 * by cl, and answers it, now or, after client_wait, later.
 */
typedef void client_line_fn(void *arg, struct client *cl, const char *line,
    size_t len);

struct clients {
	struct loop *loop;
	struct loop_file *listen_file;
	int listen_fd;		/* -1: not listening */
	char path[108];		/* the socket's name (sun_path's size) */
	uint64_t idle_ns;	/* half a line this long, then quiet: dropped
				   ([control] idle_timeout) */
	gid_t group;		/* [control] group, if have_group */
	int have_group;
	gid_t monitor;		/* [control] monitor_group, if have_monitor */
	int have_monitor;
	client_line_fn *line;
	void *arg;		/* for line */
	char line_buf[PROTO_MAX_LINE];	/* the line being run */
	struct client slots[CLIENT_MAX];
};

/*
 * Listens on path (0660, given to group when not NULL) and serves each
 * client's lines through line(arg, ...).  A socket file nobody listens on
 * is left from a crash and reused; one somebody listens on is refused.
 * Returns 0, or -1 with the reason logged.
 * Control thread (the loop's).
 */
int clients_init(struct clients *s, struct loop *l, const char *path,
    const char *group, client_line_fn *line, void *arg);

/*
 * Disconnects everybody, stops listening and removes the socket file.
 * Control thread (the loop's).
 */
void clients_done(struct clients *s);

/*
 * 1 if the [control] group was found: its members may use the socket.
 * Control thread (the loop's).
 */
int clients_have_group(const struct clients *s);

/*
 * Lets the members of group read (enum proto_tier's monitor) and opens the
 * socket file to everyone (0666), since a file has one group: the
 * credential check is then what keeps strangers to "help".  group NULL
 * does nothing.  After clients_init.  Control thread.
 */
void clients_monitor_group(struct clients *s, const char *group);

/*
 * Runs the lines clients sent while they waited for an answer or for room
 * in the engine's queue.  From the timer, not from inside a handler.
 */
void clients_resume(struct clients *s);

/*
 * Disconnects clients that sent half a line, or never hang up, too long.
 * Control thread (the loop's).
 */
void clients_reap(struct clients *s, uint64_t now_ns);

/*
 * Sends o to every client waiting with tag (see client_wait), which then
 * reads requests again.  Returns how many there were.
 * Control thread (the loop's).
 */
unsigned clients_answer_waiting(struct clients *s, int tag, const cJSON *o);

/*
 * What cl may do: an enum proto_tier, from its credentials at connect.
 * Control thread (the loop's).
 */
int client_trusted(const struct client *cl);

/*
 * Queues n bytes for cl and writes what the socket takes now.  A client
 * with CLIENT_OUT_MAX bytes unread is disconnected: it cannot hold us up.
 * Control thread (the loop's).
 */
void client_write(struct client *cl, const char *s, size_t n);

/* Sends o as one line.  Control thread (the loop's). */
void client_send_json(struct client *cl, const cJSON *o);

/*
 * cl's next lines wait until clients_answer_waiting answers this one;
 * tag says what it waits for (answers for other tags pass it by).
 * Control thread (the loop's).
 */
void client_wait(struct client *cl, int tag);

/*
 * Called by the line handler for each line it ran (line, len as given to
 * it), with busy 1 if the engine's queue was full and nothing was done.
 * Returns 1 if the line goes back to run again at the next
 * clients_resume (the handler then answers nothing), or 0 if it is to be
 * answered now: it ran, or the client's requests have found the queue
 * full for CLIENT_BUSY_NS.  A script that pipelines a thousand requests
 * thus gets a thousand answers in order, not "busy" and a retry loop.
 * Control thread (the loop's).
 */
int client_retry(struct client *cl, int busy, const char *line, size_t len);

#endif /* TP_CLIENT_H */
