#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl show, show --json and dump report what a ping and a TCP transfer
# moved: the counters of ian's session on the server grow by at least the
# traffic sent, in all three forms.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping head

topo_users 1 ian
C1=${NS_OF[c1]}
S=(-c "$T_DIR/srv.conf")

ctl_up srv "$NS_SRV" "$T_DIR/srv.conf" ostps
ctl_up ian "$C1" "$T_DIR/ian.conf" ostpc --wait 20

# json_get FIELD...: ian's session on the server, from show --json; also
# checks the document's interface fields.
json_snapshot() {
	ctlx "$NS_SRV" "${S[@]}" --json show ostps
	[ "$CTL_RC" = 0 ] || fail "show --json exited $CTL_RC: $CTL_ERR"
	"$PY" - "$T_DIR/ctl.out" "$SERVER_KEY" "${U_V4[ian]}" <<- 'EOF' || fail "show --json: $(cat "$T_DIR/ctl.out")"
		import json, sys
		doc = json.load(open(sys.argv[1]))
		i = doc["ostps"]
		assert i["interface"] == "ostps", i
		assert i["public_key"] == sys.argv[2], i["public_key"]
		assert i["listen_port"] == 7000, i
		assert i["roles"] == ["server"], i
		assert isinstance(i["pid"], int) and i["pid"] > 0
		assert i["aead_engine"] in ("openssl", "libsodium"), i
		s = [x for x in i["sessions"] if x["user"] == "ian"]
		assert len(s) == 1, i["sessions"]
		s = s[0]
		assert s["role"] == "client" and not s["handshaking"], s
		assert any(a.startswith(sys.argv[3] + "/") for a in s["addresses"]), s
		assert "ipv4" in s["spw"] and "config" in s["spw"], s
		for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "drops", "up_ms"):
		    assert isinstance(s[k], int) and s[k] >= 0, (k, s)
		print(s["rx_bytes"], s["rx_packets"], s["tx_bytes"], s["tx_packets"])
	EOF
}

# dump_snapshot: rx_bytes rx_packets tx_bytes tx_packets of ian's line.
dump_snapshot() {
	ctlx "$NS_SRV" "${S[@]}" dump ostps
	[ "$CTL_RC" = 0 ] || fail "dump exited $CTL_RC: $CTL_ERR"
	awk -F'\t' -v addr="${U_V4[ian]}" '
		$2 == "ian" {
			if (NF != 11 || $1 != "ostps" || index($4, addr "/") == 0) exit 1
			print $7, $8, $9, $10; found = 1
		}
		END { if (!found) exit 1 }' "$T_DIR/ctl.out" ||
		fail "dump: no well-formed line for ian: $(cat "$T_DIR/ctl.out")"
}

read -r j_rxb j_rxp j_txb j_txp < <(json_snapshot) || fail "first snapshot"
read -r d_rxb d_rxp d_txb d_txp < <(dump_snapshot) || fail "first dump"
ok "before: json rx $j_rxb B / $j_rxp pkts, tx $j_txb B / $j_txp pkts; dump rx $d_rxb B"

# traffic: 10 pings, then 3 MiB from ian to the server
ping_ok "$C1" "$SRV_V4" 10 || fail "ping through the tunnel"
head -c 3145728 /dev/urandom > "$T_DIR/blob"
transfer "$C1" "$NS_SRV" "$SRV_V4" 5201 "$T_DIR/blob" "3 MiB ian -> server"

read -r j2_rxb j2_rxp j2_txb j2_txp < <(json_snapshot) || fail "second snapshot"
read -r d2_rxb d2_rxp d2_txb d2_txp < <(dump_snapshot) || fail "second dump"
ok "after: json rx $j2_rxb B / $j2_rxp pkts, tx $j2_txb B / $j2_txp pkts; dump rx $d2_rxb B"
[ $((j2_rxb - j_rxb)) -ge 3145728 ] || fail "json rx_bytes grew by $((j2_rxb - j_rxb)), less than the 3 MiB sent"
[ $((j2_rxp - j_rxp)) -ge 10 ] || fail "json rx_packets grew by only $((j2_rxp - j_rxp))"
[ $((j2_txp - j_txp)) -ge 10 ] || fail "json tx_packets grew by only $((j2_txp - j_txp)) (10 echo replies)"
[ "$j2_txb" -gt "$j_txb" ] || fail "json tx_bytes did not grow"
[ $((d2_rxb - d_rxb)) -ge 3145728 ] || fail "dump rx_bytes grew by $((d2_rxb - d_rxb))"
[ $((d2_txp - d_txp)) -ge 10 ] || fail "dump tx_packets grew by only $((d2_txp - d_txp))"
[ "$d2_rxp" -gt "$d_rxp" ] && [ "$d2_txb" -gt "$d_txb" ] || fail "dump counters did not grow"
ok "json and dump counters grew by at least what the ping and the transfer moved"

# the text form, like wg show
ctlx "$NS_SRV" "${S[@]}" show ostps
[ "$CTL_RC" = 0 ] || fail "show exited $CTL_RC: $CTL_ERR"
out=$T_DIR/ctl.out
# (the key holds '+' and '/': compared as a fixed string)
grep -Fxq "  public key: $SERVER_KEY" "$out" || { cat "$out"; fail "show: no public key line"; }
for re in '^interface: ostps$' '^  listening port: 7000$' \
	'^session: ian$' "^  addresses: .*${U_V4[ian]}/" '^  spw: config, ipv4, ipv6, gso, relay$' \
	'^  latest handshake: [0-9]+ seconds? ago$' \
	'^  transfer: [0-9.]+ MiB received, [0-9.]+ (B|KiB|MiB) sent$' \
	'^  packets: [0-9]+ received, [0-9]+ sent$' '^  drops: [0-9]+'; do
	grep -Eq -- "$re" "$out" || { cat "$out"; fail "show: no line matching '$re'"; }
done
ok "show prints interface, key, port and ian's session with handshake age and transfer"
# the engine the daemon says it runs is the one its binary was built with
engine=$("$OSTPD" -V | sed -n 's/.*AEAD \([a-z]*\)).*/\1/p')
[ -n "$engine" ] && grep -Fxq "  aead engine: $engine" "$out" ||
	{ cat "$out"; fail "show: no 'aead engine: $engine' line (ostpd -V: $("$OSTPD" -V))"; }
ok "show names the AES-GCM engine: $engine"

# the client's side: its upstream session
ctlx "$C1" -c "$T_DIR/ian.conf" show ostpc
[ "$CTL_RC" = 0 ] || fail "client show exited $CTL_RC: $CTL_ERR"
grep -q '^  upstream: up$' "$T_DIR/ctl.out" && grep -q '^  role: upstream server$' "$T_DIR/ctl.out" &&
	grep -Eq '^  transfer: [0-9.]+ (KiB|MiB) received, [0-9.]+ MiB sent$' "$T_DIR/ctl.out" ||
	{ cat "$T_DIR/ctl.out"; fail "client show"; }
ctlx "$C1" -c "$T_DIR/ian.conf" --json show
[ "$CTL_RC" = 0 ] || fail "client show --json exited $CTL_RC: $CTL_ERR"
"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))["ostpc"]
assert d["up"] is True and d["roles"] == ["client"] and d["last_error"] == "", d
assert d["server_key"] == sys.argv[2], d
s = d["sessions"]
assert len(s) == 1 and s[0]["role"] == "server" and s[0]["tx_bytes"] >= 3145728, s' \
	"$T_DIR/ctl.out" "$SERVER_KEY" || fail "client show --json: $(cat "$T_DIR/ctl.out")"
ok "client: show and show --json (every interface of the control dir) report the upstream session"

# latest handshake ages
sleep 2
ctlx "$NS_SRV" "${S[@]}" show ostps
age=$(sed -nE 's/^  latest handshake: (.*) ago$/\1/p' "$T_DIR/ctl.out")
case $age in *second*) ;; *) fail "handshake age '$age'" ;; esac
ok "latest handshake: $age ago"
pass
