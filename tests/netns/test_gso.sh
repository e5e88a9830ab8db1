#!/bin/bash
# SPDX-License-Identifier: ISC
# Segmentation offload between the TUN and OSTP (SPW bit GSO, 0x0008).
#
# One OCS whose spw has "gso" and "relay"; client ian asks for "gso" and
# its user may have it, client quinn does not ask for it and its user may
# not.  Checked: ian's session agreed GSO and quinn's did not (client and
# server logs); iperf3 and SHA-256-checked transfers from each client to
# the server and back (ian's travel whole as DATA_GSO, quinn's are cut by
# its daemon or by the server); ping and SHA-256-checked transfers between
# ian and quinn through the server, which cuts ian's DATA_GSO into plain
# packets for quinn.  The TUN counters show that super-packets really went
# through: ian's ostpd reads packets larger than the MTU and the server
# writes such packets for ian, while quinn's traffic reaches the server's
# TUN in MTU-sized packets.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd ping iperf3 head

GSO_BIT=8
MTU=1420

U_SPW[ian]='"config", "ipv4", "ipv6", "gso", "relay"'
U_SPW[quinn]='"config", "ipv4", "ipv6", "relay"'
topo_users 2 ian quinn

start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
wait_server_up srv
start_ostpd ian "${NS_OF[c1]}" "$T_DIR/ian.conf"
start_ostpd quinn "${NS_OF[c2]}" "$T_DIR/quinn.conf"
wait_tunnel ian ian
wait_tunnel quinn quinn
C1=${NS_OF[c1]}
C2=${NS_OF[c2]}

# ---- what was agreed -------------------------------------------------------

# spw_of NAME ERE: the spw (decimal) on the last log line matching ERE,
# which ends in "spw 0x....".
spw_of() {
	local hex
	hex=$(grep -E -- "$2" "${DLOG[$1]}" | tail -n 1 | sed -n 's/.*spw 0x\([0-9a-fA-F]\{4\}\)$/\1/p')
	[ -n "$hex" ] || fail "$1: no line matching '$2' with an spw"
	echo $((16#$hex))
}

wait_for 10 "server: both sessions up" \
	log_count_ge srv 2 'session up for user (ian|quinn), spw 0x' ||
	fail "the server did not log both sessions"
spw_ian=$(spw_of ian 'tunnel up, spw 0x')
spw_quinn=$(spw_of quinn 'tunnel up, spw 0x')
spw_srv_ian=$(spw_of srv 'session up for user ian, spw 0x')
spw_srv_quinn=$(spw_of srv 'session up for user quinn, spw 0x')
say "agreed spw: ian $(printf 0x%04x "$spw_ian") (server: $(printf 0x%04x "$spw_srv_ian")), quinn $(printf 0x%04x "$spw_quinn") (server: $(printf 0x%04x "$spw_srv_quinn"))"
[ "$spw_ian" = "$spw_srv_ian" ] || fail "ian and the server disagree on the spw"
[ "$spw_quinn" = "$spw_srv_quinn" ] || fail "quinn and the server disagree on the spw"
((spw_ian & GSO_BIT)) || fail "ian did not negotiate GSO"
((spw_quinn & GSO_BIT)) && fail "quinn negotiated GSO without asking for it"
ok "ian agreed GSO (0x0008), quinn did not"

# ---- TUN counters ----------------------------------------------------------

# tun_stat NS IF rx|tx: "bytes packets" of the interface.
tun_stat() {
	local b p
	b=$(nsx "$1" cat "/sys/class/net/$2/statistics/${3}_bytes") ||
		fail "cannot read the counters of $2"
	p=$(nsx "$1" cat "/sys/class/net/$2/statistics/${3}_packets") ||
		fail "cannot read the counters of $2"
	echo "$b $p"
}

# avg_since "BYTES0 PACKETS0" "BYTES1 PACKETS1": mean packet size between.
avg_since() {
	local b0 p0 b1 p1
	read -r b0 p0 <<< "$1"
	read -r b1 p1 <<< "$2"
	[ "$p1" -gt "$p0" ] || { echo 0; return; }
	echo $(((b1 - b0) / (p1 - p0)))
}

# ---- traffic -----------------------------------------------------------------

head -c $((20 * 1024 * 1024)) /dev/urandom > "$T_DIR/big" || fail "test data"
head -c $((5 * 1024 * 1024)) /dev/urandom > "$T_DIR/mid" || fail "test data"

check_ping "$C1" "$SRV_V4" "ian -> server $SRV_V4"
check_ping "$C1" "$SRV_V6" "ian -> server $SRV_V6"
check_ping "$C2" "$SRV_V4" "quinn -> server $SRV_V4"
check_ping "$C2" "$SRV_V6" "quinn -> server $SRV_V6"

iperf3_check "$C1" "$NS_SRV" "$SRV_V4" 3 "ian -> server (GSO)"
iperf3_check "$C2" "$NS_SRV" "$SRV_V4" 3 "quinn -> server (no GSO)"

# ian -> server: super-packets from ian's TUN, whole through the tunnel,
# written whole into the server's TUN.
c0=$(tun_stat "$C1" ostpc tx)
s0=$(tun_stat "$NS_SRV" ostps rx)
transfer "$C1" "$NS_SRV" "$SRV_V4" 7101 "$T_DIR/big" "ian -> server, IPv4, 20 MiB"
c_avg=$(avg_since "$c0" "$(tun_stat "$C1" ostpc tx)")
s_avg=$(avg_since "$s0" "$(tun_stat "$NS_SRV" ostps rx)")
say "ian -> server: mean packet read from ian's TUN $c_avg bytes, written to the server's TUN $s_avg bytes"
[ "$c_avg" -gt "$MTU" ] || fail "ian's ostpd read no super-packets from its TUN (mean $c_avg bytes): TSO not in use"
[ "$s_avg" -gt "$MTU" ] || fail "the server wrote no super-packets for ian (mean $s_avg bytes): DATA_GSO not in use"
ok "ian -> server went as super-packets (TSO on ian's TUN, DATA_GSO, GSO write on the server)"

transfer "$C1" "$NS_SRV" "$SRV_V6" 7102 "$T_DIR/big" "ian -> server, IPv6, 20 MiB"

# quinn -> server: quinn's ostpd reads super-packets too, but cuts them.
c0=$(tun_stat "$C2" ostpc tx)
s0=$(tun_stat "$NS_SRV" ostps rx)
transfer "$C2" "$NS_SRV" "$SRV_V4" 7103 "$T_DIR/big" "quinn -> server, IPv4, 20 MiB"
c_avg=$(avg_since "$c0" "$(tun_stat "$C2" ostpc tx)")
s_avg=$(avg_since "$s0" "$(tun_stat "$NS_SRV" ostps rx)")
say "quinn -> server: mean packet read from quinn's TUN $c_avg bytes, written to the server's TUN $s_avg bytes"
[ "$s_avg" -le "$MTU" ] || fail "the server wrote packets larger than the MTU for quinn (mean $s_avg bytes)"
ok "quinn -> server arrived in packets of at most the MTU"

transfer "$C2" "$NS_SRV" "$SRV_V6" 7104 "$T_DIR/big" "quinn -> server, IPv6, 20 MiB"

# server -> clients: the server's TUN gives super-packets; whole to ian,
# cut for quinn.
transfer "$NS_SRV" "$C1" "${U_V4[ian]}" 7105 "$T_DIR/mid" "server -> ian, IPv4, 5 MiB"
c0=$(tun_stat "$C2" ostpc rx)
transfer "$NS_SRV" "$C2" "${U_V4[quinn]}" 7106 "$T_DIR/mid" "server -> quinn, IPv4, 5 MiB"
c_avg=$(avg_since "$c0" "$(tun_stat "$C2" ostpc rx)")
[ "$c_avg" -le "$MTU" ] || fail "quinn's TUN got packets larger than the MTU (mean $c_avg bytes)"
transfer "$NS_SRV" "$C2" "${U_V6[quinn]}" 7107 "$T_DIR/mid" "server -> quinn, IPv6, 5 MiB"

# ---- relayed between a GSO and a non-GSO client ------------------------------

check_ping "$C1" "${U_V4[quinn]}" "ian -> quinn ${U_V4[quinn]} (relayed)"
check_ping "$C1" "${U_V6[quinn]}" "ian -> quinn ${U_V6[quinn]} (relayed)"
check_ping "$C2" "${U_V4[ian]}" "quinn -> ian ${U_V4[ian]} (relayed)"
check_ping "$C2" "${U_V6[ian]}" "quinn -> ian ${U_V6[ian]} (relayed)"

# ian's DATA_GSO is cut by the server for quinn.
c0=$(tun_stat "$C1" ostpc tx)
q0=$(tun_stat "$C2" ostpc rx)
transfer "$C1" "$C2" "${U_V4[quinn]}" 7201 "$T_DIR/mid" "ian -> quinn (relayed), IPv4, 5 MiB"
c_avg=$(avg_since "$c0" "$(tun_stat "$C1" ostpc tx)")
q_avg=$(avg_since "$q0" "$(tun_stat "$C2" ostpc rx)")
say "ian -> quinn: mean packet read from ian's TUN $c_avg bytes, written to quinn's TUN $q_avg bytes"
[ "$q_avg" -le "$MTU" ] || fail "quinn's TUN got packets larger than the MTU (mean $q_avg bytes)"
transfer "$C1" "$C2" "${U_V6[quinn]}" 7202 "$T_DIR/mid" "ian -> quinn (relayed), IPv6, 5 MiB"
transfer "$C2" "$C1" "${U_V4[ian]}" 7203 "$T_DIR/mid" "quinn -> ian (relayed), IPv4, 5 MiB"
transfer "$C2" "$C1" "${U_V6[ian]}" 7204 "$T_DIR/mid" "quinn -> ian (relayed), IPv6, 5 MiB"

# ---- nothing broke on the way -------------------------------------------------

for d in srv ian quinn; do
	daemon_alive "$d" || fail "$d exited"
done
for d in ian quinn; do
	n=$(log_count "$d" 'tunnel up')
	[ "$n" = 1 ] || fail "$d: the tunnel came up $n times (a session was lost)"
done
n=$(log_count srv 'session up for user')
[ "$n" = 2 ] || fail "server: $n sessions came up, expected 2 (a session was lost)"
if log_has srv 'closed:' || log_has ian 'closed:' || log_has quinn 'closed:'; then
	fail "a session was closed during the test"
fi
ok "all daemons alive, each session up once, none closed"
pass
