/* SPDX-License-Identifier: ISC */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "ctlclient.h"
#include "ostp.h"

int admin_user_dev(int argc, char **argv, const char **user, const char **dev)
{
	*user = NULL;
	*dev = NULL;
	if (argc == 1 || (argc == 3 && strcmp(argv[1], "dev") == 0)) {
		*user = argv[0];
		*dev = argc == 3 ? argv[2] : NULL;
		return 0;
	}
	return -1;
}

int admin_check_user(const char *what, const char *user)
{
	char why[160];

	/* strnlen: a huge argument is refused without being measured. */
	if (ostp_username_valid(user, strnlen(user, OSTP_USER_MAX + 1)))
		return 0;
	snprintf(why, sizeof(why), "invalid user name '%.100s%s'", user,
		 strlen(user) > 100 ? "..." : "");
	ctl_err(what, why);
	return -1;
}

int admin_config(const char *what, const char *dev, struct ostpd_config *cfg)
{
	char ifname[IFNAMSIZ] = "";
	int rc;

	if (dev != NULL && !ctl_ifname_valid(dev)) {
		ctl_err(what, "not a valid interface name");
		return EXIT_USAGE;
	}
	/* Without `dev` and -c, the command can only mean the one daemon that
	 * runs; guessing among several would edit the wrong server's list. */
	if (dev == NULL && ctl_opts.config == NULL) {
		rc = ctl_only_iface(what, CTL_DEFAULT_DIR, ifname, sizeof(ifname));
		if (rc != 0)
			return rc;
		dev = ifname;
	}
	if (ctl_load_config(dev, cfg) < 0)
		return EXIT_FAIL;
	if (!cfg->has_server) {
		config_free(cfg);
		ctl_err(what, "the configuration has no server section");
		return EXIT_FAIL;
	}
	return 0;
}

int admin_reload(const char *what, const struct ostpd_config *cfg)
{
	char msg[256] = "", why[400];
	/* The daemon's socket is named after the interface of its own
	 * configuration, whatever name the command was given. */
	int rc = ctl_request(cfg->control_dir, cfg->interface, OSTP_CTL_RELOAD,
			     NULL, NULL, NULL, NULL, msg, sizeof(msg));

	if (rc == 0 || ctl_not_running(rc))
		return 0;
	snprintf(why, sizeof(why), "the file was changed, but %s did not reload it: %s",
		 cfg->interface, ctl_strerror(rc, msg));
	ctl_err(what, why);
	return EXIT_FAIL;
}
