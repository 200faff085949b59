#include <stdio.h>

#include "daemon/watchdog.h"

void
watchdog_init(struct watchdog *w, uint64_t every_ns, uint64_t now_ns)
{
	w->every_ns = every_ns;
	w->next_ns = now_ns + every_ns;
	w->since_ns = now_ns;
	w->since_frames = 0;
	w->pinged = 0;
	w->withholding = 0;
}

int
watchdog_due(const struct watchdog *w, uint64_t now_ns)
{
	return w->every_ns != 0 && now_ns >= w->next_ns;
}

/* Why the daemon is not healthy at this check, in why; 0 if it is. */
static int
unhealthy(const struct watchdog *w, uint64_t now_ns,
    const struct watchdog_view *v, char *why, size_t whylen)
{
	double secs = (double)(now_ns - w->since_ns) / 1e9;
	double expected = secs * v->rate;
	uint64_t got;

	if (!v->alive) {
		snprintf(why, whylen, "no audio callback lately");
		return 1;
	}
	if (v->pool_free == 0) {
		snprintf(why, whylen, "the block pool has no free block "
		    "([pool] blocks)");
		return 1;
	}
	/* A counter that went back (the engine was made anew) starts a new
	   window rather than reading as a loss. */
	if (v->frames < w->since_frames || now_ns <= w->since_ns)
		return 0;
	got = v->frames - w->since_frames;
	if ((double)got * 2 < expected) {
		snprintf(why, whylen, "%llu of %.0f frames delivered in the "
		    "last %.1f s (the server skipped the rest)",
		    (unsigned long long)got, expected, secs);
		return 1;
	}
	return 0;
}

int
watchdog_check(struct watchdog *w, uint64_t now_ns,
    const struct watchdog_view *v, char *news, size_t newslen)
{
	char why[160];
	int bad = unhealthy(w, now_ns, v, why, sizeof(why));

	news[0] = '\0';
	if (bad && w->pinged && !w->withholding)
		snprintf(news, newslen, "WATCHDOG=1 withheld: %s", why);
	else if (!bad && w->withholding)
		snprintf(news, newslen, "WATCHDOG=1 sent again");
	if (!bad)
		w->pinged = 1;
	w->withholding = bad && w->pinged;
	w->since_ns = now_ns;
	w->since_frames = v->frames;
	w->next_ns = now_ns + w->every_ns;
	return !bad;
}
