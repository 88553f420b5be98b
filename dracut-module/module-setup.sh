#!/bin/bash
# dracut module for Kindling, installed as modules.d/30kindling (qemu/initramfs.sh links it into
# a private dracut tree). It puts into the initramfs: a stripped node, dist/kindling, the stage
# units, a generator that enables them on first boot only, and the small scripts they call.
# Unit order follows Ignition's own dracut module; see units/*.service for the why of each line.

check() {
    # Only when asked for (dracut -a kindling / add_dracutmodules+=" kindling ").
    return 255
}

depends() {
    # systemd-initrd: the units; qemu: fw_cfg and virtio drivers; systemd-networkd: DHCP when a
    # config must be fetched over the network (started only then, see kindling-generator).
    echo systemd systemd-initrd qemu systemd-networkd
}

installkernel() {
    # The filesystems a config may create or that we mount (EFI-SYSTEM for the first_boot stamp).
    hostonly='' instmods ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 xfs btrfs qemu_fw_cfg
    # storage.raid and storage.luks: md RAID (Ignition's levels), dm-crypt with LUKS2's default
    # cipher (aes-xts-plain64) and the kernel crypto API cryptsetup uses for its keyslots.
    hostonly='' instmods md_mod raid0 raid1 raid10 raid456 dm_mod dm_crypt xts ecb essiv \
        algif_skcipher algif_hash aesni_intel
    # -platform virtualbox reads guest properties through /dev/vboxguest.
    hostonly='' instmods vboxguest
}

install() {
    local node kindling stripped
    node=${KINDLING_NODE:-$(command -v node)}
    kindling=${KINDLING_BIN:-$moddir/kindling}
    [[ -x $node ]] || { dfatal "kindling: node not found (set KINDLING_NODE)"; return 1; }
    [[ -f $kindling ]] || { dfatal "kindling: $kindling missing (set KINDLING_BIN to dist/kindling)"; return 1; }

    # A node without its symbol table still runs and is 12.6 MB lighter (NOTES.md). dracut's own
    # stripping only removes debug info, so strip a copy here.
    stripped="$DRACUT_TMPDIR/kindling-node"
    strip --strip-all -o "$stripped" "$node"
    inst_binary "$stripped" /usr/bin/node
    # The bundle, a V8 code cache for it made by this very node, and the loader that uses it
    # (kindling-loader.cjs says why). The cache comes from a dry-run `plan` of a config that
    # touches every stage and a fetch-offline of it, so most functions a stage runs are already
    # compiled: on the host a stage's CPU time went from 115 to 81 ms (node alone: 52 ms).
    # Both warm-up runs only read the host and write under $cachedir.
    local cachedir="$DRACUT_TMPDIR/kindling-cache"
    mkdir -p "$cachedir/root" "$cachedir/run"
    cp "$kindling" "$cachedir/kindling.js"
    KINDLING_BUNDLE="$cachedir/kindling.js" "$stripped" "$moddir/kindling-loader.cjs" --make-cache \
        plan "$moddir/warmup.ign" --disk /dev/vda=10G --root "$cachedir/root" >/dev/null 2>&1 || true
    KINDLING_BUNDLE="$cachedir/kindling.js" IGNITION_CONFIG_FILE="$moddir/warmup.ign" \
        "$stripped" "$moddir/kindling-loader.cjs" --make-cache -platform file -stage fetch-offline \
        -config-cache "$cachedir/run/config.json" -state-file "$cachedir/run/state" \
        -neednet "$cachedir/run/neednet" -log-to-stdout >/dev/null 2>&1 || true
    inst_simple "$cachedir/kindling.js" /usr/lib/kindling/kindling.js
    if [[ -s $cachedir/kindling.js.cache ]]; then
        inst_simple "$cachedir/kindling.js.cache" /usr/lib/kindling/kindling.js.cache
    else
        dwarn "kindling: no code cache made; stages will compile the bundle at every start"
    fi
    inst_simple "$moddir/kindling-loader.cjs" /usr/bin/kindling
    chmod 0755 "$initdir/usr/bin/kindling"

    # What the stages run (the files stage uses the target root's own tools through chroot-free
    # --root flags); -o: a config that needs a missing tool fails with a clear error instead.
    inst_multiple env bash mount umount sgdisk blkid lsblk tee grep sed tail head sync sleep cat mkfifo
    inst_multiple -o \
        useradd usermod groupadd chpasswd udevadm \
        mkfs.ext4 mke2fs resize2fs e2fsck mkfs.xfs xfs_growfs mkfs.btrfs mkfs.vfat mkfs.fat mkswap \
        wipefs partx sfdisk systemd-detect-virt systemctl \
        cryptsetup mdadm dmsetup
    # Without udev's dm rules libdevmapper (cryptsetup) waits forever for a udev cookie; without
    # the md rules there is no /dev/md/NAME. Only these rules, not dracut's mdraid/dm modules:
    # their hooks would assemble arrays at every boot, which is not the initrd's business here.
    inst_rules 01-md-raid-creating.rules 63-md-raid-arrays.rules \
        10-dm.rules 13-dm-disk.rules 55-dm.rules 60-persistent-storage-dm.rules 95-dm-notify.rules

    # -platform virtualbox: the guest property reader (native/kindling-vbox.c). A prebuilt one
    # (KINDLING_VBOX_BIN, or kindling-vbox next to the bundle), else compiled here if a C compiler
    # exists; without it that platform fails with "helper not installed", the others are unaffected.
    local vbox=${KINDLING_VBOX_BIN:-$(dirname "$kindling")/kindling-vbox} src
    src=$(readlink -f "$moddir")/..
    if [[ ! -x $vbox && -x $src/scripts/build-native.sh ]] && command -v cc >/dev/null; then
        "$src/scripts/build-native.sh" --out "$DRACUT_TMPDIR" >/dev/null && vbox=$DRACUT_TMPDIR/kindling-vbox
    fi
    if [[ -x $vbox ]]; then
        inst_binary "$vbox" /usr/lib/kindling/kindling-vbox
    else
        dwarn "kindling: no kindling-vbox helper (scripts/build-native.sh); -platform virtualbox will fail"
    fi

    # The kargs stage hands kernel argument changes to this distro helper, as Ignition does.
    inst_script "$moddir/ignition-kargs-helper" /usr/sbin/ignition-kargs-helper
    inst_simple "$moddir/kindling-lib.sh" /usr/lib/kindling/kindling-lib.sh
    inst_script "$moddir/kindling-stage" /usr/lib/kindling/kindling-stage
    inst_script "$moddir/kindling-client" /usr/lib/kindling/kindling-client
    inst_script "$moddir/kindling-serve" /usr/lib/kindling/kindling-serve
    inst_script "$moddir/kindling-failed" /usr/lib/kindling/kindling-failed
    inst_script "$moddir/kindling-network" /usr/lib/kindling/kindling-network
    inst_script "$moddir/kindling-quench" /usr/lib/kindling/kindling-quench
    inst_script "$moddir/kindling-oem" /usr/lib/kindling/kindling-oem
    inst_script "$moddir/kindling-generator" "$systemdutildir/system-generators/kindling-generator"

    local u
    for u in "$moddir"/units/*; do
        inst_simple "$u" "$systemdsystemunitdir/${u##*/}"
    done
    # Whatever sends the initrd to emergency mode, the console first says which stage failed.
    inst_simple "$moddir/emergency-kindling.conf" \
        "$systemdsystemunitdir/emergency.service.d/kindling.conf"
}
