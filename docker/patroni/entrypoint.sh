#!/bin/sh
# Renders patroni/patroni.yml.tmpl (the local stack's template: same DCS timings, replication
# and PostgreSQL settings) for one container node, then runs Patroni in the foreground.
#   PATRONI_NODE    this node's name, also its hostname on the compose network (pg1..pg3)
#   ETCD_HOSTS      etcd client endpoints (default etcd1:2379,etcd2:2379,etcd3:2379)
#   LYCEUM_SYNC_MODE on (default) | strict | off, as for scripts/stack (seeds a new cluster;
#                   change a running one with PATCH /config, as scripts/stack sync-mode does)
#   ETCD_PATRONI_PASSWORD  Patroni's etcd user (made by the etcd-auth service)
#   TLS_DIR         the certs service's files (default /tls): ca.crt, $PATRONI_NODE.crt/.key
# TLS is always on here (patroni/tls_overlay.py): PostgreSQL takes TCP connections only over
# TLS with SCRAM, the REST API is https, etcd is spoken over TLS as user patroni.
# The template is written for 127.0.0.1 with per-node ports; in a container every node
# listens on the default ports on all interfaces, advertises its service name, and pg_hba
# admits the compose network (samenet) instead of 127.0.0.1/32.
# The node's directory is /var/lib/lyceum/$PATRONI_NODE (its volume), not one path for all:
# the backup service mounts all three volumes at these same paths, and pgBackRest requires
# the path it is given to equal the server's data_directory.
set -eu
# shellcheck source=docker/backup/pgbackrest-files.sh
. /usr/local/lib/lyceum/pgbackrest-files.sh
node=${PATRONI_NODE:?set PATRONI_NODE (pg1, pg2 or pg3)}
case ${LYCEUM_SYNC_MODE:-on} in
    on|true|1|sync) sync=true strict=false ;;
    strict) sync=true strict=true ;;
    off|false|0|async) sync=false strict=false ;;
    *) echo "lyceum-patroni: LYCEUM_SYNC_MODE must be off, on or strict" >&2; exit 2 ;;
esac
run=/var/lib/lyceum
nd=$run/$node
out=$run/patroni.yml
mkdir -p "$nd/sock" "$run/logs"
chmod 700 "$nd" "$nd/sock"
# pgBackRest: archive_command, restore_command and the replica method call $nd/pgbackrest-lyceum
# (the repository is the volume at /var/lib/pgbackrest; docker/backup/pgbackrest-files.sh).
pgbr_node "$node"
sed -e "s|@@NAMESPACE@@|/lyceum/|g" -e "s|@@NODE@@|$node|g" \
    -e "s|@@REST_PORT@@|8008|g" -e "s|@@PG_PORT@@|5432|g" \
    -e "s|@@ETCD_HOSTS@@|${ETCD_HOSTS:-etcd1:2379,etcd2:2379,etcd3:2379}|g" \
    -e "s|@@SYNC_MODE@@|$sync|g" -e "s|@@SYNC_STRICT@@|$strict|g" -e "s|@@RUN_DIR@@|$run|g" -e "s|@@NODE_DIR@@|$nd|g" \
    -e "s|@@LOCAL_AUTH@@|peer|g" \
    -e "s|listen: 127\.0\.0\.1:|listen: 0.0.0.0:|" \
    -e "s|connect_address: 127\.0\.0\.1:|connect_address: $node:|" \
    -e "s|127\.0\.0\.1/32|samenet|" \
    /etc/lyceum/patroni.yml.tmpl >"$out"
chmod 600 "$out"
if grep -n -e '@@[A-Z_]*@@' -e '127\.0\.0\.1' "$out" >&2; then
    echo "lyceum-patroni: the lines above were not adapted to the container network; patroni/patroni.yml.tmpl changed?" >&2
    exit 1
fi
tls=${TLS_DIR:-/tls}
for f in ca.crt "$node.crt" "$node.key"; do
    [ -r "$tls/$f" ] || { echo "lyceum-patroni: cannot read $tls/$f: the certs service makes it (docker compose up certs)" >&2; exit 1; }
done
/usr/bin/python3 /usr/local/lib/lyceum/tls_overlay.py "$out" --ca "$tls/ca.crt" \
    --cert "$tls/$node.crt" --key "$tls/$node.key" \
    --etcd-password "${ETCD_PATRONI_PASSWORD:?set ETCD_PATRONI_PASSWORD}" --net samenet \
    --rendered-by "docker/patroni/entrypoint.sh from patroni/patroni.yml.tmpl for $node"
exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME="$run" /usr/bin/python3 /usr/bin/patroni "$out"
