#!/usr/bin/env bash
# Entry point of the daos-agent service: render the configuration and run daos_agent in the
# foreground, its socket in /var/run/daos_agent.
set -euo pipefail
here=/opt/daos-compose
"$here/scripts/render-config.sh" "$here/config/daos_agent.yml.in" /etc/daos/daos_agent.yml
mkdir -p /var/run/daos_agent /var/log/daos
# A socket left by a killed agent would make clients fail with DER_MISC instead of waiting.
rm -f /var/run/daos_agent/daos_agent.sock
echo "daos_agent: config /etc/daos/daos_agent.yml, log /var/log/daos/daos_agent.log"
exec daos_agent --config-path=/etc/daos/daos_agent.yml
