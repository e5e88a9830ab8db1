/* SPDX-License-Identifier: ISC */
/*
 * The client side of the control protocol (docs/CONTROL.md).  Every reply
 * is checked before use: its length with mnl_nlmsg_ok(), its sequence
 * number, and each attribute we read against the type ctl_proto.h gives
 * it, so a confused or hostile peer on the socket cannot make us read
 * past a message.
 */
#include "ctlclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* The daemon refuses requests over 8 KiB and sends replies of at most
 * that; twice as much leaves room for a newer daemon's longer replies. */
#define CTL_BUF 16384
#define CTL_TIMEOUT_S 2

pid_t ctl_peer_pid;

/* Attribute types per ctl_proto.h; BINARY ones must be exactly 32 bytes. */
static const enum mnl_attr_data_type attr_types[OSTP_CTLA_MAX + 1] = {
	[OSTP_CTLA_IFNAME] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_PUBKEY] = MNL_TYPE_BINARY,
	[OSTP_CTLA_LISTEN_PORT] = MNL_TYPE_U16,
	[OSTP_CTLA_USER] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_ENDPOINT] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_ROLE] = MNL_TYPE_U8,
	[OSTP_CTLA_SPW] = MNL_TYPE_U16,
	[OSTP_CTLA_UP_MS] = MNL_TYPE_U64,
	[OSTP_CTLA_RX_BYTES] = MNL_TYPE_U64,
	[OSTP_CTLA_RX_PACKETS] = MNL_TYPE_U64,
	[OSTP_CTLA_TX_BYTES] = MNL_TYPE_U64,
	[OSTP_CTLA_TX_PACKETS] = MNL_TYPE_U64,
	[OSTP_CTLA_DROPS] = MNL_TYPE_U64,
	[OSTP_CTLA_N_SESSIONS] = MNL_TYPE_U32,
	[OSTP_CTLA_PID] = MNL_TYPE_U32,
	[OSTP_CTLA_ROLE_FLAGS] = MNL_TYPE_U8,
	[OSTP_CTLA_PREFIX] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_ORIGIN] = MNL_TYPE_U8,
	[OSTP_CTLA_PEER_NAME] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_ALLOWED] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_ADDRS] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_SERVER_KEY] = MNL_TYPE_BINARY,
	[OSTP_CTLA_DROP_QUEUE] = MNL_TYPE_U64,
	[OSTP_CTLA_DROP_SOURCE] = MNL_TYPE_U64,
	[OSTP_CTLA_CONFIG_PATH] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_LAST_ERROR] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_UP] = MNL_TYPE_U8,
	[OSTP_CTLA_N_MEMBERS] = MNL_TYPE_U32,
	[OSTP_CTLA_PATH] = MNL_TYPE_U8,
	[OSTP_CTLA_LISTENS] = MNL_TYPE_NUL_STRING,
	[OSTP_CTLA_LINK_AGE_MS] = MNL_TYPE_U64,
	[OSTP_CTLA_HANDSHAKE_AGO_MS] = MNL_TYPE_U64,
	[OSTP_CTLA_RTT_US] = MNL_TYPE_U32,
	[OSTP_CTLA_FAILOVERS] = MNL_TYPE_U32,
	[OSTP_CTLA_DIALER] = MNL_TYPE_U8,
	[OSTP_CTLA_AEAD_ENGINE] = MNL_TYPE_NUL_STRING,
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	enum mnl_attr_data_type t;

	/* unknown attributes come from a newer daemon: ignored (CONTROL.md 6) */
	if (mnl_attr_type_valid(attr, OSTP_CTLA_MAX) < 0 || type == OSTP_CTLA_UNSPEC)
		return MNL_CB_OK;
	t = attr_types[type];
	if (t == MNL_TYPE_BINARY ? mnl_attr_validate2(attr, t, 32) < 0
				 : mnl_attr_validate(attr, t) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int ext_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, NLMSGERR_ATTR_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* NLMSG_ERROR: the errno, and the message of the extended ack.  ostpd
 * copies only the request's header into struct nlmsgerr (CONTROL.md 4),
 * so the attributes start right after it whatever msg.nlmsg_len says. */
static int parse_error(const struct nlmsghdr *nlh, char *msg, size_t msglen)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && msg && msglen &&
	    mnl_attr_parse(nlh, sizeof(*e), ext_attr_cb, tb) >= 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(msg, msglen, "%s", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	/* a positive error would read as success to our callers */
	return e->error < 0 ? e->error : -e->error;
}

static int connect_daemon(const char *dir, const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, err;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock",
			     dir, ifname) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a daemon that hangs must not hang us: every step is bounded */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		close(fd);
		return err;
	}
	ctl_peer_pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0
		       ? cred.pid : 0;
	return fd;
}

/* One record: 1 when the exchange is complete, 0 to read on, <0 error. */
static int handle_record(const char *buf, int len, uint32_t seq, uint16_t cmd,
			 ctl_reply_fn reply, void *reply_ctx, char *msg, size_t msglen)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	if (!mnl_nlmsg_ok(nlh, len))
		return -EBADMSG;
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		const struct nlattr *tb[OSTP_CTLA_MAX + 1] = { 0 };
		int err;

		if (nlh->nlmsg_seq != seq)
			return -EBADMSG;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR:
			err = parse_error(nlh, msg, msglen);
			return err < 0 ? err : 1;
		case NLMSG_DONE:
			/* a kernel-style DONE may carry the dump's status */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
				memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
				if (err < 0)
					return err;
			}
			return 1;
		default:
			if (nlh->nlmsg_type != cmd)
				return -EBADMSG;
			if (mnl_attr_parse(nlh, 0, attr_cb, tb) < 0)
				return -EBADMSG;
			if (reply && (err = reply(tb, reply_ctx)) < 0)
				return err;
			if (!(nlh->nlmsg_flags & NLM_F_MULTI))
				return 1;
		}
	}
	return 0;
}

int ctl_request(const char *control_dir, const char *ifname, uint16_t cmd,
		ctl_build_fn build, void *build_ctx, ctl_reply_fn reply, void *reply_ctx,
		char *msg, size_t msglen)
{
	_Alignas(struct nlmsghdr) char buf[CTL_BUF] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct timespec ts;
	uint32_t seq;
	int fd, ret = 0;

	if (msg && msglen)
		msg[0] = '\0';
	ctl_peer_pid = 0;
	fd = connect_daemon(control_dir, ifname);
	if (fd < 0)
		return fd;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	nlh->nlmsg_type = cmd;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
	if (build)
		build(nlh, build_ctx);
	if (send(fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL) < 0) {
		ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto out;
	}
	while (ret == 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		/* EOF before the end: the daemon closed us as idle or for a
		 * newer client (CONTROL.md 1) */
		if (n == 0) {
			ret = -ECONNRESET;
			break;
		}
		/* buf now holds the reply: the request's seq was saved */
		ret = handle_record(buf, (int)n, seq, cmd, reply,
				    reply_ctx, msg, msglen);
	}
out:
	close(fd);
	return ret < 0 ? ret : 0;
}

bool ctl_not_running(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED || err == -ENOTDIR;
}

const char *ctl_strerror(int err, const char *msg)
{
	if (msg && msg[0])
		return msg;
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		return "the daemon is not running";
	case -EACCES:
	case -EPERM:
		return "permission denied (run as root)";
	case -ETIMEDOUT:
		return "the daemon did not answer";
	case -ECONNRESET:
		return "the daemon closed the connection without answering";
	case -EBADMSG:
		return "malformed reply from the daemon";
	case -EOPNOTSUPP:
		return "the daemon does not support this request";
	}
	return strerror(err < 0 ? -err : err);
}

/* ---- GET_INFO and GET_SESSIONS ------------------------------------------- */

static void copy_str(char *dst, size_t size, const struct nlattr *a)
{
	if (a)
		snprintf(dst, size, "%s", mnl_attr_get_str(a));
}

static int info_cb(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx)
{
	struct ctl_info *in = ctx;

	copy_str(in->ifname, sizeof(in->ifname), tb[OSTP_CTLA_IFNAME]);
	copy_str(in->config_path, sizeof(in->config_path), tb[OSTP_CTLA_CONFIG_PATH]);
	copy_str(in->last_error, sizeof(in->last_error), tb[OSTP_CTLA_LAST_ERROR]);
	copy_str(in->aead_engine, sizeof(in->aead_engine), tb[OSTP_CTLA_AEAD_ENGINE]);
	if ((in->have_pubkey = tb[OSTP_CTLA_PUBKEY] != NULL))
		memcpy(in->pubkey, mnl_attr_get_payload(tb[OSTP_CTLA_PUBKEY]), 32);
	if ((in->have_server_key = tb[OSTP_CTLA_SERVER_KEY] != NULL))
		memcpy(in->server_key, mnl_attr_get_payload(tb[OSTP_CTLA_SERVER_KEY]), 32);
	if ((in->have_port = tb[OSTP_CTLA_LISTEN_PORT] != NULL))
		in->port = mnl_attr_get_u16(tb[OSTP_CTLA_LISTEN_PORT]);
	if (tb[OSTP_CTLA_N_SESSIONS])
		in->n_sessions = mnl_attr_get_u32(tb[OSTP_CTLA_N_SESSIONS]);
	if ((in->have_pid = tb[OSTP_CTLA_PID] != NULL))
		in->pid = mnl_attr_get_u32(tb[OSTP_CTLA_PID]);
	if ((in->have_roles = tb[OSTP_CTLA_ROLE_FLAGS] != NULL))
		in->roles = mnl_attr_get_u8(tb[OSTP_CTLA_ROLE_FLAGS]);
	if ((in->have_up = tb[OSTP_CTLA_UP] != NULL))
		in->up = mnl_attr_get_u8(tb[OSTP_CTLA_UP]) != 0;
	if ((in->have_members = tb[OSTP_CTLA_N_MEMBERS] != NULL))
		in->n_members = mnl_attr_get_u32(tb[OSTP_CTLA_N_MEMBERS]);
	return 0;
}

int ctl_get_info(const char *dir, const char *ifname, struct ctl_info *info,
		 char *msg, size_t msglen)
{
	int err;

	memset(info, 0, sizeof(*info));
	err = ctl_request(dir, ifname, OSTP_CTL_GET_INFO, NULL, NULL, info_cb, info,
			  msg, msglen);
	/* a daemon older than OSTP_CTLA_PID: the socket still knows its PID */
	if (err == 0 && !info->have_pid && ctl_peer_pid > 0)
		info->pid = (uint32_t)ctl_peer_pid;
	return err;
}

struct sess_list {
	struct ctl_session *v;
	size_t n, cap;
};

static uint64_t u64_or0(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static int sessions_cb(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx)
{
	struct sess_list *l = ctx;
	struct ctl_session *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ctl_session *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	copy_str(s->user, sizeof(s->user), tb[OSTP_CTLA_USER]);
	copy_str(s->endpoint, sizeof(s->endpoint), tb[OSTP_CTLA_ENDPOINT]);
	copy_str(s->addrs, sizeof(s->addrs), tb[OSTP_CTLA_ADDRS]);
	s->role = tb[OSTP_CTLA_ROLE] ? mnl_attr_get_u8(tb[OSTP_CTLA_ROLE]) : 0;
	s->spw = tb[OSTP_CTLA_SPW] ? mnl_attr_get_u16(tb[OSTP_CTLA_SPW]) : 0;
	s->up_ms = u64_or0(tb[OSTP_CTLA_UP_MS]);
	s->rx_bytes = u64_or0(tb[OSTP_CTLA_RX_BYTES]);
	s->rx_packets = u64_or0(tb[OSTP_CTLA_RX_PACKETS]);
	s->tx_bytes = u64_or0(tb[OSTP_CTLA_TX_BYTES]);
	s->tx_packets = u64_or0(tb[OSTP_CTLA_TX_PACKETS]);
	s->drops = u64_or0(tb[OSTP_CTLA_DROPS]);
	s->have_drop_detail = tb[OSTP_CTLA_DROP_QUEUE] || tb[OSTP_CTLA_DROP_SOURCE];
	s->drop_queue = u64_or0(tb[OSTP_CTLA_DROP_QUEUE]);
	s->drop_source = u64_or0(tb[OSTP_CTLA_DROP_SOURCE]);
	return 0;
}

int ctl_get_sessions(const char *dir, const char *ifname,
		     struct ctl_session **out, size_t *n, char *msg, size_t msglen)
{
	struct sess_list l = { 0 };
	int err = ctl_request(dir, ifname, OSTP_CTL_GET_SESSIONS, NULL, NULL,
			      sessions_cb, &l, msg, msglen);

	if (err < 0) {
		free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	*out = l.v;
	*n = l.n;
	return err;
}
