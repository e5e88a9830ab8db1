#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The Debian package: `make deb`, its contents, its Depends against what
# the binaries link, lintian (no errors), then install, use and purge in
# a throwaway root.
#
# The throwaway root is this machine's own file system under an overlay
# (lower: /, upper: a tmpfs), mounted in a private mount namespace
# (unshare -m) and entered with chroot.  It needs no network and no
# mirror, and it already holds the packages the .deb depends on, so dpkg
# checks the dependencies for real (no --force option).  Everything
# written there (the package's files, the user added by postinst, dpkg's
# database) lands in the upper layer and is gone with the namespace; the
# machine's own accounts and packages are never touched.
#
# Needs root (exit 77, skipped, without it).  Environment: OSTP_TOP,
# OSTP_BUILD, OSTP_AEAD.

set -u
set -o pipefail

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# ---- inside the private mount namespace -----------------------------------
if [ "${1:-}" = --inside ]; then
	T_DIR=$2 DEB=$3 VERSION=$4 AEAD_NAME=$5 DEMO=$6
	R=$T_DIR/root L=$T_DIR/layer
	# The upper layer on a tmpfs of its own: overlayfs cannot write to
	# every file system /tmp may be on (another overlay, for one).
	mount -t tmpfs -o size=2g,mode=0755 ostp-test "$L" && mkdir "$L/upper" "$L/work" ||
		fail "tmpfs for the upper layer"
	mount -t overlay ostp-test -o "lowerdir=/,upperdir=$L/upper,workdir=$L/work" "$R" ||
		fail "overlay mount"
	mountpoint -q "$R" || fail "$R is not a mount point"
	# Fresh /tmp and /run: nothing reaches a service manager of the
	# machine, and the package and demo are copied in.
	mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" &&
		mount -t tmpfs tmpfs "$R/tmp" && mount -t tmpfs tmpfs "$R/run" ||
		fail "mounts inside the throwaway root"
	cp "$DEB" "$R/tmp/ostp.deb" && cp "$DEMO" "$R/tmp/handshake_demo.c" || fail "copy"

	in_root() {
		chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
			HOME=/root "$@"
	}

	in_root getent passwd ostp > /dev/null && fail "user ostp exists before the install"
	in_root test -e /usr/sbin/ostpd && fail "/usr/sbin/ostpd exists before the install"
	in_root dpkg -i /tmp/ostp.deb > "$T_DIR/dpkg-i.log" 2>&1 ||
		{ cat "$T_DIR/dpkg-i.log"; fail "dpkg -i"; }
	st=$(in_root dpkg-query -W -f '${Status}' ostp)
	[ "$st" = "install ok installed" ] || fail "dpkg status after install: $st"
	ok "dpkg -i ostp.deb: $st"

	pw=$(in_root getent passwd ostp) || fail "postinst did not create the user ostp"
	IFS=: read -r _ _ uid gid _ home shell <<< "$pw"
	[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] ||
		fail "ostp is not a system user: $pw"
	grp=$(in_root getent group ostp) || fail "no group ostp"
	[ "$(echo "$grp" | cut -d: -f3)" = "$gid" ] || fail "group ostp ($grp) is not the user's ($gid)"
	ok "system user: $pw"

	v=$(in_root ostpd -V) || fail "ostpd -V"
	[ "$v" = "ostpd $VERSION (OSTP/1, AEAD $AEAD_NAME)" ] || fail "ostpd -V: $v"
	ok "ostpd -V: $v"

	pub=$(in_root ostpctl genkey /etc/ostp/identity.key) || fail "ostpctl genkey"
	[[ $pub =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "ostpctl genkey printed '$pub'"
	[ "$(in_root stat -c %a /etc/ostp/identity.key)" = 600 ] || fail "identity.key is not mode 600"
	[ "$(in_root ostpctl pubkey /etc/ostp/identity.key)" = "$pub" ] || fail "pubkey differs from genkey"
	ok "ostpctl genkey /etc/ostp/identity.key: $pub"

	for c in ostpd client; do
		in_root ostpd -n -c /etc/ostp/$c.conf > "$T_DIR/$c.check" 2>&1 ||
			{ cat "$T_DIR/$c.check"; fail "ostpd -n -c /etc/ostp/$c.conf"; }
		grep -qx 'user_name = "ostp"' "$T_DIR/$c.check" || fail "$c.conf does not run as ostp"
	done
	ok "ostpd -n accepts /etc/ostp/ostpd.conf and /etc/ostp/client.conf (user_name ostp)"

	# Every file the package puts in /etc is a conffile, the samples too.
	cf=$(in_root dpkg-query -W -f '${Conffiles}' ostp | awk '{ print $1 }' | sort | tr '\n' ' ')
	etc=$(in_root dpkg -L ostp | while read -r f; do
		case $f in /etc/*) [ -f "$R$f" ] && echo "$f" ;; esac; done | sort | tr '\n' ' ')
	[ "$cf" = "$etc" ] || fail "conffiles '$cf', files in /etc '$etc'"
	for f in ostpd.conf client.conf trusted_users; do
		case " $cf" in *" /etc/ostp/$f "*) ;; *) fail "/etc/ostp/$f is no conffile" ;; esac
	done
	ok "conffiles: $cf"

	# The unit: its binary, user-facing documentation and directives.
	in_root systemd-analyze verify /lib/systemd/system/ostpd@ostpd.service \
		> "$T_DIR/verify.log" 2>&1 || { cat "$T_DIR/verify.log"; fail "systemd-analyze verify"; }
	grep -i 'ostpd' "$T_DIR/verify.log" && fail "systemd-analyze verify complains about the unit"
	ok "systemd-analyze verify ostpd@ostpd.service"

	# The library as a user of the package gets it: ldconfig knows it, and
	# a program built with pkg-config alone runs without any path set.
	in_root ldconfig -p > "$T_DIR/ldconfig" || fail "ldconfig -p"
	grep -q 'libostp\.so\.1 ' "$T_DIR/ldconfig" || fail "ldconfig does not know libostp.so.1"
	# shellcheck disable=SC2016
	in_root sh -c 'cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags libostp) \
		-o /tmp/handshake_demo /tmp/handshake_demo.c $(pkg-config --libs libostp)' ||
		fail "handshake_demo does not build against the package"
	out=$(in_root /tmp/handshake_demo) || fail "handshake_demo: $out"
	case $out in "handshake_demo: ok "*) ;; *) fail "handshake_demo printed: $out" ;; esac
	ok "a program built through pkg-config runs on the packaged libostp.so.1: $out"

	in_root dpkg --purge ostp > "$T_DIR/purge.log" 2>&1 || { cat "$T_DIR/purge.log"; fail "dpkg --purge"; }
	st=$(in_root dpkg-query -W -f '${Status}' ostp 2> /dev/null)
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || fail "dpkg status after purge: $st"
	for f in /usr/sbin/ostpd /usr/sbin/ostpctl /usr/include/ostp.h /etc/ostp \
		 /lib/systemd/system/ostpd@.service /usr/share/doc/ostp; do
		in_root test -e "$f" && fail "$f is left after the purge"
	done
	in_root sh -c 'ls /usr/lib/*/libostp* /usr/lib/*/pkgconfig/libostp.pc' 2> /dev/null &&
		fail "library files left after the purge"
	in_root getent passwd ostp && fail "user ostp is left after the purge"
	in_root getent group ostp && fail "group ostp is left after the purge"
	in_root ldconfig -p > "$T_DIR/ldconfig" || fail "ldconfig -p"
	grep 'libostp' "$T_DIR/ldconfig" && fail "ldconfig still lists libostp"
	ok "dpkg --purge ostp: files, /etc/ostp (with identity.key), user and group gone"
	exit 0
fi

# ---- outside ----------------------------------------------------------------
: "${OSTP_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${OSTP_BUILD:=$OSTP_TOP/build}"
: "${OSTP_AEAD:=openssl}"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test_deb needs root for its throwaway root (sudo make check)"
	exit 77
fi
for t in dpkg-deb dpkg-shlibdeps lintian unshare chroot systemd-analyze adduser cc; do
	command -v "$t" > /dev/null || fail "$t not found (scripts/install-deps.sh installs it)"
done

T_DIR=$(mktemp -d /tmp/ostp-deb.XXXXXX) || fail "mktemp"
trap 'rm -rf "$T_DIR"' EXIT
VERSION=$(sed -nE 's/^VERSION +:= *//p' "$OSTP_TOP/Makefile")

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$OSTP_TOP" --no-print-directory \
	BUILD="$OSTP_BUILD" AEAD="$OSTP_AEAD" deb > "$T_DIR/make.log" 2>&1 ||
	{ tail -n 30 "$T_DIR/make.log"; fail "make deb"; }
DEB=$(tail -n 1 "$T_DIR/make.log")
case $DEB in /*.deb) [ -f "$DEB" ] ;; *) false ;; esac || fail "make deb did not name a .deb: $DEB"
ok "make deb: $DEB"

# ---- what the package holds
X=$T_DIR/x
dpkg-deb -R "$DEB" "$X" || fail "dpkg-deb -R"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2> /dev/null)
for f in usr/sbin/ostpd usr/sbin/ostpctl "usr/lib/$ma/libostp.so.1.0.0" usr/include/ostp.h \
	 "usr/lib/$ma/pkgconfig/libostp.pc" usr/share/man/man3/libostp.3.gz \
	 usr/share/man/man5/ostpd.conf.5.gz usr/share/man/man8/ostpd.8.gz \
	 usr/share/man/man8/ostpctl.8.gz lib/systemd/system/ostpd@.service \
	 etc/ostp/ostpd.conf etc/ostp/client.conf etc/ostp/trusted_users \
	 usr/share/doc/ostp/copyright usr/share/doc/ostp/changelog.Debian.gz \
	 DEBIAN/control DEBIAN/md5sums DEBIAN/conffiles DEBIAN/shlibs DEBIAN/triggers; do
	[ -f "$X/$f" ] || fail "$f not in the package"
done
[ -x "$X/DEBIAN/postinst" ] && [ -x "$X/DEBIAN/postrm" ] || fail "maintainer scripts missing"
[ "$(readlink "$X/usr/lib/$ma/libostp.so.1")" = libostp.so.1.0.0 ] || fail "libostp.so.1 link"
grep -q '^ExecStart=/usr/sbin/ostpd ' "$X/lib/systemd/system/ostpd@.service" ||
	fail "the unit does not start /usr/sbin/ostpd"
(cd "$X" && md5sum --quiet -c DEBIAN/md5sums) || fail "md5sums do not match the files"
[ "$(find "$X" -path "$X/DEBIAN" -prune -o -type f -print | wc -l)" = "$(wc -l < "$X/DEBIAN/md5sums")" ] ||
	fail "md5sums does not list every file"
for b in usr/sbin/ostpd usr/sbin/ostpctl "usr/lib/$ma/libostp.so.1.0.0"; do
	readelf -S "$X/$b" > "$T_DIR/sections" || fail "readelf $b"
	grep -q '\.symtab' "$T_DIR/sections" && fail "$b is not stripped"
done
ok "contents: binaries, library, header, pkg-config file, man pages, unit, configuration, md5sums"

# ---- Depends names the package of every library the binaries load
deps=$(sed -n 's/^Depends: //p' "$X/DEBIAN/control")
deps=" $(echo "$deps" | sed -E 's/ *\([^)]*\)//g; s/,/ /g') "
case $deps in *" adduser "*) ;; *) fail "Depends lacks adduser (postinst): $deps" ;; esac
for b in usr/sbin/ostpd usr/sbin/ostpctl "usr/lib/$ma/libostp.so.1.0.0"; do
	for so in $(objdump -p "$X/$b" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|x86_64|64bit/ { print $NF; exit }')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		[ -n "$path" ] || fail "$so (needed by $b) is not on this machine"
		owner=$(dpkg -S "$(readlink -f "$path")" 2> /dev/null | head -n 1 | cut -d: -f1)
		[ -n "$owner" ] || owner=$(dpkg -S "$path" 2> /dev/null | head -n 1 | cut -d: -f1)
		[ -n "$owner" ] || fail "no package owns $path"
		case $deps in *" $owner "*) ;; *) fail "$b needs $so from $owner, not in Depends:$deps" ;; esac
	done
done
ok "Depends:$deps"

# ---- lintian: warnings are reported, errors fail
lintian --tag-display-limit 0 "$DEB" > "$T_DIR/lintian.log" 2>&1
rc=$?
cat "$T_DIR/lintian.log"
grep -q '^E: ' "$T_DIR/lintian.log" && fail "lintian reports errors"
[ $rc -eq 0 ] || fail "lintian exited with status $rc"
ok "lintian: no errors"

# ---- install, use and purge in the throwaway root
mkdir "$T_DIR/layer" "$T_DIR/root"
aead_name=$OSTP_AEAD
[ "$aead_name" = sodium ] && aead_name=libsodium
unshare -m --propagation private "$BASH" "${BASH_SOURCE[0]}" --inside "$T_DIR" "$DEB" \
	"$VERSION" "$aead_name" "$OSTP_TOP/tests/install/handshake_demo.c" || exit 1
echo "PASS"
