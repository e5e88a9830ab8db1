#!/bin/bash
# SPDX-License-Identifier: ISC
# One OCS and two clients (ian, quinn): ping over IPv4 and IPv6 from each
# client to the server's tunnel address, and from ian to quinn through the
# server (relay).
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd ping

topo_users 2 ian quinn

start_tunnels ian quinn
for u in ian quinn; do
	log_has srv "authenticated as $u" || fail "server: no 'authenticated as $u'"
	log_has srv "session up for user $u" || fail "server: no 'session up for user $u'"
done
ok "both tunnels up, addresses pushed by the server are on the clients' TUNs"

check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server $SRV_V4"
check_ping "${NS_OF[c1]}" "$SRV_V6" "ian -> server $SRV_V6"
check_ping "${NS_OF[c2]}" "$SRV_V4" "quinn -> server $SRV_V4"
check_ping "${NS_OF[c2]}" "$SRV_V6" "quinn -> server $SRV_V6"
check_ping "$NS_SRV" "${U_V4[ian]}" "server -> ian ${U_V4[ian]}"
check_ping "$NS_SRV" "${U_V6[quinn]}" "server -> quinn ${U_V6[quinn]}"
check_ping "${NS_OF[c1]}" "${U_V4[quinn]}" "ian -> quinn ${U_V4[quinn]} (relayed)"
check_ping "${NS_OF[c1]}" "${U_V6[quinn]}" "ian -> quinn ${U_V6[quinn]} (relayed)"
check_ping "${NS_OF[c2]}" "${U_V4[ian]}" "quinn -> ian ${U_V4[ian]} (relayed)"

# A large ping crosses the tunnel MTU boundary (1420): 1392 bytes of ICMP
# payload + 28 = 1420 exactly.
if ! nsx "${NS_OF[c1]}" ping -q -c 3 -i 0.2 -W 2 -s 1392 -M "do" "$SRV_V4" > "$T_DIR/ping.out" 2>&1 ||
	! grep -q ' 0% packet loss' "$T_DIR/ping.out"; then
	cat "$T_DIR/ping.out"
	fail "1420-byte ping"
fi
ok "1420-byte IPv4 packets (DF) cross the tunnel"

for d in srv ian quinn; do
	daemon_alive "$d" || fail "$d exited"
done
# SIGTERM: authenticated close, the interface disappears.
stop_ostpd ian
[ "$STOP_RC" = 0 ] || fail "ian exited with status $STOP_RC on SIGTERM"
wait_for 10 "server sees ian close" log_has srv 'user ian: closed: peer closed the session' ||
	fail "server did not log ian's authenticated close"
ip -n "${NS_OF[c1]}" link show ostpc > /dev/null 2>&1 && fail "ostpc still exists after SIGTERM"
ok "SIGTERM on a client: authenticated close logged by the server, TUN removed"
stop_ostpd srv
[ "$STOP_RC" = 0 ] || fail "server exited with status $STOP_RC on SIGTERM"
ip -n "$NS_SRV" link show ostps > /dev/null 2>&1 && fail "ostps still exists after SIGTERM"
wait_for 10 "quinn sees the server's close" \
	log_has quinn 'closed: peer closed the session \(shutting down\)' ||
	fail "quinn did not log the server's authenticated close"
wait_for 10 "quinn reconnecting" log_has quinn 'reconnecting to the server in' ||
	fail "quinn does not try to reconnect"
ok "SIGTERM on the server: clean exit, TUN removed, quinn got the authenticated close"
pass
