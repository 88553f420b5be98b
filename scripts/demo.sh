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
# An empty directory: kindling seeds it with Flatcar's base accounts (core, docker, ...), as
# Flatcar's initrd does for a blank ROOT, and the config's users and groups extend them.
dist/kindling apply "$config" --root "$target" --quiet
echo
echo "== what $target now holds"
(cd "$target" && find . -mindepth 1 \( -type f -o -type l \) -printf '%M %U:%G %p\n' | sort -k3)
