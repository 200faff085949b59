/*
 * Fuzz target: an audio file through the whole offline render path.
 *
 * The bytes are an audio file of any format libsndfile knows: they are
 * opened with sfin_open_virtual (through render's open_input seam, so the
 * reader thread, the engine, the writer thread and libsndfile's decoders
 * all see them exactly as a file's), then rendered through a small chain
 * to a WAV file on tmpfs.  Files with more than MAX_CHANNELS channels, an
 * unknown length or more than MAX_FRAMES frames are refused before any
 * decoding: compressed formats can promise hours in a few bytes, and the
 * point is the parsing, not the length.
 *
 * What must hold: no crash and no sanitizer report; a render that succeeds
 * writes exactly as many frames as the header promised; a render that
 * fails leaves nothing behind, neither the output nor its temporary file.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "config/config.h"
#include "daemon/render.h"
#include "daemon/sfin.h"

#define MAX_CHANNELS 8
#define MAX_FRAMES (1 << 17)
#define BLOCK_FRAMES 100	/* divides nothing: partial periods */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The chain for rates the biquads take; slower files pass through. */
static const char chain_text[] =
    "[stage.hp]\ntype = highpass\nfreq = 20\n"
    "[stage.eq]\ntype = peaking\nfreq = 1000\ngain = 3\n"
    "[stage.lim]\ntype = limiter\n"
    "[stage.meter]\ntype = meter\n";
#define CHAIN_MIN_RATE 8000

static struct config *chain_cfg, *empty_cfg;
static char dir[64], outpath[96];

/* The fuzz data as a read-only file. */
struct vfile {
	const uint8_t *data;
	sf_count_t size, pos;
	int64_t frames;		/* what the header promised */
};

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_render: %s: %s\n", what, detail);
	abort();
}

static sf_count_t
v_len(void *user)
{
	return ((struct vfile *)user)->size;
}

static sf_count_t
v_seek(sf_count_t off, int whence, void *user)
{
	struct vfile *v = user;
	sf_count_t to;

	switch (whence) {
	case SEEK_SET:
		to = off;
		break;
	case SEEK_CUR:
		to = v->pos + off;
		break;
	case SEEK_END:
		to = v->size + off;
		break;
	default:
		return -1;
	}
	/* Past the end is allowed, as for a file; before the start is not. */
	if (to < 0)
		return -1;
	v->pos = to;
	return to;
}

static sf_count_t
v_read(void *ptr, sf_count_t n, void *user)
{
	struct vfile *v = user;

	if (n < 0 || v->pos >= v->size)
		return 0;
	if (n > v->size - v->pos)
		n = v->size - v->pos;
	memcpy(ptr, v->data + v->pos, (size_t)n);
	v->pos += n;
	return n;
}

static sf_count_t
v_write(const void *ptr, sf_count_t n, void *user)
{
	(void)ptr;
	(void)n;
	(void)user;
	return 0;
}

static sf_count_t
v_tell(void *user)
{
	return ((struct vfile *)user)->pos;
}

static SF_VIRTUAL_IO vio = { v_len, v_seek, v_read, v_write, v_tell };

static struct sfin *
open_fuzz(void *arg, const char *name, unsigned max_frames, char *err,
    size_t errlen)
{
	struct vfile *v = arg;
	struct sfin *in;
	const struct sfin_info *info;

	in = sfin_open_virtual(&vio, v, name, 0, 0, max_frames, err, errlen);
	if (in == NULL)
		return NULL;
	info = sfin_info(in);
	v->frames = info->frames;
	if (info->channels > MAX_CHANNELS || info->frames < 0 ||
	    info->frames > MAX_FRAMES) {
		snprintf(err, errlen, "%s: capped: %u channels, %lld frames",
		    name, info->channels, (long long)info->frames);
		sfin_close(in);
		return NULL;
	}
	return in;
}

static void
remove_dir(void)
{
	unlink(outpath);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    "/tmp";

	(void)argc;
	(void)argv;
	chain_cfg = config_parse(chain_text, sizeof(chain_text) - 1,
	    "render.conf", err, sizeof(err));
	empty_cfg = config_parse("", 0, "empty.conf", err, sizeof(err));
	if (chain_cfg == NULL || empty_cfg == NULL)
		fail("the fixed configs", err);
	snprintf(dir, sizeof(dir), "%s/tidepool-fuzz.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp", dir);
	snprintf(outpath, sizeof(outpath), "%s/out.wav", dir);
	atexit(remove_dir);
	return 0;
}

/* Nothing but what a successful render wrote may be in dir. */
static void
check_dir(int rendered)
{
	DIR *d;
	struct dirent *de;

	d = opendir(dir);
	if (d == NULL)
		fail("opendir", dir);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (!rendered || strcmp(de->d_name, "out.wav") != 0)
			fail("left behind", de->d_name);
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfile v = { data, (sf_count_t)size, 0, -1 };
	struct render_opts o;
	struct render_result r;
	char err[1024], what[128];
	int rc;

	memset(&o, 0, sizeof(o));
	o.block_frames = BLOCK_FRAMES;
	o.open_input = open_fuzz;
	o.open_arg = &v;
	/* The chain is built for the file's rate, which only the
	   header tells: peek at it the way render will. */
	o.cfg = empty_cfg;
	{
		SF_INFO si;
		SNDFILE *sf;

		memset(&si, 0, sizeof(si));
		sf = sf_open_virtual(&vio, SFM_READ, &si, &v);
		if (sf != NULL) {
			if (si.samplerate >= CHAIN_MIN_RATE)
				o.cfg = chain_cfg;
			sf_close(sf);
		}
		v.pos = 0;
	}
	rc = render_file("fuzz-input", outpath, &o, &r, err, sizeof(err));
	check_dir(rc == 0);
	if (rc == 0) {
		if ((int64_t)r.frames != v.frames) {
			snprintf(what, sizeof(what), "%llu frames written, "
			    "the header said %lld",
			    (unsigned long long)r.frames,
			    (long long)v.frames);
			fail("length", what);
		}
		unlink(outpath);
	}
	return 0;
}
