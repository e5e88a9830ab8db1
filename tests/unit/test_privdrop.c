/* SPDX-License-Identifier: ISC */
/*
 * privdrop() cannot be undone, so every call happens in a forked child and
 * the test process only reads the child's exit status.  The child never
 * uses Check's assertions: with CK_FORK=no they would unwind into the
 * parent's runner from inside the child.
 */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"

/* Child exit codes, each naming the check that failed. */
enum {
	OK = 0,
	E_PRIVDROP = 10,
	E_STILL_ROOT,
	E_GROUPS,
	E_SETUID_WORKS,
	E_CAPGET,
	E_NO_NET_ADMIN,
	E_EXTRA_CAPS,
	E_PRCTL,
	E_NET_ADMIN_UNUSABLE,
	E_UNEXPECTED,
	E_SETUP,
};

static const char *why(int code)
{
	switch (code) {
	case E_PRIVDROP:      return "privdrop() failed";
	case E_STILL_ROOT:    return "uid or gid still 0, or not nobody's";
	case E_GROUPS:        return "supplementary groups are not nobody's own";
	case E_SETUID_WORKS:  return "setuid(0) succeeded after the drop";
	case E_CAPGET:        return "capget failed";
	case E_NO_NET_ADMIN:  return "CAP_NET_ADMIN not effective";
	case E_EXTRA_CAPS:    return "capabilities besides CAP_NET_ADMIN kept";
	case E_PRCTL:         return "KEEPCAPS still set or NO_NEW_PRIVS not set";
	case E_NET_ADMIN_UNUSABLE: return "SO_MARK (needs CAP_NET_ADMIN) refused";
	case E_UNEXPECTED:    return "unexpected privdrop() result";
	case E_SETUP:         return "setgroups() before the drop failed";
	}
	return "unknown exit status";
}

static int run_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn());  /* _exit: no atexit handlers or leak check twice */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child killed by signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

static int drop_to_nobody(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned idx = CAP_TO_INDEX(CAP_NET_ADMIN);
	uint32_t bit = CAP_TO_MASK(CAP_NET_ADMIN);
	struct passwd *pw = getpwnam("nobody");
	uid_t want_uid = pw->pw_uid;
	gid_t want_gid = pw->pw_gid;
	gid_t extra[2] = { 0, 4 }, want[64], got[64];
	int n_want = 64, n_got;
	char err[256] = "";
	int fd, mark = 1;

	/* nobody's groups as the group database lists them: what it must
	 * end with, whatever root had */
	if (getgrouplist("nobody", want_gid, want, &n_want) < 0)
		return E_SETUP;
	/* Root's supplementary groups, so there is something to clear. */
	if (setgroups(2, extra) != 0)
		return E_SETUP;
	if (privdrop("nobody", err, sizeof(err)) != 0) {
		fprintf(stderr, "privdrop: %s\n", err);
		return E_PRIVDROP;
	}
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0 ||
	    getuid() != want_uid || getgid() != want_gid)
		return E_STILL_ROOT;
	n_got = getgroups(64, got);
	if (n_got < 0 || n_got > n_want)
		return E_GROUPS;
	for (int i = 0; i < n_got; i++) {
		bool listed = false;

		if (got[i] == 0)
			return E_GROUPS;
		for (int j = 0; j < n_want; j++)
			listed = listed || got[i] == want[j];
		if (!listed)
			return E_GROUPS;
	}
	if (setuid(0) == 0 || seteuid(0) == 0)
		return E_SETUID_WORKS;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return E_CAPGET;
	if (!(data[idx].effective & bit) || !(data[idx].permitted & bit))
		return E_NO_NET_ADMIN;
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t allowed = i == idx ? bit : 0;

		if ((data[i].effective | data[i].permitted) & ~allowed ||
		    data[i].inheritable != 0)
			return E_EXTRA_CAPS;
	}
	if (prctl(PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1)
		return E_PRCTL;
	/* The capability is not only listed but honoured by the kernel. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
		fprintf(stderr, "SO_MARK: %s\n", strerror(errno));
		return E_NET_ADMIN_UNUSABLE;
	}
	close(fd);
	return OK;
}

START_TEST(drops_root_keeps_net_admin)
{
	int code;

	if (geteuid() != 0) {
		printf("test_privdrop: not root, privilege drop not exercised\n");
		return;
	}
	if (getpwnam("nobody") == NULL) {
		printf("test_privdrop: no user \"nobody\", privilege drop not exercised\n");
		return;
	}
	code = run_child(drop_to_nobody);
	ck_assert_msg(code == OK, "child: %s (exit %d)", why(code), code);
}
END_TEST

static int empty_user_is_noop(void)
{
	uid_t before = getuid();
	char err[64] = "";

	if (privdrop("", err, sizeof(err)) != 0 || getuid() != before)
		return E_UNEXPECTED;
	return OK;
}

static int unknown_user_refused(void)
{
	uid_t before = getuid();
	char err[256] = "";

	if (privdrop("ostp-no-such-user", err, sizeof(err)) != -1 ||
	    getuid() != before || strstr(err, "ostp-no-such-user") == NULL) {
		fprintf(stderr, "err: %s\n", err);
		return E_UNEXPECTED;
	}
	return OK;
}

/* Dropping "to" root would pass every step and change nothing. */
static int root_refused(void)
{
	char err[256] = "";

	if (privdrop("root", err, sizeof(err)) != -1 || err[0] == '\0')
		return E_UNEXPECTED;
	return OK;
}

START_TEST(empty_user)
{
	int code = run_child(empty_user_is_noop);

	ck_assert_msg(code == OK, "child: %s (exit %d)", why(code), code);
}
END_TEST

START_TEST(unknown_user)
{
	int code = run_child(unknown_user_refused);

	ck_assert_msg(code == OK, "child: %s (exit %d)", why(code), code);
}
END_TEST

START_TEST(root_user)
{
	int code;

	if (getpwnam("root") == NULL)
		return;
	code = run_child(root_refused);
	ck_assert_msg(code == OK, "child: %s (exit %d)", why(code), code);
}
END_TEST

static Suite *privdrop_suite(void)
{
	Suite *s = suite_create("privdrop");
	TCase *tc = tcase_create("child");

	tcase_add_test(tc, drops_root_keeps_net_admin);
	tcase_add_test(tc, empty_user);
	tcase_add_test(tc, unknown_user);
	tcase_add_test(tc, root_user);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(privdrop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
