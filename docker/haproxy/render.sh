#!/bin/sh
# render.sh TEMPLATE OUT: patroni/haproxy.cfg.tmpl for the compose network. The template's
# ports are the local stack's; here every listener is on all interfaces of the container
# (compose publishes them on 127.0.0.1) and each server is its service name on PostgreSQL's
# and Patroni's default ports. init-addr: a node whose container is gone (the drill kills
# one) must not stop HAProxy from starting or reloading. resolvers: a container started again
# or connected to the network again may get another address (the kill and partition drills
# do both); resolved once at start, HAProxy went on checking the old address, which had
# become another node's, and the write port stayed down with a new leader elected.
# CHECK_TLS: the checks ask Patroni's REST API over https, verifying the node's certificate
# against the certs service's CA (/tls; SNI localhost: HAProxy matches names, not IP SANs).
set -eu
sed -e 's|@@RUN_DIR@@|/run|g' \
    -e 's|@@WRITE_PORT@@|5000|g' -e 's|@@READ_PORT@@|5001|g' -e 's|@@STATS_PORT@@|8404|g' \
    -e 's|@@READ_MAX_LAG@@|16777216|g' \
    -e 's|server api1 127\.0\.0\.1:@@API1_PORT@@|server api1 backend:8080|' \
    -e 's|server api2 127\.0\.0\.1:@@API2_PORT@@|server api2 backend2:8080|' -e 's|@@API_PORT@@|8080|g' \
    -e 's|@@PG\([123]\)_PORT@@|5432|g' -e 's|@@PG[123]_REST_PORT@@|8008|g' \
    -e 's|@@CHECK_TLS@@|check-ssl verify required ca-file /tls/ca.crt check-sni localhost|' \
    -e 's|bind 127\.0\.0\.1:|bind :|' \
    -e 's|server \(pg[123]\) 127\.0\.0\.1:|server \1 \1:|' \
    -e 's|^\(    default-server .*\)$|\1 init-addr last,libc,none resolvers docker|' \
    "$1" >"$2"
# Docker's DNS (the container's resolv.conf), asked again every second.
cat >>"$2" <<'EOF'

resolvers docker
    parse-resolv-conf
    hold valid 1s
    hold obsolete 5s
    timeout resolve 1s
EOF
if grep -n -e '@@[A-Z0-9_]*@@' -e '127\.0\.0\.1' "$2" >&2; then
    echo "render.sh: the lines above were not adapted to the container network; patroni/haproxy.cfg.tmpl changed?" >&2
    exit 1
fi
