/*
 * daemon/disk: the disk threads' hand-over.  Jobs come back in the order
 * they went, each once, with the blocks they carried filled or written;
 * a lane held in open() of a FIFO nobody writes to takes jobs up to its
 * capacity and refuses more, leaves the other lane free, and lets go when
 * the open is abandoned; disk_done ends it all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "daemon/disk.h"
#include "rtpool/rtclock.h"

#define FRAMES 10000
#define CAP 256		/* frames per block */
#define JOBS 64

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_disk.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The next job lane l gives back, waiting up to 5 s. */
static struct disk_job *
next(struct disk *d, enum disk_lane_id l)
{
	struct timespec ts = { 0, 1000000 };
	struct disk_job *j;
	int i;

	for (i = 0; i < 5000; i++) {
		if ((j = disk_collect(d, l)) != NULL)
			return j;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static struct engine_block *
block_new(void)
{
	struct engine_block *b = calloc(1, sizeof(*b) +
	    sizeof(float) * CAP * 2);

	assert_non_null(b);
	b->channels = 2;
	return b;
}

/* A stereo float WAV whose sample i of frame f is f + i / 2. */
static void
make_wav(const char *path)
{
	SF_INFO si = { .samplerate = 48000, .channels = 2,
	    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
	static float buf[FRAMES * 2];
	int f;

	assert_non_null(sf);
	for (f = 0; f < FRAMES; f++) {
		buf[2 * f] = (float)f;
		buf[2 * f + 1] = (float)f + 0.5f;
	}
	assert_int_equal(sf_writef_float(sf, buf, FRAMES), FRAMES);
	sf_close(sf);
}

/* A file read block by block, in order, to its end; then written back. */
static void
test_in_order(void **state)
{
	struct disk d;
	struct disk_job *j;
	struct engine_block *b[JOBS];
	char path[128], out[128], err[256];
	uint64_t want = 0, gen = 7;
	int i, n, ended = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	make_wav(path);
	assert_int_equal(disk_init(&d, JOBS, err, sizeof(err)), 0);
	j = disk_job_new(DISK_OPEN_READ, gen);
	j->path = strdup(path);
	j->rate = 48000;
	j->channels = 2;
	j->capacity = CAP;
	assert_int_equal(disk_submit(&d, DISK_PLAY, j), 0);
	n = FRAMES / CAP + 1;
	for (i = 0; i < n; i++) {
		b[i] = block_new();
		j = disk_job_new(DISK_FILL, gen);
		j->block = b[i];
		j->capacity = CAP;
		assert_int_equal(disk_submit(&d, DISK_PLAY, j), 0);
	}
	j = next(&d, DISK_PLAY);
	assert_non_null(j);
	assert_int_equal(j->op, DISK_OPEN_READ);
	assert_int_equal(j->failed, 0);
	assert_int_equal(j->info.channels, 2);
	disk_job_del(j);
	/* Opened for writing on the other lane meanwhile. */
	j = disk_job_new(DISK_OPEN_WRITE, gen);
	j->path = strdup(out);
	j->rate = 48000;
	j->channels = 2;
	assert_int_equal(disk_submit(&d, DISK_RECORD, j), 0);
	for (i = 0; i < n; i++) {
		j = next(&d, DISK_PLAY);
		assert_non_null(j);
		assert_int_equal(j->op, DISK_FILL);
		assert_ptr_equal(j->block, b[i]);
		assert_int_equal(ended, 0);
		for (uint32_t f = 0; f < b[i]->frames; f++, want++) {
			assert_true(b[i]->data[2 * f] == (float)want);
			assert_true(b[i]->data[2 * f + 1] ==
			    (float)want + 0.5f);
		}
		ended = j->end;
		disk_job_del(j);
		j = disk_job_new(DISK_WRITE, gen);
		j->block = b[i];
		assert_int_equal(disk_submit(&d, DISK_RECORD, j), 0);
	}
	assert_int_equal(want, FRAMES);
	assert_int_equal(ended, 1);
	assert_int_equal(disk_submit(&d, DISK_RECORD,
	    disk_job_new(DISK_CLOSE, gen)), 0);
	j = next(&d, DISK_RECORD);
	assert_int_equal(j->op, DISK_OPEN_WRITE);
	assert_int_equal(j->failed, 0);
	disk_job_del(j);
	want = 0;
	for (i = 0; i < n; i++) {
		j = next(&d, DISK_RECORD);
		assert_non_null(j);
		assert_int_equal(j->op, DISK_WRITE);
		assert_int_equal(j->failed, 0);
		assert_int_equal(j->frames, b[i]->frames);
		want += j->frames;
		disk_job_del(j);
		free(b[i]);
	}
	j = next(&d, DISK_RECORD);
	assert_int_equal(j->op, DISK_CLOSE);
	assert_int_equal(j->failed, 0);
	disk_job_del(j);
	assert_int_equal(want, FRAMES);
	assert_int_equal(disk_done(&d, 1000000000ull), 1);
	{
		SF_INFO si;
		SNDFILE *sf;

		memset(&si, 0, sizeof(si));
		sf = sf_open(out, SFM_READ, &si);
		assert_non_null(sf);
		assert_int_equal(si.frames, FRAMES);
		sf_close(sf);
	}
}

/* A lane held by a FIFO: full at its capacity, the other lane free, and
   free again once the open is abandoned. */
static void
test_held_and_abandoned(void **state)
{
	struct disk d;
	struct disk_job *j;
	char fifo[128], path[128], err[256];
	unsigned taken = 0, back = 0;
	uint64_t t0;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/f.wav", dir);
	snprintf(path, sizeof(path), "%s/in.wav", dir);
	make_wav(path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(disk_init(&d, 8, err, sizeof(err)), 0);
	j = disk_job_new(DISK_OPEN_READ, 1);
	j->path = strdup(fifo);
	j->rate = 48000;
	j->channels = 2;
	j->capacity = CAP;
	assert_int_equal(disk_submit(&d, DISK_PLAY, j), 0);
	taken = 1;
	for (;;) {
		j = disk_job_new(DISK_CLOSE, 2);
		if (disk_submit(&d, DISK_PLAY, j) != 0) {
			disk_job_del(j);
			break;
		}
		taken++;
	}
	/* rtchan: 8 asked, the next power of two minus one held. */
	assert_int_equal(taken, 15);
	assert_null(disk_collect(&d, DISK_PLAY));
	/* The recording lane is not held by it. */
	j = disk_job_new(DISK_OPEN_READ, 1);
	j->path = strdup(path);
	j->rate = 48000;
	j->channels = 2;
	j->capacity = CAP;
	assert_int_equal(disk_submit(&d, DISK_RECORD, j), 0);
	j = next(&d, DISK_RECORD);
	assert_non_null(j);
	assert_int_equal(j->failed, 0);
	disk_job_del(j);
	assert_int_equal(disk_stuck(&d, DISK_PLAY), 0);
	/* Abandon generation 1: the open returns, failed, and the rest
	   follows. */
	t0 = rtclock_ns();
	disk_cancel(&d, DISK_PLAY, 2);
	while (back < taken && rtclock_ns() - t0 < 5000000000ull) {
		disk_kick(&d);
		if ((j = next(&d, DISK_PLAY)) == NULL)
			break;
		if (back == 0) {
			assert_int_equal(j->op, DISK_OPEN_READ);
			assert_int_equal(j->failed, 1);
		} else {
			assert_int_equal(j->op, DISK_CLOSE);
		}
		disk_job_del(j);
		back++;
	}
	assert_int_equal(back, taken);
	assert_int_equal(disk_done(&d, 1000000000ull), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_held_and_abandoned),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
