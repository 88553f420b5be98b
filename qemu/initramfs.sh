#!/usr/bin/env bash
# Builds an initramfs for the Debian kernel from qemu/kernel.sh with dracut, in one of three
# flavours that share the same base so their sizes compare:
#   kindling  base + dracut-module/ (node, dist/kindling, units, generator)
#   ignition  base + Debian's Ignition 2.14 module (30ignition), for comparison
#   base      neither: what the other two add is their size minus this one
# dracut runs against a private copy of its module tree (symlinks) with our module added as
# 30kindling, and with no host config, so the host's /usr/lib/dracut and /etc stay untouched and
# the result does not depend on this machine's dracut.conf.d.
# Usage: qemu/initramfs.sh FLAVOUR OUT.img [--kindling-bin FILE] [--zstd-level N]
#   --kindling-bin: the bundle to install (default: scripts/build.mjs --out .cache/boot/kindling)
#   --zstd-level: dracut's default is 15, which spends ~50 s on node alone for 3.5 MB less than
#     level 3 (1 s); the tests use 3, the size benchmark keeps dracut's default.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
flavour=${1:?usage: initramfs.sh kindling|ignition|base OUT.img}
out=${2:?usage: initramfs.sh kindling|ignition|base OUT.img}
shift 2
kindling_bin=
zstd_level=15
while (($#)); do
  case $1 in
    --kindling-bin) kindling_bin=$2; shift 2 ;;
    --zstd-level) zstd_level=$2; shift 2 ;;
    *) echo "initramfs.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

eval "$("$here/kernel.sh")"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=$work/dracut
mkdir -p "$base/modules.d" "$work/conf.d"
for f in /usr/lib/dracut/*; do [[ ${f##*/} == modules.d ]] || ln -s "$f" "$base/"; done
for m in /usr/lib/dracut/modules.d/*; do ln -s "$m" "$base/modules.d/"; done
ln -s "$repo/dracut-module" "$base/modules.d/30kindling"
# These images only ever boot under QEMU: every flavour gets the same short driver list (below)
# instead of the ~1000 modules of a generic initrd (137 MB unpacked), which would only slow the
# TCG boot and blur the size comparison. kernel-network-modules is replaced by one that installs
# virtio_net alone.
rm "$base/modules.d/90kernel-network-modules"
mkdir "$base/modules.d/90kernel-network-modules"
cat >"$base/modules.d/90kernel-network-modules/module-setup.sh" <<'MOD'
#!/bin/bash
check() { return 255; }
depends() { return 0; }
installkernel() { hostonly='' instmods virtio_net af_packet; }
install() { return 0; }
MOD
drivers="virtio_pci virtio_blk virtio_scsi sd_mod virtio_net qemu_fw_cfg ext4 vfat nls_cp437 nls_ascii nls_iso8859-1
         btrfs xfs crc32c_generic"

# The same base for every flavour: a systemd initrd that finds the root by label, with the qemu
# drivers (virtio, fw_cfg). Network modules come in only through the flavour's own module.
# Both engines need a network stack to fetch configs, so "network" (systemd-networkd here) is
# part of the base too.
mods="bash systemd systemd-initrd systemd-journald systemd-udevd systemd-modules-load
      systemd-sysctl dracut-systemd kernel-modules rootfs-block udev-rules base fs-lib shutdown qemu
      network"
extra=()
case $flavour in
  kindling)
    mods+=" kindling"
    if [[ -z $kindling_bin ]]; then
      kindling_bin=$repo/.cache/boot/kindling
      (cd "$repo" && node scripts/build.mjs --out "$kindling_bin" >&2)
    fi
    export KINDLING_BIN=$kindling_bin
    ;;
  ignition)
    mods+=" ignition"
    # Debian's Ignition relabels for SELinux and needs a setfiles; a no-op one (NOTES.md).
    printf '#!/bin/sh\ncat >/dev/null\n' >"$work/setfiles"
    chmod +x "$work/setfiles"
    extra+=(--include "$work/setfiles" /usr/sbin/setfiles)
    ;;
  base) ;;
  *) echo "initramfs.sh: unknown flavour $flavour" >&2; exit 2 ;;
esac

# dracut matches module names between single spaces: no newlines in the list.
mods=$(echo $mods)
start=$(date +%s%N)
dracutbasedir=$base dracut --quiet --force --no-hostonly --no-hostonly-cmdline \
  --conf /dev/null --confdir "$work/conf.d" \
  --kver "$KVER" --kmoddir "$KMODDIR" \
  -m "$mods" --drivers "$drivers" --compress "zstd -$zstd_level -q -T0" "${extra[@]}" \
  "$out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "initramfs.sh: $flavour -> $out ($(stat -c %s "$out") bytes, $((ms / 1000)).$(printf %03d $((ms % 1000)))s)" >&2
