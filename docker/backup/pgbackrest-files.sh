# shellcheck shell=sh
# Sourced by docker/patroni/entrypoint.sh and docker/backup/lyceum-backup: renders the
# pgBackRest templates of patroni/ (the local stack's, docs/RECOVERY.md) for a container.
# Layout (the same paths in every container that mounts the volumes):
#   /var/lib/pgbackrest             the repository: volume pgbackrest-repo, shared by the
#                                   three nodes (archive-push, archive-get, replica restores)
#                                   and the backup service (backup, expire, check, verify)
#   /var/lib/lyceum/pgN             node pgN's volume: data/, sock/, and pgbackrest/ (its
#                                   config, spool, lock and log) with the wrapper
#                                   pgbackrest-lyceum that its archive_command calls
# LYCEUM_BACKUP_CIPHER_PASS, when set, encrypts the repository (aes-256-cbc).
readonly PGBR_REPO=/var/lib/pgbackrest
readonly PGBR_TEMPLATES=/etc/lyceum

# render TEMPLATE OUT KEY=VALUE...: every @@KEY@@ replaced; a placeholder left is an error.
pgbr_render() {
    python3 - "$@" <<'PY'
import re, sys
tmpl, out, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(tmpl).read()
for kv in pairs:
    k, v = kv.split("=", 1)
    text = text.replace("@@%s@@" % k, v)
left = re.findall(r"@@[A-Z_]+@@", text)
if left:
    sys.exit("render %s: %s not replaced" % (tmpl, ", ".join(sorted(set(left)))))
with open(out, "w") as f:
    f.write(text)
PY
}

pgbr_cipher_lines() {
    [ -z "${LYCEUM_BACKUP_CIPHER_PASS:-}" ] ||
        printf 'repo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=%s' "$LYCEUM_BACKUP_CIPHER_PASS"
}

# pgbr_caller WHO DIR NODE_TEMPLATE KEY=VALUE...: DIR/pgbackrest.conf (shared settings),
# DIR/conf.d/ (this caller's), DIR/{spool,lock,log}, and the wrapper pgbackrest-lyceum beside
# DIR (where patroni.yml.tmpl expects it: @@NODE_DIR@@/pgbackrest-lyceum).
# LOCK_DIR overrides the lock path (the backup service's is on the repository volume).
pgbr_caller() {
    local who=$1 dir=$2 tmpl=$3  # local: dash and bash both have it
    shift 3
    mkdir -p "$dir/conf.d" "$dir/spool" "$dir/lock" "$dir/log"
    pgbr_render "$PGBR_TEMPLATES/pgbackrest.conf.tmpl" "$dir/pgbackrest.conf" \
        REPO_PATH="$PGBR_REPO" CIPHER="$(pgbr_cipher_lines)"
    pgbr_render "$PGBR_TEMPLATES/$tmpl" "$dir/conf.d/pgbackrest.conf" STATE_DIR="$dir" \
        LOG_PATH="$dir/log" "$@"
    [ -z "${LOCK_DIR:-}" ] || sed -i "s|^lock-path=.*|lock-path=$LOCK_DIR|" "$dir/conf.d/pgbackrest.conf"
    pgbr_render "$PGBR_TEMPLATES/pgbackrest-wrapper.sh.tmpl" "${dir%/*}/pgbackrest-lyceum" WHO="$who" \
        CONFIG="$dir/pgbackrest.conf" INCLUDE_DIR="$dir/conf.d"
    chmod 700 "${dir%/*}/pgbackrest-lyceum"
    chmod 600 "$dir/pgbackrest.conf"
}

# Node pgN's files, in its volume: pg1 = this node (archive-push, archive-get, restore).
pgbr_node() {
    pgbr_caller "node $1" "/var/lib/lyceum/$1/pgbackrest" pgbackrest-node.conf.tmpl NODE="$1" \
        PG_PATH="/var/lib/lyceum/$1/data" PG_PORT=5432 SOCK_DIR="/var/lib/lyceum/$1/sock"
}
