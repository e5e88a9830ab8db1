/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "identity.h"
#include "keycheck.h"
#include "ostp.h"
#include "textfile.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define UNIX_NAME_MAX 32

/* State of the one config_load() in progress.  libconfuse callbacks get
 * no user pointer, and its scanner is global anyway, so a file-scope
 * pointer costs no reentrancy that existed. */
static struct load {
	const char *path;
	char *errbuf;
	size_t errlen;
	bool failed;
	int mtu_line;
	int server_seen;
	int client_seen;
	int mesh_seen;
} *ld;

static const struct {
	const char *name;
	uint16_t bit;
} spw_names[] = {
	{ "config", OSTP_SPW_CONFIG },
	{ "ipv4", OSTP_SPW_IPV4 },
	{ "ipv6", OSTP_SPW_IPV6 },
	{ "gso", OSTP_SPW_GSO },
	{ "relay", OSTP_SPW_RELAY },
	{ "mesh", OSTP_SPW_MESH },
};

bool config_spw_bit(const char *name, uint16_t *bit)
{
	for (size_t i = 0; i < sizeof(spw_names) / sizeof(spw_names[0]); i++) {
		if (strcmp(spw_names[i].name, name) == 0) {
			*bit = spw_names[i].bit;
			return true;
		}
	}
	return false;
}

const char *config_spw_name(uint16_t bit)
{
	for (size_t i = 0; i < sizeof(spw_names) / sizeof(spw_names[0]); i++)
		if (spw_names[i].bit == bit)
			return spw_names[i].name;
	return NULL;
}

static const char *const log_names[] = { "stderr", "syslog" };
static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* ---- error reporting ---------------------------------------------------- */

static void report(int line, const char *fmt, va_list ap)
{
	char msg[512];

	if (!ld || ld->failed)
		return;   /* the first error is the one worth reading */
	ld->failed = true;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(ld->errbuf, ld->errlen, "%s:%d: %s", ld->path, line, msg);
	else
		snprintf(ld->errbuf, ld->errlen, "%s: %s", ld->path, msg);
}

static void on_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	report(cfg ? cfg->line : 0, fmt, ap);
}

__attribute__((format(printf, 2, 3)))
static void error_at(int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(line, fmt, ap);
	va_end(ap);
}

/* Names the option with its section, so "server" the option in
 * client { } is not mistaken for the server section. */
__attribute__((format(printf, 3, 4)))
static void opt_error(cfg_t *cfg, cfg_opt_t *opt, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg_title(cfg))
		cfg_error(cfg, "%s \"%s\": %s: %s", cfg_name(cfg), cfg_title(cfg),
			  opt->name, msg);
	else if (strcmp(cfg_name(cfg), "root") != 0)
		cfg_error(cfg, "%s: %s: %s", cfg_name(cfg), opt->name, msg);
	else
		cfg_error(cfg, "%s: %s", opt->name, msg);
}

/* ---- value callbacks: run as each value is read, so cfg->line is the
 * value's own line ------------------------------------------------------ */

static int pass(const char *value, void *result)
{
	*(const char **)result = value;
	return 0;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int cb_path(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (value[0] != '/' || has_control_char(value) ||
	    strlen(value) >= PATH_MAX) {
		opt_error(cfg, opt, "'%s' is not an absolute path", value);
		return -1;
	}
	return pass(value, result);
}

static int cb_path_or_empty(cfg_t *cfg, cfg_opt_t *opt, const char *value,
			    void *result)
{
	return value[0] ? cb_path(cfg, opt, value, result) : pass(value, result);
}

static int cb_interface(cfg_t *cfg, cfg_opt_t *opt, const char *value,
			void *result)
{
	size_t n = strlen(value);
	bool ok = n > 0 && n < IFNAMSIZ && strcmp(value, ".") != 0 &&
		  strcmp(value, "..") != 0;

	/* The kernel's own rule for device names (dev_valid_name). */
	for (size_t i = 0; ok && i < n; i++)
		if (value[i] == '/' || value[i] == ':' ||
		    (unsigned char)value[i] <= ' ' || value[i] == 0x7f)
			ok = false;
	if (!ok) {
		opt_error(cfg, opt, "'%s' is not a valid interface name "
			  "(1 to %d characters, no '/', ':' or blanks)", value, IFNAMSIZ - 1);
		return -1;
	}
	return pass(value, result);
}

static int cb_unix_user(cfg_t *cfg, cfg_opt_t *opt, const char *value,
			void *result)
{
	size_t n = strlen(value);

	if (n > 0 && (n > UNIX_NAME_MAX || !ostp_username_valid(value, n))) {
		opt_error(cfg, opt, "'%s' is not a valid user name",
			  value);
		return -1;
	}
	return pass(value, result);
}

static int cb_username(cfg_t *cfg, cfg_opt_t *opt, const char *value,
		       void *result)
{
	size_t n = strlen(value);

	if (n > 0 && !ostp_username_valid(value, n)) {
		opt_error(cfg, opt, "'%s' is not a valid username (1 to 64 of "
			  "A-Z a-z 0-9 . _ -, not starting with '.' or '-')", value);
		return -1;
	}
	return pass(value, result);
}

/* A PAM service is a file name in the PAM directory: no '/' or "..", and
 * nothing a shell or a log line would stumble over. */
static int cb_pam_service(cfg_t *cfg, cfg_opt_t *opt, const char *value,
			  void *result)
{
	size_t n = strlen(value);
	bool ok = n < 64 && value[0] != '.' && value[0] != '-';

	for (size_t i = 0; ok && i < n; i++)
		ok = (value[i] >= 'a' && value[i] <= 'z') || (value[i] >= 'A' && value[i] <= 'Z') ||
		     (value[i] >= '0' && value[i] <= '9') || value[i] == '.' || value[i] == '_' ||
		     value[i] == '-';
	if (!ok) {
		opt_error(cfg, opt, "'%s' is not a PAM service name (up to 63 of A-Z a-z 0-9 "
			  ". _ -, not starting with '.' or '-')", value);
		return -1;
	}
	return pass(value, result);
}

static int cb_log(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (name_index(log_names, 2, value) < 0) {
		opt_error(cfg, opt, "'%s' is neither \"stderr\" nor \"syslog\"", value);
		return -1;
	}
	return pass(value, result);
}

static int cb_log_level(cfg_t *cfg, cfg_opt_t *opt, const char *value,
			void *result)
{
	if (name_index(level_names, 4, value) < 0) {
		opt_error(cfg, opt, "unknown level '%s' (debug, info, warn, error)", value);
		return -1;
	}
	return pass(value, result);
}

static int cb_spw(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	uint16_t bit;

	if (!config_spw_bit(value, &bit)) {
		opt_error(cfg, opt, "unknown SPW bit '%s' (config, ipv4, ipv6, "
			  "gso, relay, mesh)", value);
		return -1;
	}
	return pass(value, result);
}

static bool parse_prefix_struct(const char *text, struct prefix *p)
{
	memset(p, 0, sizeof(*p));
	return parse_prefix(text, &p->family, p->addr, &p->len);
}

/* Interface and client addresses: host bits are the point. */
static int cb_address(cfg_t *cfg, cfg_opt_t *opt, const char *value,
		      void *result)
{
	struct prefix p;

	if (!parse_prefix_struct(value, &p)) {
		opt_error(cfg, opt, "'%s' is not an address or prefix", value);
		return -1;
	}
	/* The value being read is already counted. */
	if (cfg_opt_size(opt) > OSTP_CONFIG_ADDR_MAX) {
		opt_error(cfg, opt, "more than %u addresses",
			  OSTP_CONFIG_ADDR_MAX);
		return -1;
	}
	return pass(value, result);
}

/* Routes and allowed_ips name networks; stray host bits are a typo the
 * kernel would refuse later, far from the line that has it. */
static int cb_network(cfg_t *cfg, cfg_opt_t *opt, const char *value,
		      void *result)
{
	struct prefix p;

	if (!parse_prefix_struct(value, &p)) {
		opt_error(cfg, opt, "'%s' is not an address or prefix", value);
		return -1;
	}
	if (!prefix_is_network(&p)) {
		opt_error(cfg, opt, "'%s' has host bits set", value);
		return -1;
	}
	return pass(value, result);
}

static int cb_endpoint(cfg_t *cfg, cfg_opt_t *opt, const char *value,
		       void *result)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!parse_endpoint(value, &ss, &len)) {
		opt_error(cfg, opt, "'%s' is not a numeric address:port "
			  "(\"198.18.0.1:7000\" or \"[fd00::1]:7000\")", value);
		return -1;
	}
	return pass(value, result);
}

static bool decode_key(const char *text, uint8_t key[32])
{
	/* The value exactly, no blanks around it; then no small-order or
	 * non-canonical point, which no honest key generator produces. */
	return key_decode(key, text, strlen(text)) == 0 &&
	       ed25519_pubkey_valid(key);
}

static int cb_key(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	uint8_t key[32];

	if (!decode_key(value, key)) {
		opt_error(cfg, opt, "not a base64 Ed25519 public key");
		return -1;
	}
	return pass(value, result);
}

static const struct {
	const char *name;
	long min, max;
} int_ranges[] = {
	{ "mtu", 576, 65535 },
	{ "busy_poll", 0, 1000000 },
	{ "max_sessions", 1, 1000000 },
	{ "handshake_timeout", 1, 300 },
	{ "max_unauth", 1, 1000000 },
	{ "max_unauth_per_source", 1, 1000000 },
	{ "max_logins_per_source", 1, 1024 },
	{ "max_logins_per_user", 1, 1024 },
	{ "penalty_authfail", 0, 86400 },
	{ "penalty_noauth", 0, 86400 },
	{ "penalty_min", 0, 86400 },
	{ "penalty_max", 1, 86400 },
	{ "source_prefix4", 1, 32 },
	{ "source_prefix6", 1, 128 },
	{ "max_sources", 64, 16777216 },
	{ "keepalive", 1, 3600 },
	{ "dead_after", 2, 86400 },
	{ "reconnect_min", 1, 3600 },
	{ "reconnect_max", 1, 86400 },
	{ "keepalive_ms", 100, 3600000 },
	{ "dead_ms", 200, 86400000 },
	{ "handshake_ms", 500, 300000 },
	{ "dial_delay_ms", 0, 600000 },
	{ "redial_max", 1, 3600 },
	{ "idle_timeout", 0, 86400 * 30 },
	{ "max_links", 1, 4096 },
	{ "list_max_age", 0, 86400 * 30 },
};

static int cb_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	long min = 0, max = LONG_MAX, v;
	char *end;

	for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
		if (strcmp(int_ranges[i].name, opt->name) == 0) {
			min = int_ranges[i].min;
			max = int_ranges[i].max;
		}
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno == ERANGE) {
		opt_error(cfg, opt, "'%s' is not a number", value);
		return -1;
	}
	if (v < min || v > max) {
		opt_error(cfg, opt, "%ld is outside %ld..%ld", v, min,
			  max);
		return -1;
	}
	if (ld && strcmp(opt->name, "mtu") == 0)
		ld->mtu_line = cfg->line;
	*(long *)result = v;
	return 0;
}

/* ---- section callbacks: run at the closing brace, with cfg being the
 * enclosing section and cfg->line the brace's line ----------------------- */

static cfg_t *last_sec(cfg_opt_t *opt)
{
	return cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
}

static int check_title(cfg_t *cfg, const char *what, const char *title)
{
	if (!ostp_username_valid(title, strlen(title))) {
		cfg_error(cfg, "%s \"%s\": invalid name (1 to 64 of A-Z a-z "
			  "0-9 . _ -, not starting with '.' or '-')", what, title);
		return -1;
	}
	return 0;
}

static int server_done(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *s = last_sec(opt);

	/* A repeated non-multi section would silently merge into the first. */
	if (ld && ld->server_seen++) {
		cfg_error(cfg, "server: section given twice");
		return -1;
	}
	if (cfg_size(s, "listen") == 0) {
		cfg_error(cfg, "server: listen needs at least one endpoint");
		return -1;
	}
	if (cfg_size(s, "listen") > CONFIG_LISTEN_MAX) {
		cfg_error(cfg, "server: listen takes at most %d endpoints", CONFIG_LISTEN_MAX);
		return -1;
	}
	/* password_file has a default, so only one given in the file
	 * contradicts PAM: the operator meant one of the two. */
	if (cfg_getstr(s, "pam_service")[0] &&
	    (cfg_getopt(s, "password_file")->flags & CFGF_MODIFIED)) {
		cfg_error(cfg, "server: password_file and pam_service exclude each other");
		return -1;
	}
	if (!cfg_getstr(s, "pam_service")[0] && cfg_getstr(s, "pam_confdir")[0]) {
		cfg_error(cfg, "server: pam_confdir needs pam_service");
		return -1;
	}
	return 0;
}

static int client_done(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *c = last_sec(opt);
	bool tofu = cfg_getbool(c, "trust_on_first_use");
	const char *username = cfg_getstr(c, "username");

	if (ld && ld->client_seen++) {
		cfg_error(cfg, "client: section given twice");
		return -1;
	}
	if (!cfg_getstr(c, "server")) {
		cfg_error(cfg, "client: server is required");
		return -1;
	}
	if (!cfg_getstr(c, "server_key") && !tofu) {
		cfg_error(cfg, "client: server_key is required unless "
			  "trust_on_first_use = true");
		return -1;
	}
	if (cfg_getstr(c, "server_key") && tofu) {
		cfg_error(cfg, "client: server_key and trust_on_first_use = "
			  "true contradict each other");
		return -1;
	}
	if (tofu && !cfg_getstr(c, "known_hosts")[0]) {
		cfg_error(cfg, "client: trust_on_first_use needs known_hosts");
		return -1;
	}
	if (username[0] && !cfg_getstr(c, "password_file")[0]) {
		cfg_error(cfg, "client: username needs password_file");
		return -1;
	}
	if (cfg_getint(c, "dead_after") <= cfg_getint(c, "keepalive")) {
		cfg_error(cfg, "client: dead_after must be longer than keepalive");
		return -1;
	}
	if (cfg_getint(c, "reconnect_max") < cfg_getint(c, "reconnect_min")) {
		cfg_error(cfg, "client: reconnect_max is below reconnect_min");
		return -1;
	}
	return 0;
}

static int mesh_done(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *m = last_sec(opt);

	if (ld && ld->mesh_seen++) {
		cfg_error(cfg, "mesh: section given twice");
		return -1;
	}
	if (cfg_size(m, "listen") > CONFIG_LISTEN_MAX) {
		cfg_error(cfg, "mesh: listen takes at most %d endpoints", CONFIG_LISTEN_MAX);
		return -1;
	}
	if (cfg_getint(m, "dead_ms") <= cfg_getint(m, "keepalive_ms")) {
		cfg_error(cfg, "mesh: dead_ms must be longer than keepalive_ms");
		return -1;
	}
	return 0;
}

static int user_done(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_title(cfg, "user", cfg_title(last_sec(opt)));
}

static int peer_done(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *p = last_sec(opt);

	if (check_title(cfg, "peer", cfg_title(p)) < 0)
		return -1;
	if (!cfg_getstr(p, "endpoint")) {
		cfg_error(cfg, "peer \"%s\": endpoint is required", cfg_title(p));
		return -1;
	}
	if (!cfg_getstr(p, "key")) {
		cfg_error(cfg, "peer \"%s\": key is required", cfg_title(p));
		return -1;
	}
	return 0;
}

/* ---- schema -------------------------------------------------------------- */

#define SPW_DEFAULT "{config, ipv4, ipv6}"

static cfg_opt_t user_opts[] = {
	CFG_STR_LIST_CB("address", NULL, CFGF_NONE, cb_address),
	CFG_STR_CB("key", NULL, CFGF_NODEFAULT, cb_key),
	CFG_STR_LIST_CB("allowed_ips", NULL, CFGF_NONE, cb_network),
	CFG_STR_LIST_CB("spw", SPW_DEFAULT, CFGF_NONE, cb_spw),
	CFG_END()
};

static cfg_opt_t server_opts[] = {
	CFG_STR_LIST_CB("listen", "{\"0.0.0.0:7000\"}", CFGF_NONE, cb_endpoint),
	CFG_STR_CB("trust_file", "/etc/ostp/trusted_users", CFGF_NONE, cb_path),
	CFG_STR_CB("password_file", "/etc/ostp/passwords", CFGF_NONE, cb_path),
	CFG_STR_CB("pam_service", "", CFGF_NONE, cb_pam_service),
	CFG_STR_CB("pam_confdir", "", CFGF_NONE, cb_path_or_empty),
	CFG_BOOL("require_auth", cfg_true, CFGF_NONE),
	CFG_STR_LIST_CB("spw", SPW_DEFAULT, CFGF_NONE, cb_spw),
	CFG_INT_CB("max_sessions", 1024, CFGF_NONE, cb_int),
	CFG_INT_CB("handshake_timeout", 5, CFGF_NONE, cb_int),
	CFG_INT_CB("max_unauth", 1024, CFGF_NONE, cb_int),
	CFG_INT_CB("max_unauth_per_source", 16, CFGF_NONE, cb_int),
	CFG_INT_CB("max_logins_per_source", 2, CFGF_NONE, cb_int),
	CFG_INT_CB("max_logins_per_user", 4, CFGF_NONE, cb_int),
	CFG_INT_CB("penalty_authfail", 5, CFGF_NONE, cb_int),
	CFG_INT_CB("penalty_noauth", 1, CFGF_NONE, cb_int),
	CFG_INT_CB("penalty_min", 15, CFGF_NONE, cb_int),
	CFG_INT_CB("penalty_max", 600, CFGF_NONE, cb_int),
	CFG_STR_LIST_CB("penalty_exempt", NULL, CFGF_NONE, cb_network),
	CFG_INT_CB("source_prefix4", 32, CFGF_NONE, cb_int),
	CFG_INT_CB("source_prefix6", 64, CFGF_NONE, cb_int),
	CFG_INT_CB("max_sources", 65536, CFGF_NONE, cb_int),
	CFG_SEC("user", user_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static cfg_opt_t mesh_opts[] = {
	CFG_STR_LIST_CB("listen", NULL, CFGF_NONE, cb_endpoint),
	CFG_STR_CB("announce", NULL, CFGF_NODEFAULT, cb_endpoint),
	CFG_INT_CB("keepalive_ms", 500, CFGF_NONE, cb_int),
	CFG_INT_CB("dead_ms", 2000, CFGF_NONE, cb_int),
	CFG_INT_CB("handshake_ms", 3000, CFGF_NONE, cb_int),
	CFG_INT_CB("dial_delay_ms", 2000, CFGF_NONE, cb_int),
	CFG_INT_CB("redial_max", 5, CFGF_NONE, cb_int),
	CFG_INT_CB("idle_timeout", 0, CFGF_NONE, cb_int),
	CFG_INT_CB("max_links", 64, CFGF_NONE, cb_int),
	CFG_INT_CB("list_max_age", 600, CFGF_NONE, cb_int),
	CFG_END()
};

static cfg_opt_t client_opts[] = {
	CFG_STR_CB("server", NULL, CFGF_NODEFAULT, cb_endpoint),
	CFG_STR_CB("server_key", NULL, CFGF_NODEFAULT, cb_key),
	CFG_STR_CB("known_hosts", "/var/lib/ostp/known_hosts", CFGF_NONE,
		   cb_path_or_empty),
	CFG_BOOL("trust_on_first_use", cfg_false, CFGF_NONE),
	CFG_STR_CB("username", "", CFGF_NONE, cb_username),
	CFG_STR_CB("password_file", "", CFGF_NONE, cb_path_or_empty),
	CFG_STR_LIST_CB("spw", SPW_DEFAULT, CFGF_NONE, cb_spw),
	CFG_BOOL("quick", cfg_false, CFGF_NONE),
	CFG_BOOL("peers", cfg_false, CFGF_NONE),
	CFG_INT_CB("keepalive", 10, CFGF_NONE, cb_int),
	CFG_INT_CB("dead_after", 30, CFGF_NONE, cb_int),
	CFG_INT_CB("reconnect_min", 1, CFGF_NONE, cb_int),
	CFG_INT_CB("reconnect_max", 60, CFGF_NONE, cb_int),
	CFG_STR_LIST_CB("routes", NULL, CFGF_NONE, cb_network),
	CFG_SEC("mesh", mesh_opts, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t peer_opts[] = {
	CFG_STR_CB("endpoint", NULL, CFGF_NODEFAULT, cb_endpoint),
	CFG_STR_CB("key", NULL, CFGF_NODEFAULT, cb_key),
	CFG_STR_LIST_CB("allowed_ips", NULL, CFGF_NONE, cb_network),
	CFG_END()
};

static cfg_opt_t top_opts[] = {
	CFG_STR_CB("interface", "ostp0", CFGF_NONE, cb_interface),
	CFG_INT_CB("mtu", 1420, CFGF_NONE, cb_int),
	CFG_INT_CB("busy_poll", 0, CFGF_NONE, cb_int),
	CFG_STR_LIST_CB("address", NULL, CFGF_NONE, cb_address),
	CFG_STR_CB("user_name", "nobody", CFGF_NONE, cb_unix_user),
	CFG_STR_CB("log", "stderr", CFGF_NONE, cb_log),
	CFG_STR_CB("log_level", "info", CFGF_NONE, cb_log_level),
	CFG_STR_CB("control_dir", "/run/ostp", CFGF_NONE, cb_path),
	CFG_STR_CB("identity_key", "/etc/ostp/identity.key", CFGF_NONE, cb_path),
	CFG_STR_CB("key_log", "", CFGF_NONE, cb_path_or_empty),
	CFG_SEC("server", server_opts, CFGF_NONE),
	CFG_SEC("client", client_opts, CFGF_NONE),
	CFG_SEC("peer", peer_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

/* ---- conversion: every value was checked as it was read ----------------- */

static bool dup_str(char **out, const char *s)
{
	*out = strdup(s ? s : "");
	return *out != NULL;
}

static void copy_name(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

static bool get_prefixes(cfg_t *sec, const char *name, struct prefix **out,
			 size_t *n)
{
	size_t count = cfg_size(sec, name);

	*out = NULL;
	*n = 0;
	if (count == 0)
		return true;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return false;
	for (size_t i = 0; i < count; i++)
		parse_prefix_struct(cfg_getnstr(sec, name, (unsigned)i), &(*out)[i]);
	*n = count;
	return true;
}

static void get_addresses(cfg_t *sec, struct prefix addr[OSTP_CONFIG_ADDR_MAX],
			  size_t *n)
{
	*n = cfg_size(sec, "address");
	for (size_t i = 0; i < *n; i++)
		parse_prefix_struct(cfg_getnstr(sec, "address", (unsigned)i),
				    &addr[i]);
}

static void get_endpoint(const char *text, struct endpoint *ep)
{
	parse_endpoint(text, &ep->addr, &ep->len);
}

static uint16_t get_spw(cfg_t *sec)
{
	uint16_t spw = 0, bit;

	for (unsigned i = 0; i < cfg_size(sec, "spw"); i++)
		if (config_spw_bit(cfg_getnstr(sec, "spw", i), &bit))
			spw |= bit;
	return spw;
}

static bool convert_user(cfg_t *u, struct ostpd_user *out)
{
	const char *key = cfg_getstr(u, "key");

	copy_name(out->name, sizeof(out->name), cfg_title(u));
	out->has_key = key != NULL;
	if (key)
		decode_key(key, out->key);
	get_addresses(u, out->addr, &out->n_addr);
	out->spw = get_spw(u);
	return get_prefixes(u, "allowed_ips", &out->allowed_ips,
			    &out->n_allowed_ips);
}

static bool convert_server(cfg_t *s, struct ostpd_server *out)
{
	size_t n = cfg_size(s, "listen");
	bool pam;

	out->require_auth = cfg_getbool(s, "require_auth");
	out->spw = get_spw(s);
	out->max_sessions = (unsigned)cfg_getint(s, "max_sessions");
	out->handshake_timeout = (unsigned)cfg_getint(s, "handshake_timeout");
	out->max_unauth = (unsigned)cfg_getint(s, "max_unauth");
	out->max_unauth_per_source = (unsigned)cfg_getint(s, "max_unauth_per_source");
	out->max_logins_per_source = (unsigned)cfg_getint(s, "max_logins_per_source");
	out->max_logins_per_user = (unsigned)cfg_getint(s, "max_logins_per_user");
	out->penalty_authfail = (unsigned)cfg_getint(s, "penalty_authfail");
	out->penalty_noauth = (unsigned)cfg_getint(s, "penalty_noauth");
	out->penalty_min = (unsigned)cfg_getint(s, "penalty_min");
	out->penalty_max = (unsigned)cfg_getint(s, "penalty_max");
	out->source_prefix4 = (unsigned)cfg_getint(s, "source_prefix4");
	out->source_prefix6 = (unsigned)cfg_getint(s, "source_prefix6");
	out->max_sources = (unsigned)cfg_getint(s, "max_sources");
	if (!get_prefixes(s, "penalty_exempt", &out->penalty_exempt, &out->n_penalty_exempt))
		return false;
	pam = cfg_getstr(s, "pam_service")[0] != '\0';
	if (!dup_str(&out->trust_file, cfg_getstr(s, "trust_file")) ||
	    !dup_str(&out->password_file, pam ? "" : cfg_getstr(s, "password_file")) ||
	    !dup_str(&out->pam_service, cfg_getstr(s, "pam_service")) ||
	    !dup_str(&out->pam_confdir, cfg_getstr(s, "pam_confdir")))
		return false;
	out->listen = calloc(n, sizeof(*out->listen));
	if (!out->listen)
		return false;
	out->n_listen = n;
	for (size_t i = 0; i < n; i++)
		get_endpoint(cfg_getnstr(s, "listen", (unsigned)i), &out->listen[i]);

	n = cfg_size(s, "user");
	if (n == 0)
		return true;
	out->users = calloc(n, sizeof(*out->users));
	if (!out->users)
		return false;
	out->n_users = n;
	for (size_t i = 0; i < n; i++)
		if (!convert_user(cfg_getnsec(s, "user", (unsigned)i),
				  &out->users[i]))
			return false;
	return true;
}

static bool convert_mesh(cfg_t *m, struct ostpd_client *out)
{
	struct ostpd_mesh *o = &out->m;
	size_t n = cfg_size(m, "listen");
	const char *announce = cfg_getstr(m, "announce");

	out->mesh = true;
	out->spw |= OSTP_SPW_MESH;
	o->keepalive_ms = (unsigned)cfg_getint(m, "keepalive_ms");
	o->dead_ms = (unsigned)cfg_getint(m, "dead_ms");
	o->handshake_ms = (unsigned)cfg_getint(m, "handshake_ms");
	o->dial_delay_ms = (unsigned)cfg_getint(m, "dial_delay_ms");
	o->redial_max = (unsigned)cfg_getint(m, "redial_max");
	o->idle_timeout = (unsigned)cfg_getint(m, "idle_timeout");
	o->max_links = (unsigned)cfg_getint(m, "max_links");
	o->list_max_age = (unsigned)cfg_getint(m, "list_max_age");
	o->have_announce = announce != NULL;
	if (announce)
		get_endpoint(announce, &o->announce);
	if (n == 0)
		return true;
	o->listen = calloc(n, sizeof(*o->listen));
	if (!o->listen)
		return false;
	o->n_listen = n;
	for (size_t i = 0; i < n; i++)
		get_endpoint(cfg_getnstr(m, "listen", (unsigned)i), &o->listen[i]);
	return true;
}

static bool convert_client(cfg_t *c, struct ostpd_client *out)
{
	const char *key = cfg_getstr(c, "server_key");

	get_endpoint(cfg_getstr(c, "server"), &out->server);
	out->have_server_key = key != NULL;
	if (key)
		decode_key(key, out->server_key);
	out->trust_on_first_use = cfg_getbool(c, "trust_on_first_use");
	copy_name(out->username, sizeof(out->username), cfg_getstr(c, "username"));
	out->spw = get_spw(c);
	out->quick = cfg_getbool(c, "quick");
	out->peers = cfg_getbool(c, "peers");
	out->keepalive = (unsigned)cfg_getint(c, "keepalive");
	out->dead_after = (unsigned)cfg_getint(c, "dead_after");
	out->reconnect_min = (unsigned)cfg_getint(c, "reconnect_min");
	out->reconnect_max = (unsigned)cfg_getint(c, "reconnect_max");
	if (ld->mesh_seen && !convert_mesh(cfg_getsec(c, "mesh"), out))
		return false;
	return dup_str(&out->known_hosts, cfg_getstr(c, "known_hosts")) &&
	       dup_str(&out->password_file, cfg_getstr(c, "password_file")) &&
	       get_prefixes(c, "routes", &out->routes, &out->n_routes);
}

static bool convert_peer(cfg_t *p, struct ostpd_peer *out)
{
	copy_name(out->name, sizeof(out->name), cfg_title(p));
	get_endpoint(cfg_getstr(p, "endpoint"), &out->endpoint);
	decode_key(cfg_getstr(p, "key"), out->key);
	return get_prefixes(p, "allowed_ips", &out->allowed_ips,
			    &out->n_allowed_ips);
}

static bool convert(cfg_t *cfg, struct ostpd_config *out)
{
	size_t n;

	copy_name(out->interface, sizeof(out->interface),
		  cfg_getstr(cfg, "interface"));
	out->mtu = (unsigned)cfg_getint(cfg, "mtu");
	out->busy_poll_us = (unsigned)cfg_getint(cfg, "busy_poll");
	get_addresses(cfg, out->addr, &out->n_addr);
	out->log = (enum ostpd_log_target)name_index(log_names, 2,
						      cfg_getstr(cfg, "log"));
	out->log_level = (enum ostpd_log_level)name_index(level_names, 4,
							   cfg_getstr(cfg, "log_level"));
	if (!dup_str(&out->user_name, cfg_getstr(cfg, "user_name")) ||
	    !dup_str(&out->control_dir, cfg_getstr(cfg, "control_dir")) ||
	    !dup_str(&out->identity_key, cfg_getstr(cfg, "identity_key")) ||
	    !dup_str(&out->key_log, cfg_getstr(cfg, "key_log")))
		return false;

	out->has_server = ld->server_seen > 0;
	if (out->has_server &&
	    !convert_server(cfg_getsec(cfg, "server"), &out->server))
		return false;
	out->has_client = ld->client_seen > 0;
	if (out->has_client &&
	    !convert_client(cfg_getsec(cfg, "client"), &out->client))
		return false;

	n = cfg_size(cfg, "peer");
	if (n == 0)
		return true;
	out->peers = calloc(n, sizeof(*out->peers));
	if (!out->peers)
		return false;
	out->n_peers = n;
	for (size_t i = 0; i < n; i++)
		if (!convert_peer(cfg_getnsec(cfg, "peer", (unsigned)i),
				  &out->peers[i]))
			return false;
	return true;
}

/* ---- checks that need the whole file ------------------------------------ */

static bool any_ipv6(const struct prefix *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].family == AF_INET6)
			return true;
	return false;
}

static int check_whole(const struct ostpd_config *c, int last_line)
{
	bool v6 = any_ipv6(c->addr, c->n_addr);

	if (!c->has_server && !c->has_client) {
		error_at(last_line, "neither a server nor a client section");
		return -EINVAL;
	}
	for (size_t i = 0; c->has_server && i < c->server.n_users; i++)
		v6 = v6 || any_ipv6(c->server.users[i].addr,
				    c->server.users[i].n_addr);
	/* IPv6 requires links of at least 1280 bytes (RFC 8200 section 5). */
	if (v6 && c->mtu < 1280) {
		error_at(ld->mtu_line, "mtu: %u is below 1280, the IPv6 minimum, "
			 "and an IPv6 address is configured", c->mtu);
		return -EINVAL;
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

/* 0 with *text to free, or -errno (read_text_file(), textfile.h; -EINVAL
 * for a NUL byte). */
static int read_file(const char *path, char **text, int *lines)
{
	char *buf;
	size_t n;
	int rc = read_text_file(path, CONFIG_FILE_MAX, &buf, &n, NULL);

	if (rc < 0) {
		error_at(0, "%s", rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		return rc;
	}
	if (memchr(buf, '\0', n)) {
		error_at(0, "contains a NUL byte");
		free(buf);
		return -EINVAL;
	}
	*lines = 0;
	for (size_t i = 0; i < n; i++)
		*lines += buf[i] == '\n';
	if (n == 0 || buf[n - 1] != '\n')
		(*lines)++;
	*text = buf;
	return 0;
}

/* Line of the outermost '{' still open at the end of text, or 0.  Skips
 * strings and the three comment styles libconfuse knows. */
static int unclosed_section_line(const char *t)
{
	int line = 1, depth = 0, open_line = 0;

	for (const char *p = t; *p; p++) {
		if (*p == '\n') {
			line++;
		} else if (*p == '"' || *p == '\'') {
			char q = *p;

			for (p++; *p && *p != q; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p == '\n')
					line++;
			}
			if (!*p)
				return 0;   /* unterminated: libconfuse says so better */
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (p[1] && p[1] != '\n')
				p++;
		} else if (*p == '/' && p[1] == '*') {
			for (p += 2; *p && !(*p == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (!*p)
				return 0;   /* unterminated: libconfuse says so better */
			p++;
		} else if (*p == '{') {
			if (depth++ == 0)
				open_line = line;
		} else if (*p == '}' && depth > 0) {
			depth--;
		}
	}
	return depth > 0 ? open_line : 0;
}

int config_load(struct ostpd_config *out, const char *path, char *errbuf,
		size_t errlen)
{
	struct load state = { .path = path, .errbuf = errbuf, .errlen = errlen };
	cfg_t *cfg = NULL;
	char *text = NULL;
	int lines = 1, rc;

	memset(out, 0, sizeof(*out));
	if (errlen)
		errbuf[0] = '\0';
	ld = &state;
	/* libsodium gives no reason; what fails in practice is reaching the
	 * system's random source. */
	if (sodium_init() < 0) {
		error_at(0, "libsodium failed to initialise");
		rc = -EIO;
		goto done;
	}
	rc = read_file(path, &text, &lines);
	if (rc < 0)
		goto done;
	cfg = cfg_init(top_opts, CFGF_NONE);
	if (!cfg) {
		free(text);
		error_at(0, "out of memory");
		rc = -ENOMEM;
		goto done;
	}
	cfg_set_error_function(cfg, on_cfg_error);
	cfg_set_validate_func(cfg, "server", server_done);
	cfg_set_validate_func(cfg, "server|user", user_done);
	cfg_set_validate_func(cfg, "client", client_done);
	cfg_set_validate_func(cfg, "client|mesh", mesh_done);
	cfg_set_validate_func(cfg, "peer", peer_done);

	/* libconfuse accepts a file that ends inside a section */
	{
		int open_line = unclosed_section_line(text);

		if (open_line) {
			error_at(open_line, "section is never closed (missing '}')");
			free(text);
			rc = -EINVAL;
			goto done;
		}
	}
	/* libconfuse does not tell a bad file from a failed allocation; the
	 * file is by far the likelier. */
	if (cfg_parse_buf(cfg, text) != CFG_SUCCESS) {
		error_at(0, "cannot parse");   /* if libconfuse said nothing */
		free(text);
		rc = -EINVAL;
		goto done;
	}
	free(text);
	if (!convert(cfg, out)) {
		error_at(0, "out of memory");
		config_free(out);
		rc = -ENOMEM;
		goto done;
	}
	rc = check_whole(out, lines);
	if (rc < 0)
		config_free(out);
done:
	if (cfg)
		cfg_free(cfg);
	ld = NULL;
	return rc;
}

/* ---- printing ------------------------------------------------------------ */

/* Quotes for libconfuse: besides '"' and '\', "${" would be replaced by
 * an environment variable, and octal escapes keep control characters
 * from ending the line. */
static void put_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\' || ch == '$')
			fprintf(fp, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(fp, "\\%03o", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

static void put_name(FILE *fp, int ind, const char *key)
{
	while (ind-- > 0)
		fputc('\t', fp);
	fprintf(fp, "%s = ", key);
}

static void put_key_str(FILE *fp, int ind, const char *key, const char *val)
{
	put_name(fp, ind, key);
	put_str(fp, val);
	fputc('\n', fp);
}

static void put_bool(FILE *fp, int ind, const char *key, bool val)
{
	put_name(fp, ind, key);
	fprintf(fp, "%s\n", val ? "true" : "false");
}

static void put_uint(FILE *fp, int ind, const char *key, unsigned val)
{
	put_name(fp, ind, key);
	fprintf(fp, "%u\n", val);
}

static void put_prefixes(FILE *fp, int ind, const char *key,
			 const struct prefix *p, size_t n)
{
	char buf[PREFIX_STRLEN];

	put_name(fp, ind, key);
	fputc('{', fp);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s\"%s\"", i ? ", " : " ",
			prefix_format(&p[i], buf, sizeof(buf)));
	fprintf(fp, "%s}\n", n ? " " : "");
}

static void put_endpoint(FILE *fp, int ind, const char *key,
			 const struct endpoint *ep)
{
	char buf[ENDPOINT_STRLEN];

	put_name(fp, ind, key);
	fprintf(fp, "\"%s\"\n",
		endpoint_format((const struct sockaddr *)&ep->addr, buf,
				sizeof(buf)));
}

static void put_key(FILE *fp, int ind, const char *name, const uint8_t key[32])
{
	char b64[IDENTITY_B64_LEN];

	key_to_base64(b64, key);
	put_key_str(fp, ind, name, b64);
}

static void put_spw(FILE *fp, int ind, uint16_t spw)
{
	bool first = true;

	put_name(fp, ind, "spw");
	fputc('{', fp);
	for (size_t i = 0; i < sizeof(spw_names) / sizeof(spw_names[0]); i++) {
		if (!(spw & spw_names[i].bit))
			continue;
		fprintf(fp, "%s\"%s\"", first ? " " : ", ", spw_names[i].name);
		first = false;
	}
	fprintf(fp, "%s}\n", first ? "" : " ");
}

static void print_user(FILE *fp, const struct ostpd_user *u)
{
	fprintf(fp, "\tuser ");
	put_str(fp, u->name);
	fprintf(fp, " {\n");
	put_prefixes(fp, 2, "address", u->addr, u->n_addr);
	put_prefixes(fp, 2, "allowed_ips", u->allowed_ips, u->n_allowed_ips);
	if (u->has_key)
		put_key(fp, 2, "key", u->key);
	put_spw(fp, 2, u->spw);
	fprintf(fp, "\t}\n");
}

static void print_server(FILE *fp, const struct ostpd_server *s)
{
	char buf[ENDPOINT_STRLEN];

	fprintf(fp, "server {\n\tlisten = {");
	for (size_t i = 0; i < s->n_listen; i++)
		fprintf(fp, "%s\"%s\"", i ? ", " : " ",
			endpoint_format((const struct sockaddr *)&s->listen[i].addr,
					buf, sizeof(buf)));
	fprintf(fp, " }\n");
	put_key_str(fp, 1, "trust_file", s->trust_file);
	if (s->pam_service[0]) {
		put_key_str(fp, 1, "pam_service", s->pam_service);
		if (s->pam_confdir[0])
			put_key_str(fp, 1, "pam_confdir", s->pam_confdir);
	} else {
		put_key_str(fp, 1, "password_file", s->password_file);
	}
	put_bool(fp, 1, "require_auth", s->require_auth);
	put_spw(fp, 1, s->spw);
	put_uint(fp, 1, "max_sessions", s->max_sessions);
	put_uint(fp, 1, "handshake_timeout", s->handshake_timeout);
	put_uint(fp, 1, "max_unauth", s->max_unauth);
	put_uint(fp, 1, "max_unauth_per_source", s->max_unauth_per_source);
	put_uint(fp, 1, "max_logins_per_source", s->max_logins_per_source);
	put_uint(fp, 1, "max_logins_per_user", s->max_logins_per_user);
	put_uint(fp, 1, "penalty_authfail", s->penalty_authfail);
	put_uint(fp, 1, "penalty_noauth", s->penalty_noauth);
	put_uint(fp, 1, "penalty_min", s->penalty_min);
	put_uint(fp, 1, "penalty_max", s->penalty_max);
	put_prefixes(fp, 1, "penalty_exempt", s->penalty_exempt, s->n_penalty_exempt);
	put_uint(fp, 1, "source_prefix4", s->source_prefix4);
	put_uint(fp, 1, "source_prefix6", s->source_prefix6);
	put_uint(fp, 1, "max_sources", s->max_sources);
	for (size_t i = 0; i < s->n_users; i++)
		print_user(fp, &s->users[i]);
	fprintf(fp, "}\n");
}

static void print_mesh(FILE *fp, const struct ostpd_mesh *m)
{
	char buf[ENDPOINT_STRLEN];

	fprintf(fp, "\tmesh {\n\t\tlisten = {");
	for (size_t i = 0; i < m->n_listen; i++)
		fprintf(fp, "%s\"%s\"", i ? ", " : " ",
			endpoint_format((const struct sockaddr *)&m->listen[i].addr,
					buf, sizeof(buf)));
	fprintf(fp, " }\n");
	if (m->have_announce)
		put_endpoint(fp, 2, "announce", &m->announce);
	put_uint(fp, 2, "keepalive_ms", m->keepalive_ms);
	put_uint(fp, 2, "dead_ms", m->dead_ms);
	put_uint(fp, 2, "handshake_ms", m->handshake_ms);
	put_uint(fp, 2, "dial_delay_ms", m->dial_delay_ms);
	put_uint(fp, 2, "redial_max", m->redial_max);
	put_uint(fp, 2, "idle_timeout", m->idle_timeout);
	put_uint(fp, 2, "max_links", m->max_links);
	put_uint(fp, 2, "list_max_age", m->list_max_age);
	fprintf(fp, "\t}\n");
}

static void print_client(FILE *fp, const struct ostpd_client *c)
{
	fprintf(fp, "client {\n");
	put_endpoint(fp, 1, "server", &c->server);
	if (c->have_server_key)
		put_key(fp, 1, "server_key", c->server_key);
	put_key_str(fp, 1, "known_hosts", c->known_hosts);
	put_bool(fp, 1, "trust_on_first_use", c->trust_on_first_use);
	put_key_str(fp, 1, "username", c->username);
	put_key_str(fp, 1, "password_file", c->password_file);
	put_spw(fp, 1, c->spw);
	put_bool(fp, 1, "quick", c->quick);
	put_bool(fp, 1, "peers", c->peers);
	put_uint(fp, 1, "keepalive", c->keepalive);
	put_uint(fp, 1, "dead_after", c->dead_after);
	put_uint(fp, 1, "reconnect_min", c->reconnect_min);
	put_uint(fp, 1, "reconnect_max", c->reconnect_max);
	put_prefixes(fp, 1, "routes", c->routes, c->n_routes);
	if (c->mesh)
		print_mesh(fp, &c->m);
	fprintf(fp, "}\n");
}

static void print_peer(FILE *fp, const struct ostpd_peer *p)
{
	fprintf(fp, "peer ");
	put_str(fp, p->name);
	fprintf(fp, " {\n");
	put_endpoint(fp, 1, "endpoint", &p->endpoint);
	put_key(fp, 1, "key", p->key);
	put_prefixes(fp, 1, "allowed_ips", p->allowed_ips, p->n_allowed_ips);
	fprintf(fp, "}\n");
}

void config_print(const struct ostpd_config *c, FILE *fp)
{
	put_key_str(fp, 0, "interface", c->interface);
	put_uint(fp, 0, "mtu", c->mtu);
	put_uint(fp, 0, "busy_poll", c->busy_poll_us);
	put_prefixes(fp, 0, "address", c->addr, c->n_addr);
	put_key_str(fp, 0, "user_name", c->user_name);
	put_key_str(fp, 0, "log", log_names[c->log]);
	put_key_str(fp, 0, "log_level", level_names[c->log_level]);
	put_key_str(fp, 0, "control_dir", c->control_dir);
	put_key_str(fp, 0, "identity_key", c->identity_key);
	/* only when set: a debugging aid, never part of a normal setup */
	if (c->key_log && c->key_log[0])
		put_key_str(fp, 0, "key_log", c->key_log);
	if (c->has_server)
		print_server(fp, &c->server);
	if (c->has_client)
		print_client(fp, &c->client);
	for (size_t i = 0; i < c->n_peers; i++)
		print_peer(fp, &c->peers[i]);
}

/* ---- freeing ------------------------------------------------------------- */

void config_free(struct ostpd_config *c)
{
	free(c->user_name);
	free(c->control_dir);
	free(c->identity_key);
	free(c->key_log);
	free(c->server.listen);
	free(c->server.trust_file);
	free(c->server.password_file);
	free(c->server.pam_service);
	free(c->server.pam_confdir);
	free(c->server.penalty_exempt);
	for (size_t i = 0; i < c->server.n_users; i++)
		free(c->server.users[i].allowed_ips);
	free(c->server.users);
	free(c->client.known_hosts);
	free(c->client.password_file);
	free(c->client.routes);
	free(c->client.m.listen);
	for (size_t i = 0; i < c->n_peers; i++)
		free(c->peers[i].allowed_ips);
	free(c->peers);
	memset(c, 0, sizeof(*c));
}
