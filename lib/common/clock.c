/* SPDX-License-Identifier: ISC */
#include "clock.h"

#include <time.h>

/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer, so there
 * is no error to return. */
static struct timespec now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

uint64_t mono_ms(void)
{
	struct timespec ts = now();

	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mono_us(void)
{
	struct timespec ts = now();

	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
