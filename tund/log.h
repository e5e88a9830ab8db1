/* SPDX-License-Identifier: ISC */
/* One line per event, to stderr (journald adds time and unit) or syslog. */
#ifndef OSTPD_LOG_H
#define OSTPD_LOG_H

#include "config.h"

void log_init(enum ostpd_log_target target, enum ostpd_log_level level);
void log_msg(enum ostpd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(OSTPD_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(OSTPD_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(OSTPD_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(OSTPD_LOG_ERROR, __VA_ARGS__)

#endif
