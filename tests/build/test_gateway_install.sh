#!/usr/bin/env bash
# test_gateway_install — a gateway author can build against an install: the
# complete example in kefu_gateway.h, copied out of the header as written,
# compiles and links with `pkg-config --cflags --libs kefu-gateway` against
# `cmake --install` into a temporary prefix, and runs (kefu_gateway_new
# refuses the example's placeholder keys, so it says why and returns 1).
#
# Usage: test_gateway_install.sh BUILD_DIR HEADER LIBDIR
#   BUILD_DIR  the configured and built tree to install from
#   HEADER     clients/gateway/kefu_gateway.h (the example's source)
#   LIBDIR     CMAKE_INSTALL_LIBDIR (where kefu-gateway.pc goes, below the prefix)
# KEFU_TEST_EXTRA_CFLAGS: flags the build used that the program needs too
# (-fsanitize=... in the sanitizer build).
set -euo pipefail
build="${1:?usage: test_gateway_install.sh BUILD_DIR HEADER LIBDIR}"
header="${2:?}"
libdir="${3:?}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/kefu-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"
    exit 1
}

# The example: the indented lines between "Complete example" and "Build".
awk '/^    Complete example$/ { on = 1; next }
     on && /^    -+$/ { next }
     on && /^    Build/ { exit }
     on { sub(/^        /, ""); print }' "$header" >"$tmp/app.c"
grep -q 'kefu_gateway_new' "$tmp/app.c" || {
    echo "FAIL: no example found in $header"
    exit 1
}
grep -q '#include <kefu/kefu_gateway.h>' "$tmp/app.c" || {
    echo "FAIL: the example does not include <kefu/kefu_gateway.h>"
    exit 1
}

export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
flags="$(pkg-config --cflags --libs kefu-gateway)" || {
    echo "FAIL: pkg-config does not find kefu-gateway in $PKG_CONFIG_PATH"
    ls -R "$prefix" | head -40
    exit 1
}
echo "pkg-config --cflags --libs kefu-gateway: $flags"
# shellcheck disable=SC2086 # flags are words
cc -std=c11 -Wall -Wextra -Werror ${KEFU_TEST_EXTRA_CFLAGS:-} "$tmp/app.c" -o "$tmp/app" $flags || {
    echo "FAIL: the header's example does not build against the install"
    exit 1
}

# It runs: the library refuses the placeholder keys, main returns 1.
rc=0
"$tmp/app" >"$tmp/out" 2>"$tmp/err" || rc=$?
if ((rc != 1)) || ! grep -q '^kefu-gateway: .*key' "$tmp/err"; then
    echo "FAIL: the example exited $rc; expected 1 and the library's word on its keys. stderr:"
    cat "$tmp/err"
    exit 1
fi
echo "ok: the example in kefu_gateway.h builds against $prefix and runs"
