/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ostp.h"

/* The samples in etc/ are checked when the tests run from the tree. */
#ifndef SRCDIR
#define SRCDIR "."
#endif

/* Two valid Ed25519 public keys (from seeds 0..31 and 32..63). */
#define KEY_A "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
#define KEY_B "Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc="

#define CLIENT_HEAD "client {\n\tserver = \"198.18.0.1:7000\"\n"

static char tmpdir[PATH_MAX];

static const char *write_conf(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

static void load_ok(struct ostpd_config *c, const char *text)
{
	char err[512];
	const char *path = write_conf("ok.conf", text);

	ck_assert_msg(config_load(c, path, err, sizeof(err)) == 0,
		      "rejected: %s", err);
}

static void check_prefix(const struct prefix *p, const char *text)
{
	char buf[PREFIX_STRLEN];

	ck_assert_str_eq(prefix_format(p, buf, sizeof(buf)), text);
}

static void check_endpoint(const struct endpoint *ep, const char *text)
{
	char buf[ENDPOINT_STRLEN];

	ck_assert_str_eq(endpoint_format((const struct sockaddr *)&ep->addr,
					 buf, sizeof(buf)), text);
	ck_assert_int_eq(ep->len, ep->addr.ss_family == AF_INET ?
			 sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
}

static void check_key(const uint8_t key[32], const char *b64)
{
	uint8_t want[32];
	size_t len;

	ck_assert_int_eq(sodium_base642bin(want, sizeof(want), b64, strlen(b64),
					   NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_int_eq(len, 32);
	ck_assert_mem_eq(key, want, 32);
}

static const char full_conf[] =
	"# every option set, none to its default\n"
	"interface = \"tun-test\"\n"
	"mtu = 1400\n"
	"busy_poll = 250\n"
	"address = { \"198.18.1.1/24\", \"fd00:1::1/64\" }\n"
	"user_name = \"daemon\"\n"
	"log = \"syslog\"\n"
	"log_level = \"debug\"\n"
	"control_dir = \"/run/ostp-test\"\n"
	"identity_key = \"/etc/ostp/test.key\"\n"
	"server {\n"
	"	listen = { \"198.18.0.1:7001\", \"[fd00::1]:7002\" }\n"
	"	trust_file = \"/etc/ostp/t\"\n"
	"	password_file = \"/etc/ostp/p\"\n"
	"	require_auth = false\n"
	"	spw = { \"ipv4\", \"ipv6\", \"config\", \"relay\", \"gso\" }\n"
	"	max_sessions = 16\n"
	"	handshake_timeout = 7\n"
	"	user \"ian\" {\n"
	"		address = { \"198.18.1.2/32\", \"fd00:1::2/128\" }\n"
	"		allowed_ips = { \"198.18.10.0/24\", \"fd00:10::/48\" }\n"
	"		spw = { \"ipv4\", \"mesh\" }\n"
	"	}\n"
	"	user \"quinn\" {\n"
	"		address = { \"198.18.1.3/32\" }\n"
	"	}\n"
	"}\n"
	"client {\n"
	"	server = \"[fd00::9]:7100\"\n"
	"	server_key = \"" KEY_A "\"\n"
	"	known_hosts = \"/var/lib/ostp/kh\"\n"
	"	username = \"ian\"\n"
	"	password_file = \"/etc/ostp/ian.pw\"\n"
	"	spw = { \"ipv4\" }\n"
	"	quick = true\n"
	"	peers = true\n"
	"	keepalive = 3\n"
	"	dead_after = 9\n"
	"	reconnect_min = 2\n"
	"	reconnect_max = 20\n"
	"	routes = { \"198.18.20.0/24\", \"fd00:20::/64\" }\n"
	"}\n"
	"peer \"alpha\" {\n"
	"	endpoint = \"198.18.0.3:7000\"\n"
	"	key = \"" KEY_B "\"\n"
	"	allowed_ips = { \"198.18.3.0/24\" }\n"
	"}\n"
	"peer \"beta\" {\n"
	"	endpoint = \"[fd00::4]:7004\"\n"
	"	key = \"" KEY_A "\"\n"
	"}\n";

START_TEST(full_config)
{
	struct ostpd_config c;

	load_ok(&c, full_conf);
	ck_assert_str_eq(c.interface, "tun-test");
	ck_assert_uint_eq(c.mtu, 1400);
	ck_assert_uint_eq(c.busy_poll_us, 250);
	ck_assert_uint_eq(c.n_addr, 2);
	check_prefix(&c.addr[0], "198.18.1.1/24");
	check_prefix(&c.addr[1], "fd00:1::1/64");
	ck_assert_int_eq(c.addr[1].family, AF_INET6);
	ck_assert_str_eq(c.user_name, "daemon");
	ck_assert_int_eq(c.log, OSTPD_LOG_SYSLOG);
	ck_assert_int_eq(c.log_level, OSTPD_LOG_DEBUG);
	ck_assert_str_eq(c.control_dir, "/run/ostp-test");
	ck_assert_str_eq(c.identity_key, "/etc/ostp/test.key");

	ck_assert(c.has_server);
	ck_assert_uint_eq(c.server.n_listen, 2);
	check_endpoint(&c.server.listen[0], "198.18.0.1:7001");
	check_endpoint(&c.server.listen[1], "[fd00::1]:7002");
	ck_assert_str_eq(c.server.trust_file, "/etc/ostp/t");
	ck_assert_str_eq(c.server.password_file, "/etc/ostp/p");
	ck_assert(!c.server.require_auth);
	ck_assert_uint_eq(c.server.spw, OSTP_SPW_IPV4 | OSTP_SPW_IPV6 |
			  OSTP_SPW_CONFIG | OSTP_SPW_RELAY | OSTP_SPW_GSO);
	ck_assert_uint_eq(c.server.max_sessions, 16);
	ck_assert_uint_eq(c.server.handshake_timeout, 7);
	ck_assert_uint_eq(c.server.n_users, 2);
	ck_assert_str_eq(c.server.users[0].name, "ian");
	ck_assert_uint_eq(c.server.users[0].n_addr, 2);
	check_prefix(&c.server.users[0].addr[0], "198.18.1.2/32");
	check_prefix(&c.server.users[0].addr[1], "fd00:1::2/128");
	ck_assert_uint_eq(c.server.users[0].n_allowed_ips, 2);
	check_prefix(&c.server.users[0].allowed_ips[0], "198.18.10.0/24");
	check_prefix(&c.server.users[0].allowed_ips[1], "fd00:10::/48");
	ck_assert_uint_eq(c.server.users[0].spw, OSTP_SPW_IPV4 | OSTP_SPW_MESH);
	ck_assert_str_eq(c.server.users[1].name, "quinn");
	ck_assert_uint_eq(c.server.users[1].n_addr, 1);
	ck_assert_uint_eq(c.server.users[1].n_allowed_ips, 0);
	ck_assert_uint_eq(c.server.users[1].spw, OSTP_SPW_CONFIG |
			  OSTP_SPW_IPV4 | OSTP_SPW_IPV6);

	ck_assert(c.has_client);
	check_endpoint(&c.client.server, "[fd00::9]:7100");
	ck_assert(c.client.have_server_key);
	check_key(c.client.server_key, KEY_A);
	ck_assert_str_eq(c.client.known_hosts, "/var/lib/ostp/kh");
	ck_assert(!c.client.trust_on_first_use);
	ck_assert_str_eq(c.client.username, "ian");
	ck_assert_str_eq(c.client.password_file, "/etc/ostp/ian.pw");
	ck_assert_uint_eq(c.client.spw, OSTP_SPW_IPV4);
	ck_assert(c.client.quick);
	ck_assert(c.client.peers);
	ck_assert_uint_eq(c.client.keepalive, 3);
	ck_assert_uint_eq(c.client.dead_after, 9);
	ck_assert_uint_eq(c.client.reconnect_min, 2);
	ck_assert_uint_eq(c.client.reconnect_max, 20);
	ck_assert_uint_eq(c.client.n_routes, 2);
	check_prefix(&c.client.routes[0], "198.18.20.0/24");
	check_prefix(&c.client.routes[1], "fd00:20::/64");

	ck_assert_uint_eq(c.n_peers, 2);
	ck_assert_str_eq(c.peers[0].name, "alpha");
	check_endpoint(&c.peers[0].endpoint, "198.18.0.3:7000");
	check_key(c.peers[0].key, KEY_B);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 1);
	check_prefix(&c.peers[0].allowed_ips[0], "198.18.3.0/24");
	ck_assert_str_eq(c.peers[1].name, "beta");
	check_endpoint(&c.peers[1].endpoint, "[fd00::4]:7004");
	ck_assert_uint_eq(c.peers[1].n_allowed_ips, 0);
	config_free(&c);
}
END_TEST

START_TEST(server_defaults)
{
	struct ostpd_config c;

	load_ok(&c, "server {\n}\n");
	ck_assert_str_eq(c.interface, "ostp0");
	ck_assert_uint_eq(c.mtu, 1420);
	ck_assert_uint_eq(c.busy_poll_us, 0);
	ck_assert_uint_eq(c.n_addr, 0);
	ck_assert_str_eq(c.user_name, "nobody");
	ck_assert_int_eq(c.log, OSTPD_LOG_STDERR);
	ck_assert_int_eq(c.log_level, OSTPD_LOG_INFO);
	ck_assert_str_eq(c.control_dir, "/run/ostp");
	ck_assert_str_eq(c.identity_key, "/etc/ostp/identity.key");
	ck_assert_str_eq(c.key_log, "");   /* no key log unless asked for */
	ck_assert(c.has_server);
	ck_assert(!c.has_client);
	ck_assert_uint_eq(c.server.n_listen, 1);
	check_endpoint(&c.server.listen[0], "0.0.0.0:7000");
	ck_assert_str_eq(c.server.trust_file, "/etc/ostp/trusted_users");
	ck_assert_str_eq(c.server.password_file, "/etc/ostp/passwords");
	ck_assert_str_eq(c.server.pam_service, "");
	ck_assert_str_eq(c.server.pam_confdir, "");
	ck_assert(c.server.require_auth);
	ck_assert_uint_eq(c.server.spw, OSTP_SPW_CONFIG | OSTP_SPW_IPV4 |
			  OSTP_SPW_IPV6);
	ck_assert_uint_eq(c.server.max_sessions, 1024);
	ck_assert_uint_eq(c.server.handshake_timeout, 5);
	ck_assert_uint_eq(c.server.n_users, 0);
	ck_assert_uint_eq(c.n_peers, 0);
	config_free(&c);
}
END_TEST

START_TEST(client_defaults)
{
	struct ostpd_config c;

	load_ok(&c, "client {\n"
		    "	server = \"198.18.0.1:7000\"\n"
		    "	trust_on_first_use = true\n"
		    "}\n");
	ck_assert(!c.has_server);
	ck_assert(c.has_client);
	ck_assert(!c.client.have_server_key);
	ck_assert(c.client.trust_on_first_use);
	ck_assert_str_eq(c.client.known_hosts, "/var/lib/ostp/known_hosts");
	ck_assert_str_eq(c.client.username, "");
	ck_assert_str_eq(c.client.password_file, "");
	ck_assert_uint_eq(c.client.spw, OSTP_SPW_CONFIG | OSTP_SPW_IPV4 |
			  OSTP_SPW_IPV6);
	ck_assert(!c.client.quick);
	ck_assert(!c.client.peers);
	ck_assert_uint_eq(c.client.keepalive, 10);
	ck_assert_uint_eq(c.client.dead_after, 30);
	ck_assert_uint_eq(c.client.reconnect_min, 1);
	ck_assert_uint_eq(c.client.reconnect_max, 60);
	ck_assert_uint_eq(c.client.n_routes, 0);
	ck_assert(!c.client.mesh);
	ck_assert_uint_eq(c.client.spw & OSTP_SPW_MESH, 0);
	ck_assert_uint_eq(c.client.m.n_listen, 0);
	ck_assert_ptr_null(c.client.m.listen);
	config_free(&c);
}
END_TEST

#define MESH_HEAD CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n"

START_TEST(mesh_defaults)
{
	struct ostpd_config c;

	load_ok(&c, MESH_HEAD "\tmesh {\n\t}\n}\n");
	ck_assert(c.has_client);
	ck_assert(c.client.mesh);
	/* the section asks for the permission; the other bits stay the default */
	ck_assert_uint_eq(c.client.spw, OSTP_SPW_CONFIG | OSTP_SPW_IPV4 |
			  OSTP_SPW_IPV6 | OSTP_SPW_MESH);
	ck_assert_uint_eq(c.client.m.n_listen, 0);
	ck_assert(!c.client.m.have_announce);
	ck_assert_uint_eq(c.client.m.keepalive_ms, 500);
	ck_assert_uint_eq(c.client.m.dead_ms, 2000);
	ck_assert_uint_eq(c.client.m.handshake_ms, 3000);
	ck_assert_uint_eq(c.client.m.dial_delay_ms, 2000);
	ck_assert_uint_eq(c.client.m.redial_max, 5);
	ck_assert_uint_eq(c.client.m.idle_timeout, 0);
	ck_assert_uint_eq(c.client.m.max_links, 64);
	ck_assert_uint_eq(c.client.m.list_max_age, 600);
	config_free(&c);
}
END_TEST

static const char mesh_conf[] =
	"identity_key = \"/etc/ostp/member.key\"\n"
	"client {\n"
	"	server = \"198.18.0.1:7000\"\n"
	"	server_key = \"" KEY_A "\"\n"
	"	spw = { \"ipv4\", \"relay\" }\n"
	"	mesh {\n"
	"		listen = { \"198.18.0.2:7201\", \"[fd00::2]:7202\" }\n"
	"		announce = \"[fd00::99]:7300\"\n"
	"		keepalive_ms = 250\n"
	"		dead_ms = 1000\n"
	"		handshake_ms = 4000\n"
	"		dial_delay_ms = 0\n"
	"		redial_max = 30\n"
	"		idle_timeout = 120\n"
	"		max_links = 8\n"
	"		list_max_age = 0\n"
	"	}\n"
	"}\n";

START_TEST(mesh_full)
{
	struct ostpd_config c;

	load_ok(&c, mesh_conf);
	ck_assert_str_eq(c.identity_key, "/etc/ostp/member.key");
	ck_assert(c.client.mesh);
	ck_assert_uint_eq(c.client.spw, OSTP_SPW_IPV4 | OSTP_SPW_RELAY | OSTP_SPW_MESH);
	ck_assert_uint_eq(c.client.m.n_listen, 2);
	check_endpoint(&c.client.m.listen[0], "198.18.0.2:7201");
	check_endpoint(&c.client.m.listen[1], "[fd00::2]:7202");
	ck_assert(c.client.m.have_announce);
	check_endpoint(&c.client.m.announce, "[fd00::99]:7300");
	ck_assert_uint_eq(c.client.m.keepalive_ms, 250);
	ck_assert_uint_eq(c.client.m.dead_ms, 1000);
	ck_assert_uint_eq(c.client.m.handshake_ms, 4000);
	ck_assert_uint_eq(c.client.m.dial_delay_ms, 0);
	ck_assert_uint_eq(c.client.m.redial_max, 30);
	ck_assert_uint_eq(c.client.m.idle_timeout, 120);
	ck_assert_uint_eq(c.client.m.max_links, 8);
	ck_assert_uint_eq(c.client.m.list_max_age, 0);
	config_free(&c);

	/* "mesh" in the client's own spw list is the same bit, once */
	load_ok(&c, MESH_HEAD "\tspw = { \"ipv4\", \"mesh\" }\n\tmesh {\n"
		    "\t\tannounce = \"198.18.0.2:7201\"\n\t}\n}\n");
	ck_assert_uint_eq(c.client.spw, OSTP_SPW_IPV4 | OSTP_SPW_MESH);
	ck_assert_uint_eq(c.client.m.n_listen, 0);
	ck_assert(c.client.m.have_announce);
	check_endpoint(&c.client.m.announce, "198.18.0.2:7201");
	config_free(&c);
}
END_TEST

START_TEST(small_mtu_without_ipv6)
{
	struct ostpd_config c;

	load_ok(&c, "mtu = 576\naddress = { \"198.18.1.1/24\" }\nserver {}\n");
	ck_assert_uint_eq(c.mtu, 576);
	config_free(&c);
}
END_TEST

START_TEST(environment_and_escapes)
{
	struct ostpd_config c;

	/* libconfuse expands ${VAR} inside double quotes. */
	ck_assert_int_eq(setenv("OSTP_TEST_DIR", "/srv/x", 1), 0);
	load_ok(&c, "control_dir = \"${OSTP_TEST_DIR}/run\"\n"
		    "identity_key = \"/k\\$\\\"q\"\nserver {}\n");
	ck_assert_str_eq(c.control_dir, "/srv/x/run");
	ck_assert_str_eq(c.identity_key, "/k$\"q");
	config_free(&c);
}
END_TEST

/* ---- equality for the round trip ---------------------------------------- */

static void eq_prefixes(const struct prefix *a, const struct prefix *b,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(a[i].family, b[i].family);
		ck_assert_uint_eq(a[i].len, b[i].len);
		ck_assert_mem_eq(a[i].addr, b[i].addr, 16);
	}
}

static void eq_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	ck_assert_uint_eq(a->len, b->len);
	ck_assert_mem_eq(&a->addr, &b->addr, a->len);
}

static void eq_server(const struct ostpd_server *a, const struct ostpd_server *b)
{
	ck_assert_uint_eq(a->n_listen, b->n_listen);
	for (size_t i = 0; i < a->n_listen; i++)
		eq_endpoint(&a->listen[i], &b->listen[i]);
	ck_assert_str_eq(a->trust_file, b->trust_file);
	ck_assert_str_eq(a->password_file, b->password_file);
	ck_assert_str_eq(a->pam_service, b->pam_service);
	ck_assert_str_eq(a->pam_confdir, b->pam_confdir);
	ck_assert_int_eq(a->require_auth, b->require_auth);
	ck_assert_uint_eq(a->spw, b->spw);
	ck_assert_uint_eq(a->max_sessions, b->max_sessions);
	ck_assert_uint_eq(a->handshake_timeout, b->handshake_timeout);
	ck_assert_uint_eq(a->n_users, b->n_users);
	for (size_t i = 0; i < a->n_users; i++) {
		const struct ostpd_user *x = &a->users[i], *y = &b->users[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_uint_eq(x->n_addr, y->n_addr);
		eq_prefixes(x->addr, y->addr, x->n_addr);
		ck_assert_uint_eq(x->n_allowed_ips, y->n_allowed_ips);
		eq_prefixes(x->allowed_ips, y->allowed_ips, x->n_allowed_ips);
		ck_assert_uint_eq(x->spw, y->spw);
	}
}

static void eq_client(const struct ostpd_client *a, const struct ostpd_client *b)
{
	eq_endpoint(&a->server, &b->server);
	ck_assert_int_eq(a->have_server_key, b->have_server_key);
	ck_assert_mem_eq(a->server_key, b->server_key, 32);
	ck_assert_str_eq(a->known_hosts, b->known_hosts);
	ck_assert_int_eq(a->trust_on_first_use, b->trust_on_first_use);
	ck_assert_str_eq(a->username, b->username);
	ck_assert_str_eq(a->password_file, b->password_file);
	ck_assert_uint_eq(a->spw, b->spw);
	ck_assert_int_eq(a->quick, b->quick);
	ck_assert_int_eq(a->peers, b->peers);
	ck_assert_uint_eq(a->keepalive, b->keepalive);
	ck_assert_uint_eq(a->dead_after, b->dead_after);
	ck_assert_uint_eq(a->reconnect_min, b->reconnect_min);
	ck_assert_uint_eq(a->reconnect_max, b->reconnect_max);
	ck_assert_uint_eq(a->n_routes, b->n_routes);
	eq_prefixes(a->routes, b->routes, a->n_routes);
	ck_assert_int_eq(a->mesh, b->mesh);
	if (a->mesh) {
		ck_assert_uint_eq(a->m.n_listen, b->m.n_listen);
		for (size_t i = 0; i < a->m.n_listen; i++)
			eq_endpoint(&a->m.listen[i], &b->m.listen[i]);
		ck_assert_int_eq(a->m.have_announce, b->m.have_announce);
		if (a->m.have_announce)
			eq_endpoint(&a->m.announce, &b->m.announce);
		ck_assert_uint_eq(a->m.keepalive_ms, b->m.keepalive_ms);
		ck_assert_uint_eq(a->m.dead_ms, b->m.dead_ms);
		ck_assert_uint_eq(a->m.handshake_ms, b->m.handshake_ms);
		ck_assert_uint_eq(a->m.dial_delay_ms, b->m.dial_delay_ms);
		ck_assert_uint_eq(a->m.redial_max, b->m.redial_max);
		ck_assert_uint_eq(a->m.idle_timeout, b->m.idle_timeout);
		ck_assert_uint_eq(a->m.max_links, b->m.max_links);
		ck_assert_uint_eq(a->m.list_max_age, b->m.list_max_age);
	}
}

static void eq_config(const struct ostpd_config *a, const struct ostpd_config *b)
{
	ck_assert_str_eq(a->interface, b->interface);
	ck_assert_uint_eq(a->mtu, b->mtu);
	ck_assert_uint_eq(a->busy_poll_us, b->busy_poll_us);
	ck_assert_uint_eq(a->n_addr, b->n_addr);
	eq_prefixes(a->addr, b->addr, a->n_addr);
	ck_assert_str_eq(a->user_name, b->user_name);
	ck_assert_int_eq(a->log, b->log);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_str_eq(a->control_dir, b->control_dir);
	ck_assert_str_eq(a->identity_key, b->identity_key);
	ck_assert_str_eq(a->key_log, b->key_log);
	ck_assert_int_eq(a->has_server, b->has_server);
	if (a->has_server)
		eq_server(&a->server, &b->server);
	ck_assert_int_eq(a->has_client, b->has_client);
	if (a->has_client)
		eq_client(&a->client, &b->client);
	ck_assert_uint_eq(a->n_peers, b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct ostpd_peer *x = &a->peers[i], *y = &b->peers[i];

		ck_assert_str_eq(x->name, y->name);
		eq_endpoint(&x->endpoint, &y->endpoint);
		ck_assert_mem_eq(x->key, y->key, 32);
		ck_assert_uint_eq(x->n_allowed_ips, y->n_allowed_ips);
		eq_prefixes(x->allowed_ips, y->allowed_ips, x->n_allowed_ips);
	}
}

/* With a PAM service the password file is not read at all: no default
 * path is left for the daemon or ostpctl to use. */
START_TEST(pam_service)
{
	struct ostpd_config c;

	load_ok(&c, "server {\n\tpam_service = \"ostp\"\n"
		"\tpam_confdir = \"/etc/ostp/pam.d\"\n}\n");
	ck_assert_str_eq(c.server.pam_service, "ostp");
	ck_assert_str_eq(c.server.pam_confdir, "/etc/ostp/pam.d");
	ck_assert_str_eq(c.server.password_file, "");
	config_free(&c);

	load_ok(&c, "server {\n\tpam_service = \"ostp\"\n}\n");
	ck_assert_str_eq(c.server.pam_service, "ostp");
	ck_assert_str_eq(c.server.pam_confdir, "");
	ck_assert_str_eq(c.server.password_file, "");
	config_free(&c);

	/* empty: the password file, as when the key is absent */
	load_ok(&c, "server {\n\tpam_service = \"\"\n"
		"\tpassword_file = \"/etc/ostp/p\"\n}\n");
	ck_assert_str_eq(c.server.pam_service, "");
	ck_assert_str_eq(c.server.password_file, "/etc/ostp/p");
	config_free(&c);
}
END_TEST

static const char *const roundtrip_confs[] = {
	full_conf,
	"server {}\n",
	"client {\n server = \"198.18.0.1:7000\"\n trust_on_first_use = true\n}\n",
	/* Strings that need escaping, and a list emptied on purpose. */
	"user_name = \"\"\ncontrol_dir = \"/a b/\\\"c\\\\d\\$e\"\n"
	"server {\n spw = {}\n}\n",
	mesh_conf,
	/* a member that only dials, everything else its default */
	MESH_HEAD "\tmesh {}\n}\n",
	/* passwords through PAM: no password_file may be printed */
	"server {\n pam_service = \"ostp\"\n pam_confdir = \"/etc/ostp/pam.d\"\n}\n",
	"server {\n pam_service = \"ostp-vpn_1.x\"\n}\n",
	/* a key log, printed only when set */
	"key_log = \"/var/tmp/ostp keys\"\nserver {}\n",
};

START_TEST(print_roundtrip)
{
	struct ostpd_config a, b;
	char path[PATH_MAX + 64], err[512];
	char *text1 = NULL, *text2 = NULL;
	size_t len1, len2;
	FILE *fp;

	load_ok(&a, roundtrip_confs[_i]);
	snprintf(path, sizeof(path), "%s/printed.conf", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	config_print(&a, fp);
	ck_assert_int_eq(fclose(fp), 0);

	ck_assert_msg(config_load(&b, path, err, sizeof(err)) == 0,
		      "printed config rejected: %s", err);
	eq_config(&a, &b);

	/* Printing is stable: the second print is the first. */
	fp = open_memstream(&text1, &len1);
	config_print(&a, fp);
	fclose(fp);
	fp = open_memstream(&text2, &len2);
	config_print(&b, fp);
	fclose(fp);
	ck_assert_str_eq(text1, text2);
	free(text1);
	free(text2);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

struct bad {
	const char *text;
	int line;
	const char *msg;   /* expected after "file:line: " */
};

static const struct bad bad_confs[] = {
	{ "key_log = \"keys.txt\"\nserver {}\n",
	  1, "key_log: 'keys.txt' is not an absolute path" },
	/* values, reported on the value's own line */
	{ "server {}\naddress = { \"198.18.1.1/24\",\n\t\"198.18.1.300/24\" }\n",
	  3, "address: '198.18.1.300/24' is not an address or prefix" },
	{ "address = \"198.18.0.1/33\"\nserver {}\n",
	  1, "address: '198.18.0.1/33' is not an address or prefix" },
	{ "server {\n\tlisten = { \"198.18.0.1:99999\" }\n}\n",
	  2, "server: listen: '198.18.0.1:99999' is not a numeric address:port" },
	{ CLIENT_HEAD "\tserver_key = \"not base64!\"\n}\n",
	  3, "client: server_key: not a base64 Ed25519 public key" },
	/* 16 bytes: right encoding, wrong length */
	{ CLIENT_HEAD "\tserver_key = \"AAECAwQFBgcICQoLDA0ODw==\"\n}\n",
	  3, "client: server_key: not a base64 Ed25519 public key" },
	/* 32 zero bytes: a small-order point */
	{ CLIENT_HEAD "\tserver_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n}\n",
	  3, "client: server_key: not a base64 Ed25519 public key" },
	{ "server {}\npeer \"p\" {\n\tendpoint = \"198.18.0.3:7000\"\n"
	  "\tkey = \"" KEY_A "x\"\n}\n",
	  4, "peer \"p\": key: not a base64 Ed25519 public key" },
	{ "server {\n\tspw = { \"ipv4\",\n\t\t\"turbo\" }\n}\n",
	  3, "server: spw: unknown SPW bit 'turbo'" },
	{ "server {\n\tuser \"ian\" {\n\t\tspw = { \"Relay\" }\n\t}\n}\n",
	  3, "user \"ian\": spw: unknown SPW bit 'Relay'" },
	{ "\nmtu = 575\nserver {}\n", 2, "mtu: 575 is outside 576..65535" },
	{ "mtu = 65536\nserver {}\n", 1, "mtu: 65536 is outside 576..65535" },
	{ "mtu = 1500x\nserver {}\n", 1, "mtu: '1500x' is not a number" },
	{ "server {}\nbusy_poll = 1000001\n", 2, "busy_poll: 1000001 is outside 0..1000000" },
	{ "busy_poll = -1\nserver {}\n", 1, "busy_poll: -1 is outside 0..1000000" },
	{ "mtu = 1279\naddress = { \"198.18.1.1/24\", \"fd00::1/64\" }\n"
	  "server {}\n",
	  1, "mtu: 1279 is below 1280, the IPv6 minimum" },
	{ "server {\n\tuser \"ian\" {\n\t\taddress = { \"fd00::2/128\" }\n\t}\n}\n"
	  "mtu = 1000\n",
	  6, "mtu: 1000 is below 1280, the IPv6 minimum" },
	{ "mtu = 1400\n# no section at all\n", 2,
	  "neither a server nor a client section" },
	{ "", 1, "neither a server nor a client section" },
	{ CLIENT_HEAD "}\n", 3,
	  "client: server_key is required unless trust_on_first_use = true" },
	{ CLIENT_HEAD "\ttrust_on_first_use = true\n\tserver_key = \"" KEY_A
	  "\"\n}\n", 5, "client: server_key and trust_on_first_use" },
	{ "client {\n\ttrust_on_first_use = true\n}\n", 3,
	  "client: server is required" },
	{ CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n\tusername = \"-ian\"\n}\n",
	  4, "client: username: '-ian' is not a valid username" },
	{ CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n\tusername = \"ian\"\n}\n",
	  5, "client: username needs password_file" },
	{ CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n\tkeepalive = 30\n}\n",
	  5, "client: dead_after must be longer than keepalive" },
	{ CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n\treconnect_min = 9\n"
	  "\treconnect_max = 8\n}\n",
	  6, "client: reconnect_max is below reconnect_min" },
	{ CLIENT_HEAD "\tserver_key = \"" KEY_A "\"\n\troutes = { \"198.18.10.1/24\" }\n}\n",
	  4, "client: routes: '198.18.10.1/24' has host bits set" },
	{ "server {\n\tuser \"ian\" {\n\t}\n\tuser \"quinn\" {\n\t}\n"
	  "\tuser \"ian\" {\n\t}\n}\n",
	  6, "found duplicate title 'ian'" },
	{ "server {\n\tuser \"i an\" {\n\t}\n}\n", 3,
	  "user \"i an\": invalid name" },
	{ "server {}\npeer \"a\" {\n\tendpoint = \"198.18.0.3:7000\"\n"
	  "\tkey = \"" KEY_A "\"\n}\npeer \"a\" {\n}\n",
	  6, "found duplicate title 'a'" },
	{ "server {}\npeer \"a\" {\n\tendpoint = \"198.18.0.3:7000\"\n}\n",
	  4, "peer \"a\": key is required" },
	{ "server {}\nserver {}\n", 2, "server: section given twice" },
	{ "server {\n\tlisten = {}\n}\n", 3,
	  "server: listen needs at least one endpoint" },
	{ "server {\n\tuser \"ian\" {\n\t\taddress = { \"198.18.1.1\", \"198.18.1.2\",\n"
	  "\t\t\t\"198.18.1.3\", \"198.18.1.4\", \"198.18.1.5\", \"198.18.1.6\",\n"
	  "\t\t\t\"198.18.1.7\", \"198.18.1.8\",\n\t\t\t\"198.18.1.9\" }\n\t}\n}\n",
	  6, "user \"ian\": address: more than 8 addresses" },
	{ "interface = \"much-too-long-name\"\nserver {}\n", 1,
	  "interface: 'much-too-long-name' is not a valid interface name" },
	{ "interface = \"a/b\"\nserver {}\n", 1,
	  "interface: 'a/b' is not a valid interface name" },
	{ "server {\n\ttrust_file = \"trusted_users\"\n}\n", 2,
	  "server: trust_file: 'trusted_users' is not an absolute path" },
	{ "log = \"file\"\nserver {}\n", 1, "log: 'file' is neither" },
	{ "log_level = \"loud\"\nserver {}\n", 1, "log_level: unknown level 'loud'" },
	{ "user_name = \"no:body\"\nserver {}\n", 1,
	  "user_name: 'no:body' is not a valid user name" },
	{ "server {\n\tmax_sessions = 0\n}\n", 2,
	  "server: max_sessions: 0 is outside 1..1000000" },
	/* PAM */
	{ "server {\n\tpassword_file = \"/etc/ostp/passwords\"\n"
	  "\tpam_service = \"ostp\"\n}\n", 4,
	  "server: password_file and pam_service exclude each other" },
	{ "server {\n\tpam_service = \"ostp\"\n"
	  "\tpassword_file = \"/etc/ostp/p\"\n}\n", 4,
	  "server: password_file and pam_service exclude each other" },
	{ "server {\n\tpam_confdir = \"/etc/ostp/pam.d\"\n}\n", 3,
	  "server: pam_confdir needs pam_service" },
	{ "server {\n\tpam_service = \"../shadow\"\n}\n", 2,
	  "server: pam_service: '../shadow' is not a PAM service name" },
	{ "server {\n\tpam_service = \"pam.d/ostp\"\n}\n", 2,
	  "server: pam_service: 'pam.d/ostp' is not a PAM service name" },
	{ "server {\n\tpam_service = \"-ostp\"\n}\n", 2,
	  "server: pam_service: '-ostp' is not a PAM service name" },
	{ "server {\n\tpam_service = \"ostp\"\n\tpam_confdir = \"pam.d\"\n}\n", 3,
	  "server: pam_confdir: 'pam.d' is not an absolute path" },
	/* the mesh section */
	{ MESH_HEAD "\tmesh {\n\t\tkeepalive_ms = 2000\n\t}\n}\n", 6,
	  "mesh: dead_ms must be longer than keepalive_ms" },
	{ MESH_HEAD "\tmesh {\n\t\tkeepalive_ms = 1000\n\t\tdead_ms = 999\n\t}\n}\n", 7,
	  "mesh: dead_ms must be longer than keepalive_ms" },
	{ MESH_HEAD "\tmesh {\n\t\tlisten = { \"198.18.0.2:7201\",\n"
	  "\t\t\t\"198.18.0.2\" }\n\t}\n}\n", 6,
	  "mesh: listen: '198.18.0.2' is not a numeric address:port" },
	{ MESH_HEAD "\tmesh {\n\t\tannounce = \"member.example:7201\"\n\t}\n}\n", 5,
	  "mesh: announce: 'member.example:7201' is not a numeric address:port" },
	{ MESH_HEAD "\tmesh {\n\t\tkeepalive_ms = 99\n\t}\n}\n", 5,
	  "mesh: keepalive_ms: 99 is outside 100..3600000" },
	{ MESH_HEAD "\tmesh {\n\t\tdead_ms = 86400001\n\t}\n}\n", 5,
	  "mesh: dead_ms: 86400001 is outside 200..86400000" },
	{ MESH_HEAD "\tmesh {\n\t\thandshake_ms = 499\n\t}\n}\n", 5,
	  "mesh: handshake_ms: 499 is outside 500..300000" },
	{ MESH_HEAD "\tmesh {\n\t\tdial_delay_ms = -1\n\t}\n}\n", 5,
	  "mesh: dial_delay_ms: -1 is outside 0..600000" },
	{ MESH_HEAD "\tmesh {\n\t\tredial_max = 0\n\t}\n}\n", 5,
	  "mesh: redial_max: 0 is outside 1..3600" },
	{ MESH_HEAD "\tmesh {\n\t\tidle_timeout = 2592001\n\t}\n}\n", 5,
	  "mesh: idle_timeout: 2592001 is outside 0..2592000" },
	{ MESH_HEAD "\tmesh {\n\t\tmax_links = 0\n\t}\n}\n", 5,
	  "mesh: max_links: 0 is outside 1..4096" },
	{ MESH_HEAD "\tmesh {\n\t\tmax_links = 4097\n\t}\n}\n", 5,
	  "mesh: max_links: 4097 is outside 1..4096" },
	{ MESH_HEAD "\tmesh {\n\t\tlist_max_age = -5\n\t}\n}\n", 5,
	  "mesh: list_max_age: -5 is outside 0..2592000" },
	{ MESH_HEAD "\tmesh {\n\t}\n\tmesh {\n\t}\n}\n", 7,
	  "mesh: section given twice" },
	/* a mesh section belongs to a client */
	{ "server {\n\tmesh {\n\t}\n}\n", 2, "no such option 'mesh'" },
	/* libconfuse's own messages, with our prefix */
	{ "server {\n\tbogus = 1\n}\n", 2, "no such option 'bogus'" },
	{ "server {\n\trequire_auth = maybe\n}\n", 2,
	  "invalid boolean value for option 'require_auth'" },
	{ "server {\n\ttrust_file = \"/etc/x\n", 3, "premature end of file" },
	/* libconfuse itself accepts a file that ends inside a section */
	{ "interface = \"x\"\nserver {\n\tmax_sessions = 10\n", 2,
	  "section is never closed" },
};

START_TEST(bad_config)
{
	const struct bad *b = &bad_confs[_i];
	struct ostpd_config c;
	char err[512], want[512];
	const char *path = write_conf("bad.conf", b->text);

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%d: %s", path, b->line, b->msg);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "case %d\n got: %s\nwant: %s...", _i, err, want);
}
END_TEST

START_TEST(missing_file)
{
	struct ostpd_config c;
	char err[512], want[PATH_MAX + 64];

	snprintf(want, sizeof(want), "%s/absent.conf", tmpdir);
	ck_assert_int_eq(config_load(&c, want, err, sizeof(err)), -ENOENT);
	strcat(want, ": No such file or directory");
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(short_errbuf)
{
	struct ostpd_config c;
	char err[8];
	const char *path = write_conf("bad.conf", "mtu = 1\n");

	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

START_TEST(sample_files)
{
	static const char *const samples[] = {
		SRCDIR "/etc/ostpd.conf", SRCDIR "/etc/client.conf",
	};
	struct ostpd_config c;
	char err[512];

	for (size_t i = 0; i < 2; i++) {
		if (access(samples[i], R_OK) != 0)
			continue;   /* run from outside the source tree */
		ck_assert_msg(config_load(&c, samples[i], err, sizeof(err)) == 0,
			      "%s", err);
		config_free(&c);
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("valid");

	tcase_add_test(tc, full_config);
	tcase_add_test(tc, server_defaults);
	tcase_add_test(tc, client_defaults);
	tcase_add_test(tc, mesh_defaults);
	tcase_add_test(tc, mesh_full);
	tcase_add_test(tc, small_mtu_without_ipv6);
	tcase_add_test(tc, environment_and_escapes);
	tcase_add_test(tc, pam_service);
	tcase_add_loop_test(tc, print_roundtrip, 0,
			    sizeof(roundtrip_confs) / sizeof(roundtrip_confs[0]));
	tcase_add_test(tc, sample_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, bad_config, 0,
			    sizeof(bad_confs) / sizeof(bad_confs[0]));
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, short_errbuf);
	suite_add_tcase(s, tc);
	return s;
}

static void remove_tmpdir(void)
{
	static const char *const names[] = { "ok.conf", "bad.conf", "printed.conf" };
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
		 base && base[0] ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tmpdir();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
