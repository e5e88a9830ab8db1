#!/bin/bash
# SPDX-License-Identifier: ISC
# Mesh links under attack: refusals, races and bad input.  An OCS vouches
# for four members, ann (c1), bob (c2), cat (c3) and dora (c4), each with a
# mesh listener at its underlay address, port 7201; fay is a member too
# but runs no daemon (her key file plays a member for tests/meshdial.c);
# c5 is an attacker's namespace with no member in it.
#
#   1. a key the OCS did not vouch for is refused with CLOSE(9) and
#      logged; ann's links to the others carry on;
#   2. bob announces cat's listener as his own: ann (whose key is lower,
#      so she dials bob at once) reaches cat, whose key is not bob's, and
#      gives up that dial with a log line about the key; bob dials ann
#      after dial_delay_ms and ann reaches bob directly; no link named bob
#      ends up on cat's listener.  meshdial with ann's key file, pinned to
#      bob's key at cat's address, fails the same way (exit 4);
#   3. a recorded member handshake (fay's: a member with no daemon of her
#      own, so the recording disturbs no running link) replayed from c5 is
#      closed and establishes no link;
#   4. cat and dora dial each other at once (dial_delay_ms = 0): their
#      link is killed on both sides at the same moment (ss -K on its
#      4-tuple), 20 times; each round ends with exactly one TCP connection
#      between them, one session each, carrying their pings; how many
#      rounds raced ("two links at once") is printed, and none at all
#      fails the test, which would then not exercise the race;
#   5. a packet from ann over her direct link to bob with a source outside
#      ann's prefixes is dropped by bob and counted (drops_source), while
#      ann's own pings to bob are answered;
#   6. garbage, a truncated Session Request and an oversized frame header
#      sent to ann's mesh listener close that connection only, each with a
#      debug line saying why; ann's links still carry pings.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init

: "${MESHDIAL:=$OSTP_BUILD/meshdial}"
case $MESHDIAL in /*) ;; *) MESHDIAL=$OSTP_TOP/$MESHDIAL ;; esac
[ -x "$MESHDIAL" ] || fail "no meshdial at $MESHDIAL (make BUILD=... $MESHDIAL)"
need_cmd ss

# rounds of check 4 (fewer only to try the test out)
: "${MESH_RACE_ROUNDS:=20}"
RACE_ROUNDS=$MESH_RACE_ROUNDS

topo_init 5
MEMBERS=(ann bob cat dora)
declare -A NS_U=([ann]=${NS_OF[c1]} [bob]=${NS_OF[c2]} [cat]=${NS_OF[c3]} [dora]=${NS_OF[c4]})
declare -A UL=([ann]=198.18.0.2 [bob]=198.18.0.3 [cat]=198.18.0.4 [dora]=198.18.0.5)
C_ATT=${NS_OF[c5]}
UL_ATT=198.18.0.6
MESH_PORT=7201
make_server_key
MESH_SPW='"config", "ipv4", "ipv6", "gso", "relay", "mesh"'
declare -A KEY=()
for u in "${MEMBERS[@]}" fay; do
	add_user "$u" "$u-secret"
	set_user_key "$u" "$T_DIR/$u.id"
	KEY[$u]=$USER_KEY
	U_SPW[$u]=$MESH_SPW
done

# key_lt A B: the base64 key A sorts below B as 32 raw bytes, the order
# the dial rule and the two-links rule use.
key_lt() {
	"$PY" -c 'import base64, sys; sys.exit(0 if base64.b64decode(sys.argv[1]) < base64.b64decode(sys.argv[2]) else 1)' "$1" "$2"
}
# Check 2 needs ann to dial bob at once: her key must be the lower.
if ! key_lt "${KEY[ann]}" "${KEY[bob]}"; then
	mv "$T_DIR/ann.id" "$T_DIR/swap.id"
	mv "$T_DIR/bob.id" "$T_DIR/ann.id"
	mv "$T_DIR/swap.id" "$T_DIR/bob.id"
	t=${KEY[ann]} KEY[ann]=${KEY[bob]} KEY[bob]=$t
	U_KEY[ann]=${KEY[ann]} U_KEY[bob]=${KEY[bob]}
fi
key_lt "${KEY[ann]}" "${KEY[bob]}" || fail "ann's key is still not below bob's"
[ "$("$OSTPD" -p "$T_DIR/ann.id")" = "${KEY[ann]}" ] || fail "ann's key file does not hold her key"
SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso", "mesh"'
write_server_conf "$T_DIR/srv.conf"

for u in "${MEMBERS[@]}"; do
	mesh="listen = { \"${UL[$u]}:$MESH_PORT\" }"
	case $u in
	# bob's entry points at cat's listener
	bob) mesh="$mesh announce = \"${UL[cat]}:$MESH_PORT\"" ;;
	# both dial at once when their link is lost
	cat | dora) mesh="$mesh dial_delay_ms = 0" ;;
	esac
	write_client_conf "$T_DIR/$u.conf" "$u" identity="$T_DIR/$u.id" mesh="$mesh"
done
grep -q 'announce = "198.18.0.4:7201"' "$T_DIR/bob.conf" || fail "bob.conf has no announce line"
grep -q 'dial_delay_ms = 0' "$T_DIR/cat.conf" || fail "cat.conf has no dial_delay_ms line"

# ere TEXT: TEXT as a literal inside an extended regular expression (keys
# hold '+' and '/', addresses dots).
ere() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<< "$1"; }

# md NS ARGS...: meshdial, bounded; JSON lines in $T_DIR/md.out, stderr in
# $T_DIR/md.err, exit status in MD_RC.
md() {
	local ns=$1
	shift
	timeout -k 5 120 ip netns exec "$ns" "$MESHDIAL" "$@" \
		> "$T_DIR/md.out" 2> "$T_DIR/md.err" < /dev/null
	MD_RC=$?
	cat "$T_DIR/md.out" "$T_DIR/md.err" >> "$T_DIR/md.all"
}
md_desc() { echo "status $MD_RC: $(tr '\n' ' ' < "$T_DIR/md.out") $(tr '\n' ' ' < "$T_DIR/md.err")"; }

# shellcheck disable=SC2317  # the helpers below are called through wait_for
# direct NAME PEER [FROM]: NAME's log says PEER is direct (since FROM).
direct() { log_has "$1" "mesh: $2: direct via " "${3:-1}"; }

# conns NS A B: established TCP connections between underlay addresses A
# and B, as NS sees them.
conns() {
	ip netns exec "$1" ss -Htn state established "( src $2 and dst $3 ) or ( src $3 and dst $2 )" |
		grep -c . || true
}

# mesh_sessions NAME PEER: one line per established session of NAME's
# daemon whose user is PEER (its mesh links to PEER): "endpoint
# tx_packets rx_packets drops_source".
mesh_sessions() {
	ctlx "${NS_U[$1]}" -c "$T_DIR/$1.conf" --json show ostpc
	[ "$CTL_RC" = 0 ] || { say "$1: show --json exited $CTL_RC: $CTL_ERR" >&2; return 1; }
	"$PY" - "$T_DIR/ctl.out" "$2" <<- 'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))["ostpc"]
		for s in d["sessions"]:
		    # "server" is the OCS session
		    if (s["user"] == sys.argv[2] and not s["handshaking"]
		            and s.get("role") != "server"):
		        print(s["endpoint"], s["tx_packets"], s["rx_packets"],
		              s.get("drops_source", s["drops"]))
	EOF
}

# member_field NAME PEER FIELD: FIELD of PEER's entry in the "mesh" list
# of NAME's show --json (null printed as "null"); status 2 when ostpctl
# shows no such list, 1 when PEER is not in it.
member_field() {
	ctlx "${NS_U[$1]}" -c "$T_DIR/$1.conf" --json show ostpc
	[ "$CTL_RC" = 0 ] || { say "$1: show --json exited $CTL_RC: $CTL_ERR" >&2; return 1; }
	"$PY" - "$T_DIR/ctl.out" "$2" "$3" <<- 'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))["ostpc"]
		if "mesh" not in d:
		    sys.exit(2)
		for m in d["mesh"]:
		    if m["name"] == sys.argv[2]:
		        v = m.get(sys.argv[3])
		        print("null" if v is None else v)
		        sys.exit(0)
		sys.exit(1)
	EOF
}

# path_direct A B: A's show --json says B's path is direct (true when
# ostpctl shows no mesh list: the callers check the traffic itself too).
path_direct() {
	local v rc
	v=$(member_field "$1" "$2" path)
	rc=$?
	[ $rc = 2 ] || [ "$v" = direct ]
}

# one_link A B: A and B have exactly one connection between them, seen
# from both sides, and each daemon exactly one established session to
# the other.
one_link() {
	local a=$1 b=$2 n
	[ "$(conns "${NS_U[$a]}" "${UL[$a]}" "${UL[$b]}")" = 1 ] || return 1
	[ "$(conns "${NS_U[$b]}" "${UL[$a]}" "${UL[$b]}")" = 1 ] || return 1
	n=$(mesh_sessions "$a" "$b" | grep -c .) || true
	[ "$n" = 1 ] || return 1
	n=$(mesh_sessions "$b" "$a" | grep -c .) || true
	[ "$n" = 1 ]
}

# ping_direct A B: three pings from A to B's tunnel address are all
# answered and went over A's mesh link to B (its DATA count grew by at
# least three; probes and keepalives are not DATA).
ping_direct() {
	local a=$1 b=$2 before after ep0 tx0 ep1 tx1
	before=$(mesh_sessions "$a" "$b") || return 1
	[ "$(grep -c . <<< "$before")" = 1 ] || return 1
	ping_ok "${NS_U[$a]}" "${U_V4[$b]}" 3 || return 1
	after=$(mesh_sessions "$a" "$b") || return 1
	read -r ep0 tx0 _ <<< "$before"
	read -r ep1 tx1 _ <<< "$after"
	[ "$ep0" = "$ep1" ] && [ $((tx1 - tx0)) -ge 3 ]
}

# both_logs A ERE_A FROM_A B ERE_B FROM_B: log_has on two daemons.
# shellcheck disable=SC2317
both_logs() { log_has "$1" "$2" "$3" && log_has "$4" "$5" "$6"; }

# conns_are NS A B N: conns says N.
# shellcheck disable=SC2317
conns_are() { [ "$(conns "$1" "$2" "$3")" = "$4" ]; }

# all_direct: every pair of members has a direct link (both logs), except
# what the caller waits for itself.
# shellcheck disable=SC2317
all_direct() {
	local a b
	for a in "${MEMBERS[@]}"; do
		for b in "${MEMBERS[@]}"; do
			[ "$a" = "$b" ] && continue
			direct "$a" "$b" "${DSTART[$a]}" || return 1
		done
	done
}

start_tunnels "${MEMBERS[@]}"
for u in "${MEMBERS[@]}"; do
	wait_for 10 "$u: member list synced" log_has "$u" 'mesh: member list synced: 4 other members' ||
		fail "$u: no member list with the 4 others"
done
wait_for 30 "every pair direct" all_direct || fail "not every pair of members went direct"
ok "every pair of the 4 members is direct"

# ---- 1. a key the OCS did not vouch for ---------------------------------------
STRANGER=$("$OSTPD" -g "$T_DIR/stranger.id") || fail "ostpd -g"
ma=$(log_mark ann)
md "$C_ATT" -c "${UL[ann]}:$MESH_PORT" -k "${KEY[ann]}" -i "$T_DIR/stranger.id" -t 10
[ "$MD_RC" = 3 ] || fail "1: meshdial with an unlisted key: expected status 3, $(md_desc)"
grep -q '"close_reason":9' "$T_DIR/md.out" || fail "1: no CLOSE(9): $(md_desc)"
grep -q '"event":"established"' "$T_DIR/md.out" && fail "1: the unlisted key got a session: $(md_desc)"
wait_for 5 "ann logs the refusal" log_has ann \
	"mesh: $(ere "$UL_ATT"):[0-9]+: key $(ere "$STRANGER") is not on the member list: refused" "$ma" ||
	fail "1: ann did not log the refused key $STRANGER"
ok "1: an unlisted key is refused with CLOSE(9) and logged: $(grep -E 'not on the member list' "${DLOG[ann]}" | tail -n 1 | sed 's/^.*mesh:/mesh:/')"
# a plain session (no identity at all) is no member either
md "$C_ATT" -c "${UL[ann]}:$MESH_PORT" -k "${KEY[ann]}" -t 10
[ "$MD_RC" = 3 ] || fail "1: meshdial without an identity: expected status 3, $(md_desc)"
ok "1: a session without an identity key is refused with CLOSE(9)"
for u in bob cat dora; do
	ping_direct ann "$u" || fail "1: ann -> $u not answered over the direct link after the refusals"
done
log_has ann 'direct path lost' "$ma" && fail "1: ann lost a direct path during the refusals"
ok "1: ann's direct links to bob, cat and dora still carry pings"

# ---- 2. a peer entry pointing at another member's listener ---------------------
# ann dialed bob at the endpoint bob announced, cat's listener, at start
BAD_EP=$(ere "${UL[cat]}:$MESH_PORT")
log_has ann "mesh: member bob \(.*\) (listed|changed), accepts links at $BAD_EP" ||
	fail "2: ann's list does not have bob at cat's listener"
wait_for 10 "ann gives up bob's dial at cat's listener" log_has ann \
	"mesh: bob at $BAD_EP: .*key" || fail "2: ann logged nothing about the key at cat's listener"
ok "2: ann's dial of bob at cat's listener failed: $(grep -E "mesh: bob at $BAD_EP: " "${DLOG[ann]}" | head -n 1 | sed 's/^.*mesh:/mesh:/')"
log_has ann "mesh: bob: direct via $BAD_EP" && fail "2: ann went direct to bob at cat's listener"
log_has ann "mesh: bob: direct via $(ere "${UL[bob]}"):[0-9]+ \(it dialed\)" ||
	fail "2: bob did not dial ann: $(grep 'mesh: bob' "${DLOG[ann]}" | tail -n 3)"
ok "2: bob dialed ann: $(grep -E 'mesh: bob: direct via' "${DLOG[ann]}" | tail -n 1 | sed 's/^.*mesh:/mesh:/')"
ping_direct ann bob || fail "2: ann -> bob not answered over the direct link"
ok "2: ann -> bob answered over the direct link"
# once bob's link is up ann stops dialing him: between ann and cat only
# their own link is left, and no established session of ann's is named
# bob at cat's listener
wait_for 10 "one connection between ann and cat" conns_are "${NS_U[ann]}" "${UL[ann]}" "${UL[cat]}" 1 ||
	fail "2: $(conns "${NS_U[ann]}" "${UL[ann]}" "${UL[cat]}") connections between ann and cat"
mesh_sessions ann bob > "$T_DIR/bob.sessions" || fail "2: show --json on ann"
grep -q "^${UL[cat]}:$MESH_PORT " "$T_DIR/bob.sessions" &&
	fail "2: ann has a session named bob at cat's listener: $(cat "$T_DIR/bob.sessions")"
[ "$(grep -c . "$T_DIR/bob.sessions")" = 1 ] ||
	fail "2: ann's established sessions named bob: $(cat "$T_DIR/bob.sessions")"
ok "2: one connection between ann and cat; ann's only session named bob is at $(cut -d' ' -f1 "$T_DIR/bob.sessions")"
if ep=$(member_field ann bob endpoint); then
	[ "$(member_field ann bob path)" = direct ] || fail "2: ann's show --json: bob's path is not direct"
	[ "$ep" != "${UL[cat]}:$MESH_PORT" ] || fail "2: ann's show --json: bob's link is at cat's listener"
	ok "2: ann's show --json: bob direct, link at $ep"
elif [ $? = 2 ]; then
	say "2: ostpctl shows no mesh list: checked through the sessions only"
else
	fail "2: bob not in ann's show --json mesh list"
fi
md "$C_ATT" -c "${UL[cat]}:$MESH_PORT" -k "${KEY[bob]}" -i "$T_DIR/ann.id" -t 10
[ "$MD_RC" = 4 ] || fail "2: meshdial as ann pinned to bob's key at cat's listener: expected status 4, $(md_desc)"
ok "2: meshdial as ann, pinned to bob's key, at cat's listener: status 4 (key mismatch)"

# ---- 3. a recorded member handshake replayed ----------------------------------
rm -f "$T_DIR/fay.rec"
ma=$(log_mark ann)
md "$C_ATT" -c "${UL[ann]}:$MESH_PORT" -k "${KEY[ann]}" -i "$T_DIR/fay.id" -r "$T_DIR/fay.rec" -t 3
[ "$MD_RC" = 0 ] || fail "3: recording fay's mesh handshake: $(md_desc)"
rec_size=$(stat -c %s "$T_DIR/fay.rec")
# a Session Request alone is far shorter; CLIENT_AUTH and the close follow it
[ "$rec_size" -gt 200 ] || fail "3: the recording holds only $rec_size bytes"
wait_for 5 "ann accepted fay" log_has ann "mesh: fay: direct via $(ere "$UL_ATT"):[0-9]+ \(it dialed\)" "$ma" ||
	fail "3: ann did not take fay's recorded session as a member's link"
wait_for 5 "fay's link closed" log_has ann "mesh: fay: (direct path lost|link closed)" "$ma" ||
	fail "3: ann did not see fay's recorded session end"
ok "3: recorded fay's mesh handshake to ann ($rec_size bytes; ann took it as fay's link)"
ma=$(log_mark ann)
md "$C_ATT" -c "${UL[ann]}:$MESH_PORT" -x "$T_DIR/fay.rec" -t 10
[ "$MD_RC" = 0 ] || fail "3: the replay was not closed by ann: $(md_desc)"
grep -q '"eof":true' "$T_DIR/md.out" || fail "3: replay: $(md_desc)"
wait_for 5 "ann logs the replay's close" log_has ann "mesh: $(ere "$UL_ATT"):[0-9]+: closed: " "$ma" ||
	fail "3: ann logged no close for the replay"
sleep 1
log_has ann "mesh: fay: (direct via|two links)" "$ma" && fail "3: the replay made a link for fay"
log_has ann "mesh: fay" "$ma" && fail "3: ann logged fay after the replay: $(grep 'mesh: fay' "${DLOG[ann]}" | tail -n 2)"
daemon_alive ann || fail "3: ann exited"
ok "3: the replay was closed, no link: $(tail -n "+$ma" "${DLOG[ann]}" | grep -E "mesh: $(ere "$UL_ATT"):[0-9]+: closed" | head -n 1 | sed 's/^.*mesh:/mesh:/')"

# ---- 4. simultaneous dials ----------------------------------------------------
wait_for 10 "cat and dora: one link" one_link cat dora || fail "4: cat and dora have no single link to start with"
races=0 racelist=
for ((round = 1; round <= RACE_ROUNDS; round++)); do
	# this link's own 4-tuple, so that a kill that runs a little later
	# than the other cannot hit the next link already dialed
	read -r _ _ lc pc < <(ip netns exec "${NS_U[cat]}" ss -Htn state established \
		"( src ${UL[cat]} and dst ${UL[dora]} )") || fail "4: round $round: no connection to kill"
	if [ "${lc%:*}" != "${UL[cat]}" ] || [ "${pc%:*}" != "${UL[dora]}" ]; then
		fail "4: round $round: unexpected connection $lc $pc"
	fi
	mc=$(log_mark cat) md_=$(log_mark dora)
	t0=$(date +%s%N)
	ip netns exec "${NS_U[cat]}" ss -K -Htn state established \
		"( src ${UL[cat]} and sport = :${lc##*:} and dst ${UL[dora]} and dport = :${pc##*:} )" \
		> "$T_DIR/kill1.out" 2>&1 &
	k1=$!
	ip netns exec "${NS_U[dora]}" ss -K -Htn state established \
		"( src ${UL[dora]} and sport = :${pc##*:} and dst ${UL[cat]} and dport = :${lc##*:} )" \
		> "$T_DIR/kill2.out" 2>&1 &
	k2=$!
	wait "$k1" || fail "4: round $round: ss -K in cat's namespace failed: $(cat "$T_DIR/kill1.out")"
	wait "$k2" || fail "4: round $round: ss -K in dora's namespace failed: $(cat "$T_DIR/kill2.out")"
	wait_for 10 "round $round: cat and dora lost their link" both_logs \
		cat "mesh: dora: direct path lost" "$mc" dora "mesh: cat: direct path lost" "$md_" ||
		fail "4: round $round: the killed link was not noticed on both sides"
	wait_for 15 "round $round: cat and dora direct again" both_logs \
		cat "mesh: dora: direct via " "$mc" dora "mesh: cat: direct via " "$md_" ||
		fail "4: round $round: cat and dora not direct again"
	# a second link, if any, is closed by then or soon after
	wait_for 10 "round $round: one link between cat and dora" one_link cat dora ||
		fail "4: round $round: $(conns "${NS_U[cat]}" "${UL[cat]}" "${UL[dora]}") connections (cat), $(conns "${NS_U[dora]}" "${UL[cat]}" "${UL[dora]}") (dora); sessions cat: $(mesh_sessions cat dora | tr '\n' ';') dora: $(mesh_sessions dora cat | tr '\n' ';')"
	settle_ms=$((($(date +%s%N) - t0) / 1000000))
	wait_for 10 "round $round: cat -> dora over the link" ping_direct cat dora ||
		fail "4: round $round: cat -> dora not answered over the direct link"
	wait_for 10 "round $round: dora -> cat over the link" ping_direct dora cat ||
		fail "4: round $round: dora -> cat not answered over the direct link"
	one_link cat dora || fail "4: round $round: not one link after the pings"
	if ! path_direct cat dora || ! path_direct dora cat; then
		fail "4: round $round: show --json does not say direct on both sides"
	fi
	raced=$( { tail -n "+$mc" "${DLOG[cat]}" | grep -E 'mesh: dora: two links at once' | sed 's/^.*two/cat: two/'
		tail -n "+$md_" "${DLOG[dora]}" | grep -E 'mesh: cat: two links at once' | sed 's/^.*two/dora: two/'; } |
		paste -sd';' -)
	if [ -n "$raced" ]; then
		races=$((races + 1))
		racelist="$racelist $round"
		say "4: round $round: raced ($raced), one link after $settle_ms ms"
	else
		say "4: round $round: no race, one link after $settle_ms ms"
	fi
done
ok "4: $RACE_ROUNDS rounds of simultaneous dials, each ending with one link carrying pings; $races raced (two links at once):${racelist:- none}"
[ "$races" -gt 0 ] || fail "4: no round raced: the test did not exercise two links at once"

# ---- 5. inner source spoofing over a mesh link ---------------------------------
SPOOF=198.18.1.99
nsx "${NS_U[ann]}" ip addr add "$SPOOF/32" dev ostpc || fail "5: address $SPOOF on ann's ostpc"
wait_for 10 "ann -> bob over the link" ping_direct ann bob || fail "5: ann -> bob not direct before the spoofing"
b0=$(mesh_sessions bob ann) || fail "5: show --json on bob"
a0=$(mesh_sessions ann bob) || fail "5: show --json on ann"
[ "$(grep -c . <<< "$b0")" = 1 ] || fail "5: bob's sessions named ann: $b0"
nsx "${NS_U[ann]}" ping -c 5 -i 0.2 -W 1 -I "$SPOOF" "${U_V4[bob]}" > "$T_DIR/spoof.out" 2>&1 &&
	fail "5: the spoofed pings were answered: $(cat "$T_DIR/spoof.out")"
grep -q ' 0 received' "$T_DIR/spoof.out" || fail "5: spoofed ping: $(tail -n 3 "$T_DIR/spoof.out")"
b1=$(mesh_sessions bob ann) || fail "5: show --json on bob"
a1=$(mesh_sessions ann bob) || fail "5: show --json on ann"
read -r a_ep0 a_tx0 _ <<< "$a0"
read -r a_ep1 a_tx1 _ <<< "$a1"
read -r b_ep0 _ _ b_ds0 <<< "$b0"
read -r b_ep1 _ _ b_ds1 <<< "$b1"
if [ "$a_ep0" != "$a_ep1" ] || [ "$b_ep0" != "$b_ep1" ]; then
	fail "5: the link between ann and bob changed meanwhile"
fi
[ $((a_tx1 - a_tx0)) -ge 5 ] || fail "5: ann sent only $((a_tx1 - a_tx0)) packets over her link to bob"
[ $((b_ds1 - b_ds0)) -ge 5 ] || fail "5: bob's drops_source for ann's link grew by $((b_ds1 - b_ds0)), not 5"
ok "5: 5 pings from $SPOOF went over ann's link to bob, unanswered; bob's drops_source for it: $b_ds0 -> $b_ds1"
if m_ds=$(member_field bob ann drops_source); then
	[ "$m_ds" -ge 5 ] || fail "5: bob's show --json mesh entry for ann: drops_source $m_ds"
	ok "5: bob's show --json mesh entry for ann: drops_source $m_ds"
elif [ $? = 2 ]; then
	say "5: ostpctl shows no mesh list: the session's drops_source was checked"
else
	fail "5: ann not in bob's show --json mesh list"
fi
ping_direct ann bob || fail "5: ann's own pings to bob not answered over the link"
ok "5: ann -> bob from her own address still answered over the link"
nsx "${NS_U[ann]}" ip addr del "$SPOOF/32" dev ostpc

# ---- 6. garbage, truncated and oversized input to the mesh listener ------------
for kind in garbage truncated oversized; do
	ma=$(log_mark ann)
	t0=$(date +%s%N)
	md "$C_ATT" -c "${UL[ann]}:$MESH_PORT" -g "$kind" -t 8
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$MD_RC" = 0 ] || fail "6: $kind: ann did not close the connection: $(md_desc)"
	grep -q '"closed":true' "$T_DIR/md.out" || fail "6: $kind: $(md_desc)"
	wait_for 5 "ann logs why the $kind connection closed" \
		log_has ann "mesh: $(ere "$UL_ATT"):[0-9]+: closed: .+" "$ma" ||
		fail "6: $kind: ann logged no reason for the close"
	why=$(tail -n "+$ma" "${DLOG[ann]}" | grep -E "mesh: $(ere "$UL_ATT"):[0-9]+: closed: " | head -n 1 | sed 's/^.*closed: //')
	# the truncated request is ended by the handshake deadline (3 s)
	if [ "$kind" = truncated ] && { [ "$ms" -lt 2500 ] || [ "$ms" -gt 7000 ]; }; then
		fail "6: truncated: closed after $ms ms, not at the 3 s handshake deadline ($why)"
	fi
	daemon_alive ann || fail "6: $kind: ann exited"
	log_has ann 'direct path lost' "$ma" && fail "6: $kind: ann lost a direct path"
	for u in bob cat dora; do
		ping_direct ann "$u" || fail "6: $kind: ann -> $u not answered over the link"
	done
	ok "6: $kind: closed after $ms ms ($why); ann's links carry pings"
done

for u in "${MEMBERS[@]}"; do daemon_alive "$u" || fail "$u exited"; done
daemon_alive srv || fail "the OCS exited"
pass
