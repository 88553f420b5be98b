#!/usr/bin/env bash
# Looks at a disk image after a boot and prints what is on it as JSON: the GPT (sgdisk, no
# mounting), the first_boot stamp on EFI-SYSTEM (mtools), and from ROOT (ext4, loop-mounted
# read-only) the filesystem size, passwd/group/shadow, every file under the usual provisioning
# places and any extra PATH given. Needs root for the loop device; the loop device and the mount
# are released on every exit path.
# Usage: qemu/inspect.sh IMAGE [PATH_IN_ROOT ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
img=${1:?usage: inspect.sh IMAGE [PATH ...]}
shift

part_field() { sgdisk -i "$1" "$img" | sed -n "s/^$2: \([0-9A-Fa-f-]*\).*/\1/p"; }
root_start=$(part_field 9 'First sector')
root_end=$(part_field 9 'Last sector')
[[ -n $root_start ]] || { echo "inspect.sh: no partition 9 in $img" >&2; exit 1; }

mnt=$(mktemp -d /tmp/kindling-inspect.XXXXXX)
loop=
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  [[ -n $loop ]] && losetup -d "$loop"
  rmdir "$mnt"
}
trap cleanup EXIT
# Read-write loop but a read-only mount: ext4 replays its journal (the guest powered off without
# unmounting), which a read-only device would refuse.
loop=$(losetup --find --show --offset $((root_start * 512)) --sizelimit $(((root_end - root_start + 1) * 512)) "$img")
mount -o ro -t ext4 "$loop" "$mnt"
fs_blocks=$(dumpe2fs -h "$loop" 2>/dev/null | sed -n 's/^Block count: *//p')
fs_block_size=$(dumpe2fs -h "$loop" 2>/dev/null | sed -n 's/^Block size: *//p')
node "$here/inspect-root.mjs" "$img" "$mnt" "$((fs_blocks * fs_block_size))" "$@"
