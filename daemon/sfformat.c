/*
 * Format names as sox spells them, mapped onto libsndfile's codes.  The
 * type table is libsndfile's own (its extensions), so any container it
 * writes has a name here; only the few names people use that libsndfile
 * spells otherwise are listed.
 */
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/sfformat.h"

int
sfformat_type(const char *name)
{
	static const struct {
		const char *name;
		int major;
	} aliases[] = {
		{ "aif", SF_FORMAT_AIFF }, { "ogg", SF_FORMAT_OGG },
		{ "vorbis", SF_FORMAT_OGG }, { "opus", SF_FORMAT_OGG },
		{ "oga", SF_FORMAT_OGG }, { "mp3", SF_FORMAT_MPEG },
		{ "snd", SF_FORMAT_AU }, { "wave", SF_FORMAT_WAV },
	};
	SF_FORMAT_INFO fi;
	size_t i;
	int n = 0, k;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].name) == 0)
			return aliases[i].major;
	sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof(n));
	for (k = 0; k < n; k++) {
		fi.format = k;
		if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi,
		    sizeof(fi)) != 0)
			continue;
		if (fi.extension != NULL && strcasecmp(fi.extension, name) == 0)
			return fi.format;
	}
	return 0;
}

int
sfformat_encoding(const char *name)
{
	static const struct {
		const char *name;
		enum sfformat_encoding enc;
	} names[] = {
		{ "signed-integer", SFFORMAT_ENC_SIGNED },
		{ "unsigned-integer", SFFORMAT_ENC_UNSIGNED },
		{ "floating-point", SFFORMAT_ENC_FLOAT },
		{ "a-law", SFFORMAT_ENC_ALAW },
		{ "u-law", SFFORMAT_ENC_ULAW },
		{ "mu-law", SFFORMAT_ENC_ULAW },
	};
	size_t i, len = strlen(name);

	/* sox takes any unambiguous prefix; these start differently
	   except u-law and unsigned-integer, which "u" alone cannot tell. */
	if (len == 0 || strcasecmp(name, "u") == 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncasecmp(name, names[i].name, len) == 0)
			return (int)names[i].enc;
	return -1;
}

/* The subtype for bits and enc, or 0 when they make none. */
static int
subtype(unsigned bits, enum sfformat_encoding enc)
{
	switch (enc) {
	case SFFORMAT_ENC_ANY:
	case SFFORMAT_ENC_SIGNED:
		return bits == 8 ? SF_FORMAT_PCM_S8 : bits == 16 ?
		    SF_FORMAT_PCM_16 : bits == 24 ? SF_FORMAT_PCM_24 :
		    bits == 32 ? SF_FORMAT_PCM_32 : 0;
	case SFFORMAT_ENC_UNSIGNED:
		return bits == 8 ? SF_FORMAT_PCM_U8 : 0;
	case SFFORMAT_ENC_FLOAT:
		return bits == 32 ? SF_FORMAT_FLOAT : bits == 64 ?
		    SF_FORMAT_DOUBLE : 0;
	case SFFORMAT_ENC_ALAW:
		return bits == 8 ? SF_FORMAT_ALAW : 0;
	case SFFORMAT_ENC_ULAW:
		return bits == 8 ? SF_FORMAT_ULAW : 0;
	}
	return 0;
}

/* The width an encoding has when no -b is given. */
static unsigned
default_bits(enum sfformat_encoding enc)
{
	switch (enc) {
	case SFFORMAT_ENC_FLOAT:
		return 32;
	case SFFORMAT_ENC_SIGNED:
		return 16;
	case SFFORMAT_ENC_UNSIGNED:
	case SFFORMAT_ENC_ALAW:
	case SFFORMAT_ENC_ULAW:
		return 8;
	case SFFORMAT_ENC_ANY:
		break;
	}
	return 0;
}

/* With neither bits nor an encoding: the best the container takes. */
static int
best(int major, SF_INFO *si)
{
	static const int subtypes[] = {
		SF_FORMAT_FLOAT, SF_FORMAT_PCM_24, SF_FORMAT_VORBIS,
		SF_FORMAT_MPEG_LAYER_III, SF_FORMAT_PCM_16
	};
	size_t i;

	for (i = 0; i < sizeof(subtypes) / sizeof(subtypes[0]); i++) {
		si->format = major | subtypes[i];
		if (sf_format_check(si))
			return si->format;
	}
	return 0;
}

int
sfformat_pick(int major, unsigned bits, enum sfformat_encoding enc,
    int rate, int channels, char *err, size_t errlen)
{
	SF_INFO si;
	int sub;

	memset(&si, 0, sizeof(si));
	si.samplerate = rate;
	si.channels = channels;
	if (bits == 0 && enc == SFFORMAT_ENC_ANY) {
		if (best(major, &si) != 0)
			return si.format;
		snprintf(err, errlen, "libsndfile cannot write this type for "
		    "%d channels at %d Hz", channels, rate);
		return 0;
	}
	if (bits == 0)
		bits = default_bits(enc);
	sub = subtype(bits, enc);
	/* sox's 8-bit WAV is unsigned: take what the container has. */
	if (sub == SF_FORMAT_PCM_S8 && enc == SFFORMAT_ENC_ANY) {
		si.format = major | sub;
		if (!sf_format_check(&si))
			sub = SF_FORMAT_PCM_U8;
	}
	si.format = major | sub;
	if (sub == 0 || !sf_format_check(&si)) {
		snprintf(err, errlen, "this type cannot hold %u-bit%s samples "
		    "(for %d channels at %d Hz)", bits,
		    enc == SFFORMAT_ENC_FLOAT ? " float" :
		    enc == SFFORMAT_ENC_UNSIGNED ? " unsigned" :
		    enc == SFFORMAT_ENC_ALAW ? " A-law" :
		    enc == SFFORMAT_ENC_ULAW ? " u-law" : "", channels, rate);
		return 0;
	}
	return si.format;
}

unsigned
sfformat_int_bits(int format)
{
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
		return 8;
	case SF_FORMAT_PCM_16:
		return 16;
	case SF_FORMAT_PCM_24:
		return 24;
	case SF_FORMAT_PCM_32:
		return 32;
	}
	return 0;
}
