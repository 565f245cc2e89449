#!/bin/sh
# lyceum-etcd-auth: turns etcd's authentication on, once, before Patroni first starts (the
# etcd-auth service of docker-compose.yml; scripts/stack does the same in tls_etcd_auth).
# Users root (for operators' etcdctl) and patroni (read-write on Patroni's namespace only).
# From then on a client needs a certificate of the CA and a user's password. Run again on a
# cluster whose authentication is on, it checks root's password and changes nothing.
#   ETCD_ENDPOINTS          default https://etcd1:2379,https://etcd2:2379,https://etcd3:2379
#   ETCD_ROOT_PASSWORD, ETCD_PATRONI_PASSWORD   the users' passwords
#   ETCD_NAMESPACE          Patroni's key prefix (default /lyceum/)
#   TLS_DIR                 the certs service's files (default /tls): ca.crt, client.crt/.key
set -eu
tls=${TLS_DIR:-/tls}
root_pw=${ETCD_ROOT_PASSWORD:?set ETCD_ROOT_PASSWORD}
patroni_pw=${ETCD_PATRONI_PASSWORD:?set ETCD_PATRONI_PASSWORD}
ns=${ETCD_NAMESPACE:-/lyceum/}
ctl() {
    ETCDCTL_API=3 etcdctl --endpoints="${ETCD_ENDPOINTS:-https://etcd1:2379,https://etcd2:2379,https://etcd3:2379}" \
        --cacert "$tls/ca.crt" --cert "$tls/client.crt" --key "$tls/client.key" \
        --dial-timeout=3s --command-timeout=5s "$@"
}
# Without a user, listing users works only while authentication is off.
if ! ctl user list >/dev/null 2>&1; then
    ctl --user "root:$root_pw" user list >/dev/null ||
        { echo "lyceum-etcd-auth: etcd refuses root's password (ETCD_ROOT_PASSWORD) or does not answer" >&2; exit 1; }
    echo "lyceum-etcd-auth: authentication is already on"
    exit 0
fi
# A run stopped half-way left some of these: each is made only if missing.
ctl user get root >/dev/null 2>&1 || ctl user add "root:$root_pw" >/dev/null
ctl role get patroni >/dev/null 2>&1 || ctl role add patroni >/dev/null
ctl role grant-permission patroni --prefix=true readwrite "$ns" >/dev/null
ctl user get patroni >/dev/null 2>&1 || ctl user add "patroni:$patroni_pw" >/dev/null
ctl user grant-role patroni patroni >/dev/null
ctl auth enable
echo "lyceum-etcd-auth: authentication on (users root, patroni; patroni may use $ns only)"
