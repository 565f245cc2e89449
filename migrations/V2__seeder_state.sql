-- Bookkeeping of the data seeder (lyceum-seeder, docs/SEEDER.md).
--
-- One row per table the seeder has loaded, written in the same transaction as the
-- table's rows: a row here means the table is complete, no row means it is empty (or
-- holds rows someone else wrote). The parameters say which data set it is, so a re-run
-- with the same parameters is a no-op and one with others is refused.
CREATE TABLE seeder_state (
    table_name   text PRIMARY KEY,
    seed         bigint NOT NULL,
    -- Row counts per table follow from the scale; see docs/SEEDER.md.
    scale        double precision NOT NULL,
    -- The generated world's "now".
    anchor_date  date NOT NULL,
    -- The generator's version: rows of another version would not fit together.
    data_version integer NOT NULL,
    row_count    bigint NOT NULL,
    seconds      double precision NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seeder_state_row_count_nonnegative CHECK (row_count >= 0),
    CONSTRAINT seeder_state_scale_positive CHECK (scale > 0)
);
