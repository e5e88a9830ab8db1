#!/bin/bash
# SPDX-License-Identifier: ISC
# Back-pressure instead of loss, and no head-of-line blocking on the server.
#
# 1. A full-speed iperf3 upload: when the upstream session's queue is full
#    the client stops reading its TUN, so the inner TCP waits in the TUN
#    queue and the session drops nothing (drops_queue stays 0).
# 2. quinn's ostpd is stopped (SIGSTOP) while the server blasts UDP at
#    quinn's tunnel address: quinn's queue fills, the server's TUN pauses
#    for at most TUN_STALL_MAX_MS and then sheds quinn's packets, so ping
#    between the server and ian keeps working throughout.  After SIGCONT
#    quinn is reachable again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping iperf3

topo_users 2 ian quinn
C1=${NS_OF[c1]}
C2=${NS_OF[c2]}

ctl_up srv "$NS_SRV" "$T_DIR/srv.conf" ostps
ctl_up ian "$C1" "$T_DIR/ian.conf" ostpc --wait 20
ctl_up quinn "$C2" "$T_DIR/quinn.conf" ostpc --wait 20

# session_field NS CONF IFNAME USER FIELD: one counter of USER's session
# (USER "" = the daemon's only session) from show --json.
session_field() {
	ctlx "$1" -c "$2" --json show "$3"
	[ "$CTL_RC" = 0 ] || fail "show --json exited $CTL_RC: $CTL_ERR"
	"$PY" - "$T_DIR/ctl.out" "$3" "$4" "$5" <<- 'EOF'
		import json, sys
		_, path, ifname, user, field = sys.argv
		s = json.load(open(path))[ifname]["sessions"]
		if user:
		    s = [x for x in s if x["user"] == user]
		assert len(s) == 1, s
		print(s[0][field])
	EOF
}

# ---- 1: an upload never overflows the client's session queue --------------
iperf3_check "$C1" "$NS_SRV" "$SRV_V4" 5 "ian -> server upload"
tx=$(session_field "$C1" "$T_DIR/ian.conf" ostpc "" tx_bytes) || fail "client show"
drops=$(session_field "$C1" "$T_DIR/ian.conf" ostpc "" drops_queue) || fail "client show"
[ "$tx" -gt 100000000 ] || fail "client session sent only $tx bytes"
[ "$drops" = 0 ] || fail "client dropped $drops packets on a full queue instead of pausing its TUN"
ok "upload: $tx bytes through the client's session, 0 dropped for a full queue"

# ---- 2: a stopped client holds the server's TUN for a bounded time --------
check_ping "$NS_SRV" "${U_V4[quinn]}" "server -> quinn before the stop"
kill -STOP "${DPID[quinn]}" || fail "SIGSTOP quinn"
STOPPED=${DPID[quinn]}
cat > "$T_DIR/blast.py" <<- 'EOF'
	# Paced at about 20,000 packets/s (220 Mbit/s): enough to fill quinn's
	# socket buffers and queue within a second, and far below what the
	# server can read and shed, so the kernel's TUN ring (shared with the
	# pings) does not overflow whatever the machine's speed.
	import socket, sys, time
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	end = time.monotonic() + float(sys.argv[2]); buf = bytes(1380); n = 0
	while time.monotonic() < end and n < 1000000:
	    for _ in range(100):
	        try:
	            s.sendto(buf, (sys.argv[1], 9)); n += 1
	        except OSError:
	            pass
	    time.sleep(0.005)
	print("sent", n, flush=True)
EOF
bg_run blast "$NS_SRV" timeout 20 "$PY" "$T_DIR/blast.py" "${U_V4[quinn]}" 6
BLAST=$BG_PID
# let quinn's socket buffers and queue fill before measuring
wait_for 10 "the server to shed quinn's packets" \
	log_has srv "dropping its packets until it drains" ||
	fail "quinn's full queue never made the server shed (log: $(tail -n 5 "${DLOG[srv]}"))"
# Head-of-line blocking would lose every ping; one loss is allowed because
# the kernel may drop a ping when the TUN ring it shares with the blast is
# momentarily full, which is not the daemon's doing.
nsx "$NS_SRV" ping -q -c 20 -i 0.1 -W 1 "${U_V4[ian]}" > "$T_DIR/ping-ian.out" 2>&1
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_DIR/ping-ian.out")
[ "${received:-0}" -ge 19 ] ||
	fail "server -> ian while quinn is stopped: $(tail -n 2 "$T_DIR/ping-ian.out")"
ok "server -> ian: $received/20 pings while quinn is stopped and its queue is full ($(tail -n 1 "$T_DIR/ping-ian.out"))"
wait "$BLAST"
drops=$(session_field "$NS_SRV" "$T_DIR/srv.conf" ostps quinn drops_queue) || fail "server show"
[ "$drops" -gt 0 ] || fail "server: quinn's session shows no drops for a full queue"
ok "server: quinn's packets shed while it was stopped ($drops dropped)"

kill -CONT "$STOPPED" || fail "SIGCONT quinn"
wait_for 30 "server -> quinn after SIGCONT" ping_ok "$NS_SRV" "${U_V4[quinn]}" ||
	fail "quinn unreachable after SIGCONT"
ok "quinn reachable again after SIGCONT"
for d in srv ian quinn; do
	daemon_alive "$d" || fail "$d exited"
done
pass
