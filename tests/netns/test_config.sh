#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpd -n -c: a good configuration exits 0 and prints every setting (and
# that output loads again to the same output); a bad one exits 2 with
# "FILE:LINE: message" naming the offending line.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init

make_server_key
add_user ian ian-secret
add_user quinn quinn-secret
write_server_conf "$T_DIR/srv.conf" "handshake_timeout = 2"
write_client_conf "$T_DIR/ian.conf" ian
ERRORS=()
bad() { ERRORS+=("$*"); say "FAILED CHECK: $*"; }

# ---- good configurations -----------------------------------------------------
# check_good FILE EXPECTED-LINE...: exit 0, the output has each line, and
# loading the output again prints it unchanged.
check_good() {
	local f=$1 rc l
	shift
	"$OSTPD" -n -c "$f" > "$T_DIR/out1" 2> "$T_DIR/err1"
	rc=$?
	if [ $rc != 0 ]; then
		bad "$f: exit $rc, expected 0: $(cat "$T_DIR/err1")"
		return
	fi
	[ -s "$T_DIR/err1" ] && bad "$f: stderr not empty: $(cat "$T_DIR/err1")"
	for l in "$@"; do
		grep -qxF -- "$l" <(sed 's/^[[:space:]]*//' "$T_DIR/out1") ||
			bad "$f: the printed configuration has no line '$l'"
	done
	"$OSTPD" -n -c "$T_DIR/out1" > "$T_DIR/out2" 2> "$T_DIR/err2"
	rc=$?
	if [ $rc != 0 ]; then
		bad "$f: the printed configuration does not load again (exit $rc): $(cat "$T_DIR/err2")"
	elif ! cmp -s "$T_DIR/out1" "$T_DIR/out2"; then
		bad "$f: printing the printed configuration changes it: $(diff "$T_DIR/out1" "$T_DIR/out2" | head -n 10)"
	else
		ok "$(basename "$f"): exit 0, $(wc -l < "$T_DIR/out1") lines printed, output loads back identically"
	fi
}
check_good "$T_DIR/srv.conf" 'interface = "ostps"' 'mtu = 1420' \
	"address = { \"$SRV_V4/24\", \"$SRV_V6/64\" }" \
	"listen = { \"$SRV_UNDERLAY:$SRV_PORT\" }" 'handshake_timeout = 2' \
	'require_auth = true' 'spw = { "config", "ipv4", "ipv6", "gso", "relay" }' \
	'user "ian" {' 'user "quinn" {' "address = { \"${U_V4[quinn]}/24\", \"${U_V6[quinn]}/64\" }" \
	'max_sessions = 1024' 'log = "stderr"'
check_good "$T_DIR/ian.conf" 'interface = "ostpc"' "server_key = \"$SERVER_KEY\"" \
	'username = "ian"' 'keepalive = 2' 'dead_after = 6' 'reconnect_max = 4' \
	'trust_on_first_use = false' 'routes = {}'
for f in "$OSTP_TOP/etc/ostpd.conf" "$OSTP_TOP/etc/client.conf"; do
	[ -f "$f" ] && check_good "$f"
done

# ---- bad configurations ------------------------------------------------------
# check_bad NAME LINE ERE: $T_DIR/NAME.conf (already written) exits 2 and
# its first stderr line starts "FILE:LINE: " (LINE "any": some number) and
# matches ERE.
check_bad() {
	local name=$1 line=$2 re=$3 f=$T_DIR/$1.conf rc msg
	"$OSTPD" -n -c "$f" > "$T_DIR/out1" 2> "$T_DIR/err1"
	rc=$?
	msg=$(head -n 1 "$T_DIR/err1")
	if [ $rc != 2 ]; then
		bad "$name: exit $rc, expected 2 (stderr: '$msg')"
	elif [ "$line" = any ] && [[ $msg != "$f:"[0-9]*": "* ]]; then
		bad "$name: message '$msg' does not start with '$f:LINE: '"
	elif [ "$line" != any ] && [[ $msg != "$f:$line: "* ]]; then
		bad "$name: message '$msg' does not start with '$f:$line: '"
	elif ! grep -Eq -- "$re" <<< "$msg"; then
		bad "$name: message '$msg' does not match /$re/"
	else
		[ -s "$T_DIR/out1" ] && bad "$name: a configuration was printed despite the error"
		ok "$name: exit 2, '${msg#"$T_DIR"/}'"
	fi
}
# bad_variant NAME LINE SED ERE: the server config with one line changed
bad_variant() {
	sed "$3" "$T_DIR/srv.conf" > "$T_DIR/$1.conf"
	cmp -s "$T_DIR/srv.conf" "$T_DIR/$1.conf" && { bad "$1: the sed script changed nothing"; return; }
	check_bad "$1" "$2" "$4"
}
# line 3 of the server config is its address list
sed -n 3p "$T_DIR/srv.conf" | grep -q '^address = ' || fail "line 3 of srv.conf is not the address"
bad_variant bad-prefix 3 "3s#$SRV_V4/24#$SRV_V4/33#" "$SRV_V4/33"
bad_variant bad-prefix6 3 "3s#$SRV_V6/64#fd00:1::zz/64#" 'fd00:1::zz/64'
bad_variant bad-mtu 2 '2s/1420/100/' '100'
bad_variant unknown-option 5 '5s/.*/bogus_option = 1/' 'bogus_option'
ln=$(grep -n '^  listen = ' "$T_DIR/srv.conf" | cut -d: -f1)
bad_variant bad-endpoint "$ln" "${ln}s/:$SRV_PORT/:99999/" '99999'
ln=$(grep -n '^  spw = ' "$T_DIR/srv.conf" | head -n 1 | cut -d: -f1)
bad_variant bad-spw "$ln" "${ln}s/\"relay\"/\"warp\"/" 'warp'
ln=$(grep -n "\"${U_V4[quinn]}/24\"" "$T_DIR/srv.conf" | cut -d: -f1)
bad_variant bad-user-prefix "$ln" "${ln}s#${U_V6[quinn]}/64#${U_V6[quinn]}/129#" '/129'
ln=$(grep -n '^  server_key = ' "$T_DIR/ian.conf" | cut -d: -f1)
sed "${ln}s#= \".*\"#= \"AAAA\"#" "$T_DIR/ian.conf" > "$T_DIR/bad-key.conf"
check_bad bad-key "$ln" 'server_key'
ln=$(grep -n '^  server = ' "$T_DIR/ian.conf" | cut -d: -f1)
sed "${ln}s#= \".*\"#= \"server.example:7000\"#" "$T_DIR/ian.conf" > "$T_DIR/bad-server.conf"
check_bad bad-server "$ln" 'server.example'
# a file cut short: the server section is never closed
ln=$(grep -n '^  spw = ' "$T_DIR/srv.conf" | head -n 1 | cut -d: -f1)
sed -n "1,${ln}p" "$T_DIR/srv.conf" > "$T_DIR/truncated.conf"
if ! grep -q '^server {$' "$T_DIR/truncated.conf" || grep -q '^}' "$T_DIR/truncated.conf"; then
	fail "truncated.conf is not what was meant"
fi
check_bad truncated any '.'

if [ ${#ERRORS[@]} -gt 0 ]; then
	fail "${#ERRORS[@]} check(s) failed: $(printf '\n  - %s' "${ERRORS[@]}")"
fi
pass
