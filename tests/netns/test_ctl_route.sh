#!/bin/bash
# SPDX-License-Identifier: ISC
# ostpctl route: on the server, `route add 198.18.30.0/24 dev ostps user
# ian` sends packets for 198.18.30.x into ian's session (ian's namespace
# owns 198.18.30.1) and `route del` stops it; the kernel route alone is
# not enough; another user cannot take the prefix; an add the daemon
# refuses leaves no kernel route; IPv6 alike.  Run-time routes also count
# as ian's allowed sources (tund/route.c), so the replies from 198.18.30.1
# pass without allowed_ips in the server's configuration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
lib_init
ctl_init
need_cmd ping

topo_users 1 ian
C1=${NS_OF[c1]}
S=(-c "$T_DIR/srv.conf")

# ian's own networks: addresses on its loopback (no dummy module needed)
ip -n "$C1" addr add 198.18.30.1/32 dev lo || fail "address on lo"
ip -n "$C1" addr add fd00:30::1/128 dev lo || fail "IPv6 address on lo"

ctl_up srv "$NS_SRV" "$T_DIR/srv.conf" ostps
ctl_up ian "$C1" "$T_DIR/ian.conf" ostpc --wait 20
check_ping "$NS_SRV" "${U_V4[ian]}" "server -> ian through the tunnel"

no_ping() {
	nsx "$1" ping -c 2 -i 0.3 -W 1 "$2" > /dev/null 2>&1 && fail "$3: ping $2 answered"
	return 0
}
route_listed() {
	ctlx "$NS_SRV" "${S[@]}" route list dev ostps
	[ "$CTL_RC" = 0 ] || fail "route list exited $CTL_RC: $CTL_ERR"
	grep -Eq -- "$1" "$T_DIR/ctl.out"
}

no_ping "$NS_SRV" 198.18.30.1 "before any route"
ok "198.18.30.1 unreachable from the server before route add"

# the kernel route alone sends it to ostpd, which has no owner for it
ctlx "$NS_SRV" "${S[@]}" route add 198.18.30.0/24 dev ostps
[ "$CTL_RC" = 0 ] || fail "kernel-only route add exited $CTL_RC: $CTL_ERR"
out_has 'dev ostps' ip -n "$NS_SRV" route show 198.18.30.0/24 || fail "no kernel route"
no_ping "$NS_SRV" 198.18.30.1 "kernel route without an owner"
ctlx "$NS_SRV" "${S[@]}" route add 198.18.30.0/24 dev ostps
[ "$CTL_RC" = 2 ] || fail "adding the same kernel route twice exited $CTL_RC"
ok "a kernel route alone does not reach ian; adding it twice fails (exit 2: $CTL_ERR)"

ctlx "$NS_SRV" "${S[@]}" route add 198.18.30.0/24 dev ostps user ian
[ "$CTL_RC" = 0 ] || fail "route add user ian exited $CTL_RC: $CTL_ERR"
route_listed '^198\.18\.30\.0/24 dev ostps proto static user ian origin runtime$' ||
	fail "route list: $(cat "$T_DIR/ctl.out")"
check_ping "$NS_SRV" 198.18.30.1 "server -> 198.18.30.1 in ian's namespace"
ok "route add ... user ian: listed with its owner, 198.18.30.1 answers through the tunnel"

ctlx "$NS_SRV" "${S[@]}" route add 198.18.30.0/24 dev ostps user quinn
[ "$CTL_RC" = 2 ] || fail "taking ian's prefix for quinn exited $CTL_RC"
grep -q 'another user' "$T_DIR/ctl.err" || fail "no reason: $CTL_ERR"
out_has 'dev ostps' ip -n "$NS_SRV" route show 198.18.30.0/24 || fail "kernel route lost"
check_ping "$NS_SRV" 198.18.30.1 "still ian's after quinn was refused"
ok "another user cannot take the prefix: $CTL_ERR"

ctlx "$NS_SRV" "${S[@]}" route del 198.18.30.0/24 dev ostps user ian
[ "$CTL_RC" = 0 ] || fail "route del exited $CTL_RC: $CTL_ERR"
[ -z "$(ip -n "$NS_SRV" route show 198.18.30.0/24)" ] || fail "kernel route left after del"
route_listed '198\.18\.30\.' && fail "route list still shows it: $(cat "$T_DIR/ctl.out")"
no_ping "$NS_SRV" 198.18.30.1 "after route del"
ctlx "$NS_SRV" "${S[@]}" route del 198.18.30.0/24 dev ostps
[ "$CTL_RC" = 2 ] && grep -q 'no such route' "$T_DIR/ctl.err" || fail "deleting a missing route: $CTL_RC $CTL_ERR"
ok "route del: kernel and daemon entries gone, 198.18.30.1 unreachable again"

# IPv6
ctlx "$NS_SRV" "${S[@]}" route add fd00:30::/64 dev ostps user ian
[ "$CTL_RC" = 0 ] || fail "IPv6 route add exited $CTL_RC: $CTL_ERR"
check_ping "$NS_SRV" fd00:30::1 "server -> fd00:30::1 in ian's namespace"
ctlx "$NS_SRV" "${S[@]}" route del fd00:30::/64 dev ostps user ian
[ "$CTL_RC" = 0 ] || fail "IPv6 route del exited $CTL_RC: $CTL_ERR"
no_ping "$NS_SRV" fd00:30::1 "after the IPv6 route del"
ok "IPv6: fd00:30::/64 reaches ian after add, not after del"

# a daemon that refuses: the kernel route added first is taken back out
ctlx "$C1" -c "$T_DIR/ian.conf" route add 198.18.50.0/24 dev ostpc user ian
[ "$CTL_RC" = 2 ] || fail "route add on a client daemon exited $CTL_RC"
[ -z "$(ip -n "$C1" route show 198.18.50.0/24)" ] || fail "kernel route left after the daemon refused"
ok "the daemon refused ($CTL_ERR): no kernel route left"

daemon_alive srv && daemon_alive ian || fail "a daemon exited"
pass
