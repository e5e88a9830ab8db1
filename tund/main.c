/* SPDX-License-Identifier: ISC */
/*
 * ostpd: set up the TUN device and sockets, drop privileges, then run one
 * epoll loop until SIGTERM/SIGINT.  SIGHUP reloads the trusted users list
 * and the password file.  Signals arrive through a signalfd, so no handler
 * runs at an arbitrary point.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <getopt.h>
#include <sched.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "authq.h"
#include "daemon.h"
#include "gso.h"
#include "identity.h"
#include "log.h"
#include "passwd.h"
#include "privdrop.h"
#include "trustfile.h"
#include "tun.h"

#define EXIT_CONFIG 2

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int watch_add(struct ostpd *d, struct watch *w, int fd, enum watch_kind kind, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->kind = kind;
	w->fd = fd;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error("epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: ostpd [-c FILE] [-n]\n"
		"       ostpd -g KEYFILE    generate an identity key, print its public key\n"
		"       ostpd -p KEYFILE    print the public key of an identity key\n"
		"       ostpd -P            read a password on stdin, print its Argon2id hash\n"
		"  -c FILE  configuration (default /etc/ostp/ostpd.conf)\n"
		"  -n       check the configuration, print what was understood, exit\n");
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

static int setup_auth_files(struct ostpd *d)
{
	char err[256];

	if (!d->cfg.has_server)
		return 0;
	if (identity_load(d->cfg.identity_key, d->id_pk, d->id_sk, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	d->have_identity = true;
	if (trust_file_load(&d->trust, d->cfg.server.trust_file, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (d->cfg.server.password_file[0] &&
	    pwfile_load(&d->pw, d->cfg.server.password_file, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* Every session and every connection still handshaking holds one
 * descriptor; running out makes accept fail (ocs.c copes, but slowly),
 * so ask for enough at start and say so when the hard limit is lower. */
static void check_nofile(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	rlim_t need = (rlim_t)sv->max_sessions + sv->max_unauth + FD_OVERHEAD;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	d->nofile_limit = rl.rlim_cur > UINT_MAX ? UINT_MAX : (unsigned)rl.rlim_cur;
	if (rl.rlim_cur < need)
		log_warn("open files limit %u is below the %llu that max_sessions %u and "
			 "max_unauth %u need; raise it (LimitNOFILE= in the systemd unit)",
			 d->nofile_limit, (unsigned long long)need, sv->max_sessions, sv->max_unauth);
}

static int setup_admission(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	struct admit_config ac = {
		.max_unauth = sv->max_unauth,
		.max_unauth_per_source = sv->max_unauth_per_source,
		.max_logins_per_source = sv->max_logins_per_source,
		.max_logins_per_user = sv->max_logins_per_user,
		.penalty_authfail = sv->penalty_authfail,
		.penalty_noauth = sv->penalty_noauth,
		.penalty_min = sv->penalty_min,
		.penalty_max = sv->penalty_max,
		.source_prefix4 = sv->source_prefix4,
		.source_prefix6 = sv->source_prefix6,
		.max_sources = sv->max_sources,
		.exempt = sv->penalty_exempt,
		.n_exempt = sv->n_penalty_exempt,
	};

	if (!d->cfg.has_server)
		return 0;
	check_nofile(d);
	d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (admit_new(&d->admit, &ac) < 0) {
		log_error("admission control: out of memory");
		return -1;
	}
	return 0;
}

static int setup_tun(struct ostpd *d)
{
	int err;

	snprintf(d->ifname, sizeof(d->ifname), "%s", d->cfg.interface);
	d->tun_fd = tun_open(d->ifname, true, &err);
	if (d->tun_fd < 0) {
		log_error("TUN %s: %s", d->ifname, strerror(err));
		return -1;
	}
	if (rtnl_open(&d->rtnl) < 0) {
		log_error("rtnetlink: %s", strerror(errno));
		return -1;
	}
	err = rtnl_link_index(&d->rtnl, d->ifname);
	if (err <= 0) {
		log_error("%s: no such interface after creating it", d->ifname);
		return -1;
	}
	d->ifindex = (unsigned)err;
	err = rtnl_link_set(&d->rtnl, d->ifindex, true, d->cfg.mtu);
	if (err) {
		log_error("%s: bring up: %s", d->ifname, rtnl_strerror(&d->rtnl, err));
		return -1;
	}
	for (size_t i = 0; i < d->cfg.n_addr; i++) {
		const struct prefix *p = &d->cfg.addr[i];

		err = rtnl_addr_add(&d->rtnl, d->ifindex, p->family, p->addr, p->len);
		if (err && err != -EEXIST) {
			log_error("%s: address: %s", d->ifname, rtnl_strerror(&d->rtnl, err));
			return -1;
		}
	}
	if (d->cfg.has_client) {
		for (size_t i = 0; i < d->cfg.client.n_routes; i++) {
			const struct prefix *p = &d->cfg.client.routes[i];

			err = rtnl_route_add(&d->rtnl, d->ifindex, p->family, p->addr, p->len);
			if (err && err != -EEXIST) {
				log_error("%s: route: %s", d->ifname, rtnl_strerror(&d->rtnl, err));
				return -1;
			}
		}
	}
	log_info("interface %s up, MTU %u", d->ifname, d->cfg.mtu);
	return watch_add(d, &d->tun_w, d->tun_fd, W_TUN, EPOLLIN);
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
		return -1;
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -1;
	return watch_add(d, &d->sig_w, d->sig_fd, W_SIGNAL, EPOLLIN);
}

static void on_signal(struct ostpd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP && d->cfg.has_server) {
			log_info("SIGHUP: reloading");
			ocs_reload(d);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: shutting down", strsignal((int)si.ssi_signo));
			d->quit = true;
		}
	}
}

/* Session timers are seconds apart, so they are walked at most every
 * TICK_MIN_MS, not on every packet: with thousands of sessions a walk per
 * wakeup would cost more than the packets. */
#define TICK_MIN_MS 10
#define TICK_MAX_MS 1000

static uint64_t tick_all(struct ostpd *d, uint64_t now)
{
	uint64_t next = now + TICK_MAX_MS;

	for (struct conn *c = d->conns; c; c = c->next) {
		uint64_t t;

		conn_tick(d, c, now);
		t = c->dead ? UINT64_MAX : ostp_next_deadline(c->s);
		if (t < next)
			next = t;
	}
	return next < now + TICK_MIN_MS ? now + TICK_MIN_MS : next;
}

static int wait_ms(const struct ostpd *d, uint64_t now, uint64_t next_tick)
{
	uint64_t next = next_tick;

	if (d->admit && d->admit_next < next)
		next = d->admit_next;
	if (d->cfg.has_client && !d->upstream && d->reconnect_at < next)
		next = d->reconnect_at;
	return next <= now ? 0 : (int)(next - now);
}

/* busy_poll: for that many microseconds after the last event, poll with a
 * zero timeout instead of sleeping, yielding the CPU to anything runnable
 * between polls.  A thread that does not sleep need not be woken, and on a
 * virtual machine waking a thread on an idle vCPU costs tens to hundreds
 * of microseconds per hop (docs/PERFORMANCE.md). */
static int wait_or_poll(struct ostpd *d, struct epoll_event *evs, int max, int timeout,
			uint64_t *poll_until)
{
	bool polling = d->cfg.busy_poll_us && now_us() < *poll_until;
	int n = epoll_wait(d->ep, evs, max, polling ? 0 : timeout);

	if (n > 0 && d->cfg.busy_poll_us)
		*poll_until = now_us() + d->cfg.busy_poll_us;
	else if (n == 0 && polling)
		sched_yield();
	return n;
}

static void run(struct ostpd *d)
{
	struct epoll_event evs[64];
	uint64_t next_tick = 0, poll_until = 0;

	while (!d->quit) {
		uint64_t now = now_ms();
		uint64_t stall_end = tun_check_stall(d, now);
		int n = wait_or_poll(d, evs, 64,
				     wait_ms(d, now, stall_end < next_tick ? stall_end : next_tick),
				     &poll_until);

		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			switch (w->kind) {
			case W_TUN: tun_on_readable(d); break;
			case W_LISTEN: ocs_on_accept(d, w->fd); break;
			case W_SIGNAL: on_signal(d); break;
			case W_CONTROL: ctl_on_readable(d); break;
			case W_CTLCLIENT: ctl_on_client(d, w, evs[i].events); break;
			case W_AUTH: authq_on_ready(d); break;
			case W_CONN: conn_on_io(d, (struct conn *)w, evs[i].events); break;
			}
		}
		now = now_ms();
		if (now >= next_tick)
			next_tick = tick_all(d, now);
		if (d->admit && now >= d->admit_next)
			d->admit_next = ocs_tick(d, now);
		conn_reap(d);
		if (d->cfg.has_client && !d->upstream && !d->quit && now >= d->reconnect_at)
			upstream_connect(d);
	}
}

static void shutdown_all(struct ostpd *d)
{
	d->quit = true;   /* no reconnect from here on */
	conn_close_all(d, OSTP_CLOSE_SHUTDOWN, "daemon shutting down");
	authq_stop(d);
	conn_reap(d);
	admit_free(d->admit);
	if (d->reserve_fd >= 0)
		close(d->reserve_fd);
	ctl_close(d);
	for (size_t i = 0; i < d->n_listen; i++)
		close(d->listen_fd[i]);
	/* the TUN is not persistent: closing it removes the interface and with
	 * it every address and route on it */
	if (d->tun_fd >= 0)
		close(d->tun_fd);
	rtnl_close(&d->rtnl);
	ostp_trust_free(d->trust);
	pwfile_free(d->pw);
	rtable_free(d);
	upstream_free(d);
	sodium_memzero(d->id_sk, sizeof(d->id_sk));
	free(d->pkt);
	free(d->seg);
	free(d->rbuf);
	config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static struct ostpd d = { .tun_fd = -1, .sig_fd = -1, .ctl_fd = -1, .reserve_fd = -1 };
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
		case 'V': puts("ostpd 0.1 (OSTP/1)"); return 0;
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
		config_print(&d.cfg, stdout);
		config_free(&d.cfg);
		return 0;
	}
	d.cfg_path = path;
	log_init(d.cfg.log, d.cfg.log_level);
	d.pkt = malloc(VNET_HDR_LEN + TUN_PKT_MAX);
	d.seg = malloc(TUN_PKT_MAX);
	d.rbuf = malloc(SOCK_READ_MAX);
	d.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!d.pkt || !d.seg || !d.rbuf || d.ep < 0 || rtable_load_config_peers(&d) < 0 ||
	    setup_signals(&d) < 0 ||
	    setup_auth_files(&d) < 0 || setup_admission(&d) < 0 || upstream_init(&d) < 0 || setup_tun(&d) < 0 ||
	    (d.cfg.has_server && ocs_listen(&d) < 0) || ctl_open(&d) < 0) {
		shutdown_all(&d);
		return 1;
	}
	if (privdrop(d.cfg.user_name, err, sizeof(err)) < 0) {
		log_error("%s", err);
		shutdown_all(&d);
		return 1;
	}
	/* after privdrop: its capabilities apply to the calling thread only */
	if (d.cfg.has_server && authq_start(&d) < 0) {
		shutdown_all(&d);
		return 1;
	}
	if (d.cfg.has_client)
		upstream_connect(&d);
	run(&d);
	shutdown_all(&d);
	log_info("stopped");
	return 0;
}
