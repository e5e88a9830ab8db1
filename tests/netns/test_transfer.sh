#!/bin/bash
# SPDX-License-Identifier: ISC
# 100 MB of random data through the tunnel in both directions (SHA-256
# compared), over IPv4 and IPv6, then a 3-second iperf3 run.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd iperf3 head

topo_init 1
make_server_key
add_user ian ian-secret
write_server_conf "$T_DIR/srv.conf"
write_client_conf "$T_DIR/ian.conf" ian
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
start_ostpd ian "${NS_OF[c1]}" "$T_DIR/ian.conf"
wait_tunnel ian ian
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server $SRV_V4"
check_ping "${NS_OF[c1]}" "$SRV_V6" "ian -> server $SRV_V6"

head -c 100000000 /dev/urandom > "$T_DIR/data" || fail "cannot make the test file"
transfer "${NS_OF[c1]}" "$NS_SRV" "$SRV_V4" 9001 "$T_DIR/data" "client -> server, 100 MB over IPv4"
transfer "$NS_SRV" "${NS_OF[c1]}" "${U_V4[ian]}" 9002 "$T_DIR/data" "server -> client, 100 MB over IPv4"
transfer "${NS_OF[c1]}" "$NS_SRV" "$SRV_V6" 9003 "$T_DIR/data" "client -> server, 100 MB over IPv6"
transfer "$NS_SRV" "${NS_OF[c1]}" "${U_V6[ian]}" 9004 "$T_DIR/data" "server -> client, 100 MB over IPv6"
rm -f "$T_DIR/data"

iperf3_check "${NS_OF[c1]}" "$NS_SRV" "$SRV_V4" 3 "client -> server"
daemon_alive srv || fail "server exited"
daemon_alive ian || fail "client exited"
log_has ian 'closed' && fail "the client's session closed during the test"
log_has srv 'closed' && fail "the server closed a session during the test"
ok "one session carried everything, both daemons still run"
pass
