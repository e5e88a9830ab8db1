# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# Helpers of the ostpctl tests (tests/netns/test_ctl_*.sh), on top of
# lib.sh.  Source both; call ctl_init after lib_init.
#
# Daemons started by `ostpctl up` are not children of the test: ctl_up
# records each one's PID (from `ostpctl show --json`) in PID_LIST, so the
# EXIT trap of lib.sh stops it by PID like any other, and DPID/DLOG/DNS
# so that daemon_alive, log_has and fail's log dump work for them too.

: "${OSTPCTL:=$OSTP_BUILD/ostpctl}"
case $OSTPCTL in /*) ;; *) OSTPCTL=$OSTP_TOP/$OSTPCTL ;; esac
export OSTPCTL

declare -A CTL_PID=()   # daemon name -> PID of the ostpd that ostpctl started
CTL_RC=0
CTL_ERR=

ctl_init() {
	[ -x "$OSTPCTL" ] || fail "no ostpctl at $OSTPCTL (run make)"
	need_cmd timeout setpriv
}

# ctlx NS ARGS...: run ostpctl in NS (bounded); stdout in $T_DIR/ctl.out,
# stderr in $T_DIR/ctl.err and CTL_ERR, exit status in CTL_RC.
ctlx() {
	local ns=$1
	shift
	timeout -k 5 60 ip netns exec "$ns" "$OSTPCTL" "$@" \
		> "$T_DIR/ctl.out" 2> "$T_DIR/ctl.err" < /dev/null
	CTL_RC=$?
	CTL_ERR=$(tr '\n' '|' < "$T_DIR/ctl.err")
}

# ctlx_nobody NS ARGS...: the same as an unprivileged user.
ctlx_nobody() {
	local ns=$1
	shift
	timeout -k 5 60 ip netns exec "$ns" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$OSTPCTL" "$@" \
		> "$T_DIR/ctl.out" 2> "$T_DIR/ctl.err" < /dev/null
	CTL_RC=$?
	CTL_ERR=$(tr '\n' '|' < "$T_DIR/ctl.err")
}

# conf_dir CONF: the control_dir a configuration names.
conf_dir() {
	sed -n 's/^control_dir = "\(.*\)"$/\1/p' "$1"
}

# ctl_pid NS CONF IFNAME: the PID the daemon reports in show --json.
ctl_pid() {
	timeout 30 ip netns exec "$1" "$OSTPCTL" -c "$2" --json show "$3" 2> /dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]]["pid"])' "$3"
}

# ctl_up NAME NS CONF IFNAME [OPTIONS...]: `ostpctl up` must succeed; the
# daemon is then tracked as NAME.
ctl_up() {
	local name=$1 ns=$2 conf=$3 ifname=$4 pid
	shift 4
	DLOG[$name]=$(conf_dir "$conf")/$ifname.log
	DNS[$name]=$ns
	ctlx "$ns" -c "$conf" "$@" up "$ifname"
	# track it first, so that even a failure below is cleaned up by PID
	pid=$(ctl_pid "$ns" "$conf" "$ifname")
	if [ -n "$pid" ]; then
		CTL_PID[$name]=$pid
		DPID[$name]=$pid
		PID_LIST+=("$pid")
	fi
	[ "$CTL_RC" = 0 ] || fail "ostpctl up $ifname exited $CTL_RC: $CTL_ERR"
	[ -n "$pid" ] || fail "no PID in show --json after up $ifname"
}

# one_error_line RC DESC: ostpctl exited RC with exactly one stderr line
# "ostpctl: ...".
one_error_line() {
	local rc=$1 desc=$2
	[ "$CTL_RC" = "$rc" ] || fail "$desc: exit status $CTL_RC, want $rc ($CTL_ERR)"
	[ "$(wc -l < "$T_DIR/ctl.err")" = 1 ] ||
		fail "$desc: want one error line, got: $(cat "$T_DIR/ctl.err")"
	grep -q '^ostpctl: ' "$T_DIR/ctl.err" || fail "$desc: error is not 'ostpctl: ...': $CTL_ERR"
}

# out_has ERE CMD...: CMD's output has a line matching ERE.  The output is
# read whole first: `cmd | grep -q` may end cmd with SIGPIPE, which
# pipefail turns into a false "no match".
out_has() {
	local re=$1 out
	shift
	out=$("$@" 2> /dev/null)
	grep -Eq -- "$re" <<< "$out"
}

# addr_on NS IFNAME ADDR: the interface has the address (any prefix length).
addr_on() {
	out_has "inet6? $3/" ip -n "$1" addr show dev "$2"
}
