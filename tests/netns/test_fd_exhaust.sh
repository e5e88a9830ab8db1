#!/bin/bash
# SPDX-License-Identifier: ISC
# Running out of file descriptors (admission control, issue item 3): the
# server runs under an open-files limit of 128, far below what
# max_sessions and max_unauth need, and one namespace (allowed 2,000
# unauthenticated connections and exempt from penalties, so that only the
# descriptor limit acts) holds 300 silent connections, reopening what is
# closed.  The server must:
#   - warn at start that the open-files limit is too low, with the numbers;
#   - not spin: at most 25% of a core over 5 s of exhaustion;
#   - let a legitimate login in within 5 s (shedding the oldest
#     unauthenticated connection), and say "out of file descriptors" at
#     least once and at most a few times (rate-limited);
#   - recover once the attacker stops: another login within 5 s.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_flood

NOFILE=128
N_IDLE=300
topo_init 1                          # c1: legitimate logins
C1=${NS_OF[c1]}
ns_attacker att 198.18.0.10
wait_for 10 "underlay att -> server" nsx "${NS_OF[att]}" ping -c 1 -W 1 "$SRV_UNDERLAY" ||
	fail "no underlay from the attacker namespace"
make_server_key
add_user ian ian-secret
# handshake_timeout = 30: only the server's own shedding frees descriptors
admit_lines "max_unauth_per_source = 2000" 'penalty_exempt = { "198.18.0.10/32" }'
write_server_conf "$T_DIR/srv.conf" "handshake_timeout = 30" "${ADMIT_LINES[@]}"
set_log_level "$T_DIR/srv.conf" info
start_ostpd_nofile srv "$NS_SRV" "$T_DIR/srv.conf" "$NOFILE"
wait_server_up srv
SPID=${DPID[srv]}
grep -Eq "^Max open files +$NOFILE +$NOFILE " "/proc/$SPID/limits" ||
	fail "the server does not run under the limit: $(grep 'Max open files' "/proc/$SPID/limits")"
SRV=$SRV_UNDERLAY:$SRV_PORT

fd_count() { find "/proc/$SPID/fd" -mindepth 1 -maxdepth 1 2> /dev/null | wc -l; }
fds_exhausted() { [ "$(fd_count)" -ge $((NOFILE - 4)) ]; }
# shellcheck disable=SC2317  # called through wait_for
fds_released() { [ "$(fd_count)" -lt $((NOFILE / 2)) ]; }

mark=$(log_mark srv)
bg_run hold "${NS_OF[att]}" timeout -k 5 90 "$FLOOD" hold -s "$SRV" -t 40 -S "$N_IDLE" -r 200
HPID=$BG_PID
wait_for 15 "the server's descriptors run out" fds_exhausted ||
	fail "the server holds only $(fd_count) descriptors with $N_IDLE connections open to it"
ok "the server holds $(fd_count) of its $NOFILE descriptors"

# ---- no spinning --------------------------------------------------------------
t0=$(date +%s%N)
k0=$(cpu_ticks "$SPID") || fail "cannot read the server's CPU time"
sleep 5
k1=$(cpu_ticks "$SPID") || fail "cannot read the server's CPU time"
ms=$((($(date +%s%N) - t0) / 1000000))
ticks=$((k1 - k0))
pct=$((ticks * 1000 * 100 / (CLK_TCK * ms)))
fds_exhausted || fail "the descriptors were no longer exhausted after 5 s ($(fd_count) open)"
[ $((ticks * 1000 * 100)) -lt $((25 * CLK_TCK * ms)) ] ||
	fail "out of descriptors, the server used $ticks ticks in $ms ms ($pct% of a core; limit 25%)"
ok "out of descriptors for 5 s: server CPU $ticks ticks in $ms ms ($pct% of a core)"

# ---- a legitimate login still gets in -----------------------------------------
pid_alive "$HPID" || fail "the holder ended early: $(tail -n 5 "$T_DIR/hold.out")"
check_flood_login "$C1" ian ian-secret "out of descriptors"
fds_exhausted || fail "the descriptors were no longer exhausted after the login ($(fd_count) open)"
n_fd=$(log_count srv 'out of file descriptors' "$mark")
[ "$n_fd" -ge 1 ] || fail "the server never logged that it ran out of file descriptors"
[ "$n_fd" -le 3 ] || fail "the server logged 'out of file descriptors' $n_fd times in $((SECONDS - T_START)) s (rate limit: one per 10 s)"
ok "'$(tail -n "+$mark" "${DLOG[srv]}" | grep -m1 'out of file descriptors')' ($n_fd line(s))"
lines=$(($(log_mark srv) - mark))
[ "$lines" -lt 150 ] || fail "the server logged $lines lines while out of descriptors (limit 150)"

# ---- recovery -------------------------------------------------------------------
stop_pid "$HPID"
say "holder: $(grep '^mode=' "$T_DIR/hold.out")"
[ "$(kv "$T_DIR/hold.out" connected)" -ge "$N_IDLE" ] ||
	fail "the holder connected only $(kv "$T_DIR/hold.out" connected) times"
wait_for 10 "the server's descriptors are released" fds_released ||
	fail "the server still holds $(fd_count) descriptors after the attacker left"
check_flood_login "$C1" ian ian-secret "after the attacker left"
daemon_alive srv || fail "server exited"

# ---- the start-up warning -------------------------------------------------------
log_has srv 'open files' "${DSTART[srv]}" ||
	fail "the server did not warn at start that $NOFILE open files are too few"
warn=$(tail -n "+${DSTART[srv]}" "${DLOG[srv]}" | grep -m1 'open files')
grep -q "$NOFILE" <<< "$warn" || fail "the open-files warning does not give the limit: '$warn'"
ok "start-up warning: '$warn'"
pass
