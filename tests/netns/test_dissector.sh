#!/bin/bash
# SPDX-License-Identifier: ISC
# The Wireshark dissector (scripts/wireshark/ostp.lua) under tshark, and
# ostpd's key log (key_log in ostpd.conf(5)) that lets it decrypt.
#
# 1. The known-answer vectors (tests/vectors) as captures: every record of
#    every .vec file shown with its type, counter, flags and length, and
#    decrypted under the key generation the vector names to the plaintext it
#    lists (rekeys included), with TCP segments of 1400 bytes, and of 5 in
#    two passes (the second from what the first stored); the raw
#    session's 10000-byte DATA reassembled from its three chained frames;
#    without the key log the same records, none decrypted; a wrong key
#    decrypts nothing; a connection on a port not configured found by the
#    heuristic, and not when the heuristic is off.
# 2. Live sessions: a server and two clients with key_log set (a warning
#    in every log and from ostpd -n; the server's file holds the lines of
#    both clients' files), dumpcap on the server's underlay while ian (GSO)
#    and quinn (no GSO) each ping the server PINGS times with a payload
#    pattern of their own, ian sends a file over TCP, and both stop.  tshark
#    with the server's key log, per session: the SR and SH, every frame
#    decrypted with consecutive counters, SERVER_AUTH, the user's SAP and
#    its AUTH_SUCCESS, the PAP exchange, the CONFIG of MTU 1420, exactly
#    PINGS echo requests with the pattern and PINGS replies (DATA_GSO for
#    ian, DATA for quinn), keepalive ECHO_REQs and each ECHO_REPLY
#    answering one, the client's CLOSE(SHUTDOWN); for ian, chained DATA_GSO
#    messages reassembled.  Without the key log: the same records, none
#    decrypted, no ICMP.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd tshark dumpcap ping

LUA=$OSTP_TOP/scripts/wireshark/ostp.lua
HELPER=$OSTP_TOP/tests/netns/ostp_pcap.py
VEC=$OSTP_TOP/tests/vectors
[ -r "$LUA" ] || fail "no dissector at $LUA"

# tshark_ostp OUT PCAP [tshark options...]: the PDML of PCAP through the
# dissector, in OUT.
tshark_ostp() {
	local out=$1 pcap=$2
	shift 2
	tshark -n -r "$pcap" -X "lua_script:$LUA" "$@" -T pdml > "$out" 2> "$out.err" ||
		fail "tshark on $pcap: $(tail -n 5 "$out.err")"
	# a Lua error is a warning on stderr (loading) or an item in the tree
	# (dissecting), never an exit status
	if grep -qi 'lua' "$out.err"; then
		cat "$out.err"
		fail "tshark reports Lua errors on $pcap"
	fi
	if grep -q '"_ws.lua.error"' "$out"; then
		grep -o 'Lua Error: [^"]*' "$out" | sort | uniq -c | head
		fail "Lua errors dissecting $pcap"
	fi
	grep -q '"ostp.malformed"' "$out" && fail "$pcap: records marked malformed"
	return 0
}

# check_pdml PDML EXPECT [plain]
check_pdml() {
	"$PY" "$HELPER" check "$@" > "$T_DIR/check.out" 2>&1 || {
		cat "$T_DIR/check.out"
		fail "$1: not what $2 lists"
	}
}

# ---- 1. the vectors ------------------------------------------------------------

V=$T_DIR/vec
mkdir -p "$V"
nvec=0
for vec in "$VEC"/*.vec; do
	n=$(basename "$vec" .vec)
	# tiny segments, and two passes (the second shows what the first
	# stored, as Wireshark does when a packet is selected)
	for seg in 1400 5; do
		two=
		[ $seg = 5 ] && two=-2
		"$PY" "$HELPER" vec "$vec" "$V/$n-$seg" "$seg" 7000 || fail "ostp_pcap.py vec $vec"
		tshark_ostp "$V/$n-$seg.pdml" "$V/$n-$seg.pcap" $two -o "ostp.keylog_file:$V/$n-$seg.keys"
		check_pdml "$V/$n-$seg.pdml" "$V/$n-$seg.expect"
	done
	nvec=$((nvec + 1))
done
[ "$nvec" -ge 7 ] || fail "only $nvec vectors in $VEC"
ok "$nvec vectors: every record shown and decrypted under the right key generation, segments of 1400 bytes, and of 5 bytes in two passes"

for seg in 1400 7; do
	two=
	[ $seg = 7 ] && two=-2
	"$PY" "$HELPER" hexsession "$VEC" "$V/hex-$seg" "$seg" 7000 || fail "ostp_pcap.py hexsession"
	tshark_ostp "$V/hex-$seg.pdml" "$V/hex-$seg.pcap" $two -o "ostp.keylog_file:$V/hex-$seg.keys"
	check_pdml "$V/hex-$seg.pdml" "$V/hex-$seg.expect"
done
ok "raw session: handshake decrypted, the chained 10000-byte DATA reassembled from 3 frames"

tshark_ostp "$V/plain.pdml" "$V/members-1400.pcap"
check_pdml "$V/plain.pdml" "$V/members-1400.expect" plain
grep -q '"ostp.nokey"' "$V/plain.pdml" || fail "no 'no key' note without a key log"
# the last hex digit of each key changed
awk '/^OSTP_TRAFFIC_KEY/ { c = substr($5, 64, 1); $5 = substr($5, 1, 63) (c == "0" ? "1" : "0") } 1' \
	"$V/members-1400.keys" > "$V/wrong.keys"
cmp -s "$V/members-1400.keys" "$V/wrong.keys" && fail "the wrong key log is not wrong"
tshark_ostp "$V/wrong.pdml" "$V/members-1400.pcap" -o "ostp.keylog_file:$V/wrong.keys"
check_pdml "$V/wrong.pdml" "$V/members-1400.expect" plain
grep -q '"ostp.badtag"' "$V/wrong.pdml" || fail "no 'no key opens this frame' warning for wrong keys"
ok "without the key log, and with wrong keys: every record shown, none decrypted"

"$PY" "$HELPER" vec "$VEC/mesh_link.vec" "$V/heur" 1400 7201 || fail "ostp_pcap.py vec"
for two in "" -2; do
	tshark_ostp "$V/heur.pdml" "$V/heur.pcap" $two -o "ostp.keylog_file:$V/heur.keys"
	check_pdml "$V/heur.pdml" "$V/heur.expect"
done
tshark_ostp "$V/noheur.pdml" "$V/heur.pcap" -o "ostp.keylog_file:$V/heur.keys" \
	-o ostp.heuristic:FALSE
grep -q '<proto name="ostp"' "$V/noheur.pdml" && fail "OSTP found on port 7201 with the heuristic off"
ok "a connection on port 7201 found by its Session Request, and not with the heuristic off"

# ---- 2. a live session -----------------------------------------------------------

PINGS=7
PATTERN=0571d155ec7ed0c0ffee5eed0ddba11a     # ian's pings
PATTERN_Q=5eed0ddba11a0571d155ec7ed0c0ffee   # quinn's
# ian agrees GSO (packets travel as DATA_GSO, a large one chained), quinn
# does not (DATA)
U_SPW[quinn]='"config", "ipv4", "ipv6"'
topo_users 2 ian quinn
# key_log is a top-level setting: before any section
for n in srv ian quinn; do
	sed -i "1i key_log = \"$T_DIR/$n-keys.log\"" "$T_DIR/$n.conf"
done
"$OSTPD" -n -c "$T_DIR/srv.conf" > "$T_DIR/n.out" 2> "$T_DIR/n.err" || fail "ostpd -n"
grep -q "^key_log = \"$T_DIR/srv-keys.log\"" "$T_DIR/n.out" || fail "ostpd -n does not print key_log"
grep -q 'key_log is ON.*never in production' "$T_DIR/n.err" ||
	fail "ostpd -n does not warn about key_log: $(cat "$T_DIR/n.err")"

CAP=$T_DIR/cap.pcapng
bg_run dumpcap "$NS_SRV" dumpcap -i eth0 -f "tcp port $SRV_PORT" -w "$CAP"
CAP_PID=$BG_PID
wait_for 10 "dumpcap capturing" grep -q "Capturing on" "$T_DIR/dumpcap.out" ||
	fail "dumpcap did not start: $(cat "$T_DIR/dumpcap.out")"

start_tunnels ian quinn
for d in srv ian quinn; do
	log_has "$d" 'key_log is ON.*never in production' || fail "$d: no warning about key_log"
	[ "$(stat -c %a "$T_DIR/$d-keys.log")" = 600 ] ||
		fail "$d: key log mode $(stat -c %a "$T_DIR/$d-keys.log"), not 600"
done
ok "key_log: a warning at start-up (and from ostpd -n), the files made 0600"

for u in ian quinn; do
	ns=${NS_OF[c1]} pat=$PATTERN
	[ $u = quinn ] && ns=${NS_OF[c2]} pat=$PATTERN_Q
	nsx "$ns" ping -c "$PINGS" -i 0.2 -W 2 -p "$pat" "$SRV_V4" > "$T_DIR/ping.out" 2>&1 ||
		{ cat "$T_DIR/ping.out"; fail "$u: ping through the tunnel"; }
	grep -q " $PINGS received" "$T_DIR/ping.out" || { cat "$T_DIR/ping.out"; fail "$u: ping lost packets"; }
done
head -c 300000 /dev/urandom > "$T_DIR/blob"
transfer "${NS_OF[c1]}" "$NS_SRV" "$SRV_V4" 5001 "$T_DIR/blob" "ian -> server over TCP"
# quiet for well over the clients' keepalive (2 s without input): each
# sends an ECHO_REQ
sleep 5
for u in ian quinn; do
	stop_ostpd $u
	[ "$STOP_RC" = 0 ] || fail "$u exited with status $STOP_RC"
	wait_for 10 "server sees $u close" log_has srv "user $u: closed: peer closed the session" ||
		fail "server did not log $u's close"
done
sleep 0.5
stop_pid "$CAP_PID" INT
[ -s "$CAP" ] || fail "no capture"
ok "captured two sessions: $PINGS pings each with a pattern, a 300000-byte transfer, both clients' stop"

# Each client logged its session's two generation-0 keys (no rekey in so
# short a session), the server both sessions'.
for u in ian quinn; do
	[ "$(grep -c '^OSTP_TRAFFIC_KEY [0-9a-f]\{64\} \(c2s\|s2c\) 0 [0-9a-f]\{64\}$' "$T_DIR/$u-keys.log")" = 2 ] ||
		{ cat "$T_DIR/$u-keys.log"; fail "$u: the key log does not hold the 2 lines of one session"; }
done
sort "$T_DIR/srv-keys.log" > "$T_DIR/s.sorted"
sort "$T_DIR/ian-keys.log" "$T_DIR/quinn-keys.log" > "$T_DIR/c.sorted"
cmp -s "$T_DIR/s.sorted" "$T_DIR/c.sorted" || fail "the server's key log is not the clients' two"
ok "key logs: 2 lines per client, the server's the same 4"

tshark_ostp "$T_DIR/live.pdml" "$CAP" -o "ostp.keylog_file:$T_DIR/srv-keys.log"
"$PY" "$HELPER" summary "$T_DIR/live.pdml" > "$T_DIR/live.txt" || fail "summary"
tshark_ostp "$T_DIR/live0.pdml" "$CAP"
"$PY" "$HELPER" summary "$T_DIR/live0.pdml" > "$T_DIR/live0.txt" || fail "summary"

count() { grep -Ec -- "$1" "$2"; }
# expect_count N ERE FILE WHAT: N records of FILE match
expect_count() {
	local n
	n=$(count "$2" "$3")
	[ "$n" = "$1" ] || { cut -c1-160 "$3"; fail "$4: $n records, not $1"; }
}
L=$T_DIR/live.txt
expect_count 2 '^SR c2s' "$L" "Session Requests"
expect_count 2 '^SH s2c' "$L" "Server Replies"
[ "$(count '^frame .* encrypted' "$L")" = 0 ] || fail "frames left encrypted with the key log"
for u in ian quinn; do
	stream=$(grep -E "^frame c2s SAP .* sap.user=$u " "$L" | sed 's/.* stream=\([0-9]*\) .*/\1/')
	[ -n "$stream" ] || { cut -c1-160 "$L"; fail "no SAP of $u"; }
	S=$T_DIR/live-$u.txt
	grep -E "^(SR|SH) .* stream=$stream |^frame .* stream=$stream " "$L" > "$S"
	data=DATA_GSO pat=$PATTERN
	[ $u = quinn ] && data=DATA pat=$PATTERN_Q
	expect_count 1 '^SR c2s' "$S" "$u: Session Request"
	expect_count 1 '^SH s2c' "$S" "$u: Server Reply"
	expect_count 1 '^frame s2c SERVER_AUTH 0 96 gen=0 ' "$S" "$u: SERVER_AUTH"
	expect_count 1 "^frame c2s SAP 0 [0-9]+ gen=0 stream=$stream sap.user=$u sap.code=0 " "$S" "$u: SAP"
	expect_count 1 "^frame s2c SAP 1 [0-9]+ gen=0 stream=$stream sap.user=$u sap.code=0 " "$S" "$u: AUTH_SUCCESS"
	expect_count 1 '^frame c2s PAP 1 3 gen=0 .* pap.code=0 ' "$S" "$u: PAP"
	expect_count 1 '^frame s2c PAP 2 3 gen=0 .* pap.code=0 ' "$S" "$u: PAP_SUCCESS"
	expect_count 1 '^frame s2c CONFIG 3 39 gen=0 .* config.mtu=1420 ' "$S" "$u: CONFIG"
	expect_count 1 '^frame c2s CLOSE [0-9]+ 1 gen=0 .* close.reason=7 ' "$S" "$u: CLOSE(SHUTDOWN)"
	expect_count 0 '^frame s2c CLOSE' "$S" "$u: a CLOSE of the server"
	expect_count "$PINGS" "^frame c2s $data .* icmp=8 seq=[0-9]+ data=[0-9a-f]*$pat" "$S" "$u: echo requests with the pattern"
	expect_count "$PINGS" "^frame s2c $data .* icmp=0 seq=[0-9]+ data=[0-9a-f]*$pat" "$S" "$u: echo replies with the pattern"
	expect_count "$PINGS" " icmp=8 " "$S" "$u: echo requests in all"
	expect_count 0 '^frame [cs]2[cs] DATA(_GSO)? ' <(grep -v "^frame [cs]2[cs] $data " "$S") "$u: the other kind of DATA"
	seqs=$(grep -E "^frame c2s $data .* icmp=8 " "$S" | sed 's/.* seq=\([0-9]*\) .*/\1/' | tr '\n' ' ')
	[ "$seqs" = "$(seq -s ' ' 1 "$PINGS") " ] || fail "$u: echo request sequence numbers $seqs"
	[ "$(count '^frame c2s ECHO_REQ [0-9]+ 8 ' "$S")" -ge 1 ] || fail "$u: no keepalive ECHO_REQ"
	[ "$(count '^frame s2c ECHO_REPLY [0-9]+ 8 ' "$S")" -ge 1 ] || fail "$u: no ECHO_REPLY"
	# each direction's frames count 0, 1, 2, ... in capture order
	for dir in c2s s2c; do
		grep "^frame $dir " "$S" | awk -v d=$dir '
			$4 != NR - 1 { printf "%s frame %d has counter %s\n", d, NR - 1, $4; bad = 1 }
			END { exit bad }' || fail "$u: $dir counters are not consecutive"
		# every keepalive reply repeats the data of a request the other way
		other=$([ $dir = c2s ] && echo s2c || echo c2s)
		grep -E "^frame $dir ECHO_REPLY " "$S" | awk '{ print $NF }' | sort > "$T_DIR/rep"
		grep -E "^frame $other ECHO_REQ " "$S" | awk '{ print $NF }' | sort > "$T_DIR/req"
		[ -z "$(comm -23 "$T_DIR/rep" "$T_DIR/req")" ] || fail "$u: $dir ECHO_REPLY without its request"
	done
	ok "$u: SR, SH, SERVER_AUTH, SAP and AUTH_SUCCESS, PAP, CONFIG mtu 1420, keepalives, CLOSE(7); exactly $PINGS echo requests and replies with its pattern in $data; consecutive counters"
done
S=$T_DIR/live-ian.txt
nchain=$(count '^frame c2s DATA_GSO .* chain.frames=([2-9]|1[0-7]) ' "$S")
[ "$nchain" -gt 0 ] || fail "no chained DATA_GSO reassembled"
[ "$(count 'chain.frames=.* tcp=[0-9]+>5001 len=[0-9]{4,}' "$S")" -gt 0 ] ||
	fail "no reassembled DATA_GSO carrying the transfer's TCP"
ok "ian: $nchain chained DATA_GSO messages reassembled, carrying the transfer's TCP to port 5001"

# Without the key log: the same records, headers only.
awk '{ print $1, $2, $3, $4, $5 }' "$T_DIR/live.txt" > "$T_DIR/a"
awk '{ print $1, $2, $3, $4, $5 }' "$T_DIR/live0.txt" > "$T_DIR/b"
cmp -s "$T_DIR/a" "$T_DIR/b" || { diff "$T_DIR/a" "$T_DIR/b" | head; fail "records differ without the key log"; }
[ "$(count '^frame .* encrypted ' "$T_DIR/live0.txt")" = "$(count '^frame ' "$T_DIR/live0.txt")" ] ||
	fail "frames decrypted without the key log"
grep -q 'icmp=' "$T_DIR/live0.txt" && fail "ICMP decoded without the key log"
ok "without the key log: the same $(wc -l < "$T_DIR/live0.txt") records, headers only"
pass
