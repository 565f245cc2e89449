#!/bin/sh
# Redis for the compose project: /etc/redis/lyceum.conf (built from patroni/redis.conf.tmpl)
# plus patroni/redis-tls.conf.tmpl rendered here: TLS only, with the certs service's files
# (TLS_DIR, default /tls), the default user off and a password per ACL user, taken from the
# environment at start so the image holds none.
#   REDIS_PASSWORD           the backend's user (lyceum)
#   REDIS_EXPORTER_PASSWORD  redis-exporter's user (exporter: reads and INFO only)
set -eu
tls=${TLS_DIR:-/tls}
for f in ca.crt redis.crt redis.key; do
    [ -r "$tls/$f" ] || { echo "lyceum-redis: cannot read $tls/$f: the certs service makes it" >&2; exit 1; }
done
for pw in "${REDIS_PASSWORD:?set REDIS_PASSWORD}" "${REDIS_EXPORTER_PASSWORD:?set REDIS_EXPORTER_PASSWORD}"; do
    case $pw in
        *[[:space:]\|\&\\\>]*) echo "lyceum-redis: a Redis password may not hold spaces, |, &, \\ or >" >&2; exit 2 ;;
    esac
done
conf=/var/lib/redis/lyceum.conf
umask 077
{
    cat /etc/redis/lyceum.conf
    sed -e "s|@@REDIS_PORT@@|6379|" -e "s|@@TLS_DIR@@|$tls|g" \
        -e "s|@@APP_USER@@|lyceum|" -e "s|@@APP_PASSWORD@@|${REDIS_PASSWORD:?set REDIS_PASSWORD}|" \
        -e "s|@@EXPORTER_USER@@|exporter|" \
        -e "s|@@EXPORTER_PASSWORD@@|${REDIS_EXPORTER_PASSWORD:?set REDIS_EXPORTER_PASSWORD}|" \
        /etc/redis/lyceum-tls.conf.tmpl
} >"$conf"
if grep -n '@@[A-Z_]*@@' "$conf" >&2; then
    echo "lyceum-redis: placeholders left in $conf; patroni/redis-tls.conf.tmpl changed?" >&2
    exit 1
fi
exec /usr/bin/redis-server "$conf"
