/* SPDX-License-Identifier: ISC */
/*
 * The PAM check against real PAM stacks: service files written into a
 * temporary directory (pam_start_confdir), with the modules of
 * libpam-modules (pam_permit, pam_deny, pam_succeed_if, pam_access and
 * pam_userdb over a Berkeley DB made with db_load), so no system account
 * and no file in the system's PAM directory is ever involved.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pamcheck.h"
#include "tmpfiles.h"

static char dir[128];

/* ---- the conversation --------------------------------------------------- */

static int converse(const struct pam_message *msgs, int n, const char *pw, size_t len,
		    struct pam_response **resp)
{
	const struct pam_message *ptrs[8];
	struct pamcheck_secret sec = { .pass = pw, .len = len };

	for (int i = 0; i < n; i++)
		ptrs[i] = &msgs[i];
	return pamcheck_conv(n, ptrs, resp, &sec);
}

static void free_resp(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

START_TEST(conv_hidden_prompt_gets_password)
{
	struct pam_message m[] = { { PAM_PROMPT_ECHO_OFF, "Password: " } };
	struct pam_response *r = NULL;
	/* only len bytes are the password: the buffer is not a C string */
	const char buf[] = "s3cret-and-more";

	ck_assert_int_eq(converse(m, 1, buf, 6, &r), PAM_SUCCESS);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r[0].resp, "s3cret");
	ck_assert_int_eq(r[0].resp_retcode, 0);
	free_resp(r, 1);
}
END_TEST

START_TEST(conv_messages_dropped)
{
	struct pam_message m[] = {
		{ PAM_TEXT_INFO, "Last login: never" },
		{ PAM_PROMPT_ECHO_OFF, "Password: " },
		{ PAM_ERROR_MSG, "Your password expires soon" },
		{ PAM_PROMPT_ECHO_OFF, "Password again: " },
	};
	struct pam_response *r = NULL;

	ck_assert_int_eq(converse(m, 4, "pw", 2, &r), PAM_SUCCESS);
	ck_assert_ptr_null(r[0].resp);
	ck_assert_str_eq(r[1].resp, "pw");
	ck_assert_ptr_null(r[2].resp);
	ck_assert_str_eq(r[3].resp, "pw");
	free_resp(r, 4);
}
END_TEST

START_TEST(conv_visible_prompt_fails)
{
	struct pam_message m[] = {
		{ PAM_PROMPT_ECHO_OFF, "Password: " },
		{ PAM_PROMPT_ECHO_ON, "login: " },
	};
	struct pam_response *r = (struct pam_response *)&m;   /* must stay untouched */

	ck_assert_int_eq(converse(m, 2, "pw", 2, &r), PAM_CONV_ERR);
	ck_assert_ptr_eq(r, (struct pam_response *)&m);
	m[1].msg_style = 0x7fff;   /* a style this PAM does not know */
	ck_assert_int_eq(converse(m, 2, "pw", 2, &r), PAM_CONV_ERR);
	ck_assert_ptr_eq(r, (struct pam_response *)&m);
}
END_TEST

START_TEST(conv_bad_counts)
{
	struct pam_message m[] = { { PAM_PROMPT_ECHO_OFF, "Password: " } };
	struct pam_response *r = NULL;

	ck_assert_int_eq(converse(m, 0, "pw", 2, &r), PAM_CONV_ERR);
	ck_assert_int_eq(pamcheck_conv(-1, NULL, &r, NULL), PAM_CONV_ERR);
	ck_assert_ptr_null(r);
}
END_TEST

START_TEST(rhost_from_endpoint)
{
	char h[64];

	pamcheck_rhost("198.18.0.2:40000", h, sizeof(h));
	ck_assert_str_eq(h, "198.18.0.2");
	pamcheck_rhost("[fd00:1::2]:40000", h, sizeof(h));
	ck_assert_str_eq(h, "fd00:1::2");
	pamcheck_rhost("fd00:1::2", h, sizeof(h));
	ck_assert_str_eq(h, "");
	pamcheck_rhost("[fd00:1::2]", h, sizeof(h));
	ck_assert_str_eq(h, "");
	pamcheck_rhost("noport", h, sizeof(h));
	ck_assert_str_eq(h, "");
	pamcheck_rhost(":7000", h, sizeof(h));
	ck_assert_str_eq(h, "");
	pamcheck_rhost("198.18.0.2:40000", h, 5);
	ck_assert_str_eq(h, "");
}
END_TEST

/* ---- real stacks -------------------------------------------------------- */

static void service(const char *name, const char *text)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	tmp_write_file(p, text, 0644);
}

static enum pamcheck_verdict check(const char *svc, const char *user, const char *rhost,
				   const char *pw, size_t len, char *why, size_t whylen)
{
	why[0] = '\0';
	return pamcheck(svc, dir, user, rhost, pw, len, why, whylen);
}

static void setup(void)
{
	tmp_dir_create(dir, sizeof(dir), "pam");
}

static void teardown(void)
{
	tmp_dir_remove(dir);
}

START_TEST(permit_and_deny)
{
	char why[160];

	service("allow", "auth required pam_permit.so\naccount required pam_permit.so\n");
	service("deny", "auth required pam_deny.so\naccount required pam_permit.so\n");
	service("noacct", "auth required pam_permit.so\naccount required pam_deny.so\n");
	ck_assert_int_eq(check("allow", "ian", NULL, "pw", 2, why, sizeof(why)), PAMCHECK_OK);
	ck_assert_int_eq(check("deny", "ian", NULL, "pw", 2, why, sizeof(why)), PAMCHECK_DENIED);
	ck_assert_msg(strstr(why, "authentication") != NULL, "why: %s", why);
	/* a right password is not enough when the account may not log in */
	ck_assert_int_eq(check("noacct", "ian", NULL, "pw", 2, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_msg(strstr(why, "account") != NULL, "why: %s", why);
}
END_TEST

/* The name PAM sees is the one the client sent. */
START_TEST(user_reaches_modules)
{
	char why[160];

	service("onlyian", "auth required pam_succeed_if.so quiet user = ian\n"
		"account required pam_permit.so\n");
	ck_assert_int_eq(check("onlyian", "ian", NULL, "pw", 2, why, sizeof(why)), PAMCHECK_OK);
	ck_assert_int_eq(check("onlyian", "bob", NULL, "pw", 2, why, sizeof(why)),
			 PAMCHECK_DENIED);
}
END_TEST

/* The client's address reaches the modules as PAM_RHOST.  pam_access
 * looks the user up in the system's user database (only reads it), so the
 * name here is one that every system has. */
START_TEST(rhost_reaches_modules)
{
	char why[160], svc[512], p[256];

	snprintf(p, sizeof(p), "%s/access.conf", dir);
	tmp_write_file(p, "-:ALL:198.18.0.9\n+:ALL:ALL\n", 0644);
	snprintf(svc, sizeof(svc), "auth required pam_permit.so\n"
		 "account required pam_access.so nodefgroup accessfile=%s\n", p);
	service("byhost", svc);
	ck_assert_msg(check("byhost", "nobody", "198.18.0.2", "pw", 2, why, sizeof(why)) ==
		      PAMCHECK_OK, "why: %s", why);
	ck_assert_int_eq(check("byhost", "nobody", "198.18.0.9", "pw", 2, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_int_eq(check("byhost", "nobody", NULL, "pw", 2, why, sizeof(why)),
			 PAMCHECK_OK);
}
END_TEST

/* A stack that cannot run is an error, not a refusal, and says so once. */
START_TEST(broken_stack)
{
	char why[160], log[256], buf[4096];
	int saved, fd;
	FILE *fp;
	size_t n;
	const char *p;
	int lines = 0;

	service("broken", "auth required pam_ostp_test_no_such_module.so\n"
		"account required pam_permit.so\n");
	snprintf(log, sizeof(log), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(check("broken", "ian", NULL, "pw", 2, why, sizeof(why)),
				 PAMCHECK_ERROR);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_msg(strstr(why, "PAM error") != NULL, "why: %s", why);

	fp = fopen(log, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, "ERROR: PAM service broken: ")) != NULL; p++)
		lines++;
	ck_assert_msg(lines == 1, "want one logged PAM error, got %d:\n%s", lines, buf);
	ck_assert_msg(strstr(buf, "(user ian)") != NULL, "log: %s", buf);
}
END_TEST

/* A service file that is not there: PAM falls back to "other", which is
 * absent too. */
START_TEST(missing_service)
{
	char why[160];

	ck_assert_int_eq(check("absent", "ian", NULL, "pw", 2, why, sizeof(why)), PAMCHECK_ERROR);
	ck_assert_msg(strstr(why, "/absent nor ") != NULL && strstr(why, "/other") != NULL,
		      "why: %s", why);
}
END_TEST

static bool have_db_load(void)
{
	return system("command -v db_load > /dev/null 2>&1") == 0;
}

/* pam_userdb asks for the password through the conversation and compares
 * it with the database: right, wrong, unknown user, and a password that
 * is right only up to a NUL byte. */
START_TEST(userdb)
{
	char why[160], cmd[512], svc[512];

	if (!have_db_load()) {
		printf("test_pamcheck: no db_load (db-util), pam_userdb not exercised\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "printf 'ian\\nian-secret\\nbob\\nbob-secret\\n' | "
		 "db_load -T -t hash %s/users.db", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(svc, sizeof(svc), "auth required pam_userdb.so db=%s/users\n"
		 "account required pam_userdb.so db=%s/users\n", dir, dir);
	service("userdb", svc);
	ck_assert_int_eq(check("userdb", "ian", NULL, "ian-secret", 10, why, sizeof(why)),
			 PAMCHECK_OK);
	ck_assert_int_eq(check("userdb", "bob", NULL, "bob-secret", 10, why, sizeof(why)),
			 PAMCHECK_OK);
	ck_assert_int_eq(check("userdb", "ian", NULL, "bob-secret", 10, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_int_eq(check("userdb", "ian", NULL, "ian-secre", 9, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_int_eq(check("userdb", "zed", NULL, "ian-secret", 10, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_int_eq(check("userdb", "ian", NULL, "", 0, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_int_eq(check("userdb", "ian", NULL, "ian-secret\0tail", 15, why, sizeof(why)),
			 PAMCHECK_DENIED);
	ck_assert_msg(strstr(why, "NUL") != NULL, "why: %s", why);
}
END_TEST

static Suite *pamcheck_suite(void)
{
	Suite *s = suite_create("pamcheck");
	TCase *tc = tcase_create("conversation");

	tcase_add_test(tc, conv_hidden_prompt_gets_password);
	tcase_add_test(tc, conv_messages_dropped);
	tcase_add_test(tc, conv_visible_prompt_fails);
	tcase_add_test(tc, conv_bad_counts);
	tcase_add_test(tc, rhost_from_endpoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("stacks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, permit_and_deny);
	tcase_add_test(tc, user_reaches_modules);
	tcase_add_test(tc, rhost_reaches_modules);
	tcase_add_test(tc, broken_stack);
	tcase_add_test(tc, missing_service);
	tcase_add_test(tc, userdb);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pamcheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
