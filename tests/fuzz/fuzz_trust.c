/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the trusted users list parser and its lookups. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ostp.h"

static void count_warning(void *ctx, size_t line, const char *msg)
{
	size_t *n = ctx;

	/* Touch both so a bad pointer or line shows up under ASan. */
	if (line == 0 || msg == NULL || strlen(msg) == 0)
		__builtin_trap();
	(*n)++;
}

static void check_lookups(const ostp_trust *t)
{
	size_t n = ostp_trust_count(t);

	/* Every listed name must be found, and nothing outside the list. */
	for (size_t i = 0; i < n; i++) {
		const char *name = ostp_trust_name(t, i);

		if (name == NULL || !ostp_trust_contains(t, name) ||
		    !ostp_username_valid(name, strlen(name)))
			__builtin_trap();
		if (i > 0 && strcmp(ostp_trust_name(t, i - 1), name) >= 0)
			__builtin_trap();
	}
	if (ostp_trust_name(t, n) != NULL)
		__builtin_trap();
	(void)ostp_trust_contains(t, "root");
	(void)ostp_trust_contains(t, "ian");
	(void)ostp_trust_contains(t, "");
	(void)ostp_trust_contains(t, "-bad name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ostp_trust *t = NULL;
	size_t bad = 0, warnings = 0;
	int rc = ostp_trust_parse(&t, (const char *)data, size, &bad,
				  count_warning, &warnings);

	if (rc == OSTP_OK) {
		check_lookups(t);
		ostp_trust_free(t);
	} else if (t != NULL || (rc == OSTP_E_SYNTAX && bad == 0)) {
		__builtin_trap();
	}
	return 0;
}
