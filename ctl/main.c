/* SPDX-License-Identifier: ISC */
/*
 * ostpctl [OPTIONS] OBJECT COMMAND: parse the global options, then hand
 * the rest of the command line to the object's command.  Exit statuses:
 * 0 success, 1 usage error, 2 a failure from the kernel or the daemon.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"

struct ctl_opts ctl_opts = { .wait_s = 10 };

static const struct object {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} objects[] = {
	{ "up", cmd_up,
	  "up IFNAME                      start ostpd for IFNAME, wait until usable" },
	{ "down", cmd_down,
	  "down IFNAME                    close every session, stop the daemon" },
	{ "show", cmd_show,
	  "show [IFNAME]                  interfaces and sessions (--json for scripts)" },
	{ "dump", cmd_dump,
	  "dump [IFNAME]                  one tab-separated line per session" },
	{ "route", cmd_route,
	  "route add|del PREFIX dev IFNAME [user NAME]\n"
	  "  route list [dev IFNAME]" },
	{ "peer", cmd_peer,
	  "peer add NAME endpoint HOST:PORT key BASE64 [allowed-ips P1,P2] [dev IFNAME]\n"
	  "  peer del NAME [dev IFNAME]\n"
	  "  peer list [dev IFNAME]" },
	{ "trust", cmd_trust,
	  "trust add|del USER [dev IFNAME]\n"
	  "  trust list [dev IFNAME]" },
	{ "passwd", cmd_passwd,
	  "passwd USER [dev IFNAME]       set USER's password (read without echo)" },
	{ "genkey", cmd_genkey,
	  "genkey FILE                    new identity key (mode 0600), print its public key" },
	{ "pubkey", cmd_pubkey,
	  "pubkey [FILE]                  print the public key of an identity key (stdin: -)" },
};
#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))

static const char options_usage[] =
	"options:\n"
	"  -c FILE          configuration (default /etc/ostp/IFNAME.conf)\n"
	"  --wait SECONDS   how long up and down may take (default 10)\n"
	"  --json           show: one JSON document\n"
	"  -h, --help       this help\n"
	"exit status: 0 success, 1 usage error, 2 failure from the kernel or the daemon\n";

void ctl_usage(FILE *fp, const char *object)
{
	fputs("usage: ostpctl [OPTIONS] OBJECT COMMAND\n", fp);
	for (size_t i = 0; i < N_OBJECTS; i++)
		if (!object || strcmp(object, objects[i].name) == 0)
			fprintf(fp, "  %s\n", objects[i].usage);
	if (!object)
		fprintf(fp, "  help                           this help\n%s", options_usage);
}

int ctl_usage_error(const char *object)
{
	ctl_usage(stderr, object);
	return EXIT_USAGE;
}

static int parse_wait(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	/* an hour is far beyond any handshake; more is a typo */
	if (!*s || *end || s[0] == '-' || v > 3600) {
		fprintf(stderr, "ostpctl: --wait: '%s' is not a number of seconds (0..3600)\n", s);
		return -1;
	}
	ctl_opts.wait_s = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ 0 }
	};
	int opt;

	/* options may also follow the object ("ostpctl show --json");
	 * no argument of any command starts with '-' */
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': ctl_opts.config = optarg; break;
		case 'w':
			if (parse_wait(optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'j': ctl_opts.json = 1; break;
		case 'h': ctl_usage(stdout, NULL); return 0;
		default: return ctl_usage_error(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return ctl_usage_error(NULL);
	if (strcmp(argv[0], "help") == 0) {
		ctl_usage(stdout, NULL);
		return 0;
	}
	for (size_t i = 0; i < N_OBJECTS; i++) {
		if (strcmp(argv[0], objects[i].name) != 0)
			continue;
		if (argc >= 2 && strcmp(argv[1], "help") == 0) {
			ctl_usage(stdout, argv[0]);
			return 0;
		}
		return objects[i].fn(argc, argv);
	}
	fprintf(stderr, "ostpctl: unknown object '%s'\n", argv[0]);
	return ctl_usage_error(NULL);
}
