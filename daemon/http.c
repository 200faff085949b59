/*
 * The metrics endpoint on libmicrohttpd (Debian's libmicrohttpd-dev): one
 * internal thread polls every connection with epoll, so an idle, half-sent
 * or never-read connection only holds one of HTTP_MAX_CONNECTIONS slots
 * until HTTP_TIMEOUT_S; a request bigger than HTTP_MEMORY is answered 431
 * by the library before it reaches us.  We bind the listening socket
 * ourselves (TCP or Unix) so that errors name the [metrics] address, and
 * hand it to the library.
 *
 * The HTTP thread and the control thread share only struct http's texts,
 * under a mutex that either side holds just long enough to swap or copy a
 * few kilobytes; the control thread only ever tries it (trylock) when it
 * looks for requests, so it never waits for the HTTP side.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/http.h"

#define CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* A Unix socket at path, or -1 with err. */
static int
listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a;
	struct stat st;
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "too long for a socket path");
		return -1;
	}
	strcpy(a.sun_path, path);
	/* A socket left by an earlier run goes; anything else stays. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "exists and is not a socket");
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* "HOST:PORT" or "[V6]:PORT", numeric or resolvable; -1 with err. */
static int
listen_tcp(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = host;
	size_t hl;
	int fd = -1, one = 1, rc;

	if (colon == NULL || colon[1] == '\0' || colon == spec) {
		snprintf(err, errlen, "want HOST:PORT or a socket path "
		    "starting with /");
		return -1;
	}
	hl = (size_t)(colon - spec);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "host too long");
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		h = host + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(h, colon + 1, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 16) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * A copy of a text made after this call, or after HTTP_FRESH_WAIT_MS the
 * last one (NULL if there is none).  The HTTP thread.
 */
static char *
fresh_copy(struct http *h, enum stats_format f, size_t *len)
{
	struct timespec until;
	uint64_t gen0;
	char *copy = NULL;
	const char *eof;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HTTP_FRESH_WAIT_MS / 1000;
	until.tv_nsec += (HTTP_FRESH_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	gen0 = h->gen[f];
	h->want[f] = 1;
	while (h->gen[f] == gen0)
		if (pthread_cond_timedwait(&h->fresh, &h->lock, &until) ==
		    ETIMEDOUT)
			break;
	if (h->text[f] != NULL) {
		*len = strlen(h->text[f]);
		/* "# EOF" ends OpenMetrics; in 0.0.4 it is a stray comment
		   that only the control socket's readers need. */
		if (f == STATS_PROMETHEUS && *len >= 6 &&
		    strcmp(eof = h->text[f] + *len - 6, "# EOF\n") == 0)
			*len = (size_t)(eof - h->text[f]);
		if ((copy = malloc(*len + 1)) != NULL) {
			memcpy(copy, h->text[f], *len);
			copy[*len] = '\0';
		}
	}
	pthread_mutex_unlock(&h->lock);
	return copy;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
    char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

#define PLAIN(conn, status, msg) reply(conn, status, "text/plain", \
	(char *)(msg), sizeof(msg) - 1, MHD_RESPMEM_PERSISTENT)

static enum MHD_Result
answer(void *arg, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	struct http *h = arg;
	const char *accept;
	enum stats_format f;
	char *text;
	size_t len = 0;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return PLAIN(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "tidepoold: GET /metrics only\n");
	if (strcmp(url, "/metrics") != 0)
		return PLAIN(conn, MHD_HTTP_NOT_FOUND,
		    "tidepoold: the metrics are at /metrics\n");
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);
	f = accept != NULL && strstr(accept, "application/openmetrics-text")
	    != NULL ? STATS_OPENMETRICS : STATS_PROMETHEUS;
	if ((text = fresh_copy(h, f, &len)) == NULL)
		return PLAIN(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "tidepoold: no metrics yet, try again\n");
	return reply(conn, MHD_HTTP_OK, f == STATS_OPENMETRICS ?
	    CT_OPENMETRICS : CT_PROMETHEUS, text, len, MHD_RESPMEM_MUST_FREE);
}

int
http_init(struct http *h, const char *listen, struct command_env *env,
    char *err, size_t errlen)
{
	pthread_condattr_t ca;
	char why[256];
	int fd;

	memset(h, 0, sizeof(*h));
	h->env = env;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->fresh, &ca);
	pthread_condattr_destroy(&ca);
	if (listen == NULL)
		return 0;
	fd = listen[0] == '/' ? listen_unix(listen, why, sizeof(why)) :
	    listen_tcp(listen, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "[metrics] listen = %s: %s", listen, why);
		return -1;
	}
	if (listen[0] == '/')
		h->unix_path = strdup(listen);
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL, 0, NULL, NULL, answer, h,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "[metrics] listen = %s: the HTTP server "
		    "does not start", listen);
		close(fd);
		http_done(h);
		return -1;
	}
	return 0;
}

void
http_tick(struct http *h)
{
	char *made[2] = { NULL, NULL }, *old;
	int want[2];
	unsigned f;

	/* Never wait for the HTTP thread: the next tick looks again. */
	if (h->mhd == NULL || pthread_mutex_trylock(&h->lock) != 0)
		return;
	want[0] = h->want[0];
	want[1] = h->want[1];
	h->want[0] = h->want[1] = 0;
	pthread_mutex_unlock(&h->lock);
	if (!want[0] && !want[1])
		return;
	for (f = 0; f < 2; f++)
		if (want[f])
			made[f] = command_metrics(h->env, (enum stats_format)f);
	pthread_mutex_lock(&h->lock);
	for (f = 0; f < 2; f++)
		if (want[f]) {
			/* Out of memory: the waiter gets the last text. */
			if (made[f] != NULL) {
				old = h->text[f];
				h->text[f] = made[f];
				made[f] = old;
			}
			h->gen[f]++;
		}
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
	free(made[0]);
	free(made[1]);
}

void
http_done(struct http *h)
{
	/* A request waiting for a text gets the last one now: stopping
	   must not wait HTTP_FRESH_WAIT_MS for it (SIGTERM has 2 s). */
	pthread_mutex_lock(&h->lock);
	h->gen[0]++;
	h->gen[1]++;
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	if (h->unix_path != NULL)
		unlink(h->unix_path);
	free(h->unix_path);
	free(h->text[0]);
	free(h->text[1]);
	pthread_cond_destroy(&h->fresh);
	pthread_mutex_destroy(&h->lock);
	memset(h, 0, sizeof(*h));
}
