/*
 * Locked, prefaulted memory for the real-time side.
 *
 * Each pool or channel takes one anonymous mapping at start-up and keeps it
 * until it is done: nothing here is called after the audio starts, and
 * nothing is ever resized.  mmap() rather than malloc() because the mapping
 * is page aligned (blocks are 64-byte aligned without padding games), it is
 * not shared with heap memory that might be unlocked or trimmed, and it goes
 * back to the kernel whole.  This module does not decide how the memory is
 * carved up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ck_pr.h>

#include "rtpool/rtmem.h"

/* Process-wide, because the thing it counts (the memory-lock limit) is. */
static unsigned refusals;

void *
rtmem_alloc(size_t bytes, size_t *mapped, int *locked)
{
	long pagesz = sysconf(_SC_PAGESIZE);
	size_t page = pagesz > 0 ? (size_t)pagesz : 4096;
	size_t len, off;
	unsigned char *mem;
	int err;

	*mapped = 0;
	*locked = 0;
	if (bytes == 0 || bytes > SIZE_MAX - page) {
		errno = EINVAL;
		return NULL;
	}
	len = (bytes + page - 1) / page * page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	if (mlock(mem, len) == 0) {
		*locked = 1;
	} else {
		err = errno;
		/*
		 * The increment is the only write to the counter; the value
		 * it returns decides who prints, so two threads refused at
		 * once still print one line.
		 */
		if (ck_pr_faa_uint(&refusals, 1) == 0)
			fprintf(stderr, "rtpool: warning: mlock of %zu bytes "
			    "refused (%s); real-time memory may page-fault: "
			    "raise RLIMIT_MEMLOCK (LimitMEMLOCK= under "
			    "systemd) or grant CAP_IPC_LOCK; further "
			    "refusals are only counted\n", len, strerror(err));
	}
	/*
	 * A read of an untouched anonymous page maps the shared zero page and
	 * the first write faults again, so touch with writes.  mlock() has
	 * already populated the pages when it worked; this covers the case
	 * where it did not.
	 */
	for (off = 0; off < len; off += page)
		((volatile unsigned char *)mem)[off] = 0;
	*mapped = len;
	return mem;
}

void
rtmem_free(void *mem, size_t mapped)
{
	if (mem != NULL && mapped > 0)
		munmap(mem, mapped);	/* also unlocks */
}

unsigned
rtmem_refusals(void)
{
	/* A counter read for reporting: no ordering needed. */
	return ck_pr_load_uint(&refusals);
}
