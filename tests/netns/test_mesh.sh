#!/bin/bash
# SPDX-License-Identifier: ISC
# The mesh end to end: an OCS (the server, which vouches for the members
# and relays for them) and the members ann, bob, cat and dan in c1..c4,
# each accepting mesh links on its underlay address, port 7201; eve (c5)
# joins last.  Phases:
#
#   1. every pair talks directly (IPv4 and IPv6), and the OCS relays
#      none of it: its session counters stay put;
#   2. 100 MiB ann -> bob while the direct path is cut half-way: the
#      transfer completes through the relay, pings stop for at most 3 s,
#      and the direct path returns within 10 s of the cut being lifted;
#   3. a one-way cut ann -> cat: one failover, no flapping while it
#      holds, pings through the relay; direct again within 10 s after;
#   4. the OCS killed: links keep working for 60 s; restarted: the
#      members sync their lists again and the links stay;
#   5. `ostpctl trust del dan`: the others drop dan within 5 s and dan
#      reaches nobody, neither directly nor through the OCS;
#   6. eve joins: the others reach her directly within 5 s of her tunnel
#      coming up.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd nft ss ping

topo_init 5
make_server_key
SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso", "mesh"'
MESH_SPW='"config", "ipv4", "ipv6", "gso", "relay", "mesh"'
MEMBERS=(ann bob cat dan eve)
declare -A HOST=([ann]=c1 [bob]=c2 [cat]=c3 [dan]=c4 [eve]=c5)
declare -A UL=()     # member -> underlay address
i=2
for u in "${MEMBERS[@]}"; do
	add_user "$u" "$u-secret"
	set_user_key "$u" "$T_DIR/$u.id"
	U_SPW[$u]=$MESH_SPW
	UL[$u]=198.18.0.$i
	i=$((i + 1))
done
write_server_conf "$T_DIR/srv.conf"
for u in "${MEMBERS[@]}"; do
	write_client_conf "$T_DIR/$u.conf" "$u" identity="$T_DIR/$u.id" \
		mesh="listen = { \"${UL[$u]}:7201\" } dead_ms = 2000 keepalive_ms = 500 redial_max = 5"
done

# ns_of MEMBER: the member's namespace.
ns_of() { echo "${NS_OF[${HOST[$1]}]}"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

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

declare -A MARK=()
# mark_logs MEMBER...: MARK[MEMBER] is where its log's next line starts.
mark_logs() {
	local u
	for u; do MARK[$u]=$(log_mark "$u"); done
}

# direct_lines WHO PEER / lost_lines WHO PEER: WHO's log lines since
# MARK[WHO] saying its path to PEER went direct / was lost.
direct_lines() { log_count "$1" "mesh: $2: direct via " "${MARK[$1]}"; }
lost_lines() { log_count "$1" "mesh: $2: direct path lost " "${MARK[$1]}"; }

# ping_pairs TAG COUNT INTERVAL DEADLINE MEMBER...: every ordered pair of
# the MEMBERs pings the other over IPv4 and over IPv6 (COUNT pings each,
# all at once); every echo must be answered.
ping_pairs() {
	local tag=$1 count=$2 iv=$3 dl=$4 a b fam dst out pid
	shift 4
	local -a pids=() outs=()
	for a; do
		for b; do
			[ "$a" = "$b" ] && continue
			for fam in 4 6; do
				if [ $fam = 4 ]; then dst=${U_V4[$b]}; else dst=${U_V6[$b]}; fi
				out=$T_DIR/ping-$tag-$a-$b-$fam.out
				ip netns exec "$(ns_of "$a")" ping -q -n -c "$count" -i "$iv" -W 2 \
					-w "$dl" "$dst" > "$out" 2>&1 < /dev/null &
				pids+=("$!")
				outs+=("$out")
			done
		done
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	for out in "${outs[@]}"; do
		grep -q "$count packets transmitted, $count received" "$out" || {
			cat "$out"
			fail "$tag: $(basename "$out" .out): not every echo answered"
		}
	done
	rm -f "${outs[@]}"
}

# ping_none TAG SRC:DST...: each SRC's pings to its DST (both families)
# all go unanswered; all at once.
ping_none() {
	local tag=$1 pair a b fam dst out pid
	shift
	local -a pids=() outs=()
	for pair; do
		a=${pair%%:*} b=${pair#*:}
		for fam in 4 6; do
			if [ $fam = 4 ]; then dst=${U_V4[$b]}; else dst=${U_V6[$b]}; fi
			out=$T_DIR/ping-$tag-$a-$b-$fam.out
			ip netns exec "$(ns_of "$a")" ping -q -n -c 5 -i 0.2 -W 1 -w 3 "$dst" \
				> "$out" 2>&1 < /dev/null &
			pids+=("$!")
			outs+=("$out")
		done
	done
	for pid in "${pids[@]}"; do wait "$pid"; done
	for out in "${outs[@]}"; do
		grep -q ' 0 received' "$out" || {
			cat "$out"
			fail "$tag: $(basename "$out" .out): answered, but should not be"
		}
	done
	rm -f "${outs[@]}"
}

# ocs_counters: OCS_RXP/OCS_TXP/OCS_RXB[user] (packets received, sent,
# bytes received) from the OCS's `ostpctl show --json`, per session.
declare -A OCS_RXP=() OCS_TXP=() OCS_RXB=()
ocs_counters() {
	local u rxp txp rxb
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" --json show ostps
	[ "$CTL_RC" = 0 ] || fail "show --json on the OCS exited $CTL_RC: $CTL_ERR"
	"$PY" -c '
import json, sys
for s in json.load(open(sys.argv[1]))["ostps"]["sessions"]:
    print(s["user"], s["rx_packets"], s["tx_packets"], s["rx_bytes"])' \
		"$T_DIR/ctl.out" > "$T_DIR/counters" || fail "show --json: $(cat "$T_DIR/ctl.out")"
	OCS_RXP=() OCS_TXP=() OCS_RXB=()
	while read -r u rxp txp rxb; do
		OCS_RXP[$u]=$rxp OCS_TXP[$u]=$txp OCS_RXB[$u]=$rxb
	done < "$T_DIR/counters"
}

# pings_direct TAG COUNT MEMBER...: ping_pairs with COUNT echoes every
# 50 ms, all answered, and none of them through the OCS.
#
# The proof is the OCS's session counters.  The OCS relays member to
# member inside ostpd, from session to session, without its TUN (ostps):
# a drop rule on ostps would prove nothing.  What it relays is counted in
# both sessions' rx_packets and tx_packets; keepalives and ECHO probes
# are not data messages and are not counted.  Relayed, the pings would
# add 2 * COUNT * 2 * (members - 1) packets each way to every member's
# session (240 for 20 echoes and 4 members); BOUND allows for the few the
# kernel sends by itself towards the OCS (IPv6 multicast listener
# reports and router solicitations on a member's tunnel).
BOUND=10
pings_direct() {
	local tag=$1 count=$2 u drx dtx relayed note=
	shift 2
	local -A rx0=() tx0=()
	relayed=$((4 * count * ($# - 1)))
	ocs_counters
	for u; do
		[ -n "${OCS_RXP[$u]:-}" ] || fail "$tag: the OCS has no session for $u: $(cat "$T_DIR/counters")"
		rx0[$u]=${OCS_RXP[$u]} tx0[$u]=${OCS_TXP[$u]}
	done
	ping_pairs "$tag" "$count" 0.05 10 "$@"
	ocs_counters
	for u; do
		drx=$((OCS_RXP[$u] - rx0[$u]))
		dtx=$((OCS_TXP[$u] - tx0[$u]))
		if [ "$drx" -gt "$BOUND" ] || [ "$dtx" -gt "$BOUND" ]; then
			fail "$tag: the OCS carried member traffic: $u's session +$drx rx / +$dtx tx packets (bound $BOUND, $relayed if relayed)"
		fi
		note="${note:+$note, }$u +$drx/+$dtx"
	done
	ok "$tag: $count echoes each way between every pair of $*, IPv4 and IPv6, all answered; OCS session packets rx/tx: $note (bound $BOUND, $relayed if relayed)"
}

# cut_add NS TABLE IN_RULE OUT_RULE: an nftables table in NS whose input
# chain holds IN_RULE and output chain OUT_RULE (either may be empty);
# cut_del NS TABLE deletes it.
cut_add() {
	local ns=$1 table=$2 in_rule=$3 out_rule=$4
	nsx "$ns" nft -f - <<- EOF || fail "nft in $ns"
		table inet $table {
			chain in {
				type filter hook input priority 0; policy accept;
				$in_rule
			}
			chain out {
				type filter hook output priority 0; policy accept;
				$out_rule
			}
		}
	EOF
}
cut_del() { nsx "$1" nft delete table inet "$2" || fail "nft delete table $2 in $1"; }

# ---- start: the OCS and four members --------------------------------------------
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
FOUR=(ann bob cat dan)
for u in "${FOUR[@]}"; do start_ostpd "$u" "$(ns_of "$u")" "$T_DIR/$u.conf"; done
for u in "${FOUR[@]}"; do wait_tunnel "$u" "$u"; done
declare -A PID0=()
for u in "${FOUR[@]}"; do PID0[$u]=${DPID[$u]}; done

# ---- phase 1: direct between every pair, nothing through the OCS ------------------
for a in "${FOUR[@]}"; do
	for b in "${FOUR[@]}"; do
		[ "$a" = "$b" ] && continue
		wait_for 20 "$a: $b direct" log_has "$a" "mesh: $b: direct via " ||
			fail "$a has no direct path to $b"
	done
done
ok "every member logged a direct path to each of the 3 others"

pings_direct p1 20 "${FOUR[@]}"

# ---- phase 2: 100 MiB ann -> bob, the direct path cut half-way -------------------
# A sender paced at 20 MiB/s makes the transfer last about 5 s whatever
# the machine's speed, so the cut, made once the receiver holds 50 MiB,
# falls in the middle.  The cut: ann's namespace drops every TCP segment
# to and from bob's underlay address, both directions, which leaves the
# OCS path alone.  A ping every 50 ms measures how long ann -> bob goes
# without replies: dead_ms (2 s) to notice, then the relay.
cat > "$T_DIR/paced.py" <<- 'EOF'
	import socket, sys, time
	host, port, path, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
	deadline = time.monotonic() + 120
	while True:
	    try:
	        c = socket.create_connection((host, port), timeout=5)
	        break
	    except OSError as e:
	        if time.monotonic() > deadline:
	            sys.exit("paced: cannot connect: %s" % e)
	        time.sleep(0.2)
	c.settimeout(30)
	t0 = time.monotonic(); n = 0
	with open(path, "rb") as f:
	    while True:
	        b = f.read(1 << 16)
	        if not b:
	            break
	        c.sendall(b); n += len(b)
	        if time.monotonic() > deadline:
	            sys.exit("paced: time limit reached")
	        ahead = n / rate - (time.monotonic() - t0)
	        if ahead > 0:
	            time.sleep(ahead)
	c.shutdown(socket.SHUT_WR)
	c.recv(1)
	c.close()
	print("sent", n, flush=True)
EOF
# gap.py START END PINGOUT: the longest time without an echo reply
# (ping -D lines), counting from START to the first and from the last
# to END; also the number of replies.
cat > "$T_DIR/gap.py" <<- 'EOF'
	import re, sys
	start, end = float(sys.argv[1]), float(sys.argv[2])
	ts = [float(m.group(1)) for m in
	      (re.match(r"\[(\d+\.\d+)\] \d+ bytes from", l) for l in open(sys.argv[3])) if m]
	pts = [start] + ts + [end]
	gap = max(b - a for a, b in zip(pts, pts[1:]))
	print(int(gap * 1000), len(ts))
EOF
SIZE=$((100 * 1048576))
head -c "$SIZE" /dev/urandom > "$T_DIR/blob"
C1=$(ns_of ann) C2=$(ns_of bob)
OUT=$T_DIR/recv.blob
bg_run recv "$C2" env TCPX_TIMEOUT=120 "$PY" "$T_DIR/tcpx.py" recv "${U_V4[bob]}" 5201 "$OUT"
RPID=$BG_PID
wait_for 10 "receiver on bob" grep -q listening "$T_DIR/recv.out" ||
	fail "receiver did not start: $(cat "$T_DIR/recv.out")"
ocs_counters
RXB0=${OCS_RXB[ann]}
mark_logs ann bob
bg_run send "$C1" "$PY" "$T_DIR/paced.py" "${U_V4[bob]}" 5201 "$T_DIR/blob" $((20 * 1048576))
SPID=$BG_PID
P_START=$(date +%s.%N)
bg_run gap "$C1" ping -n -D -i 0.05 -W 1 -w 60 "${U_V4[bob]}"
GPID=$BG_PID
fsize() { stat -c %s "$OUT" 2> /dev/null || echo 0; }
# shellcheck disable=SC2317  # called through wait_ms
recv_ge() { [ "$(fsize)" -ge "$1" ]; }
wait_ms 30 "50 MiB at bob" recv_ge $((50 * 1048576)) ||
	fail "the transfer did not reach 50 MiB in 30 s ($(fsize) bytes)"
cut_add "$C1" cut2 "ip saddr ${UL[bob]} meta l4proto tcp drop" "ip daddr ${UL[bob]} meta l4proto tcp drop"
AT=$(fsize)
[ "$AT" -lt $((70 * 1048576)) ] || fail "the cut came too late: bob already had $AT bytes"
say "direct path ann <-> bob cut with $((AT / 1048576)) MiB received"
wait "$SPID"
src=$?
wait "$RPID"
rrc=$?
kill -INT "$GPID" 2> /dev/null
wait "$GPID"
P_END=$(date +%s.%N)
[ $src = 0 ] || fail "the sender failed: $(tail -n 3 "$T_DIR/send.out")"
[ $rrc = 0 ] || fail "the receiver failed: $(tail -n 3 "$T_DIR/recv.out")"
a=$(sha256sum < "$T_DIR/blob" | cut -d' ' -f1)
b=$(sha256sum < "$OUT" | cut -d' ' -f1)
[ "$a" = "$b" ] || fail "SHA-256 differs ($a sent, $b received, $(fsize) bytes)"
ok "100 MiB ann -> bob complete, SHA-256 equal"
[ "$(lost_lines ann bob)" -ge 1 ] || fail "ann did not log the direct path to bob lost"
[ "$(direct_lines ann bob)" = 0 ] || fail "ann went direct to bob while the path was cut"
ocs_counters
relayed=$((OCS_RXB[ann] - RXB0))
[ "$relayed" -ge $((30 * 1048576)) ] ||
	fail "the OCS received only $relayed bytes from ann: the rest did not go through the relay"
ok "the rest went through the relay: the OCS received $((relayed / 1048576)) MiB from ann"
read -r GAP NREP < <("$PY" "$T_DIR/gap.py" "$P_START" "$P_END" "$T_DIR/gap.out") ||
	fail "cannot read the ping output"
say "ping ann -> bob every 50 ms: $NREP replies, longest gap $GAP ms"
[ "$NREP" -gt 0 ] || fail "no echo reply at all from bob during the transfer"
[ "$GAP" -le 3000 ] || fail "pings stopped for $GAP ms (limit 3000)"
ok "failover gap $GAP ms (limit 3000)"
rm -f "$OUT" "$T_DIR/blob"
mark_logs ann
cut_del "$C1" cut2
wait_ms 10 "ann: bob direct again" log_has ann "mesh: bob: direct via " "${MARK[ann]}" ||
	fail "ann not direct to bob 10 s after the cut was lifted"
ok "cut lifted: ann direct to bob again after $WAITED_MS ms (limit 10000)"

# ---- phase 3: a one-way cut ann -> cat ------------------------------------------
# cat's input drops ann's TCP: ann's segments are lost on the way, while
# cat's still reach ann.
C3=$(ns_of cat)
mark_logs ann cat
T3=$(now_ms)
cut_add "$C3" cut3 "ip saddr ${UL[ann]} meta l4proto tcp drop" ""
# shellcheck disable=SC2317  # called through wait_ms
failover_seen() { [ $(($(lost_lines ann cat) + $(lost_lines cat ann))) -ge 1 ]; }
wait_ms 10 "a failover between ann and cat" failover_seen ||
	fail "neither ann nor cat noticed the one-way cut"
say "failover logged $WAITED_MS ms after the one-way cut"
ocs_counters
RXP_ANN=${OCS_RXP[ann]} RXP_CAT=${OCS_RXP[cat]}
check_ping "$C1" "${U_V4[cat]}" "ann -> cat through the relay during the one-way cut"
check_ping "$C1" "${U_V6[cat]}" "ann -> cat (IPv6) through the relay during the one-way cut"
check_ping "$C3" "${U_V4[ann]}" "cat -> ann through the relay during the one-way cut"
# each of ann and cat sent at least 15 of those echo requests and replies
ocs_counters
if [ $((OCS_RXP[ann] - RXP_ANN)) -lt 15 ] || [ $((OCS_RXP[cat] - RXP_CAT)) -lt 15 ]; then
	fail "the pings did not go through the OCS: ann +$((OCS_RXP[ann] - RXP_ANN)), cat +$((OCS_RXP[cat] - RXP_CAT)) packets"
fi
ok "those pings went through the OCS: its sessions received +$((OCS_RXP[ann] - RXP_ANN)) packets from ann, +$((OCS_RXP[cat] - RXP_CAT)) from cat"
left=$((20000 - ($(now_ms) - T3)))
[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
for pair in ann:cat cat:ann; do
	a=${pair%:*} b=${pair#*:}
	l=$(lost_lines "$a" "$b")
	d=$(direct_lines "$a" "$b")
	say "$a about $b over 20 s of one-way cut: $l lost, $d direct"
	[ "$l" -le 1 ] || fail "$a lost its direct path to $b $l times in 20 s (flapping)"
	[ "$d" = 0 ] || fail "$a went direct to $b $d times while the path was cut one way"
done
ok "one-way cut: one failover, no return to direct for 20 s"
mark_logs ann cat
cut_del "$C3" cut3
wait_ms 10 "ann: cat direct again" log_has ann "mesh: cat: direct via " "${MARK[ann]}" ||
	fail "ann not direct to cat 10 s after the one-way cut was lifted"
T_BACK=$WAITED_MS
wait_for 5 "cat: ann direct again" log_has cat "mesh: ann: direct via " "${MARK[cat]}" ||
	fail "ann is direct to cat, but cat not to ann"
ok "one-way cut lifted: ann and cat direct again after $T_BACK ms (limit 10000)"

# ---- phase 4: the OCS killed, links stay; restarted, lists synced -----------------
mark_logs "${FOUR[@]}"
T4=$(now_ms)
stop_ostpd srv KILL
for u in "${FOUR[@]}"; do
	wait_for 10 "$u: the OCS is gone" log_has "$u" "mesh: the OCS is gone" "${MARK[$u]}" ||
		fail "$u did not notice the OCS going"
done
rounds=0
while [ $(($(now_ms) - T4)) -lt 60000 ]; do
	ping_pairs "p4-$rounds" 2 0.2 5 "${FOUR[@]}"
	rounds=$((rounds + 1))
	sleep 4
done
for u in "${FOUR[@]}"; do
	[ "$(log_count "$u" "direct path lost" "${MARK[$u]}")" = 0 ] ||
		fail "$u lost a direct path while the OCS was down"
done
ok "OCS down for 60 s: $rounds rounds of pings between every pair (both families) all answered, no direct path lost"
mark_logs "${FOUR[@]}"
start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
for u in "${FOUR[@]}"; do
	wait_for 20 "$u: list synced" log_has "$u" "mesh: member list synced" "${MARK[$u]}" ||
		fail "$u did not sync its member list with the restarted OCS"
done
pings_direct p4-after 5 "${FOUR[@]}"
for u in "${FOUR[@]}"; do
	[ "$(log_count "$u" "direct path lost|links closed" "${MARK[$u]}")" = 0 ] ||
		fail "$u closed links when the OCS came back"
done
ok "OCS restarted: every member synced its list again, the links stayed direct"

# ---- phase 5: trust del dan ----------------------------------------------------
THREE=(ann bob cat)
mark_logs "${FOUR[@]}"
T5=$(now_ms)
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" trust del dan
[ "$CTL_RC" = 0 ] || fail "trust del dan: exit status $CTL_RC: $CTL_ERR"
# dan_gone WHO: WHO has no TCP connection with dan's underlay address
# shellcheck disable=SC2317  # called through wait_for
dan_gone() {
	local out
	out=$(ss -Htn -N "$(ns_of "$1")" state established 2> /dev/null) || return 1
	! grep -q "${UL[dan]}:" <<< "$out"
}
for u in "${THREE[@]}"; do
	wait_for 5 "$u: dan removed" log_has "$u" "mesh: dan: removed from the member list" "${MARK[$u]}" ||
		fail "$u did not remove dan within 5 s"
	wait_for 5 "$u: no link to dan" dan_gone "$u" ||
		fail "$u still has a TCP connection with dan: $(ss -tn -N "$(ns_of "$u")")"
done
[ $(($(now_ms) - T5)) -le 5000 ] || fail "dan dropped after $(($(now_ms) - T5)) ms (limit 5000)"
ok "trust del dan: ann, bob and cat dropped dan and closed its links within $(($(now_ms) - T5)) ms"
ping_none p5 dan:ann dan:bob dan:cat ann:dan bob:dan cat:dan
ok "dan reaches nobody and nobody reaches dan, directly or through the OCS"

# ---- phase 6: eve joins ----------------------------------------------------------
mark_logs "${THREE[@]}"
start_ostpd eve "$(ns_of eve)" "$T_DIR/eve.conf"
wait_ms 20 "eve: tunnel up" log_has eve 'tunnel up' "${DSTART[eve]}" || {
	ss -tan -N "$(ns_of eve)"
	ip -n "$(ns_of eve)" neigh
	nsx "$(ns_of eve)" ping -c 2 -W 1 "$SRV_UNDERLAY"
	fail "eve: no tunnel"
}
T6=$(now_ms)
for u in "${THREE[@]}"; do
	wait_for 5 "$u: eve direct" log_has "$u" "mesh: eve: direct via " "${MARK[$u]}" ||
		fail "$u not direct to eve within 5 s of eve's tunnel"
	say "$u direct to eve $(($(now_ms) - T6)) ms (at most) after eve's tunnel came up"
done
JOIN_MS=$(($(now_ms) - T6))
[ "$JOIN_MS" -le 5000 ] || fail "eve reached directly after $JOIN_MS ms (limit 5000)"
ok "eve joined: ann, bob and cat direct to her within $JOIN_MS ms of her tunnel"
wait_tunnel eve eve
pings_direct p6 5 "${THREE[@]}" eve

for u in "${THREE[@]}"; do
	[ "${DPID[$u]}" = "${PID0[$u]}" ] || fail "$u was restarted"
	daemon_alive "$u" || fail "$u died"
done
daemon_alive srv || fail "the OCS died"
pass
