#!/usr/bin/env bash
# render-config.sh TEMPLATE OUTPUT: replace @DAOS_IFACE@, @DAOS_SCM_SIZE@, @DAOS_BDEV_SIZE@ and
# @DAOS_HUGEPAGES@ with the environment's values (defaults below), and refuse an interface the
# host does not have (every service runs in the host's network namespace).
set -euo pipefail
: "${DAOS_IFACE:=eth0}" "${DAOS_SCM_SIZE:=4}" "${DAOS_BDEV_SIZE:=16}" "${DAOS_HUGEPAGES:=1024}"
if ! ip link show "$DAOS_IFACE" >/dev/null 2>&1; then
    echo "render-config: no network interface '$DAOS_IFACE' on this host; set DAOS_IFACE to one of:" >&2
    ip -brief link show >&2
    exit 1
fi
mkdir -p "$(dirname "$2")"
sed -e "s|@DAOS_IFACE@|${DAOS_IFACE}|g" \
    -e "s|@DAOS_SCM_SIZE@|${DAOS_SCM_SIZE}|g" \
    -e "s|@DAOS_BDEV_SIZE@|${DAOS_BDEV_SIZE}|g" \
    -e "s|@DAOS_HUGEPAGES@|${DAOS_HUGEPAGES}|g" \
    "$1" >"$2"
if grep -q '@[A-Z_]*@' "$2"; then
    echo "render-config: $2 still has placeholders:" >&2
    grep -n '@[A-Z_]*@' "$2" >&2
    exit 1
fi
