/* SPDX-License-Identifier: ISC */
/*
 * ostpctl passwd USER [dev IFNAME]
 *
 * Stores the Argon2id hash of a new password in the server's password file
 * (pwfile_set replaces the file atomically) and has the running daemon
 * reload it, so the old password stops working at once.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "ostp.h"
#include "passwd.h"
#include "pwread.h"
#include "trustedit.h"

/* Setting a password for a user who is not listed is allowed (the list
 * may be edited next), but the operator is told that it does not let the
 * user in yet.  An unreadable list is the daemon's problem, not ours. */
static void note_untrusted(const char *user, const char *trust_file)
{
	struct stat st;
	char *buf = NULL, *out = NULL;
	size_t len = 0, outlen = 0;

	if (trust_file_read(trust_file, &buf, &len, &st) < 0)
		return;
	/* add reports TE_PRESENT exactly when the user is listed. */
	if (trust_text_add(buf, len, user, &out, &outlen, NULL) == TE_OK)
		fprintf(stderr, "ostpctl: passwd: note: %s is not in the trusted users "
			"list %s; 'ostpctl trust add %s' lets it in\n",
			user, trust_file, user);
	free(out);
	free(buf);
}

static int store(const char *user, const struct ostpd_config *cfg)
{
	char pw[OSTP_PASS_MAX + 2], hash[128], err[512];
	size_t len = 0;
	int rc = pw_read(user, pw, &len);

	if (rc == 0 && ostp_pw_hash(hash, pw, len) != OSTP_OK) {
		ctl_err("passwd", "hashing the password failed");
		rc = EXIT_FAIL;
	} else if (rc != 0) {
		ctl_err("passwd", pw_strerror(rc));
		rc = EXIT_FAIL;
	}
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		return rc;
	if (pwfile_set(cfg->server.password_file, user, hash, err, sizeof(err)) < 0) {
		ctl_err("passwd", err);
		rc = EXIT_FAIL;
	}
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int cmd_passwd(int argc, char **argv)
{
	struct ostpd_config cfg;
	const char *user, *dev;
	int rc;

	/* main.c has answered "passwd help"; argv[0] is "passwd". */
	if (admin_user_dev(argc - 1, argv + 1, &user, &dev) < 0)
		return ctl_usage_error("passwd");
	if (admin_check_user("passwd", user) < 0)
		return EXIT_USAGE;
	if (ctl_need_root("passwd") < 0)
		return EXIT_FAIL;
	rc = admin_config("passwd", dev, &cfg);
	if (rc != 0)
		return rc;
	if (cfg.server.pam_service && cfg.server.pam_service[0]) {
		char why[200];

		snprintf(why, sizeof(why), "passwords are checked by PAM service %s: change "
			 "them where that service keeps them", cfg.server.pam_service);
		ctl_err("passwd", why);
		config_free(&cfg);
		return EXIT_FAIL;
	}
	if (cfg.server.password_file == NULL || !cfg.server.password_file[0]) {
		ctl_err("passwd", "the server section names no password_file");
		config_free(&cfg);
		return EXIT_FAIL;
	}
	note_untrusted(user, cfg.server.trust_file);
	rc = store(user, &cfg);
	if (rc == 0)
		rc = admin_reload("passwd", &cfg);
	config_free(&cfg);
	return rc;
}
