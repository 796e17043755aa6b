#!/usr/bin/env bash
# The benchmarks of tests/bench/README.md: builds the driver, the emulated DAOS and the bench
# (release: debug figures mean nothing), then runs every item once against the emulator.
# Arguments go to the bench: --quick, --only 1,2, --json PATH.
#
# The emulated system keeps its state under $TMPDIR, and its cost is mostly file creation
# there. Real DAOS keeps metadata in SCM/DRAM, so the bench puts it on a tmpfs (/dev/shm)
# unless BENCH_TMPDIR names another directory. The report names the file system it used.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
export CARGO_TERM_COLOR=never
cargo build --release --features daos-csi/emulator,daos-csi-bench/emulator \
    -p daos-csi -p daos-emulator -p daos-csi-bench

target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

tmp=${BENCH_TMPDIR:-}
if [ -z "$tmp" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = "tmpfs" ]; then
    tmp=/dev/shm
fi
[ -n "$tmp" ] && export TMPDIR="$tmp"

# FUSE mounts and bind mounts need root (and /dev/fuse), as for the e2e tests.
exec "$target_dir/release/daos-csi-bench" "$@"
