# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# Shared helpers of the network-namespace tests (tests/netns/test_*.sh) and
# of scripts/demo.  Source it; it needs root.
#
# Everything a test creates lives in network namespaces named ostpt-PID-*
# and in one temporary directory ($T_DIR); nothing touches the root
# namespace.  An EXIT trap stops every process started through these helpers
# by its PID, deletes the namespaces and removes $T_DIR, also on failure.
#
# Environment: OSTP_TOP (top of the tree), OSTP_BUILD, OSTPD (the daemon,
# default $OSTP_BUILD/ostpd), OSTP_KEEP=1 keeps $T_DIR for inspection.
#
# Topology (topo_init N):
#
#   ns srv  eth0 198.18.0.1/24 --+
#   ns c1   eth0 198.18.0.2/24 --+-- br0 in ns br
#   ns c2   eth0 198.18.0.3/24 --+
#   ...     (ns_add NAME ADDR adds more, e.g. an attacker)
#
# The tunnel uses 198.18.1.0/24 and fd00:1::/64: the server is .1 / ::1, and
# each user added with add_user gets the next address (.2, .3, ...).

set -u
set -o pipefail

: "${OSTP_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${OSTP_BUILD:=$OSTP_TOP/build}"
: "${OSTPD:=$OSTP_BUILD/ostpd}"
case $OSTPD in /*) ;; *) OSTPD=$OSTP_TOP/$OSTPD ;; esac
export OSTP_TOP OSTP_BUILD OSTPD

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

T_NAME=$(basename "$0" .sh)
T_PFX=ostpt-$$
T_START=$SECONDS
T_DIR=

NS_LIST=()              # namespaces created, in order
PID_LIST=()             # background processes started, in order
declare -A DPID=()      # daemon name -> PID of the running ostpd
declare -A DLOG=()      # daemon name -> log file (appended across restarts)
declare -A DNS=()       # daemon name -> namespace
declare -A DSTART=()    # daemon name -> first log line of its latest start
declare -A NS_OF=()     # short name (srv, c1, ...) -> namespace
declare -A U_V4=() U_V6=()   # user -> tunnel address (without prefix length)
# user -> spw names (the user's permitted set on the server and what its
# client asks for), when not DEFAULT_SPW
declare -A U_SPW=()
DEFAULT_SPW='"config", "ipv4", "ipv6", "gso", "relay"'
# user -> base64 identity key written as `key = ...` in the user's section
# (a mesh member; set_user_key), and user -> one more line for that section
declare -A U_KEY=() U_EXTRA=()
# The server section's spw (what the server supports) when SRV_SPW is
# unset or empty.
DEFAULT_SRV_SPW='"config", "ipv4", "ipv6", "relay", "gso"'
U_NEXT=2

SRV_V4=198.18.1.1
SRV_V6=fd00:1::1
SRV_UNDERLAY=198.18.0.1
SRV_PORT=7000
SERVER_KEY=

# ---- output ------------------------------------------------------------------

say() { printf '[%s %3ds] %s\n' "$T_NAME" $((SECONDS - T_START)) "$*"; }
ok() { say "ok: $*"; }

# Tail of every daemon log, then exit 1 (the EXIT trap cleans up).
fail() {
	say "FAIL: $*"
	local n
	for n in "${!DLOG[@]}"; do
		[ -f "${DLOG[$n]}" ] || continue
		echo "---- last lines of the $n log (${DLOG[$n]}) ----"
		tail -n 40 "${DLOG[$n]}"
	done
	echo "---- end of logs ----"
	exit 1
}

pass() {
	say "PASS ($((SECONDS - T_START))s)"
	exit 0
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" > /dev/null 2>&1 || fail "missing command: $c"
	done
}

# ---- processes and cleanup ---------------------------------------------------

# True while PID runs (a zombie child counts as gone).
pid_alive() {
	local st
	st=$(sed -n 's/^.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Signal PID, wait up to SECS for it to end, then SIGKILL it.  Only PIDs we
# started: they are our children, so they stay zombies (their PID reserved)
# until reaped here.
stop_pid() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i
	# stderr off: bash would report a job killed by a signal
	{
		pid_alive "$pid" && kill -"$sig" "$pid"
		for ((i = 0; i < secs * 10; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		if pid_alive "$pid"; then
			echo "[$T_NAME] PID $pid ignored SIG$sig for ${secs}s, killing it" >&3
			kill -KILL "$pid"
		fi
		wait "$pid"
	} 3>&2 2> /dev/null
}

cleanup() {
	local rc=$? i pid ns
	trap - EXIT INT TERM HUP
	exec 2> /dev/null   # no "Killed" job reports
	for ((i = ${#PID_LIST[@]} - 1; i >= 0; i--)); do
		pid=${PID_LIST[$i]}
		# CONT too: a test may have stopped it (SIGSTOP)
		pid_alive "$pid" && kill -TERM "$pid" 2> /dev/null && kill -CONT "$pid" 2> /dev/null
	done
	for ((i = 0; i < 50; i++)); do
		local left=0
		for pid in "${PID_LIST[@]}"; do
			pid_alive "$pid" && left=1
		done
		[ $left = 0 ] && break
		sleep 0.1
	done
	for pid in "${PID_LIST[@]}"; do
		pid_alive "$pid" && kill -KILL "$pid" 2> /dev/null
		wait "$pid" 2> /dev/null
	done
	# Anything still inside our own namespaces was started by this test
	# (a grandchild of a helper): end it by its PID.
	for ns in "${NS_LIST[@]}"; do
		for pid in $(ip netns pids "$ns" 2> /dev/null); do
			kill -KILL "$pid" 2> /dev/null
		done
	done
	for ((i = ${#NS_LIST[@]} - 1; i >= 0; i--)); do
		ip netns del "${NS_LIST[$i]}" 2> /dev/null
	done
	if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
		if [ "${OSTP_KEEP:-0}" = 1 ]; then
			echo "[$T_NAME] kept $T_DIR"
		else
			rm -rf "$T_DIR"
		fi
	fi
	exit "$rc"
}

lib_init() {
	[ "$(id -u)" -eq 0 ] || { echo "$T_NAME: must run as root" >&2; exit 1; }
	need_cmd ip "$PY" sha256sum
	[ -x "$OSTPD" ] || fail "no daemon at $OSTPD (run make)"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	T_DIR=$(mktemp -d "/tmp/$T_PFX-$T_NAME.XXXXXX") || fail "mktemp"
	chmod 0755 "$T_DIR"
	write_py_helper
}

# Run a command inside a namespace: nsx NS cmd...
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# bg_run NAME NS cmd...: start cmd in NS in the background, output in
# $T_DIR/NAME.out; its PID in BG_PID and tracked for cleanup.
bg_run() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" > "$T_DIR/$name.out" 2>&1 < /dev/null &
	BG_PID=$!
	PID_LIST+=("$BG_PID")
}

# wait_for SECS DESC cmd...: poll cmd every 0.1 s until it succeeds (0) or
# SECS pass (1).
wait_for() {
	local secs=$1 desc=$2 end
	shift 2
	end=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		"$@" > /dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -ge "$end" ] && break
		sleep 0.1
	done
	say "timed out after ${secs}s waiting for: $desc"
	return 1
}

# ---- topology ----------------------------------------------------------------

ns_new() {
	local ns=$T_PFX-$1
	ip netns add "$ns" || fail "ip netns add $ns"
	NS_LIST+=("$ns")
	NS_OF[$1]=$ns
	ip -n "$ns" link set lo up
	# No duplicate address detection: a tunnel address is usable at once.
	nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 > /dev/null 2>&1
}

# ns_add NAME ADDR: a namespace with eth0 = ADDR/24 on the bridge.
ns_add() {
	local name=$1 addr=$2 br=${NS_OF[br]} ns
	ns_new "$name"
	ns=${NS_OF[$name]}
	ip -n "$br" link add "v-$name" type veth peer name eth0 netns "$ns" ||
		fail "veth for $name"
	ip -n "$br" link set "v-$name" master br0 up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# topo_init N: bridge, server (198.18.0.1) and clients c1..cN (.2, .3, ...).
topo_init() {
	local n=$1 i
	ns_new br
	ip -n "${NS_OF[br]}" link add br0 type bridge || fail "bridge"
	ip -n "${NS_OF[br]}" link set br0 up
	ns_add srv "$SRV_UNDERLAY"
	NS_SRV=${NS_OF[srv]}
	for ((i = 1; i <= n; i++)); do
		ns_add "c$i" "198.18.0.$((i + 1))"
	done
	for ((i = 1; i <= n; i++)); do
		wait_for 10 "underlay c$i -> server" \
			nsx "${NS_OF[c$i]}" ping -c 1 -W 1 "$SRV_UNDERLAY" ||
			fail "the underlay does not work"
	done
	say "topology: server ${NS_SRV} + $n client namespace(s) on a bridge"
}

# topo_users N USER...: topo_init N, the server key, each USER with the
# password USER-secret (trusted, hashed), $T_DIR/srv.conf and a
# $T_DIR/USER.conf for each.
topo_users() {
	local n=$1 u
	shift
	topo_init "$n"
	make_server_key
	for u in "$@"; do add_user "$u" "$u-secret"; done
	write_server_conf "$T_DIR/srv.conf"
	for u in "$@"; do write_client_conf "$T_DIR/$u.conf" "$u"; done
}

# ---- keys, users, configurations ---------------------------------------------

# The server identity; SERVER_KEY is its public key.
make_server_key() {
	SERVER_KEY=$("$OSTPD" -g "$T_DIR/id.key") || fail "ostpd -g"
	[ ${#SERVER_KEY} -eq 44 ] || fail "ostpd -g printed '$SERVER_KEY'"
	local again
	again=$("$OSTPD" -p "$T_DIR/id.key") || fail "ostpd -p"
	[ "$again" = "$SERVER_KEY" ] || fail "ostpd -p disagrees with ostpd -g"
	: > "$T_DIR/passwords"
	cat > "$T_DIR/trusted" <<- 'EOF'
		//
		// OSMORA Trust List (test)
		//
	EOF
}

# add_user NAME PASSWORD [trusted=1] [hashed=1]: a user with the next tunnel
# address, a password hash (unless hashed=0) and, unless trusted=0, a line
# in the trust file.  The client's password file is $T_DIR/NAME.pw.
add_user() {
	local name=$1 pw=$2 trusted=${3:-1} hashed=${4:-1} hash
	U_V4[$name]=198.18.1.$U_NEXT
	U_V6[$name]=fd00:1::$U_NEXT
	U_NEXT=$((U_NEXT + 1))
	if [ "$hashed" = 1 ]; then
		hash=$(printf '%s\n' "$pw" | "$OSTPD" -P) || fail "ostpd -P"
		echo "$name:$hash" >> "$T_DIR/passwords"
	fi
	[ "$trusted" = 1 ] && echo "$name" >> "$T_DIR/trusted"
	(umask 077 && printf '%s\n' "$pw" > "$T_DIR/$name.pw")
}

# set_user_key NAME FILE: a new identity key in FILE (`ostpd -g`), whose
# public key goes into NAME's user section (U_KEY) and into USER_KEY.
set_user_key() {
	USER_KEY=$("$OSTPD" -g "$2") || fail "ostpd -g $2"
	[ ${#USER_KEY} -eq 44 ] || fail "ostpd -g printed '$USER_KEY'"
	U_KEY[$1]=$USER_KEY
}

# write_server_conf FILE [extra server-section lines...]
write_server_conf() {
	local f=$1 u
	shift
	{
		echo "interface = \"ostps\""
		echo "mtu = 1420"
		echo "address = { \"$SRV_V4/24\", \"$SRV_V6/64\" }"
		echo "user_name = \"\""
		echo "log_level = \"debug\""
		echo "control_dir = \"$T_DIR/run-s\""
		echo "identity_key = \"$T_DIR/id.key\""
		echo "server {"
		echo "  listen = { \"$SRV_UNDERLAY:$SRV_PORT\" }"
		echo "  trust_file = \"$T_DIR/trusted\""
		echo "  password_file = \"$T_DIR/passwords\""
		echo "  require_auth = true"
		echo "  spw = { ${SRV_SPW:-$DEFAULT_SRV_SPW} }"
		for u in "$@"; do echo "  $u"; done
		for u in "${!U_V4[@]}"; do
			echo "  user \"$u\" {"
			echo "    address = { \"${U_V4[$u]}/24\", \"${U_V6[$u]}/64\" }"
			echo "    spw = { ${U_SPW[$u]:-$DEFAULT_SPW} }"
			if [ -n "${U_KEY[$u]:-}" ]; then echo "    key = \"${U_KEY[$u]}\""; fi
			if [ -n "${U_EXTRA[$u]:-}" ]; then echo "    ${U_EXTRA[$u]}"; fi
			echo "  }"
		done
		echo "}"
	} > "$f"
}

# write_client_conf FILE NAME [key=value...]: keys user (default NAME),
# pwfile (default $T_DIR/USER.pw), server, server_key; identity (an
# identity key file) and mesh (the lines of a mesh section: the client is
# a mesh member).
write_client_conf() {
	local f=$1 name=$2 kv
	shift 2
	local user=$name server=$SRV_UNDERLAY:$SRV_PORT key=$SERVER_KEY pwfile=
	local identity= mesh=
	for kv in "$@"; do
		case $kv in
		user=*) user=${kv#user=} ;;
		pwfile=*) pwfile=${kv#pwfile=} ;;
		server=*) server=${kv#server=} ;;
		server_key=*) key=${kv#server_key=} ;;
		identity=*) identity=${kv#identity=} ;;
		mesh=*) mesh=${kv#mesh=} ;;
		*) fail "write_client_conf: unknown $kv" ;;
		esac
	done
	[ -n "$pwfile" ] || pwfile=$T_DIR/$user.pw
	cat > "$f" <<- EOF
		interface = "ostpc"
		mtu = 1420
		user_name = ""
		log_level = "debug"
		control_dir = "$T_DIR/run-$name"
		${identity:+identity_key = \"$identity\"}
		client {
		  ${mesh:+mesh { $mesh \}}
		  server = "$server"
		  server_key = "$key"
		  username = "$user"
		  password_file = "$pwfile"
		  spw = { ${U_SPW[$user]:-$DEFAULT_SPW} }
		  keepalive = 2
		  dead_after = 6
		  reconnect_min = 1
		  reconnect_max = 4
		}
	EOF
}

# ---- daemons -----------------------------------------------------------------

# start_ostpd NAME NS CONF: run ostpd in NS, stderr appended to
# $T_DIR/NAME.log (kept across restarts), PID in DPID[NAME].
start_ostpd() {
	local name=$1 ns=$2 conf=$3
	DLOG[$name]=$T_DIR/$name.log
	DNS[$name]=$ns
	echo "=== start $(date +%T.%N)" >> "${DLOG[$name]}"
	DSTART[$name]=$(wc -l < "${DLOG[$name]}")
	ip netns exec "$ns" "$OSTPD" -c "$conf" >> "${DLOG[$name]}" 2>&1 < /dev/null &
	DPID[$name]=$!
	PID_LIST+=("$!")
}

# stop_ostpd NAME [SIG]: signal the daemon and reap it; its exit status in
# STOP_RC.
stop_ostpd() {
	local name=$1 sig=${2:-TERM} pid=${DPID[$1]} i
	# stderr off: bash would report a job killed by a signal
	{
		pid_alive "$pid" && kill -"$sig" "$pid"
		for ((i = 0; i < 100; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		pid_alive "$pid" && fail "$name (PID $pid) still runs 10 s after SIG$sig"
		wait "$pid"
		STOP_RC=$?
	} 2> /dev/null
	echo "=== stopped by SIG$sig, status $STOP_RC" >> "${DLOG[$name]}"
}

daemon_alive() { pid_alive "${DPID[$1]}"; }

# log_has NAME ERE [FROM_LINE]: the daemon log (from line FROM_LINE on)
# has a matching line.
log_has() {
	tail -n "+${3:-1}" "${DLOG[$1]}" 2> /dev/null | grep -Eq -- "$2"
}

log_count() {
	tail -n "+${3:-1}" "${DLOG[$1]}" 2> /dev/null | grep -Ec -- "$2"
}

# log_count_ge NAME N ERE [FROM_LINE]: at least N matching lines (for
# wait_for, which must be given a command, not an evaluated count).
log_count_ge() {
	[ "$(log_count "$1" "$3" "${4:-1}")" -ge "$2" ]
}

# log_mark NAME: the line number where new output will start.
log_mark() {
	echo $(($(wc -l < "${DLOG[$1]}") + 1))
}

# The server (latest start) is listening (or fail).
wait_server_up() {
	local name=${1:-srv}
	wait_for 10 "$name listening" log_has "$name" 'listening on' "${DSTART[$name]:-1}" ||
		fail "$name did not start"
	daemon_alive "$name" || fail "$name exited"
}

# tun_has_addr NS IFNAME ADDR
tun_has_addr() {
	# read the whole output first: grep -q quitting early would SIGPIPE
	# ip, and pipefail would turn that into "missing"
	local out
	out=$(ip -n "$1" addr show dev "$2" 2> /dev/null) || return 1
	grep -q "inet6\? $3/" <<< "$out"
}

# wait_tunnel NAME USER [FROM_LINE]: the client logged "tunnel up" (after
# FROM_LINE, default: since its latest start) and its TUN has the user's two
# addresses.
wait_tunnel() {
	local name=$1 user=$2 from=${3:-${DSTART[$1]:-1}} ns=${DNS[$1]}
	wait_for 20 "$name: tunnel up" log_has "$name" 'tunnel up' "$from" ||
		fail "$name: no tunnel"
	wait_for 10 "$name: ${U_V4[$user]} on ostpc" \
		tun_has_addr "$ns" ostpc "${U_V4[$user]}" ||
		fail "$name: IPv4 address not assigned"
	wait_for 10 "$name: ${U_V6[$user]} on ostpc" \
		tun_has_addr "$ns" ostpc "${U_V6[$user]}" ||
		fail "$name: IPv6 address not assigned"
}

# start_tunnels USER...: ostpd as the server (srv) and as each USER in
# c1, c2, ... with $T_DIR/USER.conf; returns once every tunnel is up.
start_tunnels() {
	local u i=1
	start_ostpd srv "$NS_SRV" "$T_DIR/srv.conf"
	wait_server_up srv
	for u in "$@"; do
		start_ostpd "$u" "${NS_OF[c$i]}" "$T_DIR/$u.conf"
		i=$((i + 1))
	done
	for u in "$@"; do wait_tunnel "$u" "$u"; done
}

# ping_ok NS DST [COUNT]: COUNT pings with no loss.
ping_ok() {
	local ns=$1 dst=$2 count=${3:-3}
	nsx "$ns" ping -q -c "$count" -i 0.2 -W 2 "$dst" > "$T_DIR/ping.out" 2>&1 &&
		grep -q ' 0% packet loss' "$T_DIR/ping.out"
}

# check_ping NS DST DESC: first wait up to 10 s for one reply, then 5 pings
# must all be answered.
check_ping() {
	local ns=$1 dst=$2 desc=$3
	wait_for 10 "first reply: $desc" nsx "$ns" ping -c 1 -W 1 "$dst" ||
		fail "no reply: $desc"
	ping_ok "$ns" "$dst" 5 || { cat "$T_DIR/ping.out"; fail "packet loss: $desc"; }
	ok "ping $desc"
}

# ---- traffic helpers ---------------------------------------------------------

# $T_DIR/tcpx.py: bounded TCP transfers.
#   recv HOST PORT OUT      accept one connection, write what comes to OUT
#   send HOST PORT IN       connect (retrying while refused), send IN, wait
#                           for the receiver to close
#   sink HOST PORT STATUS   accept connections, keep the byte total in STATUS
#   source HOST PORT SECS   send random data for SECS seconds, reconnecting
# Every mode gives up after its time limit (env TCPX_TIMEOUT, default 120 s).
write_py_helper() {
	cat > "$T_DIR/tcpx.py" <<- 'EOF'
		import os, socket, sys, time
		mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
		limit = float(os.environ.get("TCPX_TIMEOUT", "120"))
		deadline = time.monotonic() + limit
		fam = socket.AF_INET6 if ":" in host else socket.AF_INET
		def left():
		    t = deadline - time.monotonic()
		    if t <= 0:
		        sys.exit("tcpx: time limit reached")
		    return t
		def listen():
		    s = socket.socket(fam, socket.SOCK_STREAM)
		    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		    s.bind((host, port))
		    s.listen(8)
		    print("listening", flush=True)
		    return s
		def connect():
		    while True:
		        try:
		            return socket.create_connection((host, port), timeout=min(left(), 5))
		        except OSError as e:
		            print("connect:", e, flush=True)
		            time.sleep(0.2)
		if mode == "recv":
		    s = listen(); s.settimeout(left())
		    c, _ = s.accept(); c.settimeout(30); n = 0
		    with open(sys.argv[4], "wb") as f:
		        while True:
		            left()
		            b = c.recv(1 << 16)
		            if not b:
		                break
		            f.write(b); n += len(b)
		    c.close(); print("received", n, flush=True)
		elif mode == "send":
		    c = connect(); c.settimeout(30); n = 0
		    with open(sys.argv[4], "rb") as f:
		        while True:
		            left()
		            b = f.read(1 << 16)
		            if not b:
		                break
		            c.sendall(b); n += len(b)
		    c.shutdown(socket.SHUT_WR)
		    c.recv(1)
		    c.close(); print("sent", n, flush=True)
		elif mode == "sink":
		    import select
		    s = listen(); conns = []; total = 0
		    while left():
		        r, _, _ = select.select([s] + conns, [], [], min(left(), 0.5))
		        for x in r:
		            if x is s:
		                c, _ = s.accept(); conns.append(c); continue
		            try:
		                b = x.recv(1 << 16)
		            except OSError:
		                b = b""
		            if not b:
		                conns.remove(x); x.close(); continue
		            total += len(b)
		        with open(sys.argv[4] + ".tmp", "w") as f:
		            f.write(str(total))
		        os.replace(sys.argv[4] + ".tmp", sys.argv[4])
		elif mode == "source":
		    end = time.monotonic() + float(sys.argv[4]); buf = os.urandom(1 << 16); n = 0
		    while time.monotonic() < end:
		        try:
		            c = connect(); c.settimeout(5)
		            while time.monotonic() < end:
		                n += c.send(buf)
		            c.close()
		        except OSError as e:
		            print("source:", e, "after", n, "bytes", flush=True)
		            time.sleep(0.2)
		    print("sent", n, flush=True)
		else:
		    sys.exit("tcpx: unknown mode " + mode)
	EOF
}

# transfer SRC_NS DST_NS DST_ADDR PORT FILE DESC: send FILE from SRC_NS to
# a receiver in DST_NS on DST_ADDR:PORT and compare SHA-256 sums.
transfer() {
	local src=$1 dst=$2 addr=$3 port=$4 file=$5 desc=$6 rpid spid t0 a b
	local out=$T_DIR/recv.$port
	rm -f "$out"
	bg_run "recv.$port" "$dst" env TCPX_TIMEOUT=120 "$PY" "$T_DIR/tcpx.py" recv "$addr" "$port" "$out"
	rpid=$BG_PID
	wait_for 10 "receiver on $addr:$port" grep -q listening "$T_DIR/recv.$port.out" ||
		fail "receiver did not start: $(cat "$T_DIR/recv.$port.out")"
	t0=$(date +%s%N)
	bg_run "send.$port" "$src" env TCPX_TIMEOUT=120 "$PY" "$T_DIR/tcpx.py" send "$addr" "$port" "$file"
	spid=$BG_PID
	wait "$spid"
	a=$?
	wait "$rpid"
	b=$?
	local ms=$((($(date +%s%N) - t0) / 1000000))
	[ $a = 0 ] || fail "$desc: sender failed: $(tail -n 3 "$T_DIR/send.$port.out")"
	[ $b = 0 ] || fail "$desc: receiver failed: $(tail -n 3 "$T_DIR/recv.$port.out")"
	a=$(sha256sum < "$file" | cut -d' ' -f1)
	b=$(sha256sum < "$out" | cut -d' ' -f1)
	[ "$a" = "$b" ] || fail "$desc: SHA-256 differs ($a sent, $b received, $(stat -c %s "$out") bytes)"
	local size
	size=$(stat -c %s "$file")
	rm -f "$out"
	ok "$desc: $size bytes in ${ms} ms ($((size * 1000 / (ms + 1) / 1048576)) MiB/s), SHA-256 $a equal"
}

# iperf3_check CLIENT_NS SERVER_NS SERVER_ADDR SECS DESC: one iperf3 run
# through the tunnel; prints and checks the received rate.  IPERF_BPS holds it.
iperf3_check() {
	local cns=$1 sns=$2 addr=$3 secs=$4 desc=$5 spid rc
	need_cmd iperf3
	bg_run iperf3-s "$sns" timeout $((secs + 30)) iperf3 -s -1 -B "$addr" -p 5201
	spid=$BG_PID
	wait_for 10 "iperf3 server" nsx "$sns" sh -c "ss -ltn | grep -q ':5201 '" ||
		fail "iperf3 server did not start: $(cat "$T_DIR/iperf3-s.out")"
	nsx "$cns" timeout $((secs + 30)) iperf3 -c "$addr" -p 5201 -t "$secs" -J \
		> "$T_DIR/iperf3.json" 2> "$T_DIR/iperf3.err"
	rc=$?
	wait "$spid" 2> /dev/null
	[ $rc = 0 ] || fail "$desc: iperf3 failed ($rc): $(tail -n 5 "$T_DIR/iperf3.err"; grep '"error"' "$T_DIR/iperf3.json")"
	IPERF_BPS=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$T_DIR/iperf3.json") ||
		fail "$desc: cannot read the iperf3 result"
	[ "$IPERF_BPS" -gt 0 ] || fail "$desc: iperf3 received 0 bits/s"
	ok "$desc: iperf3 ${secs}s: $((IPERF_BPS / 1000000)) Mbit/s received"
}

# ---- floods and admission control (test_flood_*.sh, test_fd_exhaust.sh) ------

# The attack and login tool (tests/flood.c).
: "${FLOOD:=$OSTP_BUILD/flood}"
case $FLOOD in /*) ;; *) FLOOD=$OSTP_TOP/$FLOOD ;; esac

need_flood() {
	[ -x "$FLOOD" ] || fail "no flood tool at $FLOOD (make BUILD=... $FLOOD)"
}

# ns_attacker NAME ADDR: ns_add, with the whole range of local ports: a
# flood that reconnects for 20 s must not run out of them.
ns_attacker() {
	ns_add "$1" "$2"
	nsx "${NS_OF[$1]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" ||
		fail "sysctl in ${NS_OF[$1]}"
}

# admit_lines LINE...: ADMIT_LINES=(LINE...), admission-control lines for
# write_server_conf.  OSTP_NO_ADMIT=1 leaves them out, to see how a server
# that predates them (and refuses them as unknown options) fares under the
# same load.
ADMIT_LINES=()
admit_lines() {
	if [ "${OSTP_NO_ADMIT:-0}" = 1 ]; then
		ADMIT_LINES=()
		say "OSTP_NO_ADMIT=1: no admission-control options in the server configuration"
	else
		# shellcheck disable=SC2034  # read by the tests
		ADMIT_LINES=("$@")
	fi
}

# set_log_level FILE LEVEL: the global log_level of a configuration written
# by write_server_conf or write_client_conf (they write "debug").
set_log_level() {
	sed -i "s/^log_level = .*/log_level = \"$2\"/" "$1" || fail "set_log_level $1"
}

# start_ostpd_nofile NAME NS CONF N: start_ostpd under an open-files limit
# of N (soft and hard), through a wrapper that execs the daemon, so
# DPID[NAME] is still the daemon's PID.
start_ostpd_nofile() {
	local name=$1 ns=$2 conf=$3 nofile=$4 w
	w=$T_DIR/ostpd-nofile-$nofile
	printf '#!/bin/sh\nulimit -n %s || exit 1\nexec "%s" "$@"\n' "$nofile" "$OSTPD" > "$w"
	chmod 0755 "$w"
	OSTPD=$w start_ostpd "$name" "$ns" "$conf"
}

# cpu_ticks PID: CPU time the process used so far, user + system, all its
# threads, in clock ticks (getconf CLK_TCK a second).
cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	echo $((${12} + ${13}))
}
# shellcheck disable=SC2034  # read by the tests
CLK_TCK=$(getconf CLK_TCK 2> /dev/null || echo 100)

# kv FILE KEY: KEY's value in the last key=value result line (mode=...)
# of a flood output file; empty when missing.
kv() {
	grep '^mode=' "$1" 2> /dev/null | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# flood_login NS USER PASSWORD [SECS]: one login with the flood tool, to be
# ESTABLISHED within SECS (default 5) of its first connect, retrying what
# the server answers busy or refuses.  The result line in LOGIN_LINE, the
# time in LOGIN_MS; returns the tool's status.
flood_login() {
	local ns=$1 user=$2 pw=$3 secs=${4:-5} rc out=$T_DIR/login.out
	nsx "$ns" timeout -k 5 $((secs + 20)) "$FLOOD" login -s "$SRV_UNDERLAY:$SRV_PORT" \
		-k "$SERVER_KEY" -u "$user" -p "$pw" -T "$secs" > "$out" 2>&1
	rc=$?
	cat "$out" >> "$T_DIR/logins.out"
	LOGIN_LINE=$(grep '^mode=' "$out" | tail -n 1)
	[ -n "$LOGIN_LINE" ] || LOGIN_LINE="no result (status $rc): $(tail -n 3 "$out" | tr '\n' ' ')"
	LOGIN_MS=$(kv "$out" ms)
	return $rc
}

# check_flood_login NS USER PASSWORD DESC: flood_login must succeed within 5 s.
check_flood_login() {
	flood_login "$1" "$2" "$3" 5 ||
		fail "$4: login of $2 failed: $LOGIN_LINE"
	[ "${LOGIN_MS:-99999}" -le 5000 ] || fail "$4: login of $2 took $LOGIN_MS ms: $LOGIN_LINE"
	ok "$4: $2 logged in, ESTABLISHED after $LOGIN_MS ms ($(kv "$T_DIR/login.out" attempts) attempt(s), $(kv "$T_DIR/login.out" busy) busy)"
}
