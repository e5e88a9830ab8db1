/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* Set once at start-up, before any thread exists, so plain statics do. */
static enum ostpd_log_target log_target = OSTPD_LOG_STDERR;
static enum ostpd_log_level log_level = OSTPD_LOG_INFO;
static int syslog_open;

/* Kept under PIPE_BUF so a line written to a pipe (journald's stdout
 * stream) stays in one piece even when several processes share it. */
#define LOG_LINE_MAX 1024

static const char *level_name(enum ostpd_log_level level)
{
	switch (level) {
	case OSTPD_LOG_DEBUG: return "DEBUG";
	case OSTPD_LOG_INFO:  return "INFO";
	case OSTPD_LOG_WARN:  return "WARN";
	case OSTPD_LOG_ERROR: return "ERROR";
	}
	return "ERROR";
}

static int syslog_priority(enum ostpd_log_level level)
{
	switch (level) {
	case OSTPD_LOG_DEBUG: return LOG_DEBUG;
	case OSTPD_LOG_INFO:  return LOG_INFO;
	case OSTPD_LOG_WARN:  return LOG_WARNING;
	case OSTPD_LOG_ERROR: return LOG_ERR;
	}
	return LOG_ERR;
}

void log_init(enum ostpd_log_target target, enum ostpd_log_level level)
{
	if (target == OSTPD_LOG_SYSLOG && !syslog_open) {
		openlog("ostpd", LOG_PID, LOG_DAEMON);
		syslog_open = 1;
	} else if (target != OSTPD_LOG_SYSLOG && syslog_open) {
		closelog();
		syslog_open = 0;
	}
	log_target = target;
	log_level = level;
}

/* Names and messages can come from the network; a newline or an escape
 * sequence in one must not start a forged line or repaint a terminal. */
static void strip_controls(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/* One write() per line: stdio could split a long line into several writes
 * that interleave with another writer's. */
static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

void log_msg(enum ostpd_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved_errno = errno;   /* callers log and then report errno */
	size_t prefix, len;
	va_list ap;
	int n;

	if (level < log_level)
		return;
	prefix = (size_t)snprintf(line, sizeof(line), "%s: ", level_name(level));
	/* vsnprintf after the prefix so %m still sees the caller's errno. */
	errno = saved_errno;
	va_start(ap, fmt);
	n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len = prefix + (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;   /* truncated; room left for "\n" */
	line[len] = '\0';
	strip_controls(line + prefix);

	if (log_target == OSTPD_LOG_SYSLOG) {
		syslog(syslog_priority(level), "%s", line + prefix);
	} else {
		line[len++] = '\n';
		write_all(STDERR_FILENO, line, len);
	}
	errno = saved_errno;
}
