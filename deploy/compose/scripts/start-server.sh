#!/usr/bin/env bash
# Entry point of the daos-server service: render the configuration and run daos_server in the
# foreground. The engine waits for `dmg storage format` (done by the daos-init service).
set -euo pipefail
here=/opt/daos-compose
"$here/scripts/render-config.sh" "$here/config/daos_server.yml.in" /etc/daos/daos_server.yml
mkdir -p /var/run/daos_server /var/log/daos /var/lib/daos/bdev /mnt/daos
echo "daos_server: config /etc/daos/daos_server.yml, log /var/log/daos/daos_server.log"
exec daos_server start --config=/etc/daos/daos_server.yml
