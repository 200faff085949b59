/*
 * Audio file output through libsndfile.  The extension picks the container
 * (libsndfile's own table of formats and extensions), and the encoding is
 * the best one the container takes: 32-bit float, else 24-bit, else the
 * codec (Vorbis, Opus, MP3), else 16-bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon/sfout.h"

struct sfout {
	SNDFILE *sf;
	enum sfout_mode mode;
	char *path;		/* the target */
	char *tmp;		/* ATOMIC: where we write until commit */
	size_t frames;
};

int
sfout_format_for(const char *path)
{
	SF_FORMAT_INFO fi;
	const char *ext = strrchr(path, '.');
	int i, n = 0;

	if (ext == NULL || strchr(ext, '/') != NULL)
		return 0;
	ext++;
	/* Names people use that libsndfile's table spells otherwise. */
	if (strcasecmp(ext, "aif") == 0)
		ext = "aiff";
	if (strcasecmp(ext, "ogg") == 0 || strcasecmp(ext, "opus") == 0)
		return SF_FORMAT_OGG;
	if (strcasecmp(ext, "mp3") == 0)
		return SF_FORMAT_MPEG;
	sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		fi.format = i;
		if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi,
		    sizeof(fi)) != 0)
			continue;
		if (fi.extension != NULL && strcasecmp(fi.extension, ext) == 0)
			return fi.format;
	}
	return 0;
}

static int
pick_format(const char *path, double rate, unsigned channels)
{
	static const int subtypes[] = {
		SF_FORMAT_FLOAT, SF_FORMAT_PCM_24, SF_FORMAT_VORBIS,
		SF_FORMAT_OPUS, SF_FORMAT_MPEG_LAYER_III, SF_FORMAT_PCM_16
	};
	const char *ext = strrchr(path, '.');
	int major = sfout_format_for(path);
	SF_INFO si;
	size_t i;

	if (major == 0)
		return 0;
	memset(&si, 0, sizeof(si));
	si.samplerate = (int)rate;
	si.channels = (int)channels;
	for (i = 0; i < sizeof(subtypes) / sizeof(subtypes[0]); i++) {
		/* .ogg means Vorbis, .opus means Opus. */
		if (major == SF_FORMAT_OGG && ext != NULL &&
		    (strcasecmp(ext, ".opus") == 0) !=
		    (subtypes[i] == SF_FORMAT_OPUS))
			continue;
		si.format = major | subtypes[i];
		if (sf_format_check(&si))
			return si.format;
	}
	return 0;
}

struct sfout *
sfout_open(const char *path, enum sfout_mode mode, double rate,
    unsigned channels, char *err, size_t errlen)
{
	struct sfout *out;
	SF_INFO si;
	int fd = -1, format;

	format = pick_format(path, rate, channels);
	if (format == 0) {
		snprintf(err, errlen, "%s: unknown output format: use an "
		    "extension libsndfile writes (.wav .flac .ogg .aiff "
		    ".caf .w64 ...) for %u channels at %g Hz", path,
		    channels, rate);
		return NULL;
	}
	out = calloc(1, sizeof(*out));
	if (out == NULL || (out->path = strdup(path)) == NULL) {
		free(out);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	out->mode = mode;
	if (mode == SFOUT_ATOMIC) {
		size_t n = strlen(path) + 32;

		out->tmp = malloc(n);
		if (out->tmp == NULL)
			goto nomem;
		/* Same folder, so the rename is atomic. */
		snprintf(out->tmp, n, "%s.partial-XXXXXX", path);
		fd = mkstemp(out->tmp);
	} else
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		free(out->tmp);
		out->tmp = NULL;
		sfout_abort(out);
		return NULL;
	}
	memset(&si, 0, sizeof(si));
	si.samplerate = (int)rate;
	si.channels = (int)channels;
	si.format = format;
	out->sf = sf_open_fd(fd, SFM_WRITE, &si, SF_TRUE);
	if (out->sf == NULL) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    sf_strerror(NULL));
		close(fd);
		sfout_abort(out);
		return NULL;
	}
	if (mode == SFOUT_LIVE)
		sf_command(out->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	/* The PEAK chunk carries a timestamp: without it the same input
	   renders to the same bytes, every time. */
	sf_command(out->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	/* Float input beyond +-1 is kept as is in float files; integer
	   formats clip rather than wrap. */
	sf_command(out->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	return out;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	sfout_abort(out);
	return NULL;
}

int
sfout_write(struct sfout *out, const float *buf, size_t frames, char *err,
    size_t errlen)
{
	sf_count_t n;

	n = sf_writef_float(out->sf, buf, (sf_count_t)frames);
	if (n != (sf_count_t)frames) {
		snprintf(err, errlen, "%s: write failed after %zu frames: %s",
		    out->path, out->frames, sf_strerror(out->sf));
		return -1;
	}
	out->frames += frames;
	return 0;
}

size_t
sfout_frames(const struct sfout *out)
{
	return out->frames;
}

const char *
sfout_temp_path(const struct sfout *out)
{
	return out == NULL ? NULL : out->tmp;
}

int
sfout_commit(struct sfout *out, char *err, size_t errlen)
{
	int rc = 0;

	if (sf_close(out->sf) != 0) {
		snprintf(err, errlen, "%s: closing failed", out->path);
		rc = -1;
	}
	out->sf = NULL;
	if (rc == 0 && out->tmp != NULL && rename(out->tmp, out->path) != 0) {
		snprintf(err, errlen, "%s: cannot rename %s into place: %s",
		    out->path, out->tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && out->tmp != NULL) {
		free(out->tmp);
		out->tmp = NULL;
	}
	sfout_abort(out);
	return rc;
}

void
sfout_abort(struct sfout *out)
{
	if (out == NULL)
		return;
	if (out->sf != NULL)
		sf_close(out->sf);
	if (out->tmp != NULL)
		unlink(out->tmp);
	free(out->tmp);
	free(out->path);
	free(out);
}
