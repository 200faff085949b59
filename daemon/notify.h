/*
 * Telling systemd how the daemon is (sd_notify): READY=1, STATUS=,
 * WATCHDOG=1, RELOADING=1, STOPPING=1.  Without NOTIFY_SOCKET every call is
 * a no-op.  Control thread only.
 */
#ifndef TP_NOTIFY_H
#define TP_NOTIFY_H

#include <stdint.h>

/*
 * The watchdog interval systemd asked for, in ns; 0 if none.
 * Control thread.
 */
uint64_t notify_watchdog_ns(void);

/* Control thread. */
void notify_ready(void);
void notify_status(const char *line);
void notify_watchdog(void);
void notify_reloading(uint64_t monotonic_us);
void notify_reloaded(void);
void notify_stopping(void);

#endif /* TP_NOTIFY_H */
