#!/usr/bin/env bash
# The README's first command: builds the driver and the emulated DAOS (release), then runs the
# quickstart program, which starts everything, acts as kubelet and provisioner, and stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
export CARGO_TERM_COLOR=never
cargo build --release --features daos-csi/emulator -p daos-csi -p daos-emulator -p daos-csi-quickstart
bin_dir="${CARGO_TARGET_DIR:-target}/release"
exec "$bin_dir/daos-csi-quickstart" --bin-dir "$bin_dir" "$@"
