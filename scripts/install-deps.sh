#!/usr/bin/env bash
# Installs the Debian packages DirectFuse's tests and tools use. Idempotent; needs root for apt-get.
#   fuse3      fusermount3 (unprivileged mounts, auto_unmount) and /etc/fuse.conf
#   fio, stress-ng, attr, python3   real clients the integration tests drive
#   sox, libsox-fmt-oss             an OSS client (sox -t oss) for the ossdsp device tests
#   clang, zlib1g-dev               the native toolchain of the Native AOT publish of `directfuse` (./directfuse)
# With package names as arguments it installs only those (scripts/build-cli.sh asks for the AOT toolchain).
set -euo pipefail
packages=(fuse3 fio stress-ng attr python3 util-linux sox libsox-fmt-oss clang zlib1g-dev)
[ $# -gt 0 ] && packages=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Distributions make /dev/fuse world-accessible (udev); some minimal machines leave it root-only, which
# makes every unprivileged mount through fusermount3 fail with "failed to open /dev/fuse".
if [ "$(id -u)" -eq 0 ]; then
  [ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
  [ -e /dev/fuse ] && chmod 0666 /dev/fuse
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt and debconf chatter (e.g. "delaying package configuration") is shown only when something fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed to install ${missing[*]}" >&2
  exit 1
fi
