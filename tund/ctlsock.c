/* SPDX-License-Identifier: ISC */
/*
 * The control socket: CONTROL_DIR/IFNAME.sock, owner-only.  Each request
 * is checked for its sender (root or our own uid) and its length before it
 * is parsed; errors go back as NLMSG_ERROR with an errno and a message.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "daemon.h"
#include "endpoint.h"
#include "prefix.h"
#include "log.h"

#define CTL_BUF 8192
#define MALFORMED "malformed attribute (strings must be NUL-terminated and at most 256 bytes)"

int ctl_open(struct ostpd *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *dir = d->cfg.control_dir;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("control directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir,
			     d->ifname) >= sizeof(sun.sun_path)) {
		log_error("control socket path too long");
		return -1;
	}
	/* the daemon may run unprivileged later and must still remove it */
	if (d->cfg.user_name[0]) {
		struct passwd *pw = getpwnam(d->cfg.user_name);

		if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			log_warn("chown %s: %s", dir, strerror(errno));
	}
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		log_error("control socket %s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s", sun.sun_path);
	d->ctl_fd = fd;
	return watch_add(d, &d->ctl_w, fd, W_CONTROL, EPOLLIN);
}

void ctl_close(struct ostpd *d)
{
	if (d->ctl_fd < 0)
		return;
	close(d->ctl_fd);
	unlink(d->ctl_path);
	d->ctl_fd = -1;
}

static void send_msg(int fd, struct nlmsghdr *nlh)
{
	if (send(fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL) < 0)
		log_debug("control reply: %s", strerror(errno));
}

/* NLMSG_ERROR with errno (0 = ack) and an extended-ack message. */
static void send_status(int fd, const struct nlmsghdr *req, int err, const char *msg)
{
	_Alignas(struct nlmsghdr) char buf[CTL_BUF] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = msg ? NLM_F_ACK_TLVS : 0;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -err;
	e->msg = *req;
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	send_msg(fd, nlh);
}

/* buf holds CTL_BUF bytes.  libmnl leaves the padding after an attribute
 * as it finds it, so every reply starts from zeros: no stack bytes, and no
 * bytes of the previous reply built in the same buffer, reach the client. */
static struct nlmsghdr *reply_header(char *buf, const struct nlmsghdr *req, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, CTL_BUF);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = req->nlmsg_type;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static void get_info(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	_Alignas(struct nlmsghdr) char buf[CTL_BUF];
	struct nlmsghdr *nlh = reply_header(buf, req, 0);

	mnl_attr_put_strz(nlh, OSTP_CTLA_IFNAME, d->ifname);
	if (d->have_identity)
		mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, d->id_pk);
	if (d->cfg.has_server && d->cfg.server.n_listen) {
		const struct sockaddr_storage *ss = &d->cfg.server.listen[0].addr;
		uint16_t port = ss->ss_family == AF_INET
			? ntohs(((const struct sockaddr_in *)ss)->sin_port)
			: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		mnl_attr_put_u16(nlh, OSTP_CTLA_LISTEN_PORT, port);
	}
	mnl_attr_put_u32(nlh, OSTP_CTLA_N_SESSIONS, (uint32_t)d->n_established);
	mnl_attr_put_u32(nlh, OSTP_CTLA_PID, (uint32_t)getpid());
	mnl_attr_put_u8(nlh, OSTP_CTLA_ROLE_FLAGS,
			(uint8_t)((d->cfg.has_server ? 1 : 0) | (d->cfg.has_client ? 2 : 0)));
	if (d->cfg_path)
		mnl_attr_put_strz(nlh, OSTP_CTLA_CONFIG_PATH, d->cfg_path);
	if (d->cfg.has_client) {
		bool up = d->upstream && !d->upstream->dead && d->upstream->established_ms;

		mnl_attr_put_u8(nlh, OSTP_CTLA_UP, up);
		mnl_attr_put_strz(nlh, OSTP_CTLA_LAST_ERROR, d->last_error);
		if (d->cfg.client.have_server_key)
			mnl_attr_put(nlh, OSTP_CTLA_SERVER_KEY, 32, d->cfg.client.server_key);
	}
	send_msg(fd, nlh);
}

static void session_addrs(const struct ostpd *d, const struct conn *c, char *out, size_t size)
{
	size_t off = 0;

	out[0] = '\0';
	if (c->kind == CONN_UPSTREAM) {
		snprintf(out, size, "%s", d->upstream_addrs);
		return;
	}
	for (size_t i = 0; c->ucfg && i < c->ucfg->n_addr && off < size; i++) {
		char text[PREFIX_STRLEN];

		off += (size_t)snprintf(out + off, size - off, "%s%s", off ? " " : "",
					prefix_format(&c->ucfg->addr[i], text, sizeof(text)));
	}
}

static void get_sessions(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	uint64_t now = now_ms();
	_Alignas(struct nlmsghdr) char buf[CTL_BUF];
	char addrs[512];

	for (struct conn *c = d->conns; c; c = c->next) {
		struct nlmsghdr *nlh;

		if (c->dead)
			continue;
		nlh = reply_header(buf, req, NLM_F_MULTI);
		mnl_attr_put_strz(nlh, OSTP_CTLA_USER, c->user);
		mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT, c->endpoint);
		mnl_attr_put_u8(nlh, OSTP_CTLA_ROLE, c->kind == CONN_UPSTREAM);
		mnl_attr_put_u16(nlh, OSTP_CTLA_SPW, c->spw);
		mnl_attr_put_u64(nlh, OSTP_CTLA_UP_MS, c->established_ms ? now - c->established_ms + 1 : 0);
		mnl_attr_put_u64(nlh, OSTP_CTLA_RX_BYTES, c->ctr.rx_bytes);
		mnl_attr_put_u64(nlh, OSTP_CTLA_RX_PACKETS, c->ctr.rx_packets);
		mnl_attr_put_u64(nlh, OSTP_CTLA_TX_BYTES, c->ctr.tx_bytes);
		mnl_attr_put_u64(nlh, OSTP_CTLA_TX_PACKETS, c->ctr.tx_packets);
		mnl_attr_put_u64(nlh, OSTP_CTLA_DROPS,
				 c->ctr.drop_queue + c->ctr.drop_source + c->ctr.drop_noroute);
		mnl_attr_put_u64(nlh, OSTP_CTLA_DROP_QUEUE, c->ctr.drop_queue);
		mnl_attr_put_u64(nlh, OSTP_CTLA_DROP_SOURCE, c->ctr.drop_source);
		session_addrs(d, c, addrs, sizeof(addrs));
		mnl_attr_put_strz(nlh, OSTP_CTLA_ADDRS, addrs);
		send_msg(fd, nlh);
	}
	struct nlmsghdr *done = reply_header(buf, req, NLM_F_MULTI);
	done->nlmsg_type = NLMSG_DONE;
	send_msg(fd, done);
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, OSTP_CTLA_MAX) < 0)
		return MNL_CB_OK;   /* unknown attributes from a newer ostpctl */
	switch (type) {
	case OSTP_CTLA_USER:
	case OSTP_CTLA_PREFIX:
	case OSTP_CTLA_PEER_NAME:
	case OSTP_CTLA_ENDPOINT:
	case OSTP_CTLA_ALLOWED:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(attr) > 256)
			return MNL_CB_ERROR;
		break;
	case OSTP_CTLA_PUBKEY:
		if (mnl_attr_get_payload_len(attr) != 32)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;   /* requests carry no other attribute */
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

/* Validates the request's attributes and that `required` is among them;
 * on failure answers with EINVAL and why, and returns -1. */
static int parse_request(int fd, const struct nlmsghdr *req, const struct nlattr *tb[],
			 int required, const char *missing)
{
	if (mnl_attr_parse(req, 0, attr_cb, tb) < 0) {
		send_status(fd, req, EINVAL, MALFORMED);
		return -1;
	}
	if (!tb[required]) {
		send_status(fd, req, EINVAL, missing);
		return -1;
	}
	return 0;
}

static void route_cmd(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	const struct nlattr *tb[OSTP_CTLA_MAX + 1] = { 0 };
	const char *user = NULL;
	struct prefix p;
	int err;

	if (parse_request(fd, req, tb, OSTP_CTLA_PREFIX, "a prefix is required") < 0)
		return;
	if (!parse_prefix(mnl_attr_get_str(tb[OSTP_CTLA_PREFIX]), &p.family, p.addr, &p.len) ||
	    !prefix_is_network(&p)) {
		send_status(fd, req, EINVAL, "bad prefix");
		return;
	}
	if (tb[OSTP_CTLA_USER]) {
		user = mnl_attr_get_str(tb[OSTP_CTLA_USER]);
		if (!ostp_username_valid(user, strlen(user))) {
			send_status(fd, req, EINVAL, "bad user name");
			return;
		}
	}
	if (req->nlmsg_type == OSTP_CTL_ROUTE_ADD) {
		if (!d->cfg.has_server) {
			send_status(fd, req, EOPNOTSUPP, "routes to users need the server role");
			return;
		}
		if (!user) {
			send_status(fd, req, EINVAL, "a user name is required");
			return;
		}
		err = rtable_route_add(d, &p, user);
	} else {
		err = rtable_route_del(d, &p, user);
	}
	send_status(fd, req, -err, err == -EEXIST ? "route exists"
			       : err == -EBUSY ? "prefix belongs to another user"
			       : err == -ENOENT ? "no such route"
			       : err == -ENOSPC ? "too many routes" : NULL);
}

static void route_list(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	_Alignas(struct nlmsghdr) char buf[CTL_BUF];
	char text[PREFIX_STRLEN];
	struct nlmsghdr *nlh;

	for (size_t i = 0; i < d->cfg.server.n_users && d->cfg.has_server; i++) {
		const struct ostpd_user *u = &d->cfg.server.users[i];

		for (size_t j = 0; j < u->n_allowed_ips; j++) {
			nlh = reply_header(buf, req, NLM_F_MULTI);
			mnl_attr_put_strz(nlh, OSTP_CTLA_PREFIX,
					  prefix_format(&u->allowed_ips[j], text, sizeof(text)));
			mnl_attr_put_strz(nlh, OSTP_CTLA_USER, u->name);
			mnl_attr_put_u8(nlh, OSTP_CTLA_ORIGIN, 0);
			send_msg(fd, nlh);
		}
	}
	for (size_t i = 0; i < d->n_routes; i++) {
		nlh = reply_header(buf, req, NLM_F_MULTI);
		mnl_attr_put_strz(nlh, OSTP_CTLA_PREFIX,
				  prefix_format(&d->routes[i].prefix, text, sizeof(text)));
		mnl_attr_put_strz(nlh, OSTP_CTLA_USER, d->routes[i].user);
		mnl_attr_put_u8(nlh, OSTP_CTLA_ORIGIN, 1);
		send_msg(fd, nlh);
	}
	nlh = reply_header(buf, req, NLM_F_MULTI);
	nlh->nlmsg_type = NLMSG_DONE;
	send_msg(fd, nlh);
}

/* "p1,p2": each a network prefix. */
static bool allowed_valid(const char *list)
{
	char copy[257], *save = NULL;

	if (!list[0])
		return true;
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct prefix p;

		if (!parse_prefix(tok, &p.family, p.addr, &p.len) || !prefix_is_network(&p))
			return false;
	}
	return true;
}

static void peer_cmd(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	const struct nlattr *tb[OSTP_CTLA_MAX + 1] = { 0 };
	struct daemon_peer p = { 0 };
	const char *name;
	int err;

	if (parse_request(fd, req, tb, OSTP_CTLA_PEER_NAME, "a peer name is required") < 0)
		return;
	name = mnl_attr_get_str(tb[OSTP_CTLA_PEER_NAME]);
	if (!ostp_username_valid(name, strlen(name))) {
		send_status(fd, req, EINVAL, "bad peer name");
		return;
	}
	if (req->nlmsg_type == OSTP_CTL_PEER_DEL) {
		err = rtable_peer_del(d, name);
		send_status(fd, req, -err, err ? "no such peer" : NULL);
		return;
	}
	if (!tb[OSTP_CTLA_ENDPOINT] || !tb[OSTP_CTLA_PUBKEY] ||
	    !parse_endpoint(mnl_attr_get_str(tb[OSTP_CTLA_ENDPOINT]), &p.endpoint.addr,
			    &p.endpoint.len)) {
		send_status(fd, req, EINVAL, "a peer needs an endpoint and a key");
		return;
	}
	if (tb[OSTP_CTLA_ALLOWED]) {
		if (!allowed_valid(mnl_attr_get_str(tb[OSTP_CTLA_ALLOWED]))) {
			send_status(fd, req, EINVAL, "bad allowed prefix");
			return;
		}
		snprintf(p.allowed, sizeof(p.allowed), "%s", mnl_attr_get_str(tb[OSTP_CTLA_ALLOWED]));
	}
	snprintf(p.name, sizeof(p.name), "%s", name);
	memcpy(p.key, mnl_attr_get_payload(tb[OSTP_CTLA_PUBKEY]), 32);
	err = rtable_peer_add(d, &p);
	send_status(fd, req, -err, err == -EEXIST ? "peer exists"
			       : err == -ENOSPC ? "too many peers" : NULL);
}

static void peer_list(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	_Alignas(struct nlmsghdr) char buf[CTL_BUF];
	char ep[ENDPOINT_STRLEN];
	struct nlmsghdr *nlh;

	for (size_t i = 0; i < d->n_peers; i++) {
		const struct daemon_peer *p = &d->peers[i];

		nlh = reply_header(buf, req, NLM_F_MULTI);
		mnl_attr_put_strz(nlh, OSTP_CTLA_PEER_NAME, p->name);
		mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT,
				  endpoint_format((const struct sockaddr *)&p->endpoint.addr, ep, sizeof(ep)));
		mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, p->key);
		mnl_attr_put_strz(nlh, OSTP_CTLA_ALLOWED, p->allowed);
		mnl_attr_put_u8(nlh, OSTP_CTLA_ORIGIN, p->from_config ? 0 : 1);
		send_msg(fd, nlh);
	}
	nlh = reply_header(buf, req, NLM_F_MULTI);
	nlh->nlmsg_type = NLMSG_DONE;
	send_msg(fd, nlh);
}

static void close_user(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	const struct nlattr *tb[OSTP_CTLA_MAX + 1] = { 0 };
	const char *user;
	int n = 0;

	if (parse_request(fd, req, tb, OSTP_CTLA_USER, "a user name is required") < 0)
		return;
	user = mnl_attr_get_str(tb[OSTP_CTLA_USER]);
	for (struct conn *c = d->conns; c; c = c->next) {
		if (!c->dead && strcmp(c->user, user) == 0) {
			conn_close(d, c, OSTP_CLOSE_REVOKED, "closed by the administrator");
			n++;
		}
	}
	send_status(fd, req, n ? 0 : ENOENT, n ? NULL : "no session of that user");
}

static void handle(struct ostpd *d, int fd, const char *buf, ssize_t len)
{
	const struct nlmsghdr *req = (const struct nlmsghdr *)buf;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != getuid())) {
		log_warn("control: request from uid %u refused", (unsigned)cred.uid);
		return;
	}
	if (len < (ssize_t)sizeof(*req) || !mnl_nlmsg_ok(req, (int)len))
		return;
	switch (req->nlmsg_type) {
	case OSTP_CTL_GET_INFO:
		get_info(d, fd, req);
		break;
	case OSTP_CTL_GET_SESSIONS:
		get_sessions(d, fd, req);
		break;
	case OSTP_CTL_RELOAD:
		if (!d->cfg.has_server)
			send_status(fd, req, EOPNOTSUPP, "not a server");
		else if (ocs_reload(d) < 0)
			send_status(fd, req, EINVAL, "reload failed; see the daemon's log");
		else
			send_status(fd, req, 0, NULL);
		break;
	case OSTP_CTL_CLOSE_USER:
		close_user(d, fd, req);
		break;
	case OSTP_CTL_SHUTDOWN:
		log_info("shutdown requested over the control socket");
		d->quit = true;
		send_status(fd, req, 0, NULL);
		break;
	case OSTP_CTL_ROUTE_ADD:
	case OSTP_CTL_ROUTE_DEL:
		route_cmd(d, fd, req);
		break;
	case OSTP_CTL_ROUTE_LIST:
		route_list(d, fd, req);
		break;
	case OSTP_CTL_PEER_ADD:
	case OSTP_CTL_PEER_DEL:
		peer_cmd(d, fd, req);
		break;
	case OSTP_CTL_PEER_LIST:
		peer_list(d, fd, req);
		break;
	default:
		send_status(fd, req, EOPNOTSUPP, "unknown request");
	}
}

void ctl_on_readable(struct ostpd *d)
{
	for (int i = 0; i < 16; i++) {
		struct timeval tv = { .tv_sec = 1 };
		_Alignas(struct nlmsghdr) char buf[CTL_BUF];
		ssize_t n;
		int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		/* one short blocking exchange: ostpctl sends its request right
		 * after connecting, and a stuck client costs at most a second */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0)
			handle(d, fd, buf, n);
		close(fd);
	}
}
