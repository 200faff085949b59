/*
 * Parsing control requests.  A request is one line of words separated by
 * blanks; play and record take the rest of the line as a file name, so
 * names with spaces work without quoting.  A request is UTF-8 text, so
 * file names may be in any script; control characters (bar tabs) and
 * bytes that are not UTF-8 are refused, so a client sending binary gets a
 * plain error.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proto.h"

static const struct {
	const char *name;
	const char *help;
} commands[PROTO_NCMDS] = {
	[PROTO_STATUS] = { "status", "status: state, device, source, load "
	    "and xruns in one object" },
	[PROTO_STATS] = { "stats", "stats: every statistic (timings, xruns, "
	    "pool, stages, meters, episodes)" },
	[PROTO_STATS_RESET] = { "stats reset", "stats reset: start the "
	    "statistics afresh" },
	[PROTO_SET] = { "set", "set STAGE.PARAM VALUE: change a parameter "
	    "live (smoothed)" },
	[PROTO_GET] = { "get", "get STAGE.PARAM | get STAGE: current "
	    "values" },
	[PROTO_CHAIN] = { "chain", "chain: the stages, their types and "
	    "parameters" },
	[PROTO_RELOAD] = { "reload", "reload: re-read the config and swap "
	    "the chain in with a crossfade" },
	[PROTO_PLAY] = { "play", "play [--once] FILE: play FILE through the "
	    "chain (looping unless --once)" },
	[PROTO_STOP] = { "stop", "stop: stop playing; back to the "
	    "configured input" },
	[PROTO_RECORD] = { "record", "record [--overwrite] FILE: record the "
	    "processed output to FILE, a new file unless --overwrite" },
	[PROTO_RECORD_STOP] = { "record stop", "record stop: finish the "
	    "recording (replies once the file is complete)" },
	[PROTO_METRICS] = { "metrics", "metrics: Prometheus text format, "
	    "ended by a line '# EOF'" },
	[PROTO_HELP] = { "help", "help: this list" },
};

const char *
proto_cmd_name(enum proto_cmd cmd)
{
	return (unsigned)cmd < PROTO_NCMDS ? commands[cmd].name : "?";
}

const char *
proto_help(enum proto_cmd cmd)
{
	return (unsigned)cmd < PROTO_NCMDS ? commands[cmd].help : "?";
}

/* Copies the next blank-separated word; returns its length (0: none). */
static size_t
next_word(const char **p, const char *end, char *buf, size_t buflen)
{
	const char *s = *p, *w;
	size_t n;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	n = (size_t)(s - w);
	*p = s;
	if (n == 0 || n >= buflen)
		return n;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return n;
}

/* The rest of the line, blanks trimmed at both ends. */
static size_t
rest_of_line(const char *p, const char *end, char *buf, size_t buflen)
{
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if (n >= buflen)
		return n;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

static int
parse_target(const char *word, struct proto_req *req, int need_param,
    char *err, size_t errlen)
{
	const char *dot = strchr(word, '.');
	size_t n = dot ? (size_t)(dot - word) : strlen(word);

	if (n == 0 || n >= sizeof(req->stage) || (dot == NULL && need_param) ||
	    (dot != NULL && (dot[1] == '\0' ||
	    strlen(dot + 1) >= sizeof(req->param)))) {
		snprintf(err, errlen, "'%.64s': expected STAGE.PARAM, e.g. "
		    "vol.gain", word);
		return -1;
	}
	memcpy(req->stage, word, n);
	req->stage[n] = '\0';
	req->param[0] = '\0';
	if (dot != NULL)
		snprintf(req->param, sizeof(req->param), "%s", dot + 1);
	return 0;
}

/*
 * The length of the UTF-8 sequence at s (n bytes left), or 0 if it is not
 * one: a stray continuation byte, a truncated sequence, an overlong form,
 * a surrogate or a code point above U+10FFFF (RFC 3629).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* 0 if every byte is UTF-8 text without control characters (tab aside). */
static int
check_text(const char *line, size_t len, char *err, size_t errlen)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		unsigned char c = (unsigned char)line[i];

		n = utf8_len((const unsigned char *)line + i, len - i);
		if (n == 0 || (c != '\t' && (c < 0x20 || c == 0x7f))) {
			snprintf(err, errlen, "byte %zu is 0x%02x: requests "
			    "are UTF-8 text without control characters; try "
			    "'help'", i + 1, c);
			return -1;
		}
	}
	return 0;
}

/*
 * The parsers of the commands with arguments, after the verb: each
 * returns 0 (parsed; nothing may follow), 1 (parsed to the end of the
 * line) or -1 with err.
 */
static int
parse_stats(const char **p, const char *end, struct proto_req *req,
    char *err, size_t errlen)
{
	char word[128];
	size_t n = next_word(p, end, word, sizeof(word));

	if (n == 0)
		req->cmd = PROTO_STATS;
	else if (n < sizeof(word) && strcmp(word, "reset") == 0)
		req->cmd = PROTO_STATS_RESET;
	else {
		snprintf(err, errlen, "usage: stats | stats reset");
		return -1;
	}
	return 0;
}

/* Skips blanks and then the option opt if it is there; 1 if it was. */
static int
option(const char **pp, const char *end, const char *opt)
{
	const char *p = *pp;
	size_t n = strlen(opt);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*pp = p;
	if ((size_t)(end - p) < n || strncmp(p, opt, n) != 0 ||
	    (end - p != (ptrdiff_t)n && p[n] != ' ' && p[n] != '\t'))
		return 0;
	*pp = p + n;
	return 1;
}

static int
parse_record(const char **pp, const char *end, struct proto_req *req,
    char *err, size_t errlen)
{
	const char *p = *pp;

	req->overwrite = option(&p, end, "--overwrite");
	if (rest_of_line(p, end, req->path, sizeof(req->path)) == 0) {
		snprintf(err, errlen, "usage: record [--overwrite] FILE | "
		    "record stop");
		return -1;
	}
	/* "record --overwrite stop" is a file named stop. */
	req->cmd = strcmp(req->path, "stop") == 0 && !req->overwrite ?
	    PROTO_RECORD_STOP : PROTO_RECORD;
	if (req->cmd == PROTO_RECORD_STOP)
		req->path[0] = '\0';
	return 1;
}

static int
parse_play(const char **pp, const char *end, struct proto_req *req,
    char *err, size_t errlen)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) >= 6 && strncmp(p, "--once", 6) == 0 &&
	    (end - p == 6 || p[6] == ' ' || p[6] == '\t')) {
		req->once = 1;
		p += 6;
	}
	if (rest_of_line(p, end, req->path, sizeof(req->path)) == 0) {
		snprintf(err, errlen, "usage: play [--once] FILE");
		return -1;
	}
	req->cmd = PROTO_PLAY;
	return 1;
}

static int
parse_set(const char **p, const char *end, struct proto_req *req,
    char *err, size_t errlen)
{
	char word[128], *num_end;
	size_t n = next_word(p, end, word, sizeof(word));

	if (n == 0 || n >= sizeof(word)) {
		snprintf(err, errlen, "usage: set STAGE.PARAM VALUE");
		return -1;
	}
	if (parse_target(word, req, 1, err, errlen) != 0)
		return -1;
	n = next_word(p, end, word, sizeof(word));
	if (n == 0 || n >= sizeof(word)) {
		snprintf(err, errlen, "usage: set STAGE.PARAM VALUE");
		return -1;
	}
	req->value = strtod(word, &num_end);
	if (*num_end != '\0' || !isfinite(req->value)) {
		snprintf(err, errlen, "'%s' is not a number", word);
		return -1;
	}
	req->cmd = PROTO_SET;
	return 0;
}

static int
parse_get(const char **p, const char *end, struct proto_req *req,
    char *err, size_t errlen)
{
	char word[128];
	size_t n = next_word(p, end, word, sizeof(word));

	if (n == 0 || n >= sizeof(word)) {
		snprintf(err, errlen, "usage: get STAGE.PARAM | get STAGE");
		return -1;
	}
	if (parse_target(word, req, 0, err, errlen) != 0)
		return -1;
	req->cmd = PROTO_GET;
	return 0;
}

/* A command without arguments, by its one-word name. */
static int
parse_plain(const char *verb, struct proto_req *req, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < PROTO_NCMDS; i++)
		if (strchr(commands[i].name, ' ') == NULL &&
		    strcmp(verb, commands[i].name) == 0)
			break;
	if (i == PROTO_NCMDS || i == PROTO_SET || i == PROTO_GET) {
		snprintf(err, errlen, "unknown command '%s'; try 'help'",
		    verb);
		return -1;
	}
	req->cmd = (enum proto_cmd)i;
	return 0;
}

int
proto_parse(const char *line, size_t len, struct proto_req *req, char *err,
    size_t errlen)
{
	const char *p = line, *end = line + len;
	char verb[32], extra[8];
	size_t n;
	int rc;

	memset(req, 0, sizeof(*req));
	if (len > 0 && line[len - 1] == '\r')
		end--;	/* telnet and some socat settings send CRLF */
	if (check_text(line, (size_t)(end - line), err, errlen) != 0)
		return -1;
	n = next_word(&p, end, verb, sizeof(verb));
	if (n == 0) {
		snprintf(err, errlen, "empty request; try 'help'");
		return -1;
	}
	if (n >= sizeof(verb)) {
		snprintf(err, errlen, "unknown command; try 'help'");
		return -1;
	}
	if (strcmp(verb, "stats") == 0)
		rc = parse_stats(&p, end, req, err, errlen);
	else if (strcmp(verb, "record") == 0)
		rc = parse_record(&p, end, req, err, errlen);
	else if (strcmp(verb, "play") == 0)
		rc = parse_play(&p, end, req, err, errlen);
	else if (strcmp(verb, "set") == 0)
		rc = parse_set(&p, end, req, err, errlen);
	else if (strcmp(verb, "get") == 0)
		rc = parse_get(&p, end, req, err, errlen);
	else
		rc = parse_plain(verb, req, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (next_word(&p, end, extra, sizeof(extra)) != 0) {
		snprintf(err, errlen, "%s takes no more arguments; try 'help'",
		    proto_cmd_name(req->cmd));
		return -1;
	}
	return 0;
}
