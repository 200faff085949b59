/*
 * The tests' noise: uniform in [-0.5, 0.5), from a 64-bit linear
 * congruential generator (Knuth's MMIX constants), so that a seed gives
 * the same samples on every machine and every run.
 */
#ifndef TP_TESTS_NOISE_H
#define TP_TESTS_NOISE_H

#include <stddef.h>
#include <stdint.h>

static inline void
noise(float *buf, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (float)((double)(seed >> 11) / 9007199254740992.0 -
		    0.5);
	}
}

#endif /* TP_TESTS_NOISE_H */
