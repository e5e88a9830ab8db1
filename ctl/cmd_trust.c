/* SPDX-License-Identifier: ISC */
/*
 * ostpctl trust add|del|list [USER] [dev IFNAME]
 *
 * Edits the server's trusted users list in place (trustedit.h) and has the
 * running daemon reload it; the daemon then closes the sessions of users
 * no longer listed.  add is idempotent so provisioning scripts can re-run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "trustedit.h"

static void file_error(const char *what, const char *path, int err)
{
	char why[512];

	snprintf(why, sizeof(why), "%s: %s", path,
		 err == EINVAL ? "not a regular file"
		 : err == EFBIG ? "larger than 4 MiB" : strerror(err));
	ctl_err(what, why);
}

static void edit_error(const char *what, const char *path, const char *user,
		       int rc, size_t bad_line)
{
	char why[512];

	if (rc == TE_INVALID && bad_line > 0)
		snprintf(why, sizeof(why), "%s:%zu: not a user name or a // comment; "
			 "fix the line first", path, bad_line);
	else if (rc == TE_INVALID)
		snprintf(why, sizeof(why), "%s: too many names or too large", path);
	else if (rc == TE_ABSENT)
		snprintf(why, sizeof(why), "%s is not trusted", user);
	else
		snprintf(why, sizeof(why), "%s", trust_text_strerror(rc));
	ctl_err(what, why);
}

/* Read, edit and replace the list under the directory lock.  0, or the exit
 * status after printing why. */
static int edit_file(const char *what, const char *path, const char *user,
		     int add)
{
	struct stat st;
	char *buf = NULL, *out = NULL, err[512];
	size_t len = 0, outlen = 0, bad_line = 0;
	int lock, rc, exists = 1, status = EXIT_FAIL;

	lock = trust_file_lock(path);
	if (lock < 0) {
		file_error(what, path, -lock);
		return EXIT_FAIL;
	}
	rc = trust_file_read(path, &buf, &len, &st);
	if (rc < 0) {
		/* A missing list is an empty one for add: the first user
		 * creates it.  del has nothing to remove from. */
		if (rc != -ENOENT || !add) {
			file_error(what, path, -rc);
			goto out;
		}
		exists = 0;
	}
	rc = add ? trust_text_add(buf, len, user, &out, &outlen, &bad_line)
		 : trust_text_del(buf, len, user, &out, &outlen, &bad_line);
	if (rc == TE_PRESENT) {
		/* Idempotent: the state the caller asked for already holds
		 * (the caller still reloads, in case the file was edited by
		 * hand and never reloaded). */
		char why[128];

		snprintf(why, sizeof(why), "%s is already trusted", user);
		ctl_err(what, why);
		status = 0;
		goto out;
	}
	if (rc != TE_OK) {
		edit_error(what, path, user, rc, bad_line);
		goto out;
	}
	if (trust_file_write(path, out, outlen, exists ? &st : NULL, err,
			     sizeof(err)) < 0) {
		ctl_err(what, err);
		goto out;
	}
	status = 0;
out:
	free(buf);
	free(out);
	close(lock);
	return status;
}

static int trust_list(const struct ostpd_config *cfg)
{
	const char *path = cfg->server.trust_file;
	struct stat st;
	char *buf = NULL, *out = NULL;
	size_t len = 0, outlen = 0, bad_line = 0;
	int rc;

	rc = trust_file_read(path, &buf, &len, &st);
	if (rc < 0) {
		file_error("trust list", path, -rc);
		return EXIT_FAIL;
	}
	rc = trust_text_list(buf, len, &out, &outlen, &bad_line);
	free(buf);
	if (rc != TE_OK) {
		edit_error("trust list", path, NULL, rc, bad_line);
		return EXIT_FAIL;
	}
	if (ctl_opts.json) {
		/* Names are [A-Za-z0-9._-] only: nothing needs escaping. */
		char *p = out, *nl;

		fputs("[", stdout);
		for (int first = 1; (nl = strchr(p, '\n')) != NULL; p = nl + 1, first = 0)
			printf("%s\"%.*s\"", first ? "" : ",", (int)(nl - p), p);
		fputs("]\n", stdout);
	} else {
		fwrite(out, 1, outlen, stdout);
	}
	free(out);
	return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
}

int cmd_trust(int argc, char **argv)
{
	struct ostpd_config cfg;
	const char *sub, *user = NULL, *dev = NULL;
	char what[32];
	int rc, add;

	if (argc < 2)
		return ctl_usage_error("trust");
	/* argv[0] is "trust"; main.c has answered "trust help". */
	sub = argv[1];
	/* "delete" and "show" as route and peer accept them. */
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0) {
		if (argc != 2 && !(argc == 4 && strcmp(argv[2], "dev") == 0))
			return ctl_usage_error("trust");
		rc = admin_config("trust list", argc == 4 ? argv[3] : NULL, &cfg);
		if (rc != 0)
			return rc;
		rc = trust_list(&cfg);
		config_free(&cfg);
		return rc;
	}
	if (strcmp(sub, "delete") == 0)
		sub = "del";
	if (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0) {
		fprintf(stderr, "ostpctl: trust: unknown command '%s'\n", sub);
		return ctl_usage_error("trust");
	}
	add = strcmp(sub, "add") == 0;
	snprintf(what, sizeof(what), "trust %s", sub);
	if (admin_user_dev(argc - 2, argv + 2, &user, &dev) < 0)
		return ctl_usage_error("trust");
	/* Argument checks first: a bad name is a usage error even for a
	 * caller who could not have made the change anyway. */
	if (admin_check_user(what, user) < 0)
		return EXIT_USAGE;
	if (ctl_need_root(what) < 0)
		return EXIT_FAIL;
	rc = admin_config(what, dev, &cfg);
	if (rc != 0)
		return rc;
	rc = edit_file(what, cfg.server.trust_file, user, add);
	if (rc == 0)
		rc = admin_reload(what, &cfg);
	config_free(&cfg);
	return rc;
}
