#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl trust: `trust del` of a connected user closes exactly that session
# (the other user's stays and still pings), `trust add` lets a new user in
# without restarting the server, and the list's comments, blank lines, mode
# and every other byte survive both edits.  Bad input changes nothing.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init

topo_init 3
C1=${NS_OF[c1]} C2=${NS_OF[c2]} C3=${NS_OF[c3]}
make_server_key
add_user ian ian-secret
add_user quinn quinn-secret
add_user alice alice-secret 0        # a password, but not in the list yet
# The list as an operator keeps it: the names between comments and blank
# lines, a commented-out root and a comment that mentions quinn.
{
	head -n 3 "$T_DIR/trusted"
	echo ian
	echo quinn
	echo
	echo '// Be careful with "root!"'
	echo '// root'
	echo '//   quinn (a comment that names a user is not that user)'
} > "$T_DIR/trusted.new"
mv "$T_DIR/trusted.new" "$T_DIR/trusted"
chmod 0640 "$T_DIR/trusted"
cp "$T_DIR/trusted" "$T_DIR/trusted.orig"

write_server_conf "$T_DIR/srv.conf"
for u in ian quinn alice; do write_client_conf "$T_DIR/$u.conf" "$u"; done
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
SRV_PID=${DPID[srv]}
start_ostpd ian "$C1" "$T_DIR/ian.conf"
start_ostpd quinn "$C2" "$T_DIR/quinn.conf"
wait_tunnel ian ian
wait_tunnel quinn quinn
check_ping "$C1" "$SRV_V4" "ian -> server"
check_ping "$C2" "$SRV_V4" "quinn -> server"

# ctl ARGS...: ostpctl -c srv.conf in the server's namespace (ctlx); its
# stdout also in CTL_OUT.
ctl() {
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" "$@"
	CTL_OUT=$(cat "$T_DIR/ctl.out")
}

# ctl_ok DESC: the last ostpctl succeeded without a word on stderr.
ctl_ok() {
	[ "$CTL_RC" = 0 ] || fail "$1: exit status $CTL_RC: $CTL_ERR"
	[ -s "$T_DIR/ctl.err" ] && fail "$1: printed on stderr: $CTL_ERR"
	return 0
}

# expect_list DESC: the list is byte for byte $T_DIR/trusted.expect.
expect_list() {
	cmp -s "$T_DIR/trusted.expect" "$T_DIR/trusted" || {
		diff -u "$T_DIR/trusted.expect" "$T_DIR/trusted"
		fail "$1: the list is not what was expected"
	}
}

ctl trust list
ctl_ok "trust list"
[ "$CTL_OUT" = "$(printf 'ian\nquinn')" ] || fail "trust list printed '$CTL_OUT'"
ok "trust list: ian, quinn (the commented-out names are not listed)"

# ---- trust del quinn: exactly quinn's session closes ---------------------------
mark_s=$(log_mark srv)
mark_q=$(log_mark quinn)
ctl trust del quinn
ctl_ok "trust del quinn"
grep -vx quinn "$T_DIR/trusted.orig" > "$T_DIR/trusted.expect"
expect_list "trust del quinn"
[ "$(stat -c %a "$T_DIR/trusted")" = 640 ] ||
	fail "the list's mode changed to $(stat -c %a "$T_DIR/trusted")"
grep -q '^//   quinn' "$T_DIR/trusted" || fail "the comment naming quinn was removed"
ok "trust del quinn: only the line 'quinn' went, comments and mode 0640 kept"

wait_for 10 "quinn's session closed" \
	log_has srv 'user quinn: closed: user no longer trusted' "$mark_s" ||
	fail "the server did not close quinn's session"
wait_for 10 "quinn sees the revocation" \
	log_has quinn 'closed: peer closed the session \(access revoked\)' "$mark_q" ||
	fail "quinn's client did not log the revocation"
log_has srv 'user ian: closed' && fail "ian's session was closed too"
wait_for 20 "quinn refused on reconnect" \
	log_has srv 'rejected user quinn: not in the trusted users list' "$mark_s" ||
	fail "quinn's reconnection was not refused"
nsx "$C2" ping -c 2 -i 0.3 -W 1 "$SRV_V4" > /dev/null 2>&1 && fail "quinn still reaches the server"
# quinn's client would keep retrying, and each refusal costs the server an
# Argon2id verification in its event loop; a ping that falls into one is
# answered late and counted lost, which says nothing about ian's session.
stop_ostpd quinn
log_has srv 'user ian: closed' && fail "ian's session was closed"
check_ping "$C1" "$SRV_V4" "ian -> server after quinn's revocation"
check_ping "$C1" "$SRV_V6" "ian -> server (IPv6) after quinn's revocation"
ok "quinn's session closed (revoked) and refused again; ian's session untouched"

# ---- trust add alice: in without a restart --------------------------------------
mark_s=$(log_mark srv)
start_ostpd alice "$C3" "$T_DIR/alice.conf"
wait_for 20 "alice refused before being listed" \
	log_has srv 'rejected user alice: not in the trusted users list' "$mark_s" ||
	fail "alice was not refused while unlisted"
mark_a=$(log_mark alice)
ctl trust add alice
ctl_ok "trust add alice"
cp "$T_DIR/trusted.expect" "$T_DIR/trusted.del"
echo alice >> "$T_DIR/trusted.expect"
expect_list "trust add alice"
wait_tunnel alice alice "$mark_a"
check_ping "$C3" "$SRV_V4" "alice -> server after trust add"
[ "${DPID[srv]}" = "$SRV_PID" ] || fail "the server was restarted"
daemon_alive srv || fail "the server died"
[ "$(grep -c '^=== start' "${DLOG[srv]}")" = 1 ] || fail "the server was started again"
check_ping "$C1" "$SRV_V4" "ian -> server after alice joined"
ok "trust add alice: appended as the last line, alice's retrying client got in, same server PID $SRV_PID"

# ---- idempotence and bad input: nothing changes ---------------------------------
ctl trust add alice
one_error_line 0 "trust add of a listed user"
grep -qx 'ostpctl: trust add: alice is already trusted' "$T_DIR/ctl.err" ||
	fail "no 'already trusted' note: $CTL_ERR"
expect_list "second trust add alice"
ok "trust add alice again: exit 0, 'alice is already trusted', list unchanged"

ctl trust del quinn
one_error_line 2 "trust del of an unlisted user"
grep -qx 'ostpctl: trust del: quinn is not trusted' "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
expect_list "trust del of an unlisted user"
ok "trust del quinn again: exit 2, 'quinn is not trusted'"

long=$(printf 'a%.0s' $(seq 65))
ctl trust add "$long"
one_error_line 1 "trust add of a 65-byte name"
grep -qx "ostpctl: trust add: invalid user name '$long'" "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
ctl trust add 'bad/name'
one_error_line 1 "trust add 'bad/name'"
expect_list "invalid names"
ok "invalid names (65 bytes, 'bad/name'): exit 1, one line, list unchanged"

ctlx_nobody "$NS_SRV" -c "$T_DIR/srv.conf" trust del ian
one_error_line 2 "trust del as nobody"
grep -qx 'ostpctl: trust del: must be run as root' "$T_DIR/ctl.err" ||
	fail "non-root: unexpected error: $CTL_ERR"
expect_list "non-root trust del"
ok "trust del as a non-root user: exit 2, 'must be run as root', list unchanged"

compgen -G "$T_DIR/.trusted.*" > /dev/null && fail "a temporary file was left: $(ls -A "$T_DIR")"
ctl trust list
ctl_ok "trust list"
[ "$CTL_OUT" = "$(printf 'ian\nalice')" ] || fail "trust list printed '$CTL_OUT'"
ctl --json trust list
ctl_ok "trust list --json"
[ "$("$PY" -c 'import json,sys; print(",".join(json.load(sys.stdin)))' < "$T_DIR/ctl.out")" = ian,alice ] ||
	fail "trust list --json printed '$CTL_OUT'"
ok "trust list: ian, alice in file order; --json: $CTL_OUT"
check_ping "$C1" "$SRV_V4" "ian -> server after all the edits"
check_ping "$C3" "$SRV_V4" "alice -> server after all the edits"

# ---- daemon not running: only the file changes ----------------------------------
stop_ostpd srv
ctl trust del alice
ctl_ok "trust del with the daemon stopped"
cp "$T_DIR/trusted.del" "$T_DIR/trusted.expect"
expect_list "trust del alice with the daemon stopped"
ok "trust del with the daemon stopped: exit 0, file edited"
for d in ian alice; do daemon_alive "$d" || fail "$d exited"; done
pass
