#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl show, show --json and dump of a mesh member: an OCS and two
# members, ann and bob, with a direct link.  Each member lists the other
# with its key, prefixes, path, link and handshake age, RTT, bytes each
# way and failovers; the bytes grow with a ping.  When the direct path is
# cut (nftables in ann's namespace) the path becomes "relay" within 5 s
# with one failover and pings go through the OCS; when the cut is lifted
# it is "direct" again within 10 s.  The OCS, no member, shows no mesh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping nft awk

topo_init 2
make_server_key
SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso", "mesh"'
MESH_SPW='"config", "ipv4", "ipv6", "gso", "relay", "mesh"'
declare -A KEY=() UL=()
for u in ann bob; do
	add_user "$u" "$u-secret"
	set_user_key "$u" "$T_DIR/$u.id"
	KEY[$u]=$USER_KEY
	U_SPW[$u]=$MESH_SPW
done
UL[ann]=198.18.0.2
UL[bob]=198.18.0.3
MESH_PORT=7201
write_server_conf "$T_DIR/srv.conf"
# Only the lower key dials (the other waits a minute): when both dial at
# once two links meet and one is closed, which is not what is measured
# here.  redial_max = 2: the repaired path is dialed again within seconds.
for u in ann bob; do
	write_client_conf "$T_DIR/$u.conf" "$u" identity="$T_DIR/$u.id" \
		mesh="listen = { \"${UL[$u]}:$MESH_PORT\" } keepalive_ms = 500 dead_ms = 2000 dial_delay_ms = 60000 redial_max = 2"
done
start_tunnels ann bob
A=${NS_OF[c1]}
declare -A NSU=([ann]=$A [bob]=${NS_OF[c2]})
wait_for 15 "ann: direct to bob" log_has ann 'mesh: bob: direct via' ||
	fail "ann never went direct to bob"
wait_for 15 "bob: direct to ann" log_has bob 'mesh: ann: direct via' ||
	fail "bob never went direct to ann"
ok "ann and bob are linked directly"

# ctl_of NAME ARGS...: ostpctl for member NAME's daemon (interface ostpc)
ctl_of() {
	local u=$1
	shift
	ctlx "${NSU[$u]}" -c "$T_DIR/$u.conf" "$@"
	[ "$CTL_RC" = 0 ] || fail "ostpctl $* for $u exited $CTL_RC: $CTL_ERR"
}

# The checks of one member entry in show --json: every field with its
# type; prints "path rx_bytes tx_bytes failovers rtt_us we|it|none
# N_MESH_LINKS N_HANDSHAKING".
cat > "$T_DIR/member.py" << 'PYEOF'
import json, sys
path, other, key, listen, v4, v6 = sys.argv[1:]
i = json.load(open(path))["ostpc"]
mesh = i["mesh"]
assert isinstance(mesh, list) and len(mesh) == 1, mesh
m = mesh[0]
def is_int(v): return type(v) is int and v >= 0
def is_int_or_none(v): return v is None or is_int(v)
types = {
    "name": lambda v: v == other,
    "public_key": lambda v: v == key,
    "prefixes": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v)
        and any(p.startswith(v4 + "/") for p in v) and any(p.startswith(v6 + "/") for p in v),
    "path": lambda v: v in ("direct", "relay", "down"),
    "endpoint": lambda v: v is None or isinstance(v, str),
    "we_dialed": lambda v: v is None or type(v) is bool,
    "listen": lambda v: v == listen,
    "link_age_ms": is_int_or_none,
    "handshake_ago_ms": is_int_or_none,
    "latest_handshake_seconds": is_int_or_none,
    "rtt_us": is_int, "rx_bytes": is_int, "tx_bytes": is_int,
    "failovers": is_int, "drops_source": is_int,
    "last_error": lambda v: isinstance(v, str),
}
for k, ok in types.items():
    assert k in m, ("missing", k, m)
    assert ok(m[k]), ("bad", k, m[k])
assert set(m) == set(types), set(m) ^ set(types)
if m["path"] == "direct":
    # a direct path has its link: where it goes, its age, its handshake
    assert m["endpoint"] and m["endpoint"].startswith(listen.split(":")[0] + ":"), m
    assert m["we_dialed"] is not None and m["link_age_ms"] is not None, m
    assert m["handshake_ago_ms"] is not None and m["drops_source"] == 0, m
assert any(s["role"] == "server" for s in i["sessions"]), i["sessions"]
# mesh links are sessions too, role "mesh" (dials in progress included)
links = [s for s in i["sessions"] if s["role"] == "mesh"]
if m["endpoint"]:
    assert any(s["user"] == other and s["endpoint"] == m["endpoint"] for s in links), links
print(m["path"], m["rx_bytes"], m["tx_bytes"], m["failovers"], m["rtt_us"],
      {True: "we", False: "it", None: "none"}[m["we_dialed"]],
      len(links), sum(1 for s in links if s["handshaking"]))
PYEOF

# member_get ME OTHER: OTHER's entry in ME's show --json, checked by
# member.py, into M_PATH M_RX M_TX M_FO M_RTT M_WHO M_LINKS M_HS; 1 (and
# the reason in M_ERR) when ostpctl or a check fails.  Never exits: it
# is polled by wait_for.
member_get() {
	local me=$1 other=$2
	M_PATH="" M_ERR=""
	ctlx "${NSU[$me]}" -c "$T_DIR/$me.conf" --json show ostpc
	if [ "$CTL_RC" != 0 ]; then
		M_ERR="$me: show --json exited $CTL_RC: $CTL_ERR"
		return 1
	fi
	if ! "$PY" "$T_DIR/member.py" "$T_DIR/ctl.out" "$other" "${KEY[$other]}" \
		"${UL[$other]}:$MESH_PORT" "${U_V4[$other]}" "${U_V6[$other]}" \
		> "$T_DIR/member.out" 2>&1; then
		M_ERR="$me: show --json: $(cat "$T_DIR/member.out") in $(cat "$T_DIR/ctl.out")"
		return 1
	fi
	read -r M_PATH M_RX M_TX M_FO M_RTT M_WHO M_LINKS M_HS < "$T_DIR/member.out"
}

member_json() { member_get "$@" || fail "$M_ERR"; }

# path_is ME OTHER PATH: ME's show --json says PATH for OTHER
path_is() { member_get "$1" "$2" && [ "$M_PATH" = "$3" ]; }

# linked: both say direct over one established link, which one of them
# dialed, and no other link or dial is under way: two links that meet
# are settled by closing one, which would disturb what is measured next.
linked() {
	local wa
	member_get ann bob && [ "$M_PATH" = direct ] && [ "$M_LINKS" = 1 ] && [ "$M_HS" = 0 ] ||
		return 1
	wa=$M_WHO
	member_get bob ann && [ "$M_PATH" = direct ] && [ "$M_LINKS" = 1 ] && [ "$M_HS" = 0 ] &&
		[ "$wa" != "$M_WHO" ]
}

# show_all: what ostpctl show says on each daemon (for a failure's report)
show_all() {
	local u
	for u in ann bob; do
		echo "---- ostpctl show on $u ----"
		ctlx "${NSU[$u]}" -c "$T_DIR/$u.conf" show ostpc
		cat "$T_DIR/ctl.out" "$T_DIR/ctl.err"
	done
	echo "---- ostpctl show on the OCS ----"
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" show ostps
	cat "$T_DIR/ctl.out" "$T_DIR/ctl.err"
}

# ---- show --json --------------------------------------------------------------
wait_for 10 "one direct link between ann and bob" linked ||
	fail "no single direct link between ann and bob: ${M_ERR:-path $M_PATH, $M_LINKS links}"
member_json bob ann
fob=$M_FO who_b=$M_WHO
member_json ann bob
p0=$M_PATH rx0=$M_RX tx0=$M_TX fo0=$M_FO rtt0=$M_RTT who_a=$M_WHO
[ "$fo0" = 0 ] && [ "$fob" = 0 ] || fail "failovers before any cut: ann $fo0, bob $fob"
[ "$rtt0" -gt 0 ] || fail "ann: rtt_us to bob is $rtt0"
ok "show --json: every field, path $p0 both ways, rtt ${rtt0} us, failovers 0, ann: $who_a dialed, bob: $who_b"

ping_ok "$A" "${U_V4[bob]}" 10 ||
	{ cat "$T_DIR/ping.out"; show_all; fail "ping ann -> bob over the direct link"; }
member_json ann bob
p1=$M_PATH rx1=$M_RX tx1=$M_TX fo1=$M_FO
[ $((tx1 - tx0)) -ge 840 ] || fail "tx_bytes to bob grew by $((tx1 - tx0)), less than 10 pings"
[ $((rx1 - rx0)) -ge 840 ] || fail "rx_bytes from bob grew by $((rx1 - rx0)), less than 10 replies"
[ "$p1" = direct ] && [ "$fo1" = 0 ] || fail "after the ping: path $p1, failovers $fo1"
ok "10 pings: rx +$((rx1 - rx0)) B, tx +$((tx1 - tx0)) B"

# ---- show ---------------------------------------------------------------------
ctl_of ann show ostpc
out=$T_DIR/ctl.out
short=${KEY[bob]:0:11}
grep -Fq "member: bob  key: $short...  prefixes: " "$out" || { cat "$out"; fail "show: no member line for bob"; }
for re in '^  mesh members: 1$' "^member: bob .*prefixes: .*${U_V4[bob]}/[0-9]+, .*${U_V6[bob]}/" \
	"^  accepts links: ${UL[bob]}:$MESH_PORT$" \
	"^  path: direct ${UL[bob]}:[0-9]+ \\((we|it) dialed\\)$" \
	'^  link: [0-9]+ seconds?, latest handshake: [0-9]+ seconds? ago, rtt [0-9]+\.[0-9]{2} ms$' \
	'^  transfer: [0-9.]+ (B|KiB) received, [0-9.]+ (B|KiB) sent; failovers: 0; source drops: 0$' \
	'^  role: mesh member$' '^  role: upstream server$'; do
	grep -Eq -- "$re" "$out" || { cat "$out"; fail "show: no line matching '$re'"; }
done
! grep -q '^  last error:.*' <(sed -n '/^member:/,$p' "$out") ||
	{ cat "$out"; fail "show: a last error before any failure"; }
ok "show: member bob with key, prefixes, direct path, link, handshake, rtt and transfer"

# ---- dump ---------------------------------------------------------------------
# ann's dump: sessions of 11 fields, and bob's line of 17
ctl_of ann dump ostpc
awk -F'\t' -v other=bob -v key="${KEY[bob]}" '
	$2 == "mesh" && $3 == other {
		if (NF != 17 || $1 != "ostpc" || $4 != key) exit 1
		print $6, $9, $13, $14, $15; found = 1
	}
	$2 != "mesh" && NF != 11 { exit 1 }
	END { if (!found) exit 1 }' "$T_DIR/ctl.out" > "$T_DIR/dump.fields" ||
	fail "dump: no well-formed line for bob: $(cat "$T_DIR/ctl.out")"
read -r dpath ddial drx dtx dfo < "$T_DIR/dump.fields"
[ "$dpath" = direct ] && [ "$dfo" = 0 ] && [ "$drx" -ge "$rx1" ] && [ "$dtx" -ge "$tx1" ] ||
	fail "dump: path $dpath, failovers $dfo, rx $drx, tx $dtx (json said $rx1 / $tx1)"
[ "$ddial" = "$([ "$who_a" = we ] && echo 1 || echo 0)" ] || fail "dump: dialer $ddial, json said $who_a"
ok "dump: 17 fields for bob, direct, counters as in show --json"

# The OCS is no member: no mesh in its documents (as before mesh existed)
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" --json show ostps
[ "$CTL_RC" = 0 ] || fail "OCS show --json exited $CTL_RC: $CTL_ERR"
"$PY" -c 'import json,sys; i = json.load(open(sys.argv[1]))["ostps"]; assert "mesh" not in i, i' \
	"$T_DIR/ctl.out" || fail "OCS show --json has a mesh key: $(cat "$T_DIR/ctl.out")"
ctlx "$NS_SRV" -c "$T_DIR/srv.conf" show ostps
[ "$CTL_RC" = 0 ] || fail "OCS show exited $CTL_RC: $CTL_ERR"
grep -Eq '^(member:|  mesh members:)' "$T_DIR/ctl.out" && fail "OCS show lists mesh members"
ok "the OCS shows no mesh"

# ---- cut the direct path ------------------------------------------------------
# Every TCP packet between ann and bob is dropped in ann's namespace,
# whoever dialed: the link's, and every redial's.  The OCS is untouched.
cut_on() {
	nsx "$A" nft -f - <<- EOF || fail "nft: cut"
		table inet meshcut {
		  chain in { type filter hook input priority 0; ip saddr ${UL[bob]} meta l4proto tcp drop; }
		  chain out { type filter hook output priority 0; ip daddr ${UL[bob]} meta l4proto tcp drop; }
		}
	EOF
}
cut_off() { nsx "$A" nft delete table inet meshcut || fail "nft: lift the cut"; }

mark_a=$(log_mark ann)
cut_on
t0=$SECONDS
wait_for 5 "ann: bob relayed" path_is ann bob relay ||
	fail "path to bob is not relay 5 s after the cut: ${M_ERR:-$M_PATH}"
ok "ann: path to bob is relay $((SECONDS - t0)) s after the cut"
log_has ann 'mesh: bob: direct path lost .*: relaying through the OCS' "$mark_a" ||
	fail "ann did not log the lost direct path"
wait_for 5 "bob: ann relayed" path_is bob ann relay || fail "bob: path to ann is not relay: ${M_ERR:-$M_PATH}"
member_json ann bob
[ "$M_PATH" = relay ] && [ "$M_FO" = 1 ] || fail "after the cut: path $M_PATH, failovers $M_FO (want relay, 1)"
ctl_of ann show ostpc
grep -Eq '^  path: relay via OCS' "$T_DIR/ctl.out" && grep -Eq '^  last error: .+' "$T_DIR/ctl.out" &&
	grep -Eq 'failovers: 1;' "$T_DIR/ctl.out" || { cat "$T_DIR/ctl.out"; fail "show after the cut"; }

# pings now go through the OCS: its session with ann carries them
ocs_rx() {
	ctlx "$NS_SRV" -c "$T_DIR/srv.conf" dump ostps
	[ "$CTL_RC" = 0 ] || fail "OCS dump exited $CTL_RC: $CTL_ERR"
	OCS_RX=$(awk -F'\t' '$2 == "ann" { print $8 }' "$T_DIR/ctl.out")
	[ -n "$OCS_RX" ] || fail "OCS dump: no session of ann: $(cat "$T_DIR/ctl.out")"
}
ocs_rx
orx0=$OCS_RX
ping_ok "$A" "${U_V4[bob]}" 10 ||
	{ cat "$T_DIR/ping.out"; show_all; fail "ping ann -> bob with the direct path cut"; }
ocs_rx
[ $((OCS_RX - orx0)) -ge 10 ] || fail "the OCS received $((OCS_RX - orx0)) packets from ann for 10 pings"
ok "cut: relay, failovers 1, last error shown; 10 pings went through the OCS"

# ---- lift it -----------------------------------------------------------------
cut_off
t0=$SECONDS
wait_for 10 "ann: bob direct again" path_is ann bob direct ||
	fail "path to bob not direct 10 s after the cut was lifted: ${M_ERR:-$M_PATH}"
ok "ann: path to bob direct again $((SECONDS - t0)) s after the cut was lifted"
wait_for 10 "one direct link again" linked ||
	fail "no single direct link after the repair: ${M_ERR:-path $M_PATH, $M_LINKS links}"
member_json bob ann
fob=$M_FO
member_json ann bob
rx3=$M_RX tx3=$M_TX fo3=$M_FO rtt3=$M_RTT
[ "$fo3" = 1 ] && [ "$fob" = 1 ] || fail "failovers after the repair: ann $fo3, bob $fob; want 1"
ping_ok "$A" "${U_V4[bob]}" 5 ||
	{ cat "$T_DIR/ping.out"; show_all; fail "ping ann -> bob after the repair"; }
member_json ann bob
[ "$M_PATH" = direct ] && [ $((M_TX - tx3)) -ge 420 ] && [ $((M_RX - rx3)) -ge 420 ] ||
	fail "after the repair: path $M_PATH, tx +$((M_TX - tx3)), rx +$((M_RX - rx3))"
ok "direct again: failovers 1 on both, rtt $rtt3 us, pings counted on the new link"
pass
