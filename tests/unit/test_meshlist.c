/* SPDX-License-Identifier: ISC */
/* The member list as a member holds it (tund/meshlist.c), in memory:
 * what each MEMBER record does to it, the sweep after a new OCS
 * session's SYNCED, how records become endpoints and prefixes, and the
 * bound on its size. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshlist.h"

static struct meshlist l;
static uint8_t self_key[32];

static void setup(void)
{
	memset(self_key, 0x5e, sizeof(self_key));
	meshlist_init(&l, self_key);
}

static void teardown(void)
{
	meshlist_free(&l);
}

/* Keys from a number, so a loop can make as many distinct ones as it
 * needs; none of them is self_key. */
static void key_of(uint32_t i, uint8_t key[32])
{
	memset(key, 0xa0, 32);
	key[0] = (uint8_t)(i >> 24);
	key[1] = (uint8_t)(i >> 16);
	key[2] = (uint8_t)(i >> 8);
	key[3] = (uint8_t)i;
}

/* An UPSERT of member i that accepts links at host:port and owns one
 * IPv4 /32. */
static struct ostp_member upsert(uint32_t i, const char *name, const char *host,
				 uint16_t port)
{
	struct ostp_member m;

	memset(&m, 0, sizeof(m));
	m.op = OSTP_MEMBER_UPSERT;
	m.flags = OSTP_MEMBER_F_ACCEPTS;
	key_of(i, m.id_pk);
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.host, sizeof(m.host), "%s", host);
	m.port = port;
	m.n_prefix = 1;
	m.prefix[0] = (struct ostp_config_addr){ 4, 32, { 198, 18, 1, (uint8_t)(i + 2) } };
	return m;
}

static struct ostp_member remove_rec(uint32_t i)
{
	struct ostp_member m;

	memset(&m, 0, sizeof(m));
	m.op = OSTP_MEMBER_REMOVE;
	key_of(i, m.id_pk);
	return m;
}

/* Applies m and returns the change; *peer gets the entry concerned. */
static enum meshlist_change apply(const struct ostp_member *m, struct mesh_peer **peer)
{
	enum meshlist_change ch = (enum meshlist_change)-1;
	struct mesh_peer *dummy;

	ck_assert_int_eq(meshlist_apply(&l, m, peer ? peer : &dummy, &ch), 0);
	return ch;
}

static struct mesh_peer *find(uint32_t i)
{
	uint8_t key[32];

	key_of(i, key);
	return meshlist_find(&l, key);
}

/* The entries by walking the list, so a count that drifts from the list
 * shows. */
static size_t walk_count(void)
{
	size_t n = 0;

	for (const struct mesh_peer *p = l.head; p; p = p->next)
		n++;
	return n;
}

START_TEST(upsert_add_same_change)
{
	struct ostp_member m = upsert(1, "ian", "198.18.0.2", 7201);
	struct mesh_peer *p = NULL, *q = NULL;
	uint8_t want_key[32];

	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_eq(find(1), p);
	key_of(1, want_key);
	ck_assert_mem_eq(p->key, want_key, 32);
	ck_assert_str_eq(p->name, "ian");
	ck_assert(p->accepts);
	ck_assert_str_eq(p->ep_text, "198.18.0.2:7201");
	ck_assert_uint_eq(p->n_prefix, 1);
	ck_assert(p->seen);

	/* the same record again: nothing to do */
	ck_assert_int_eq(apply(&m, &q), MESHLIST_NONE);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_eq(find(1), p);

	/* a new endpoint: the same entry, changed in place */
	m = upsert(1, "ian", "198.18.0.9", 7300);
	ck_assert_int_eq(apply(&m, &q), MESHLIST_CHANGED);
	ck_assert_ptr_eq(q, p);
	ck_assert_str_eq(p->ep_text, "198.18.0.9:7300");
	ck_assert_int_eq(p->ep.addr.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&p->ep.addr)->sin_port), 7300);
	ck_assert_uint_eq(l.n, 1);

	/* a new name */
	m = upsert(1, "ian2", "198.18.0.9", 7300);
	ck_assert_int_eq(apply(&m, &q), MESHLIST_CHANGED);
	ck_assert_ptr_eq(q, p);
	ck_assert_str_eq(p->name, "ian2");

	/* a new prefix, then a second one */
	m.prefix[0].addr[3] = 77;
	ck_assert_int_eq(apply(&m, &q), MESHLIST_CHANGED);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(p->n_prefix, 1);
	ck_assert_uint_eq(p->prefix[0].addr[3], 77);
	m.n_prefix = 2;
	m.prefix[1] = (struct ostp_config_addr){ 4, 24, { 198, 18, 10, 0 } };
	ck_assert_int_eq(apply(&m, &q), MESHLIST_CHANGED);
	ck_assert_uint_eq(p->n_prefix, 2);
	ck_assert_uint_eq(p->prefix[1].len, 24);
	/* and one fewer again */
	m.n_prefix = 1;
	ck_assert_int_eq(apply(&m, &q), MESHLIST_CHANGED);
	ck_assert_uint_eq(p->n_prefix, 1);
	ck_assert_int_eq(apply(&m, &q), MESHLIST_NONE);

	/* a second member is an entry of its own */
	m = upsert(2, "quinn", "198.18.0.3", 7201);
	ck_assert_int_eq(apply(&m, &q), MESHLIST_ADDED);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(walk_count(), 2);
}
END_TEST

START_TEST(own_key_ignored)
{
	struct ostp_member m = upsert(1, "me", "198.18.0.2", 7201);
	struct mesh_peer *p = NULL;

	memcpy(m.id_pk, self_key, 32);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_NONE);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.head);
	ck_assert_ptr_null(meshlist_find(&l, self_key));
	/* nor is a REMOVE of it anything */
	m.op = OSTP_MEMBER_REMOVE;
	ck_assert_int_eq(apply(&m, &p), MESHLIST_NONE);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(remove_known_and_unknown)
{
	struct ostp_member m;
	struct mesh_peer *a = NULL, *b = NULL, *p = NULL;

	m = upsert(1, "ian", "198.18.0.2", 7201);
	ck_assert_int_eq(apply(&m, &a), MESHLIST_ADDED);
	m = upsert(2, "quinn", "198.18.0.3", 7201);
	ck_assert_int_eq(apply(&m, &b), MESHLIST_ADDED);
	ck_assert_uint_eq(l.n, 2);

	/* the older entry sits behind the newer: unlinking it mends the chain */
	m = remove_rec(1);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_REMOVED);
	ck_assert_ptr_eq(p, a);
	ck_assert_ptr_null(p->next);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(walk_count(), 1);
	ck_assert_ptr_null(find(1));
	ck_assert_ptr_eq(find(2), b);
	free(p);

	/* unknown, and the same one a second time */
	m = remove_rec(3);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_NONE);
	ck_assert_ptr_null(p);
	m = remove_rec(1);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_NONE);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(l.n, 1);

	m = remove_rec(2);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_REMOVED);
	ck_assert_ptr_eq(p, b);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.head);
	free(p);
}
END_TEST

START_TEST(synced_and_unseen)
{
	static const struct ostp_member synced = { .op = OSTP_MEMBER_SYNCED };
	struct ostp_member m;
	struct mesh_peer *p = NULL, *gone[2];
	bool got1 = false, got4 = false;

	ck_assert_int_eq(apply(&synced, &p), MESHLIST_SYNCED);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(l.n, 0);
	for (uint32_t i = 0; i < 5; i++) {
		m = upsert(i, "m", "198.18.0.2", (uint16_t)(7200 + i));
		ck_assert_int_eq(apply(&m, NULL), MESHLIST_ADDED);
	}
	/* with nothing begun, every entry is seen: nothing to take */
	ck_assert_ptr_null(meshlist_take_unseen(&l));

	/* a new OCS session repeats 0, 2 and 3 (3 changed) and lists 5 */
	meshlist_begin(&l);
	m = upsert(0, "m", "198.18.0.2", 7200);
	ck_assert_int_eq(apply(&m, NULL), MESHLIST_NONE);
	m = upsert(2, "m", "198.18.0.2", 7202);
	ck_assert_int_eq(apply(&m, NULL), MESHLIST_NONE);
	m = upsert(3, "m", "198.18.0.2", 7999);
	ck_assert_int_eq(apply(&m, NULL), MESHLIST_CHANGED);
	m = upsert(5, "m", "198.18.0.2", 7205);
	ck_assert_int_eq(apply(&m, NULL), MESHLIST_ADDED);
	ck_assert_int_eq(apply(&synced, &p), MESHLIST_SYNCED);
	ck_assert_uint_eq(l.n, 6);

	for (size_t k = 0; k < 2; k++) {
		gone[k] = meshlist_take_unseen(&l);
		ck_assert_ptr_nonnull(gone[k]);
		ck_assert_ptr_null(gone[k]->next);
		got1 |= gone[k]->key[3] == 1;
		got4 |= gone[k]->key[3] == 4;
	}
	ck_assert(got1 && got4);
	ck_assert_ptr_null(meshlist_take_unseen(&l));
	ck_assert_uint_eq(l.n, 4);
	ck_assert_uint_eq(walk_count(), 4);
	ck_assert_ptr_null(find(1));
	ck_assert_ptr_null(find(4));
	ck_assert_ptr_nonnull(find(0));
	ck_assert_ptr_nonnull(find(2));
	ck_assert_ptr_nonnull(find(3));
	ck_assert_ptr_nonnull(find(5));
	free(gone[0]);
	free(gone[1]);

	/* a session that lists nobody empties the list */
	meshlist_begin(&l);
	ck_assert_int_eq(apply(&synced, NULL), MESHLIST_SYNCED);
	for (size_t k = 0; k < 4; k++) {
		p = meshlist_take_unseen(&l);
		ck_assert_ptr_nonnull(p);
		free(p);
	}
	ck_assert_ptr_null(meshlist_take_unseen(&l));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.head);
}
END_TEST

START_TEST(accepts_clear)
{
	struct ostp_member m = upsert(1, "ian", "198.18.0.2", 7201);
	struct mesh_peer *p = NULL;

	/* a host and port that come with the flag clear are not used */
	m.flags = 0;
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert(!p->accepts);
	ck_assert_str_eq(p->ep_text, "");
	ck_assert_uint_eq(p->ep.len, 0);
	ck_assert_uint_eq(p->n_prefix, 1);

	/* it starts taking links, then stops again */
	m.flags = OSTP_MEMBER_F_ACCEPTS;
	ck_assert_int_eq(apply(&m, &p), MESHLIST_CHANGED);
	ck_assert(p->accepts);
	ck_assert_str_eq(p->ep_text, "198.18.0.2:7201");
	m.flags = 0;
	ck_assert_int_eq(apply(&m, &p), MESHLIST_CHANGED);
	ck_assert(!p->accepts);
	ck_assert_str_eq(p->ep_text, "");

	/* the flag without a port or a host is no endpoint either */
	m = upsert(2, "quinn", "198.18.0.3", 0);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert(!p->accepts);
	ck_assert_str_eq(p->ep_text, "");
	m = upsert(3, "dominik", "", 7201);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert(!p->accepts);
	ck_assert_str_eq(p->ep_text, "");
}
END_TEST

START_TEST(ipv6_endpoint)
{
	struct ostp_member m = upsert(1, "ian", "fd00::2", 7201);
	struct mesh_peer *p = NULL;
	const struct sockaddr_in6 *a6;
	uint8_t want[16];

	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert(p->accepts);
	ck_assert_str_eq(p->ep_text, "[fd00::2]:7201");
	ck_assert_int_eq(p->ep.addr.ss_family, AF_INET6);
	ck_assert_uint_eq(p->ep.len, sizeof(struct sockaddr_in6));
	a6 = (const struct sockaddr_in6 *)&p->ep.addr;
	ck_assert_uint_eq(ntohs(a6->sin6_port), 7201);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", want), 1);
	ck_assert_mem_eq(&a6->sin6_addr, want, 16);

	/* and the IPv4 one is a sockaddr_in */
	m = upsert(2, "quinn", "198.18.0.3", 65535);
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert_str_eq(p->ep_text, "198.18.0.3:65535");
	ck_assert_int_eq(p->ep.addr.ss_family, AF_INET);
	ck_assert_uint_eq(p->ep.len, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(prefixes_converted)
{
	struct ostp_member m = upsert(1, "ian", "198.18.0.2", 7201);
	struct mesh_peer *p = NULL;
	uint8_t v4[16] = { 198, 18, 10, 0 }, v6[16] = { 0xfd, 0x00, 0x00, 0x10 };

	m.n_prefix = 3;
	m.prefix[0] = (struct ostp_config_addr){ 4, 24, { 198, 18, 10, 0 } };
	m.prefix[1] = (struct ostp_config_addr){ 6, 48, { 0xfd, 0x00, 0x00, 0x10 } };
	m.prefix[2] = (struct ostp_config_addr){ 6, 128, { 0xfd, 0x00, [15] = 2 } };
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert_uint_eq(p->n_prefix, 3);
	ck_assert_int_eq(p->prefix[0].family, AF_INET);
	ck_assert_uint_eq(p->prefix[0].len, 24);
	ck_assert_mem_eq(p->prefix[0].addr, v4, 16);
	ck_assert_int_eq(p->prefix[1].family, AF_INET6);
	ck_assert_uint_eq(p->prefix[1].len, 48);
	ck_assert_mem_eq(p->prefix[1].addr, v6, 16);
	ck_assert_int_eq(p->prefix[2].family, AF_INET6);
	ck_assert_uint_eq(p->prefix[2].len, 128);
	ck_assert_uint_eq(p->prefix[2].addr[15], 2);

	/* a member that owns nothing (yet) */
	m = upsert(2, "quinn", "198.18.0.3", 7201);
	m.n_prefix = 0;
	ck_assert_int_eq(apply(&m, &p), MESHLIST_ADDED);
	ck_assert_uint_eq(p->n_prefix, 0);
}
END_TEST

/* The library's record checks keep such a host out; the list refuses it
 * all the same, and is unchanged. */
START_TEST(bad_host_refused)
{
	struct ostp_member m = upsert(1, "ian", "not-an-address", 7201);
	struct mesh_peer *p = (struct mesh_peer *)&m;
	enum meshlist_change ch;

	ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), -EINVAL);
	ck_assert_int_eq(ch, MESHLIST_NONE);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(find(1));
}
END_TEST

START_TEST(cap)
{
	struct ostp_member m = upsert(0, "m", "198.18.0.2", 7201);
	struct mesh_peer *p;
	enum meshlist_change ch;

	for (uint32_t i = 0; i < MESHLIST_MAX; i++) {
		key_of(i, m.id_pk);
		ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), 0);
		ck_assert_int_eq(ch, MESHLIST_ADDED);
	}
	ck_assert_uint_eq(l.n, MESHLIST_MAX);

	/* full: a new key is refused, however often it comes */
	for (uint32_t i = MESHLIST_MAX; i < MESHLIST_MAX + 3; i++) {
		key_of(i, m.id_pk);
		p = (struct mesh_peer *)&m;
		ch = MESHLIST_ADDED;
		ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), -ENOSPC);
		ck_assert_ptr_null(p);
		ck_assert_int_eq(ch, MESHLIST_NONE);
		ck_assert_ptr_null(find(i));
	}
	ck_assert_uint_eq(l.n, MESHLIST_MAX);
	ck_assert_uint_eq(walk_count(), MESHLIST_MAX);

	/* what is listed still changes */
	m.port = 7300;
	key_of(7, m.id_pk);
	ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), 0);
	ck_assert_int_eq(ch, MESHLIST_CHANGED);
	ck_assert_str_eq(p->ep_text, "198.18.0.2:7300");
	ck_assert_uint_eq(l.n, MESHLIST_MAX);

	/* one removed makes room for exactly one */
	m = remove_rec(7);
	ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), 0);
	ck_assert_int_eq(ch, MESHLIST_REMOVED);
	free(p);
	m = upsert(MESHLIST_MAX, "m", "198.18.0.2", 7201);
	ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), 0);
	ck_assert_int_eq(ch, MESHLIST_ADDED);
	key_of(MESHLIST_MAX + 1, m.id_pk);
	ck_assert_int_eq(meshlist_apply(&l, &m, &p, &ch), -ENOSPC);
	ck_assert_uint_eq(l.n, MESHLIST_MAX);
	ck_assert_uint_eq(walk_count(), MESHLIST_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meshlist");
	TCase *tc = tcase_create("meshlist");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	/* every UPSERT looks the key up in the whole list, so filling it to
	 * the cap takes a while, longer under the sanitizers */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, upsert_add_same_change);
	tcase_add_test(tc, own_key_ignored);
	tcase_add_test(tc, remove_known_and_unknown);
	tcase_add_test(tc, synced_and_unseen);
	tcase_add_test(tc, accepts_clear);
	tcase_add_test(tc, ipv6_endpoint);
	tcase_add_test(tc, prefixes_converted);
	tcase_add_test(tc, bad_host_refused);
	tcase_add_test(tc, cap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
