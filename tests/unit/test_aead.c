/* SPDX-License-Identifier: ISC */
/*
 * The AES-256-GCM engine of this build (lib/aead.h): the same tests run
 * against OpenSSL's engine in a default build and libsodium's in a
 * `make AEAD=sodium` build.  Published GCM vectors, agreement with raw
 * libsodium (a second implementation when the engine is OpenSSL), typed
 * errors for a tampered tag, AAD, IV or ciphertext with no plaintext left
 * behind, keys replaced in place, and no allocation per frame.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "frame.h"
#include "ostp.h"

/* ---- allocation counter ------------------------------------------------------ */

/* Counts the allocator calls made while `counting` is set, by interposing
 * glibc's allocator (forwarding to its __libc_ entry points).  Not under
 * AddressSanitizer, whose own interposition this would undo. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static volatile int counting;
static volatile unsigned long allocs;

void *malloc(size_t size)
{
	if (counting)
		allocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	if (counting)
		allocs++;
	return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
	if (counting)
		allocs++;
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (counting)
		allocs++;
	if (align < sizeof(void *) || (align & (align - 1)))
		return 22; /* EINVAL */
	p = __libc_memalign(align, size);
	if (!p && size)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void free(void *p)
{
	__libc_free(p);
}
#endif

/* ---- published vectors ------------------------------------------------------- */

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = strlen(h) / 2;

	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13,
 * 14 and 16 (the 256-bit key, 96-bit IV ones). */
static const struct kat {
	const char *key, *iv, *aad, *pt, *ct, *tag;
} kats[] = {
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "00000000000000000000000000000000",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void setup(void)
{
	ck_assert_int_eq(ostp_init(), 0);
}

START_TEST(engine_named)
{
	const char *e = ostp_aead_engine();

	ck_assert_ptr_nonnull(e);
	ck_assert(strcmp(e, "openssl") == 0 || strcmp(e, "libsodium") == 0);
}
END_TEST

START_TEST(known_answers)
{
	const struct kat *k = &kats[_i];
	static struct ostp_aead a;
	uint8_t key[32], iv[12], aad[32], pt[64], ct[64], want_ct[64], tag[16], want_tag[16],
		back[64];
	size_t aad_len, len;

	unhex(k->key, key, sizeof(key));
	unhex(k->iv, iv, sizeof(iv));
	aad_len = unhex(k->aad, aad, sizeof(aad));
	len = unhex(k->pt, pt, sizeof(pt));
	ck_assert_uint_eq(unhex(k->ct, want_ct, sizeof(want_ct)), len);
	unhex(k->tag, want_tag, sizeof(want_tag));

	ck_assert_int_eq(ostp_aead_init(&a, key), 0);
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, aad_len, pt, len, ct, tag), 0);
	ck_assert_mem_eq(ct, want_ct, len);
	ck_assert_mem_eq(tag, want_tag, 16);
	memset(back, 0xaa, sizeof(back));
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, aad_len, want_ct, len, want_tag, back), 0);
	ck_assert_mem_eq(back, pt, len);
	/* in place, both ways */
	memcpy(back, pt, len);
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, aad_len, back, len, back, tag), 0);
	ck_assert_mem_eq(back, want_ct, len);
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, aad_len, back, len, tag, back), 0);
	ck_assert_mem_eq(back, pt, len);
	ostp_aead_wipe(&a);
}
END_TEST

/* ---- against raw libsodium ------------------------------------------------------ */

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

/* Every length a frame can have, both directions, with the frame's 18-byte
 * AAD: what the engine seals libsodium opens, and the other way round. */
START_TEST(agrees_with_libsodium)
{
	static struct ostp_aead a;
	static uint8_t pt[4096], ct[4096], ref[4096], back[4096];
	uint8_t key[32], iv[12], aad[18], tag[16], ref_tag[16];

	pattern(key, sizeof(key), 1);
	pattern(aad, sizeof(aad), 2);
	pattern(pt, sizeof(pt), 3);
	ck_assert_int_eq(ostp_aead_init(&a, key), 0);
	for (size_t len = 0; len <= sizeof(pt); len += len < 64 ? 1 : 61) {
		memset(iv, 0, sizeof(iv));
		iv[11] = (uint8_t)len;
		iv[10] = (uint8_t)(len >> 8);
		ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, sizeof(aad), pt, len, ct, tag), 0);
		crypto_aead_aes256gcm_encrypt_detached(ref, ref_tag, NULL, pt, len, aad,
						       sizeof(aad), NULL, iv, key);
		ck_assert_mem_eq(ct, ref, len);
		ck_assert_mem_eq(tag, ref_tag, 16);
		ck_assert_int_eq(crypto_aead_aes256gcm_decrypt_detached(back, NULL, ct, len, tag, aad,
									sizeof(aad), iv, key), 0);
		ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), ref, len, ref_tag, back), 0);
		ck_assert_mem_eq(back, pt, len);
	}
	ostp_aead_wipe(&a);
}
END_TEST

/* ---- tampering ----------------------------------------------------------------------- */

enum { T_TAG, T_AAD, T_IV, T_CT, T_N };

/* one assertion per buffer: Check records every assertion it passes */
static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* One flipped bit in the tag, the AAD, the IV or the ciphertext: OSTP_E_TAG,
 * the output all zero (nothing unauthenticated left), and the engine state
 * still good for the next frame. */
START_TEST(tampered_fails_typed)
{
	static struct ostp_aead a;
	static uint8_t pt[1400], ct[1400], bad[1400], out[1400];
	uint8_t key[32], iv[12], aad[18], tag[16];
	size_t n[T_N] = { sizeof(tag) * 8, sizeof(aad) * 8, sizeof(iv) * 8, 64 * 8 };

	pattern(key, sizeof(key), 4);
	pattern(aad, sizeof(aad), 5);
	pattern(iv, sizeof(iv), 6);
	pattern(pt, sizeof(pt), 7);
	ck_assert_int_eq(ostp_aead_init(&a, key), 0);
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, sizeof(aad), pt, sizeof(pt), ct, tag), 0);
	for (int what = 0; what < T_N; what++) {
		for (size_t bit = 0; bit < n[what]; bit++) {
			uint8_t t_tag[16], t_aad[18], t_iv[12];
			uint8_t *p;

			memcpy(t_tag, tag, sizeof(tag));
			memcpy(t_aad, aad, sizeof(aad));
			memcpy(t_iv, iv, sizeof(iv));
			memcpy(bad, ct, sizeof(ct));
			p = what == T_TAG ? t_tag : what == T_AAD ? t_aad : what == T_IV ? t_iv
			    : bad + sizeof(bad) - 64;
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memset(out, 0xaa, sizeof(out));
			ck_assert_int_eq(ostp_aead_open(&a, t_iv, t_aad, sizeof(t_aad), bad,
							sizeof(bad), t_tag, out), OSTP_E_TAG);
			ck_assert(all_zero(out, sizeof(out)));
			/* in place: the ciphertext is gone too, not decrypted */
			ck_assert_int_eq(ostp_aead_open(&a, t_iv, t_aad, sizeof(t_aad), bad,
							sizeof(bad), t_tag, bad), OSTP_E_TAG);
			ck_assert(all_zero(bad, sizeof(bad)));
		}
		/* a failed open leaves nothing behind in the engine */
		ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), ct, sizeof(ct), tag, out), 0);
		ck_assert_mem_eq(out, pt, sizeof(pt));
	}
	/* an empty message too: only the tag protects the AAD */
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, sizeof(aad), NULL, 0, ct, tag), 0);
	aad[17] ^= 0x80;
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), ct, 0, tag, out), OSTP_E_TAG);
	aad[17] ^= 0x80;
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), ct, 0, tag, out), 0);
	ostp_aead_wipe(&a);
}
END_TEST

/* The same through a frame direction: a tag flipped on the wire is
 * OSTP_E_TAG from ostp_frame_open and the counter stays. */
START_TEST(frame_tag_typed)
{
	static struct ostp_dir tx, rx;
	static uint8_t pt[300], ct[300], out[300];
	uint8_t key[32], hdr[OSTP_FRAME_HDR_LEN];
	struct ostp_frame_hdr fh;

	pattern(key, sizeof(key), 8);
	pattern(pt, sizeof(pt), 9);
	ck_assert_int_eq(ostp_dir_init(&tx, key), 0);
	ck_assert_int_eq(ostp_dir_init(&rx, key), 0);
	ck_assert_int_eq(ostp_frame_seal(&tx, hdr, OSTP_MSG_DATA, 0, pt, sizeof(pt), ct), 0);
	ck_assert_int_eq(ostp_frame_parse_hdr(&rx, hdr, &fh), 0);
	hdr[OSTP_IV_LEN + 3] ^= 0x10;
	ck_assert_int_eq(ostp_frame_open(&rx, hdr, ct, sizeof(ct), out), OSTP_E_TAG);
	ck_assert(rx.counter == 0);
	hdr[OSTP_IV_LEN + 3] ^= 0x10;
	ck_assert_int_eq(ostp_frame_open(&rx, hdr, ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, pt, sizeof(pt));
	ck_assert(rx.counter == 1);
	ostp_dir_wipe(&tx);
	ostp_dir_wipe(&rx);
}
END_TEST

/* ---- keys -------------------------------------------------------------------------------- */

/* A second init replaces the key in place: it seals exactly as a fresh
 * state with that key, and the old key no longer opens.  Wipe leaves
 * nothing, may be repeated, and a wiped state takes a key again. */
START_TEST(rekey_in_place_and_wipe)
{
	static struct ostp_aead a, fresh, zero;
	uint8_t k1[32], k2[32], iv[12] = { 0 }, aad[18] = { 0 }, pt[100], c1[100], c2[100],
		t1[16], t2[16];

	pattern(k1, sizeof(k1), 10);
	pattern(k2, sizeof(k2), 11);
	pattern(pt, sizeof(pt), 12);
	ck_assert_int_eq(ostp_aead_init(&a, k1), 0);
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, sizeof(aad), pt, sizeof(pt), c1, t1), 0);
	ck_assert_int_eq(ostp_aead_init(&a, k2), 0);
	ck_assert_int_eq(ostp_aead_init(&fresh, k2), 0);
	ck_assert_int_eq(ostp_aead_seal(&a, iv, aad, sizeof(aad), pt, sizeof(pt), c2, t2), 0);
	ck_assert(memcmp(c1, c2, sizeof(c1)) != 0);
	ck_assert_int_eq(ostp_aead_open(&fresh, iv, aad, sizeof(aad), c2, sizeof(c2), t2, c2), 0);
	ck_assert_mem_eq(c2, pt, sizeof(pt));
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), c1, sizeof(c1), t1, c2),
			 OSTP_E_TAG);
	ostp_aead_wipe(&a);
	ck_assert_mem_eq(&a, &zero, sizeof(a));
	ostp_aead_wipe(&a);
	ck_assert_mem_eq(&a, &zero, sizeof(a));
	ck_assert_int_eq(ostp_aead_init(&a, k1), 0);
	ck_assert_int_eq(ostp_aead_open(&a, iv, aad, sizeof(aad), c1, sizeof(c1), t1, c2), 0);
	ck_assert_mem_eq(c2, pt, sizeof(pt));
	ostp_aead_wipe(&a);
	ostp_aead_wipe(&fresh);
}
END_TEST

/* ostp_dir_copy gives the copy engine state of its own: wiping the original
 * leaves the copy working. */
START_TEST(dir_copy_independent)
{
	static struct ostp_dir tx, rx, copy;
	static uint8_t pt[64], ct[64], out[64];
	uint8_t key[32], hdr[OSTP_FRAME_HDR_LEN];
	struct ostp_frame_hdr fh;

	pattern(key, sizeof(key), 13);
	pattern(pt, sizeof(pt), 14);
	ck_assert_int_eq(ostp_dir_init(&tx, key), 0);
	ck_assert_int_eq(ostp_dir_init(&rx, key), 0);
	rx.counter = tx.counter = 5;
	ck_assert_int_eq(ostp_dir_copy(&copy, &rx), 0);
	ck_assert(copy.counter == 5);
	ostp_dir_wipe(&rx);
	ck_assert_int_eq(ostp_frame_seal(&tx, hdr, OSTP_MSG_DATA, 0, pt, sizeof(pt), ct), 0);
	ck_assert_int_eq(ostp_frame_parse_hdr(&copy, hdr, &fh), 0);
	ck_assert_int_eq(ostp_frame_open(&copy, hdr, ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, pt, sizeof(pt));
	ostp_dir_wipe(&copy);
	ostp_dir_wipe(&tx);
}
END_TEST

/* ---- no allocation per frame ---------------------------------------------------------- */

START_TEST(no_allocation_per_frame)
{
#if COUNT_ALLOCS
	static struct ostp_dir tx, rx;
	static uint8_t pt[4096], ct[4096], out[4096];
	uint8_t key[32], hdr[OSTP_FRAME_HDR_LEN];
	struct ostp_frame_hdr fh;
	unsigned long setup_allocs;

	pattern(key, sizeof(key), 15);
	pattern(pt, sizeof(pt), 16);
	/* the counter works: installing the first key allocates with OpenSSL,
	 * and a plain malloc is seen whatever the engine */
	allocs = 0;
	counting = 1;
	{
		void *volatile p = malloc(16);

		free(p);
	}
	ck_assert_int_eq(ostp_dir_init(&tx, key), 0);
	ck_assert_int_eq(ostp_dir_init(&rx, key), 0);
	counting = 0;
	setup_allocs = allocs;
	ck_assert_uint_ge(setup_allocs, 1);

	allocs = 0;
	counting = 1;
	for (int i = 0; i < 200; i++) {
		size_t len = (size_t)(i * 97) % sizeof(pt);
		int err = ostp_frame_seal(&tx, hdr, OSTP_MSG_DATA, 0, pt, len, ct);

		if (!err)
			err = ostp_frame_parse_hdr(&rx, hdr, &fh);
		if (!err)
			err = ostp_frame_open(&rx, hdr, ct, len, out);
		if (!err && i == 100) {
			/* a rekey reuses what the first key allocated */
			err = ostp_dir_rekey(&tx);
			if (!err)
				err = ostp_dir_rekey(&rx);
		}
		if (err) {
			counting = 0;
			ck_abort_msg("frame %d: %s", i, ostp_strerror(err));
		}
	}
	counting = 0;
	ck_assert_uint_eq(allocs, 0);
	ostp_dir_wipe(&tx);
	ostp_dir_wipe(&rx);
#endif
}
END_TEST

static Suite *aead_suite(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("engine");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	/* generous: valgrind or a loaded machine */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, engine_named);
	tcase_add_loop_test(tc, known_answers, 0, (int)(sizeof(kats) / sizeof(kats[0])));
	tcase_add_test(tc, agrees_with_libsodium);
	tcase_add_test(tc, tampered_fails_typed);
	tcase_add_test(tc, frame_tag_typed);
	tcase_add_test(tc, rekey_in_place_and_wipe);
	tcase_add_test(tc, dir_copy_independent);
	tcase_add_test(tc, no_allocation_per_frame);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(aead_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
