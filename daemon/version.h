/*
 * tidepool's version: the one place it is written.  The three programs
 * print it for --version (GNU style: "PROGRAM (tidepool) VERSION"); a
 * release changes this line and nothing else.
 */
#ifndef TP_VERSION_H
#define TP_VERSION_H

#define TIDEPOOL_VERSION "0.1.0"

#endif /* TP_VERSION_H */
