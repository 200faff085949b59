/*
 * The monotonic clock in nanoseconds.  Only CLOCK_MONOTONIC: CLOCK_REALTIME
 * jumps, and CLOCK_MONOTONIC_RAW is not served by the vDSO on every kernel,
 * which would turn a timestamp in the callback into a system call.
 */
#include <time.h>

#include "rtpool/rtclock.h"

uint64_t
rtclock_ns(void)
{
	struct timespec ts;

	/*
	 * clang's -Wfunction-effects cannot know that glibc answers this
	 * from the vDSO; RealtimeSanitizer, which checks what actually
	 * happens at run time, does not object to it.
	 */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wfunction-effects"
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
