# SPDX-License-Identifier: ISC
# Sourced by scripts/profile and scripts/latency: one ostpd server and one
# client in two network namespaces joined by a veth pair.
#
#   netns $S: veth vs 198.18.0.1/24, TUN ostps 198.18.1.1/24, server on :7000
#   netns $C: veth vc 198.18.0.2/24, TUN ostpc 198.18.1.2/24 (pushed), user ian
#
# The caller sets B (the ostpd binary) and NAME (namespace and scratch
# prefix), then calls pair_up [GSO], where GSO 0 leaves "gso" out of every
# spw list.  pair_up sets D (scratch directory), S and C (namespaces), SP
# and CP (daemon PIDs) and returns once ping crosses the tunnel.  PAIR_PIDS
# lists every process to end; pair_cleanup ends them by PID and removes the
# namespaces and D.  It is installed as the EXIT trap.

PAIR_PIDS=()
D=$(mktemp -d -t "ostp-$NAME.XXXXXX")
S=ostp$NAME$$s
C=ostp$NAME$$c

pair_cleanup() {
	local p
	for p in "${PAIR_PIDS[@]}"; do kill "$p" 2> /dev/null; done
	sleep 0.3
	for p in "${PAIR_PIDS[@]}"; do kill -KILL "$p" 2> /dev/null; done
	ip netns del "$S" 2> /dev/null
	ip netns del "$C" 2> /dev/null
	rm -rf "$D"
}
trap pair_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pair_up() {
	local spw='"config", "ipv4", "ipv6"' pk i
	[ "${1:-1}" = 0 ] || spw="$spw, \"gso\""
	[ "$(id -u)" = 0 ] || { echo "$NAME: must run as root" >&2; exit 1; }
	[ -x "$B" ] || { echo "$NAME: no $B (run make)" >&2; exit 1; }
	ip netns add "$S" && ip netns add "$C" || exit 1
	ip link add vs netns "$S" type veth peer name vc netns "$C" || exit 1
	ip -n "$S" addr add 198.18.0.1/24 dev vs
	ip -n "$C" addr add 198.18.0.2/24 dev vc
	ip -n "$S" link set vs up; ip -n "$C" link set vc up
	ip -n "$S" link set lo up; ip -n "$C" link set lo up
	pk=$("$B" -g "$D/id.key") || exit 1
	echo pw > "$D/ian.pw"; chmod 600 "$D/ian.pw"; echo ian > "$D/trusted"
	echo "ian:$(echo pw | "$B" -P)" > "$D/passwords"
	cat > "$D/s.conf" <<- EOF
		interface = "ostps"
		address = { "198.18.1.1/24" }
		user_name = ""
		log_level = "warn"
		control_dir = "$D/rs"
		identity_key = "$D/id.key"
		server {
		  listen = { "198.18.0.1:7000" }
		  trust_file = "$D/trusted"
		  password_file = "$D/passwords"
		  spw = { $spw }
		  user "ian" { address = { "198.18.1.2/24" } spw = { $spw } }
		}
	EOF
	cat > "$D/c.conf" <<- EOF
		interface = "ostpc"
		user_name = ""
		log_level = "warn"
		control_dir = "$D/rc"
		client {
		  server = "198.18.0.1:7000"
		  server_key = "$pk"
		  username = "ian"
		  password_file = "$D/ian.pw"
		  spw = { $spw }
		}
	EOF
	ip netns exec "$S" "$B" -c "$D/s.conf" > "$D/s.log" 2>&1 &
	SP=$!; PAIR_PIDS+=("$SP")
	sleep 0.3
	ip netns exec "$C" "$B" -c "$D/c.conf" > "$D/c.log" 2>&1 &
	CP=$!; PAIR_PIDS+=("$CP")
	for i in $(seq 50); do
		ip netns exec "$C" ping -c 1 -W 1 198.18.1.1 > /dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "$NAME: the tunnel did not come up" >&2
	cat "$D/s.log" "$D/c.log" >&2
	exit 1
}
