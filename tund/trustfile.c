/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "textfile.h"
#include "trustfile.h"

#define TRUST_FILE_MAX (4u << 20)

struct warn_ctx {
	const char *path;
};

static void warn_line(void *ctx, size_t line, const char *msg)
{
	const struct warn_ctx *w = ctx;

	log_warn("%s:%zu: %s", w->path, line, msg);
}

int trust_file_load(ostp_trust **out, const char *path, char *err, size_t errlen)
{
	struct warn_ctx w = { path };
	size_t len, bad_line = 0;
	char *buf;
	int rc;

	if (read_small_file(path, TRUST_FILE_MAX, &buf, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ostp_trust_parse(out, buf, len, &bad_line, warn_line, &w);
	free(buf);
	if (rc != OSTP_OK) {
		if (bad_line)
			snprintf(err, errlen, "%s:%zu: %s", path, bad_line, ostp_strerror(rc));
		else
			snprintf(err, errlen, "%s: %s", path, ostp_strerror(rc));
		return -1;
	}
	return 0;
}
