#!/bin/bash
# SPDX-License-Identifier: ISC
# busy_poll: both daemons poll instead of sleeping for 100 ms after each
# event.  The tunnel works as usual (IPv4 and IPv6 ping, a transfer with
# equal SHA-256); while packets flow the server really polls (it uses CPU
# between the pings); and once traffic stops the daemons go back to sleep
# (a daemon that kept polling would use a whole CPU).
. "$(dirname "$0")/lib.sh"
lib_init
need_cmd ping head

topo_users 1 ian
C1=${NS_OF[c1]}
for f in "$T_DIR/srv.conf" "$T_DIR/ian.conf"; do
	sed -i '1i busy_poll = 100000' "$f"
done
"$OSTPD" -n -c "$T_DIR/srv.conf" | grep -qx 'busy_poll = 100000' ||
	fail "ostpd -n does not print busy_poll = 100000"

start_tunnels ian
check_ping "$C1" "$SRV_V4" "ian -> server $SRV_V4 with busy polling"
check_ping "$C1" "$SRV_V6" "ian -> server $SRV_V6 with busy polling"
head -c 20000000 /dev/urandom > "$T_DIR/blob"
transfer "$C1" "$NS_SRV" "$SRV_V4" 7100 "$T_DIR/blob" "ian -> server, 20 MB"

# cpu_ticks NAME: utime + stime of the daemon, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${DPID[$1]}/stat"; }
HZ=$(getconf CLK_TCK)

t0=$(cpu_ticks srv)
nsx "$C1" ping -q -c 200 -i 0.01 -W 1 "$SRV_V4" > "$T_DIR/ping.out" 2>&1 ||
	fail "pings every 10 ms: $(tail -n 2 "$T_DIR/ping.out")"
t1=$(cpu_ticks srv)
# A sleeping daemon spends about 1 tick on these pings, a polling one 60 to
# 400 depending on how much CPU the machine leaves it: 0.1 s tells them apart
# without depending on the machine being idle.
[ $((t1 - t0)) -ge $((HZ / 10)) ] ||
	fail "server used only $((t1 - t0)) ticks during 2 s of pings every 10 ms: not polling"
ok "server polls while packets flow: $((t1 - t0)) ticks (HZ $HZ) during 2 s of pings every 10 ms"

sleep 1
s0=$(cpu_ticks srv)
c0=$(cpu_ticks ian)
sleep 3
s1=$(cpu_ticks srv)
c1=$(cpu_ticks ian)
# keepalives every 2 s each open a 100 ms window; polling for good would
# use about 3 s of CPU per daemon here
[ $((s1 - s0)) -lt $((HZ * 3 / 2)) ] || fail "server kept polling: $((s1 - s0)) ticks in 3 idle seconds"
[ $((c1 - c0)) -lt $((HZ * 3 / 2)) ] || fail "client kept polling: $((c1 - c0)) ticks in 3 idle seconds"
ok "idle again: server $((s1 - s0)), client $((c1 - c0)) ticks in 3 s without traffic"

for d in srv ian; do
	daemon_alive "$d" || fail "$d exited"
done
pass
