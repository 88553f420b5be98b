#!/usr/bin/env bash
# Boots the Debian kernel + an initramfs on a disk image under QEMU, like a Flatcar machine on the
# qemu platform: the config goes into fw_cfg, the serial console into a file, and this script
# plays GRUB's part for first-boot detection (flatcar/first_boot on EFI-SYSTEM ->
# flatcar.first_boot=detected). Returns when the guest powers off, when the console matches
# --until, or after --timeout seconds (exit 124); QEMU is stopped by its PID in every case.
#
# Usage: qemu/boot.sh --initrd FILE --disk IMG [--config FILE] [--append "ARGS"]
#          [--serial LOG] [--timeout SEC] [--until REGEX] [--metadata-port PORT] [--lan-port PORT]
#          [--first-boot auto|detected|no] [--accel tcg|kvm|auto] [--memory MIB]
#          [--extra-disk IMG]... [--oem-grub auto|no]
#   --metadata-port: user networking with restrict=on (no way out) and one guestfwd rule that
#     connects 169.254.169.254:80 in the guest to 127.0.0.1:PORT on the host.
#   --lan-port: QEMU's default user network instead (10.0.2.0/24, gateway 10.0.2.2, DHCP leases
#     from 10.0.2.15), also restrict=on, with 10.0.2.100:PORT in the guest connected to
#     127.0.0.1:PORT on the host. Not 10.0.2.2:PORT: libslirp refuses a guestfwd on the gateway's
#     own address, and reaching the host through the gateway needs restrict=off, which would let
#     the guest out.
#   --extra-disk: one more virtio disk per option, in order (/dev/vdb, /dev/vdc, ...), raw.
#   --oem-grub: GRUB's other part. Flatcar's grub.cfg sources grub.cfg on the OEM partition, whose
#     `set linux_append="$linux_append ARGS"` lines add kernel arguments (what the kargs helper
#     writes). "auto" (default) reads them when run as root (loop device, btrfs mounted read-only);
#     "no" skips it.
#   --accel: tcg by default. KVM hangs after the BIOS on this kind of machine (NOTES.md); "auto"
#     uses KVM only if a 20 s probe boot reaches the kernel, remembered in .cache/qemu/kvm-works.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

initrd= disk= config= append= serial= timeout=300 until= port= lan_port= first_boot=auto
accel=${KINDLING_QEMU_ACCEL:-tcg} memory=1536
extra_disks=()
oem_grub=auto
while (($#)); do
  case $1 in
    --initrd) initrd=$2 ;;
    --disk) disk=$2 ;;
    --config) config=$2 ;;
    --append) append=$2 ;;
    --serial) serial=$2 ;;
    --timeout) timeout=$2 ;;
    --until) until=$2 ;;
    --metadata-port) port=$2 ;;
    --lan-port) lan_port=$2 ;;
    --first-boot) first_boot=$2 ;;
    --accel) accel=$2 ;;
    --memory) memory=$2 ;;
    --extra-disk) extra_disks+=("$2") ;;
    --oem-grub) oem_grub=$2 ;;
    *) echo "boot.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -f $initrd && -f $disk ]] || { echo "boot.sh: --initrd and --disk must name files" >&2; exit 2; }
eval "$("$here/kernel.sh")"
[[ -n $serial ]] || serial=$(mktemp /tmp/kindling-serial.XXXXXX)
: >"$serial"

# GRUB's rule: the stamp on the ESP makes this a first boot.
if [[ $first_boot == auto ]]; then
  esp=$(sgdisk -i 1 "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
  if MTOOLS_SKIP_CHECK=1 mdir -i "$disk@@$((esp * 512))" ::/flatcar/first_boot >/dev/null 2>&1; then
    first_boot=detected
  else
    first_boot=no
  fi
fi
# GRUB's linux_append from the OEM partition's grub.cfg: each unconditional
# `set linux_append="..."` line, with $linux_append standing for the value so far.
oem_mnt= oem_loop=
oem_release() {
  if [[ -n $oem_mnt ]]; then mountpoint -q "$oem_mnt" && umount "$oem_mnt"; rmdir "$oem_mnt"; fi
  if [[ -n $oem_loop ]]; then losetup -d "$oem_loop"; fi
  oem_mnt= oem_loop=
}
oem_linux_append() {
  local start end line v value= words
  start=$(sgdisk -i 6 "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
  end=$(sgdisk -i 6 "$disk" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
  [[ -n $start && -n $end ]] || return 0
  # (Called in a command substitution: this trap is that subshell's own.)
  trap oem_release EXIT
  oem_mnt=$(mktemp -d /tmp/kindling-oem-grub.XXXXXX)
  oem_loop=$(losetup --find --show --read-only --offset $((start * 512)) --sizelimit $(((end - start + 1) * 512)) "$disk")
  # Read-only: a btrfs log the guest left is not replayed (nologreplay); ext4 OEM partitions too.
  if { mount -t btrfs -o ro,rescue=nologreplay "$oem_loop" "$oem_mnt" || mount -o ro,noload "$oem_loop" "$oem_mnt"; } 2>/dev/null \
      && [[ -f $oem_mnt/grub.cfg ]]; then
    while IFS= read -r line; do
      [[ $line == 'set linux_append="'* ]] || continue
      v=${line#set linux_append=\"}
      v=${v%\"*}
      value=${v//'$linux_append'/"$value"}
    done <"$oem_mnt/grub.cfg"
  fi
  oem_release
  read -r -a words <<<"$value" || true
  echo "${words[*]}"
}
grub_append=
if [[ $oem_grub == auto && $EUID -eq 0 ]]; then
  grub_append=$(oem_linux_append)
fi

cmdline="console=ttyS0,115200 root=LABEL=ROOT rw panic=1"
[[ $first_boot == no ]] || cmdline+=" flatcar.first_boot=$first_boot"
[[ -z $grub_append ]] || cmdline+=" $grub_append"
[[ -z $append ]] || cmdline+=" $append"

kvm_works() {
  local stamp=$repo/.cache/qemu/kvm-works
  if [[ ! -f $stamp ]]; then
    mkdir -p "$(dirname "$stamp")"
    local log
    log=$(mktemp)
    timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none \
      -serial "file:$log" -kernel "$VMLINUZ" -append "console=ttyS0 panic=-1" -no-reboot \
      >/dev/null 2>&1 || true
    if grep -q 'Linux version' "$log"; then echo yes >"$stamp"; else echo no >"$stamp"; fi
    rm -f "$log"
  fi
  [[ $(cat "$stamp") == yes ]]
}
case $accel in
  tcg) accel_args=(-accel tcg -cpu max) ;;
  kvm) accel_args=(-accel kvm -cpu host) ;;
  auto) if [[ -w /dev/kvm ]] && kvm_works; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg -cpu max); fi ;;
  *) echo "boot.sh: --accel tcg|kvm|auto" >&2; exit 2 ;;
esac

args=("${accel_args[@]}" -m "$memory" -smp 1 -nodefaults -display none -no-reboot
  -serial "file:$serial"
  -kernel "$VMLINUZ" -initrd "$initrd" -append "$cmdline"
  -drive "if=virtio,file=$disk,format=raw,cache=unsafe"
  -device virtio-rng-pci)
for d in "${extra_disks[@]}"; do
  [[ -f $d ]] || { echo "boot.sh: --extra-disk $d is not a file" >&2; exit 2; }
  args+=(-drive "if=virtio,file=$d,format=raw,cache=unsafe")
done
if [[ -n $config ]]; then
  # Flatcar's Ignition reads the first key, upstream Ignition (Debian's 2.14) the second.
  args+=(-fw_cfg "name=opt/org.flatcar-linux/config,file=$config"
         -fw_cfg "name=opt/com.coreos/config,file=$config")
fi
if [[ -n $port ]]; then
  # 169.254.169.0/24 as the guest network: guestfwd only accepts addresses inside it.
  args+=(-netdev "user,id=n0,restrict=on,net=169.254.169.0/24,host=169.254.169.2,dhcpstart=169.254.169.15,guestfwd=tcp:169.254.169.254:80-tcp:127.0.0.1:$port"
         -device virtio-net-pci,netdev=n0)
elif [[ -n $lan_port ]]; then
  args+=(-netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:$lan_port-tcp:127.0.0.1:$lan_port"
         -device virtio-net-pci,netdev=n0)
else
  args+=(-nic none)
fi

start=$(date +%s%N)
qemu-system-x86_64 "${args[@]}" &
qpid=$!
trap 'kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true' EXIT
echo "boot.sh: qemu pid $qpid, ${accel_args[1]}, first_boot=$first_boot${grub_append:+, OEM grub.cfg adds \"$grub_append\"}, console in $serial" >&2

status=
while :; do
  if ! kill -0 "$qpid" 2>/dev/null; then
    set +e; wait "$qpid"; rc=$?; set -e
    status="qemu exited ($rc)"
    break
  fi
  if [[ -n $until ]] && grep -qE "$until" "$serial"; then
    status="console matched /$until/"
    rc=0
    break
  fi
  if (( ($(date +%s%N) - start) / 1000000000 >= timeout )); then
    status="timeout after ${timeout}s"
    rc=124
    break
  fi
  sleep 0.5
done
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
trap - EXIT
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "boot.sh: $status, wall $((ms / 1000)).$(printf %03d $((ms % 1000)))s" >&2
exit "$rc"
