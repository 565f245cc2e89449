# shellcheck shell=bash
# Sourced by compose_test.sh after its leader-kill run: every door behind the API is locked in
# compose's default configuration (docs/SECURITY.md, "Compose"). Each refused case runs beside
# an allowed one, so a check cannot pass because nothing answers at all:
#   PostgreSQL  plain text refused on the published write port; verify-full with the project's
#               CA works; the replicas stream over TLS; another CA fails, naming the reason
#   etcd        no client certificate, or plain HTTP: refused; a certificate without a user
#               reads nothing; healthy with one (asked inside etcd1: etcd is not published)
#   Redis       plain text and TLS without credentials refused; the backend's ACL user works
#   Patroni     POST /switchover without the client certificate, or without the password,
#               refused; the leader stays
#   rotation    scripts/compose-rotate-certs: the leader's PostgreSQL and Patroni, and Redis,
#               serve the new certificates at once; verify-full still works
# Uses compose(), COMPOSE_ARGS, cluster_leader, patroni_port, check_quiet, expect_failure, $CERTS_DIR,
# $PORT_BASE and $WORK_DIR of compose_test.sh.
# shellcheck disable=SC2154

doors_psql() { # doors_psql CONNINFO-EXTRA SQL: one value from the published write port
    PGPASSWORD=lyceum PGCONNECT_TIMEOUT=3 psql -X -A -t -q \
        "host=127.0.0.1 port=$PORT_BASE user=lyceum dbname=lyceum $1" -c "$2"
}

postgres_doors() {
    expect_failure "no encryption" doors_psql "sslmode=disable" "SELECT 1" || return 1
    [ "$(doors_psql "sslmode=verify-full sslrootcert=$CERTS_DIR/ca.crt" \
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" = t ] || { echo "verify-full: not TLS"; return 1; }
    expect_failure "certificate verify failed" \
        doors_psql "sslmode=verify-full sslrootcert=$WORK_DIR/other-ca/ca.crt" "SELECT 1" || return 1
    local leader streams
    leader=$(cluster_leader) || { echo "no leader"; return 1; }
    streams=$(compose exec -T "$leader" psql -h "/var/lib/lyceum/$leader/sock" -d postgres -XAtqc \
        "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)") ||
        return 1
    # After the leader kill one replica is left: every one that streams, streams over TLS.
    case $streams in 1/1 | 2/2) ;; *) echo "replicas over TLS / streaming: $streams"; return 1 ;; esac
}

# curl inside etcd1 (TLS_DIR /tls there), to its own client port.
etcd1_curl() { compose exec -T etcd1 curl -s -m 3 "$@"; }
etcd_doors() {
    if etcd1_curl --cacert /tls/ca.crt https://127.0.0.1:2379/health >/dev/null 2>&1; then
        echo "answered without a client certificate"; return 1
    fi
    if etcd1_curl http://127.0.0.1:2379/health >/dev/null 2>&1; then echo "answered plain HTTP"; return 1; fi
    [[ $(etcd1_curl --cacert /tls/ca.crt --cert /tls/client.crt --key /tls/client.key \
        https://127.0.0.1:2379/health) == *'"health":"true"'* ]] || { echo "not healthy with a certificate"; return 1; }
    expect_failure "permission denied" compose exec -T -e ETCDCTL_API=3 etcd1 etcdctl \
        --endpoints=https://127.0.0.1:2379 --cacert /tls/ca.crt --cert /tls/client.crt --key /tls/client.key \
        get --prefix /lyceum/
}

redis_doors() {
    local port=$((PORT_BASE + 379)) out
    out=$(timeout 3 redis-cli -p "$port" ping 2>&1 || true)
    [[ $out != PONG ]] || { echo "plain text answered"; return 1; }
    out=$(timeout 3 redis-cli -p "$port" --tls --cacert "$CERTS_DIR/ca.crt" ping 2>&1 || true)
    [[ $out == *NOAUTH* ]] || { echo "TLS without credentials: $out"; return 1; }
    [[ $(timeout 3 redis-cli -p "$port" --tls --cacert "$CERTS_DIR/ca.crt" --user lyceum \
        --pass lyceum-redis-dev --no-auth-warning ping) == PONG ]] || { echo "the ACL user is refused"; return 1; }
}

patroni_doors() {
    local leader url code
    leader=$(cluster_leader) || { echo "no leader"; return 1; }
    url=https://127.0.0.1:$(patroni_port "$leader")/switchover
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CERTS_DIR/ca.crt" \
        -X POST -d "{\"leader\":\"$leader\"}" "$url")
    [ "$code" = 403 ] || { echo "no certificate, no password: $code"; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CERTS_DIR/ca.crt" \
        --cert "$CERTS_DIR/client.crt" --key "$CERTS_DIR/client.key" -X POST -d "{\"leader\":\"$leader\"}" "$url")
    [ "$code" = 401 ] || { echo "certificate, no password: $code"; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CERTS_DIR/ca.crt" -u patroni:patroni-rest-dev \
        -X POST -d "{\"leader\":\"$leader\"}" "$url")
    [ "$code" = 403 ] || { echo "password, no certificate: $code"; return 1; }
    if curl -s -o /dev/null -m 3 "http://127.0.0.1:$(patroni_port "$leader")/cluster"; then
        echo "the REST API answered plain HTTP"; return 1
    fi
    sleep 1
    [ "$(cluster_leader)" = "$leader" ] || { echo "the leader moved"; return 1; }
}

# A CA of its own, which signed none of the project's certificates.
scripts/certs init --dir "$WORK_DIR/other-ca" >/dev/null
check_quiet "doors: PostgreSQL refuses plain text; verify-full works; replicas stream over TLS; another CA fails clearly" postgres_doors
check_quiet "doors: etcd refuses no certificate and plain HTTP; a certificate without a user reads nothing" etcd_doors
check_quiet "doors: Redis refuses plain text and TLS without credentials; the ACL user works" redis_doors
check_quiet "doors: Patroni refuses POST /switchover without the certificate or the password; no plain HTTP" patroni_doors

serial_served() { # serial_served PORT [STARTTLS-PROTOCOL]: the serial of the certificate served there
    openssl s_client -connect "127.0.0.1:$1" ${2:+-starttls "$2"} </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null
}
serial_of() { openssl x509 -noout -serial -in "$CERTS_DIR/$1.crt"; }
rotation_is_picked_up() {
    local leader before
    leader=$(cluster_leader) || { echo "no leader"; return 1; }
    before=$(serial_of "$leader")
    scripts/compose-rotate-certs "${COMPOSE_ARGS[@]}" || return 1
    [ "$(serial_of "$leader")" != "$before" ] || { echo "the files did not change"; return 1; }
    sleep 2
    [ "$(serial_served "$PORT_BASE" postgres)" = "$(serial_of "$leader")" ] || { echo "PostgreSQL serves the old certificate"; return 1; }
    [ "$(serial_served "$(patroni_port "$leader")")" = "$(serial_of "$leader")" ] || { echo "Patroni serves the old certificate"; return 1; }
    [ "$(serial_served $((PORT_BASE + 379)))" = "$(serial_of redis)" ] || { echo "Redis serves the old certificate"; return 1; }
    [ "$(doors_psql "sslmode=verify-full sslrootcert=$CERTS_DIR/ca.crt" "SELECT 1")" = 1 ] || { echo "verify-full fails after"; return 1; }
}
check_quiet "rotation: scripts/compose-rotate-certs: PostgreSQL, Patroni and Redis serve the new certificates, no restart" rotation_is_picked_up
