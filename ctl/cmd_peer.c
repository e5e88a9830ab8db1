/* SPDX-License-Identifier: ISC */
/*
 * ostpctl peer add|del|list: static peers (name, endpoint, pinned public
 * key, allowed prefixes) of a running daemon, changed without a restart.
 * Everything is checked here first, so a typo is a usage error and the
 * daemon only sees well-formed requests.  `peer list` prints each peer
 * in the syntax `peer add` reads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "commands.h"
#include "ctl.h"
#include "ctlclient.h"
#include "endpoint.h"
#include "fmt.h"
#include "identity.h"
#include "keycheck.h"

/* ostpd keeps a peer's prefixes as one string of at most 255 characters
 * (struct daemon_peer) and refuses longer attributes. */
#define ALLOWED_MAX 256

struct peer_req {
	const char *name;
	const char *dev;
	char endpoint[ENDPOINT_STRLEN];
	uint8_t key[32];
	char allowed[ALLOWED_MAX];
	bool have_endpoint, have_key, have_allowed;
};

static void build_peer(struct nlmsghdr *nlh, void *ctx)
{
	const struct peer_req *r = ctx;

	mnl_attr_put_strz(nlh, OSTP_CTLA_PEER_NAME, r->name);
	if (r->have_endpoint)
		mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT, r->endpoint);
	if (r->have_key)
		mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, r->key);
	if (r->have_allowed)
		mnl_attr_put_strz(nlh, OSTP_CTLA_ALLOWED, r->allowed);
}

/* "P1,P2": each a network prefix; normalised into r->allowed. */
static bool parse_allowed(const char *what, const char *text, struct peer_req *r)
{
	char item[128];
	size_t len = 0;

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, ",");
		struct prefix pf;

		if (n == 0 || n >= sizeof(item)) {
			fprintf(stderr, "ostpctl: %s: bad allowed-ips '%s'\n", what, text);
			return false;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (!check_prefix(what, item, &pf))
			return false;
		prefix_format(&pf, item, sizeof(item));
		n = strlen(item);
		if (len + (len ? 1 : 0) + n >= sizeof(r->allowed)) {
			fprintf(stderr, "ostpctl: %s: allowed-ips is too long (at most %d characters)\n",
				what, ALLOWED_MAX - 1);
			return false;
		}
		if (len)
			r->allowed[len++] = ',';
		memcpy(r->allowed + len, item, n + 1);
		len += n;
		p += strcspn(p, ",");
		if (*p == ',' && !*++p) {
			fprintf(stderr, "ostpctl: %s: bad allowed-ips '%s'\n", what, text);
			return false;
		}
	}
	r->have_allowed = true;
	return true;
}

static bool parse_endpoint_arg(const char *what, const char *text, struct peer_req *r)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!parse_endpoint(text, &ss, &len)) {
		fprintf(stderr, "ostpctl: %s: bad endpoint '%s' (want ADDRESS:PORT or [ADDRESS]:PORT)\n",
			what, text);
		return false;
	}
	endpoint_format((const struct sockaddr *)&ss, r->endpoint, sizeof(r->endpoint));
	return r->have_endpoint = true;
}

/* NAME then keyword arguments; add needs endpoint and key. */
static int parse_args(int argc, char **argv, bool add, struct peer_req *r)
{
	const char *what = add ? "peer add" : "peer del";

	if (argc < 3 || argc % 2 == 0)
		return ctl_usage_error("peer");
	r->name = argv[2];
	if (!check_name(what, "peer name", r->name))
		return EXIT_USAGE;
	for (int i = 3; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "dev") == 0 && !r->dev) {
			r->dev = v;
		} else if (add && strcmp(k, "endpoint") == 0 && !r->have_endpoint) {
			if (!parse_endpoint_arg(what, v, r))
				return EXIT_USAGE;
		} else if (add && strcmp(k, "key") == 0 && !r->have_key) {
			if (key_from_base64(r->key, v) != 0) {
				fprintf(stderr, "ostpctl: %s: bad key '%s' (want the base64 of 32 bytes)\n",
					what, v);
				return EXIT_USAGE;
			}
			/* the check ostpd.conf and the daemon make, so a key
			 * refused there is a usage error here */
			if (!ed25519_pubkey_valid(r->key)) {
				fprintf(stderr, "ostpctl: %s: bad key '%s' (not a valid Ed25519 public key)\n",
					what, v);
				return EXIT_USAGE;
			}
			r->have_key = true;
		} else if (add && strcmp(k, "allowed-ips") == 0 && !r->have_allowed) {
			if (!parse_allowed(what, v, r))
				return EXIT_USAGE;
		} else {
			return ctl_usage_error("peer");
		}
	}
	if (add && (!r->have_endpoint || !r->have_key)) {
		fprintf(stderr, "ostpctl: %s: 'endpoint HOST:PORT' and 'key BASE64' are required\n",
			what);
		return EXIT_USAGE;
	}
	if (r->dev && !ctl_ifname_valid(r->dev)) {
		fprintf(stderr, "ostpctl: %s: bad interface name '%s'\n", what, r->dev);
		return EXIT_USAGE;
	}
	return 0;
}

/* dev IFNAME, or the only daemon in the control directory. */
static int pick_dev(const char *what, const char *dev, char *dir, size_t dsize,
		    char *ifname, size_t isize)
{
	if (ctl_find_dir(what, dev, dir, dsize) < 0)
		return EXIT_USAGE;
	if (dev) {
		snprintf(ifname, isize, "%s", dev);
		return 0;
	}
	return ctl_only_iface(what, dir, ifname, isize);
}

static int change(int argc, char **argv, bool add)
{
	const char *what = add ? "peer add" : "peer del";
	struct peer_req r = { 0 };
	char dir[PATH_MAX], ifname[IFNAMSIZ], msg[256];
	int rc, err;

	if ((rc = parse_args(argc, argv, add, &r)) != 0)
		return rc;
	if (ctl_need_root(what) < 0)
		return EXIT_FAIL;
	if ((rc = pick_dev(what, r.dev, dir, sizeof(dir), ifname, sizeof(ifname))) != 0)
		return rc;
	err = ctl_request(dir, ifname, add ? OSTP_CTL_PEER_ADD : OSTP_CTL_PEER_DEL,
			  build_peer, &r, NULL, NULL, msg, sizeof(msg));
	if (err < 0) {
		fprintf(stderr, "ostpctl: %s %s: %s: %s\n", what, r.name, ifname,
			ctl_not_running(err) ? "not up" : ctl_strerror(err, msg));
		return EXIT_FAIL;
	}
	return 0;
}

static int list_cb(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx)
{
	char key[IDENTITY_B64_LEN], safe[ALLOWED_MAX];

	(void)ctx;
	if (!tb[OSTP_CTLA_PEER_NAME])
		return 0;
	printf("%s", fmt_safe(safe, sizeof(safe), mnl_attr_get_str(tb[OSTP_CTLA_PEER_NAME])));
	if (tb[OSTP_CTLA_ENDPOINT])
		printf(" endpoint %s", fmt_safe(safe, sizeof(safe),
						mnl_attr_get_str(tb[OSTP_CTLA_ENDPOINT])));
	if (tb[OSTP_CTLA_PUBKEY]) {
		key_to_base64(key, mnl_attr_get_payload(tb[OSTP_CTLA_PUBKEY]));
		printf(" key %s", key);
	}
	if (tb[OSTP_CTLA_ALLOWED] && mnl_attr_get_str(tb[OSTP_CTLA_ALLOWED])[0])
		printf(" allowed-ips %s", fmt_safe(safe, sizeof(safe),
						   mnl_attr_get_str(tb[OSTP_CTLA_ALLOWED])));
	if (tb[OSTP_CTLA_ORIGIN])
		printf(" origin %s", mnl_attr_get_u8(tb[OSTP_CTLA_ORIGIN]) ? "runtime" : "config");
	putchar('\n');
	return 0;
}

static int list(int argc, char **argv)
{
	char dir[PATH_MAX], ifname[IFNAMSIZ], msg[256];
	const char *dev = NULL;
	int rc, err;

	if (argc == 4 && strcmp(argv[2], "dev") == 0)
		dev = argv[3];
	else if (argc != 2)
		return ctl_usage_error("peer");
	if (dev && !ctl_ifname_valid(dev)) {
		fprintf(stderr, "ostpctl: peer list: bad interface name '%s'\n", dev);
		return EXIT_USAGE;
	}
	if ((rc = pick_dev("peer list", dev, dir, sizeof(dir), ifname, sizeof(ifname))) != 0)
		return rc;
	err = ctl_request(dir, ifname, OSTP_CTL_PEER_LIST, NULL, NULL, list_cb, NULL,
			  msg, sizeof(msg));
	if (err < 0) {
		fprintf(stderr, "ostpctl: peer list: %s: %s\n", ifname,
			ctl_not_running(err) ? "not up" : ctl_strerror(err, msg));
		return EXIT_FAIL;
	}
	return 0;
}

int cmd_peer(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("peer");
	if (strcmp(argv[1], "add") == 0)
		return change(argc, argv, true);
	if (strcmp(argv[1], "del") == 0 || strcmp(argv[1], "delete") == 0)
		return change(argc, argv, false);
	if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "show") == 0)
		return list(argc, argv);
	fprintf(stderr, "ostpctl: peer: unknown command '%s'\n", argv[1]);
	return ctl_usage_error("peer");
}
