#!/bin/bash
# SPDX-License-Identifier: ISC
# The bash completion of ostpctl (etc/bash-completion/ostpctl): objects,
# commands, keywords and options; interface names from the sockets of a
# control directory and from configurations; users from the trusted users
# list a command would edit; file names; nothing where nothing applies.
# Each command line is completed as bash would call the function (COMP_*),
# once in a plain bash and once with bash-completion when it is installed,
# and a few are typed into an interactive bash on a pseudo-terminal.  The
# completion never connects to a control socket.
#
# Needs neither root nor a namespace; it lives here because `make check`
# runs every script of this directory.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

COMP_SCRIPT=$OSTP_TOP/etc/bash-completion/ostpctl
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

# ---- one pass over the command lines (run as: test_completion.sh --suite
# plain|bash-completion, with T_DIR from the parent) --------------------------

# comp LINE: completes LINE as bash would, the cursor at its end or at a
# "|" in it; the candidates, sorted and space-separated, in GOT.
comp() {
	local line=$1 point i c tok='' cw_i=-1
	local -a ws=() ends=()
	point=${line%%|*}
	point=${#point}
	line=${line/|/}
	# bash's split: blanks, and a run of "=" or ":" as a word of its own
	for ((i = 0; i <= ${#line}; i++)); do
		c=${line:i:1}
		# a blank, or the edge between a break character and another
		if [[ -n $tok ]] && [[ -z $c || $c == ' ' ||
			$c == [=:] && ${tok: -1} != [=:] || $c != [=:] && ${tok: -1} == [=:] ]]; then
			ws+=("$tok")
			ends+=("$i")
			tok=''
		fi
		[[ -z $c || $c == ' ' ]] || tok+=$c
	done
	# the current word: the first one that ends at or after the cursor
	for ((i = 0; i < ${#ws[@]}; i++)); do
		((ends[i] >= point)) && { cw_i=$i; break; }
	done
	if ((cw_i < 0)); then
		ws+=("")
		cw_i=$((${#ws[@]} - 1))
	fi
	COMP_LINE=$line COMP_POINT=$point COMP_CWORD=$cw_i
	COMP_WORDS=("${ws[@]}")
	COMPREPLY=()
	_ostpctl ostpctl "${ws[cw_i]}" "${ws[cw_i - 1]}" 2> "$T_DIR/comp.err"
	[ -s "$T_DIR/comp.err" ] && fail "[$MODE] '$1': printed on stderr: $(cat "$T_DIR/comp.err")"
	GOT=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd ' ')
}

# expect LINE [WORD...]: LINE completes to exactly these words.
expect() {
	local line=$1 want
	shift
	comp "$line"
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd ' ')
	[ "$GOT" = "$want" ] || fail "[$MODE] '$line': got '$GOT', want '$want'"
	CASES=$((CASES + 1))
}

suite() {
	MODE=$1
	CASES=0
	if [ "$MODE" = bash-completion ]; then
		# bash_completion itself is not written for set -u
		set +u
		# shellcheck source=/dev/null
		. "$BASH_COMPLETION"
		declare -F _init_completion > /dev/null || fail "bash-completion did not load"
	fi
	# shellcheck source=etc/bash-completion/ostpctl
	. "$COMP_SCRIPT"
	complete -p ostpctl | grep -q -- '-F _ostpctl' || fail "[$MODE] not registered"
	_ostpctl_run_dir=$T_DIR/run
	_ostpctl_conf_dir=$T_DIR/conf
	local D=$T_DIR ifs=(ostp0 wg1) confs=(home ostp0 srv2)

	expect 'ostpctl ' up down show dump route peer trust passwd genkey pubkey help
	expect 'ostpctl tr' trust
	expect 'ostpctl p' peer passwd pubkey
	expect 'ostpctl x'
	expect 'ostpctl frobnicate '
	expect 'ostpctl help '
	expect 'ostpctl -' -c --config --wait --json -h --help
	expect 'ostpctl --j' --json
	expect 'ostpctl show --w' --wait
	expect 'ostpctl --wait '
	expect 'ostpctl --wait='
	expect 'ostpctl --wait 5 sh' show
	expect 'ostpctl --json show ' "${ifs[@]}"
	for o in route peer trust; do
		expect "ostpctl $o " add del list help
	done
	expect 'ostpctl trust l' list

	# interfaces: running daemons (sockets), configurations for up
	expect 'ostpctl up ' "${confs[@]}"
	expect 'ostpctl up o' ostp0
	expect 'ostpctl up ostp0 '
	expect 'ostpctl down ' "${ifs[@]}"
	expect 'ostpctl show ' "${ifs[@]}"
	expect 'ostpctl dump w' wg1
	expect 'ostpctl show ostp0 '
	# -c FILE: its control_dir and its interface, also after the object
	expect "ostpctl -c $D/alt.conf show " alt0
	expect "ostpctl --config=$D/alt.conf down " alt0
	expect "ostpctl down | -c $D/alt.conf" alt0
	expect "ostpctl -c $D/alt.conf up " alt0
	# a FIFO (or a config that does not load) is not read: the default
	expect "ostpctl -c $D/fifo show " "${ifs[@]}"

	# route: a prefix (nothing), then dev and user once each
	expect 'ostpctl route add '
	expect 'ostpctl route add 198.18.10.0/24 ' dev user
	expect 'ostpctl route add 198.18.10.0/24 dev ' "${ifs[@]}"
	expect 'ostpctl route del fd00:1::/64 dev ' "${ifs[@]}"
	expect 'ostpctl route add fd00:1::/64 dev ostp0 ' user
	expect 'ostpctl route add fd00:1::/64 dev ostp0 user ' ian dominik quinn
	expect 'ostpctl route add 198.18.10.0/24 dev ostp0 user q' quinn
	expect 'ostpctl route add 198.18.10.0/24 dev ostp0 user ian '
	expect 'ostpctl route list ' dev
	expect 'ostpctl route list dev ' "${ifs[@]}"
	expect 'ostpctl route list dev ostp0 '

	# peer: keywords after the name; ":" and "=" in values do not count
	expect 'ostpctl peer add '
	expect 'ostpctl peer add bob ' endpoint key allowed-ips dev
	expect 'ostpctl peer add bob endpoint 198.18.0.9:7000 ' key allowed-ips dev
	expect 'ostpctl peer add bob endpoint [fd00::9]:7000 key AAAA= ' allowed-ips dev
	expect 'ostpctl peer add bob endpoint [fd00::9]:7000 key AAAA= dev ' "${ifs[@]}"
	expect 'ostpctl peer add bob endpoint [fd00::9]:7000 key AAAA= dev wg1 allowed-ips '
	expect 'ostpctl peer del bob ' dev
	expect 'ostpctl peer del bob dev ' "${ifs[@]}"
	expect 'ostpctl peer list ' dev

	# users: two daemons and no dev or -c: the default list
	expect 'ostpctl trust del ' fallback
	expect 'ostpctl passwd ' fallback
	expect 'ostpctl trust del | dev srv2' bob carol
	expect 'ostpctl passwd | dev ostp0' ian dominik quinn
	expect "ostpctl -c $D/alt.conf trust del " bob carol
	expect "ostpctl trust del c| -c $D/alt.conf" carol
	# a configuration without trust_file: the default list
	expect 'ostpctl trust del | dev home' fallback
	expect 'ostpctl trust add '
	expect 'ostpctl trust add ian ' dev
	expect 'ostpctl trust del ian dev ' "${confs[@]}" wg1
	expect 'ostpctl trust del ian dev ostp0 '
	expect 'ostpctl trust list ' dev
	expect 'ostpctl trust list dev ' "${confs[@]}" wg1
	expect 'ostpctl passwd ian ' dev
	expect 'ostpctl passwd ian dev s' srv2
	# one daemon running: its configuration's list
	_ostpctl_run_dir=$D/run1
	expect 'ostpctl trust del ' ian dominik quinn
	expect 'ostpctl passwd d' dominik
	_ostpctl_run_dir=$D/run

	# files
	expect "ostpctl genkey $D/ke" "$D/keyfile"
	expect "ostpctl pubkey $D/keyf" "$D/keyfile"
	expect "ostpctl genkey $D/keyfile "
	expect "ostpctl -c $D/al" "$D/alt.conf"
	expect "ostpctl --config=$D/al" "$D/alt.conf"
	expect "ostpctl show --config $D/al" "$D/alt.conf"
	# bash replaces what follows the last ":" or "=" only
	expect "ostpctl genkey $D/id:e" e=1.key
	expect "ostpctl genkey $D/id:e=" 1.key
	expect "ostpctl --config=$D/id:" e=1.key

	say "ok: $MODE: $CASES command lines"
	exit 0
}

if [ "${1-}" = --suite ]; then
	T_DIR=$2 SECONDS=$4 T_START=0
	suite "$3"
fi

# ---- an interactive bash on a pseudo-terminal --------------------------------

# typed MODE: types command lines ending in TAB into `bash -i`, then runs
# them as `echo` and checks what the completion made of them.  In the
# bash-completion mode the script is not sourced: bash-completion must
# find it by its file name (as under share/bash-completion/completions).
typed() {
	local mode=$1 rc=$T_DIR/rc.$1
	{
		echo "PS1='\$ '; HISTFILE=/dev/null"
		echo "bind 'set enable-bracketed-paste off' 2> /dev/null"
		echo "_ostpctl_run_dir=$T_DIR/run; _ostpctl_conf_dir=$T_DIR/conf"
		if [ "$mode" = bash-completion ]; then
			echo "BASH_COMPLETION_USER_DIR=$T_DIR/bc"
			echo ". $BASH_COMPLETION"
		else
			echo ". $COMP_SCRIPT"
		fi
	} > "$rc"
	timeout -k 5 60 "$PY" - "$rc" "$T_DIR" > "$T_DIR/typed.$mode" 2>&1 <<'EOF' ||
import os, pty, re, select, sys, time

lines = [("ostpctl tru\t", "ostpctl trust "),
         ("ostpctl route add fd00:1::/64 d\t", "ostpctl route add fd00:1::/64 dev "),
         ("ostpctl route add fd00:1::/64 dev ostp0 user q\t",
          "ostpctl route add fd00:1::/64 dev ostp0 user quinn "),
         ("ostpctl show w\t", "ostpctl show wg1 "),
         ("ostpctl genkey %s/id:e\t" % sys.argv[2],
          "ostpctl genkey %s/id:e=1.key " % sys.argv[2])]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "--noprofile", "--rcfile", sys.argv[1], "-i"])

def read_for(secs):
    out, end = b"", time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out

# until the prompt (bash echoes what it prints, so wait for the end of it)
def read_prompt(out=b""):
    while not out.endswith(b"$ "):
        more = read_for(0.2)
        if not more and time.time() > deadline:
            break
        out += more
    return out

deadline = time.time() + 10
read_prompt()
got = []
for typed, want in lines:
    # TAB; then Ctrl-A, "echo R:" in front and Enter: the shell prints
    # the line as the completion left it
    os.write(fd, typed.encode())
    read_for(0.5)
    os.write(fd, b"\x01echo 'R:'\r")
    deadline = time.time() + 10
    out = read_prompt()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z@]", "", out.decode(errors="replace"))
    # what a terminal shows: each line from its last carriage return
    for l in text.split("\n"):
        l = l.rstrip("\r").split("\r")[-1]
        if l.startswith("R:"):
            got.append(l[2:])
os.write(fd, b"exit\r")
read_for(0.5)
want = [w.rstrip() for _, w in lines]
print("got:", got)
print("want:", want)
sys.exit(0 if got == want else 1)
EOF
		fail "[$mode] typed completion: $(cat "$T_DIR/typed.$mode")"
	ok "$mode: completion typed into an interactive bash"
}

# ---- fixtures ----------------------------------------------------------------

trap cleanup EXIT
T_DIR=$(mktemp -d "/tmp/$T_PFX-$T_NAME.XXXXXX") || fail "mktemp"
need_cmd "$PY" timeout paste
D=$T_DIR
mkdir -p "$D/run" "$D/run1" "$D/run2" "$D/conf" "$D/bc/completions"
cp "$COMP_SCRIPT" "$D/bc/completions/ostpctl"

# Sockets as a daemon leaves them; ostp0's answers and notes every
# connection (there must be none).  Names ostpctl does not take as
# interfaces, and other files, are not offered.
"$PY" - "$D" <<'EOF' || fail "creating the sockets"
import socket, sys
d = sys.argv[1]
for p in ("run/wg1.sock", "run/bad:name.sock", "run/toolongname12345.sock",
          "run1/ostp0.sock", "run2/alt0.sock"):
    socket.socket(socket.AF_UNIX).bind(d + "/" + p)
EOF
"$PY" - "$D" > "$D/listener.out" 2>&1 <<'EOF' &
import socket, sys, time
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(d + "/run/ostp0.sock")
s.listen(16)
s.settimeout(0.5)
end = time.time() + 600
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    with open(d + "/connected", "a") as f:
        f.write("connection\n")
    c.close()
EOF
PID_LIST+=("$!")
wait_for 10 "listener socket" test -S "$D/run/ostp0.sock" || fail "no listener"
: > "$D/run/notes.txt"
mkfifo "$D/fifo"
: > "$D/keyfile"
: > "$D/id:e=1.key"

cat > "$D/users0" <<'EOF'
//
// OSMORA Trust List
//

ian
  dominik	
-bad
// root
ian
EOF
printf 'quinn\r\n' >> "$D/users0"
printf 'bob\ncarol\n' > "$D/users2"
printf '// the default list\nfallback\n' > "$D/conf/trusted_users"
cat > "$D/conf/ostp0.conf" <<EOF
interface = "ostp0"
# trust_file = "$D/users2"
server {
	trust_file = "$D/users0"
}
EOF
cat > "$D/conf/srv2.conf" <<EOF
interface = "srv2"
server {
	trust_file="$D/users2"
}
EOF
printf 'interface = "home"\nclient {\n}\n' > "$D/conf/home.conf"
: > "$D/conf/README"
cat > "$D/alt.conf" <<EOF
interface = "alt0"
control_dir = "$D/run2"
server {
	trust_file = "$D/users2"
}
EOF

# ---- run ---------------------------------------------------------------------

timeout -k 5 120 bash "$0" --suite "$D" plain $((SECONDS - T_START)) || fail "plain bash"
typed plain
if [ -f "$BASH_COMPLETION" ]; then
	timeout -k 5 120 bash "$0" --suite "$D" bash-completion $((SECONDS - T_START)) || fail "with bash-completion"
	typed bash-completion
else
	say "bash-completion is not installed: tested without it only"
fi
[ -e "$D/connected" ] && fail "the completion connected to a control socket"
ok "no connection to the control socket"
pass
