#!/usr/bin/env bash
# test_reconfigure — configuring an already configured build tree again
# changes no compile or link line, so nothing is rebuilt (scripts/run right
# after scripts/test builds nothing again).
#
# Usage: test_reconfigure.sh SOURCE_DIR
# Configures SOURCE_DIR into a fresh temporary build tree, records every
# target's compile flags and link line, configures the same tree again with
# the same arguments and compares.
set -euo pipefail
src="${1:?usage: test_reconfigure.sh SOURCE_DIR}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/kefu-reconfigure.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

args=(-S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEFU_SANITIZE=OFF)
snapshot() {
    (cd "$tmp/build" && find . \( -name flags.make -o -name link.txt \) -print | sort |
        while IFS= read -r f; do printf '== %s\n' "$f"; cat "$f"; done) >"$1"
}

cmake "${args[@]}" >"$tmp/first.log" 2>&1 || { cat "$tmp/first.log"; exit 1; }
snapshot "$tmp/first"
cmake "${args[@]}" >"$tmp/second.log" 2>&1 || { cat "$tmp/second.log"; exit 1; }
snapshot "$tmp/second"

if ! grep -q '^== .*flags.make' "$tmp/first"; then
    echo "FAIL: no flags.make found in $tmp/build (not a Makefile generator?)"
    exit 1
fi
if ! diff -u "$tmp/first" "$tmp/second" >"$tmp/diff"; then
    echo "FAIL: the second configure changed compile or link lines (everything would be rebuilt):"
    head -40 "$tmp/diff"
    exit 1
fi
echo "ok: $(grep -c '^== ' "$tmp/first") flags/link files unchanged by a second configure"
