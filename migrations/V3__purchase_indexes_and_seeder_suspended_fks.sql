-- Cheaper purchase indexes, and where the seeder keeps foreign keys it has suspended.
-- See docs/SCHEMA.md (Indexes) and docs/SEEDER.md (Foreign keys during a load).

-- status and idempotency_key compare byte-wise. Their values are ASCII codes and
-- client-chosen keys that are only ever compared for equality, so "C" changes no
-- query's result, while sorts on them (index builds, the unique check) use memcmp and
-- abbreviated keys instead of strcoll under the database's C.UTF-8 collation.
-- The indexes on these columns are rebuilt by the ALTER, with the same definitions.
ALTER TABLE purchases
    ALTER COLUMN status TYPE text COLLATE "C",
    ALTER COLUMN idempotency_key TYPE text COLLATE "C";

-- No query filters purchases by status alone or orders them by created_at within a
-- status (there is no staff list by status and no expiry job), so nothing used it.
DROP INDEX purchases_status_created_idx;
-- Only served the FK check when a plan is deleted; plans are three lookup rows owned
-- by the migrations and never deleted, so that check may scan.
DROP INDEX purchases_plan_idx;

-- Foreign keys the seeder dropped for a whole load (one committed step), with their
-- definitions: a later run puts them back and validates them before anything else.
-- Empty except while a seed runs or after one failed part-way.
CREATE TABLE seeder_suspended_fks (
    table_name      text NOT NULL,
    constraint_name text NOT NULL,
    definition      text NOT NULL,
    PRIMARY KEY (table_name, constraint_name)
);
