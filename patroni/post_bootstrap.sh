#!/bin/bash
# Patroni post_bootstrap hook: runs once, on the node that ran initdb, after
# the superuser exists. Patroni passes a libpq connection URL as the last
# argument and sets PGPASSFILE and PGOPTIONS (synchronous_commit=local, so
# this cannot block waiting for a replica that does not exist yet).
#
# Creates the application role and database described in docs/STACK.md.
# Written to be safe to re-run.
set -euo pipefail

conn=${!#}
psql=/usr/lib/postgresql/15/bin/psql

"$psql" "$conn" -X -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'lyceum') THEN
        CREATE ROLE lyceum LOGIN CREATEDB PASSWORD 'lyceum';
    ELSE
        ALTER ROLE lyceum LOGIN CREATEDB PASSWORD 'lyceum';
    END IF;
END
$$;
-- The view the exporters read top statements from (in the database they connect to).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- CREATE DATABASE cannot run inside DO/a transaction block, hence \gexec.
SELECT 'CREATE DATABASE lyceum OWNER lyceum ENCODING ''UTF8'''
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = 'lyceum')
\gexec
SQL
