/* SPDX-License-Identifier: ISC */
/*
 * Longest-prefix-match table from IPv4 and IPv6 prefixes to opaque owners,
 * for the per-packet forwarding decision: the destination picks the link
 * to send to, and the source must belong to the link the packet came from.
 *
 * Design.  Per family, one open-addressing hash table keyed by (prefix
 * length, masked address), plus a bitmap of the lengths that hold at
 * least one prefix.  A lookup walks that bitmap from the longest length
 * down and probes the table once per length present, stopping at the
 * first hit.  Its cost therefore depends on how many distinct lengths are
 * in use (at most 33 or 129; in practice a handful: /32 or /128 hosts, a
 * few networks, perhaps a default route) and never on how many prefixes
 * there are; a packet to a client's own address is one probe.  A
 * path-compressed trie (WireGuard's allowedips) also bounds lookups by the
 * address width, but pays a dependent pointer load per level - about
 * log2(n) levels for n hosts under one shared network - where a probe
 * here is a hash of two words and usually one cache line, and the hash
 * tables need no node splitting or merging on insert and remove.  Tables
 * are kept between 1/8 and 1/2 full and are freed when empty, so memory
 * follows the number of entries.  Hashes are keyed with a random seed per
 * table so which prefixes share a probe chain cannot be worked out
 * offline.
 *
 * Several owners may hold the same prefix (two sessions of one user): its
 * owners form a stack, the most recently inserted one is what lookups
 * return, and removing it reveals the one below.
 *
 * Owners.  The table keeps its own index from owner pointer to that
 * owner's entries, and from each (prefix, owner) pair to its entry, so
 * ptable_remove_owner touches only that owner's entries, and the
 * duplicate check of ptable_insert and ptable_remove cost O(1) even when
 * thousands of sessions share one prefix.  Callers therefore need no link
 * field embedded in their structs: any stable non-NULL pointer (a session,
 * a user record) can be an owner, and once ptable_remove_owner has run
 * nothing in the table refers to it.
 *
 * Costs (expected, with h = one hash probe): lookup <= distinct lengths
 * in use x h; insert and remove O(1) amortised (tables resize);
 * ptable_remove_owner O(entries of that owner); ptable_walk O(table size).
 *
 * Not thread-safe: lookups may run concurrently with each other, but not
 * with a change.
 */
#ifndef OSTPD_PTABLE_H
#define OSTPD_PTABLE_H

#include <stddef.h>
#include <stdint.h>

struct ptable;

/* 0 or -ENOMEM. */
int ptable_new(struct ptable **out);
/* Frees the table and its entries, never the owners. NULL is allowed. */
void ptable_free(struct ptable *t);

/* addr: 4 bytes for AF_INET, 16 for AF_INET6; host bits beyond len are
 * ignored (masked).  owner must not be NULL, as lookups use NULL for "no
 * match".  0, -EEXIST if this owner already holds this prefix, -EINVAL for
 * an unknown family or len beyond 32 or 128, -ENOMEM (table unchanged). */
int ptable_insert(struct ptable *t, int family, const uint8_t *addr,
		  unsigned len, void *owner);
/* 0, -ENOENT if owner does not hold the prefix, -EINVAL as above. */
int ptable_remove(struct ptable *t, int family, const uint8_t *addr,
		  unsigned len, void *owner);
/* Removes every prefix of owner (a session went away); returns how many. */
size_t ptable_remove_owner(struct ptable *t, void *owner);

/* The current owner of the longest prefix containing addr, or NULL.  The
 * source check is ptable_lookup(t, family, src) == the sending owner. */
void *ptable_lookup(const struct ptable *t, int family, const uint8_t *addr);

/* Number of (prefix, owner) entries. */
size_t ptable_count(const struct ptable *t);

/* Calls fn once per (prefix, owner) entry, the owners of one prefix newest
 * first, prefixes in no particular order; addr is masked (4 or 16 bytes).
 * fn must not change the table. */
void ptable_walk(const struct ptable *t,
		 void (*fn)(void *ctx, int family, const uint8_t *addr,
			    unsigned len, void *owner),
		 void *ctx);

#endif
