/* SPDX-License-Identifier: ISC */
/*
 * Temporary directories and files for the unit tests that work on real
 * files: a fresh directory per test, files written into it with a known
 * mode, and everything removed again afterwards.
 */
#ifndef OSTP_TEST_TMPFILES_H
#define OSTP_TEST_TMPFILES_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates /tmp/ostp-TAG-XXXXXX; dir gets its name. */
static inline void tmp_dir_create(char *dir, size_t size, const char *tag)
{
	ck_assert_int_lt(snprintf(dir, size, "/tmp/ostp-%s-XXXXXX", tag), (int)size);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Everything in the directory goes, so a leftover temporary file from a
 * failed rewrite does not keep the directory alive. */
static inline void tmp_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Writes content to p (created or truncated) with exactly the given mode,
 * whatever the umask. */
static inline void tmp_write_file(const char *p, const char *content, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(content);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Reads at most size - 1 bytes of p into buf, NUL-terminated. */
static inline void tmp_read_text(const char *p, char *buf, size_t size)
{
	int fd = open(p, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, size - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
}

#endif
