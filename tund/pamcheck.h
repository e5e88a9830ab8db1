/* SPDX-License-Identifier: ISC */
/*
 * Password checks through PAM (pam_service in the server section), on the
 * password worker threads (authq.c), never on the event loop: a PAM stack
 * may wait on a directory server for seconds.
 *
 * One PAM transaction per login (pam_start, pam_authenticate,
 * pam_acct_mgmt, pam_end), and one transaction at a time in the whole
 * process: libpam keeps each handle to itself, but the modules make no
 * promise about threads (pam_userdb hashes with crypt(), others keep
 * static buffers or open connections), so the calls are serialized, as
 * OpenVPN's auth-pam plugin does by running them in one helper process.
 */
#ifndef OSTPD_PAMCHECK_H
#define OSTPD_PAMCHECK_H

#include <security/pam_appl.h>
#include <stddef.h>

enum pamcheck_verdict {
	PAMCHECK_OK,       /* the password is right and the account may log in now */
	PAMCHECK_DENIED,   /* wrong password, unknown user, expired or locked account */
	PAMCHECK_ERROR,    /* the stack could not decide: missing module, backend down */
};

/* Asks PAM service (its file in confdir, or the system's PAM directory
 * for NULL or "") whether user may log in with pass; rhost (the client's
 * address, may be NULL) is handed to the modules as PAM_RHOST.  What PAM
 * said goes to why, for the server's log; PAMCHECK_ERROR is also logged
 * here, at most once per ten seconds.  Blocks, for as long as the stack
 * takes; call it from a worker thread. */
enum pamcheck_verdict pamcheck(const char *service, const char *confdir, const char *user,
			       const char *rhost, const char *pass, size_t pass_len,
			       char *why, size_t whylen);

/* Logs, at start-up, which PAM service checks passwords, and warns when
 * its file is not where PAM will look (PAM then uses its "other"
 * service, which usually refuses everyone). */
void pamcheck_announce(const char *service, const char *confdir);

/* For a name refused without asking PAM (not in the trusted users list):
 * waits about as long as recent PAM checks took, so that the time of the
 * answer does not tell which names are in the list.  Blocks. */
void pamcheck_pace(void);

/* The client's address from a link's "address:port" or "[address]:port"
 * endpoint, for PAM_RHOST; "" when it has no port. */
void pamcheck_rhost(const char *endpoint, char *out, size_t size);

/* The conversation function (exposed for the unit tests): appdata points
 * to a struct pamcheck_secret.  Each hidden prompt (PAM_PROMPT_ECHO_OFF)
 * is answered with the password; messages for the user are dropped, as
 * there is nobody to show them to; a visible prompt (PAM_PROMPT_ECHO_ON)
 * or an unknown style fails the conversation with PAM_CONV_ERR. */
struct pamcheck_secret {
	const char *pass;
	size_t len;
};
int pamcheck_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		  void *appdata);

#endif
