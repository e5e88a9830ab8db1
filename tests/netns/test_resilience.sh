#!/bin/bash
# SPDX-License-Identifier: ISC
# Server restart in the middle of a transfer: the client reconnects by
# itself and traffic flows again.  Then kill -9 of a client: the server
# frees its session at once (the kernel closes the socket); kill -9 of the
# server: the client notices and comes back when the server does.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init

topo_init 1
C1=${NS_OF[c1]}
make_server_key
add_user ian ian-secret
write_server_conf "$T_DIR/srv.conf"
write_client_conf "$T_DIR/ian.conf" ian
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian
check_ping "$C1" "$SRV_V4" "ian -> server before the restart"

sink_total() { cat "$T_DIR/sink.status" 2> /dev/null || echo 0; }
# shellcheck disable=SC2317  # called through wait_for
sink_above() { [ "$(sink_total)" -gt "$1" ]; }

# A stream from the client to a sink on the server's tunnel address: the
# source sends for 25 s, reconnecting if its connection breaks.
bg_run sink "$NS_SRV" env TCPX_TIMEOUT=90 "$PY" "$T_DIR/tcpx.py" sink "$SRV_V4" 9100 "$T_DIR/sink.status"
SINK_PID=$BG_PID
wait_for 10 "sink listening" grep -q listening "$T_DIR/sink.out" || fail "sink did not start"
bg_run source "$C1" env TCPX_TIMEOUT=70 "$PY" "$T_DIR/tcpx.py" source "$SRV_V4" 9100 60
SOURCE_PID=$BG_PID
wait_for 20 "10 MB through the tunnel" sink_above 10000000 || fail "the transfer does not start"
ok "transfer running ($(sink_total) bytes so far)"

# ---- restart the server (SIGTERM, start again) mid-transfer --------------
mark_c=$(log_mark ian)
stop_ostpd srv TERM
[ "$STOP_RC" = 0 ] || fail "server exit status $STOP_RC on SIGTERM"
at_stop=$(sink_total)
ok "server stopped with SIGTERM mid-transfer ($at_stop bytes received)"
wait_for 10 "client reconnecting" log_has ian 'reconnecting to the server in' "$mark_c" ||
	fail "client did not log reconnecting"
why=$(tail -n "+$mark_c" "${DLOG[ian]}" | grep -m1 ': closed: ' | sed 's/^.*: closed: //')
ok "client logged 'closed: $why' and 'reconnecting'"
# Under load the server has unread input when it stops; it must linger
# (half-close, discard input) so the kernel sends no RST that would
# destroy the CLOSE before the client reads it.
case $why in
"peer closed the session (shutting down)") ;;
*) fail "the authenticated CLOSE was lost mid-transfer (client: '$why')" ;;
esac
mark_s=$(log_mark srv)
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_for 10 "server listening again" log_has srv 'listening on' "$mark_s" || fail "server did not restart"
wait_for 30 "second 'tunnel up'" log_count_ge ian 2 'tunnel up' ||
	fail "client did not come back by itself"
wait_tunnel ian ian "$mark_c"
log_has srv 'session up for user ian' "$mark_s" || fail "the restarted server has no session for ian"
ok "client came back by itself: 'tunnel up' twice"
wait_for 30 "the stream resumes" sink_above $((at_stop + 5000000)) ||
	fail "the transfer did not resume after the restart (source: $(tail -n 3 "$T_DIR/source.out"))"
ok "the transfer resumed ($(sink_total) bytes received)"
# the stream saturates the tunnel: end it before the loss-free pings
stop_pid "$SOURCE_PID"
stop_pid "$SINK_PID"
check_ping "$C1" "$SRV_V4" "ian -> server after the restart"
check_ping "$C1" "$SRV_V6" "ian -> server (IPv6) after the restart"
head -c 10000000 /dev/urandom > "$T_DIR/data"
transfer "$C1" "$NS_SRV" "$SRV_V4" 9101 "$T_DIR/data" "new 10 MB transfer after the restart"

# ---- kill -9 the client ----------------------------------------------------
mark_s=$(log_mark srv)
t0=$(date +%s%N)
stop_ostpd ian KILL
wait_for 10 "server frees ian's session" log_has srv 'user ian: closed' "$mark_s" ||
	fail "server did not close ian's session within 10 s of kill -9"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "kill -9 of the client: server logged '$(tail -n "+$mark_s" "${DLOG[srv]}" | grep -m1 'user ian: closed' | sed 's/^[A-Z]*: //')' after ~${ms} ms"
ip -n "$C1" link show ostpc > /dev/null 2>&1 && fail "ostpc survives its daemon"
mark_c=$(log_mark ian)
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian "$mark_c"
check_ping "$C1" "$SRV_V4" "ian -> server after the client restart"

# ---- kill -9 the server ----------------------------------------------------
mark_c=$(log_mark ian)
t0=$(date +%s%N)
stop_ostpd srv KILL
wait_for 10 "client notices the dead server" log_has ian 'reconnecting to the server in' "$mark_c" ||
	fail "client did not notice the killed server within 10 s"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "kill -9 of the server: client logged '$(tail -n "+$mark_c" "${DLOG[ian]}" | grep -m1 'closed' | sed 's/^[A-Z]*: //')' and reconnects (~${ms} ms)"
mark_s=$(log_mark srv)
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_for 10 "server listening again" log_has srv 'listening on' "$mark_s" || fail "server did not restart after kill -9"
wait_tunnel ian ian "$mark_c"
check_ping "$C1" "$SRV_V6" "ian -> server after the server's kill -9"
daemon_alive srv || fail "server exited"
daemon_alive ian || fail "client exited"
pass
