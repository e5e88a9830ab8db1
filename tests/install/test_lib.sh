#!/bin/bash
# SPDX-License-Identifier: ISC
#
# libostp as an installed library: `make install` into a throwaway
# DESTDIR, then handshake_demo.c is compiled with nothing but what
# pkg-config says about that install and run against the installed
# libostp.so.1; the soname and the exported symbols are checked.
# Needs no root.  Environment: OSTP_TOP, OSTP_BUILD, OSTP_AEAD.

set -u
set -o pipefail

: "${OSTP_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${OSTP_BUILD:=$OSTP_TOP/build}"
: "${OSTP_AEAD:=openssl}"
: "${CC:=cc}"

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

T_DIR=$(mktemp -d /tmp/ostp-lib.XXXXXX) || fail "mktemp"
trap 'rm -rf "$T_DIR"' EXIT
ROOT=$T_DIR/root
LIB=$ROOT/usr/lib

# The caller's make flags (a jobserver this script has no descriptors
# for) are not ours.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$OSTP_TOP" --no-print-directory \
	BUILD="$OSTP_BUILD" AEAD="$OSTP_AEAD" install DESTDIR="$ROOT" PREFIX=/usr \
	> "$T_DIR/install.log" 2>&1 || { cat "$T_DIR/install.log"; fail "make install"; }
ok "make install DESTDIR=... PREFIX=/usr"

for f in usr/include/ostp.h usr/lib/pkgconfig/libostp.pc usr/share/man/man3/libostp.3 \
	 usr/sbin/ostpd usr/sbin/ostpctl; do
	[ -f "$ROOT/$f" ] || fail "/$f not installed"
done
[ -f "$LIB/libostp.so.1.0.0" ] && [ ! -L "$LIB/libostp.so.1.0.0" ] ||
	fail "libostp.so.1.0.0 not installed as a file"
[ "$(readlink "$LIB/libostp.so.1")" = libostp.so.1.0.0 ] || fail "libostp.so.1 -> $(readlink "$LIB/libostp.so.1")"
[ "$(readlink "$LIB/libostp.so")" = libostp.so.1 ] || fail "libostp.so -> $(readlink "$LIB/libostp.so")"
ok "library, header, pkg-config file and man page in place"

# The public header stands alone: it includes only standard headers.
bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$ROOT/usr/include/ostp.h" |
	grep -vE '<(stdbool|stddef|stdint)\.h>')
[ -z "$bad" ] || fail "ostp.h includes more than standard headers: $bad"

soname=$(objdump -p "$LIB/libostp.so.1.0.0" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libostp.so.1 ] || fail "SONAME is '$soname', not libostp.so.1"
ok "SONAME libostp.so.1"

# Exported: every function ostp.h declares, and nothing else.  The list
# of declarations comes from the preprocessed header (comments dropped).
"$CC" -E -P -x c "$ROOT/usr/include/ostp.h" | grep -oE '\bostp_[a-z0-9_]+ *\(' |
	tr -d ' (' | sort -u > "$T_DIR/declared"
[ "$(wc -l < "$T_DIR/declared")" -ge 40 ] || fail "too few functions found in ostp.h"
nm -D --defined-only "$LIB/libostp.so.1.0.0" | awk '$2 ~ /^[TWDBRV]$/ { print $3 }' |
	sed 's/@.*//' | grep -v '^LIBOSTP_' | sort -u > "$T_DIR/exported"
missing=$(comm -23 "$T_DIR/declared" "$T_DIR/exported")
extra=$(comm -13 "$T_DIR/declared" "$T_DIR/exported")
[ -z "$missing" ] || fail "declared in ostp.h but not exported: $missing"
[ -z "$extra" ] || fail "exported but not in ostp.h: $extra"
grep -qx ostp_queue_msg "$T_DIR/exported" && fail "internal ostp_queue_msg is exported"
nm -D "$LIB/libostp.so.1.0.0" > "$T_DIR/nm"
grep -q ' T ostp_init@@LIBOSTP_1$' "$T_DIR/nm" ||
	fail "ostp_init is not versioned LIBOSTP_1"
ok "exports: the $(wc -l < "$T_DIR/declared") functions of ostp.h (version LIBOSTP_1), ostp_queue_msg hidden"

# pkg-config reads the installed file; the sysroot maps its /usr paths
# into the DESTDIR.
export PKG_CONFIG_SYSROOT_DIR=$ROOT
export PKG_CONFIG_PATH=$LIB/pkgconfig
cflags=$(pkg-config --cflags libostp) || fail "pkg-config --cflags libostp"
libs=$(pkg-config --libs libostp) || fail "pkg-config --libs libostp"
case " $libs " in *" -L$LIB "*) ;; *) fail "pkg-config --libs: $libs (no -L$LIB)" ;; esac
case " $libs " in *" -lostp "*) ;; *) fail "pkg-config --libs: $libs (no -lostp)" ;; esac
case " $cflags " in *" -I$ROOT/usr/include "*) ;; *) fail "pkg-config --cflags: $cflags" ;; esac
want=$(sed -nE 's/^VERSION +:= *//p' "$OSTP_TOP/Makefile")
[ "$(pkg-config --modversion libostp)" = "$want" ] ||
	fail "pkg-config version $(pkg-config --modversion libostp), Makefile says $want"
req=$(pkg-config --print-requires-private libostp | awk '{ print $1 }' | sort | tr '\n' ' ')
case $OSTP_AEAD in
openssl) [ "$req" = "libcrypto libsodium " ] || fail "Requires.private: $req" ;;
*) [ "$req" = "libsodium " ] || fail "Requires.private: $req" ;;
esac
ok "pkg-config: $cflags $libs, version $want, Requires.private $req"

# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $cflags "$OSTP_TOP/tests/install/handshake_demo.c" \
	-o "$T_DIR/handshake_demo" $libs || fail "handshake_demo.c does not build against the install"
objdump -p "$T_DIR/handshake_demo" > "$T_DIR/demo.objdump"
grep -qE 'NEEDED +libostp\.so\.1$' "$T_DIR/demo.objdump" ||
	fail "handshake_demo is not linked to libostp.so.1"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH

# The demo must load the installed library, no other copy.
loaded=$(LD_LIBRARY_PATH=$LIB ldd "$T_DIR/handshake_demo" | awk '$1 == "libostp.so.1" { print $3 }')
[ "$loaded" = "$LIB/libostp.so.1" ] || fail "the demo loads '$loaded'"
out=$(LD_LIBRARY_PATH=$LIB "$T_DIR/handshake_demo" 2>&1) || fail "handshake_demo: $out"
echo "$out"
case $out in
"handshake_demo: ok (AEAD ${OSTP_AEAD/sodium/libsodium}, "*) ;;
*) fail "handshake_demo printed: $out" ;;
esac
ok "a program built through pkg-config completes a handshake with the installed library"
if command -v valgrind > /dev/null; then
	LD_LIBRARY_PATH=$LIB valgrind -q --leak-check=full --error-exitcode=9 \
		"$T_DIR/handshake_demo" > "$T_DIR/vg.log" 2>&1 || { cat "$T_DIR/vg.log"; fail "valgrind"; }
	ok "valgrind memcheck: clean"
fi
echo "PASS"
