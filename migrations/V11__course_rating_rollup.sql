-- The top-courses report from a rollup of ratings instead of every review (issue 23, item 4).
--
-- One row per reviewed course: the sum of its ratings and the number of its reviews. The
-- report ranks these rows (one per course) instead of grouping every review, so its cost
-- follows the number of courses, not the number of reviews. The average is
-- rating_sum::numeric / review_count, the same numeric division avg() does.
--
-- Kept exact like revenue_by_course_month (V10): statement-level triggers on `reviews` over their
-- transition tables, in the writing transaction, one ordered upsert per course touched
-- (cascaded deletes of a course's or a user's reviews included); TRUNCATE empties it. A row
-- falls to 0 reviews rather than going away; the report skips it, and a deleted course's row
-- joins no course.

CREATE TABLE course_rating (
    -- No foreign key: a course's deletion cascades to its reviews, whose trigger then
    -- updates this row; a cascade here would race that update.
    course_id    bigint PRIMARY KEY,
    rating_sum   bigint NOT NULL,
    review_count bigint NOT NULL
);

CREATE FUNCTION course_rating_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO course_rating AS r (course_id, rating_sum, review_count)
    SELECT n.course_id, sum(n.rating), count(*)
    FROM new_rows n
    GROUP BY 1
    ORDER BY 1
    ON CONFLICT (course_id) DO UPDATE
        SET rating_sum = r.rating_sum + EXCLUDED.rating_sum,
            review_count = r.review_count + EXCLUDED.review_count;
    RETURN NULL;
END
$$;

CREATE FUNCTION course_rating_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO course_rating AS r (course_id, rating_sum, review_count)
    SELECT course_id, sum(rating), sum(reviews)
    FROM (
        SELECT n.course_id, n.rating::bigint AS rating, 1 AS reviews FROM new_rows n
        UNION ALL
        SELECT o.course_id, -o.rating, -1 FROM old_rows o
    ) AS delta
    GROUP BY 1
    -- Most updates change a review's text only: nothing to write.
    HAVING sum(rating) <> 0 OR sum(reviews) <> 0
    ORDER BY 1
    ON CONFLICT (course_id) DO UPDATE
        SET rating_sum = r.rating_sum + EXCLUDED.rating_sum,
            review_count = r.review_count + EXCLUDED.review_count;
    RETURN NULL;
END
$$;

CREATE FUNCTION course_rating_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO course_rating AS r (course_id, rating_sum, review_count)
    SELECT o.course_id, -sum(o.rating), -count(*)
    FROM old_rows o
    GROUP BY 1
    ORDER BY 1
    ON CONFLICT (course_id) DO UPDATE
        SET rating_sum = r.rating_sum + EXCLUDED.rating_sum,
            review_count = r.review_count + EXCLUDED.review_count;
    RETURN NULL;
END
$$;

CREATE FUNCTION course_rating_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM course_rating;
    RETURN NULL;
END
$$;

CREATE TRIGGER reviews_rating_insert AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_rating_insert();
CREATE TRIGGER reviews_rating_update AFTER UPDATE ON reviews
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_rating_update();
CREATE TRIGGER reviews_rating_delete AFTER DELETE ON reviews
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_rating_delete();
CREATE TRIGGER reviews_rating_truncate AFTER TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION course_rating_truncate();

-- The reviews already written when this migration runs.
INSERT INTO course_rating (course_id, rating_sum, review_count)
SELECT course_id, sum(rating), count(*)
FROM reviews
GROUP BY 1;
