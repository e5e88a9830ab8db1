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
#include "log.h"

#define CTL_BUF 8192

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
	char buf[CTL_BUF];
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

static struct nlmsghdr *reply_header(char *buf, const struct nlmsghdr *req, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = req->nlmsg_type;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static void get_info(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	char buf[CTL_BUF];
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
	send_msg(fd, nlh);
}

static void get_sessions(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	uint64_t now = now_ms();
	char buf[CTL_BUF];

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
	if (type == OSTP_CTLA_USER && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void close_user(struct ostpd *d, int fd, const struct nlmsghdr *req)
{
	const struct nlattr *tb[OSTP_CTLA_MAX + 1] = { 0 };
	const char *user;
	int n = 0;

	if (mnl_attr_parse(req, 0, attr_cb, tb) < 0 || !tb[OSTP_CTLA_USER]) {
		send_status(fd, req, EINVAL, "a user name is required");
		return;
	}
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
	default:
		send_status(fd, req, EOPNOTSUPP, "unknown request");
	}
}

void ctl_on_readable(struct ostpd *d)
{
	for (int i = 0; i < 16; i++) {
		struct timeval tv = { .tv_sec = 1 };
		char buf[CTL_BUF];
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
