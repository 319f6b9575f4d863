#!/usr/bin/env bash
# kernel.sh DIR — fetch Debian's current amd64 kernel package (not
# installed: downloaded and unpacked into DIR/root) for tests that boot it
# in QEMU with their own test binary as init. Such tests need kernel parts
# a build machine may lack (8021q and bonding for appliance/netcfg).
#
# Idempotent: once DIR/root/boot holds a vmlinuz it does nothing.
set -euo pipefail

dir="${1:?usage: $0 DIR}"
if compgen -G "$dir/root/boot/vmlinuz-*" >/dev/null; then
	echo "sysdeps: kernel for tests already in $dir"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "sysdeps: this is not a Debian system; put a Debian kernel package's files in $dir/root yourself" >&2
	exit 1
fi
pkg="$(apt-cache depends --important linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
if [ -z "$pkg" ]; then
	apt-get -q update
	pkg="$(apt-cache depends --important linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
fi
mkdir -p "$dir"
cd "$dir"
rm -rf root.tmp ./*.deb
apt-get -q download "$pkg"
dpkg-deb -x ./*.deb root.tmp
rm -f ./*.deb
mv root.tmp root
echo "sysdeps: kernel for tests: $pkg in $dir/root"
