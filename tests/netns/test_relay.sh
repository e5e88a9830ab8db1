#!/bin/bash
# SPDX-License-Identifier: ISC
# Relaying between clients is a permission (SPW RELAY): ian has it, bob
# does not.  bob still reaches the server, but nothing relayed reaches bob
# or leaves bob for another client, and the server counts the drops.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd ping

U_SPW[bob]='"config", "ipv4", "ipv6", "gso"'
topo_users 2 ian bob
start_tunnels ian bob
log_has bob "tunnel up, spw 0x000f" || fail "bob: expected spw 0x000f (no relay)"
log_has ian "tunnel up, spw 0x001f" || fail "ian: expected spw 0x001f (relay)"
ok "ian negotiated relay, bob did not"

check_ping "${NS_OF[c2]}" "$SRV_V4" "bob -> server"
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server"
if nsx "${NS_OF[c2]}" ping -q -c 3 -i 0.2 -W 1 "${U_V4[ian]}" > "$T_DIR/ping.out" 2>&1; then
	fail "bob reached ian through the server without the relay permission"
fi
ok "bob -> ian is dropped (bob may not relay)"
if nsx "${NS_OF[c1]}" ping -q -c 3 -i 0.2 -W 1 "${U_V4[bob]}" > "$T_DIR/ping.out" 2>&1; then
	fail "ian got a reply from bob, whose packets to other clients must be dropped"
fi
ok "ian -> bob gets no answer (bob's reply is not relayed)"
for d in srv ian bob; do
	daemon_alive "$d" || fail "$d exited"
done
pass
