#!/bin/sh
# An etcd member with client and peer TLS (docs/SECURITY.md): ETCD_NAME picks its certificate
# from the certs service's files (TLS_DIR, default /tls); both sides of every connection must
# show a certificate of the CA. The rest of its settings are ETCD_* in docker-compose.yml.
set -eu
tls=${TLS_DIR:-/tls}
name=${ETCD_NAME:?set ETCD_NAME (etcd1, etcd2 or etcd3)}
for f in ca.crt "$name.crt" "$name.key"; do
    [ -r "$tls/$f" ] || { echo "lyceum-etcd: cannot read $tls/$f: the certs service makes it" >&2; exit 1; }
done
export ETCD_CERT_FILE="$tls/$name.crt" ETCD_KEY_FILE="$tls/$name.key" \
    ETCD_TRUSTED_CA_FILE="$tls/ca.crt" ETCD_CLIENT_CERT_AUTH=true \
    ETCD_PEER_CERT_FILE="$tls/$name.crt" ETCD_PEER_KEY_FILE="$tls/$name.key" \
    ETCD_PEER_TRUSTED_CA_FILE="$tls/ca.crt" ETCD_PEER_CLIENT_CERT_AUTH=true
exec /usr/bin/etcd
