/*
 * Offline rendering of one file through the same engine, pool and rings the
 * daemon runs live: a reader thread decodes into pool blocks, the engine
 * processes them as the callback would, a writer thread encodes.
 */
#ifndef TP_RENDER_H
#define TP_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "rtpool/rthist.h"

struct sfin;
struct sfin_spec;
struct sfout_spec;

struct render_opts {
	const struct config *cfg;
	unsigned block_frames;	/* frames the engine processes at a time */
	int progress;		/* draw progress on stderr */
	/* Where the temporary output's name is published (ck_pr_store_ptr)
	   while it exists, so a signal handler can remove it; may be NULL.
	   Atomic rather than volatile: the handler may run on any thread. */
	const char **temp_slot;
	/* Non-zero: give up.  Read with ck_pr_load_int, since it is set (by
	   a signal handler) on another thread than the ones reading it. */
	const int *interrupted;
	/*
	 * Opens the input named in for render_file, to read at most
	 * max_frames at a time (sfin_open's contract, keeping the file's rate
	 * and channels); NULL means sfin_open itself.  A seam for reading
	 * other than from a file by that name: the fuzz target feeds its
	 * bytes through sfin_open_virtual.
	 */
	struct sfin *(*open_input)(void *arg, const char *in,
	    unsigned max_frames, char *err, size_t errlen);
	void *open_arg;		/* for open_input */
	/* The input's format when it has no header (raw); NULL: it says. */
	const struct sfin_spec *in_spec;
	/* The output's format and sample width; NULL: from the extension. */
	const struct sfout_spec *out_spec;
	/* Resample the input to this rate first; 0: keep the input's. */
	double out_rate;
	/* The chain must give this many channels; 0: whatever it gives. */
	unsigned out_channels;
	/* Convolvers partitioned as tidepoold does (zero latency, slower);
	   0: as large as the IR suits, their latency removed (see
	   render.c).  The outputs differ by rounding only. */
	int live_partitions;
};

struct render_result {
	uint64_t frames;	/* written: the input's length */
	int64_t promised;	/* the input's header said; -1: nothing */
	int estimated;		/* promised was an estimate (MP3) */
	double rate;
	unsigned channels, out_channels;
	char in_format[64];
	double wall_s;
	float peak;		/* linear, over all output channels */
	uint64_t clipped;	/* output samples with |x| >= 1 */
	/* engine time per block, scaled to a 64-frame period, in ns */
	struct rthist_summary per64;
	double budget64_ns;	/* a 64-frame period at this rate */
	uint64_t late;		/* output blocks a convolver level had no
				   result for: always 0 (render_file fails
				   otherwise) */
	uint64_t helper_jobs;	/* background jobs run on the second
				   thread; 0: all inline */
	uint64_t due_jobs;	/* of the rest, run by the engine thread
				   when due, the helper not yet on them */
	unsigned hidden;	/* frames of convolver latency removed */
};

/*
 * Renders in to out (format from out's extension or o->out_spec; "-" for
 * standard input or output).  Returns 0, or -1 with a message; on failure
 * no output file is left behind (a stream is left as far as it got).
 * Any one thread at a time; it makes and joins its own reader and writer.
 */
int render_file(const char *in, const char *out,
    const struct render_opts *o, struct render_result *r, char *err,
    size_t errlen);

#endif /* TP_RENDER_H */
