-- The employment report from a rollup instead of every hired application (issue 23, item 4).
--
-- One row per course and partner company: the applications now `hired` (through the course's
-- career tracks). The report reads the first rows of an index in its own order (most hires
-- first), so its cost follows the rows it returns, not the applications.
--
-- Kept exact like revenue_by_course_month (V10): statement-level triggers on `job_applications`
-- over their transition tables, in the writing transaction, one ordered upsert per course and
-- company touched; TRUNCATE empties it. The course comes from the application's career track
-- (looked up in the trigger: a track with applications cannot be deleted, and nothing moves a
-- track to another course). A row falls to 0 rather than going away; the report skips it.

CREATE TABLE hires_by_course_company (
    course_id  bigint NOT NULL,
    company_id bigint NOT NULL,
    hired      bigint NOT NULL,
    PRIMARY KEY (course_id, company_id)
);
-- The report's order; only rows with hires.
CREATE INDEX hires_by_course_company_rank_idx
    ON hires_by_course_company (hired DESC, course_id, company_id) WHERE hired > 0;

CREATE FUNCTION hires_rollup_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hires_by_course_company AS h (course_id, company_id, hired)
    SELECT t.course_id, n.company_id, count(*)
    FROM new_rows n JOIN career_tracks t ON t.id = n.career_track_id
    WHERE n.status = 'hired'
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (course_id, company_id) DO UPDATE SET hired = h.hired + EXCLUDED.hired;
    RETURN NULL;
END
$$;

CREATE FUNCTION hires_rollup_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hires_by_course_company AS h (course_id, company_id, hired)
    SELECT t.course_id, d.company_id, sum(d.hired)
    FROM (
        SELECT n.career_track_id, n.company_id, 1 AS hired FROM new_rows n WHERE n.status = 'hired'
        UNION ALL
        SELECT o.career_track_id, o.company_id, -1 FROM old_rows o WHERE o.status = 'hired'
    ) AS d
    JOIN career_tracks t ON t.id = d.career_track_id
    GROUP BY 1, 2
    -- Most status changes do not involve `hired` (applied -> interview -> offer).
    HAVING sum(d.hired) <> 0
    ORDER BY 1, 2
    ON CONFLICT (course_id, company_id) DO UPDATE SET hired = h.hired + EXCLUDED.hired;
    RETURN NULL;
END
$$;

CREATE FUNCTION hires_rollup_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hires_by_course_company AS h (course_id, company_id, hired)
    SELECT t.course_id, o.company_id, -count(*)
    FROM old_rows o JOIN career_tracks t ON t.id = o.career_track_id
    WHERE o.status = 'hired'
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (course_id, company_id) DO UPDATE SET hired = h.hired + EXCLUDED.hired;
    RETURN NULL;
END
$$;

CREATE FUNCTION hires_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM hires_by_course_company;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_applications_hires_insert AFTER INSERT ON job_applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hires_rollup_insert();
CREATE TRIGGER job_applications_hires_update AFTER UPDATE ON job_applications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hires_rollup_update();
CREATE TRIGGER job_applications_hires_delete AFTER DELETE ON job_applications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hires_rollup_delete();
CREATE TRIGGER job_applications_hires_truncate AFTER TRUNCATE ON job_applications
    FOR EACH STATEMENT EXECUTE FUNCTION hires_rollup_truncate();

-- The hires already recorded when this migration runs.
INSERT INTO hires_by_course_company (course_id, company_id, hired)
SELECT t.course_id, a.company_id, count(*)
FROM job_applications a JOIN career_tracks t ON t.id = a.career_track_id
WHERE a.status = 'hired'
GROUP BY 1, 2;

-- Only the report's old query read this index (a course page counts its employed graduates
-- through the course's tracks); without it a status change writes one index entry less.
DROP INDEX job_applications_hired_idx;
