#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl up / down: up returns once the tunnel is usable and applies the
# configuration; up twice is fine; down leaves no interface, address,
# route, socket or process behind and is idempotent; up with a wrong
# server key fails within --wait with the daemon's reason and rolls back;
# up of a daemon that dies at start shows its log and leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping

topo_users 1 ian
# a client route from the configuration, which up must apply and down remove
sed -i 's/^  keepalive = 2$/  keepalive = 2\n  routes = { "198.18.40.0\/24" }/' "$T_DIR/ian.conf"
grep -q 198.18.40.0 "$T_DIR/ian.conf" || fail "could not add routes to ian.conf"
OTHER_KEY=$("$OSTPD" -g "$T_DIR/other.key") || fail "ostpd -g"
write_client_conf "$T_DIR/wrongkey.conf" wrongkey user=ian server_key="$OTHER_KEY"
sed -i "s|run-wrongkey|run-ian|" "$T_DIR/wrongkey.conf"
C1=${NS_OF[c1]}

# ---- server up, twice --------------------------------------------------------
ctl_up srv "$NS_SRV" "$T_DIR/srv.conf" ostps
out_has '[<,]UP[,>]' ip -n "$NS_SRV" link show ostps || fail "ostps is not up"
addr_on "$NS_SRV" ostps "$SRV_V4" || fail "server address missing"
addr_on "$NS_SRV" ostps "$SRV_V6" || fail "server IPv6 address missing"
ok "up ostps: daemon PID ${CTL_PID[srv]}, link up with its addresses"

ctlx "$NS_SRV" -c "$T_DIR/srv.conf" up ostps
[ "$CTL_RC" = 0 ] || fail "second up exited $CTL_RC: $CTL_ERR"
grep -q 'ostps is already up' "$T_DIR/ctl.out" || fail "second up did not say 'already up': $(cat "$T_DIR/ctl.out")"
[ "$(ctl_pid "$NS_SRV" "$T_DIR/srv.conf" ostps)" = "${CTL_PID[srv]}" ] ||
	fail "second up replaced the daemon"
ok "up twice: exit 0, 'already up', same daemon"

# ---- client up: usable on return ---------------------------------------------
t0=$SECONDS
ctl_up ian "$C1" "$T_DIR/ian.conf" ostpc --wait 20
# no waiting here: up promised a usable tunnel
nsx "$C1" ping -c 1 -W 2 "$SRV_V4" > /dev/null || fail "no ping right after up returned"
ok "up ostpc returned after $((SECONDS - t0)) s with a working tunnel"
addr_on "$C1" ostpc "${U_V4[ian]}" || fail "client address missing"
out_has 'dev ostpc' ip -n "$C1" route show 198.18.40.0/24 || fail "configured route missing"
ok "client: pushed address and configured route 198.18.40.0/24 on ostpc"

# ---- down ----------------------------------------------------------------------
mark=$(log_mark srv)
ctlx "$C1" -c "$T_DIR/ian.conf" down ostpc
[ "$CTL_RC" = 0 ] || fail "down ostpc exited $CTL_RC: $CTL_ERR"
pid_alive "${CTL_PID[ian]}" && fail "client daemon ${CTL_PID[ian]} still runs after down"
ip -n "$C1" link show ostpc > /dev/null 2>&1 && fail "ostpc still exists after down"
out_has 198\.18\.40\.0 ip -n "$C1" route show && fail "route left after down"
out_has "${U_V4[ian]}/" ip -n "$C1" addr show && fail "address left after down"
[ -e "$T_DIR/run-ian/ostpc.sock" ] && fail "control socket left after down"
[ -z "$(ip netns pids "$C1")" ] || fail "processes left in the client namespace: $(ip netns pids "$C1")"
wait_for 10 "server logs ian's authenticated close" \
	log_has srv 'user ian: closed: peer closed the session' "$mark" ||
	fail "the server did not see an authenticated close"
ok "down ostpc: no process, interface, address, route or socket left; authenticated close"

ctlx "$C1" -c "$T_DIR/ian.conf" down ostpc
[ "$CTL_RC" = 0 ] || fail "second down exited $CTL_RC: $CTL_ERR"
grep -q 'ostpc is not up' "$T_DIR/ctl.out" || fail "second down did not say 'not up'"
ok "down twice: exit 0, 'not up'"

# ---- wrong server key: fails within --wait, with the reason, rolled back ------
t0=$(date +%s%N)
ctlx "$C1" -c "$T_DIR/wrongkey.conf" --wait 4 up ostpc
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$CTL_RC" = 2 ] || fail "up with a wrong key exited $CTL_RC (want 2): $CTL_ERR"
[ "$(wc -l < "$T_DIR/ctl.err")" = 1 ] || fail "more than one error line: $(cat "$T_DIR/ctl.err")"
grep -Eq '^ostpctl: up ostpc: .*server key.*pinned' "$T_DIR/ctl.err" ||
	fail "reason not given: $CTL_ERR"
# 4 s of --wait plus at most 3 s for the daemon to stop
[ "$ms" -lt 8000 ] || fail "up took $ms ms with --wait 4"
ip -n "$C1" link show ostpc > /dev/null 2>&1 && fail "ostpc left after a failed up"
[ -z "$(ip netns pids "$C1")" ] || fail "processes left after a failed up: $(ip netns pids "$C1")"
out_has 198\.18\.40\.0 ip -n "$C1" route show && fail "route left after a failed up"
ok "wrong server key: exit 2 after $ms ms: '$CTL_ERR'; nothing left"

# ---- a daemon that dies at start: its log is shown -----------------------------
sed 's|identity_key = .*|identity_key = "'"$T_DIR"'/no-such.key"|' "$T_DIR/srv.conf" \
	> "$T_DIR/nokey.conf"
sed -i 's/^interface = "ostps"/interface = "ostpk"/' "$T_DIR/nokey.conf"
ctlx "$NS_SRV" -c "$T_DIR/nokey.conf" up ostpk
[ "$CTL_RC" = 2 ] || fail "up of a daemon that cannot start exited $CTL_RC"
grep -q '^ostpctl: up ostpk: ostpd exited with status' "$T_DIR/ctl.err" ||
	fail "no exit report: $CTL_ERR"
grep -q 'no-such.key' "$T_DIR/ctl.err" || fail "the daemon's log was not shown: $(cat "$T_DIR/ctl.err")"
ip -n "$NS_SRV" link show ostpk > /dev/null 2>&1 && fail "ostpk exists"
ok "a daemon that exits at start: exit 2, its last log lines shown"

# ---- server down ---------------------------------------------------------------
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" down ostps
[ "$CTL_RC" = 0 ] || fail "down ostps exited $CTL_RC: $CTL_ERR"
pid_alive "${CTL_PID[srv]}" && fail "server daemon still runs"
ip -n "$NS_SRV" link show ostps > /dev/null 2>&1 && fail "ostps still exists"
out_has '198\.18\.1\.' ip -n "$NS_SRV" route show && fail "a tunnel route is left on the server"
[ -z "$(ip netns pids "$NS_SRV")" ] || fail "processes left in the server namespace"
ok "down ostps: nothing left"
pass
