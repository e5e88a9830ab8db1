/* SPDX-License-Identifier: ISC */
/*
 * The monotonic clock, for deadlines and durations: it never jumps with
 * the wall clock, so a timer set before an NTP step still fires on time.
 * The origin is arbitrary (boot); only differences mean anything.
 */
#ifndef OSTP_COMMON_CLOCK_H
#define OSTP_COMMON_CLOCK_H

#include <stdint.h>

uint64_t mono_ms(void);
uint64_t mono_us(void);

#endif
