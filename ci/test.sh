#!/usr/bin/env bash
# The whole test suite: what `.ci/run` runs and what the README's second command is.
# Formatting, lints, every test of the workspace against the emulator (FUSE and root tests
# included), the DAOS 2.6 ABI build, docs, the quickstart and manifest validation.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "setup"
bash ci/setup.sh

export CARGO_TERM_COLOR=never
features=(--workspace --features emulator)

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy "${features[@]}" --all-targets -- -D warnings

step "build (every binary the tests start)"
cargo build "${features[@]}" --bins

step "tests against the emulator"
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
set +e
cargo test "${features[@]}" --no-fail-fast 2>&1 | tee "$test_log"
test_status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) n += $i } END { print n + 0 }' "$test_log")
failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) n += $i } END { print n + 0 }' "$test_log")
[ "$test_status" -eq 0 ] || { echo "tests: ${passed:-0} passed, ${failed:-0} failed"; exit "$test_status"; }

step "the DAOS 2.6 ABI builds, and daos-sys's tests pass against it"
DAOS_VENDOR_VERSION=2.6 cargo check -p daos -p daos-csi --features emulator --target-dir target/daos-2.6
DAOS_VENDOR_VERSION=2.6 cargo test -p daos-sys --features emulator --target-dir target/daos-2.6

step "a DAOS 2.6 build restores and clones (object route, the restore e2e tests)"
# A 2.6 client cannot mount a snapshot, so its driver copies objects; the DFS-route variants
# of these tests need a 2.8 client and ran above.
DAOS_VENDOR_VERSION=2.6 cargo build -p daos-csi --features emulator --target-dir target/daos-2.6
set +e
DAOS_CSI_BIN="$PWD/target/daos-2.6/debug/daos-csi" \
    cargo test -p daos-csi-e2e --features emulator --test e2e -- _objects_route 2>&1 | tee -a "$test_log"
test_status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) n += $i } END { print n + 0 }' "$test_log")
[ "$test_status" -eq 0 ] || { echo "tests: ${passed:-0} passed, some failed"; exit "$test_status"; }

step "daos-sys, daos-emulator and daos package and build as published (crates.io index)"
# cargo takes a registry crate of a given name and version as immutable: it keeps its unpacked
# sources under $CARGO_HOME/registry/src and its build outputs in the target directory, so an
# earlier dry run's copies would be verified instead of these. Both start afresh.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/{daos-sys,daos-emulator,daos}-0.1.0 target/publish
CARGO_TARGET_DIR=target/publish cargo publish --dry-run -p daos-sys -p daos-emulator -p daos

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc "${features[@]}" --no-deps

step "quickstart"
bash ci/quickstart.sh

step "manifests"
bash ci/validate-manifests.sh
bash ci/tests/validate-manifests-test.sh

step "all checks passed"
echo "tests: ${passed} passed, ${failed} failed"
