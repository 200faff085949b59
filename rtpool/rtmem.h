/*
 * Memory for the real-time side: one mapping per object, locked into RAM
 * and touched before anyone relies on it, so that the audio callback never
 * takes a page fault in it.  The block pool and the channels get their
 * storage here; nothing else in tidepool needs it directly.
 */
#ifndef TP_RTMEM_H
#define TP_RTMEM_H

#include <stddef.h>

/*
 * Maps at least `bytes` bytes of zeroed memory, page aligned, mlock()s it and
 * writes to every page.  A refused mlock (RLIMIT_MEMLOCK, no CAP_IPC_LOCK) is
 * not an error: the memory is still returned and prefaulted, *locked is set
 * to 0, rtmem_refusals() goes up by one, and the first refusal in the
 * process prints one warning line on stderr (later ones are only counted, so
 * a daemon with many pools and rings does not flood its log).  On success
 * *locked is 1.  *mapped receives the length actually mapped, to give back
 * to rtmem_free().
 * Control thread, at start-up: it makes system calls.
 * Returns the memory, or NULL if it cannot be mapped (errno is kept).
 */
void *rtmem_alloc(size_t bytes, size_t *mapped, int *locked);

/*
 * Unmaps what rtmem_alloc() returned; mem may be NULL.  Control thread.
 */
void rtmem_free(void *mem, size_t mapped);

/*
 * How many times rtmem_alloc() found mlock() refused in this process.
 * Any thread.
 */
unsigned rtmem_refusals(void);

#endif /* TP_RTMEM_H */
