#!/bin/bash
# install-real-root.sh DESTDIR [--bundle FILE] [--vbox FILE]
# What Kindling puts into the real root (the OS image's /usr), not the initramfs: the unit that
# deletes the config from the hypervisor on the first boot (real-root/ignition-delete-config.service,
# enabled through a sysinit.target.wants link, as flatcar/init ships it) and, with --bundle, the
# program it runs, /usr/libexec/ignition-rmcfg: a link to the Kindling bundle installed as
# /usr/lib/kindling/kindling (it then needs /usr/bin/node in that root; --vbox installs the
# virtualbox helper next to it, where the bundle looks for it).
# A root that already has ignition-rmcfg (Flatcar's /usr carries Ignition's) keeps it: it reads the
# same /run/ignition.env. An existing unit that differs from Kindling's is left as it is (said on
# stderr). Files only: nothing is enabled or started on the host running this.
set -euo pipefail
usage() { echo "usage: install-real-root.sh DESTDIR [--bundle FILE] [--vbox FILE]" >&2; exit 2; }
dest=${1:-}
[[ -n $dest && $dest != -* ]] || usage
shift
bundle= vbox=
while (($#)); do
    case $1 in
        --bundle) bundle=${2:?}; shift 2 ;;
        --vbox) vbox=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
unit=$here/real-root/ignition-delete-config.service
units=$dest/usr/lib/systemd/system

mkdir -p "$units/sysinit.target.wants"
if [[ -e $units/ignition-delete-config.service ]] && ! cmp -s "$unit" "$units/ignition-delete-config.service"; then
    echo "install-real-root: $units/ignition-delete-config.service exists and differs from Kindling's; left as it is" >&2
else
    install -m 0644 "$unit" "$units/ignition-delete-config.service"
fi
ln -sfn ../ignition-delete-config.service "$units/sysinit.target.wants/ignition-delete-config.service"

if [[ -n $bundle ]]; then
    install -D -m 0755 "$bundle" "$dest/usr/lib/kindling/kindling"
    [[ -z $vbox ]] || install -D -m 0755 "$vbox" "$dest/usr/lib/kindling/kindling-vbox"
    mkdir -p "$dest/usr/libexec"
    link=$dest/usr/libexec/ignition-rmcfg
    if [[ -e $link || -L $link ]] && [[ $(readlink "$link") != ../lib/kindling/kindling ]]; then
        echo "install-real-root: $link exists (the distro's Ignition); left as it is" >&2
    else
        ln -sfn ../lib/kindling/kindling "$link"
    fi
fi
