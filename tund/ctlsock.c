/* SPDX-License-Identifier: ISC */
/*
 * The control socket: CONTROL_DIR/IFNAME.sock, root:root 0600.  It lives in
 * the daemon's one epoll loop and never blocks it: every client socket is
 * non-blocking with its own watch, replies wait in a bounded queue per
 * client, and large listings are built a batch at a time as the client
 * reads them.  A client that makes no progress for CTL_IDLE_MS is closed,
 * and at most CTL_MAX_CLIENTS are connected at once (a new one closes the
 * oldest), so a stuck script costs a few kilobytes, never forwarding time.
 * Requests are parsed by ctlreq.c before anything acts on them; every
 * request, malformed or not, gets a reply (docs/CONTROL.md).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "ctlreq.h"
#include "daemon.h"
#include "endpoint.h"
#include "prefix.h"
#include "log.h"

/* ostpctl sends its request right after connecting and reads the replies
 * at once; 3 s without progress is a stuck client, not a slow one. */
#define CTL_IDLE_MS      3000
#define CTL_TIMER_MS     250      /* deadlines are checked this often, only while clients exist */
#define CTL_MAX_CLIENTS  16
#define CTL_ACCEPT_BATCH 16       /* connections accepted per wakeup */
#define CTL_MSG_MAX      8192     /* the longest single reply message */
/* Listings are built while less than this is queued, so a client costs
 * at most CTL_OUTQ_MAX bytes of queue however long its listing is. */
#define CTL_DUMP_BATCH   (64 * 1024)
#define CTL_OUTQ_MAX     (CTL_DUMP_BATCH + 2 * CTL_MSG_MAX)
/* Batches built per wakeup: a client that reads as fast as we write
 * still gives the loop back to the tunnels between them. */
#define CTL_REFILLS      4

struct ctl_client {
	struct ev_watch w;               /* first: epoll data points here; fd -1 when free */
	struct ostpd *d;
	uint64_t seq;                    /* accept order: the oldest is closed first */
	uint64_t deadline;               /* closed when no progress by then */
	bool answered;                   /* its one request is handled: only writes remain */
	/* Replies: whole netlink messages back to back in q[head..tail).
	 * q[tail..CTL_OUTQ_MAX) is kept zero, so padding libmnl skips never
	 * carries old bytes to the client. */
	uint8_t *q;
	size_t head, tail;
	/* A listing in progress when dump_cmd != 0: its request's header and
	 * where it goes on. */
	uint16_t dump_cmd;
	struct nlmsghdr dump_req;
	uint64_t dump_below;             /* sessions: conn ids below this are still to come */
	size_t dump_i, dump_j;           /* routes: user and prefix, then run-time route; peers */
	bool dump_runtime;
};

/* Client slots are never freed while the loop runs: an event returned in
 * the same epoll batch as the one that closed a client still points at
 * its slot, and then finds it free (fd -1) or, reused, acts on the new
 * client's real socket state, which is harmless. */
struct ctl_clients {
	struct timer timer;              /* deadlines, checked only while clients exist */
	size_t n;
	uint64_t next_seq;
	struct ctl_client slot[CTL_MAX_CLIENTS];
};

static void on_timer(struct timer *t, uint64_t now);
static void on_listen(struct ev_watch *w, uint32_t events);

static void timer_arm(struct ostpd *d, bool on)
{
	struct ctl_clients *cc = d->ctlc;

	if (on && !timer_pending(&cc->timer))
		ev_timer_set(&d->loop, &cc->timer, ev_now(&d->loop) + CTL_TIMER_MS);
	else if (!on)
		ev_timer_cancel(&d->loop, &cc->timer);
}

static void client_close(struct ostpd *d, struct ctl_client *cl)
{
	if (cl->w.fd < 0)
		return;
	close(cl->w.fd);   /* also leaves the epoll set */
	free(cl->q);
	memset(cl, 0, sizeof(*cl));
	cl->d = d;
	cl->w.fd = -1;
	if (--d->ctlc->n == 0)
		timer_arm(d, false);
}

int ctl_open(struct ostpd *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *dir = d->cfg.control_dir;
	struct ctl_clients *cc;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("control directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir,
			     d->tun.ifname) >= sizeof(sun.sun_path)) {
		log_error("control socket path too long");
		return -ENAMETOOLONG;
	}
	/* the daemon may run unprivileged later and must still remove it */
	if (d->cfg.user_name[0]) {
		struct passwd *pw = getpwnam(d->cfg.user_name);

		if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			log_warn("chown %s: %s", dir, strerror(errno));
	}
	cc = calloc(1, sizeof(*cc));
	if (!cc) {
		log_error("control socket: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
		cc->slot[i].d = d;
		cc->slot[i].w.fd = -1;
	}
	cc->timer.fn = on_timer;
	d->ctlc = cc;
	unlink(sun.sun_path);
	/* Created before the privilege drop, so the file is root's and mode
	 * 0600: only root can connect (docs/CONTROL.md 1). */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		log_error("control socket %s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s", sun.sun_path);
	d->ctl_fd = fd;
	return ev_watch_add(&d->loop, &d->ctl_w, fd, EPOLLIN, on_listen);
}

/* ---- the reply queue ------------------------------------------------------ */

static size_t queued(const struct ctl_client *cl)
{
	return cl->tail - cl->head;
}

/* Room for one message of up to CTL_MSG_MAX bytes at the tail (zero, see
 * struct ctl_client), its header filled in; NULL when the queue is full. */
static struct nlmsghdr *msg_start(struct ctl_client *cl, const struct nlmsghdr *req,
				  uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	if (!cl->q && !(cl->q = calloc(1, CTL_OUTQ_MAX)))
		return NULL;
	if (cl->tail + CTL_MSG_MAX > CTL_OUTQ_MAX && cl->head) {
		size_t n = queued(cl);

		memmove(cl->q, cl->q + cl->head, n);
		memset(cl->q + n, 0, cl->tail - n);
		cl->head = 0;
		cl->tail = n;
	}
	if (cl->tail + CTL_MSG_MAX > CTL_OUTQ_MAX)
		return NULL;
	nlh = mnl_nlmsg_put_header(cl->q + cl->tail);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = req->nlmsg_seq;
	return nlh;
}

static void msg_end(struct ctl_client *cl, const struct nlmsghdr *nlh)
{
	cl->tail += MNL_ALIGN(nlh->nlmsg_len);
}

/* NLMSG_ERROR with errno (0 = ack) and an extended-ack message.  Only the
 * request's header is echoed (CONTROL.md 4). */
static int put_status(struct ctl_client *cl, const struct nlmsghdr *req, int err,
		      const char *msg)
{
	struct nlmsghdr *nlh = msg_start(cl, req, NLMSG_ERROR, msg ? NLM_F_ACK_TLVS : 0);
	struct nlmsgerr *e;

	if (!nlh)
		return -1;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -err;
	e->msg = *req;
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	msg_end(cl, nlh);
	return 0;
}

/* ---- replies --------------------------------------------------------------- */

/* Established links to other members: GET_SESSIONS lists them, so they
 * count among the established sessions; nothing else keeps their number. */
static uint32_t mesh_established(const struct ostpd *d)
{
	uint32_t n = 0;

	if (!d->mesh)
		return 0;
	for (const struct link *k = d->links.head; k; k = k->next)
		n += mesh_is_link(k) && !k->dead && k->established_ms;
	return n;
}

static int put_info(struct ostpd *d, struct ctl_client *cl, const struct nlmsghdr *req)
{
	struct nlmsghdr *nlh = msg_start(cl, req, req->nlmsg_type, 0);

	if (!nlh)
		return -1;
	mnl_attr_put_strz(nlh, OSTP_CTLA_IFNAME, d->tun.ifname);
	if (d->have_identity)
		mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, d->id_pk);
	if (d->cfg.has_server && d->cfg.server.n_listen) {
		const struct sockaddr_storage *ss = &d->cfg.server.listen[0].addr;
		uint16_t port = ss->ss_family == AF_INET
			? ntohs(((const struct sockaddr_in *)ss)->sin_port)
			: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		mnl_attr_put_u16(nlh, OSTP_CTLA_LISTEN_PORT, port);
	}
	mnl_attr_put_u32(nlh, OSTP_CTLA_N_SESSIONS,
			 (uint32_t)(d->srv.n_established + upstream_up(d)) + mesh_established(d));
	mnl_attr_put_u32(nlh, OSTP_CTLA_PID, (uint32_t)getpid());
	mnl_attr_put_strz(nlh, OSTP_CTLA_AEAD_ENGINE, ostp_aead_engine());
	mnl_attr_put_u8(nlh, OSTP_CTLA_ROLE_FLAGS,
			(uint8_t)((d->cfg.has_server ? 1 : 0) | (d->cfg.has_client ? 2 : 0)));
	if (d->cfg_path)
		mnl_attr_put_strz(nlh, OSTP_CTLA_CONFIG_PATH, d->cfg_path);
	if (d->cfg.has_client) {
		mnl_attr_put_u8(nlh, OSTP_CTLA_UP, upstream_up(d));
		mnl_attr_put_strz(nlh, OSTP_CTLA_LAST_ERROR, d->cli.dial.last_error);
		if (d->cfg.client.have_server_key)
			mnl_attr_put(nlh, OSTP_CTLA_SERVER_KEY, 32, d->cfg.client.server_key);
	}
	/* present even with no other member yet: it says MESH_LIST is worth asking */
	if (d->mesh)
		mnl_attr_put_u32(nlh, OSTP_CTLA_N_MEMBERS, (uint32_t)mesh_peer_count(d));
	msg_end(cl, nlh);
	return 0;
}

static void session_addrs(const struct ostpd *d, const struct link *k, char *out, size_t size)
{
	const struct ostpd_user *u = ocs_link_user(k);
	size_t off = 0;

	out[0] = '\0';
	if (upstream_is(d, k)) {
		snprintf(out, size, "%s", d->cli.addrs);
		return;
	}
	for (size_t i = 0; u && i < u->n_addr && off < size; i++) {
		char text[PREFIX_STRLEN];

		off += (size_t)snprintf(out + off, size - off, "%s%s", off ? " " : "",
					prefix_format(&u->addr[i], text, sizeof(text)));
	}
}

static int put_session(struct ostpd *d, struct ctl_client *cl, const struct link *c,
		       uint64_t now)
{
	struct nlmsghdr *nlh = msg_start(cl, &cl->dump_req, cl->dump_cmd, NLM_F_MULTI);
	char addrs[512];

	if (!nlh)
		return -1;
	mnl_attr_put_strz(nlh, OSTP_CTLA_USER, c->user);
	mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT, c->endpoint);
	mnl_attr_put_u8(nlh, OSTP_CTLA_ROLE, mesh_is_link(c) ? 2 : upstream_is(d, c));
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
	msg_end(cl, nlh);
	return 0;
}

static int put_route(struct ctl_client *cl, const struct prefix *p, const char *user,
		     uint8_t origin)
{
	struct nlmsghdr *nlh = msg_start(cl, &cl->dump_req, cl->dump_cmd, NLM_F_MULTI);
	char text[PREFIX_STRLEN];

	if (!nlh)
		return -1;
	mnl_attr_put_strz(nlh, OSTP_CTLA_PREFIX, prefix_format(p, text, sizeof(text)));
	mnl_attr_put_strz(nlh, OSTP_CTLA_USER, user);
	mnl_attr_put_u8(nlh, OSTP_CTLA_ORIGIN, origin);
	msg_end(cl, nlh);
	return 0;
}

static int put_peer(struct ctl_client *cl, const struct daemon_peer *p)
{
	struct nlmsghdr *nlh = msg_start(cl, &cl->dump_req, cl->dump_cmd, NLM_F_MULTI);
	char ep[ENDPOINT_STRLEN];

	if (!nlh)
		return -1;
	mnl_attr_put_strz(nlh, OSTP_CTLA_PEER_NAME, p->name);
	mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT,
			  endpoint_format((const struct sockaddr *)&p->endpoint.addr, ep, sizeof(ep)));
	mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, p->key);
	mnl_attr_put_strz(nlh, OSTP_CTLA_ALLOWED, p->allowed);
	mnl_attr_put_u8(nlh, OSTP_CTLA_ORIGIN, p->from_config ? 0 : 1);
	msg_end(cl, nlh);
	return 0;
}

static uint8_t path_code(enum mesh_path p)
{
	switch (p) {
	case MESH_PATH_DOWN: break;
	case MESH_PATH_RELAY: return 1;
	case MESH_PATH_DIRECT: return 2;
	}
	return 0;
}

static int put_member(struct ctl_client *cl, const struct mesh_peer_info *m)
{
	struct nlmsghdr *nlh = msg_start(cl, &cl->dump_req, cl->dump_cmd, NLM_F_MULTI);
	bool linked = m->endpoint[0] != '\0';
	/* mesh.c says 0 for "never" and for "this very millisecond"; with a
	 * link up there was a handshake, so the wire's "plus one, 0 never"
	 * (as UP_MS) can tell them apart. */
	uint64_t hs = m->handshake_ago_ms ? m->handshake_ago_ms + 1 : linked;

	if (!nlh)
		return -1;
	mnl_attr_put_strz(nlh, OSTP_CTLA_PEER_NAME, m->name);
	mnl_attr_put(nlh, OSTP_CTLA_PUBKEY, 32, m->key);
	mnl_attr_put_strz(nlh, OSTP_CTLA_ALLOWED, m->prefixes);
	mnl_attr_put_u8(nlh, OSTP_CTLA_PATH, path_code(m->path));
	mnl_attr_put_strz(nlh, OSTP_CTLA_ENDPOINT, m->endpoint);
	mnl_attr_put_strz(nlh, OSTP_CTLA_LISTENS, m->listens);
	mnl_attr_put_u8(nlh, OSTP_CTLA_DIALER, linked && m->dialer);
	mnl_attr_put_u64(nlh, OSTP_CTLA_LINK_AGE_MS, linked ? m->link_age_ms + 1 : 0);
	mnl_attr_put_u64(nlh, OSTP_CTLA_HANDSHAKE_AGO_MS, hs);
	mnl_attr_put_u32(nlh, OSTP_CTLA_RTT_US, m->rtt_us);
	mnl_attr_put_u64(nlh, OSTP_CTLA_RX_BYTES, m->rx_bytes);
	mnl_attr_put_u64(nlh, OSTP_CTLA_TX_BYTES, m->tx_bytes);
	mnl_attr_put_u32(nlh, OSTP_CTLA_FAILOVERS, m->failovers);
	mnl_attr_put_u64(nlh, OSTP_CTLA_DROP_SOURCE, m->drop_source);
	mnl_attr_put_strz(nlh, OSTP_CTLA_LAST_ERROR, m->last_error);
	msg_end(cl, nlh);
	return 0;
}

/* One batch of the listing in progress: until CTL_DUMP_BATCH bytes are
 * queued, or to its end and NLMSG_DONE.  Like a netlink dump, a listing
 * taken while the tables change may miss or repeat what changed. */
static int dump_more(struct ostpd *d, struct ctl_client *cl)
{
	uint64_t now = ev_now(&d->loop);
	struct nlmsghdr *nlh;

	switch (cl->dump_cmd) {
	case OSTP_CTL_GET_SESSIONS:
		/* link_start() puts each link first and ids only grow, so
		 * the list runs from the highest id down and "ids below the
		 * last one sent" is where the listing goes on, whatever was
		 * reaped since. */
		for (const struct link *c = d->links.head; c; c = c->next) {
			if (c->id >= cl->dump_below || c->dead)
				continue;
			if (queued(cl) >= CTL_DUMP_BATCH)
				return 0;
			if (put_session(d, cl, c, now) < 0)
				return -1;
			cl->dump_below = c->id;
		}
		break;
	case OSTP_CTL_ROUTE_LIST:
		for (; !cl->dump_runtime && d->cfg.has_server &&
		       cl->dump_i < d->cfg.server.n_users; cl->dump_i++, cl->dump_j = 0) {
			const struct ostpd_user *u = &d->cfg.server.users[cl->dump_i];

			for (; cl->dump_j < u->n_allowed_ips; cl->dump_j++) {
				if (queued(cl) >= CTL_DUMP_BATCH)
					return 0;
				if (put_route(cl, &u->allowed_ips[cl->dump_j], u->name, 0) < 0)
					return -1;
			}
		}
		if (!cl->dump_runtime) {
			cl->dump_runtime = true;
			cl->dump_i = 0;
		}
		for (; cl->dump_i < d->n_routes; cl->dump_i++) {
			if (queued(cl) >= CTL_DUMP_BATCH)
				return 0;
			if (put_route(cl, &d->routes[cl->dump_i].prefix, d->routes[cl->dump_i].user, 1) < 0)
				return -1;
		}
		break;
	case OSTP_CTL_PEER_LIST:
		for (; cl->dump_i < d->n_peers; cl->dump_i++) {
			if (queued(cl) >= CTL_DUMP_BATCH)
				return 0;
			if (put_peer(cl, &d->peers[cl->dump_i]) < 0)
				return -1;
		}
		break;
	case OSTP_CTL_MESH_LIST:
		/* By position: a member added or removed between two batches
		 * may shift the rest by one (repeated or missed), as above. */
		for (; cl->dump_i < mesh_peer_count(d); cl->dump_i++) {
			struct mesh_peer_info info;

			if (queued(cl) >= CTL_DUMP_BATCH)
				return 0;
			if (!mesh_peer_get(d, cl->dump_i, &info))
				break;
			if (put_member(cl, &info) < 0)
				return -1;
		}
		break;
	default:
		return 0;
	}
	nlh = msg_start(cl, &cl->dump_req, NLMSG_DONE, NLM_F_MULTI);
	if (!nlh)
		return -1;
	msg_end(cl, nlh);
	cl->dump_cmd = 0;
	return 0;
}

/* ---- requests -------------------------------------------------------------- */

static int route_cmd(struct ostpd *d, struct ctl_client *cl, const struct ctlreq *r)
{
	int err;

	if (r->cmd == OSTP_CTL_ROUTE_ADD) {
		if (!d->cfg.has_server)
			return put_status(cl, &r->hdr, EOPNOTSUPP, "routes to users need the server role");
		if (!r->has_user)
			return put_status(cl, &r->hdr, EINVAL, "a user name is required");
		err = ocs_route_add(d, &r->prefix, r->user);
	} else {
		err = ocs_route_del(d, &r->prefix, r->has_user ? r->user : NULL);
	}
	return put_status(cl, &r->hdr, -err, err == -EEXIST ? "route exists"
				: err == -EBUSY ? "prefix belongs to another user"
				: err == -ENOENT ? "no such route"
				: err == -ENOSPC ? "too many routes" : NULL);
}

static int peer_cmd(struct ostpd *d, struct ctl_client *cl, const struct ctlreq *r)
{
	struct daemon_peer p = { 0 };
	int err;

	if (r->cmd == OSTP_CTL_PEER_DEL) {
		err = rtable_peer_del(d, r->name);
		return put_status(cl, &r->hdr, -err, err ? "no such peer" : NULL);
	}
	snprintf(p.name, sizeof(p.name), "%s", r->name);
	p.endpoint = r->endpoint;
	memcpy(p.key, r->key, sizeof(p.key));
	snprintf(p.allowed, sizeof(p.allowed), "%s", r->allowed);
	err = rtable_peer_add(d, &p);
	return put_status(cl, &r->hdr, -err, err == -EEXIST ? "peer exists"
				: err == -ENOSPC ? "too many peers" : NULL);
}

static int close_user(struct ostpd *d, struct ctl_client *cl, const struct ctlreq *r)
{
	int n = ocs_close_user(d, r->user, OSTP_CLOSE_REVOKED, "closed by the administrator");

	return put_status(cl, &r->hdr, n ? 0 : ENOENT, n ? NULL : "no session of that user");
}

static int start_dump(struct ostpd *d, struct ctl_client *cl, const struct ctlreq *r)
{
	cl->dump_cmd = r->cmd;
	cl->dump_req = r->hdr;
	cl->dump_below = UINT64_MAX;
	cl->dump_i = cl->dump_j = 0;
	cl->dump_runtime = false;
	return dump_more(d, cl);
}

/* Acts on a parsed request and queues its replies; -1 when they do not fit. */
static int dispatch(struct ostpd *d, struct ctl_client *cl, const struct ctlreq *r)
{
	switch (r->cmd) {
	case OSTP_CTL_GET_INFO:
		return put_info(d, cl, &r->hdr);
	case OSTP_CTL_GET_SESSIONS:
	case OSTP_CTL_ROUTE_LIST:
	case OSTP_CTL_PEER_LIST:
	case OSTP_CTL_MESH_LIST:
		return start_dump(d, cl, r);
	case OSTP_CTL_RELOAD:
		if (!d->cfg.has_server)
			return put_status(cl, &r->hdr, EOPNOTSUPP, "not a server");
		if (ocs_reload(d) < 0)
			return put_status(cl, &r->hdr, EINVAL, "reload failed; see the daemon's log");
		return put_status(cl, &r->hdr, 0, NULL);
	case OSTP_CTL_CLOSE_USER:
		return close_user(d, cl, r);
	case OSTP_CTL_SHUTDOWN:
		log_info("shutdown requested over the control socket");
		d->loop.quit = true;
		return put_status(cl, &r->hdr, 0, NULL);
	case OSTP_CTL_ROUTE_ADD:
	case OSTP_CTL_ROUTE_DEL:
		return route_cmd(d, cl, r);
	case OSTP_CTL_PEER_ADD:
	case OSTP_CTL_PEER_DEL:
		return peer_cmd(d, cl, r);
	}
	/* ctlreq_parse() let no other command through */
	return put_status(cl, &r->hdr, EOPNOTSUPP, "unknown request");
}

/* ---- client I/O ------------------------------------------------------------ */

static void set_events(struct ostpd *d, struct ctl_client *cl, uint32_t events)
{
	ev_watch_mod(&d->loop, &cl->w, events);
}

/* Sends what is queued and builds more of a listing as it drains.
 * 1: everything is sent (the client can be closed); 0: the socket is full
 * (or the loop's turn is up) and the client waits for EPOLLOUT; -1: the
 * client is gone or its queue overflowed. */
static int client_flush(struct ostpd *d, struct ctl_client *cl)
{
	for (int refills = 0;;) {
		while (cl->head < cl->tail) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)(cl->q + cl->head);
			ssize_t n = send(cl->w.fd, nlh, nlh->nlmsg_len, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n < 0) {
				log_debug("control reply: %s", strerror(errno));
				return -1;
			}
			cl->head += MNL_ALIGN(nlh->nlmsg_len);
			cl->deadline = ev_now(&d->loop) + CTL_IDLE_MS;
		}
		if (cl->q) {
			memset(cl->q, 0, cl->tail);
			cl->head = cl->tail = 0;
		}
		if (!cl->dump_cmd)
			return 1;
		if (refills++ == CTL_REFILLS)
			return 0;   /* EPOLLOUT is armed and fires again at once */
		if (dump_more(d, cl) < 0) {
			log_warn("control: reply queue of a client full, closed");
			return -1;
		}
	}
}

static void client_read(struct ostpd *d, struct ctl_client *cl)
{
	/* One more byte than a request may have: a longer record is seen
	 * (MSG_TRUNC gives its real length) and refused, not cut short. */
	_Alignas(struct nlmsghdr) uint8_t buf[CTLREQ_MAX + 1];
	struct ctlreq req;
	enum ctlreq_err err;
	ssize_t n;
	int rc;

	memset(buf, 0, sizeof(buf));
	n = recv(cl->w.fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(d, cl);
		return;
	}
	if ((size_t)n > CTLREQ_MAX) {
		log_warn("control: request of %zd bytes refused (at most %d)", n, CTLREQ_MAX);
		n = CTLREQ_MAX + 1;
	}
	/* One request per connection: what the client sends after it stays
	 * unread and goes away with the connection. */
	cl->answered = true;
	cl->deadline = ev_now(&d->loop) + CTL_IDLE_MS;
	err = ctlreq_parse(buf, (size_t)n, &req);
	rc = err ? put_status(cl, &req.hdr, ctlreq_errno(err), req.why)
		 : dispatch(d, cl, &req);
	if (rc < 0) {
		log_warn("control: reply queue of a client full, closed");
		client_close(d, cl);
		return;
	}
	rc = client_flush(d, cl);
	if (rc != 0)
		client_close(d, cl);
	else
		set_events(d, cl, EPOLLOUT);
}

static void on_timer(struct timer *t, uint64_t now)
{
	struct ctl_clients *cc = (struct ctl_clients *)((char *)t - offsetof(struct ctl_clients, timer));
	struct ostpd *d = cc->slot[0].d;

	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &cc->slot[i];

		if (cl->w.fd >= 0 && now >= cl->deadline) {
			log_info("control: client made no progress for %d ms, closed", CTL_IDLE_MS);
			client_close(d, cl);
		}
	}
	if (cc->n)
		ev_timer_set(&d->loop, &cc->timer, now + CTL_TIMER_MS);
}

static void on_client(struct ev_watch *w, uint32_t events)
{
	struct ctl_client *cl = (struct ctl_client *)w;
	struct ostpd *d = cl->d;
	int rc;

	(void)events;   /* the socket's own state is what counts, see ctl_clients */
	if (cl->w.fd < 0)
		return;
	if (!cl->answered) {
		client_read(d, cl);
		return;
	}
	rc = client_flush(d, cl);
	if (rc != 0)
		client_close(d, cl);
}

/* A free slot; when all are taken the oldest client is closed for it. */
static struct ctl_client *slot_get(struct ostpd *d)
{
	struct ctl_clients *cc = d->ctlc;
	struct ctl_client *oldest = NULL;

	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &cc->slot[i];

		if (cl->w.fd < 0)
			return cl;
		if (!oldest || cl->seq < oldest->seq)
			oldest = cl;
	}
	log_info("control: %d clients connected, closed the oldest", CTL_MAX_CLIENTS);
	client_close(d, oldest);
	return oldest;
}

static void on_listen(struct ev_watch *w, uint32_t events)
{
	struct ostpd *d = (struct ostpd *)((char *)w - offsetof(struct ostpd, ctl_w));

	(void)events;
	for (int i = 0; i < CTL_ACCEPT_BATCH; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct ctl_client *cl;
		int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		/* The file's mode already keeps everyone but root out; this
		 * is the second lock, on the credentials of connect(). */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
		    (cred.uid != 0 && cred.uid != getuid())) {
			log_warn("control: request from uid %u refused", (unsigned)cred.uid);
			close(fd);
			continue;
		}
		cl = slot_get(d);
		if (ev_watch_add(&d->loop, &cl->w, fd, EPOLLIN, on_client) < 0) {
			close(fd);
			cl->w.fd = -1;
			continue;
		}
		cl->seq = ++d->ctlc->next_seq;
		cl->deadline = ev_now(&d->loop) + CTL_IDLE_MS;
		if (d->ctlc->n++ == 0)
			timer_arm(d, true);
	}
}

void ctl_close(struct ostpd *d)
{
	struct ctl_clients *cc = d->ctlc;

	if (cc) {
		/* a SHUTDOWN's acknowledgement is queued: one last try */
		for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
			if (cc->slot[i].w.fd >= 0) {
				if (cc->slot[i].answered)
					client_flush(d, &cc->slot[i]);
				client_close(d, &cc->slot[i]);
			}
		}
		ev_timer_cancel(&d->loop, &cc->timer);
		free(cc);
		d->ctlc = NULL;
	}
	if (d->ctl_fd < 0)
		return;
	close(d->ctl_fd);
	unlink(d->ctl_path);
	d->ctl_fd = -1;
}
