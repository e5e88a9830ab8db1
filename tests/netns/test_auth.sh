#!/bin/bash
# SPDX-License-Identifier: ISC
# Refused logins: a wrong password, an unknown user, a user with a password
# who is not in the trust list, a trusted user without a password; and a
# client pinned to another server key.  None may get a tunnel or an address;
# a correct client next to them must.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init

topo_init 6
make_server_key
add_user ian ian-secret
add_user dominik dominik-secret 0        # password, not trusted
add_user zed zed-secret 1 0              # trusted, no password
# mallory: nowhere on the server; a password file for the client only
(umask 077 && echo mallory-secret > "$T_DIR/mallory.pw")
(umask 077 && echo not-ians-password > "$T_DIR/wrong.pw")
OTHER_KEY=$("$OSTPD" -g "$T_DIR/other.key") || fail "ostpd -g"
[ "$OTHER_KEY" != "$SERVER_KEY" ] || fail "two generated keys are equal"

write_server_conf "$T_DIR/srv.conf"
write_client_conf "$T_DIR/wrongpw.conf" wrongpw user=ian pwfile="$T_DIR/wrong.pw"
write_client_conf "$T_DIR/mallory.conf" mallory
write_client_conf "$T_DIR/dominik.conf" dominik
write_client_conf "$T_DIR/zed.conf" zed
write_client_conf "$T_DIR/wrongkey.conf" wrongkey user=ian server_key="$OTHER_KEY"
write_client_conf "$T_DIR/ian.conf" ian

start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
# c1..c5: the refused clients, c6: the good one
declare -A EP=()     # client -> its underlay address, as the server logs it
i=1
for n in wrongpw mallory dominik zed wrongkey ian; do
	start_ostpd "$n" "${NS_OF[c$i]}" "$T_DIR/$n.conf"
	EP[$n]=198\.18\.0\.$((i + 1))
	i=$((i + 1))
done
wait_tunnel ian ian
check_ping "${NS_OF[c6]}" "$SRV_V4" "the good client ian -> server"

expect_reject() {
	local n=$1 user=$2 why=$3 ep=${EP[$1]} addr=${EP[$1]//\\/}
	# two refusals: the first one and one after the client reconnected
	wait_for 30 "server rejects $user from $addr twice" \
		log_count_ge srv 2 "^WARN: $ep:[0-9]+: rejected user $user: $why\$" ||
		fail "server did not log 'rejected user $user: $why' twice for $addr"
	log_has srv "$ep:[0-9]+: authenticated" && fail "server authenticated $addr ($n)"
	log_has srv "$ep:[0-9]+: session up" && fail "server logged a session up for $addr ($n)"
	log_has "$n" 'reconnecting to the server in' || fail "$n did not log reconnecting"
	ok "$n: server logged 'rejected user $user: $why', client reconnects"
}
expect_reject wrongpw ian 'wrong password'
expect_reject mallory mallory 'not in the trusted users list'
expect_reject dominik dominik 'not in the trusted users list'
expect_reject zed zed 'no password set'

# The pinned key differs: the client stops before sending its password.
wait_for 30 "wrongkey: two key mismatches" \
	log_count_ge wrongkey 2 'closed: server key does not match the pinned key' ||
	fail "wrongkey: no key mismatch logged twice"
log_has wrongkey 'reconnecting to the server in' || fail "wrongkey did not log reconnecting"
log_has srv "${EP[wrongkey]}:[0-9]+: (authenticated|rejected|session up)" &&
	fail "the server saw a login from the client pinned to another key"
log_has wrongkey 'logged in' && fail "wrongkey logged in"
ok "wrongkey: 'server key does not match the pinned key', no login reached the server"

i=1
for n in wrongpw mallory dominik zed wrongkey; do
	daemon_alive "$n" || fail "$n exited (it should keep retrying)"
	log_has "$n" 'tunnel up' && fail "$n: tunnel up"
	ip -n "${NS_OF[c$i]}" addr show dev ostpc | grep -Eq 'inet6? .*scope global' &&
		fail "$n: a global address on its TUN: $(ip -n "${NS_OF[c$i]}" addr show dev ostpc)"
	nsx "${NS_OF[c$i]}" ping -c 1 -W 1 "$SRV_V4" > /dev/null 2>&1 &&
		fail "$n reaches the server's tunnel address"
	i=$((i + 1))
done
ok "no refused client has a tunnel, a global address or a route to the server's tunnel address"

check_ping "${NS_OF[c6]}" "$SRV_V6" "the good client ian -> server, still"
log_has srv 'user ian: closed' && fail "the good session was closed"
daemon_alive srv || fail "server exited"
pass
