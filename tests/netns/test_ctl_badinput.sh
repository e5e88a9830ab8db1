#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl and bad input: an unknown interface, a daemon that is not
# running, malformed prefixes and endpoints and keys (an all-zero key
# too), a user name of 65 bytes, a caller who is not root, command-line
# mistakes.  Each gets one clear "ostpctl: ..." line (usage errors: the
# usage) and the documented exit status (1 usage, 2 kernel or daemon).
# Then raw requests ostpctl never sends (tests/netns/ctlraw.py): nlmsg_len
# of 2^31 and 2^32-1, records too short and too long, broken attributes,
# a PEER_ADD with an all-zero key, and a bare 16-byte CLOSE_USER right
# after a valid CLOSE_USER of ian, which must not close ian again.  Each
# gets an error reply, and nothing changes: links, addresses, routes,
# processes, the daemon's tables and files are compared before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping md5sum

topo_init 1
make_server_key
add_user ian ian-secret
write_server_conf "$T_DIR/srv.conf"
write_client_conf "$T_DIR/ian.conf" ian
write_client_conf "$T_DIR/quinn.conf" quinn
C1=${NS_OF[c1]}
S=(-c "$T_DIR/srv.conf")
NX=ostpnx$$
NX=${NX:0:15}
[ ! -e "/etc/ostp/$NX.conf" ] || fail "/etc/ostp/$NX.conf exists"
NAME64=$(printf 'u%.0s' {1..64})
NAME65=${NAME64}x
KEY=$SERVER_KEY

ctl_up srv "$NS_SRV" "$T_DIR/srv.conf" ostps
# ian's daemon runs without ostpctl, so that its control socket exists
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian
chmod 0644 "$T_DIR/srv.conf" "$T_DIR/ian.conf" "$T_DIR/quinn.conf"

snapshot() {
	local ns
	for ns in "$NS_SRV" "$C1"; do
		echo "== $ns"
		ip -n "$ns" -o link show | sed 's/ qlen [0-9]*//'
		ip -n "$ns" -o addr show
		ip -n "$ns" route show
		ip -n "$ns" -6 route show
		ip netns pids "$ns" | sort -n
	done
	ip netns exec "$NS_SRV" "$OSTPCTL" "${S[@]}" route list
	ip netns exec "$NS_SRV" "$OSTPCTL" "${S[@]}" peer list
	ls "$T_DIR/run-s" "$T_DIR/run-ian" "$T_DIR/run-quinn"
	md5sum "$T_DIR/trusted" "$T_DIR/passwords" "$T_DIR/srv.conf"
}
snapshot > "$T_DIR/before" 2>&1

# expect RC DESC NS ARGS...: one "ostpctl: " line and exit status RC
expect() {
	local rc=$1 desc=$2 ns=$3
	shift 3
	ctlx "$ns" "$@"
	one_error_line "$rc" "$desc"
	ok "$desc: exit $rc: $(cat "$T_DIR/ctl.err")"
}

# expect_usage DESC NS ARGS...: exit 1 and the usage on stderr
expect_usage() {
	local desc=$1 ns=$2
	shift 2
	ctlx "$ns" "$@"
	[ "$CTL_RC" = 1 ] || fail "$desc: exit status $CTL_RC, want 1 ($CTL_ERR)"
	grep -q '^usage: ostpctl' "$T_DIR/ctl.err" || fail "$desc: no usage: $CTL_ERR"
	ok "$desc: exit 1 with the usage"
}

# ---- unknown interface (without -c: /etc/ostp/NX.conf does not exist, so
# the default control directory is only looked at) --------------------------------
expect 1 "up of an interface without a configuration" "$NS_SRV" up "$NX"
expect 1 "up of an interface its -c file does not configure" "$NS_SRV" "${S[@]}" up "$NX"
expect 1 "show of an interface its -c file does not configure" "$NS_SRV" "${S[@]}" show "$NX"
expect 2 "show of an unknown interface" "$NS_SRV" show "$NX"
expect 2 "dump of an unknown interface" "$NS_SRV" dump "$NX"
expect 2 "route add on an unknown interface" "$NS_SRV" route add 198.18.60.0/24 dev "$NX"
expect 2 "route list of an unknown interface" "$NS_SRV" route list dev "$NX"
expect 2 "peer list of an unknown interface" "$NS_SRV" peer list dev "$NX"
expect 1 "an interface name that is a path" "$NS_SRV" "${S[@]}" show ../ostps
ctlx "$NS_SRV" down "$NX"
[ "$CTL_RC" = 0 ] && grep -q "$NX is not up" "$T_DIR/ctl.out" || fail "down of an unknown interface: $CTL_RC $CTL_ERR"
ok "down of an unknown interface: exit 0, 'not up' (idempotent)"

# ---- daemon not running: quinn's configuration names a control directory
# where no daemon listens, for the ostpc that ian's daemon has ---------------
expect 2 "show, daemon not running" "$C1" -c "$T_DIR/quinn.conf" show ostpc
grep -q 'not up' "$T_DIR/ctl.err" || fail "show, daemon not running: $CTL_ERR"
expect 2 "route add with a user, daemon not running" "$C1" -c "$T_DIR/quinn.conf" \
	route add 198.18.60.0/24 dev ostpc user ian
expect 2 "peer add, daemon not running" "$C1" -c "$T_DIR/quinn.conf" \
	peer add p1 endpoint 198.18.0.9:7000 key "$KEY" dev ostpc
expect 2 "peer list, daemon not running" "$C1" -c "$T_DIR/quinn.conf" peer list dev ostpc
expect 2 "peer list, no daemon at all" "$C1" -c "$T_DIR/quinn.conf" peer list

# ---- malformed prefixes, endpoints, keys ----------------------------------------
for p in 198.18.300.0/24 198.18.30.1/24 198.18.30.0/33 fd00::/129 fd00::1/64 garbage /24 \
	198.18.30.0/ 198.18.30.0/24x; do
	expect 1 "route add '$p'" "$NS_SRV" "${S[@]}" route add "$p" dev ostps user ian
	grep -q "bad prefix '$p'" "$T_DIR/ctl.err" || fail "the bad prefix is not named: $CTL_ERR"
done
expect 1 "route del of a malformed prefix" "$NS_SRV" "${S[@]}" route del 198.18.30.1/24 dev ostps
expect 1 "peer allowed-ips with a malformed prefix" "$NS_SRV" "${S[@]}" \
	peer add p1 endpoint 198.18.0.9:7000 key "$KEY" allowed-ips 198.18.50.0/24,bogus
expect 1 "peer allowed-ips with an empty item" "$NS_SRV" "${S[@]}" \
	peer add p1 endpoint 198.18.0.9:7000 key "$KEY" allowed-ips 198.18.50.0/24,
expect 1 "peer endpoint that is a name" "$NS_SRV" "${S[@]}" \
	peer add p1 endpoint server.example:7000 key "$KEY"
expect 1 "peer endpoint with port 0" "$NS_SRV" "${S[@]}" peer add p1 endpoint 198.18.0.9:0 key "$KEY"
expect 1 "peer key that is not base64" "$NS_SRV" "${S[@]}" peer add p1 endpoint 198.18.0.9:7000 key 'abc!'
expect 1 "peer key of 31 bytes" "$NS_SRV" "${S[@]}" peer add p1 endpoint 198.18.0.9:7000 \
	key "$(head -c 31 /dev/zero | base64)"
# 32 bytes of base64, but ostpd.conf would refuse it: so must ostpctl
expect 1 "peer key of 32 zero bytes" "$NS_SRV" "${S[@]}" peer add p1 endpoint 198.18.0.9:7000 \
	key "$(head -c 32 /dev/zero | base64)"
grep -q 'not a valid Ed25519 public key' "$T_DIR/ctl.err" || fail "all-zero key: $CTL_ERR"

# ---- user names -----------------------------------------------------------------
expect 1 "route add with a 65-byte user name" "$NS_SRV" "${S[@]}" \
	route add 198.18.60.0/24 dev ostps user "$NAME65"
expect 1 "route add with a user name starting with '-'" "$NS_SRV" "${S[@]}" \
	route add 198.18.60.0/24 dev ostps user -- -ian
expect 1 "peer add with a 65-byte name" "$NS_SRV" "${S[@]}" \
	peer add "$NAME65" endpoint 198.18.0.9:7000 key "$KEY"
expect 1 "trust add of a 65-byte user name" "$NS_SRV" "${S[@]}" trust add "$NAME65"
# 64 bytes is allowed: added and removed again
ctlx "$NS_SRV" "${S[@]}" route add 198.18.61.0/24 dev ostps user "$NAME64"
[ "$CTL_RC" = 0 ] || fail "a 64-byte user name was refused: $CTL_ERR"
ctlx "$NS_SRV" "${S[@]}" route del 198.18.61.0/24 dev ostps user "$NAME64"
[ "$CTL_RC" = 0 ] || fail "route del with a 64-byte user name: $CTL_ERR"
ok "a 64-byte user name is accepted (added and deleted again)"

# ---- not root ---------------------------------------------------------------------
expect_nobody() {
	local desc=$1
	shift
	ctlx_nobody "$NS_SRV" "$@"
	one_error_line 2 "$desc"
	ok "$desc: exit 2: $(cat "$T_DIR/ctl.err")"
}
expect_nobody "up as nobody" "${S[@]}" up ostps
grep -q 'must be run as root' "$T_DIR/ctl.err" || fail "up as nobody: $CTL_ERR"
expect_nobody "down as nobody" "${S[@]}" down ostps
expect_nobody "route add as nobody" "${S[@]}" route add 198.18.60.0/24 dev ostps user ian
expect_nobody "route del as nobody" "${S[@]}" route del 198.18.1.0/24 dev ostps
expect_nobody "peer add as nobody" "${S[@]}" peer add p1 endpoint 198.18.0.9:7000 key "$KEY" dev ostps
expect_nobody "show as nobody" "${S[@]}" show ostps
grep -q 'permission denied' "$T_DIR/ctl.err" || fail "show as nobody: $CTL_ERR"
expect_nobody "dump as nobody" "${S[@]}" dump ostps

# ---- command-line mistakes ----------------------------------------------------------
expect_usage "no object" "$NS_SRV"
expect_usage "unknown object" "$NS_SRV" frobnicate
expect_usage "route without a command" "$NS_SRV" "${S[@]}" route
expect_usage "unknown route command" "$NS_SRV" "${S[@]}" route frob 198.18.60.0/24 dev ostps
expect_usage "route add with a dangling keyword" "$NS_SRV" "${S[@]}" route add 198.18.60.0/24 dev
expect_usage "unknown option" "$NS_SRV" --frob show
expect_usage "up without IFNAME" "$NS_SRV" "${S[@]}" up
expect 1 "route add without dev" "$NS_SRV" "${S[@]}" route add 198.18.60.0/24
expect 1 "--wait that is not a number" "$NS_SRV" --wait 5s show
expect 1 "peer add without a key" "$NS_SRV" "${S[@]}" peer add p1 endpoint 198.18.0.9:7000
ctlx "$NS_SRV" help
[ "$CTL_RC" = 0 ] && grep -q '^usage: ostpctl' "$T_DIR/ctl.out" || fail "help"
ctlx "$NS_SRV" route help
[ "$CTL_RC" = 0 ] && grep -q 'route add|del PREFIX dev IFNAME' "$T_DIR/ctl.out" || fail "route help"
ok "help and route help: exit 0, usage on stdout"

# ---- raw requests --------------------------------------------------------------------
RAW=$OSTP_TOP/tests/netns/ctlraw.py
SSOCK=$T_DIR/run-s/ostps.sock
# raw DESC WANT KIND ARGS...: one reply, matching the ERE WANT, then EOF
raw() {
	local desc=$1 want=$2
	shift 2
	nsx "$NS_SRV" timeout 20 "$PY" "$RAW" send "$SSOCK" "$@" > "$T_DIR/raw.out" 2>&1
	{ head -n 1 "$T_DIR/raw.out" | grep -Eq -- "$want" &&
		[ "$(sed -n 2p "$T_DIR/raw.out")" = EOF ]; } ||
		fail "$desc: got '$(tr '\n' '|' < "$T_DIR/raw.out")', want '$want' then EOF"
	ok "$desc: $(head -n 1 "$T_DIR/raw.out")"
}
LENERR='^ERR 22 nlmsg_len does not match the bytes received$'
raw "GET_INFO of 16 bytes, nlmsg_len 0x80000000" "$LENERR" len 0x80000000 16
raw "GET_INFO of 16 bytes, nlmsg_len 0xFFFFFFFF" "$LENERR" len 0xffffffff 16
raw "GET_INFO of 16 bytes, nlmsg_len 17" "$LENERR" len 17 16
raw "GET_INFO of 16 bytes, nlmsg_len 15" "$LENERR" len 15 16
raw "a record of 8 bytes" '^ERR 22 request shorter than a netlink header$' short
raw "a record of 9016 bytes" '^ERR 90 request longer than 8192 bytes$' long
raw "an attribute longer than the message" '^ERR 22 malformed attribute' badattr
raw "a string attribute without its NUL" '^ERR 22 malformed attribute' nonul
raw "a PEER_ADD with a 31-byte key" '^ERR 22 malformed attribute' keylen
raw "an unknown command" '^ERR 95 unknown request$' unknown
raw "a PEER_ADD with an all-zero key" '^ERR 22 bad key: not a valid Ed25519 public key$' \
	peer_add p0 198.18.0.9:7000 "$(printf '0%.0s' {1..64})"

# A bare CLOSE_USER right after a valid one of ian: the old parser read
# the user name left in its buffer and closed ian's new session again.
mark_s=$(log_mark srv)
mark_i=$(log_mark ian)
raw "CLOSE_USER ian" '^ERR 0$' close_user ian
wait_tunnel ian ian "$mark_i"
mark_up=$(log_mark ian)
raw "a bare 16-byte CLOSE_USER, nlmsg_len 0x80000000, after it" "$LENERR" len 0x80000000 19
raw "a bare 16-byte CLOSE_USER after it" '^ERR 22 a user name is required$' len 16 19
sleep 1
n=$(log_count srv 'closed by the administrator' "$mark_s")
[ "$n" = 1 ] || fail "the administrator closed ian's sessions $n times, want 1"
log_has ian 'closed' "$mark_up" && fail "ian's new session was closed"
ok "the bare CLOSE_USER requests closed nothing (ian closed once, by the valid request)"

# ---- nothing changed ------------------------------------------------------------------
snapshot > "$T_DIR/after" 2>&1
diff -u "$T_DIR/before" "$T_DIR/after" || fail "the state changed"
daemon_alive srv && daemon_alive ian || fail "a daemon exited"
check_ping "$C1" "$SRV_V4" "the tunnel still works"
ok "links, addresses, routes, processes, daemon tables and files unchanged"
pass
