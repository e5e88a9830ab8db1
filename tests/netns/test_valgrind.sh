#!/bin/bash
# SPDX-License-Identifier: ISC
# The daemon under valgrind memcheck: server and client carry ping (IPv4,
# IPv6) and a transfer, answer every control request ostpctl can make
# (show, dump, route list, peer list), reload on SIGHUP and stop on
# SIGTERM; valgrind must report nothing (no invalid access, no use of
# uninitialised bytes, including bytes sent to a socket, and no leak).
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
