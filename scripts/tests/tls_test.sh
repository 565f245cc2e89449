#!/usr/bin/env bash
#
# The cluster's doors are locked (issue 20, docs/SECURITY.md): a stack of its own with
# LYCEUM_TLS=1 (private run dir, port offset LYCEUM_TEST_PORT_OFFSET, default 7500, monitoring
# off), and one check per door, each run so it can fail: the refused case beside the allowed
# one, so a check cannot pass because nothing answers at all.
#
#   PostgreSQL  plain text refused (through HAProxy and on a node); verify-full with the CA
#               works and the replicas stream over TLS; another CA or another name fails
#               with a clear error (psql and the Rust client, which names PostgreSQL)
#   etcd        no client certificate refused; with one, healthy; a certificate without a
#               user's password reads nothing, Patroni's user only its namespace
#   Redis       plain text and TLS without credentials refused; the ACL user works
#   Patroni     POST /switchover without the password or without a certificate refused,
#               the leader unchanged; `scripts/stack switchover` works
#   backend     a login and a purchase over the TLS stack (PostgreSQL and Redis both TLS)
#   rotation    scripts/certs rotate + scripts/stack tls-reload while new PostgreSQL, Patroni
#               and backend-login connections are opened in a loop: none fails, and
#               PostgreSQL and Patroni serve the new serials
#
# Needs the debug binaries (cargo build -p lyceum-backend -p lyceum-seeder -p lyceum-db).
# Runtime: about 45 s on 2 cores (a minute while another build runs).
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
STACK=$REPO_DIR/scripts/stack
OFFSET=${LYCEUM_TEST_PORT_OFFSET:-7500}
WORK_DIR=$(mktemp -d /tmp/lyceum-tls-test.XXXXXX)
chmod 755 "$WORK_DIR"
export LYCEUM_RUN_DIR=$WORK_DIR/run LYCEUM_PORT_OFFSET=$OFFSET LYCEUM_TLS=1 LYCEUM_MONITORING=off
unset LYCEUM_ETCD_ENDPOINTS LYCEUM_ETCD_NAMESPACE LYCEUM_TLS_DIR
TLS_DIR=$LYCEUM_RUN_DIR/tls
CA=$TLS_DIR/ca.crt
WRITE_PORT=$((5000 + OFFSET))
BACKEND_ADDR=127.0.0.1:$((8080 + OFFSET))

for bin in lyceum-backend lyceum-seeder lyceum-migrate; do
    [[ -x target/debug/$bin ]] || { echo "target/debug/$bin is missing: cargo build --workspace" >&2; exit 2; }
done

cleanup() {
    declare -F fixture_cleanup >/dev/null && fixture_cleanup
    "$STACK" down --purge >/dev/null 2>&1 || echo "# cleanup: 'stack down --purge' failed" >&2
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
echo "# a TLS stack at offset $OFFSET in $LYCEUM_RUN_DIR"
"$STACK" up >"$WORK_DIR/up.log" 2>&1 || { tail -30 "$WORK_DIR/up.log"; exit 1; }
# The fixture reads `scripts/stack env` (LYCEUM_DB__TLS_CA_FILE, rediss:// ...) and its psql
# needs verify-full too.
export PGSSLMODE=verify-full PGSSLROOTCERT=$CA
# shellcheck source=scripts/tests/backend_fixture.sh
source scripts/tests/backend_fixture.sh

# Another CA, for the clients that must fail.
scripts/certs init --dir "$WORK_DIR/other-ca" >/dev/null
OTHER_CA=$WORK_DIR/other-ca/ca.crt

# Each check runs where errexit is off (tap.sh's `if`), so every step that can fail says
# `|| return 1`.
psql_at() { # psql_at PORT CONNINFO-EXTRA SQL: one value, errors on stderr
    PGPASSWORD=lyceum PGCONNECT_TIMEOUT=3 psql -X -A -t -q "host=127.0.0.1 port=$1 user=lyceum dbname=lyceum $2" -c "$3"
}

# ------------------------------------------------------------- PostgreSQL --

plain_text_is_refused() {
    expect_failure "no encryption" psql_at "$WRITE_PORT" "sslmode=disable" "SELECT 1" || return 1
    expect_failure "no encryption" psql_at "$((5433 + OFFSET))" "sslmode=disable" "SELECT 1"
}
verify_full_works_and_replication_is_tls() {
    [[ $(psql_at "$WRITE_PORT" "sslmode=verify-full sslrootcert=$CA" \
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == t ]] || { echo "not TLS"; return 1; }
    local leader_port
    leader_port=$(psql_at "$WRITE_PORT" "" "SELECT inet_server_port()") || return 1
    [[ $(PGPASSWORD=postgres-dev psql -X -A -t -q "host=127.0.0.1 port=$leader_port user=postgres dbname=postgres" \
        -c "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)") == 2/2 ]]
}
wrong_ca_or_name_fails_clearly() {
    expect_failure "certificate verify failed" psql_at "$WRITE_PORT" "sslmode=verify-full sslrootcert=$OTHER_CA" "SELECT 1" || return 1
    PGPASSWORD=lyceum PGCONNECT_TIMEOUT=3 expect_failure 'does not match host name "wrong.example"' \
        psql -X -A -t -q "host=wrong.example hostaddr=127.0.0.1 port=$WRITE_PORT user=lyceum dbname=lyceum sslmode=verify-full sslrootcert=$CA" -c "SELECT 1" || return 1
    # The Rust client: no retry loop hides it, and the message names PostgreSQL and the reason.
    LYCEUM_DB__TLS_CA_FILE=$OTHER_CA expect_failure "PostgreSQL refused over TLS: invalid peer certificate" \
        timeout 20 target/debug/lyceum-migrate || return 1
    target/debug/lyceum-migrate >/dev/null
}
# An expired certificate: a server of the CA whose leaf ended a second after it began
# (openssl -days 0), answering PostgreSQL's SSLRequest and then the handshake, on a port of
# its own (no node has to serve it).
expired_certificate_fails_clearly() {
    local dir=$WORK_DIR/expired port=$((5900 + OFFSET)) pid rc=0
    mkdir -p "$dir"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$dir/key" \
        -out "$dir/csr" -subj "/O=Lyceum/OU=expired" 2>/dev/null &&
        openssl x509 -req -in "$dir/csr" -CA "$CA" -CAkey "$TLS_DIR/ca.key" -set_serial 7 -days 0 \
            -extfile "$dir/ext" -out "$dir/crt" 2>/dev/null || { echo "openssl could not make the leaf"; return 1; }
    python3 - "$port" "$dir/crt" "$dir/key" <<'PY' &
import socket, ssl, sys
port, crt, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv = socket.create_server(("127.0.0.1", port))
srv.settimeout(30)
for _ in range(4):  # psql, lyceum-migrate; spare for their retries
    try:
        conn, _ = srv.accept()
    except OSError:
        break
    with conn:
        conn.settimeout(5)
        if len(conn.recv(8)) == 8:  # SSLRequest: length 8, code 80877103
            conn.sendall(b"S")
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                pass
PY
    pid=$!
    sleep 1
    PGPASSWORD=lyceum PGCONNECT_TIMEOUT=3 expect_failure "certificate verify failed" \
        psql -X -A -t -q "host=localhost port=$port user=lyceum dbname=lyceum sslmode=verify-full sslrootcert=$CA" -c "SELECT 1" || rc=1
    LYCEUM_DB__HOST=localhost LYCEUM_DB__WRITE_PORT=$port expect_failure "PostgreSQL refused over TLS: invalid peer certificate: certificate expired" \
        timeout 20 target/debug/lyceum-migrate || rc=1
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return "$rc"
}
check_quiet "postgres: a plain-text connection is refused, on HAProxy and on a node" plain_text_is_refused
check_quiet "postgres: verify-full with the CA works; both replicas stream over TLS" verify_full_works_and_replication_is_tls
check_quiet "postgres: another CA or another name fails, clearly (psql and lyceum-migrate)" wrong_ca_or_name_fails_clearly
check_quiet "postgres: an expired certificate fails, clearly (psql and lyceum-migrate)" expired_certificate_fails_clearly

# ------------------------------------------------------------------- etcd --

etcd_wants_a_client_certificate() {
    local url=https://127.0.0.1:$((23790 + OFFSET))/health
    if curl -s -m 3 --cacert "$CA" "$url" >/dev/null 2>&1; then echo "answered without a client certificate"; return 1; fi
    if curl -s -m 3 "http://127.0.0.1:$((23790 + OFFSET))/health" >/dev/null 2>&1; then echo "answered plain HTTP"; return 1; fi
    [[ $(curl -s -m 3 --cacert "$CA" --cert "$TLS_DIR/client.crt" --key "$TLS_DIR/client.key" "$url") == *'"health":"true"'* ]]
}
check_quiet "etcd: refused without a client certificate (and over plain HTTP); healthy with one" etcd_wants_a_client_certificate

etcd_wants_a_user() {
    local etcdctl=(env ETCDCTL_API=3 etcdctl --endpoints="https://127.0.0.1:$((23790 + OFFSET))" --cacert "$CA"
        --cert "$TLS_DIR/client.crt" --key "$TLS_DIR/client.key" --dial-timeout=2s --command-timeout=4s)
    expect_failure "permission denied" "${etcdctl[@]}" get --prefix "/lyceum-$OFFSET/" || return 1
    expect_failure "permission denied" "${etcdctl[@]}" put /not-patroni x || return 1
    # Patroni's user: its namespace only.
    expect_failure "permission denied" env ETCDCTL_USER=patroni:etcd-patroni-dev "${etcdctl[@]}" put /not-patroni x || return 1
    [[ -n $(env ETCDCTL_USER=patroni:etcd-patroni-dev "${etcdctl[@]}" get --prefix --keys-only "/lyceum-$OFFSET/") ]]
}
check_quiet "etcd: a certificate alone reads and writes nothing; Patroni's user only its namespace" etcd_wants_a_user

# ------------------------------------------------------------------ Redis --

redis_wants_credentials() {
    local port=$((6380 + OFFSET)) out
    out=$(timeout 3 redis-cli -p "$port" ping 2>&1 || true)
    [[ $out != PONG ]] || { echo "plain text answered"; return 1; }
    out=$(timeout 3 redis-cli -p "$port" --tls --cacert "$CA" ping 2>&1 || true)
    [[ $out == *NOAUTH* ]] || { echo "TLS without credentials: $out"; return 1; }
    [[ $(timeout 3 redis-cli -p "$port" --tls --cacert "$CA" --user lyceum --pass lyceum-redis-dev --no-auth-warning ping) == PONG ]]
}
check_quiet "redis: plain text and no credentials refused; the ACL user over TLS works" redis_wants_credentials

# ---------------------------------------------------------------- Patroni --

switchover_needs_certificate_and_password() {
    local leader url code
    leader=$("$STACK" leader) || return 1
    url=https://127.0.0.1:$((8008 + ${leader#pg} - 1 + OFFSET))/switchover
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CA" --cert "$TLS_DIR/client.crt" \
        --key "$TLS_DIR/client.key" -X POST -d "{\"leader\":\"$leader\"}" "$url")
    [[ $code == 401 ]] || { echo "certificate, no password: $code"; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$CA" -u patroni:patroni-rest-dev \
        -X POST -d "{\"leader\":\"$leader\"}" "$url")
    [[ $code == 403 ]] || { echo "password, no certificate: $code"; return 1; }
    sleep 1
    [[ $("$STACK" leader) == "$leader" ]] || { echo "the leader moved"; return 1; }
}
stack_switchover_works() {
    local before
    before=$("$STACK" leader) || return 1
    "$STACK" switchover || return 1
    [[ $("$STACK" leader) != "$before" ]]
}
check_quiet "patroni: POST /switchover without the password or without a certificate is refused" switchover_needs_certificate_and_password
check "patroni: scripts/stack switchover works with TLS on" stack_switchover_works

# ---------------------------------------------------------------- backend --

fresh_seeded_db lyceum_tls_test
start_backend "$BACKEND_ADDR" "lyceum-tls-test-$$"

API=http://$BACKEND_ADDR/api/v1
login() { # prints a student's access token
    local token
    token=$(curl -sf -m 10 -H 'Content-Type: application/json' \
        -d '{"email":"student1@lyceum.test","password":"student-password"}' "$API/auth/login" | jq -r .access_token)
    [[ -n $token && $token != null ]] || { echo "no token" >&2; return 1; }
    echo "$token"
}
login_and_purchase() {
    local base=$API token course="" run="" code
    token=$(login) || return 1
    # Reads go to a replica, which may still be replaying the seed: ask again for a while.
    local i
    for i in $(seq 1 40); do
        course=$(curl -sf -m 10 "$base/courses?on_sale=true&page_size=1" | jq -r '.items[0].id // empty')
        [[ -z $course ]] || run=$(curl -sf -m 10 -H "Authorization: Bearer $token" "$base/courses/$course" |
            jq -r '[.upcoming_runs[] | select(.seats_left > 0)][0].id // empty')
        [[ -z ${run:-} ]] || break
        sleep 0.5
    done
    [[ $run =~ ^[0-9]+$ ]] || { echo "no run on sale (course $course)"; return 1; }
    code=$(curl -s -o "$WORK_DIR/purchase.json" -w '%{http_code}' -m 10 -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: tls-test-$$" \
        -d "{\"course_run_id\": $run, \"plan\": \"basic\"}" "$base/purchases")
    [[ $code == 201 ]] || { echo "purchase: $code $(cat "$WORK_DIR/purchase.json")"; return 1; }
    # The course page went through the cache: Redis over TLS holds it now.
    [[ $(timeout 3 redis-cli -p $((6380 + OFFSET)) --tls --cacert "$CA" --user lyceum --pass lyceum-redis-dev \
        --no-auth-warning --scan --pattern "lyceum-tls-test-$$:*" | wc -l) -gt 0 ]] || { echo "nothing cached in Redis"; return 1; }
}
check_quiet "backend: a login and a purchase over the TLS stack (and its cache in Redis over TLS)" login_and_purchase

# --------------------------------------------------------------- rotation --

served_serial() { # served_serial PORT [starttls]: the serial of the certificate served on PORT
    openssl s_client -connect "127.0.0.1:$1" ${2:+-starttls "$2"} -CAfile "$CA" </dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
# Until $WORK_DIR/stop-probes exists: a new verify-full connection through the write port, a
# new https request to Patroni and a backend login, over and over; one line per attempt.
probe_new_connections() {
    local rest_url=$1
    while [[ ! -e $WORK_DIR/stop-probes ]]; do
        if [[ $(psql_at "$WRITE_PORT" "" "SELECT 1" 2>&1) == 1 ]]; then echo "ok pg"; else echo "fail pg"; fi
        if curl -sf -m 3 --cacert "$CA" "$rest_url/health" >/dev/null; then echo "ok rest"; else echo "fail rest"; fi
        if login >/dev/null 2>&1; then echo "ok login"; else echo "fail login"; fi
    done
}
rotation_is_picked_up() {
    local leader pg_port rest_port new_pg new_rest probes
    leader=$("$STACK" leader) || return 1
    pg_port=$((5433 + ${leader#pg} - 1 + OFFSET)) rest_port=$((8008 + ${leader#pg} - 1 + OFFSET))
    rm -f "$WORK_DIR/stop-probes"
    probe_new_connections "https://127.0.0.1:$rest_port" >"$WORK_DIR/probes.log" &
    probes=$!
    sleep 1
    scripts/certs rotate --dir "$TLS_DIR" >/dev/null || return 1
    new_pg=$(openssl x509 -in "$TLS_DIR/$leader.crt" -noout -serial)
    "$STACK" tls-reload || return 1
    sleep 2
    touch "$WORK_DIR/stop-probes"
    wait "$probes"
    # No PostgreSQL connection and no login opened while the certificates changed may fail.
    # Patroni 3.0.2 builds a new REST server when its certificate changes, so a request at
    # that instant can be refused (HAProxy's checks, fall 3, ride over it): at most one per
    # node.
    if grep -q '^fail \(pg\|login\)' "$WORK_DIR/probes.log" ||
       (( $(grep -c '^fail rest' "$WORK_DIR/probes.log") > 1 )); then
        echo "failed during the rotation: $(sort "$WORK_DIR/probes.log" | uniq -c | paste -sd' ')"; return 1
    fi
    echo "during the rotation: $(sort "$WORK_DIR/probes.log" | uniq -c | paste -sd' ')"
    local i
    for i in $(seq 1 20); do
        [[ $(served_serial "$pg_port" postgres) == "$new_pg" && $(served_serial "$rest_port") == "$new_pg" ]] && break
        sleep 0.5
    done
    [[ $(served_serial "$pg_port" postgres) == "$new_pg" ]] || { echo "PostgreSQL still serves the old certificate"; return 1; }
    new_rest=$(served_serial "$rest_port")
    [[ $new_rest == "$new_pg" ]] || { echo "Patroni REST serves $new_rest, not $new_pg"; return 1; }
    # New connections verify the new certificates; the backend's pooled ones carry on.
    [[ $(psql_at "$WRITE_PORT" "" "SELECT 1") == 1 ]] || { echo "no new verify-full connection"; return 1; }
    login >/dev/null
}
check "rotation: scripts/certs rotate + tls-reload: no new connection fails meanwhile, new serials served" rotation_is_picked_up

echo "# runtime $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
(( failed == 0 ))
