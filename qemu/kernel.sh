#!/usr/bin/env bash
# Fetches Debian's 6.1 kernel package once and extracts it into .cache/kernel/<version>/, with a
# depmod'ed module tree, so that dracut can build initramfs images for it without touching the
# host's /lib/modules (other work on this machine shares it).
# Prints shell assignments the other scripts eval: KVER, VMLINUZ, KMODDIR.
# Usage: qemu/kernel.sh            (offline once the .deb is in .cache/kernel/)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=$PWD/.cache/kernel
mkdir -p "$cache"

# Reuse any kernel already extracted: a CI run must not depend on the registry once cached.
done_stamp=$(ls -1d "$cache"/*/.extracted 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z $done_stamp ]]; then
  deb=$(ls -1 "$cache"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $deb ]]; then
    # The newest 6.1 generic kernel apt knows about (the signed one: same vmlinuz, fewer deps).
    pkg=$(apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
    [[ -n $pkg ]] || { echo "kernel.sh: apt knows no linux-image-6.1.0-*-amd64 (apt-get update?)" >&2; exit 1; }
    echo "kernel.sh: downloading $pkg" >&2
    (cd "$cache" && apt-get download "$pkg" >&2)
    deb=$(ls -1 "$cache"/linux-image-6.1.0-*-amd64_*.deb | sort -V | tail -n 1)
  fi
  kver=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')
  dir=$cache/$kver
  rm -rf "$dir.tmp"
  echo "kernel.sh: extracting $(basename "$deb")" >&2
  dpkg-deb -x "$deb" "$dir.tmp"
  depmod -b "$dir.tmp" "$kver"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  touch "$dir/.extracted"
  done_stamp=$dir/.extracted
fi
dir=$(dirname "$done_stamp")
kver=$(basename "$dir")
echo "KVER=$kver"
echo "VMLINUZ=$dir/boot/vmlinuz-$kver"
echo "KMODDIR=$dir/lib/modules/$kver"
