# shellcheck shell=bash
# scripts/lib/common.sh — functions shared by the kefu developer scripts.
#
# Source it from a script in scripts/ (bash, `set -euo pipefail`):
#     source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# It defines:
#     KEFU_ROOT               absolute path of the repository root (any cwd works)
#     KEFU_PKGS               the Debian packages build + run + test need
#     kefu_info/warn/die      logging to stderr, prefixed with the script name
#     kefu_require_packages   install missing packages (root) or say how to
#     kefu_shquote            quote a word for POSIX sh (only when needed)
#     kefu_kefuctl            path of build/services/kefuctl/kefuctl, or die

# Repository root: two levels above this file (scripts/lib/common.sh), with
# symlinks resolved so the scripts work from any cwd and through symlinks.
KEFU_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
export KEFU_ROOT

KEFU_SCRIPT_NAME="${KEFU_SCRIPT_NAME:-$(basename "$0")}"

# --- logging ---------------------------------------------------------------
# All diagnostics go to stderr so stdout stays clean for machine-readable
# output (e.g. `scripts/pg url`).
kefu_info() { printf '%s: %s\n' "$KEFU_SCRIPT_NAME" "$*" >&2; }
kefu_warn() { printf '%s: WARNING: %s\n' "$KEFU_SCRIPT_NAME" "$*" >&2; }
kefu_die() {
    printf '%s: ERROR: %s\n' "$KEFU_SCRIPT_NAME" "$*" >&2
    exit 1
}
# A visible section header for long-running scripts (build, run, test).
kefu_step() { printf '\n==> %s\n' "$*" >&2; }

# --- packages --------------------------------------------------------------
# Debian 12 packages needed to build, run and test kefu. util-linux provides
# runuser/setpriv/flock used by scripts/pg and scripts/run (it is Essential,
# listed for completeness); postgresql-client-15 provides psql/pg_isready.
# libmicrohttpd-dev serves kefu-metrics' dashboard (it brings GnuTLS for
# HTTPS; libsodium-dev, which libzmq3-dev brings too, hashes its tokens);
# chromium (headless) runs the dashboard's browser test and openssl makes
# that test's self-signed certificate, which curl then checks. time (GNU
# time) measures a tool's own peak memory for bench/run ordersync.
KEFU_PKGS=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
    libpq-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libsodium-dev
    postgresql-15 postgresql-client-15
    tzdata util-linux chromium fonts-noto-cjk openssl curl time
)

# kefu_require_packages: install whatever is missing from KEFU_PKGS.
# Set KEFU_SKIP_PACKAGES=1 to skip the check (e.g. on a non-Debian system
# where the same tools were installed by other means).
kefu_require_packages() {
    if [[ "${KEFU_SKIP_PACKAGES:-0}" == 1 ]]; then
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        kefu_warn "dpkg-query not found (not Debian?): cannot check packages: ${KEFU_PKGS[*]}"
        return 0
    fi
    local missing=() pkg status
    for pkg in "${KEFU_PKGS[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == installed ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0

    if ((EUID != 0)); then
        kefu_info "missing Debian packages: ${missing[*]}"
        kefu_info "install them with:"
        printf '    sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
        exit 1
    fi
    kefu_step "installing missing packages: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# --- helpers -----------------------------------------------------------------
# kefu_shquote WORD: print WORD quoted for POSIX sh / bash, unquoted when it
# only contains safe characters (keeps the common case readable).
kefu_shquote() {
    local s="$1"
    if [[ -n "$s" && "$s" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
        printf '%s' "$s"
    else
        printf "'%s'" "${s//\'/\'\\\'\'}"
    fi
}

# kefu_nproc: number of CPUs (for -j).
kefu_nproc() { nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2; }

# kefu_kefuctl [BUILD_DIR]: print the kefuctl binary path, or die clearly.
kefu_kefuctl() {
    local dir="${1:-$KEFU_ROOT/build}"
    local bin="$dir/services/kefuctl/kefuctl"
    [[ -x "$bin" ]] || kefu_die "kefuctl not found at $bin after the build (is services/kefuctl built by CMake yet?)"
    printf '%s\n' "$bin"
}
