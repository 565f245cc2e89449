-- The revenue report from a rollup instead of every paid purchase (issue 23, item 4).
--
-- One row per month (of `paid_at`, UTC) and course: the revenue and the number of purchases
-- that are paid now. The report joins these rows to the catalog, so its cost follows the
-- courses sold per month, not the purchases. (A row per run was 1.8x the rows and 2.9x the
-- time at scale 40: 134 000 rows, 66 ms for a year against 74 000 rows and 23 ms.) The course
-- is the purchased run's, looked up in the trigger: a sold run cannot be deleted, and nothing
-- moves a run to another course.
--
-- Kept exact by statement-level triggers on `purchases`, in the writing transaction: every
-- INSERT, UPDATE, DELETE (the API, the seeder's COPY, an operator's SQL) adds the paid rows it
-- creates and subtracts the paid rows it removes, aggregated over the statement's transition
-- tables (one upsert per run and month touched, whatever the number of rows: the seeder's COPY
-- of millions of purchases costs one aggregate). TRUNCATE empties the rollup with the table.
-- A row whose count falls to 0 (all its purchases refunded) is kept; the report skips it.
--
-- Concurrency: two transactions paying for the same course in the same month wait on the same
-- rollup row until the first commits (a payment's transaction is one short statement after
-- it). Rows are upserted in (month, course_id) order, so multi-row statements take their
-- locks in one order and cannot deadlock each other.

CREATE TABLE revenue_by_course_month (
    month         date   NOT NULL,
    -- No foreign key: a course that was sold cannot be deleted (its runs' purchases RESTRICT
    -- it), and the trigger's upsert would otherwise lock the course's row on every payment.
    course_id     bigint NOT NULL,
    revenue       bigint NOT NULL,
    purchases     bigint NOT NULL,
    PRIMARY KEY (month, course_id),
    -- No CHECK (revenue >= 0): a refund's upsert proposes a negative row, and PostgreSQL
    -- checks the proposed row before it finds the conflict that makes it an update.
    CONSTRAINT revenue_by_course_month_first_day CHECK (month = date_trunc('month', month)::date)
);

CREATE FUNCTION revenue_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO revenue_by_course_month AS r (month, course_id, revenue, purchases)
    SELECT date_trunc('month', n.paid_at AT TIME ZONE 'UTC')::date, cr.course_id,
           sum(n.final_price), count(*)
    FROM new_rows n JOIN course_runs cr ON cr.id = n.course_run_id
    WHERE n.status = 'paid'
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (month, course_id) DO UPDATE
        SET revenue = r.revenue + EXCLUDED.revenue,
            purchases = r.purchases + EXCLUDED.purchases;
    RETURN NULL;
END
$$;

CREATE FUNCTION revenue_rollup_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO revenue_by_course_month AS r (month, course_id, revenue, purchases)
    SELECT d.month, cr.course_id, sum(d.revenue), sum(d.purchases)
    FROM (
        SELECT date_trunc('month', n.paid_at AT TIME ZONE 'UTC')::date AS month,
               n.course_run_id, n.final_price AS revenue, 1 AS purchases
        FROM new_rows n WHERE n.status = 'paid'
        UNION ALL
        SELECT date_trunc('month', o.paid_at AT TIME ZONE 'UTC')::date,
               o.course_run_id, -o.final_price, -1
        FROM old_rows o WHERE o.status = 'paid'
    ) AS d
    JOIN course_runs cr ON cr.id = d.course_run_id
    GROUP BY 1, 2
    -- An update that leaves paid rows paid and unchanged (most updates: a pending purchase
    -- cancelled, an `updated_at` touched) writes nothing.
    HAVING sum(d.revenue) <> 0 OR sum(d.purchases) <> 0
    ORDER BY 1, 2
    ON CONFLICT (month, course_id) DO UPDATE
        SET revenue = r.revenue + EXCLUDED.revenue,
            purchases = r.purchases + EXCLUDED.purchases;
    RETURN NULL;
END
$$;

CREATE FUNCTION revenue_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO revenue_by_course_month AS r (month, course_id, revenue, purchases)
    SELECT date_trunc('month', o.paid_at AT TIME ZONE 'UTC')::date, cr.course_id,
           -sum(o.final_price), -count(*)
    FROM old_rows o JOIN course_runs cr ON cr.id = o.course_run_id
    WHERE o.status = 'paid'
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (month, course_id) DO UPDATE
        SET revenue = r.revenue + EXCLUDED.revenue,
            purchases = r.purchases + EXCLUDED.purchases;
    RETURN NULL;
END
$$;

CREATE FUNCTION revenue_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM revenue_by_course_month;
    RETURN NULL;
END
$$;

CREATE TRIGGER purchases_revenue_insert AFTER INSERT ON purchases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_rollup_insert();
CREATE TRIGGER purchases_revenue_update AFTER UPDATE ON purchases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_rollup_update();
CREATE TRIGGER purchases_revenue_delete AFTER DELETE ON purchases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_rollup_delete();
CREATE TRIGGER purchases_revenue_truncate AFTER TRUNCATE ON purchases
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_rollup_truncate();

-- The purchases already paid when this migration runs.
INSERT INTO revenue_by_course_month (month, course_id, revenue, purchases)
SELECT date_trunc('month', p.paid_at AT TIME ZONE 'UTC')::date, cr.course_id,
       sum(p.final_price), count(*)
FROM purchases p JOIN course_runs cr ON cr.id = p.course_run_id
WHERE p.status = 'paid'
GROUP BY 1, 2;

-- Only the report's old query read this index (every other `paid` filter comes with a run, a
-- user or an id); without it a payment writes one index entry less, and seeding sorts 2 M
-- rows less at scale 40.
DROP INDEX purchases_paid_at_idx;
