# shellcheck shell=bash
# Sourced by scripts/bench-seeder: the schema's own load cost, the seeder's upper bound.
# The rows `lyceum-seeder --dump-dir` wrote (binary COPY files, the bytes the seeder
# streams) are loaded with `psql \copy` into a freshly migrated database, doing what the
# seeder does around its COPYs (seeder/src/foreign_keys.rs, bulk.rs, load.rs):
#   1. every foreign key touching a seeded table dropped, in one transaction;
#   2. each table in its own transaction, up to $jobs tables at once, biggest first: lock,
#      TRUNCATE (so COPY FREEZE applies), drop its unique constraints and secondary indexes
#      (the primary key stays), \copy ... (FORMAT binary, FREEZE), rebuild them from the
#      catalog's definitions, move the id sequence past the ids, commit; then ANALYZE;
#   3. the foreign keys put back NOT VALID in one transaction, then validated, one
#      transaction per child table, up to $jobs at once.
# What it leaves out, because it is the seeder's own work: planning the world, password
# hashes, generating and encoding rows, dependency order (parents committed before
# children), the bookkeeping rows. The statements are written out before the clock starts;
# only running them is timed.
# Uses psql_admin, now, $host, $port, $user (set in scripts/bench-seeder).
# shellcheck disable=SC2154

# copy_tables <dump dir>: the manifest's tables, biggest first, one "name rows identity
# columns" line each.
copy_tables() {
    grep -v '^#' "$1/manifest.tsv" | sort -t$'\t' -k2,2nr
}

# copy_prepare <dump dir> <database> <sql dir>: writes the statements of steps 1-3 for
# the database's schema (fk_drop.sql, load.<table>.sql, fk_add.sql, validate.<n>.sql).
copy_prepare() {
    local dump=$1 db=$2 sql=$3 tables name rows identity columns
    rm -rf "$sql" && mkdir -p "$sql"
    tables="{$(copy_tables "$dump" | cut -f1 | paste -sd,)}"
    local touching="contype = 'f' AND (conrelid = ANY('$tables'::text[]::regclass[]) OR confrelid = ANY('$tables'::text[]::regclass[]))"
    {
        echo 'BEGIN;'
        psql_admin -d "$db" -Atc "SELECT format('ALTER TABLE %s %s;', conrelid::regclass,
            string_agg(format('DROP CONSTRAINT %I', conname), ', ' ORDER BY conname))
            FROM pg_constraint WHERE $touching GROUP BY conrelid ORDER BY conrelid::regclass::text"
        echo 'COMMIT;'
    } >"$sql/fk_drop.sql"
    {
        echo 'BEGIN;'
        psql_admin -d "$db" -Atc "SELECT format('ALTER TABLE %s %s;', conrelid::regclass,
            string_agg(format('ADD CONSTRAINT %I %s NOT VALID', conname, pg_get_constraintdef(oid)), ', ' ORDER BY conname))
            FROM pg_constraint WHERE $touching GROUP BY conrelid ORDER BY conrelid::regclass::text"
        echo 'COMMIT;'
    } >"$sql/fk_add.sql"
    local n=0 validations
    # One file per child table, biggest first (as the seeder orders by size after the load).
    while IFS=$'\t' read -r name rows identity columns; do
        validations=$(psql_admin -d "$db" -Atc "SELECT format('ALTER TABLE %s VALIDATE CONSTRAINT %I;', conrelid::regclass, conname)
            FROM pg_constraint WHERE $touching AND conrelid = '$name'::regclass ORDER BY conname")
        [ -n "$validations" ] || continue
        printf 'BEGIN;\n%s\nCOMMIT;\n' "$validations" >"$sql/validate.$(printf %03d "$n").sql"
        n=$((n + 1))
    done < <(copy_tables "$dump")
    while IFS=$'\t' read -r name rows identity columns; do
        {
            echo 'BEGIN;'
            echo "SET LOCAL maintenance_work_mem = '512MB';"
            echo "LOCK TABLE $name IN ACCESS EXCLUSIVE MODE;"
            echo "TRUNCATE $name;"
            # Unique constraints (none is referenced once the foreign keys are gone) and
            # indexes no constraint owns: what bulk::suspend drops.
            psql_admin -d "$db" -Atc "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname)
                FROM pg_constraint WHERE conrelid = '$name'::regclass AND contype = 'u' ORDER BY conname"
            psql_admin -d "$db" -Atc "SELECT format('DROP INDEX %s;', i.indexrelid::regclass) FROM pg_index i
                WHERE i.indrelid = '$name'::regclass
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)
                ORDER BY 1"
            echo "\\copy $name ($columns) FROM '$dump/$name.copy' WITH (FORMAT binary, FREEZE)"
            psql_admin -d "$db" -Atc "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname, pg_get_constraintdef(oid))
                FROM pg_constraint WHERE conrelid = '$name'::regclass AND contype = 'u' ORDER BY conname"
            psql_admin -d "$db" -Atc "SELECT pg_get_indexdef(i.indexrelid) || ';' FROM pg_index i
                WHERE i.indrelid = '$name'::regclass
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)
                ORDER BY i.indexrelid::regclass::text"
            [ "$identity" = 1 ] && echo "SELECT setval(pg_get_serial_sequence('$name', 'id'), max(id)) FROM $name HAVING max(id) IS NOT NULL;"
            echo 'COMMIT;'
            echo "ANALYZE $name;"
        } >"$sql/load.$name.sql"
    done < <(copy_tables "$dump")
}

# copy_run_sql <database> <file>: one psql session running the file, stopping at the first error.
copy_run_sql() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d "$1" -f "$2" >/dev/null
}
export -f copy_run_sql

# copy_load <dump dir> <database> <sql dir> <jobs>: runs steps 1-3 (the timed part);
# prints the seconds of each step: "<fk drop> <loads> <fk restore and validation>".
copy_load() {
    local dump=$1 db=$2 sql=$3 jobs=$4 t0 t1 t2 t3
    export host port user
    t0=$(now)
    # A failure returns non-zero, which stops the caller's `x=$(copy_load ...)` under set -e.
    copy_run_sql "$db" "$sql/fk_drop.sql" || return 1
    t1=$(now)
    copy_tables "$dump" | cut -f1 | sed "s|.*|$sql/load.&.sql|" \
        | xargs -P "$jobs" -I{} bash -c 'copy_run_sql "$0" "$1"' "$db" {} \
        || { echo "bench-seeder: a \\copy load failed" >&2; return 1; }
    t2=$(now)
    copy_run_sql "$db" "$sql/fk_add.sql" || return 1
    find "$sql" -name 'validate.*.sql' | sort \
        | xargs -r -P "$jobs" -I{} bash -c 'copy_run_sql "$0" "$1"' "$db" {} \
        || { echo "bench-seeder: validating a foreign key failed" >&2; return 1; }
    t3=$(now)
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%.3f %.3f %.3f\n", b - a, c - b, d - c }'
}

# copy_check <dump dir> <database>: every table holds the manifest's rows and every foreign
# key is valid, or the script stops.
copy_check() {
    local dump=$1 db=$2 name rows identity columns got invalid
    while IFS=$'\t' read -r name rows identity columns; do
        got=$(psql_admin -d "$db" -Atc "SELECT count(*) FROM $name")
        [ "$got" = "$rows" ] || { echo "bench-seeder: \\copy loaded $got rows into $name, the dump has $rows" >&2; exit 1; }
    done < <(copy_tables "$dump")
    invalid=$(psql_admin -d "$db" -Atc "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
    [ "$invalid" = 0 ] || { echo "bench-seeder: after \\copy $invalid foreign keys are not valid" >&2; exit 1; }
}
