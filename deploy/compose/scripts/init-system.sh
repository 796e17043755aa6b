#!/usr/bin/env bash
# The daos-init service: format the storage of the fresh server, wait for its engine to join,
# and create the pool the tests use. Safe to run again: each step checks first.
#   DAOS_POOL (tank), DAOS_POOL_SIZE (8G), DAOS_INIT_TIMEOUT seconds (600)
set -euo pipefail
pool=${DAOS_POOL:-tank}
size=${DAOS_POOL_SIZE:-8G}
deadline=$((SECONDS + ${DAOS_INIT_TIMEOUT:-600}))
dmg() { command dmg --config-path=/opt/daos-compose/config/daos_control.yml "$@"; }
waited() {
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "daos-init: gave up waiting for $1 (see /var/log/daos in the daos-server service)" >&2
        exit 1
    fi
    sleep 3
}

# The management service answers only once the storage is formatted and the engine is up.
# Until then, try to format: that fails while daos_server is still starting (nothing listens
# yet), succeeds once, then fails as "already formatted" until the system query works.
until dmg system query >/dev/null 2>&1; do
    if out=$(dmg storage format 2>&1); then
        echo "daos-init: storage formatted"
    else
        echo "daos-init: format not done yet: $(tail -n 1 <<<"$out")"
    fi
    waited "the management service"
done

until dmg system query 2>/dev/null | grep -qi 'joined'; do
    waited "rank 0 to join"
done
dmg system query --verbose

if dmg pool query "$pool" >/dev/null 2>&1; then
    echo "daos-init: pool $pool exists"
else
    # Made by root, so root@ owns the pool and its ACL grants the owner everything: the tests
    # and the driver, both root, may create and destroy containers in it.
    dmg pool create --size="$size" "$pool"
fi
dmg pool query "$pool"
echo "daos-init: ready: pool $pool"
