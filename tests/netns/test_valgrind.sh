#!/bin/bash
# SPDX-License-Identifier: ISC
# The daemon under valgrind memcheck: server and client carry ping (IPv4,
# IPv6) and a transfer, answer every control request ostpctl can make
# (show, dump, route list, peer list) and malformed ones it never makes
# (tests/netns/ctlraw.py: nlmsg_len of 2^31 after a valid request, short,
# long, broken attributes, an all-zero key), put up with control clients
# that stall, reload on SIGHUP and stop on SIGTERM; valgrind must report
# nothing (no invalid access, no use of uninitialised bytes, including
# bytes sent to a socket, and no leak).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd valgrind ping head

topo_users 1 ian
C1=${NS_OF[c1]}

# Key and password helpers run directly; the daemon runs under memcheck.
REAL_OSTPD=$OSTPD
cat > "$T_DIR/vg-ostpd" <<- EOF
	#!/bin/sh
	exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \\
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \\
		--log-file=$T_DIR/vg.%p.log $REAL_OSTPD "\$@"
EOF
chmod +x "$T_DIR/vg-ostpd"
OSTPD=$T_DIR/vg-ostpd

start_tunnels ian
check_ping "$C1" "$SRV_V4" "ian -> server $SRV_V4 under valgrind"
check_ping "$C1" "$SRV_V6" "ian -> server $SRV_V6 under valgrind"
head -c 2000000 /dev/urandom > "$T_DIR/blob"
transfer "$C1" "$NS_SRV" "$SRV_V4" 7100 "$T_DIR/blob" "ian -> server, 2 MB, under valgrind"

for req in "--json show ostps" "dump ostps" "route list dev ostps" "peer list dev ostps"; do
	# shellcheck disable=SC2086 # one request, split into its words
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" $req
	[ "$CTL_RC" = 0 ] || fail "ostpctl $req exited $CTL_RC: $CTL_ERR"
done
ctlx "$C1" -c "$T_DIR/ian.conf" --json show ostpc
[ "$CTL_RC" = 0 ] || fail "client show exited $CTL_RC: $CTL_ERR"
ok "show, dump, route list and peer list answered"

RAW=$OSTP_TOP/tests/netns/ctlraw.py
SSOCK=$T_DIR/run-s/ostps.sock
zero=$(printf '0%.0s' {1..64})
# a valid request first, so a parser that reads past the next one finds
# its bytes (the old one did: valgrind saw them as uninitialised)
# (each line: the start of the first reply, '_' for ' ', then the request)
while read -r want req; do
	# shellcheck disable=SC2086 # the kind and its arguments
	nsx "$NS_SRV" timeout 30 "$PY" "$RAW" send "$SSOCK" $req > "$T_DIR/raw.out" 2>&1
	want=${want//_/ }
	head -n 1 "$T_DIR/raw.out" | grep -q "^ERR $want" ||
		fail "control request '$req': want 'ERR $want', got: $(tr '\n' '|' < "$T_DIR/raw.out")"
done <<- EOF
	2_no_session close_user nosuchuser
	22_nlmsg len 0x80000000 19
	22_nlmsg len 0xffffffff 16
	22_nlmsg len 15 16
	22_nlmsg len 17 16
	22_request_shorter short
	90_request_longer long
	22_malformed badattr
	22_malformed nonul
	22_malformed keylen
	95_unknown unknown
	22_bad_key peer_add p0 198.18.0.9:7000 $zero
	22_a_user_name len 16 19
	22_a_peer_name len 16 24
EOF
ok "malformed control requests answered with errors"
# 16 clients that send nothing, half a header, or never read their
# replies, until the daemon closes them as idle; then 24 at once, more
# than the 16 allowed, so that the oldest are closed for the newest
nsx "$NS_SRV" timeout 30 "$PY" "$RAW" stall "$SSOCK" 4.5 16 idle,partial,noread > "$T_DIR/stall.out" 2>&1 &&
	nsx "$NS_SRV" timeout 30 "$PY" "$RAW" stall "$SSOCK" 2 24 idle,noread >> "$T_DIR/stall.out" 2>&1 ||
	fail "stalling control clients: $(cat "$T_DIR/stall.out")"
log_has srv 'control: client made no progress' || fail "no idle control client was closed"
log_has srv 'control: 16 clients connected, closed the oldest' || fail "no control client was evicted"
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" peer list dev ostps
[ "$CTL_RC" = 0 ] || fail "peer list after the stalling clients: $CTL_ERR"
ok "stalling control clients closed as idle and for newer ones"

mark=$(log_mark srv)
kill -HUP "${DPID[srv]}"
wait_for 20 "server reload" log_has srv 'SIGHUP: reloading' "$mark" || fail "no reload"

stop_ostpd ian
[ "$STOP_RC" = 0 ] || fail "client exited with status $STOP_RC (99: valgrind found errors)"
stop_ostpd srv
[ "$STOP_RC" = 0 ] || fail "server exited with status $STOP_RC (99: valgrind found errors)"

n=0
for f in "$T_DIR"/vg.*.log; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	[ -s "$f" ] && { cat "$f"; fail "valgrind reported errors ($(basename "$f"))"; }
done
[ "$n" -ge 2 ] || fail "expected valgrind logs of both daemons, found $n"
ok "memcheck: nothing reported for $n ostpd processes"
pass
