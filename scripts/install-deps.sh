#!/bin/bash
# SPDX-License-Identifier: ISC
# Installs every Debian 12 package ostp needs to build, test and fuzz.
# Run as root: sudo scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	clang libclang-rt-14-dev            # make fuzz (libFuzzer)
	libsodium-dev libmnl-dev libconfuse-dev
	libssl-dev                          # OpenSSL's libcrypto: AES-GCM of frames (make AEAD=openssl)
	libpam0g-dev                        # Linux-PAM: pam_service (ostpd links -lpam)
	libpam-modules db-util              # PAM tests: pam_userdb over a database made with db_load
	check valgrind                      # make check, make valgrind
	dpkg-dev lintian adduser            # make deb, tests/install/test_deb.sh
	systemd man-db                      # systemd-analyze verify of the unit and its man: links
	iproute2 iputils-ping iperf3 nftables procps jq python3 kmod ethtool
	bash-completion                     # tests/netns/test_completion.sh
	tshark                              # tests/netns/test_dissector.sh (scripts/wireshark/ostp.lua)
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (sudo $0)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# wireshark-common (from tshark) asks whether non-root users may capture:
# no, and no question.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# Another apt run (unattended-upgrades) may hold the lock for a while.
APT=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)

# A failed update is not fatal by itself: when every package is already
# there the install below still succeeds, and when one is missing it fails.
updated=0
for try in 1 2 3; do
	if "${APT[@]}" update < /dev/null; then
		updated=1
		break
	fi
	echo "install-deps: apt-get update failed (try $try)" >&2
	sleep $((try * 5))
done
[ "$updated" = 1 ] || echo "install-deps: continuing with old package lists" >&2

for try in 1 2 3; do
	if "${APT[@]}" install -y --no-install-recommends "${PACKAGES[@]}" < /dev/null; then
		echo "install-deps: all packages installed"
		exit 0
	fi
	echo "install-deps: apt-get install failed (try $try)" >&2
	sleep $((try * 5))
done
exit 1
