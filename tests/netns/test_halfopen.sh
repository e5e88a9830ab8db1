#!/bin/bash
# SPDX-License-Identifier: ISC
# 300 TCP connections to the server that never send a byte, kept at 300 for
# 12 s (each one the server drops is opened again): the server must drop
# each after its handshake timeout (handshake_timeout = 2), and a real
# client must connect and carry traffic while they are held.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init

N_HALF=300
HOLD=12
topo_init 2                      # c1: the real client, c2: the idle sockets
C1=${NS_OF[c1]} C2=${NS_OF[c2]}
make_server_key
add_user ian ian-secret
# the idle connections come from one source: lift its cap and penalty,
# this test is about the handshake deadline (test_flood_conn.sh tests them)
write_server_conf "$T_DIR/srv.conf" "handshake_timeout = 2" \
	"max_unauth_per_source = 1000" "penalty_noauth = 0"
write_client_conf "$T_DIR/ian.conf" ian
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv

cat > "$T_DIR/holder.py" <<- 'PY'
	# holder.py HOST PORT N SECS: hold N idle connections for SECS seconds,
	# reopening each one the server closes; print a summary as JSON.
	import json, select, socket, sys, time
	host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
	t0 = time.monotonic()
	opened = {}            # socket -> (open time, generation)
	ages_first = []        # lifetimes of the first N, closed by the server
	ages_later = []
	min_held = None
	failed_opens = 0
	def open_one(gen):
	    global failed_opens
	    s = socket.socket()
	    s.settimeout(5)
	    try:
	        s.connect((host, port))
	    except OSError as e:
	        failed_opens += 1
	        s.close()
	        return
	    s.setblocking(False)
	    opened[s] = (time.monotonic(), gen)
	for _ in range(n):
	    open_one(0)
	print("ready", len(opened), "open after", round(time.monotonic() - t0, 2), "s", flush=True)
	end = t0 + secs
	while time.monotonic() < end:
	    held = len(opened)
	    min_held = held if min_held is None else min(min_held, held)
	    r, _, _ = select.select(list(opened), [], [], 0.2)
	    for s in r:
	        try:
	            data = s.recv(4096)
	        except OSError:
	            data = b""
	        if data:
	            print("server sent", len(data), "bytes on an idle connection", flush=True)
	            continue
	        born, gen = opened.pop(s)
	        (ages_first if gen == 0 else ages_later).append(time.monotonic() - born)
	        s.close()
	        open_one(1)
	still = sum(1 for s, (b, g) in opened.items() if g == 0)
	for s in list(opened):
	    s.close()
	print(json.dumps({
	    "first_closed": len(ages_first), "first_still_open": still,
	    "first_min_age": round(min(ages_first, default=0), 2),
	    "first_max_age": round(max(ages_first, default=0), 2),
	    "later_closed": len(ages_later), "min_held": min_held,
	    "failed_opens": failed_opens}), flush=True)
PY
bg_run holder "$C2" timeout $((HOLD + 60)) "$PY" "$T_DIR/holder.py" "$SRV_UNDERLAY" "$SRV_PORT" "$N_HALF" "$HOLD"
HOLDER_PID=$BG_PID
wait_for 30 "$N_HALF idle connections open" grep -q '^ready' "$T_DIR/holder.out" ||
	fail "the idle connections were not opened: $(cat "$T_DIR/holder.out")"
say "holder: $(head -n 1 "$T_DIR/holder.out")"

# the real client, while the idle connections are held
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian
check_ping "$C1" "$SRV_V4" "ian -> server while $N_HALF idle connections are held"
check_ping "$C1" "$SRV_V6" "ian -> server (IPv6) while they are held"
pid_alive "$HOLDER_PID" || fail "the holder ended before the client was checked"
ok "the real client connected and carried traffic while the idle connections were held"

wait "$HOLDER_PID"
rc=$?
[ $rc = 0 ] || fail "holder failed ($rc): $(tail -n 5 "$T_DIR/holder.out")"
summary=$(tail -n 1 "$T_DIR/holder.out")
say "holder: $summary"
grep -q 'server sent' "$T_DIR/holder.out" && fail "the server sent data on an idle connection"
getj() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$summary" "$1"; }
first_closed=$(getj first_closed) || fail "bad holder summary"
[ "$first_closed" -eq "$N_HALF" ] || fail "only $first_closed of the first $N_HALF idle connections were closed within ${HOLD}s"
min_age=$(getj first_min_age) max_age=$(getj first_max_age)
"$PY" -c "import sys; sys.exit(not (1.5 <= $min_age and $max_age <= 6.0))" ||
	fail "idle connections closed after ${min_age}..${max_age}s, not about 2 s (handshake_timeout = 2)"
ok "all $N_HALF idle connections closed by the server after ${min_age}..${max_age} s"
[ "$(getj failed_opens)" -eq 0 ] || fail "$(getj failed_opens) connection attempts failed"
[ "$(getj min_held)" -ge $((N_HALF - 20)) ] || fail "only $(getj min_held) connections were held at one point"
ok "$(getj later_closed) reopened idle connections closed too; at least $(getj min_held) held at any time, no connection refused"
n_to=$(log_count srv '^(INFO|DEBUG): 198\.18\.0\.3:[0-9]+: closed: timed out$')
[ "$n_to" -ge $((N_HALF + $(getj later_closed))) ] ||
	fail "server logged $n_to 'closed: timed out' for the idle connections, expected $((N_HALF + $(getj later_closed)))"
log_has srv ': refused: ' && fail "the server refused connections"
ok "server logged 'closed: timed out' $n_to times"
log_has srv 'user ian: closed' && fail "ian's session was closed"
check_ping "$C1" "$SRV_V4" "ian -> server after the idle connections"
daemon_alive srv || fail "server exited"
pass
