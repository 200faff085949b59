/*
 * The metrics endpoint: GET /metrics over HTTP, for Prometheus.
 *
 * libmicrohttpd serves it on a thread of its own, so a slow or hostile
 * HTTP client costs that thread a connection slot and never the control
 * thread anything.  The text itself is made by the control thread, which
 * owns the statistics: a request asks for a fresh one and waits (at most
 * HTTP_FRESH_WAIT_MS) for the control thread's next tick (http_tick) to
 * hand over a finished copy; the HTTP thread never reads the statistics.
 */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <pthread.h>
#include <stdint.h>

#include "daemon/command.h"
#include "daemon/stats.h"

#define HTTP_MAX_CONNECTIONS 16	/* beyond: refused at accept */
#define HTTP_TIMEOUT_S 5	/* an idle or stuck connection is closed */
#define HTTP_MEMORY 8192	/* per connection: a longer request gets 431 */
#define HTTP_FRESH_WAIT_MS 1000	/* then the last text is served */

struct MHD_Daemon;

struct http {
	struct MHD_Daemon *mhd;		/* NULL: off */
	struct command_env *env;	/* the control thread's, for texts */
	char *unix_path;		/* the socket file we made, or NULL */
	pthread_mutex_t lock;		/* guards the fields below */
	pthread_cond_t fresh;		/* signalled when gen moves */
	int want[2];			/* a request waits for this format */
	char *text[2];			/* latest texts by enum stats_format */
	uint64_t gen[2];		/* texts handed over so far, by format */
};

/*
 * Listens on listen ("HOST:PORT", "[V6ADDR]:PORT", or a Unix socket path
 * starting with '/') and serves /metrics; listen NULL leaves h off.  env
 * is the control thread's, used by http_tick only.  Control thread.
 * Returns 0, or -1 with the reason in err.
 */
int http_init(struct http *h, const char *listen, struct command_env *env,
    char *err, size_t errlen);

/*
 * Makes the texts that requests wait for, if any.  Called by the control
 * thread's tick (every 1 to 10 ms); cheap when nobody asked.
 */
void http_tick(struct http *h);

/* Stops the server and frees h.  Control thread. */
void http_done(struct http *h);

#endif /* TP_HTTP_H */
