/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pamcheck.h"

/* A stack error is a configuration or backend problem that every login
 * would report again; one line per window says it, with the count. */
#define ERROR_LOG_WINDOW_MS 10000u
/* pamcheck_pace() never waits longer: a stack that hangs on a dead
 * directory server must not hold a worker that long for every stranger. */
#define PACE_MAX_MS 5000u

static pthread_mutex_t pam_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under pam_lock. */
static uint64_t error_logged_ms;
static unsigned errors_unlogged;
static bool error_ever_logged;

static pthread_mutex_t pace_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t avg_ms;            /* under pace_lock; moving average of PAM checks */

static void wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int pamcheck_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		  void *appdata)
{
	const struct pamcheck_secret *sec = appdata;
	struct pam_response *r;
	int rc = PAM_SUCCESS;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || !msg || !resp || !sec)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n && rc == PAM_SUCCESS; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = malloc(sec->len + 1);
			if (!r[i].resp) {
				rc = PAM_BUF_ERR;
				break;
			}
			memcpy(r[i].resp, sec->pass, sec->len);
			r[i].resp[sec->len] = '\0';
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			/* what the stack would tell a person (an expired
			 * password, a last login) may explain a refusal */
			if (msg[i]->msg)
				log_debug("PAM: %s", msg[i]->msg);
			break;
		default:
			/* a visible prompt wants something other than the one
			 * secret the client sent (a user name, a choice) */
			rc = PAM_CONV_ERR;
			break;
		}
	}
	if (rc != PAM_SUCCESS) {
		for (int i = 0; i < n; i++)
			wipe_free(r[i].resp);
		free(r);
		return rc;
	}
	*resp = r;
	return PAM_SUCCESS;
}

#ifdef PAM_FAIL_DELAY
/* pam_unix asks for a two-second pause after a failure, which libpam
 * sleeps inside pam_authenticate(): under pam_lock that would stall every
 * other login as well.  Admission control already makes failures cost
 * (penalty_authfail), so the pause is skipped. */
static void no_fail_delay(int status, unsigned usec, void *appdata)
{
	(void)status;
	(void)usec;
	(void)appdata;
}
#endif

/* Which outcomes are the account's answer rather than the stack's
 * failure to give one. */
static bool is_refusal(int rc)
{
	switch (rc) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_CRED_INSUFFICIENT:
	case PAM_MAXTRIES:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
	case PAM_PERM_DENIED:
		return true;
	default:
		return false;
	}
}

static void log_stack_error(const char *service, const char *user, const char *why)
{
	uint64_t now = mono_ms();

	if (error_ever_logged && now - error_logged_ms < ERROR_LOG_WINDOW_MS) {
		errors_unlogged++;
		return;
	}
	if (errors_unlogged)
		log_error("PAM service %s: %s (user %s; %u more PAM errors in the last %u s)",
			  service, why, user, errors_unlogged, ERROR_LOG_WINDOW_MS / 1000u);
	else
		log_error("PAM service %s: %s (user %s)", service, why, user);
	error_ever_logged = true;
	error_logged_ms = now;
	errors_unlogged = 0;
}

static void note_duration(uint64_t ms)
{
	pthread_mutex_lock(&pace_lock);
	/* an average over the last eight or so, quick to follow a slower
	 * backend without one slow check dominating */
	avg_ms = avg_ms ? (avg_ms * 7 + ms) / 8 : ms;
	pthread_mutex_unlock(&pace_lock);
}

void pamcheck_pace(void)
{
	uint64_t ms;
	struct timespec ts;

	pthread_mutex_lock(&pace_lock);
	ms = avg_ms < PACE_MAX_MS ? avg_ms : PACE_MAX_MS;
	pthread_mutex_unlock(&pace_lock);
	ts.tv_sec = (time_t)(ms / 1000u);
	ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Neither the service's file nor "other" where PAM looks: pam_start()
 * would fail, and libpam leaks memory on that path (Linux-PAM 1.5), once
 * per login.  Without confdir and without /etc/pam.d, PAM reads
 * /etc/pam.conf instead, which is left to PAM. */
static bool service_missing(const char *service, const char *confdir, char *why, size_t whylen)
{
	const char *d = confdir && confdir[0] ? confdir : "/etc/pam.d";
	char path[4200];

	if (!(confdir && confdir[0]) && access(d, F_OK) != 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s", d, service);
	if (access(path, F_OK) == 0)
		return false;
	snprintf(path, sizeof(path), "%s/other", d);
	if (access(path, F_OK) == 0)
		return false;
	snprintf(why, whylen, "PAM error: neither %s/%s nor %s/other exists", d, service, d);
	return true;
}

/* One transaction; pam_lock held.  Returns the PAM status that decides,
 * with what failed in stage. */
static int transaction(const char *service, const char *confdir, const char *user,
		       const char *rhost, struct pam_conv *conv, const char **stage)
{
	pam_handle_t *h = NULL;
	const void *item = NULL;
	int rc;

	*stage = "pam_start";
	rc = pam_start_confdir(service, user, conv, confdir && confdir[0] ? confdir : NULL, &h);
	if (rc != PAM_SUCCESS)
		return rc;
	if (rhost && rhost[0])
		rc = pam_set_item(h, PAM_RHOST, rhost);
#ifdef PAM_FAIL_DELAY
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_fail_delay);
#endif
	if (rc == PAM_SUCCESS) {
		*stage = "authentication";
		rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (rc == PAM_SUCCESS) {
		*stage = "account";
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	/* A module may map the name it was given to another account; the
	 * trusted users list and the user's settings were looked up under
	 * the name the client sent, so only that account may pass. */
	if (rc == PAM_SUCCESS) {
		*stage = "user name";
		rc = pam_get_item(h, PAM_USER, &item);
		if (rc == PAM_SUCCESS && (!item || strcmp(item, user) != 0))
			rc = PAM_PERM_DENIED;
	}
	pam_end(h, rc);
	return rc;
}

enum pamcheck_verdict pamcheck(const char *service, const char *confdir, const char *user,
			       const char *rhost, const char *pass, size_t pass_len,
			       char *why, size_t whylen)
{
	struct pamcheck_secret sec = { .pass = pass, .len = pass_len };
	struct pam_conv conv = { .conv = pamcheck_conv, .appdata_ptr = &sec };
	enum pamcheck_verdict v;
	const char *stage;
	uint64_t start;
	int rc;

	/* PAM takes C strings: "a\0b" would be checked as "a". */
	if (memchr(pass, '\0', pass_len)) {
		snprintf(why, whylen, "NUL byte in the password");
		pamcheck_pace();
		return PAMCHECK_DENIED;
	}
	start = mono_ms();
	pthread_mutex_lock(&pam_lock);
	if (service_missing(service, confdir, why, whylen)) {
		log_stack_error(service, user, why);
		pthread_mutex_unlock(&pam_lock);
		return PAMCHECK_ERROR;
	}
	rc = transaction(service, confdir, user, rhost, &conv, &stage);
	if (rc == PAM_SUCCESS) {
		v = PAMCHECK_OK;
		snprintf(why, whylen, "PAM: accepted");
	} else if (is_refusal(rc)) {
		v = PAMCHECK_DENIED;
		snprintf(why, whylen, "PAM %s: %s", stage, pam_strerror(NULL, rc));
	} else {
		v = PAMCHECK_ERROR;
		snprintf(why, whylen, "PAM error in %s: %s", stage, pam_strerror(NULL, rc));
		log_stack_error(service, user, why);
	}
	pthread_mutex_unlock(&pam_lock);
	note_duration(mono_ms() - start);
	return v;
}

void pamcheck_announce(const char *service, const char *confdir)
{
	char path[4200];
	bool found;

	snprintf(path, sizeof(path), "%s/%s", confdir && confdir[0] ? confdir : "/etc/pam.d",
		 service);
	found = access(path, F_OK) == 0;
	if (found)
		log_info("passwords are checked by PAM service %s (%s)", service, path);
	else
		log_warn("passwords are checked by PAM service %s, but %s does not exist: "
			 "PAM falls back to its \"other\" service", service, path);
}

void pamcheck_rhost(const char *endpoint, char *out, size_t size)
{
	const char *start = endpoint, *end;
	size_t n;

	if (size == 0)
		return;
	out[0] = '\0';
	if (endpoint[0] == '[') {
		start = endpoint + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return;
	} else {
		end = strrchr(endpoint, ':');
		if (!end || memchr(endpoint, ':', (size_t)(end - endpoint)))
			return;   /* no port, or a bare IPv6 address */
	}
	n = (size_t)(end - start);
	if (n == 0 || n >= size)
		return;
	memcpy(out, start, n);
	out[n] = '\0';
}
