/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keylog.h"
#include "log.h"

/* One per process, like the log: every session of every role writes to
 * the same file. */
static int keylog_fd = -1;
static char keylog_path[4096];
static bool keylog_failed;

static void keylog_line(void *ctx, const char *line)
{
	char buf[256];
	size_t n = strlen(line);
	ssize_t w;
	int err;

	(void)ctx;
	if (keylog_fd < 0 || n + 1 > sizeof(buf))
		return;
	memcpy(buf, line, n);
	buf[n++] = '\n';
	/* one write of a whole line: O_APPEND keeps lines of concurrent
	 * writers (a client and a server logging to one file) whole */
	do
		w = write(keylog_fd, buf, n);
	while (w < 0 && errno == EINTR);
	err = errno;
	sodium_memzero(buf, sizeof(buf));
	if (w != (ssize_t)n && !keylog_failed) {
		keylog_failed = true;
		log_error("key_log %s: write failed: %s", keylog_path,
			  w < 0 ? strerror(err) : "short write");
	}
}

int keylog_open(const char *path)
{
	struct stat st;

	keylog_close();
	if (!path || !path[0])
		return 0;
	keylog_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			 O_NOCTTY, 0600);
	if (keylog_fd < 0) {
		int err = errno;

		log_error("key_log %s: %s", path, strerror(err));
		return -err;
	}
	snprintf(keylog_path, sizeof(keylog_path), "%s", path);
	log_warn("key_log is ON: the traffic keys of every session go to %s, and anyone who "
		 "can read that file decrypts those sessions; for debugging captures only, "
		 "never in production", path);
	if (fstat(keylog_fd, &st) == 0 && (st.st_mode & 077))
		log_warn("key_log %s can be read by others than its owner (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
	return 0;
}

struct ostp_keylog keylog_hook(void)
{
	struct ostp_keylog k = { NULL, NULL };

	if (keylog_fd >= 0)
		k.line = keylog_line;
	return k;
}

void keylog_close(void)
{
	if (keylog_fd >= 0)
		close(keylog_fd);
	keylog_fd = -1;
}
