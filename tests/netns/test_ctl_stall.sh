#!/bin/bash
# SPDX-License-Identifier: ISC
# Control clients that misbehave must not stall the tunnels.  16 clients
# connect to the server's control socket and then send nothing, or 8 bytes
# of a header, or a PEER_LIST whose replies they never read (reconnecting
# whenever the daemon closes them) while pings go through the tunnel every
# 50 ms: no reply may come more than 0.5 s after the one before, `ostpctl
# show` must still answer, and idle clients must be closed after the idle
# timeout (3 s).  Then iperf3 through the tunnel with 16 clients that
# never read a 3000-peer listing must reach at least half the rate it had
# without them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping iperf3 awk

topo_users 1 ian
C1=${NS_OF[c1]}
RAW=$OSTP_TOP/tests/netns/ctlraw.py
SOCK=$T_DIR/run-s/ostps.sock
start_tunnels ian
check_ping "$C1" "$SRV_V4" "ian -> server before the control clients"

# ---- 16 stuck clients while pings run -------------------------------------------
mark=$(log_mark srv)
bg_run ping "$C1" ping -D -n -i 0.05 -c 100 -W 1 "$SRV_V4"
ping_pid=$BG_PID
sleep 0.5
bg_run stall "$NS_SRV" timeout 20 "$PY" "$RAW" stall "$SOCK" 4.5 16 idle,partial,noread,idle
stall_pid=$BG_PID
sleep 1.5
t0=$(date +%s%N)
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" --json show ostps
show_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$CTL_RC" = 0 ] || fail "ostpctl show with 16 stuck control clients: exit $CTL_RC: $CTL_ERR"
ok "ostpctl show answered in ${show_ms} ms with 16 stuck control clients"
wait "$ping_pid"
wait "$stall_pid" || fail "the stalling clients failed: $(cat "$T_DIR/stall.out")"
say "stalling clients: $(cat "$T_DIR/stall.out")"

# the largest interval between two replies, and how many came back
read -r gap got < <(awk -F'[][]' '/bytes from/ {
		t = $2 + 0; if (n++ && t - prev > max) max = t - prev; prev = t }
	END { printf "%.3f %d\n", max, n }' "$T_DIR/ping.out")
say "pings: $got of 100 answered, largest gap ${gap} s"
awk -v g="$gap" 'BEGIN { exit !(g <= 0.5) }' ||
	fail "forwarding stalled: ${gap} s between two ping replies (want at most 0.5 s)"
[ "$got" -ge 95 ] || fail "only $got of 100 pings answered"
ok "no gap above 0.5 s in 100 pings at 50 ms ($got answered, largest gap ${gap} s)"

# idle clients are closed by the daemon, after the idle timeout
"$PY" - "$T_DIR/stall.out" <<- 'EOF' || fail "idle clients were not closed after about 3 s: $(cat "$T_DIR/stall.out")"
	import json, sys
	s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
	t = s["idle_close_s"]
	sys.exit(not (t and all(2.5 <= x <= 4.5 for x in t)))
EOF
log_has srv 'control: client made no progress' "$mark" || fail "no log line for an idle client"
ok "idle control clients closed after the idle timeout, with a log line"

# ---- iperf3 with and without clients that never read --------------------------------
# A listing longer than the socket buffer: 3000 peers (the server's own key)
key=$(printf '%s' "$SERVER_KEY" | base64 -d | od -An -tx1 | tr -d ' \n')
nsx "$NS_SRV" timeout 60 "$PY" "$RAW" peers "$SOCK" 3000 "$key" > "$T_DIR/peers.out" 2>&1 ||
	fail "adding peers: $(cat "$T_DIR/peers.out")"
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" peer list dev ostps
[ "$CTL_RC" = 0 ] || fail "peer list: $CTL_ERR"
n=$(grep -c ' origin runtime$' "$T_DIR/ctl.out")
[ "$n" = 3000 ] || fail "peer list printed $n peers, want 3000"
ok "3000 peers added; peer list (about $(($(wc -c < "$T_DIR/ctl.out") / 1024)) KiB) lists them all"

# The rate over the wall-clock time of the whole run: a daemon that stops
# forwarding while iperf3 connects only delays its 3 s, which iperf3's own
# rate would not show.
iperf_rate() {
	local t0 t1 bytes
	t0=$(date +%s%N)
	iperf3_check "$C1" "$NS_SRV" "$SRV_V4" 3 "$1"
	t1=$(date +%s%N)
	bytes=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' "$T_DIR/iperf3.json") ||
		fail "$1: cannot read the iperf3 result"
	RATE=$((bytes * 8 * 1000 / ((t1 - t0) / 1000000 + 1)))
	say "$1: $((RATE / 1000000)) Mbit/s over $(((t1 - t0) / 1000000)) ms of wall-clock time"
}
iperf_rate "iperf3 without control clients"
base=$RATE
bg_run stall2 "$NS_SRV" timeout 30 "$PY" "$RAW" stall "$SOCK" 7 16 noread,noread,noread,idle
stall_pid=$BG_PID
sleep 0.5
iperf_rate "iperf3 with 16 control clients that never read"
with=$RATE
wait "$stall_pid" || fail "the stalling clients failed: $(cat "$T_DIR/stall2.out")"
say "stalling clients: $(cat "$T_DIR/stall2.out")"
[ $((with * 2)) -ge "$base" ] ||
	fail "iperf3 fell from $((base / 1000000)) to $((with / 1000000)) Mbit/s with control clients that never read"
ok "iperf3: $((with / 1000000)) Mbit/s with stuck clients, $((base / 1000000)) without"

ctlx "$NS_SRV" -c "$T_DIR/srv.conf" show ostps
[ "$CTL_RC" = 0 ] || fail "ostpctl show afterwards: $CTL_ERR"
daemon_alive srv && daemon_alive ian || fail "a daemon exited"
check_ping "$C1" "$SRV_V4" "ian -> server after the control clients"
pass
