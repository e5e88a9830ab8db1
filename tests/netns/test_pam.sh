#!/bin/bash
# SPDX-License-Identifier: ISC
# Passwords through PAM (pam_service): a real PAM stack, pam_userdb over a
# Berkeley DB this test creates, in a service file in the test's own
# directory (pam_confdir); no system account and nothing in the system's
# PAM directory is involved.
#
# First a password-file server refuses a wrong password, to record the
# line its client logs.  Then, against the PAM server: the right password
# gets a tunnel; a wrong password, a trusted name PAM does not know, a
# name PAM knows but the trusted users list lacks, and a name known to
# neither are all refused, each client logging exactly that line.  A
# stack that cannot run (a missing module) gives the same answer and a
# clear server log line.  Last, the server drops to nobody: with the
# database readable by nobody's group the login still works; made
# readable by root alone it does not.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd db_load ping
getent passwd nobody > /dev/null || fail "this test needs the user nobody"
NOGROUP=$(id -gn nobody) || fail "no group for nobody"
ls /lib/*/security/pam_userdb.so /usr/lib/*/security/pam_userdb.so > /dev/null 2>&1 ||
	fail "pam_userdb.so is not installed (libpam-modules)"

topo_init 5
make_server_key
# ian's PAM password; the password file holds the same, for the reference
add_user ian ian-pam
add_user zed zed-pam 1 0           # trusted, unknown to PAM
add_user dominik dominik-pam 0 0   # known to PAM, not trusted
add_user mallory mallory-pam 0 0   # known to neither
(umask 077 && echo not-ians-password > "$T_DIR/wrong.pw")

# The PAM side: a database of ian and dominik, and two services.
mkdir -p "$T_DIR/pam" "$T_DIR/pam.d"
printf '%s\n' ian ian-pam dominik dominik-pam |
	db_load -T -t hash "$T_DIR/pam/users.db" || fail "db_load"
cat > "$T_DIR/pam.d/ostp" <<- EOF
	auth    required pam_userdb.so db=$T_DIR/pam/users
	account required pam_userdb.so db=$T_DIR/pam/users
EOF
cat > "$T_DIR/pam.d/broken" <<- EOF
	auth    required pam_ostp_test_no_such_module.so
	account required pam_userdb.so db=$T_DIR/pam/users
EOF

write_server_conf "$T_DIR/pwfile.conf"
# pam_server_conf FILE SERVICE USER_NAME: the same server with PAM
# SERVICE instead of the password file, run as USER_NAME.
pam_server_conf() {
	write_server_conf "$1" "pam_service = \"$2\"" "pam_confdir = \"$T_DIR/pam.d\""
	sed -i -e '/password_file/d' -e "s/^user_name = .*/user_name = \"$3\"/" "$1"
}
pam_server_conf "$T_DIR/srv.conf" ostp ""
pam_server_conf "$T_DIR/broken.conf" broken ""
pam_server_conf "$T_DIR/nobody.conf" ostp nobody
# Both at once is a mistake the operator hears about.
sed "s|^  pam_service|  password_file = \"$T_DIR/passwords\"\n  pam_service|" \
	"$T_DIR/srv.conf" > "$T_DIR/both.conf"
if "$OSTPD" -n -c "$T_DIR/both.conf" > "$T_DIR/both.out" 2>&1; then
	fail "a server section with password_file and pam_service was accepted"
fi
grep -q 'password_file and pam_service exclude each other' "$T_DIR/both.out" ||
	fail "ostpd -n said: $(cat "$T_DIR/both.out")"
"$OSTPD" -n -c "$T_DIR/srv.conf" > "$T_DIR/n.out" 2>&1 || fail "ostpd -n: $(cat "$T_DIR/n.out")"
grep -q "pam_service = \"ostp\"" "$T_DIR/n.out" || fail "ostpd -n does not print pam_service"
grep -q password_file "$T_DIR/n.out" && fail "ostpd -n prints a password_file next to PAM"
# ostpctl passwd has no password file to write and says where passwords are.
: "${OSTPCTL:=$OSTP_BUILD/ostpctl}"
if echo x | "$OSTPCTL" -c "$T_DIR/srv.conf" passwd ian > "$T_DIR/ctl.out" 2>&1; then
	fail "ostpctl passwd succeeded against a PAM server"
fi
grep -q 'passwords are checked by PAM service ostp' "$T_DIR/ctl.out" ||
	fail "ostpctl passwd said: $(cat "$T_DIR/ctl.out")"
ok "config: pam_service and password_file exclude each other; ostpd -n prints pam_service; ostpctl passwd refuses"

write_client_conf "$T_DIR/ian.conf" ian
write_client_conf "$T_DIR/wrongpw.conf" wrongpw user=ian pwfile="$T_DIR/wrong.pw"
write_client_conf "$T_DIR/zed.conf" zed
write_client_conf "$T_DIR/dominik.conf" dominik
write_client_conf "$T_DIR/mallory.conf" mallory
declare -A CNS=([ian]=c1 [wrongpw]=c2 [zed]=c3 [dominik]=c4 [mallory]=c5)
declare -A EP=()
for n in "${!CNS[@]}"; do
	i=${CNS[$n]#c}
	EP[$n]=198\.18\.0\.$((i + 1))
done

# refusals NAME [FROM]: the distinct answers to NAME's logins: the
# "closed:" lines right after the server proved its key, when the client
# sends its password.  (A source penalized for its failures is cut off
# before that, which is admission control, not the answer to a login.)
refusals() {
	tail -n "+${2:-1}" "${DLOG[$1]}" |
		awk '/closed: / && prev ~ /server authenticated/ { print } { prev = $0 }' | sort -u
}

# ---- the reference: what a client logs when the password file refuses it ----
start_ostpd srv "$NS_SRV" "$T_DIR/pwfile.conf"
wait_server_up srv
start_ostpd wrongpw "${NS_OF[c2]}" "$T_DIR/wrongpw.conf"
wait_for 30 "password-file server refuses ian's wrong password" \
	log_has srv "^WARN: ${EP[wrongpw]}:[0-9]+: rejected user ian: wrong password\$" ||
	fail "the password-file server did not refuse the wrong password"
wait_for 10 "wrongpw logs the refusal" log_has wrongpw 'closed: ' ||
	fail "wrongpw logged no 'closed:' line"
REF=$(refusals wrongpw)
[ "$(printf '%s\n' "$REF" | wc -l)" = 1 ] || fail "more than one kind of refusal: $REF"
say "a refused client logs: $REF"
stop_ostpd srv
stop_ostpd wrongpw

# expect_refused NAME USER WHY FROM_SRV FROM_CLIENT: the server logged
# "rejected user USER: WHY" for NAME's address twice (the first try and one
# after the client reconnected), and NAME's refusals are exactly REF.
expect_refused() {
	local n=$1 user=$2 why=$3 from_s=$4 from_c=$5 got
	wait_for 40 "server rejects $user from ${EP[$n]//\\/} twice" \
		log_count_ge srv 2 "^(WARN|DEBUG): ${EP[$n]}:[0-9]+: rejected user $user: $why\$" "$from_s" ||
		fail "server did not log 'rejected user $user: $why' twice for $n"
	log_has srv "${EP[$n]}:[0-9]+: (authenticated|session up)" "$from_s" &&
		fail "the server let $n in"
	got=$(refusals "$n" "$from_c")
	[ "$got" = "$REF" ] || fail "$n logged '$got', not '$REF' as for a wrong password file entry"
	log_has "$n" 'tunnel up' "$from_c" && fail "$n: tunnel up"
	ok "$n: server logged 'rejected user $user: $why'; the client logged the same as for a wrong password"
}

# start_clients NAME...: each in its namespace, with a fresh log mark in
# MARK_C[NAME]; stop_clients NAME... stops them again.
declare -A MARK_C=()
start_clients() {
	local n
	for n in "$@"; do
		MARK_C[$n]=1
		[ -n "${DLOG[$n]:-}" ] && MARK_C[$n]=$(log_mark "$n")
		start_ostpd "$n" "${NS_OF[${CNS[$n]}]}" "$T_DIR/$n.conf"
	done
}
stop_clients() {
	local n
	for n in "$@"; do stop_ostpd "$n"; done
}
# start_server CONF: the server, its log mark in MARK_S.
start_server() {
	MARK_S=$(log_mark srv)
	start_ostpd srv "$NS_SRV" "$1"
	wait_server_up srv
}

# ---- the PAM server -------------------------------------------------------------
start_server "$T_DIR/srv.conf"
log_has srv "passwords are checked by PAM service ostp \\($T_DIR/pam.d/ostp\\)" "$MARK_S" ||
	fail "the server did not say which PAM service checks passwords"
start_clients ian wrongpw zed dominik mallory
wait_tunnel ian ian
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server, password checked by PAM"
log_has srv "${EP[ian]}:[0-9]+: authenticated as ian" "$MARK_S" || fail "no 'authenticated as ian'"

expect_refused wrongpw ian 'PAM authentication: Authentication failure' "$MARK_S" "${MARK_C[wrongpw]}"
expect_refused zed zed 'PAM authentication: User not known to the underlying authentication module' \
	"$MARK_S" "${MARK_C[zed]}"
expect_refused dominik dominik 'not in the trusted users list' "$MARK_S" "${MARK_C[dominik]}"
expect_refused mallory mallory 'not in the trusted users list' "$MARK_S" "${MARK_C[mallory]}"
log_has srv 'PAM service .*:|PAM error' "$MARK_S" && fail "a PAM error on a working stack"
check_ping "${NS_OF[c1]}" "$SRV_V6" "ian -> server, still"
stop_clients ian wrongpw zed dominik mallory
stop_ostpd srv

# ---- a broken stack: the same answer, and the server says why -------------------
start_server "$T_DIR/broken.conf"
broken_start=$SECONDS
start_clients ian
expect_refused ian ian 'PAM error in authentication: .*' "$MARK_S" "${MARK_C[ian]}"
log_has srv '^ERROR: PAM service broken: PAM error in authentication: .*\(user ian' "$MARK_S" ||
	fail "no ERROR line naming the broken PAM service"
wait_for 60 "a third refusal" log_count_ge srv 3 'rejected user ian: PAM error' "$MARK_S" ||
	fail "ian was not refused a third time"
# one ERROR line per ten seconds, however many logins fail
errs=$(log_count srv '^ERROR: PAM service broken' "$MARK_S")
fails=$(log_count srv 'rejected user ian: PAM error' "$MARK_S")
say "broken stack: $fails refusals, $errs ERROR lines: $(tail -n "+$MARK_S" "${DLOG[srv]}" |
	grep -m1 '^ERROR: PAM service broken')"
[ "$errs" -le $(( (SECONDS - broken_start) / 10 + 1 )) ] ||
	fail "PAM error lines are not rate-limited ($errs in $((SECONDS - broken_start)) s)"
stop_clients ian
stop_ostpd srv
ok "broken stack: refused as for a wrong password, one server ERROR line per 10 s"

# ---- privileges dropped: pam_userdb reads the database as nobody ------------------
chgrp "$NOGROUP" "$T_DIR/pam/users.db"
chmod 0640 "$T_DIR/pam/users.db"
chmod 0644 "$T_DIR/trusted" "$T_DIR/pam.d/ostp"
start_server "$T_DIR/nobody.conf"
start_clients ian wrongpw
wait_tunnel ian ian
[ "$(ps -o user= -p "${DPID[srv]}" | tr -d ' ')" = nobody ] || fail "the server does not run as nobody"
check_ping "${NS_OF[c1]}" "$SRV_V4" "ian -> server run by nobody, password checked by PAM"
expect_refused wrongpw ian 'PAM authentication: Authentication failure' "$MARK_S" "${MARK_C[wrongpw]}"
stop_clients ian wrongpw
stop_ostpd srv

# The control: the same database readable by root alone refuses ian, so
# the login above did go through PAM as nobody.
chmod 0600 "$T_DIR/pam/users.db"
chgrp root "$T_DIR/pam/users.db"
start_server "$T_DIR/nobody.conf"
start_clients ian
expect_refused ian ian 'PAM .*' "$MARK_S" "${MARK_C[ian]}"
say "database unreadable by nobody: $(tail -n "+$MARK_S" "${DLOG[srv]}" |
	grep -m1 -o 'rejected user ian: .*')"
for n in srv ian; do daemon_alive "$n" || fail "$n exited"; done
pass
