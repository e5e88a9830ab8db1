#!/bin/bash
# SPDX-License-Identifier: ISC
# The mesh settings that bound links: idle_timeout, max_links and
# list_max_age.  An OCS and the members ann, bob and cat in c1..c3, each
# accepting mesh links on its underlay address, port 7201; the members
# are restarted with new settings for each phase.
#
#   1. idle_timeout = 3: with nothing sent, every link closes 3-6 s after
#      all went direct and stays closed (no dial for 5 s); a ping
#      ann -> bob goes through the OCS first, makes ann dial bob, is
#      direct within 5 s and loses nothing; the link outlives the ping
#      (longer than the idle time), is still up 2.5 s after the last
#      echo and closed 6.5 s after it; nobody dials cat, to whom nobody
#      sends;
#   2. max_links = 1 on ann (bob and cat: the default): ann holds exactly
#      one link for 10 s, refuses the other member's dials (close reason
#      resource) without a reconnect storm, and reaches that member
#      through the OCS;
#   3. list_max_age = 5: the OCS killed, the links carry on; after 5 s
#      the members make and accept no new link: a link killed (ss -K on
#      both sides) stays down for 8 s while the others still work; the
#      OCS restarted, the members sync their lists and the killed link
#      is direct again within 10 s.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ss ping

topo_init 3
make_server_key
SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso", "mesh"'
MESH_SPW='"config", "ipv4", "ipv6", "gso", "relay", "mesh"'
MEMBERS=(ann bob cat)
MESH_PORT=7201
declare -A HOST=([ann]=c1 [bob]=c2 [cat]=c3)
declare -A UL=()
i=2
for u in "${MEMBERS[@]}"; do
	add_user "$u" "$u-secret"
	set_user_key "$u" "$T_DIR/$u.id"
	U_SPW[$u]=$MESH_SPW
	UL[$u]=198.18.0.$i
	i=$((i + 1))
done
write_server_conf "$T_DIR/srv.conf"

# ns_of MEMBER: the member's namespace.
ns_of() { echo "${NS_OF[${HOST[$1]}]}"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sleep_until MS: sleep until now_ms says MS.
sleep_until() {
	local left=$(($1 - $(now_ms)))
	[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
	return 0
}

# conf_member MEMBER EXTRA: MEMBER's configuration with EXTRA mesh lines.
conf_member() {
	write_client_conf "$T_DIR/$1.conf" "$1" identity="$T_DIR/$1.id" \
		mesh="listen = { \"${UL[$1]}:$MESH_PORT\" } keepalive_ms = 500 dead_ms = 2000 redial_max = 5 $2"
}

# restart_members: every member (re)started with its current
# configuration; returns once their tunnels are up.
restart_members() {
	local u
	for u in "${MEMBERS[@]}"; do
		[ -n "${DPID[$u]:-}" ] && stop_ostpd "$u"
	done
	for u in "${MEMBERS[@]}"; do start_ostpd "$u" "$(ns_of "$u")" "$T_DIR/$u.conf"; done
	for u in "${MEMBERS[@]}"; do wait_tunnel "$u" "$u"; done
}

declare -A MARK=()
# mark_logs MEMBER...: MARK[MEMBER] is where its log's next line starts.
mark_logs() {
	local u
	for u; do MARK[$u]=$(log_mark "$u"); done
}
# since WHO ERE: WHO's log lines since MARK[WHO] matching ERE, counted.
since() { log_count "$1" "$2" "${MARK[$1]}"; }
# lines WHO ERE: those lines (for a report).
lines() { tail -n "+${MARK[$1]}" "${DLOG[$1]}" | grep -E -- "$2" | sed 's/^/    /'; }

# wait_ms SECS DESC cmd...: like wait_for, polling every 50 ms; the time
# it took in WAITED_MS.
wait_ms() {
	local secs=$1 desc=$2 t0 end
	shift 2
	t0=$(now_ms)
	end=$((t0 + secs * 1000))
	while :; do
		if "$@" > /dev/null 2>&1; then
			WAITED_MS=$(($(now_ms) - t0))
			return 0
		fi
		[ "$(now_ms)" -ge "$end" ] && break
		sleep 0.05
	done
	say "timed out after ${secs}s waiting for: $desc"
	return 1
}

# shellcheck disable=SC2317  # called through wait_ms
# all_direct_logged: every member logged a direct path to each other
# member since its latest start.
all_direct_logged() {
	local a b
	for a in "${MEMBERS[@]}"; do
		for b in "${MEMBERS[@]}"; do
			[ "$a" = "$b" ] && continue
			log_has "$a" "mesh: $b: direct via " "${DSTART[$a]}" || return 1
		done
	done
}

# The mesh part of a member's show --json: one line "NAME PATH" per
# member it lists, then "LINKS N H": its mesh sessions that are
# established (N) and handshaking (H).
cat > "$T_DIR/mesh.py" << 'PYEOF'
import json, sys
i = json.load(open(sys.argv[1]))["ostpc"]
for m in i["mesh"]:
    print(m["name"], m["path"])
links = [s for s in i["sessions"] if s["role"] == "mesh"]
print("LINKS", sum(1 for s in links if not s["handshaking"]),
      sum(1 for s in links if s["handshaking"]))
PYEOF

# mesh_show ME: ME's show --json, through mesh.py, into PATH_OF[name]
# and N_LINKS / N_HS; 1 (the reason in SHOW_ERR) when it fails.  Never
# exits: it is polled.
declare -A PATH_OF=()
mesh_show() {
	local name path
	PATH_OF=() N_LINKS='' N_HS='' SHOW_ERR=''
	ctlx "$(ns_of "$1")" -c "$T_DIR/$1.conf" --json show ostpc
	if [ "$CTL_RC" != 0 ]; then
		SHOW_ERR="$1: show --json exited $CTL_RC: $CTL_ERR"
		return 1
	fi
	"$PY" "$T_DIR/mesh.py" "$T_DIR/ctl.out" > "$T_DIR/mesh.out" 2>&1 || {
		SHOW_ERR="$1: show --json: $(cat "$T_DIR/mesh.out") in $(cat "$T_DIR/ctl.out")"
		return 1
	}
	while read -r name path; do
		if [ "$name" = LINKS ]; then
			read -r N_LINKS N_HS <<< "$path"
		else
			PATH_OF[$name]=$path
		fi
	done < "$T_DIR/mesh.out"
}

# paths_are ME PATH OTHER...: ME's show --json says PATH for each OTHER.
paths_are() {
	local me=$1 want=$2 o
	shift 2
	mesh_show "$me" || return 1
	for o; do [ "${PATH_OF[$o]:-}" = "$want" ] || return 1; done
}

# mesh_conns NS: established TCP connections to or from a mesh port in NS.
mesh_conns() {
	ip netns exec "$1" ss -Htn state established \
		"( sport = :$MESH_PORT or dport = :$MESH_PORT )" | grep -c . || true
}

# no_mesh_conns: no member has a mesh connection.
no_mesh_conns() {
	local u
	for u in "${MEMBERS[@]}"; do [ "$(mesh_conns "$(ns_of "$u")")" = 0 ] || return 1; done
}

# pair_conns NS A B: established TCP connections between the underlay
# addresses A and B, as NS sees them.
pair_conns() {
	ip netns exec "$1" ss -Htn state established "( src $2 and dst $3 ) or ( src $3 and dst $2 )" |
		grep -c . || true
}

# ocs_counters: OCS_RXP/OCS_TXP[user] (packets received from / sent to
# the user's session) from the OCS's show --json.  The OCS relays member
# to member inside ostpd, session to session: what it relays is counted
# in both sessions' rx_packets and tx_packets (keepalives and ECHO probes
# are no data messages and are not counted).
declare -A OCS_RXP=() OCS_TXP=()
ocs_counters() {
	local u rxp txp
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" --json show ostps
	[ "$CTL_RC" = 0 ] || fail "show --json on the OCS exited $CTL_RC: $CTL_ERR"
	"$PY" -c '
import json, sys
for s in json.load(open(sys.argv[1]))["ostps"]["sessions"]:
    print(s["user"], s["rx_packets"], s["tx_packets"])' \
		"$T_DIR/ctl.out" > "$T_DIR/counters" || fail "show --json: $(cat "$T_DIR/ctl.out")"
	OCS_RXP=() OCS_TXP=()
	while read -r u rxp txp; do
		OCS_RXP[$u]=$rxp OCS_TXP[$u]=$txp
	done < "$T_DIR/counters"
	for u in "${MEMBERS[@]}"; do
		[ -n "${OCS_RXP[$u]:-}" ] || fail "the OCS has no session for $u: $(cat "$T_DIR/counters")"
	done
}

# ping_all FROM TO COUNT IV TAG: COUNT pings FROM -> TO (IPv4) every IV
# seconds; every echo must be answered.
ping_all() {
	local out=$T_DIR/ping-$5.out
	ip netns exec "$(ns_of "$1")" ping -q -n -c "$3" -i "$4" -W 2 -w 30 "${U_V4[$2]}" \
		> "$out" 2>&1 < /dev/null
	grep -q "$3 packets transmitted, $3 received" "$out" ||
		fail "$5: $1 -> $2: not every echo answered: $(tr '\n' ' ' < "$out")"
}

# ---- start: the OCS ----------------------------------------------------------------
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv

# ==== phase 1: idle_timeout =====================================================
for u in "${MEMBERS[@]}"; do conf_member "$u" "idle_timeout = 3"; done
restart_members
wait_ms 20 "every pair direct" all_direct_logged || fail "1: not every member went direct to every other"
T1=$(now_ms)
ok "1: every member logged a direct path to the 2 others"

# The line of a link closed by its own idle timer (logged as a lost
# direct path, or as a plain close).
IDLE_CLOSE='(direct path lost|link closed) \(idle\)'
# A link goes idle idle_timeout (3 s) after its last packet, checked once
# a second (MESH_TICK_MS): 3-4 s after it went direct, as nothing is sent.
# The other end takes the close as idle too (it carried nothing for half
# the idle time).
# shellcheck disable=SC2317  # called through wait_ms
all_relay() {
	local u o
	for u in "${MEMBERS[@]}"; do
		mesh_show "$u" || return 1
		for o in "${MEMBERS[@]}"; do
			[ "$u" = "$o" ] && continue
			[ "${PATH_OF[$o]:-}" = relay ] || return 1
		done
		[ "$N_LINKS" = 0 ] && [ "$N_HS" = 0 ] || return 1
	done
	no_mesh_conns
}
wait_ms 6 "every link idle and closed" all_relay ||
	fail "1: links still up 6 s after all went direct: $(for u in "${MEMBERS[@]}"; do mesh_show "$u"; echo "$u: ${PATH_OF[*]} links $N_LINKS/$N_HS"; done)"
ok "1: every path relay, no mesh connection left, $(($(now_ms) - T1)) ms after the last went direct (limit 6000)"
for a in "${MEMBERS[@]}"; do
	for b in "${MEMBERS[@]}"; do
		[ "$a" \< "$b" ] || continue
		log_has "$a" "mesh: $b: $IDLE_CLOSE" "${DSTART[$a]}" ||
			log_has "$b" "mesh: $a: $IDLE_CLOSE" "${DSTART[$b]}" ||
			fail "1: neither $a nor $b logged its link closed as idle"
	done
done
ok "1: every link was closed as idle by one end"

# No redial while idle: 5 s without a dial or a new link.
mark_logs "${MEMBERS[@]}"
sleep 5
for u in "${MEMBERS[@]}"; do
	n=$(since "$u" "mesh: dialing |reconnecting to |direct via ")
	[ "$n" = 0 ] || fail "1: $u dialed or linked while idle: $(lines "$u" "mesh: dialing |reconnecting to |direct via ")"
done
no_mesh_conns || fail "1: a mesh connection appeared while idle"
ok "1: 5 s idle: no dial, no link, no mesh connection"

# Dial on demand: ping ann -> bob for 6 s, twice the idle time.  The
# first echoes go through the OCS, and so do bob's first replies, so both
# want the link: the usual order decides who dials (the lower key at
# once, the higher after dial_delay_ms); then the link carries them.
# Every echo must be answered.
mark_logs "${MEMBERS[@]}"
ocs_counters
RX0=${OCS_RXP[ann]} TX0=${OCS_TXP[bob]}
T_PING=$(now_ms)
bg_run p1 "$(ns_of ann)" ping -q -n -c 30 -i 0.2 -W 2 -w 30 "${U_V4[bob]}"
PPID_=$BG_PID
wait_ms 5 "ann: bob direct again" paths_are ann direct bob ||
	fail "1: ann not direct to bob 5 s after its first ping: ${SHOW_ERR:-path ${PATH_OF[bob]:-?}}"
T_DIRECT=$WAITED_MS
wait "$PPID_"
T_END=$(now_ms)
grep -q "30 packets transmitted, 30 received" "$T_DIR/p1.out" ||
	fail "1: ping ann -> bob lost echoes: $(tr '\n' ' ' < "$T_DIR/p1.out")"
ocs_counters
RELAYED=$((OCS_RXP[ann] - RX0))
{ [ "$RELAYED" -ge 1 ] && [ $((OCS_TXP[bob] - TX0)) -ge 1 ]; } ||
	fail "1: the first echoes did not go through the OCS (ann's session +$RELAYED rx, bob's +$((OCS_TXP[bob] - TX0)) tx)"
[ "$RELAYED" -lt 30 ] || fail "1: the OCS received $RELAYED packets from ann: all 30 echoes relayed"
[ $(($(since ann "mesh: dialing bob at ") + $(since bob "mesh: dialing ann at "))) -ge 1 ] ||
	fail "1: neither ann nor bob dialed the other"
log_has ann "mesh: bob: direct via " "${MARK[ann]}" || fail "1: ann logged no direct path to bob"
for pair in ann:bob bob:ann; do
	a=${pair%:*} b=${pair#*:}
	[ "$(since "$a" "mesh: $b: (direct path lost|$IDLE_CLOSE)")" = 0 ] ||
		fail "1: $a closed its link to $b while the ping ran: $(lines "$a" "mesh: $b: (direct path lost|$IDLE_CLOSE)")"
done
ok "1: ping ann -> bob: 30/30 answered, $RELAYED through the OCS first, the lower key dialed, direct after $T_DIRECT ms (limit 5000), no close during 6 s of traffic"

# The link outlives the last echo by the idle time: still direct 2.5 s
# after it, relay within 6 s.
sleep_until $((T_END + 2500))
paths_are ann direct bob || fail "1: ann's link to bob closed less than 2.5 s after the last echo: ${SHOW_ERR:-path ${PATH_OF[bob]:-?}}"
wait_ms 4 "ann: bob idle again" paths_are ann relay bob ||
	fail "1: ann's link to bob not closed 6.5 s after the last echo"
ok "1: the link closed again $(($(now_ms) - T_END)) ms after the last echo (window 2500-6500)"

# cat: nobody sent to it, nobody dialed it since the links went idle
for u in "${MEMBERS[@]}"; do
	o='cat'
	[ "$u" = cat ] && o="(ann|bob)"
	[ "$(since "$u" "mesh: (dialing $o |$o: direct via)")" = 0 ] ||
		fail "1: $u linked with cat: $(lines "$u" "mesh: (dialing $o |$o: direct via)")"
done
[ "$(mesh_conns "$(ns_of cat)")" = 0 ] || fail "1: cat has a mesh connection"
paths_are cat relay ann bob || fail "1: cat's paths are not relay: ${SHOW_ERR:-${PATH_OF[*]}}"
ok "1: cat stayed idle: no dial to or from it, no connection, paths relay"
say "1: ping started $((T_PING - T1)) ms after all went direct"

# ==== phase 2: max_links = 1 on ann ===============================================
conf_member ann "max_links = 1"
conf_member bob ""
conf_member cat ""
restart_members
ocs_counters

# ann_one_direct: ann's show --json: exactly one member direct (X), one
# established mesh session.
# shellcheck disable=SC2317  # called through wait_ms
ann_one_direct() {
	local o n=0
	X=
	mesh_show ann || return 1
	for o in bob cat; do
		if [ "${PATH_OF[$o]:-}" = direct ]; then
			n=$((n + 1))
			X=$o
		fi
	done
	[ "$n" = 1 ] && [ "$N_LINKS" = 1 ]
}
wait_ms 20 "ann: one member direct" ann_one_direct ||
	fail "2: ann has not exactly one direct member: ${SHOW_ERR:-${PATH_OF[*]}, $N_LINKS links}"
if [ "$X" = bob ]; then Y='cat'; else Y='bob'; fi
say "2: ann's one link is to $X; $Y is refused"
# Y and X link with each other (no cap there)
wait_ms 20 "$X and $Y direct" log_has "$Y" "mesh: $X: direct via " "${DSTART[$Y]}" ||
	fail "2: $Y not direct to $X"
# Y dials ann (at once or after dial_delay_ms) and is turned away: ann
# closes with reason resource, Y logs it once.
wait_ms 20 "ann refuses $Y" log_has ann "mesh: ${UL[$Y]//./\\.}:[0-9]+: closed: mesh link cap reached" "${DSTART[ann]}" ||
	fail "2: ann logged no refusal for the cap"
log_has "$Y" "mesh: ann at ${UL[ann]}:$MESH_PORT: peer closed the session \\(server out of resources\\)" "${DSTART[$Y]}" ||
	fail "2: $Y did not log ann's refusal: $(grep 'mesh: ann' "${DLOG[$Y]}" | tail -n 5)"
ok "2: ann refused $Y's dial: $(tail -n "+${DSTART[ann]}" "${DLOG[ann]}" | grep -E 'closed: mesh link cap reached' | head -n 1 | sed 's/^.*mesh:/mesh:/')"
ok "2: $Y logged: $(tail -n "+${DSTART[$Y]}" "${DLOG[$Y]}" | grep -E "mesh: ann at .*out of resources" | head -n 1 | sed 's/^.*mesh:/mesh:/')"

# 10 s: ann keeps one link, to X, and Y keeps dialing, but paced.
# Y's dials back off 1, 2, 4, then redial_max = 5 s (each +-25%): the
# closest any 5 can come is 0.75 + 1.5 + 3 + 3.75 = 9 s, so no 10 s
# window holds more than 5 dials, and at a steady 5 s each at least 1.
# A storm (a dial per refusal without backoff) would make hundreds.
mark_logs "${MEMBERS[@]}"
T2=$(now_ms)
samples=0
while [ $(($(now_ms) - T2)) -lt 10000 ]; do
	ann_one_direct || fail "2: after $(($(now_ms) - T2)) ms: ann has not exactly one direct member: ${SHOW_ERR:-${PATH_OF[*]}, $N_LINKS links}"
	[ "$X" = "${X0:=$X}" ] || fail "2: ann's link moved from $X0 to $X"
	n=$(mesh_conns "$(ns_of ann)")
	# a refused dial from Y may be open for a moment
	{ [ "$n" -ge 1 ] && [ "$n" -le 2 ]; } || fail "2: ann has $n mesh connections: $(ip netns exec "$(ns_of ann)" ss -tn)"
	samples=$((samples + 1))
	sleep 0.5
done
DIALS=$(since "$Y" "mesh: dialing ann at ")
RETRIES=$(since "$Y" "reconnecting to ann in ")
CAPS=$(since ann "closed: mesh link cap reached")
say "2: over 10 s: $Y dialed ann $DIALS times ($RETRIES retries scheduled), ann refused $CAPS for the cap"
{ [ "$DIALS" -ge 1 ] && [ "$DIALS" -le 5 ]; } || fail "2: $Y dialed ann $DIALS times in 10 s (want 1..5)"
[ "$CAPS" -le 5 ] || fail "2: ann refused $CAPS links in 10 s (want at most 5)"
[ "$(since ann "mesh: dialing ")" = 0 ] || fail "2: ann dialed at its cap: $(lines ann "mesh: dialing ")"
ok "2: 10 s, $samples samples: ann always direct to $X only; $Y dialed $DIALS times, ann refused $CAPS (bound 5)"
paths_are "$Y" relay ann || fail "2: $Y's path to ann is not relay: ${SHOW_ERR:-${PATH_OF[ann]:-?}}"
paths_are "$Y" direct "$X" || fail "2: $Y's path to $X is not direct: ${SHOW_ERR:-${PATH_OF[$X]:-?}}"
paths_are "$X" direct ann "$Y" || fail "2: $X's paths are not direct: ${SHOW_ERR:-${PATH_OF[*]}}"

# ann -> X direct (the OCS sees nothing of it), ann -> Y and Y -> ann
# through the OCS.  BOUND: the few packets the kernel sends towards the
# OCS by itself (IPv6 multicast listener reports, router solicitations).
BOUND=10
ocs_counters
RX0=${OCS_RXP[ann]}
ping_all ann "$X" 20 0.05 p2x
ocs_counters
d=$((OCS_RXP[ann] - RX0))
[ "$d" -le "$BOUND" ] || fail "2: ann -> $X went through the OCS: ann's session +$d rx packets"
ok "2: ann -> $X: 20/20 direct (OCS: ann +$d rx, bound $BOUND)"
RX0=${OCS_RXP[ann]} RY0=${OCS_RXP[$Y]}
ping_all ann "$Y" 20 0.05 p2y
ping_all "$Y" ann 20 0.05 p2y2
ocs_counters
d=$((OCS_RXP[ann] - RX0)) e=$((OCS_RXP[$Y] - RY0))
{ [ "$d" -ge 40 ] && [ "$e" -ge 40 ]; } ||
	fail "2: ann <-> $Y did not go through the OCS: ann's session +$d, $Y's +$e rx packets (want 40 each)"
ok "2: ann -> $Y and $Y -> ann: 20/20 each, through the OCS (ann +$d, $Y +$e rx packets)"
{ paths_are ann direct "$X" && [ "${PATH_OF[$Y]}" = relay ]; } ||
	fail "2: after the pings ann's paths: ${SHOW_ERR:-${PATH_OF[*]}}"
[ "$(since ann "mesh: dialing ")" = 0 ] || fail "2: traffic to $Y made ann dial at its cap"
ok "2: relayed traffic to $Y made ann dial nothing: still one link, to $X"

# ==== phase 3: list_max_age = 5 ===================================================
for u in "${MEMBERS[@]}"; do conf_member "$u" "list_max_age = 5"; done
restart_members
wait_ms 20 "every pair direct" all_direct_logged || fail "3: not every member went direct to every other"
# shellcheck disable=SC2317  # called through wait_ms
one_link_each() {
	local a b
	for a in "${MEMBERS[@]}"; do
		for b in "${MEMBERS[@]}"; do
			[ "$a" \< "$b" ] || continue
			[ "$(pair_conns "$(ns_of "$a")" "${UL[$a]}" "${UL[$b]}")" = 1 ] || return 1
		done
	done
}
wait_ms 10 "one link per pair" one_link_each || fail "3: not one connection per pair"
ok "3: every pair direct, one connection each"

mark_logs "${MEMBERS[@]}"
T3=$(now_ms)
stop_ostpd srv KILL
for u in "${MEMBERS[@]}"; do
	wait_for 5 "$u: the OCS is gone" log_has "$u" "mesh: the OCS is gone" "${MARK[$u]}" ||
		fail "3: $u did not notice the OCS going"
done
ping_all ann bob 5 0.2 p3a
ping_all ann cat 5 0.2 p3b
ping_all bob cat 5 0.2 p3c
ok "3: OCS killed: ann -> bob, ann -> cat, bob -> cat over the links, all answered"

# the list turns stale list_max_age (5 s) after the OCS went, at a tick
sleep_until $((T3 + 4500))
log_has ann "mesh: no OCS session" "${MARK[ann]}" && fail "3: ann called its list stale before 5 s"
wait_ms 4 "ann: list stale" log_has ann "mesh: no OCS session for 5 s: no new mesh links until it returns" "${MARK[ann]}" ||
	fail "3: ann did not stop making links 8.5 s after the OCS went"
for u in bob cat; do
	wait_for 2 "$u: list stale" log_has "$u" "mesh: no OCS session for 5 s" "${MARK[$u]}" ||
		fail "3: $u did not stop making links"
done
ok "3: the members' lists went stale $(($(now_ms) - T3)) ms after the OCS was killed"

# kill the ann - bob link on both sides, by its own address/port pair
read -r _ _ lc pc < <(ip netns exec "$(ns_of ann)" ss -Htn state established \
	"( src ${UL[ann]} and dst ${UL[bob]} )") || fail "3: no connection ann - bob to kill"
{ [ "${lc%:*}" = "${UL[ann]}" ] && [ "${pc%:*}" = "${UL[bob]}" ]; } || fail "3: unexpected connection $lc $pc"
mark_logs "${MEMBERS[@]}"
ip netns exec "$(ns_of ann)" ss -K -Htn state established \
	"( src ${UL[ann]} and sport = :${lc##*:} and dst ${UL[bob]} and dport = :${pc##*:} )" \
	> "$T_DIR/kill1.out" 2>&1 || fail "3: ss -K in ann's namespace: $(cat "$T_DIR/kill1.out")"
ip netns exec "$(ns_of bob)" ss -K -Htn state established \
	"( src ${UL[bob]} and sport = :${pc##*:} and dst ${UL[ann]} and dport = :${lc##*:} )" \
	> "$T_DIR/kill2.out" 2>&1 || fail "3: ss -K in bob's namespace: $(cat "$T_DIR/kill2.out")"
T_KILL=$(now_ms)
for pair in ann:bob bob:ann; do
	a=${pair%:*} b=${pair#*:}
	wait_for 5 "$a: link to $b lost" log_has "$a" "mesh: $b: direct path lost .*: unreachable until a link or the OCS returns" "${MARK[$a]}" ||
		fail "3: $a did not log its link to $b lost"
done
# A plain connect to ann's listener is closed at once: ann accepts no link.
cat > "$T_DIR/connect.py" << 'PYEOF'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.settimeout(5)
print("eof" if c.recv(1) == b"" else "data")
PYEOF
nsx "$(ns_of bob)" "$PY" "$T_DIR/connect.py" "${UL[ann]}" "$MESH_PORT" > "$T_DIR/connect.out" 2>&1 ||
	fail "3: a connect to ann's listener: $(cat "$T_DIR/connect.out")"
grep -q eof "$T_DIR/connect.out" || fail "3: a connect to ann's listener: $(cat "$T_DIR/connect.out")"
wait_for 5 "ann refuses the connect" log_has ann "mesh: ${UL[bob]}:[0-9]+: refused \\(no member list\\)" "${MARK[ann]}" ||
	fail "3: ann did not log the refusal of the connect"
# 8 s: no new link between ann and bob, no dial either way, while ann -
# cat carries a ping every 0.2 s.
bg_run p3cat "$(ns_of ann)" ping -q -n -c 35 -i 0.2 -W 2 -w 30 "${U_V4[cat]}"
CPID=$BG_PID
while [ $(($(now_ms) - T_KILL)) -lt 8000 ]; do
	[ "$(pair_conns "$(ns_of ann)" "${UL[ann]}" "${UL[bob]}")" = 0 ] ||
		fail "3: a connection ann - bob $(($(now_ms) - T_KILL)) ms after the kill, with a stale list"
	sleep 0.25
done
wait "$CPID"
grep -q "35 packets transmitted, 35 received" "$T_DIR/p3cat.out" ||
	fail "3: ping ann -> cat lost echoes: $(tr '\n' ' ' < "$T_DIR/p3cat.out")"
for u in ann bob; do
	[ "$(since "$u" "mesh: dialing |direct via ")" = 0 ] ||
		fail "3: $u dialed or linked with a stale list: $(lines "$u" "mesh: dialing |direct via ")"
done
[ "$(since cat "mesh: (ann|bob): direct path lost")" = 0 ] || fail "3: cat lost a link"
nsx "$(ns_of ann)" ping -q -n -c 3 -i 0.2 -W 1 "${U_V4[bob]}" > "$T_DIR/p3none.out" 2>&1 &&
	fail "3: ann reached bob with neither a link nor the OCS: $(tr '\n' ' ' < "$T_DIR/p3none.out")"
ok "3: ann - bob killed: 8 s without a dial or a connection between them (a plain connect refused), ann -> cat 35/35 meanwhile"

# the OCS back: lists synced, and ann - bob direct again within 10 s of it
mark_logs "${MEMBERS[@]}"
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
for u in "${MEMBERS[@]}"; do
	wait_for 20 "$u: list synced" log_has "$u" "mesh: member list synced" "${MARK[$u]}" ||
		fail "3: $u did not sync its member list with the restarted OCS"
done
T_SYNC=$(now_ms)
# shellcheck disable=SC2317  # called through wait_ms
ann_bob_direct() { paths_are ann direct bob && paths_are bob direct ann; }
wait_ms 10 "ann - bob direct again" ann_bob_direct ||
	fail "3: ann - bob not direct 10 s after the lists synced: ${SHOW_ERR:-${PATH_OF[*]}}"
ok "3: OCS back: every member synced, ann - bob direct again $WAITED_MS ms later (limit 10000)"
for u in "${MEMBERS[@]}"; do
	[ "$(since "$u" "direct path lost|links closed")" = 0 ] || fail "3: $u closed links when the OCS came back"
done
ping_all ann bob 5 0.2 p3d
ping_all ann cat 5 0.2 p3e
ok "3: ann -> bob and ann -> cat answered; no link closed at the resync"
say "3: resync at $((T_SYNC - T_KILL)) ms after the kill"

for u in "${MEMBERS[@]}" srv; do daemon_alive "$u" || fail "$u died"; done
pass
