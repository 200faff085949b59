/*
 * sd_notify through libsystemd.  A thin layer, so the rest of the daemon
 * says what it means (notify_ready) rather than how systemd spells it.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "daemon/notify.h"

uint64_t
notify_watchdog_ns(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec * 1000;
}

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_status(const char *line)
{
	sd_notifyf(0, "STATUS=%s", line);
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

void
notify_reloading(uint64_t monotonic_us)
{
	/* Type=notify-reload wants the clock with RELOADING=1. */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)monotonic_us);
}

void
notify_reloaded(void)
{
	sd_notify(0, "READY=1");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
