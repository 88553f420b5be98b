#!/usr/bin/env bash
# The main job on a fresh clone: install, build, then dry-run a realistic Flatcar node config:
# validate it, print its plan (against Flatcar's stock disk layout and an empty root), and apply
# it to a directory. Usage: scripts/demo.sh [CONFIG] [TARGET_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-examples/flatcar-node.ign}
target=${2:-.cache/demo-root}

scripts/setup.sh
node scripts/build.mjs >/dev/null

echo "== kindling validate $config"
dist/kindling validate "$config"
echo
echo "== kindling plan $config --disk /dev/vda=40G"
dist/kindling plan "$config" --disk /dev/vda=40G   # a 40 GiB machine disk with Flatcar's stock layout
echo
echo "== kindling apply $config --root $target"
rm -rf "$target"
mkdir -p "$target/etc"
# A root to apply to needs the accounts the config's users and groups extend.
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$target/etc/passwd"
printf 'root:x:0:\n' >"$target/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$target/etc/shadow"
printf 'root:*::\n' >"$target/etc/gshadow"
dist/kindling apply "$config" --root "$target" --quiet
echo
echo "== what $target now holds"
(cd "$target" && find . -mindepth 1 \( -type f -o -type l \) -printf '%M %u:%g %p%l\n' | sed 's/\(^l.*\)\(\/.*\)$/\1/' | sort -k3)
