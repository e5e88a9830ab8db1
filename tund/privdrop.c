/* SPDX-License-Identifier: ISC */
/*
 * Capabilities belong to a thread, and only the calling thread's are set
 * here: privdrop() must run before any other thread is started.
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "privdrop.h"

static int keep_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned idx = CAP_TO_INDEX(CAP_NET_ADMIN);

	memset(data, 0, sizeof(data));
	data[idx].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	data[idx].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	/* Inheritable stays empty: nothing the daemon might exec gets it. */
	return (int)syscall(SYS_capset, &hdr, data);
}

/* "what: why" in err; -errno of the call that failed. */
static int syscall_failed(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int syscall_failed(char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	snprintf(err + n, errlen - n, ": %s", strerror(e));
	return -e;
}

int privdrop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		int e = errno;

		if (e != 0)
			snprintf(err, errlen, "user %s: %s", user, strerror(e));
		else
			snprintf(err, errlen, "unknown user %s", user);
		/* the daemon may not run as a user that is not there */
		return -EPERM;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root; name an unprivileged user", user);
		return -EPERM;
	}
	/* Without KEEPCAPS the setuid() below empties the permitted set,
	 * and CAP_NET_ADMIN could never be raised again. */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return syscall_failed(err, errlen, "prctl(PR_SET_KEEPCAPS)");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	/* Supplementary groups first (root's would otherwise survive), then
	 * the group while still allowed to change it, then the user.  The
	 * user's own groups from the group database, as a login would have
	 * them: that is how an operator grants ostpd read access to what a
	 * PAM module reads (group shadow for pam_unix), since the setuid and
	 * setgid helpers do not work under NO_NEW_PRIVS. */
	if (initgroups(user, gid) < 0)
		return syscall_failed(err, errlen, "initgroups(%s)", user);
	if (setgid(gid) < 0)
		return syscall_failed(err, errlen, "setgid(%lu)", (unsigned long)gid);
	if (setuid(uid) < 0)
		return syscall_failed(err, errlen, "setuid(%lu)", (unsigned long)uid);
	if (keep_net_admin() < 0)
		return syscall_failed(err, errlen, "capset");
	/* An inherited ambient set would hand capabilities to anything the
	 * daemon runs; EINVAL only means a kernel without ambient sets. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0 &&
	    errno != EINVAL)
		return syscall_failed(err, errlen, "prctl(PR_CAP_AMBIENT)");
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return syscall_failed(err, errlen, "prctl(PR_SET_KEEPCAPS)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return syscall_failed(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* Proof rather than trust: if root can still be had back, something
	 * above did not do what it claimed and the daemon must not run. */
	if (setuid(0) == 0) {
		snprintf(err, errlen, "still able to regain root after dropping to %s", user);
		return -EPERM;
	}
	return 0;
}
