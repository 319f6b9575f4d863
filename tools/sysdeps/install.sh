#!/usr/bin/env bash
# install.sh PACKAGE... — install the Debian packages that are not installed
# yet, and nothing else.
#
# Idempotent: when every package is installed it does nothing, not even
# `apt-get update`. Downloaded .deb files are kept in
# $SWITCHBOARD_CACHE/apt/archives (default ./.cache) so that a cached CI run or
# a rebuilt machine does not fetch them again. Runs as root, or through sudo
# when it is available. Waits for the dpkg lock when another apt is running.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 PACKAGE..." >&2
	exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "sysdeps: this is not a Debian system (no dpkg-query/apt-get); install these yourself: $*" >&2
	exit 1
fi

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for pkg in "$@"; do
	if ! installed "$pkg"; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "sysdeps: already installed: $*"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "sysdeps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

cache="${SWITCHBOARD_CACHE:-$(pwd)/.cache}"
archives="$cache/apt/archives"
mkdir -p "$archives/partial"

apt=(
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q
	-o DPkg::Lock::Timeout=600
	-o Dir::Cache::archives="$archives"
	-o APT::Keep-Downloaded-Packages=true
)

echo "sysdeps: installing: ${missing[*]}"
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"

still=()
for pkg in "${missing[@]}"; do
	if ! installed "$pkg"; then
		still+=("$pkg")
	fi
done
if [ "${#still[@]}" -ne 0 ]; then
	echo "sysdeps: still not installed after apt-get: ${still[*]}" >&2
	exit 1
fi
echo "sysdeps: installed: ${missing[*]}"
