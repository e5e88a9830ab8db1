#!/bin/bash
# SPDX-License-Identifier: ISC
# Both daemons drop to "nobody" after setup and keep only CAP_NET_ADMIN:
# the tunnel still comes up (the client adds its pushed addresses after
# the drop), the client's root-only password file was read before it, and
# the server can still reload a world-readable trust list on SIGHUP.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd ping
getent passwd nobody > /dev/null || fail "this test needs the user nobody"

CAP_NET_ADMIN_MASK=0000000000001000

topo_users 1 ian
sed -i 's/^user_name = ""/user_name = "nobody"/' "$T_DIR/srv.conf" "$T_DIR/ian.conf"
chmod 0644 "$T_DIR/trusted" "$T_DIR/passwords"
chmod 0600 "$T_DIR/ian.pw" "$T_DIR/id.key"
start_tunnels ian
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server (both unprivileged)"

for d in srv ian; do
	pid=${DPID[$d]}
	[ "$(ps -o user= -p "$pid" | tr -d ' ')" = nobody ] || fail "$d does not run as nobody"
	grep -q "^CapEff:[[:space:]]*$CAP_NET_ADMIN_MASK$" "/proc/$pid/status" ||
		fail "$d: effective capabilities are not CAP_NET_ADMIN alone: $(grep CapEff "/proc/$pid/status")"
	grep -q "^CapPrm:[[:space:]]*$CAP_NET_ADMIN_MASK$" "/proc/$pid/status" ||
		fail "$d: permitted capabilities are not CAP_NET_ADMIN alone"
done
ok "server and client run as nobody with only CAP_NET_ADMIN"

mark_s=$(log_mark srv)
kill -HUP "${DPID[srv]}"
wait_for 10 "server reloads" log_has srv 'reloaded the trusted users list' "$mark_s" ||
	fail "the unprivileged server could not reload the trust list"
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server after the reload"
for d in srv ian; do
	daemon_alive "$d" || fail "$d exited"
done
pass
