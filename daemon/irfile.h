/*
 * Impulse responses for the convolver: read whole from any file libsndfile
 * reads, checked, and resampled to the engine's rate with soxr when the
 * file's rate differs.
 */
#ifndef TP_IRFILE_H
#define TP_IRFILE_H

#include <stddef.h>

/* An IR in memory: frames x channels floats, interleaved. */
struct irfile {
	float *data;		/* from malloc; irfile_free() frees it */
	unsigned frames;	/* per channel, at the rate asked for */
	unsigned channels;
	double file_rate;	/* the file's own rate */
	int resampled;		/* 1 if file_rate was not the rate asked */
};

/*
 * Reads the IR at path for audio at rate.  At another rate it is
 * resampled (soxr, very high quality) and scaled by file_rate / rate, so
 * that the filter's gain stays what it was.  Refused: a file that cannot
 * be opened or read, one with no frames, more than max_channels
 * channels, more than max_frames frames (after resampling), or a sample
 * that is not a finite number.  Returns 0, or -1 with a message in err
 * that names the file and the problem (and, for a bad sample, where it
 * is).  Control thread (it allocates and reads a file).
 */
int irfile_load(struct irfile *ir, const char *path, double rate,
    unsigned max_channels, unsigned max_frames, char *err, size_t errlen);

/* Frees what irfile_load() allocated; ir may hold nothing.  Control
   thread. */
void irfile_free(struct irfile *ir);

#endif /* TP_IRFILE_H */
