/* SPDX-License-Identifier: ISC */
/* Text formatting for show and dump: units, durations, SPW names, JSON. */
#ifndef OSTPCTL_FMT_H
#define OSTPCTL_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "1.50 KiB", "12 B", as wg prints transfer counters. */
char *fmt_bytes(char *buf, size_t size, uint64_t n);
/* "1 minute, 12 seconds", "0 seconds". */
char *fmt_duration(char *buf, size_t size, uint64_t seconds);
/* "config, ipv4" (sep ", ") or "config,ipv4"; unnamed bits as "bitN";
 * "" for none. */
char *fmt_spw(char *buf, size_t size, uint16_t spw, const char *sep);
/* s with control characters as '?': text from the daemon must not move
 * the terminal's cursor or break dump's one line per session. */
const char *fmt_safe(char *buf, size_t size, const char *s);
/* A JSON string literal, quotes included: control characters and
 * invalid UTF-8 bytes escaped, so any input gives valid JSON. */
void json_str(FILE *fp, const char *s);
/* "a b c" as a JSON array of strings (split on blanks or commas). */
void json_str_list(FILE *fp, const char *list);

#endif
