/* SPDX-License-Identifier: ISC */
/*
 * Finding daemons (their control directory and sockets) and following
 * their processes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"

bool ctl_ifname_valid(const char *name)
{
	size_t n = strlen(name);

	/* the name becomes a file name in the control directory as well */
	return n > 0 && n < IFNAMSIZ && !strchr(name, '/') && !strpbrk(name, " \t\n:") &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int dir_from_config(const char *what, const char *path, const char *ifname,
			   bool must, char *dir, size_t size)
{
	struct ostpd_config cfg;
	char err[512];
	int rc = 0;

	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		if (!must)
			return 1;
		fprintf(stderr, "ostpctl: %s: %s\n", what, err);
		return -1;
	}
	/* -c FILE names one daemon; asking it about another is a mistake */
	if (must && ifname && strcmp(cfg.interface, ifname) != 0) {
		fprintf(stderr, "ostpctl: %s: %s configures interface '%s', not '%s'\n",
			what, path, cfg.interface, ifname);
		rc = -1;
	}
	snprintf(dir, size, "%s", cfg.control_dir);
	config_free(&cfg);
	return rc;
}

int ctl_find_dir(const char *what, const char *ifname, char *dir, size_t size)
{
	char path[PATH_MAX];

	if (ctl_opts.config)
		return dir_from_config(what, ctl_opts.config, ifname, true, dir, size);
	/* the configuration that `up` would use tells where its socket is;
	 * without one the daemon runs with the default */
	if (ifname) {
		snprintf(path, sizeof(path), "%s/%s.conf", CTL_CONF_DIR, ifname);
		if (access(path, R_OK) == 0 &&
		    dir_from_config(what, path, ifname, false, dir, size) == 0)
			return 0;
	}
	snprintf(dir, size, "%s", CTL_DEFAULT_DIR);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ctl_list_ifaces(const char *dir, void (*fn)(const char *ifname, void *ctx),
		    void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *name;

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!v)
				break;
			names = v;
		}
		if (!(name = strndup(e->d_name, len - 5)))
			break;
		if (!ctl_ifname_valid(name)) {
			free(name);
			continue;
		}
		names[n++] = name;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (fn)
			fn(names[i], ctx);
		free(names[i]);
	}
	free(names);
	return (int)n;
}

struct only {
	char *ifname;
	size_t size;
	int n;
};

static void only_cb(const char *ifname, void *ctx)
{
	struct only *o = ctx;

	if (o->n++ == 0)
		snprintf(o->ifname, o->size, "%s", ifname);
}

int ctl_only_iface(const char *what, const char *dir, char *ifname, size_t size)
{
	struct only o = { ifname, size, 0 };
	int n = ctl_list_ifaces(dir, only_cb, &o);

	if (n == 0 || n == -ENOENT) {
		fprintf(stderr, "ostpctl: %s: no interface is up (no socket in %s)\n",
			what, dir);
		return EXIT_FAIL;
	}
	if (n < 0) {
		fprintf(stderr, "ostpctl: %s: %s: %s\n", what, dir, strerror(-n));
		return EXIT_FAIL;
	}
	if (n > 1) {
		fprintf(stderr, "ostpctl: %s: %d interfaces are up; choose one with 'dev IFNAME'\n",
			what, n);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- processes ------------------------------------------------------------ */

/* /proc/PID/stat: "pid (comm) S ... starttime" with starttime field 22;
 * comm may hold spaces and parentheses, so parse from the last ')'. */
static int read_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(fp = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return -1;
	*state = p[2];
	p += 3;
	/* fields 4..21 precede starttime */
	for (int i = 4; i <= 22; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

int ctl_proc_get(pid_t pid, struct ctl_proc *p)
{
	char state;

	p->pid = pid;
	p->start = 0;
	return pid > 0 ? read_stat(pid, &state, &p->start) : -1;
}

bool ctl_proc_alive(const struct ctl_proc *p)
{
	unsigned long long start;
	char state;

	if (p->pid <= 0 || read_stat(p->pid, &state, &start) < 0)
		return false;
	/* another process with the recycled PID is not ours */
	return state != 'Z' && state != 'X' && start == p->start;
}

bool ctl_tick(uint64_t deadline_ms)
{
	struct timespec ts = { .tv_nsec = 100 * 1000000L };

	if (mono_ms() >= deadline_ms)
		return false;
	nanosleep(&ts, NULL);
	return true;
}
