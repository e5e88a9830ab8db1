/* SPDX-License-Identifier: ISC */
/*
 * Trust-on-first-use records, like ssh's known_hosts: one
 * "host:port base64-key" line per server ("[v6]:port" for IPv6).
 */
#ifndef OSTP_COMMON_KNOWNHOSTS_H
#define OSTP_COMMON_KNOWNHOSTS_H

#include <stdbool.h>
#include <stdint.h>

/* 1 and key filled when the endpoint is recorded, 0 when it is not (or the
 * file does not exist); -EINVAL for a malformed endpoint or file, or the
 * -errno of reading it (read_text_file(), textfile.h). */
int knownhosts_lookup(const char *path, const char *endpoint, uint8_t key[32]);
/* Appends a record (creating the file 0600); 0, -EINVAL for a malformed
 * endpoint, or the -errno of the open, write or fsync. */
int knownhosts_add(const char *path, const char *endpoint, const uint8_t key[32]);

#endif
