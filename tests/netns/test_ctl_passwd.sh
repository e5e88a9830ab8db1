#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl passwd: a password set for a new user lets that user's client
# connect; a changed password takes effect at once (the running server
# reloads the file): the old one is refused, the new one works.  The rest
# of the password file survives byte for byte, and a terminal read (no
# echo, asked twice) and bad input behave as documented.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init

topo_init 2
C1=${NS_OF[c1]} C2=${NS_OF[c2]}
make_server_key
add_user ian old-secret
add_user bob bob-secret 1 0          # trusted, no password yet
# An operator's comment in the password file must survive.
sed -i '1i # passwords of the test server' "$T_DIR/passwords"
chmod 0600 "$T_DIR/passwords"
write_server_conf "$T_DIR/srv.conf"
write_client_conf "$T_DIR/ian.conf" ian
write_client_conf "$T_DIR/bob.conf" bob
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
SRV_PID=${DPID[srv]}

# passwd_stdin USER PASSWORD: ostpctl passwd in the server's namespace with
# the password on a pipe (bounded); status in CTL_RC, stderr in
# $T_DIR/ctl.err and CTL_ERR, as ctlx leaves them.
passwd_stdin() {
	printf '%s\n' "$2" | timeout -k 5 60 ip netns exec "$NS_SRV" \
		"$OSTPCTL" -c "$T_DIR/srv.conf" passwd "$1" > "$T_DIR/ctl.out" 2> "$T_DIR/ctl.err"
	CTL_RC=$?
	CTL_ERR=$(tr '\n' '|' < "$T_DIR/ctl.err")
}

# ---- a new user's password: bob connects ------------------------------------------
mark_s=$(log_mark srv)
start_ostpd bob "$C2" "$T_DIR/bob.conf"
wait_for 20 "bob refused without a password" \
	log_has srv 'rejected user bob: no password set' "$mark_s" ||
	fail "bob was not refused before having a password"
cp "$T_DIR/passwords" "$T_DIR/passwords.before"
mark_b=$(log_mark bob)
passwd_stdin bob bob-secret
[ "$CTL_RC" = 0 ] || fail "passwd bob: status $CTL_RC: $CTL_ERR"
[ -s "$T_DIR/ctl.err" ] && fail "passwd bob printed: $CTL_ERR"
# Everything before is kept; one line "bob:$argon2id$..." is appended.
head -c "$(stat -c %s "$T_DIR/passwords.before")" "$T_DIR/passwords" |
	cmp -s - "$T_DIR/passwords.before" || fail "passwd bob changed the existing lines"
[ "$(tail -n +"$(($(wc -l < "$T_DIR/passwords.before") + 1))" "$T_DIR/passwords" |
	grep -c "^bob:\\\$argon2id\\\$")" = 1 ] || fail "no single bob:\$argon2id\$ line appended"
[ "$(stat -c %a "$T_DIR/passwords")" = 600 ] || fail "the password file's mode changed"
grep -q 'bob-secret' "$T_DIR/passwords" && fail "the password is stored in clear"
wait_tunnel bob bob "$mark_b"
check_ping "$C2" "$SRV_V4" "bob -> server with the password set by ostpctl"
ok "passwd bob: hash appended (file otherwise unchanged, mode 0600), bob's client got in"

# ---- ian: the old password works, then is replaced --------------------------------
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian
check_ping "$C1" "$SRV_V4" "ian -> server with the old password"
stop_ostpd ian
cp "$T_DIR/passwords" "$T_DIR/passwords.before"
old_line=$(grep '^ian:' "$T_DIR/passwords")
passwd_stdin ian new-secret
[ "$CTL_RC" = 0 ] || fail "passwd ian: status $CTL_RC: $CTL_ERR"
new_line=$(grep '^ian:' "$T_DIR/passwords")
[ "$new_line" != "$old_line" ] || fail "ian's hash did not change"
diff <(grep -v '^ian:' "$T_DIR/passwords.before") <(grep -v '^ian:' "$T_DIR/passwords") ||
	fail "passwd ian changed other lines"
[ "$(grep -n '^ian:' "$T_DIR/passwords" | cut -d: -f1)" = \
	"$(grep -n '^ian:' "$T_DIR/passwords.before" | cut -d: -f1)" ] ||
	fail "ian's line moved"
ok "passwd ian: only ian's line changed, in place"

# The client still has the old password: refused, without a server restart.
mark_s=$(log_mark srv)
start_ostpd ian "$C1" "$T_DIR/ian.conf"
mark_i=$(log_mark ian)
wait_for 20 "ian's old password refused twice" \
	log_count_ge srv 2 'rejected user ian: wrong password' "$mark_s" ||
	fail "the old password was not refused"
log_has srv 'session up for user ian' "$mark_s" && fail "ian got a session with the old password"
log_has ian 'tunnel up' "$mark_i" && fail "ian's tunnel came up with the old password"
ok "ian's client with the old password: 'rejected user ian: wrong password'"
# The client re-reads its password file on each attempt.
(umask 077 && printf '%s\n' new-secret > "$T_DIR/ian.pw")
wait_tunnel ian ian "$mark_i"
check_ping "$C1" "$SRV_V4" "ian -> server with the new password"
[ "${DPID[srv]}" = "$SRV_PID" ] || fail "the server was restarted"
daemon_alive srv || fail "the server died"
ok "ian's client with the new password got in; same server PID $SRV_PID"

# ---- from a terminal: no echo, asked twice -------------------------------------
# pty_passwd USER ANSWER1 ANSWER2: runs ostpctl on a pseudo-terminal; prints
# what the terminal showed, then "status N".
pty_passwd() {
	timeout -k 5 60 ip netns exec "$NS_SRV" "$PY" - "$OSTPCTL" "$T_DIR/srv.conf" "$@" <<- 'EOF'
		import os, pty, select, sys, time
		ctl, conf, user, answers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
		pid, fd = pty.fork()
		if pid == 0:
		    os.execv(ctl, [ctl, "-c", conf, "passwd", user])
		seen, deadline = b"", time.monotonic() + 30
		def read_some(t):
		    global seen
		    r, _, _ = select.select([fd], [], [], t)
		    if not r:
		        return False
		    try:
		        b = os.read(fd, 1024)
		    except OSError:
		        return None
		    seen += b
		    return bool(b)
		for prompt, answer in zip((b"Password for " + user.encode() + b": ", b"Again: "), answers):
		    while prompt not in seen and time.monotonic() < deadline:
		        if read_some(0.2) is None:
		            break
		    seen = seen.replace(prompt, b"<" + prompt.strip() + b">", 1)
		    os.write(fd, answer.encode() + b"\n")
		# EIO (None) once ostpctl has exited and closed the terminal
		while time.monotonic() < deadline and read_some(0.2) is not None:
		    pass
		if time.monotonic() >= deadline:
		    os.kill(pid, 9)
		_, st = os.waitpid(pid, 0)
		print(seen.decode(errors="replace").replace("\r", ""))
		print("status", os.waitstatus_to_exitcode(st))
	EOF
}
cp "$T_DIR/passwords" "$T_DIR/passwords.before"
out=$(pty_passwd ian tty-one tty-two)
echo "$out" | grep -qx 'status 2' || fail "mismatched answers on a terminal: $out"
echo "$out" | grep -q 'the passwords do not match' || fail "no mismatch message: $out"
echo "$out" | grep -q 'tty-' && fail "the password was echoed: $out"
cmp -s "$T_DIR/passwords" "$T_DIR/passwords.before" || fail "a mismatch changed the file"
ok "terminal, two different answers: exit 2, 'the passwords do not match', nothing echoed or changed"
out=$(pty_passwd ian tty-secret tty-secret)
echo "$out" | grep -qx 'status 0' || fail "passwd on a terminal: $out"
echo "$out" | grep -q '<Password for ian:>' || fail "no 'Password for ian:' prompt: $out"
echo "$out" | grep -q '<Again:>' || fail "no 'Again:' prompt: $out"
echo "$out" | grep -q 'tty-secret' && fail "the password was echoed: $out"
mark_i=$(log_mark ian)
stop_ostpd ian
(umask 077 && printf '%s\n' tty-secret > "$T_DIR/ian.pw")
start_ostpd ian "$C1" "$T_DIR/ian.conf"
wait_tunnel ian ian "$mark_i"
ok "terminal: prompted twice without echo; the password typed there works"

# ---- bad input: nothing changes ---------------------------------------------------
cp "$T_DIR/passwords" "$T_DIR/passwords.before"
passwd_stdin ian ''
one_error_line 2 "empty password"
grep -qx 'ostpctl: passwd: an empty password is refused' "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
passwd_stdin ian "$(printf 'x%.0s' $(seq 257))"
one_error_line 2 "257-byte password"
grep -qx 'ostpctl: passwd: password longer than 256 bytes' "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
long=$(printf 'a%.0s' $(seq 65))
passwd_stdin "$long" secret
one_error_line 1 "65-byte user name"
grep -qx "ostpctl: passwd: invalid user name '$long'" "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
printf 'secret\n' | timeout -k 5 60 ip netns exec "$NS_SRV" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$OSTPCTL" -c "$T_DIR/srv.conf" passwd ian > /dev/null 2> "$T_DIR/ctl.err"
CTL_RC=$?
CTL_ERR=$(tr '\n' '|' < "$T_DIR/ctl.err")
one_error_line 2 "passwd as nobody"
grep -qx 'ostpctl: passwd: must be run as root' "$T_DIR/ctl.err" ||
	fail "unexpected error: $CTL_ERR"
cmp -s "$T_DIR/passwords" "$T_DIR/passwords.before" || fail "bad input changed the file"
compgen -G "$T_DIR/.passwords.*" > /dev/null && fail "a temporary file was left: $(ls -A "$T_DIR")"
ok "empty and 257-byte passwords, non-root (exit 2), 65-byte user name (exit 1): file unchanged"

for d in srv ian bob; do daemon_alive "$d" || fail "$d exited"; done
check_ping "$C2" "$SRV_V4" "bob -> server at the end"
pass
