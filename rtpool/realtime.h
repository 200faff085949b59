/*
 * The real-time marker.
 *
 * TP_REALTIME goes after the parameter list of every function the audio
 * callback may reach:
 *
 *	void rtchan_push_spsc(struct rtchan *c, void *p) TP_REALTIME;
 *
 * Under clang >= 20 it is __attribute__((nonblocking)): the compiler checks
 * what such a function calls, and a -fsanitize=realtime build aborts on any
 * malloc, free, lock, sleep or blocking system call made inside it.  Under
 * other compilers it is empty.  This is the one header every layer may
 * include for it; it declares nothing else.
 */
#ifndef TP_REALTIME_H
#define TP_REALTIME_H

#if defined(__clang__) && defined(__clang_major__)
#if __clang_major__ >= 20
#define TP_REALTIME __attribute__((nonblocking))
#endif
#endif
#ifndef TP_REALTIME
#define TP_REALTIME
#endif

#endif /* TP_REALTIME_H */
