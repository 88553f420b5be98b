#!/usr/bin/env bash
# Builds a sparse disk image with Flatcar's partition layout and a minimal root to switch into.
# No root privileges and no loop devices: sgdisk writes the GPT into the plain file, mke2fs and
# mkfs.vfat write filesystems at the partitions' offsets, mtools puts files on the FAT.
#
# Layout (512-byte sectors, 2 MiB alignment), from Flatcar's build_library/disk_layout.json "base":
#   1 EFI-SYSTEM  efi            1 GiB    vfat, holds flatcar/first_boot (the boot loader's stamp)
#   2 BIOS-BOOT   bios           2 MiB
#   3 USR-A       coreos-usr     2 GiB    (empty: the test root carries its own /usr)
#   4 USR-B       coreos-usr     2 GiB
#   5 ROOT-C      blank: Flatcar reserves the number but creates no entry
#   6 OEM         linux data     1 GiB    btrfs, label OEM
#   7 OEM-CONFIG  coreos-reserved 64 MiB
#   8 (reserved)  blank, like 5
#   9 ROOT        coreos-resize  1.74 GiB ext4, label ROOT: a root that prints a marker and powers off
# The disk is larger than the partitions (default 10 GiB), so a config that grows ROOT has room.
#
# Usage: qemu/make-image.sh OUT.img [--size 10G] [--no-first-boot] [--init-hook FILE]
#   --init-hook: the root's init runs FILE (as /sbin/init-hook, with the host's busybox as
#     /bin/busybox) after its first lines and before it syncs and powers off: a test's way to look
#     at the booted system from inside (arrays, device-mapper volumes) and print what it sees.
#   --oem-dir: the OEM partition's btrfs is filled with DIR's contents (mkfs.btrfs --rootdir):
#     config.ign, base/base.ign, grub.cfg, as a Flatcar image or an installer leaves them there.
set -euo pipefail

out=${1:?usage: make-image.sh OUT.img [--size SIZE] [--no-first-boot]}
shift
size=10G
first_boot=1
init_hook=
oem_dir=
while (($#)); do
  case $1 in
    --size) size=$2; shift 2 ;;
    --no-first-boot) first_boot=0; shift ;;
    --init-hook) init_hook=$2; shift 2 ;;
    --oem-dir) oem_dir=$2; shift 2 ;;
    *) echo "make-image.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -f "$out"
truncate -s "$size" "$out"

# name  number  start-sector  sectors  type-guid  [partition-guid]
EFI=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
BIOS=21686148-6449-6E6F-744E-656564454649
USR=5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6
DATA=0FC63DAF-8483-4772-8E79-3D69D8477DE4
RESERVED=C95DC21A-DF0E-4340-8D7B-26CBFA9A03E0
RESIZE=3884DD41-8582-4404-B9A8-E9B84F2DF50E
parts=(
  "EFI-SYSTEM 1 2097152 $EFI"
  "BIOS-BOOT 2 4096 $BIOS"
  "USR-A 3 4194304 $USR 7130c94a-213a-4e5a-8e26-6cce9662f132"
  "USR-B 4 4194304 $USR e03dd35c-7c2d-4a47-b3fe-27f15780a57c"
  "OEM 6 2097152 $DATA"
  "OEM-CONFIG 7 131072 $RESERVED"
  "ROOT 9 3653632 $RESIZE"
)
args=()
start=4096
declare -A START SECTORS
for p in "${parts[@]}"; do
  read -r label num sectors type guid <<<"$p"
  START[$num]=$start
  SECTORS[$num]=$sectors
  args+=(--new="$num:$start:+$sectors" --typecode="$num:$type" --change-name="$num:$label")
  [[ -n ${guid:-} ]] && args+=(--partition-guid="$num:$guid")
  start=$(( (start + sectors + 4095) / 4096 * 4096 ))
done
# Flatcar images ship with this disk GUID; the initrd randomises it on first boot.
sgdisk --zap-all --disk-guid=00000000-0000-0000-0000-000000000001 "${args[@]}" "$out" >/dev/null
sgdisk --verify "$out" | grep -q 'No problems found' || { sgdisk --verify "$out" >&2; exit 1; }

offset() { echo $(( ${START[$1]} * 512 )); }

# EFI-SYSTEM: FAT32 written in place; the first_boot stamp is what Flatcar's GRUB looks for.
# (mkfs.vfat warns that the file is bigger than the filesystem: that is the point.)
mkfs.vfat -F 32 -n EFI-SYSTEM --offset "${START[1]}" "$out" $(( SECTORS[1] / 2 )) >/dev/null 2>&1
export MTOOLS_SKIP_CHECK=1
efi="$out@@$(offset 1)"
mmd -i "$efi" ::/flatcar
if ((first_boot)); then
  printf '' >"$work/first_boot"
  mcopy -i "$efi" "$work/first_boot" ::/flatcar/first_boot
fi

# OEM: btrfs like Flatcar's (mkfs.btrfs has no offset option, so build it aside and copy it in,
# keeping holes).
truncate -s $(( SECTORS[6] * 512 )) "$work/oem.img"
mkfs.btrfs -q -L OEM ${oem_dir:+--rootdir "$oem_dir"} "$work/oem.img" >/dev/null
dd if="$work/oem.img" of="$out" bs=1M seek=$(( $(offset 6) / 1048576 )) conv=sparse,notrunc status=none

# ROOT: the smallest root systemd will switch into. switch-root wants /etc/os-release; /sbin/init
# is a dash script (dash + libc copied from the host) that prints the kernel's uptime at the
# moment it starts (= switch-root done) and what it sees, then powers off through sysrq.
r=$work/root
mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,home,boot,usr/bin,usr/sbin,usr/lib,var/log,etc/systemd/system,etc/selinux,oem}
chmod 1777 "$r/tmp"
chmod 0700 "$r/root"
for f in /bin/dash /bin/sync $(ldd /bin/dash /bin/sync | grep -o '/[^ :]*' | sort -u); do
  mkdir -p "$r$(dirname "$f")"
  cp -L "$f" "$r$f"
done
ln -s dash "$r/bin/sh"
if [[ -n $init_hook ]]; then
  for f in /bin/busybox $(ldd /bin/busybox | grep -o '/[^ :]*' | sort -u); do
    mkdir -p "$r$(dirname "$f")"
    cp -L "$f" "$r$f"
  done
  install -m 0755 "$init_hook" "$r/sbin/init-hook"
fi
cat >"$r/etc/os-release" <<'OS'
NAME="Kindling test root"
ID=kindling-test
ID_LIKE=flatcar
PRETTY_NAME="Kindling test root (Flatcar layout)"
VERSION_ID=0
OS
cat >"$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
core:x:500:500:Flatcar Admin:/home/core:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$r/etc/group" <<'GR'
root:x:0:
wheel:x:10:root,core
sudo:x:150:
docker:x:233:core
core:x:500:
nogroup:x:65534:
GR
printf 'root:*:19000:0:99999:7:::\ncore:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
printf 'root:*::\nwheel:*::root,core\nsudo:*::\ndocker:*::core\ncore:*::\nnogroup:*::\n' >"$r/etc/gshadow"
chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
mkdir -p "$r/home/core"
chown 500:500 "$r/home/core" 2>/dev/null || true
chmod 0755 "$r/home/core"
# Debian builds Ignition with SELinux relabelling: it reads the policy type from here (NOTES.md).
printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' >"$r/etc/selinux/config"
cat >"$r/sbin/init" <<'INIT'
#!/bin/sh
# Test root's init: report, then power off. /proc was moved here by systemd's switch-root.
read up idle </proc/uptime
echo "KINDLING-TEST-ROOT: switched root at uptime=${up}s" >/dev/console
read cmdline </proc/cmdline
echo "KINDLING-TEST-ROOT: cmdline: $cmdline" >/dev/console
if [ -x /sbin/init-hook ]; then
  /sbin/init-hook >/dev/console 2>&1
  echo "KINDLING-TEST-ROOT: init-hook exited $?" >/dev/console
fi
# sync(2) waits for the writeback, so the image is complete when QEMU exits.
/bin/sync
echo "KINDLING-TEST-ROOT: powering off" >/dev/console
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
while :; do read x </dev/console || :; done
INIT
chmod 0755 "$r/sbin/init"

mke2fs -q -t ext4 -L ROOT -d "$r" -E offset="$(offset 9)" "$out" $(( SECTORS[9] / 2 ))k
echo "make-image.sh: $out ($size, first_boot=$first_boot)" >&2
