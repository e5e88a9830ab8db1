/* SPDX-License-Identifier: ISC */
/*
 * ostpctl up IFNAME: start ostpd for IFNAME unless it runs, wait until the
 * tunnel is usable, make sure the link, addresses and routes of the
 * configuration are there, and return.  On any failure the daemon we
 * started is stopped again; since its TUN is not persistent, the
 * interface and everything on it goes with it, so a script never sees a
 * half-configured interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "ctlclient.h"
#include "rtnl.h"
#include "up.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C while waiting must still roll back, not leave a daemon behind. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* The daemon: env OSTPD, else the ostpd installed next to us (a build
 * tree, /usr/local/sbin), else whatever PATH finds. */
static void find_ostpd(char *out, size_t size)
{
	const char *env = getenv("OSTPD");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(out, size, "%s/ostpd", dirname(self));
		if (access(out, X_OK) == 0)
			return;
	}
	snprintf(out, size, "ostpd");
}

static pid_t spawn(struct up_run *u, const char *config)
{
	char ostpd[PATH_MAX];
	sigset_t block, old;
	int devnull, logfd;
	pid_t pid;

	find_ostpd(ostpd, sizeof(ostpd));
	/* the daemon creates it too (mode 0700); the log lives there */
	if (mkdir(u->dir, 0700) < 0 && errno != EEXIST) {
		snprintf(u->reason, sizeof(u->reason), "%s: %s", u->dir, strerror(errno));
		return -1;
	}
	logfd = open(u->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (logfd < 0) {
		snprintf(u->reason, sizeof(u->reason), "%s: %s", u->log, strerror(errno));
		return -1;
	}
	/* one line per start, so runs can be told apart in the log */
	dprintf(logfd, "--- ostpctl up %s: %s -c %s\n", u->ifname, ostpd, config);
	u->log_start = lseek(logfd, 0, SEEK_END);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* until exec the child runs our handlers, which would swallow a
	 * SIGTERM meant for the daemon: signals wait until they are reset */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		char *args[] = { "ostpd", "-c", (char *)config, NULL };

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* its own session: no terminal, and a Ctrl-C meant for us
		 * does not reach it */
		setsid();
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 ||
		    dup2(logfd, 2) < 0)
			_exit(127);
		if (strchr(ostpd, '/'))
			execv(ostpd, args);
		else
			execvp(ostpd, args);
		dprintf(2, "ostpctl: cannot run %s: %s\n", ostpd, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		snprintf(u->reason, sizeof(u->reason), "fork: %s", strerror(errno));
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (devnull >= 0)
		close(devnull);
	close(logfd);
	return pid;
}

/* Upstream established, judged from the sessions by a daemon that does
 * not report OSTP_CTLA_UP. */
static bool upstream_up(const struct up_run *u)
{
	struct ctl_session *s;
	size_t n;
	bool up = false;

	if (ctl_get_sessions(u->dir, u->ifname, &s, &n, NULL, 0) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		up |= s[i].role == 1 && s[i].up_ms > 0;
	free(s);
	return up;
}

/* 1 usable, 0 not yet, -1 the daemon died. */
static int usable(struct up_run *u)
{
	bool client;
	int status;

	if (waitpid(u->pid, &status, WNOHANG) == u->pid) {
		u->pid = 0;
		u->died = true;
		u->status = status;
		return -1;
	}
	if (ctl_get_info(u->dir, u->ifname, &u->info, NULL, 0) < 0)
		return 0;
	u->answered = true;
	client = u->info.have_roles ? (u->info.roles & 2) != 0 : u->cfg->has_client;
	if (!client)
		return 1;
	return u->info.have_up ? u->info.up : upstream_up(u);
}

/* Link up, the configuration's addresses and client routes: ostpd set
 * them before dropping privileges; whatever is missing now is added. */
static int apply(struct up_run *u)
{
	const struct ostpd_config *c = u->cfg;
	struct rtnl h;
	int idx, err;

	if ((err = rtnl_open(&h)) < 0) {
		snprintf(u->reason, sizeof(u->reason), "rtnetlink: %s", strerror(-err));
		return -1;
	}
	idx = rtnl_link_index(&h, u->ifname);
	if (idx <= 0) {
		snprintf(u->reason, sizeof(u->reason), "%s: %s", u->ifname,
			 rtnl_strerror(&h, idx ? idx : -ENODEV));
		err = -1;
	} else {
		err = rtnl_link_apply(&h, (unsigned)idx, 0, c->addr, c->n_addr,
				      c->client.routes, c->has_client ? c->client.n_routes : 0,
				      u->reason, sizeof(u->reason));
	}
	rtnl_close(&h);
	return err < 0 ? -1 : 0;
}

static void report_died(const struct up_run *u)
{
	if (WIFEXITED(u->status))
		fprintf(stderr, "ostpctl: up %s: ostpd exited with status %d; last lines of %s:\n",
			u->ifname, WEXITSTATUS(u->status), u->log);
	else
		fprintf(stderr, "ostpctl: up %s: ostpd killed by signal %d; last lines of %s:\n",
			u->ifname, WTERMSIG(u->status), u->log);
	up_print_log_tail(u, 8);
}

static void report_failure(struct up_run *u)
{
	if (u->died) {
		report_died(u);
		return;
	}
	if (!u->reason[0]) {
		/* the daemon's own account of the last upstream failure */
		if (interrupted)
			snprintf(u->reason, sizeof(u->reason), "interrupted");
		else if (u->answered && ctl_get_info(u->dir, u->ifname, &u->info, NULL, 0) == 0 &&
			 u->info.last_error[0])
			snprintf(u->reason, sizeof(u->reason), "%s", u->info.last_error);
		else if (!u->answered)
			snprintf(u->reason, sizeof(u->reason),
				 "the daemon did not answer on %s/%s.sock within %u s",
				 u->dir, u->ifname, ctl_opts.wait_s);
		else
			snprintf(u->reason, sizeof(u->reason),
				 "the tunnel did not come up within %u s (see %s)",
				 ctl_opts.wait_s, u->log);
	}
	fprintf(stderr, "ostpctl: up %s: %s\n", u->ifname, u->reason);
}

static int start_and_wait(struct up_run *u, const char *config)
{
	uint64_t deadline = mono_ms() + ctl_opts.wait_s * 1000ull;
	int r;

	catch_signals();
	u->pid = spawn(u, config);
	if (u->pid <= 0) {
		u->pid = 0;
		return -1;
	}
	for (;;) {
		r = usable(u);
		if (r != 0 || interrupted)
			break;
		if (!ctl_tick(deadline)) {
			r = usable(u);   /* one last look at the deadline */
			break;
		}
	}
	if (r == 1 && !interrupted && apply(u) == 0)
		return 0;
	return -1;
}

int cmd_up(int argc, char **argv)
{
	struct ostpd_config cfg;
	struct up_run u = { .cfg = &cfg };
	char config[PATH_MAX], msg[256];
	int err, rc = 0;

	if (argc != 2)
		return ctl_usage_error("up");
	u.ifname = argv[1];
	if (!ctl_ifname_valid(u.ifname)) {
		fprintf(stderr, "ostpctl: up: bad interface name '%s'\n", u.ifname);
		return EXIT_USAGE;
	}
	if (ctl_need_root("up") < 0)
		return EXIT_FAIL;
	snprintf(config, sizeof(config), "%s/%s.conf", CTL_CONF_DIR, u.ifname);
	if (ctl_opts.config && !realpath(ctl_opts.config, config))
		snprintf(config, sizeof(config), "%s", ctl_opts.config);
	if (ctl_load_config(u.ifname, &cfg) < 0)
		return EXIT_USAGE;
	if (strcmp(cfg.interface, u.ifname) != 0) {
		fprintf(stderr, "ostpctl: up %s: %s configures interface '%s', not '%s'\n",
			u.ifname, config, cfg.interface, u.ifname);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(u.dir, sizeof(u.dir), "%s", cfg.control_dir) >= sizeof(u.dir) ||
	    (size_t)snprintf(u.log, sizeof(u.log), "%s/%s.log", u.dir, u.ifname) >= sizeof(u.log)) {
		fprintf(stderr, "ostpctl: up %s: control_dir is too long\n", u.ifname);
		config_free(&cfg);
		return EXIT_USAGE;
	}

	err = ctl_get_info(u.dir, u.ifname, &u.info, msg, sizeof(msg));
	if (err == 0) {
		printf("%s is already up\n", u.ifname);
	} else if (!ctl_not_running(err)) {
		fprintf(stderr, "ostpctl: up %s: %s\n", u.ifname, ctl_strerror(err, msg));
		rc = EXIT_FAIL;
	} else if (start_and_wait(&u, config) < 0) {
		report_failure(&u);
		up_rollback(&u);
		rc = EXIT_FAIL;
	}
	config_free(&cfg);
	return rc;
}
