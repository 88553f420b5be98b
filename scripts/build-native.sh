#!/usr/bin/env bash
# Compiles Kindling's one native helper, native/kindling-vbox.c (the VirtualBox guest property
# reader for -platform virtualbox; docs/acquire.md), into DIR/kindling-vbox (default dist/).
# It needs a C compiler and the kernel's UAPI headers (Debian: gcc, libc6-dev, linux-libc-dev).
# The result links libc dynamically: the initramfs already carries glibc for node, and a dynamic
# binary is what the tests can load their stand-in driver into (LD_PRELOAD).
# Usage: scripts/build-native.sh [--out DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/dist
if [[ ${1:-} == --out ]]; then out=${2:?usage: build-native.sh [--out DIR]}; fi
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "build-native: no C compiler ($cc); install gcc" >&2; exit 1; }
mkdir -p "$out"
"$cc" -O2 -Wall -Wextra -Werror -o "$out/kindling-vbox.tmp" "$here/native/kindling-vbox.c"
mv "$out/kindling-vbox.tmp" "$out/kindling-vbox"
echo "built $out/kindling-vbox"
