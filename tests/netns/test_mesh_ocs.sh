#!/bin/bash
# SPDX-License-Identifier: ISC
# The OCS side of the mesh: the member list (MEMBER records).  Users ian,
# quinn, dora and mallory are members (an identity key and the "mesh"
# permission in their user sections); eve is a plain client.  Each member
# runs tests/member.c (a libostp member: option I, password, SPW MESH) in
# its own namespace and prints one JSON line per event.
#
#   - each member's first list holds every other member (name, key,
#     prefixes; an endpoint only for those online that announced), then
#     SYNCED; never its own key;
#   - an ANNOUNCE with an empty host reaches the others within 2 s, with
#     the member's underlay address; a member that joins later likewise;
#   - a member whose session ends stays listed, without endpoint (UPSERT
#     with port 0), not REMOVEd;
#   - a member proving another key than its configured one is refused with
#     CLOSE(9) and the server logs "not the configured key";
#   - `ostpctl trust del dora` closes dora's session and the others get a
#     REMOVE of dora's key within 5 s;
#   - eve, with or without an identity, never gets a MEMBER record.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init

: "${MEMBER:=$OSTP_BUILD/member}"
case $MEMBER in /*) ;; *) MEMBER=$OSTP_TOP/$MEMBER ;; esac
[ -x "$MEMBER" ] || fail "no member tool at $MEMBER (make BUILD=... $MEMBER)"

topo_init 5
C_IAN=${NS_OF[c1]} C_QUINN=${NS_OF[c2]} C_DORA=${NS_OF[c3]}
C_EVE=${NS_OF[c4]} C_MAL=${NS_OF[c5]}
UL_QUINN=198.18.0.3 UL_DORA=198.18.0.4
make_server_key
MESH_SPW='"config", "ipv4", "ipv6", "mesh"'
declare -A KEY=()
for u in ian quinn dora mallory; do
	add_user "$u" "$u-secret"
	set_user_key "$u" "$T_DIR/$u.id"
	KEY[$u]=$USER_KEY
	U_SPW[$u]=$MESH_SPW
done
# eve may use the mesh bit, but has no key: not a member
add_user eve eve-secret
U_SPW[eve]=$MESH_SPW
U_EXTRA[ian]='allowed_ips = { "198.18.50.0/24", "fd00:50::/64" }'
# mallory's member proves this key, not the configured one; eve's identity
"$OSTPD" -g "$T_DIR/mallory-other.id" > /dev/null || fail "ostpd -g"
"$OSTPD" -g "$T_DIR/eve.id" > /dev/null || fail "ostpd -g"
SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso", "mesh"'
write_server_conf "$T_DIR/srv.conf"

# The prefixes each member's entry must carry, sorted, comma-separated.
declare -A PFX=()
for u in ian quinn dora mallory; do
	PFX[$u]="${U_V4[$u]}/32,${U_V6[$u]}/128"
done
PFX[ian]="${PFX[ian]},198.18.50.0/24,fd00:50::/64"
for u in ian quinn dora mallory; do
	PFX[$u]=$(tr ',' '\n' <<< "${PFX[$u]}" | sort | paste -sd, -)
done

# $T_DIR/mq.py: queries over a member's JSON lines (lines that do not
# parse, such as one still being written, are skipped).
#   mq.py count FILE FROM FILTER...      matching lines from line FROM on
#   mq.py get FILE FROM FIELD FILTER...  FIELD of the first match (exit 1: none)
# FILTER is FIELD=VALUE (strings as they are, other values as JSON:
# true, 7100; prefixes as a sorted comma-separated list), or
# @before_synced: a member record before the first SYNCED in the file.
cat > "$T_DIR/mq.py" <<- 'EOF'
	import json, sys
	cmd, path, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
	args = sys.argv[4:]
	field = args.pop(0) if cmd == "get" else None
	recs = []
	with open(path, errors="replace") as f:
	    for i, line in enumerate(f, 1):
	        try:
	            r = json.loads(line)
	        except ValueError:
	            continue
	        if isinstance(r, dict):
	            recs.append((i, r))
	synced = min([i for i, r in recs if r.get("event") == "member" and r.get("op") == "synced"],
	             default=None)
	def val(v):
	    if isinstance(v, str):
	        return v
	    if isinstance(v, list):
	        return ",".join(sorted(str(x) for x in v))
	    return json.dumps(v)
	def match(i, r):
	    if i < start:
	        return False
	    for a in args:
	        if a == "@before_synced":
	            if r.get("event") != "member" or synced is None or i >= synced:
	                return False
	            continue
	        k, _, v = a.partition("=")
	        if k not in r or val(r[k]) != v:
	            return False
	    return True
	hits = [r for i, r in recs if match(i, r)]
	if cmd == "count":
	    print(len(hits))
	elif cmd == "get":
	    if not hits:
	        sys.exit(1)
	    print(val(hits[0].get(field, "")))
	else:
	    sys.exit("mq: unknown command " + cmd)
EOF

# mq_count NAME FROM FILTER... / mq_get NAME FROM FIELD FILTER... over
# $T_DIR/NAME.json; mq_has NAME FROM FILTER...: at least one match.
mq_count() { local n=$1; shift; "$PY" "$T_DIR/mq.py" count "$T_DIR/$n.json" "$@"; }
mq_get() { local n=$1; shift; "$PY" "$T_DIR/mq.py" get "$T_DIR/$n.json" "$@"; }
mq_has() { [ "$(mq_count "$@")" -gt 0 ]; }
# json_mark NAME: the line where NAME's next output will start.
json_mark() { echo $(($(wc -l < "$T_DIR/$1.json") + 1)); }
# now_ms: CLOCK_MONOTONIC in ms, the clock of the tool's "t".
now_ms() { "$PY" -c 'import time; print(int(time.monotonic() * 1000))'; }

# shellcheck disable=SC2317  # called through wait_for
pid_gone() { ! pid_alive "$1"; }

declare -A MPID=()
# run_member NAME NS SECS [member options...]: the member tool as user
# NAME in NS for at most SECS, in the background; stdout in
# $T_DIR/NAME.json, stderr in $T_DIR/NAME.err.  Options -u, -p, -s, -k and
# -t are added.
run_member() {
	local name=$1 ns=$2 secs=$3 user=${1%%-*}
	shift 3
	ip netns exec "$ns" "$MEMBER" -s "$SRV_UNDERLAY:$SRV_PORT" -k "$SERVER_KEY" \
		-u "$user" -p "$user-secret" -t "$secs" "$@" \
		> "$T_DIR/$name.json" 2> "$T_DIR/$name.err" < /dev/null &
	MPID[$name]=$!
	PID_LIST+=("$!")
}

# member_settled NAME: NAME's session is established, or has ended.
# shellcheck disable=SC2317  # called through wait_for
member_settled() {
	mq_has "$1" 1 event=established || mq_has "$1" 1 event=closed
}

# member_up NAME: established and its first list complete (SYNCED).
member_up() {
	local n=$1
	wait_for 20 "$n established (or closed)" member_settled "$n"
	mq_has "$n" 1 event=established || {
		daemon_alive srv || say "the server is gone"
		fail "$n: no session: $(tail -n 3 "$T_DIR/$n.json" "$T_DIR/$n.err")"
	}
	[ "$(mq_get "$n" 1 spw event=established)" = 39 ] ||
		fail "$n: agreed spw $(mq_get "$n" 1 spw event=established), want 39 (0x27: mesh, config, ipv4, ipv6)"
	[ "$(mq_get "$n" 1 key event=established)" = "${KEY[$n]}" ] ||
		fail "$n: the tool proves another key than the configured one"
	wait_for 10 "$n: SYNCED" mq_has "$n" 1 event=member op=synced ||
		fail "$n: no SYNCED after ESTABLISHED: $(tail -n 5 "$T_DIR/$n.json")"
	[ "$(mq_count "$n" 1 event=member op=synced)" = 1 ] || fail "$n: more than one SYNCED"
}

# first_list NAME ONLINE...: NAME's records before SYNCED are exactly one
# UPSERT for each other member (ian, quinn, dora, mallory), with its name,
# key and prefixes; those not in ONLINE without endpoint.
first_list() {
	local n=$1 m got
	shift
	got=$(mq_count "$n" 1 @before_synced)
	[ "$got" = 3 ] || fail "$n: $got records before SYNCED, want 3 (one per other member)"
	for m in ian quinn dora mallory; do
		[ "$m" = "$n" ] && continue
		[ "$(mq_count "$n" 1 @before_synced op=upsert name="$m" key="${KEY[$m]}")" = 1 ] ||
			fail "$n: no UPSERT for $m with its key before SYNCED: $(grep "\"$m\"" "$T_DIR/$n.json")"
		got=$(mq_get "$n" 1 prefixes @before_synced name="$m")
		[ "$got" = "${PFX[$m]}" ] || fail "$n: $m's prefixes are $got, want ${PFX[$m]}"
		case " $* " in *" $m "*) continue ;; esac
		[ "$(mq_count "$n" 1 @before_synced name="$m" port=0 flags=0 host=)" = 1 ] ||
			fail "$n: offline member $m listed with an endpoint: $(grep "\"$m\"" "$T_DIR/$n.json")"
	done
	[ "$(mq_count "$n" 1 event=member key="${KEY[$n]}")" = 0 ] ||
		fail "$n: got a record for its own key"
}

# announced_within WHO NAME HOST PORT MS: WHO gets an UPSERT for NAME at
# HOST:PORT with ACCEPTS, at most MS after NAME's member sent its ANNOUNCE.
announced_within() {
	local who=$1 n=$2 host=$3 port=$4 ms=$5 t0 t1
	t0=$(mq_get "$n" 1 t event=announce ok=true) || fail "$n did not announce: $(cat "$T_DIR/$n.err")"
	wait_for 10 "$who: $n at $host:$port" \
		mq_has "$who" 1 event=member op=upsert name="$n" key="${KEY[$n]}" host="$host" port="$port" flags=1 ||
		fail "$who: no UPSERT for $n at $host:$port: $(grep "\"$n\"" "$T_DIR/$who.json")"
	t1=$(mq_get "$who" 1 t event=member op=upsert name="$n" host="$host" port="$port" flags=1)
	[ $((t1 - t0)) -le "$ms" ] || fail "$who: $n's endpoint came $((t1 - t0)) ms after its ANNOUNCE (limit $ms)"
	ok "$who: $n at $host:$port (ACCEPTS), $((t1 - t0)) ms after the ANNOUNCE"
}

start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv

# ---- plain clients: eve without, and with an identity --------------------------
run_member eve "$C_EVE" 90
run_member eve-id "$C_EVE" 90 -i "$T_DIR/eve.id"
wait_for 20 "eve established (or closed)" member_settled eve
mq_has eve 1 event=established ||
	fail "eve (no identity) has no session: $(cat "$T_DIR/eve.json" "$T_DIR/eve.err")"
ok "eve without an identity: session up, spw $(mq_get eve 1 spw event=established)"

# ---- first lists --------------------------------------------------------------
run_member ian "$C_IAN" 90 -i "$T_DIR/ian.id"
member_up ian
first_list ian
ok "ian: UPSERT quinn, dora, mallory (keys, prefixes, no endpoint), then SYNCED"

run_member quinn "$C_QUINN" 90 -i "$T_DIR/quinn.id" -a 7100
member_up quinn
first_list quinn
ok "quinn: UPSERT ian, dora, mallory, then SYNCED"
announced_within ian quinn "$UL_QUINN" 7100 2000

# ---- a member joining later ------------------------------------------------------
run_member dora "$C_DORA" 90 -i "$T_DIR/dora.id" -a 7300
member_up dora
first_list dora quinn
[ "$(mq_count dora 1 @before_synced name=quinn host="$UL_QUINN" port=7100 flags=1)" = 1 ] ||
	fail "dora's first list does not have quinn's endpoint: $(grep '"quinn"' "$T_DIR/dora.json")"
ok "dora: UPSERT ian, quinn (at $UL_QUINN:7100, ACCEPTS), mallory, then SYNCED"
announced_within ian dora "$UL_DORA" 7300 2000
announced_within quinn dora "$UL_DORA" 7300 2000

# ---- a wrong key is refused ---------------------------------------------------------
mark_s=$(log_mark srv)
timeout -k 5 30 ip netns exec "$C_MAL" "$MEMBER" -s "$SRV_UNDERLAY:$SRV_PORT" -k "$SERVER_KEY" \
	-u mallory -p mallory-secret -i "$T_DIR/mallory-other.id" -t 15 \
	> "$T_DIR/mallory.json" 2> "$T_DIR/mallory.err" < /dev/null
rc=$?
[ $rc = 3 ] || fail "mallory with another key: exit status $rc, want 3: $(cat "$T_DIR/mallory.json" "$T_DIR/mallory.err")"
mq_has mallory 1 event=closed peer_closed=true close_reason=9 ||
	fail "mallory: no CLOSE(9) from the server: $(cat "$T_DIR/mallory.json")"
[ "$(mq_count mallory 1 event=member)" = 0 ] || fail "mallory got MEMBER records"
wait_for 5 "server logs the wrong key" log_has srv 'not the configured key' "$mark_s" ||
	fail "the server did not log 'not the configured key'"
ok "mallory proving another key: CLOSE(9) NOT_MEMBER, exit 3, logged"

# ---- a member leaves: listed without endpoint, not removed ------------------------
declare -A MARK=([ian]=$(json_mark ian) [dora]=$(json_mark dora))
stop_pid "${MPID[quinn]}" TERM 10
rc=$?
[ $rc = 0 ] || fail "quinn's member exited $rc after SIGTERM"
mq_has quinn 1 event=closed local=true || fail "quinn did not close its session"
for who in ian dora; do
	wait_for 10 "$who: quinn without endpoint" \
		mq_has "$who" "${MARK[$who]}" event=member op=upsert name=quinn key="${KEY[quinn]}" port=0 flags=0 host= ||
		fail "$who: no UPSERT of quinn without endpoint after quinn left: $(tail -n +"${MARK[$who]}" "$T_DIR/$who.json")"
	[ "$(mq_get "$who" "${MARK[$who]}" prefixes op=upsert name=quinn port=0)" = "${PFX[quinn]}" ] ||
		fail "$who: quinn's entry lost its prefixes"
done
ok "quinn left: ian and dora got UPSERT quinn with port 0, flags 0"

# ---- trust del: the member is removed --------------------------------------------
mark_i=$(json_mark ian)
t0=$(now_ms)
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" trust del dora
[ "$CTL_RC" = 0 ] || fail "trust del dora: exit status $CTL_RC: $CTL_ERR"
wait_for 10 "dora's session closed" mq_has dora 1 event=closed peer_closed=true ||
	fail "dora's session was not closed: $(tail -n 3 "$T_DIR/dora.json")"
[ "$(mq_get dora 1 close_reason event=closed)" = 8 ] ||
	fail "dora's session closed with reason $(mq_get dora 1 close_reason event=closed), want 8 (REVOKED)"
wait_for 10 "ian: REMOVE dora" mq_has ian "$mark_i" event=member op=remove key="${KEY[dora]}" ||
	fail "ian got no REMOVE of dora's key: $(tail -n +"$mark_i" "$T_DIR/ian.json")"
t1=$(mq_get ian "$mark_i" t event=member op=remove key="${KEY[dora]}")
[ $((t1 - t0)) -le 5000 ] || fail "ian got dora's REMOVE $((t1 - t0)) ms after trust del (limit 5000)"
wait_for 10 "dora's member exits" pid_gone "${MPID[dora]}" || fail "dora's member still runs"
wait "${MPID[dora]}"
ok "trust del dora: dora's session closed (REVOKED), ian got REMOVE dora $((t1 - t0)) ms after the command"

# ---- what must not have happened ---------------------------------------------------
for who in ian dora; do
	[ "$(mq_count "$who" 1 event=member op=remove key="${KEY[quinn]}")" = 0 ] ||
		fail "$who got a REMOVE for quinn, who only went offline"
done
for who in ian dora; do
	[ "$(mq_count "$who" 1 event=member key="${KEY[$who]}")" = 0 ] ||
		fail "$who got a record for its own key"
done
for who in eve eve-id; do
	[ "$(mq_count "$who" 1 event=member)" = 0 ] ||
		fail "$who (not a member) got MEMBER records: $(grep member "$T_DIR/$who.json" | head -n 3)"
done
pid_alive "${MPID[eve]}" || fail "eve's session ended early: $(tail -n 2 "$T_DIR/eve.json")"
if mq_has eve-id 1 event=established; then
	what="session up, spw $(mq_get eve-id 1 spw event=established)"
else
	what="refused ($(mq_get eve-id 1 reason event=closed))"
fi
ok "eve (no identity, and an identity but no key configured: $what): no MEMBER record"

stop_pid "${MPID[ian]}" TERM 10
rc=$?
[ $rc = 0 ] || fail "ian's member exited $rc"
stop_pid "${MPID[eve]}" TERM 10
rc=$?
[ $rc = 0 ] || fail "eve's member exited $rc"
daemon_alive srv || fail "the server died"
pass
