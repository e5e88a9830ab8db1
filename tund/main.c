/* SPDX-License-Identifier: ISC */
/*
 * ostpd: set up the TUN device and sockets, drop privileges, then run the
 * event loop until SIGTERM/SIGINT.  SIGHUP reloads the trusted users list
 * and the password file.  Signals arrive through a signalfd, so no handler
 * runs at an arbitrary point.  This file only wires the modules together
 * (daemon.h says who calls whom); none of them calls back into it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon.h"
#include "identity.h"
#include "keylog.h"
#include "log.h"
#include "privdrop.h"

#define EXIT_CONFIG 2
/* The loop wakes at least this often even with no timer due. */
#define MAX_SLEEP_MS 1000

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: ostpd [-c FILE] [-n]\n"
		"       ostpd -g KEYFILE    generate an identity key, print its public key\n"
		"       ostpd -p KEYFILE    print the public key of an identity key\n"
		"       ostpd -P            read a password on stdin, print its Argon2id hash\n"
		"  -c FILE  configuration (default /etc/ostp/ostpd.conf)\n"
		"  -n       check the configuration, print what was understood, exit\n"
		"  -V       print the version and the AES-GCM engine, exit\n");
}

static int key_command(const char *path, bool generate)
{
	uint8_t pk[32], sk[64];
	char b64[IDENTITY_B64_LEN], err[256];
	int rc = generate ? identity_generate(path, pk, err, sizeof(err))
			  : identity_load(path, pk, sk, err, sizeof(err));

	sodium_memzero(sk, sizeof(sk));
	if (rc < 0) {
		fprintf(stderr, "ostpd: %s\n", err);
		return 1;
	}
	key_to_base64(b64, pk);
	printf("%s\n", b64);
	return 0;
}

static int hash_command(void)
{
	char pw[OSTP_PASS_MAX + 2], hash[128];
	size_t len;

	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "ostpd: no password on stdin\n");
		return 1;
	}
	len = strcspn(pw, "\r\n");
	pw[len] = '\0';
	if (ostp_pw_hash(hash, pw, len) != OSTP_OK) {
		sodium_memzero(pw, sizeof(pw));
		fprintf(stderr, "ostpd: password longer than %u bytes\n", OSTP_PASS_MAX);
		return 1;
	}
	sodium_memzero(pw, sizeof(pw));
	printf("%s\n", hash);
	return 0;
}

static int load_identity(struct ostpd *d)
{
	char err[256];
	int rc;

	/* the server proves it, and so does a mesh member */
	if (!d->is_server && !(d->is_client && d->cfg.client.mesh))
		return 0;
	rc = identity_load(d->cfg.identity_key, d->id_pk, d->id_sk, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return rc;
	}
	d->have_identity = true;
	return 0;
}

static int setup_interface(struct ostpd *d)
{
	const struct ostpd_client *cl = &d->cfg.client;
	char err[256];
	int rc;

	rc = tun_setup(d);
	if (rc < 0)
		return rc;
	rc = rtnl_open(&d->rtnl);
	if (rc < 0) {
		log_error("rtnetlink: %s", strerror(-rc));
		return rc;
	}
	rc = rtnl_link_index(&d->rtnl, d->tun.ifname);
	if (rc <= 0) {
		log_error("%s: no such interface after creating it", d->tun.ifname);
		return rc < 0 ? rc : -ENODEV;
	}
	d->tun.ifindex = (unsigned)rc;
	rc = rtnl_link_apply(&d->rtnl, d->tun.ifindex, d->cfg.mtu, d->cfg.addr, d->cfg.n_addr,
			     d->is_client ? cl->routes : NULL, d->is_client ? cl->n_routes : 0,
			     err, sizeof(err));
	if (rc < 0) {
		log_error("%s: %s", d->tun.ifname, err);
		return rc;
	}
	log_info("interface %s up, MTU %u", d->tun.ifname, d->cfg.mtu);
	return 0;
}

static void on_signal(struct ev_watch *w, uint32_t events)
{
	struct ostpd *d = (struct ostpd *)((char *)w - offsetof(struct ostpd, sig_w));
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP && d->is_server) {
			log_info("SIGHUP: reloading");
			ocs_reload(d);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: shutting down", strsignal((int)si.ssi_signo));
			d->loop.quit = true;
		}
	}
}

static int setup_signals(struct ostpd *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -errno;
	return ev_watch_add(&d->loop, &d->sig_w, d->sig_fd, EPOLLIN, on_signal);
}

static void run(struct ostpd *d)
{
	while (!d->loop.quit) {
		evloop_run_once(&d->loop, MAX_SLEEP_MS);
		link_reap(&d->links);
	}
}

static int start(struct ostpd *d)
{
	int rc;

	rc = evloop_init(&d->loop);
	if (rc < 0)
		return rc;
	/* before any session exists, and before the privilege drop */
	if ((rc = keylog_open(d->cfg.key_log)) < 0)
		return rc;
	d->loop.busy_poll_us = d->cfg.busy_poll_us;
	if ((rc = link_set_init(&d->links, &d->loop)) < 0 || (rc = fwd_init(&d->fwd)) < 0)
		return rc;
	if ((rc = rtable_load_config_peers(d)) < 0 || (rc = setup_signals(d)) < 0 ||
	    (rc = load_identity(d)) < 0)
		return rc;
	if (d->is_server && (rc = ocs_start(d)) < 0)
		return rc;
	if (d->is_client && (rc = upstream_start(d)) < 0)
		return rc;
	if (d->is_client && d->cfg.client.mesh && (rc = mesh_start(d)) < 0)
		return rc;
	if ((rc = setup_interface(d)) < 0)
		return rc;
	return ctl_open(d);
}

static void shutdown_all(struct ostpd *d)
{
	d->loop.quit = true;   /* no reconnect from here on */
	if (d->is_server)
		ocs_stop(d);
	link_close_all(&d->links, OSTP_CLOSE_SHUTDOWN, "daemon shutting down");
	link_reap(&d->links);
	if (d->is_server)
		ocs_free(d);
	if (d->is_client)
		upstream_stop(d);
	mesh_free(d);
	ctl_close(d);
	tun_close(d);
	rtnl_close(&d->rtnl);
	rtable_free(d);
	fwd_free(&d->fwd);
	link_set_free(&d->links);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	evloop_close(&d->loop);
	keylog_close();
	sodium_memzero(d->id_sk, sizeof(d->id_sk));
	config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static struct ostpd d = { .sig_fd = -1, .ctl_fd = -1, .tun.fd = -1, .loop.ep = -1 };
	const char *path = "/etc/ostp/ostpd.conf";
	bool check_only = false;
	char err[512];
	int opt;

	while ((opt = getopt(argc, argv, "c:ng:p:PhV")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'n': check_only = true; break;
		case 'g': return ostp_init() ? 1 : key_command(optarg, true);
		case 'p': return ostp_init() ? 1 : key_command(optarg, false);
		case 'P': return ostp_init() ? 1 : hash_command();
		case 'h': usage(stdout); return 0;
		case 'V': printf("ostpd 0.1 (OSTP/1, AEAD %s)\n", ostp_aead_engine()); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	opt = ostp_init();
	if (opt) {
		fprintf(stderr, "ostpd: %s\n", ostp_strerror(opt));
		return 1;
	}
	if (config_load(&d.cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (check_only) {
		if (d.cfg.key_log[0])
			fprintf(stderr, "ostpd: warning: key_log is ON: the traffic keys of every "
				"session go to %s, and anyone who can read that file decrypts "
				"those sessions; for debugging captures only, never in "
				"production\n", d.cfg.key_log);
		config_print(&d.cfg, stdout);
		config_free(&d.cfg);
		return 0;
	}
	d.cfg_path = path;
	d.is_server = d.cfg.has_server;
	d.is_client = d.cfg.has_client;
	log_init(d.cfg.log, d.cfg.log_level);
	if (start(&d) < 0) {
		shutdown_all(&d);
		return 1;
	}
	if (privdrop(d.cfg.user_name, err, sizeof(err)) < 0) {
		log_error("%s", err);
		shutdown_all(&d);
		return 1;
	}
	if (d.is_server && ocs_start_workers(&d) < 0) {
		shutdown_all(&d);
		return 1;
	}
	if (d.is_client)
		upstream_connect(&d);
	run(&d);
	shutdown_all(&d);
	log_info("stopped");
	return 0;
}
