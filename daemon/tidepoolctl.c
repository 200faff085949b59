/*
 * tidepoolctl: talks to tidepoold over its control socket.
 *
 *   tidepoolctl [-s SOCKET] [--json] COMMAND [ARGS]
 *   tidepoolctl [-s SOCKET] stats --watch [-n SECONDS]
 *
 * It sends COMMAND and its arguments as one request line and shows the
 * reply: as readable tables by default, as the daemon's JSON line with
 * --json.  Exit status: 0 when the daemon said ok, 1 when it refused or
 * could not be reached, 2 for usage.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/version.h"

#define MAX_REPLY (4 << 20)

static const char *sock_path;
static double reply_timeout = 10.0;	/* -t: seconds to wait for a reply */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tidepoolctl [-s SOCKET] [-t SECONDS] [--json] COMMAND "
	    "[ARGS]\n"
	    "       tidepoolctl [-s SOCKET] stats --watch [-n SECONDS]\n"
	    "  -s SOCKET  the daemon's socket (default $TIDEPOOL_SOCKET or "
	    "%s)\n"
	    "  -t SECONDS how long to wait for a reply (default 10)\n"
	    "  --json     print the daemon's JSON reply as it is\n"
	    "  -h, --help     this text;  --version  tidepool's version\n"
	    "commands: status, stats, stats reset, set STAGE.PARAM VALUE, "
	    "get STAGE[.PARAM],\n"
	    "  chain, reload, play [--once] FILE, stop, record [--overwrite] "
	    "FILE,\n  record stop, metrics, help\n", CONFIG_DEFAULT_SOCKET);
}

static int
connect_daemon(void)
{
	struct sockaddr_un sa;
	struct timeval tv;
	int fd;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tidepoolctl: %s: path too long\n", sock_path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "tidepoolctl: cannot connect to %s: %s (is "
		    "tidepoold running? -s picks another socket)\n",
		    sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* A daemon that never answers must not hang a script. */
	tv.tv_sec = (time_t)reply_timeout;
	tv.tv_usec = (suseconds_t)((reply_timeout - (double)tv.tv_sec) * 1e6);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * Sends one request; reads one reply line, or for metrics everything up to
 * "# EOF".  Returns a malloc'd reply without its last newline, or NULL.
 */
static char *
request(int fd, const char *line, int multiline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (buf == NULL)
		return NULL;
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "tidepoolctl: sending: %s\n", strerror(errno));
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= MAX_REPLY)
				break;
			nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "tidepoolctl: no reply from %s within "
			    "%g s (-t waits longer)\n", sock_path,
			    reply_timeout);
			free(buf);
			return NULL;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!multiline && memchr(buf, '\n', len) != NULL)
			break;
		if (multiline && (strstr(buf, "# EOF\n") != NULL ||
		    (len > 0 && buf[0] == '{' && memchr(buf, '\n', len))))
			break;
	}
	if (len == 0) {
		fprintf(stderr, "tidepoolctl: the daemon closed the connection "
		    "without a reply\n");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	if (!multiline) {
		char *nl = strchr(buf, '\n');

		if (nl != NULL)
			*nl = '\0';
	}
	return buf;
}

/* ---- readable output -------------------------------------------------- */

static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *
obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* p50 p90 p99 p99.9 max mean on one row. */
static void
percentile_row(const char *label, const cJSON *s, double scale,
    const char *fmt)
{
	static const char *keys[] = { "p50", "p90", "p99", "p999", "max",
	    "mean" };
	size_t i;

	printf("  %-16s", label);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf(fmt, num(s, keys[i]) * scale);
	printf("\n");
}

static void
print_hist(const cJSON *h, int width)
{
	const cJSON *edges = obj(h, "edges_us"), *counts = obj(h, "counts");
	double maxc = 0, c;
	int i, n = cJSON_GetArraySize(counts), bar;

	for (i = 0; i < n; i++) {
		c = cJSON_GetArrayItem(counts, i)->valuedouble;
		if (c > maxc)
			maxc = c;
	}
	if (maxc == 0) {
		printf("  (no callbacks yet)\n");
		return;
	}
	for (i = 0; i < n; i++) {
		c = cJSON_GetArrayItem(counts, i)->valuedouble;
		/* Log scale: a single slow callback must still show. */
		bar = c > 0 ? 1 + (int)((width - 1) * log1p(c) / log1p(maxc)) :
		    0;
		printf("  %8.1f-%-8.1f us %10.0f |%.*s\n",
		    cJSON_GetArrayItem(edges, i)->valuedouble,
		    cJSON_GetArrayItem(edges, i + 1)->valuedouble, c, bar,
		    "################################################"
		    "################################################");
	}
}

/* stats, second half: stages, meters, episodes, the histogram. */
static void
print_stats_detail(const cJSON *r)
{
	const cJSON *x, *a, *e;
	int i, n;

	a = obj(r, "stages");
	if (cJSON_GetArraySize(a) > 0) {
		printf("\n  %-12s %-10s%10s%10s%10s%10s\n", "stage", "type",
		    "p50 us", "p99 us", "max us", "p99 %");
		cJSON_ArrayForEach(e, a)
			printf("  %-12s %-10s%10.2f%10.2f%10.2f%10.3f\n",
			    str(e, "name"), str(e, "type"),
			    num(obj(e, "us"), "p50"), num(obj(e, "us"), "p99"),
			    num(obj(e, "us"), "max"),
			    100 * num(obj(e, "load"), "p99"));
	}
	x = obj(r, "meters");
	n = cJSON_GetArraySize(obj(x, "peak_dbfs"));
	if (n > 0) {
		printf("\n  %-8s%10s%10s%10s\n", "channel", "peak dB", "rms dB",
		    "clipped");
		for (i = 0; i < n; i++)
			printf("  %-8d%10.1f%10.1f%10.0f\n", i,
			    cJSON_GetArrayItem(obj(x, "peak_dbfs"), i)->
			    valuedouble, cJSON_GetArrayItem(obj(x,
			    "rms_dbfs"), i)->valuedouble, cJSON_GetArrayItem(
			    obj(x, "clipped"), i)->valuedouble);
		printf("  non-finite samples replaced by 0: %.0f\n",
		    num(x, "nonfinite"));
	}
	a = obj(r, "episodes");
	printf("\nunderrun episodes: %.0f", num(r, "episodes_total"));
	if (cJSON_GetArraySize(a) > 0)
		printf(" (latest last)");
	printf("\n");
	cJSON_ArrayForEach(e, a) {
		const cJSON *c;

		printf("  %8.1f s ago, %4.0f callbacks (%.1f ms), load before "
		    "%.0f%%, max %.0f%%:", num(e, "ago_s"), num(e, "callbacks"),
		    num(e, "ms"), 100 * num(e, "load_before"),
		    100 * num(e, "load_max"));
		cJSON_ArrayForEach(c, obj(e, "causes"))
			printf(" %s", c->valuestring);
		printf("\n");
	}
	printf("\ncallback time histogram:\n");
	print_hist(obj(r, "callback_hist"), 48);
}

static void
print_stats(const cJSON *r)
{
	const cJSON *x;

	printf("%s, %.0f Hz, %.0f frames (%.1f us), %.0f callbacks, "
	    "%.1f s since reset\n", str(r, "state"), num(r, "rate"),
	    num(r, "period"), num(r, "period_us"), num(r, "callbacks"),
	    num(r, "since_reset_s"));
	printf("\n  %-16s%10s%10s%10s%10s%10s%10s\n", "", "p50", "p90", "p99",
	    "p99.9", "max", "mean");
	percentile_row("callback us", obj(r, "callback_us"), 1, "%10.1f");
	percentile_row("load %", obj(r, "load"), 100, "%10.2f");
	percentile_row("interval us", obj(r, "interval_us"), 1, "%10.1f");
	x = obj(r, "messages");
	percentile_row("message us", obj(x, "latency_us"), 1, "%10.1f");

	x = obj(r, "xruns");
	printf("\nxruns %.0f: output underflow %.0f, input overflow %.0f, "
	    "late %.0f, source starved %.0f, pool exhausted %.0f, missed "
	    "%.0f (%.0f frames)\n", num(x, "total"),
	    num(x, "output_underflow"), num(x, "input_overflow"),
	    num(x, "late"), num(x, "source_starved"), num(x, "pool_exhausted"),
	    num(x, "missed"), num(x, "missed_frames"));
	printf("late partition (a convolver's worker behind) %.0f "
	    "(%.0f blocks)\n", num(x, "late_partition"),
	    num(x, "late_partitions"));
	x = obj(r, "pool");
	printf("pool: %.0f blocks of %.0f bytes, %.0f free (%.0f cached in "
	    "%.0f threads, at most %.0f), lowest %.0f, %s\n",
	    num(x, "blocks"), num(x, "block_bytes"), num(x, "free"),
	    num(x, "cached"), num(x, "threads"), num(x, "cache_bound"),
	    num(x, "min_free"), cJSON_IsTrue(obj(x, "locked")) ? "locked" :
	    "NOT locked");
	x = obj(r, "page_faults");
	printf("audio thread page faults: %.0f since start, %.0f after "
	    "warm-up\n", num(x, "callback_thread"), num(x, "after_warmup"));
	print_stats_detail(r);
}

static void
print_object(const cJSON *r, int indent)
{
	const cJSON *e;
	char *s;

	cJSON_ArrayForEach(e, r) {
		if (strcmp(e->string, "ok") == 0)
			continue;
		if (cJSON_IsObject(e)) {
			printf("%*s%s:\n", indent, "", e->string);
			print_object(e, indent + 2);
			continue;
		}
		if (cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0 &&
		    cJSON_IsObject(cJSON_GetArrayItem(e, 0))) {
			const cJSON *item;

			printf("%*s%s:\n", indent, "", e->string);
			cJSON_ArrayForEach(item, e) {
				print_object(item, indent + 2);
				printf("\n");
			}
			continue;
		}
		if (cJSON_IsArray(e) && strcmp(e->string, "commands") == 0) {
			const cJSON *item;

			cJSON_ArrayForEach(item, e)
				printf("%*s%s\n", indent, "",
				    item->valuestring);
			continue;
		}
		s = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
		printf("%*s%-16s %s\n", indent, "", e->string,
		    s ? s : e->valuestring);
		free(s);
	}
}

/* Shows a reply; returns 0 if it was ok. */
static int
show(const char *cmd, const char *reply, int json)
{
	cJSON *r;
	int ok;

	r = cJSON_Parse(reply);
	if (r == NULL) {
		fprintf(stderr, "tidepoolctl: the daemon's reply is not JSON: "
		    "%.200s\n", reply);
		return 1;
	}
	ok = cJSON_IsTrue(obj(r, "ok"));
	if (json)
		printf("%s\n", reply);
	else if (!ok)
		fprintf(stderr, "tidepoolctl: %s\n", str(r, "error"));
	else if (strcmp(cmd, "stats") == 0)
		print_stats(r);
	else if (cJSON_GetArraySize(r) == 1)
		printf("ok\n");
	else
		print_object(r, 0);
	if (json && !ok)
		fprintf(stderr, "tidepoolctl: %s\n", str(r, "error"));
	cJSON_Delete(r);
	return ok ? 0 : 1;
}

static volatile sig_atomic_t stop_watching;

static void
on_interrupt(int sig)
{
	(void)sig;
	stop_watching = 1;
}

/* A live view, redrawn in place like pw-top, until ^C. */
static int
watch(int fd, double interval)
{
	struct timespec ts;
	char *reply;
	int rc = 0;

	ts.tv_sec = (time_t)interval;
	ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	printf("\033[?25l");	/* hide the cursor while drawing */
	while (!stop_watching) {
		reply = request(fd, "stats", 0);
		if (reply == NULL) {
			rc = 1;
			break;
		}
		printf("\033[H\033[J");	/* home, clear to end */
		printf("tidepool %s  (every %.1f s, ^C to quit)\n\n", sock_path,
		    interval);
		rc = show("stats", reply, 0);
		free(reply);
		fflush(stdout);
		if (rc != 0)
			break;
		nanosleep(&ts, NULL);
	}
	printf("\033[?25h");
	return rc;
}

/* What the command line asks for. */
struct invocation {
	char line[4096];	/* the request: command and arguments */
	double interval;	/* stats --watch: seconds between redraws */
	int json;		/* --json */
	int watching;		/* stats --watch */
};

/* A number of seconds in [min, max] for option opt; 0, or -1 said why. */
static int
parse_seconds(const char *opt, const char *text, double min, double max,
    double *out)
{
	char *end;
	double v = strtod(text, &end);

	if (*end != '\0' || end == text || !(v >= min && v <= max)) {
		fprintf(stderr, "tidepoolctl: %s %s: seconds, %g to %g\n", opt,
		    text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * The options before the command.  Returns -1 to go on, else the exit
 * status (--help, --version, a usage error).
 */
static int
parse_options(int argc, char **argv, struct invocation *inv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	/* "+": options end at the command, so "play --once x" passes. */
	while ((ch = getopt_long(argc, argv, "+s:t:jn:wh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			sock_path = optarg;
			break;
		case 't':
			if (parse_seconds("-t", optarg, 0.1, 86400,
			    &reply_timeout) != 0)
				return 2;
			break;
		case 'j':
			inv->json = 1;
			break;
		case 'w':
			inv->watching = 1;
			break;
		case 'n':
			if (parse_seconds("-n", optarg, 0.1, 86400,
			    &inv->interval) != 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tidepoolctl (tidepool) %s\n", TIDEPOOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

/*
 * The command and its arguments into inv->line; flags may also follow the
 * command ("stats --watch").  Returns 0, or 2 after saying why.
 */
static int
build_request(int argc, char **argv, struct invocation *inv)
{
	size_t used = 0;
	int i;

	inv->line[0] = '\0';
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0) {
			inv->watching = 1;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			inv->json = 1;
			continue;
		}
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc &&
		    strcmp(argv[optind], "stats") == 0) {
			if (parse_seconds("-n", argv[++i], 0.1, 86400,
			    &inv->interval) != 0)
				return 2;
			continue;
		}
		if (strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "tidepoolctl: arguments cannot contain "
			    "newlines\n");
			return 2;
		}
		used += (size_t)snprintf(inv->line + used,
		    sizeof(inv->line) - used, "%s%s", used ? " " : "", argv[i]);
		if (used >= sizeof(inv->line)) {
			fprintf(stderr, "tidepoolctl: request too long\n");
			return 2;
		}
	}
	if (inv->watching && strcmp(inv->line, "stats") != 0) {
		fprintf(stderr, "tidepoolctl: --watch goes with stats\n");
		return 2;
	}
	return 0;
}

/* One request, its reply shown; the exit status. */
static int
run(const struct invocation *inv)
{
	int fd, rc, metrics = strcmp(inv->line, "metrics") == 0;
	char *reply;

	fd = connect_daemon();
	if (fd < 0)
		return 1;
	if (inv->watching) {
		rc = watch(fd, inv->interval);
		close(fd);
		return rc;
	}
	reply = request(fd, inv->line, metrics);
	close(fd);
	if (reply == NULL)
		return 1;
	if (metrics && reply[0] != '{') {
		fputs(reply, stdout);
		rc = 0;
	} else {
		/* "stats" alone gets tables; "stats reset" is a plain ok. */
		rc = show(inv->line, reply, inv->json);
	}
	free(reply);
	return rc;
}

int
main(int argc, char **argv)
{
	struct invocation inv;
	int rc;

	memset(&inv, 0, sizeof(inv));
	inv.interval = 1.0;
	sock_path = getenv("TIDEPOOL_SOCKET");
	if (sock_path == NULL || sock_path[0] == '\0')
		sock_path = CONFIG_DEFAULT_SOCKET;
	if ((rc = parse_options(argc, argv, &inv)) >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = build_request(argc, argv, &inv)) != 0)
		return rc;
	return run(&inv);
}
