/*
 * Audio formats by the names sox users type: a type ("wav", "flac", "raw",
 * as sox's -t), an encoding ("signed-integer", as sox's -e) and a sample
 * width in bits (as sox's -b), turned into libsndfile's format codes.
 * Pure look-ups: any thread but the audio callback.
 */
#ifndef TP_SFFORMAT_H
#define TP_SFFORMAT_H

#include <stddef.h>

/* Sample encodings, sox's names in comments. */
enum sfformat_encoding {
	SFFORMAT_ENC_ANY,	/* not given */
	SFFORMAT_ENC_SIGNED,	/* signed-integer */
	SFFORMAT_ENC_UNSIGNED,	/* unsigned-integer */
	SFFORMAT_ENC_FLOAT,	/* floating-point */
	SFFORMAT_ENC_ALAW,	/* a-law */
	SFFORMAT_ENC_ULAW	/* u-law (or mu-law) */
};

/*
 * libsndfile's major format for a type name (a file extension as well:
 * "wav", "flac", "ogg", "aiff", "au", "raw", "mp3" ...), or 0.
 */
int sfformat_type(const char *name);

/* The encoding sox spells name (or its first letter, as sox -e takes);
   -1 if none. */
int sfformat_encoding(const char *name);

/*
 * The full libsndfile format (major | subtype) for major with the given
 * bits (0: not given) and encoding (SFFORMAT_ENC_ANY: not given), checked
 * with sf_format_check for channels at rate.  Returns it, or 0 with a
 * message saying what the type takes.
 */
int sfformat_pick(int major, unsigned bits, enum sfformat_encoding enc,
    int rate, int channels, char *err, size_t errlen);

/* Bits of an integer PCM subtype (8, 16, 24, 32), 0 for any other. */
unsigned sfformat_int_bits(int format);

#endif /* TP_SFFORMAT_H */
