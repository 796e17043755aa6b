#!/usr/bin/env bash
# The e2e service (deploy/Dockerfile's toolchain stage, the repository at /src): the project's
# tests against the compose DAOS system instead of the emulator. With DAOS_TEST_POOL set, the
# test harness uses that pool through the agent socket in DAOS_AGENT_DRPC_DIR.
#   docker compose run --rm e2e                      # cargo test --workspace
#   docker compose run --rm e2e -p daos-csi-e2e      # other cargo test arguments
set -euo pipefail
export DAOS_TEST_POOL=${DAOS_TEST_POOL:-tank}
export DAOS_AGENT_DRPC_DIR=${DAOS_AGENT_DRPC_DIR:-/var/run/daos_agent}
export D_LOG_MASK=${D_LOG_MASK:-ERR}
if [ ! -S "$DAOS_AGENT_DRPC_DIR/daos_agent.sock" ]; then
    echo "run-e2e: no agent socket in $DAOS_AGENT_DRPC_DIR (is the daos-agent service up?)" >&2
    exit 1
fi
cd /src
# No `emulator` feature: daos-sys links the installed DAOS (DAOS_DIR=/usr in the image).
if [ "$#" -eq 0 ]; then
    set -- --workspace
fi
exec cargo test "$@"
