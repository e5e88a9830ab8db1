#!/bin/bash
# SPDX-License-Identifier: ISC
# Revocation by SIGHUP: quinn is removed from the trust file, the server
# reloads it, quinn's session closes ("user no longer trusted"), ian's keeps
# working, and quinn is refused when reconnecting.  Listed again, quinn
# comes back.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init

topo_users 2 ian quinn
C1=${NS_OF[c1]} C2=${NS_OF[c2]}
start_tunnels ian quinn
check_ping "$C1" "$SRV_V4" "ian -> server"
check_ping "$C2" "$SRV_V4" "quinn -> server"

# ---- revoke quinn ------------------------------------------------------------
grep -vx quinn "$T_DIR/trusted" > "$T_DIR/trusted.new" && mv "$T_DIR/trusted.new" "$T_DIR/trusted"
grep -qx quinn "$T_DIR/trusted" && fail "quinn still in the trust file"
mark_s=$(log_mark srv)
mark_q=$(log_mark quinn)
kill -HUP "${DPID[srv]}"
wait_for 10 "server reloads" log_has srv 'SIGHUP: reloading' "$mark_s" || fail "no 'SIGHUP: reloading'"
wait_for 10 "quinn's session closed" log_has srv 'user quinn: closed: user no longer trusted' "$mark_s" ||
	fail "the server did not close quinn's session"
log_has srv 'reloaded the trusted users list \(1 users\)' "$mark_s" ||
	fail "the server did not log the reloaded list with 1 user"
ok "server: SIGHUP reloaded the list, 'user quinn: closed: user no longer trusted'"
wait_for 10 "quinn sees the revocation" log_has quinn 'closed: peer closed the session \(access revoked\)' "$mark_q" ||
	fail "quinn's client did not log the revocation"
ok "quinn's client logged 'peer closed the session (access revoked)'"
log_has srv 'user ian: closed' && fail "ian's session was closed too"
check_ping "$C1" "$SRV_V4" "ian -> server after the reload"
check_ping "$C1" "$SRV_V6" "ian -> server (IPv6) after the reload"

wait_for 20 "quinn refused on reconnect" \
	log_has srv 'rejected user quinn: not in the trusted users list' "$mark_s" ||
	fail "quinn's reconnection was not refused"
wait_for 20 "quinn refused twice" \
	log_count_ge srv 2 'rejected user quinn: not in the trusted users list' "$mark_s" ||
	fail "quinn's second reconnection was not refused"
log_has srv 'session up for user quinn' "$mark_s" && fail "quinn got a session after the revocation"
log_has quinn 'tunnel up' "$mark_q" && fail "quinn's tunnel came up after the revocation"
nsx "$C2" ping -c 2 -i 0.3 -W 1 "$SRV_V4" > /dev/null 2>&1 && fail "quinn still reaches the server"
ok "quinn reconnects and is refused: 'rejected user quinn: not in the trusted users list'"
log_has srv 'user ian: closed' && fail "ian's session was closed"
check_ping "$C1" "$SRV_V6" "ian -> server, ian untouched"

# ---- list quinn again --------------------------------------------------------
echo quinn >> "$T_DIR/trusted"
mark_s=$(log_mark srv)
mark_q=$(log_mark quinn)
kill -HUP "${DPID[srv]}"
wait_for 10 "reload with 2 users" log_has srv 'reloaded the trusted users list \(2 users\)' "$mark_s" ||
	fail "second reload not logged"
wait_tunnel quinn quinn "$mark_q"
check_ping "$C2" "$SRV_V4" "quinn -> server after being listed again"
check_ping "$C1" "${U_V4[quinn]}" "ian -> quinn (relayed)"
for d in srv ian quinn; do daemon_alive "$d" || fail "$d exited"; done
pass
