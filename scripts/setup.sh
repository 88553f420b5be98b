#!/usr/bin/env bash
# Installs what Kindling's build, demo and tests need on a fresh Debian 12 machine:
# Debian packages (only the missing ones, via apt-get) and the npm packages from the lockfile.
# Usage: scripts/setup.sh [--test]   (--test adds what the test suite needs: disk tools, the
# reference Ignition, QEMU and dracut)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(e2fsprogs fdisk util-linux)
if [[ "${1:-}" == "--test" ]]; then
  want+=(gdisk xfsprogs btrfs-progs dosfstools mdadm cryptsetup-bin iproute2 ignition
         qemu-system-x86 dracut-core dracut-network zstd cpio kmod passwd mtools bzip2 openssl time
         busybox dmsetup gcc libc6-dev)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
