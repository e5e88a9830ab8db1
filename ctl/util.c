/* SPDX-License-Identifier: ISC */
/* Helpers every ostpctl command shares (commands.h). */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "ctl.h"

/* One line, one format, so scripts and people can rely on it. */
void ctl_err(const char *what, const char *why)
{
	fprintf(stderr, "ostpctl: %s: %s\n", what, why);
}

int ctl_load_config(const char *ifname, struct ostpd_config *cfg)
{
	char path[PATH_MAX], err[512];

	if (ctl_opts.config != NULL) {
		snprintf(path, sizeof(path), "%s", ctl_opts.config);
	} else {
		/* The name becomes part of a path: "../x" must not pick some
		 * other file. */
		if (ifname == NULL || !ctl_ifname_valid(ifname)) {
			ctl_err(ifname ? ifname : "configuration",
				ifname ? "not a valid interface name"
				       : "no interface given");
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s.conf", CTL_CONF_DIR, ifname);
	}
	if (config_load(cfg, path, err, sizeof(err)) < 0) {
		/* config_load's message already names the file and line. */
		fprintf(stderr, "ostpctl: %s\n", err);
		return -1;
	}
	return 0;
}

int ctl_need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	ctl_err(what, "must be run as root");
	return -1;
}
