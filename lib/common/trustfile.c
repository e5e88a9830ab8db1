/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfile.h"
#include "trustfile.h"

#define TRUST_FILE_MAX (4u << 20)

struct warn_ctx {
	const char *path;
	trust_file_warn_fn fn;
	void *ctx;
};

static void warn_line(void *ctx, size_t line, const char *msg)
{
	const struct warn_ctx *w = ctx;
	char text[512];

	snprintf(text, sizeof(text), "%s:%zu: %s", w->path, line, msg);
	w->fn(w->ctx, text);
}

int trust_file_load(ostp_trust **out, const char *path, trust_file_warn_fn warn,
		    void *ctx, char *err, size_t errlen)
{
	struct warn_ctx w = { path, warn, ctx };
	size_t len, bad_line = 0;
	char *buf;
	int rc;

	rc = read_small_file(path, TRUST_FILE_MAX, &buf, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = ostp_trust_parse(out, buf, len, &bad_line, warn ? warn_line : NULL, &w);
	free(buf);
	if (rc == OSTP_OK)
		return 0;
	if (bad_line)
		snprintf(err, errlen, "%s:%zu: %s", path, bad_line, ostp_strerror(rc));
	else
		snprintf(err, errlen, "%s: %s", path, ostp_strerror(rc));
	return rc == OSTP_E_NOMEM ? -ENOMEM : rc == OSTP_E_LONG ? -EFBIG : -EINVAL;
}
