#!/bin/bash
# SPDX-License-Identifier: ISC
# Connections held open to lock users out (admission control, issue items
# 2 and 5):
#   1. one namespace holds 1,000 silent connections, 200 that send a
#      Session Request and stop and 200 that dribble one a byte every
#      100 ms, reopening whatever the server closes, for 20 s: every
#      legitimate login from another namespace reaches ESTABLISHED within
#      5 s; the server refuses the excess (max_unauth_per_source), logs a
#      summary ("refused N connections") and fewer than 150 lines in all;
#   2. max_unauth = 32 and four namespaces holding 15 silent connections
#      each (each under max_unauth_per_source, 60 in all, reopening what is
#      closed, exempt from penalties so that only the cap acts): the oldest
#      unauthenticated connections are shed and every legitimate login
#      still gets in within 5 s.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_flood

HOLD_SECS=20
CAP_SECS=15
topo_init 1                          # c1: legitimate logins
C1=${NS_OF[c1]}
ns_attacker att 198.18.0.10
for i in 1 2 3 4; do ns_attacker "a$i" "198.18.0.$((19 + i))"; done
for n in att a1 a2 a3 a4; do
	wait_for 10 "underlay $n -> server" nsx "${NS_OF[$n]}" ping -c 1 -W 1 "$SRV_UNDERLAY" ||
		fail "no underlay from $n"
done
make_server_key
add_user ian ian-secret
SRV=$SRV_UNDERLAY:$SRV_PORT

# logins_during PID SECS DESC [STRICT]: legitimate logins from c1 while PID
# runs: at least 3, and more until SECS - 7 s after the call.  STRICT=1:
# none of their connections may be refused either.
logins_during() {
	local pid=$1 secs=$2 desc=$3 strict=${4:-0} start=$SECONDS n=0
	sleep 2                  # let the flood reach the server first
	while [ $n -lt 3 ] || [ $((SECONDS - start)) -le $((secs - 7)) ]; do
		pid_alive "$pid" || fail "the flood ended before login $((n + 1)) ($desc)"
		n=$((n + 1))
		check_flood_login "$C1" ian ian-secret "$desc, login $n"
		[ "$(kv "$T_DIR/login.out" bad_pw)" = 0 ] || fail "a right password was answered wrong: $LOGIN_LINE"
		[ "$strict" = 0 ] || [ "$(kv "$T_DIR/login.out" refused)" = 0 ] ||
			fail "$desc: the server refused a connection of the legitimate source: $LOGIN_LINE"
		sleep 1
	done
}

# ---- 1. one source holds 1,400 idle, stalled and dribbling connections ---------
admit_lines "max_unauth = 1024" "max_unauth_per_source = 16" \
	"penalty_noauth = 1" "penalty_min = 15" "penalty_max = 600"
write_server_conf "$T_DIR/srv.conf" "${ADMIT_LINES[@]}"
set_log_level "$T_DIR/srv.conf" info
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv

mark=$(log_mark srv)
# a refused slot reconnects after 500 ms: up to 2,800 connections a second
bg_run hold "${NS_OF[att]}" timeout -k 5 $((HOLD_SECS + 30)) "$FLOOD" hold -s "$SRV" \
	-t "$HOLD_SECS" -S 1000 -R 200 -D 200 -r 500
HPID=$BG_PID
# c1 is far below every cap: refusing it at all would be unfair
logins_during "$HPID" "$HOLD_SECS" "1,400 connections held" 1
wait "$HPID" || fail "the holder failed: $(tail -n 5 "$T_DIR/hold.out")"
end_mark=$(log_mark srv)
H=$T_DIR/hold.out
say "holder: $(grep '^mode=' "$H")"
[ "$(kv "$H" connected)" -ge 1400 ] || fail "the holder connected only $(kv "$H" connected) times"
[ "$(kv "$H" refused)" -gt 0 ] || fail "the server refused none of the holder's connections"
ok "holder: $(kv "$H" refused) connections refused, at most $(kv "$H" held_max) open at once"
lines=$((end_mark - mark))
[ "$lines" -lt 150 ] || fail "the server logged $lines lines during the ${HOLD_SECS} s flood (limit 150)"
ok "the server logged $lines lines during the ${HOLD_SECS} s flood"
SUMMARY='198\.18\.0\.10\b.*refused [0-9]+ connections'
wait_for 15 "a summary of refused connections" log_has srv "$SUMMARY" "$mark" ||
	fail "no summary line '198.18.0.10: refused N connections' in the server log"
ok "server log: '$(tail -n "+$mark" "${DLOG[srv]}" | grep -Em1 "$SUMMARY")'"
daemon_alive srv || fail "server exited"
stop_ostpd srv

# ---- 2. max_unauth reached by sources each under their own cap -----------------
# handshake_timeout = 30: within the run only shedding closes the
# attackers' connections.
admit_lines "max_unauth = 32" "max_unauth_per_source = 16" \
	'penalty_exempt = { "198.18.0.20/32", "198.18.0.21/32", "198.18.0.22/32", "198.18.0.23/32" }'
write_server_conf "$T_DIR/srv.conf" "handshake_timeout = 30" "${ADMIT_LINES[@]}"
set_log_level "$T_DIR/srv.conf" info
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
mark=$(log_mark srv)
CAP_PIDS=()
for i in 1 2 3 4; do
	bg_run "cap$i" "${NS_OF[a$i]}" timeout -k 5 $((CAP_SECS + 30)) "$FLOOD" hold -s "$SRV" \
		-t "$CAP_SECS" -S 15 -r 100
	CAP_PIDS+=("$BG_PID")
done
logins_during "${CAP_PIDS[0]}" "$CAP_SECS" "60 connections from 4 sources, max_unauth = 32"
closed=0
for i in 1 2 3 4; do
	wait "${CAP_PIDS[$((i - 1))]}" || fail "holder $i failed: $(tail -n 5 "$T_DIR/cap$i.out")"
	say "holder $i: $(grep '^mode=' "$T_DIR/cap$i.out")"
	closed=$((closed + $(kv "$T_DIR/cap$i.out" refused) + $(kv "$T_DIR/cap$i.out" dropped)))
done
# 60 connections against a cap of 32: at least 28 were closed
[ "$closed" -ge 28 ] || fail "only $closed of the 60 attackers' connections were closed (max_unauth = 32)"
ok "the server closed the attackers' connections $closed times to stay within max_unauth"
lines=$(($(log_mark srv) - mark))
[ "$lines" -lt 150 ] || fail "the server logged $lines lines during the ${CAP_SECS} s flood (limit 150)"
ok "the server logged $lines lines during the ${CAP_SECS} s flood"
daemon_alive srv || fail "server exited"
pass
