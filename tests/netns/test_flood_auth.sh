#!/bin/bash
# SPDX-License-Identifier: ISC
# Password guessing (admission control, issue items 1 and 5):
#   1. one connection guessing ian's password for 10 s may cost the server
#      at most 25% of a core (each source gets a few checks, then a penalty);
#   2. 100 parallel guessers for 20 s from one namespace: every legitimate
#      login of ian from another namespace reaches ESTABLISHED within 5 s
#      and is never answered "wrong password"; the guessers are answered
#      busy and then refused (penalty); the server logs a penalty and a
#      summary ("refused N connections") and fewer than 150 lines in all;
#   3. the real ostpd client, in a namespace exempt from penalties, while a
#      deliberately slow password check of another user from the same
#      address is in flight (max_logins_per_source = 1): it is answered
#      busy, says so, backs off and gets its tunnel within 15 s.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_flood

GUESS_SECS=20
topo_init 2                          # c1: legitimate logins, c2: the busy path
C1=${NS_OF[c1]} C2=${NS_OF[c2]}
ns_attacker att 198.18.0.10          # 100 guessers
ns_attacker att1 198.18.0.11         # one guesser
wait_for 10 "underlay att -> server" nsx "${NS_OF[att]}" ping -c 1 -W 1 "$SRV_UNDERLAY" ||
	fail "no underlay from the attacker namespace"
wait_for 10 "underlay att1 -> server" nsx "${NS_OF[att1]}" ping -c 1 -W 1 "$SRV_UNDERLAY" ||
	fail "no underlay from the attacker namespace"
make_server_key
add_user ian ian-secret
add_user slow slow-secret 1 0        # trusted; its slow hash is added here
# Several seconds per check, whatever this machine's speed (memory stays
# at 32 MiB, under the 64 MiB a check may take).
SLOW_HASH=$("$FLOOD" hash -p slow-secret -M 32 -w 2000 2> "$T_DIR/hash.err") ||
	fail "flood hash: $(cat "$T_DIR/hash.err")"
echo "slow:$SLOW_HASH" >> "$T_DIR/passwords"
say "slow password check: $(sed -n 's/^flood: hash //p' "$T_DIR/hash.err")"

admit_lines "max_unauth = 1024" "max_unauth_per_source = 16" \
	"max_logins_per_source = 1" "max_logins_per_user = 2" \
	"penalty_authfail = 5" "penalty_noauth = 1" "penalty_min = 15" "penalty_max = 600" \
	'penalty_exempt = { "198.18.0.3/32" }'
write_server_conf "$T_DIR/srv.conf" "${ADMIT_LINES[@]}"
# what an operator runs: per-connection lines are debug
set_log_level "$T_DIR/srv.conf" info
write_client_conf "$T_DIR/ian.conf" ian
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
SPID=${DPID[srv]}
SRV=$SRV_UNDERLAY:$SRV_PORT

# ---- 1. one guesser: the server's CPU -----------------------------------------
# A connection the server refuses is retried after 20 ms: what is measured
# is the cost of password checks, not of a SYN storm.
t0=$(date +%s%N)
k0=$(cpu_ticks "$SPID") || fail "cannot read the server's CPU time"
bg_run guess1 "${NS_OF[att1]}" timeout -k 5 40 "$FLOOD" guess -s "$SRV" -k "$SERVER_KEY" \
	-u ian -t 10 -P 1 -r 20
wait "$BG_PID" || fail "the single guesser failed: $(tail -n 5 "$T_DIR/guess1.out")"
k1=$(cpu_ticks "$SPID") || fail "cannot read the server's CPU time"
ms=$((($(date +%s%N) - t0) / 1000000))
ticks=$((k1 - k0))
say "one guesser: $(grep '^mode=' "$T_DIR/guess1.out")"
# 25% of one core over the window
[ $((ticks * 1000 * 100)) -lt $((25 * CLK_TCK * ms)) ] ||
	fail "one guessing connection cost the server $ticks ticks in $ms ms ($((ticks * 1000 * 100 / (CLK_TCK * ms)))% of a core; limit 25%)"
ok "one guessing connection for 10 s: server CPU $ticks ticks in $ms ms ($((ticks * 1000 * 100 / (CLK_TCK * ms)))% of a core), $(kv "$T_DIR/guess1.out" bad_pw) wrong passwords checked"
daemon_alive srv || fail "server exited"

# ---- 2. 100 parallel guessers; legitimate logins from c1 -----------------------
mark=$(log_mark srv)
bg_run guess100 "${NS_OF[att]}" timeout -k 5 $((GUESS_SECS + 30)) "$FLOOD" guess -s "$SRV" \
	-k "$SERVER_KEY" -u ian -t "$GUESS_SECS" -P 100 -r 100
GPID=$BG_PID
g_start=$SECONDS
sleep 2                      # let the flood reach the server first
n_login=0
# at least 3 logins, and more while the flood runs (each ends within 5 s)
while [ $n_login -lt 3 ] || [ $((SECONDS - g_start)) -le $((GUESS_SECS - 7)) ]; do
	pid_alive "$GPID" || fail "the flood ended before login $((n_login + 1)): $(tail -n 5 "$T_DIR/guess100.out")"
	n_login=$((n_login + 1))
	check_flood_login "$C1" ian ian-secret "during the guessing flood, login $n_login"
	[ "$(kv "$T_DIR/login.out" bad_pw)" = 0 ] || fail "a right password was answered wrong: $LOGIN_LINE"
	sleep 1
done
wait "$GPID" || fail "the guessing flood failed: $(tail -n 5 "$T_DIR/guess100.out")"
end_mark=$(log_mark srv)
G=$T_DIR/guess100.out
say "100 guessers: $(grep '^mode=' "$G")"
[ "$(kv "$G" handshakes)" -gt 0 ] || fail "no guesser completed a handshake: the flood did not reach the password checks"
[ "$(kv "$G" busy)" -gt 0 ] || fail "no guess was answered busy (max_logins_per_source = 1 with 100 in parallel)"
[ "$(kv "$G" refused)" -gt 0 ] || fail "no guesser connection was refused: no penalty enforced"
bad=$(kv "$G" bad_pw)
[ "$bad" -le 60 ] || fail "$bad wrong passwords were checked for one source in ${GUESS_SECS} s (limit 60: attempts are not bounded per source)"
ok "guessers: $(kv "$G" busy) answered busy, $(kv "$G" refused) refused, only $bad wrong passwords checked"
log_has srv '198\.18\.0\.2:[0-9]+: rejected' "$mark" &&
	fail "the server rejected a legitimate login: $(tail -n "+$mark" "${DLOG[srv]}" | grep -m1 '198\.18\.0\.2:[0-9]*: rejected')"
lines=$((end_mark - mark))
[ "$lines" -lt 150 ] || fail "the server logged $lines lines during the ${GUESS_SECS} s flood (limit 150)"
ok "the server logged $lines lines during the ${GUESS_SECS} s flood"
log_has srv 'penaliz' "$mark" || fail "the server logged no penalty for the guessing source"
SUMMARY='198\.18\.0\.10\b.*refused [0-9]+ connections'
wait_for 15 "a summary of refused connections" log_has srv "$SUMMARY" "$mark" ||
	fail "no summary line '198.18.0.10: refused N connections' in the server log"
ok "server log: '$(tail -n "+$mark" "${DLOG[srv]}" | grep -m1 'penaliz')'"
ok "server log: '$(tail -n "+$mark" "${DLOG[srv]}" | grep -Em1 "$SUMMARY")'"
daemon_alive srv || fail "server exited"

# ---- 3. the ostpd client answered busy backs off and gets in -------------------
mark=$(log_mark srv)
bg_run slowguess "$C2" timeout -k 5 40 "$FLOOD" guess -s "$SRV" -k "$SERVER_KEY" \
	-u slow -p wrong -t 25 -P 1 -m 1
SLOW_PID=$BG_PID
wait_for 10 "the slow login is sent" grep -q 'first password sent' "$T_DIR/slowguess.out" ||
	fail "the slow guess did not get its password sent: $(tail -n 5 "$T_DIR/slowguess.out")"
t0=$SECONDS
start_ostpd ian "$C2" "$T_DIR/ian.conf"
wait_for 15 "ian: tunnel up" log_has ian 'tunnel up' ||
	fail "ian's tunnel did not come up within 15 s next to a slow login from its address"
ok "ian: tunnel up after $((SECONDS - t0)) s"
log_has ian '[Bb]usy' || fail "ian's client did not log that the server was busy"
log_has ian 'wrong password|authentication refused|authentication failed' &&
	fail "ian's client logged an authentication failure: $(grep -Em1 'wrong password|authentication refused|authentication failed' "${DLOG[ian]}")"
ok "ian's client logged: '$(grep -m1 '[Bb]usy' "${DLOG[ian]}")'"
log_has srv 'rejected user ian' "$mark" && fail "the server rejected ian"
wait_tunnel ian ian
check_ping "$C2" "$SRV_V4" "ian -> server after a busy answer"
wait "$SLOW_PID" || fail "the slow guess failed: $(tail -n 5 "$T_DIR/slowguess.out")"
[ "$(kv "$T_DIR/slowguess.out" bad_pw)" = 1 ] ||
	fail "the slow check did not end in a wrong-password answer: $(grep '^mode=' "$T_DIR/slowguess.out")"
daemon_alive srv || fail "server exited"
pass
