/*
 * Telling ThreadSanitizer about the hand-overs it cannot see.
 *
 * ck's atomics and fences are inline assembly, invisible to
 * ThreadSanitizer, so a block written by one thread, put in a channel or
 * the pool, and read by another looks to it like a data race.  The rtpool
 * layer therefore marks each hand-over itself: RTTSAN_RELEASE(item) where
 * an item is published (before the push or put), RTTSAN_ACQUIRE(item)
 * where it is received (after the pop or get).  The item's address is the
 * synchronisation object, so only the thread that receives that item is
 * ordered after the one that published it, as the real fences do.  With
 * these, a -fsanitize=thread build of the daemon checks the code around
 * the pools and channels instead of reporting the channels themselves.
 * Outside a ThreadSanitizer build both are empty.  Internal to rtpool/.
 */
#ifndef TP_RTTSAN_H
#define TP_RTTSAN_H

#if defined(__SANITIZE_THREAD__)
#define RTTSAN_ENABLED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RTTSAN_ENABLED 1
#endif
#endif

#ifdef RTTSAN_ENABLED
#include <sanitizer/tsan_interface.h>
#define RTTSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define RTTSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define RTTSAN_RELEASE(addr) ((void)(addr))
#define RTTSAN_ACQUIRE(addr) ((void)(addr))
#endif

#endif /* TP_RTTSAN_H */
