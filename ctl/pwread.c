/* SPDX-License-Identifier: ISC */
/*
 * Reading a password for `ostpctl passwd`: from the terminal with echo off,
 * or one line from a non-terminal stdin (scripts).  A line ends at the
 * first CR or LF, as for `ostpd -P` and the client's password file, so the
 * hash always matches what a client will send.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pwread.h"

/* One line from fd, one byte at a time so nothing after the line is
 * consumed.  The length, or -1 (errno EINTR when a signal cut it short,
 * E2BIG when longer than size - 1). */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	int too_long = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
		else
			too_long = 1;
	}
	buf[n] = '\0';
	if (too_long) {
		errno = E2BIG;
		return -1;
	}
	return (ssize_t)strcspn(buf, "\r");
}

static volatile sig_atomic_t got_signal;
static int io_errno;            /* errno of the last PW_ERR_IO */

static void put(int fd, const char *s)
{
	/* A prompt that cannot be shown does not stop the read. */
	ssize_t r = write(fd, s, strlen(s));

	(void)r;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Prompts on the terminal and reads with echo off.  A signal (Ctrl-C)
 * interrupts the read without SA_RESTART, so the echo is turned back on
 * before the signal is delivered again with its usual effect. */
static ssize_t read_tty(int tty, const char *prompt, char *buf, size_t size)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa = { .sa_handler = on_signal }, old[5];
	struct termios t, quiet;
	ssize_t n;
	int e;

	if (tcgetattr(tty, &t) < 0)
		return -1;
	quiet = t;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	got_signal = 0;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, &old[i]);
	/* Echo off before the prompt appears: the flush only drops what was
	 * typed before it, never an answer to it. */
	if (tcsetattr(tty, TCSAFLUSH, &quiet) < 0) {
		n = -1;
	} else {
		put(tty, prompt);
		n = read_line(tty, buf, size);
	}
	e = errno;
	tcsetattr(tty, TCSADRAIN, &t);
	/* The user's Enter was not echoed. */
	put(tty, "\n");
	for (size_t i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (got_signal)
		raise(got_signal);
	errno = got_signal ? EINTR : e;
	return n;
}

/* Maps a read_line()/read_tty() result to a PW_ERR_* value or 0. */
static int check(ssize_t n)
{
	if (n < 0) {
		io_errno = errno;
		return errno == E2BIG ? PW_ERR_LONG : PW_ERR_IO;
	}
	if (n == 0)
		return PW_ERR_EMPTY;
	return n > OSTP_PASS_MAX ? PW_ERR_LONG : 0;
}

int pw_read(const char *user, char pw[OSTP_PASS_MAX + 2], size_t *len)
{
	char prompt[128], again[OSTP_PASS_MAX + 2];
	ssize_t n, m = 0;
	int tty, rc;

	if (!isatty(STDIN_FILENO)) {
		n = read_line(STDIN_FILENO, pw, OSTP_PASS_MAX + 2);
		rc = check(n);
		if (rc == 0)
			*len = (size_t)n;
		return rc;
	}
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		io_errno = errno;
		return PW_ERR_IO;
	}
	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
	n = read_tty(tty, prompt, pw, OSTP_PASS_MAX + 2);
	rc = check(n);
	if (rc == 0) {
		m = read_tty(tty, "Again: ", again, sizeof(again));
		rc = check(m);
		/* Any second answer that differs is a mismatch, whatever
		 * else is wrong with it. */
		if (rc != PW_ERR_IO && (rc != 0 || m != n ||
					memcmp(pw, again, (size_t)n) != 0))
			rc = PW_ERR_MISMATCH;
	}
	if (rc == 0)
		*len = (size_t)n;
	sodium_memzero(again, sizeof(again));
	close(tty);
	return rc;
}

const char *pw_strerror(int rc)
{
	switch (rc) {
	case PW_ERR_EMPTY: return "an empty password is refused";
	case PW_ERR_LONG: return "password longer than 256 bytes";
	case PW_ERR_MISMATCH: return "the passwords do not match";
	}
	return io_errno ? strerror(io_errno) : "cannot read the password";
}
