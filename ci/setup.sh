#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when they are missing.
# bindgen needs libclang; the emulator's dfuse and the node plugin need FUSE tools;
# libdaos's headers include <uuid/uuid.h>.
set -euo pipefail

packages=(libclang-dev clang fuse3 uuid-dev pkg-config util-linux procps python3 python3-venv)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    echo "ci/setup.sh: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "ci/setup.sh: a Rust toolchain (cargo) is required" >&2; exit 1; }
[ -e /dev/fuse ] || echo "ci/setup.sh: warning: /dev/fuse is missing; mount tests will fail" >&2
exit 0
