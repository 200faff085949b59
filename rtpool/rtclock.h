/*
 * The clock every timestamp in tidepool comes from.
 */
#ifndef TP_RTCLOCK_H
#define TP_RTCLOCK_H

#include <stdint.h>

#include "rtpool/realtime.h"

/*
 * Nanoseconds of CLOCK_MONOTONIC: never jumps with the wall clock, not
 * comparable across boots.  Read through the vDSO, without a system call
 * on Linux x86-64, so the audio callback may call it (RealtimeSanitizer
 * agrees).  Any thread.
 */
uint64_t rtclock_ns(void) TP_REALTIME;

#endif /* TP_RTCLOCK_H */
