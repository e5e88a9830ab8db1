/* SPDX-License-Identifier: ISC */
/* rtnl and tun against the real kernel.  Every test runs in its own
 * forked child inside a network namespace of its own (unshare), so no
 * interface, address or route ever reaches the host's namespace, and
 * the namespace disappears with the child. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prefix.h"
#include "rtnl.h"
#include "tun.h"

static struct rtnl h;

static void enter_netns(void)
{
	int lo;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
	ck_assert_int_eq(rtnl_open(&h), 0);
	lo = rtnl_link_index(&h, "lo");
	ck_assert_int_gt(lo, 0);
	ck_assert_int_eq(rtnl_link_set(&h, (unsigned)lo, true, 0), 0);
}

static void leave_netns(void)
{
	rtnl_close(&h);
}

/* Reads what the kernel has, by a path independent of rtnl.c. */
static struct ifreq query(const char *name, unsigned long request)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_msg(ioctl(s, request, &ifr) == 0, "ioctl: %s", strerror(errno));
	close(s);
	return ifr;
}

static int open_tun(char name[IFNAMSIZ], bool vnet)
{
	int fd = tun_open(name, vnet), err = fd < 0 ? -fd : 0;

	ck_assert_msg(fd >= 0, "tun_open: %s", strerror(err));
	return fd;
}

static struct prefix pfx(const char *text)
{
	struct prefix p;

	memset(&p, 0, sizeof(p));
	ck_assert(parse_prefix(text, &p.family, p.addr, &p.len));
	return p;
}

static bool same_prefix(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, prefix_addr_len(a->family)) == 0;
}

/* ---- list collectors ---------------------------------------------------- */

struct seen {
	struct prefix want;
	unsigned ifindex;
	int count;
	struct rtnl_route route;
};

static void on_addr(void *ctx, unsigned ifindex, const struct prefix *p)
{
	struct seen *s = ctx;

	if (same_prefix(p, &s->want)) {
		s->count++;
		s->ifindex = ifindex;
	}
}

static int count_addr(unsigned ifindex, const char *text)
{
	struct seen s = { .want = pfx(text) };

	ck_assert_int_eq(rtnl_addr_list(&h, ifindex, on_addr, &s), 0);
	if (s.count && ifindex)
		ck_assert_uint_eq(s.ifindex, ifindex);
	return s.count;
}

static void on_route(void *ctx, const struct rtnl_route *r)
{
	struct seen *s = ctx;

	if (same_prefix(&r->dst, &s->want)) {
		s->count++;
		s->route = *r;
	}
}

static struct seen find_route(unsigned ifindex, const char *text)
{
	struct seen s = { .want = pfx(text) };

	ck_assert_int_eq(rtnl_route_list(&h, ifindex, on_route, &s), 0);
	return s;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(tun_and_link)
{
	char name[IFNAMSIZ] = "ostpt%d";
	int fd = open_tun(name, false), index;
	struct ifreq ifr;

	ck_assert_str_eq(name, "ostpt0");
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	index = rtnl_link_index(&h, name);
	ck_assert_int_eq(index, (int)if_nametoindex(name));
	ck_assert(rtnl_link_exists(&h, name));

	ck_assert_int_eq(rtnl_link_set(&h, (unsigned)index, true, 1400), 0);
	ifr = query(name, SIOCGIFMTU);
	ck_assert_int_eq(ifr.ifr_mtu, 1400);
	ifr = query(name, SIOCGIFFLAGS);
	ck_assert(ifr.ifr_flags & IFF_UP);

	/* mtu 0 leaves the MTU alone. */
	ck_assert_int_eq(rtnl_link_set(&h, (unsigned)index, false, 0), 0);
	ifr = query(name, SIOCGIFMTU);
	ck_assert_int_eq(ifr.ifr_mtu, 1400);
	ifr = query(name, SIOCGIFFLAGS);
	ck_assert(!(ifr.ifr_flags & IFF_UP));

	ck_assert_int_eq(rtnl_link_del(&h, name), 0);
	ck_assert(!rtnl_link_exists(&h, name));
	ck_assert_int_eq(rtnl_link_index(&h, name), -ENODEV);
	close(fd);
}
END_TEST

START_TEST(tun_vnet_hdr)
{
	char name[IFNAMSIZ] = "ostpv0";
	int fd = open_tun(name, true);

	ck_assert_str_eq(name, "ostpv0");
	ck_assert(rtnl_link_exists(&h, name));
	close(fd);
	/* Not persistent: the device goes with its last fd. */
	ck_assert(!rtnl_link_exists(&h, name));
}
END_TEST

START_TEST(tun_persist)
{
	char name[IFNAMSIZ] = "ostpp0";
	int fd = open_tun(name, false);

	ck_assert_int_eq(tun_set_persist(fd, true), 0);
	close(fd);
	ck_assert(rtnl_link_exists(&h, name));

	fd = open_tun(name, false);     /* attaches to the survivor */
	ck_assert_int_eq(tun_set_persist(fd, false), 0);
	close(fd);
	ck_assert(!rtnl_link_exists(&h, name));
}
END_TEST

START_TEST(addresses)
{
	char name[IFNAMSIZ] = "ostpa0";
	int fd = open_tun(name, false);
	unsigned index = (unsigned)rtnl_link_index(&h, name);
	struct prefix v4 = pfx("198.18.5.1/24"), v6 = pfx("fd00:5::1/64");

	ck_assert_int_eq(rtnl_link_set(&h, index, true, 1400), 0);
	ck_assert_int_eq(rtnl_addr_add(&h, index, v4.family, v4.addr, v4.len), 0);
	ck_assert_int_eq(rtnl_addr_add(&h, index, v6.family, v6.addr, v6.len), 0);
	ck_assert_int_eq(count_addr(index, "198.18.5.1/24"), 1);
	ck_assert_int_eq(count_addr(index, "fd00:5::1/64"), 1);
	/* Listing every link finds them too, and lo's address is no match. */
	ck_assert_int_eq(count_addr(0, "198.18.5.1/24"), 1);
	ck_assert_int_eq(count_addr(index, "127.0.0.1/8"), 0);

	ck_assert_int_eq(rtnl_addr_add(&h, index, v4.family, v4.addr, v4.len),
			 -EEXIST);

	ck_assert_int_eq(rtnl_addr_del(&h, index, v4.family, v4.addr, v4.len), 0);
	ck_assert_int_eq(rtnl_addr_del(&h, index, v6.family, v6.addr, v6.len), 0);
	ck_assert_int_eq(count_addr(index, "198.18.5.1/24"), 0);
	ck_assert_int_eq(count_addr(index, "fd00:5::1/64"), 0);
	close(fd);
}
END_TEST

START_TEST(routes)
{
	char name[IFNAMSIZ] = "ostpr0";
	int fd = open_tun(name, false);
	unsigned index = (unsigned)rtnl_link_index(&h, name);
	struct prefix r4 = pfx("198.18.6.0/24"), r6 = pfx("fd00:6::/64");
	struct seen s;

	ck_assert_int_eq(rtnl_link_set(&h, index, true, 1400), 0);
	ck_assert_int_eq(rtnl_route_add(&h, index, r4.family, r4.addr, r4.len), 0);
	ck_assert_int_eq(rtnl_route_add(&h, index, r6.family, r6.addr, r6.len), 0);

	s = find_route(index, "198.18.6.0/24");
	ck_assert_int_eq(s.count, 1);
	ck_assert_uint_eq(s.route.ifindex, index);
	ck_assert_uint_eq(s.route.table, RT_TABLE_MAIN);
	ck_assert_uint_eq(s.route.protocol, RTPROT_STATIC);
	ck_assert_uint_eq(s.route.scope, RT_SCOPE_LINK);
	ck_assert_uint_eq(s.route.type, RTN_UNICAST);
	s = find_route(index, "fd00:6::/64");
	ck_assert_int_eq(s.count, 1);
	ck_assert_uint_eq(s.route.protocol, RTPROT_STATIC);
	/* Filtering by link: lo has no such route. */
	s = find_route((unsigned)rtnl_link_index(&h, "lo"), "198.18.6.0/24");
	ck_assert_int_eq(s.count, 0);

	ck_assert_int_eq(rtnl_route_add(&h, index, r4.family, r4.addr, r4.len),
			 -EEXIST);

	ck_assert_int_eq(rtnl_route_del(&h, index, r4.family, r4.addr, r4.len), 0);
	ck_assert_int_eq(rtnl_route_del(&h, index, r6.family, r6.addr, r6.len), 0);
	ck_assert_int_eq(find_route(index, "198.18.6.0/24").count, 0);
	ck_assert_int_eq(find_route(index, "fd00:6::/64").count, 0);
	ck_assert_int_eq(rtnl_route_del(&h, index, r4.family, r4.addr, r4.len),
			 -ESRCH);
	close(fd);
}
END_TEST

START_TEST(errors)
{
	struct prefix v4 = pfx("198.18.5.1/24"), bad = pfx("198.18.6.1/24");
	char name[IFNAMSIZ] = "ostpe0";
	int fd, err;
	unsigned index;
	const char *msg;

	err = rtnl_addr_add(&h, 999999, v4.family, v4.addr, v4.len);
	ck_assert_int_eq(err, -ENODEV);
	msg = rtnl_strerror(&h, err);
	ck_assert_ptr_nonnull(msg);
	ck_assert_int_gt(strlen(msg), 0);
	printf("rtnl_addr_add(ifindex 999999): %s\n", msg);

	/* Host bits in a route: the kernel explains itself when it can. */
	fd = open_tun(name, false);
	index = (unsigned)rtnl_link_index(&h, name);
	ck_assert_int_eq(rtnl_link_set(&h, index, true, 0), 0);
	err = rtnl_route_add(&h, index, bad.family, bad.addr, bad.len);
	ck_assert_int_eq(err, -EINVAL);
	printf("rtnl_route_add(198.18.6.1/24): %s\n", rtnl_strerror(&h, err));
	/* The message belongs to that error, not to a later one. */
	ck_assert_str_eq(rtnl_strerror(&h, -ENOENT), strerror(ENOENT));

	/* The socket is still in step after errors. */
	ck_assert_int_eq(rtnl_link_index(&h, name), (int)index);
	ck_assert_int_eq(rtnl_link_index(&h, "no-such-link"), -ENODEV);
	ck_assert_int_eq(rtnl_link_index(&h, "much-too-long-name"), -EINVAL);
	ck_assert_int_eq(rtnl_addr_add(&h, index, AF_UNIX, v4.addr, 8), -EINVAL);
	ck_assert_int_eq(rtnl_addr_add(&h, index, AF_INET, v4.addr, 33), -EINVAL);
	close(fd);
}
END_TEST

/* ---- runner -------------------------------------------------------------- */

/* Tries, in a throwaway child, what every test needs. */
static bool can_run(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd;

		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : 2);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("test_rtnl: SKIPPED (needs root for a network namespace "
		       "and /dev/net/tun)\n");
		return EXIT_SUCCESS;
	}
	if (!can_run()) {
		printf("test_rtnl: SKIPPED (unshare(CLONE_NEWNET) or "
		       "/dev/net/tun unavailable)\n");
		return EXIT_SUCCESS;
	}

	/* after can_run(), whose child would otherwise own (and leak) these */
	s = suite_create("rtnl");
	tc = tcase_create("netns");
	tcase_add_checked_fixture(tc, enter_netns, leave_netns);
	tcase_add_test(tc, tun_and_link);
	tcase_add_test(tc, tun_vnet_hdr);
	tcase_add_test(tc, tun_persist);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, routes);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	/* Fork mode regardless of CK_FORK: unshare() must never move the
	 * runner itself, and each test needs a fresh namespace. */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
