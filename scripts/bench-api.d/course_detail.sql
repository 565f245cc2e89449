-- pgbench side of ratio 2 (uncached course page): the six statements the backend runs for one
-- page (repository::catalog::CourseRepository::detail, same text, same parameters), sent
-- pipelined on one connection as tokio-postgres does, through the HAProxy read port.
-- Variables: max_course (-D), the same id range wrk draws from.
\set id random(1, :max_course)
\startpipeline
SELECT c.id, c.title, c.description, s.slug, s.name, d.code, d.name, c.duration_weeks, c.price, c.published, c.created_at, c.updated_at FROM courses c JOIN specializations s ON s.id = c.specialization_id JOIN difficulty_levels d ON d.id = c.difficulty_level_id WHERE c.id = :id AND (c.published OR false);
SELECT id, position, name, description, technologies, effort_hours FROM topics WHERE course_id = :id ORDER BY position;
SELECT p.id, p.topic_id, p.title, p.description FROM projects p JOIN topics t ON t.id = p.topic_id WHERE t.course_id = :id ORDER BY p.topic_id, p.id;
SELECT u.id, u.first_name, u.last_name, cs.role, COALESCE(tp.photo_url, u.photo_url), tp.workplace FROM course_staff cs JOIN users u ON u.id = cs.user_id LEFT JOIN teacher_profiles tp ON tp.user_id = u.id WHERE cs.course_id = :id ORDER BY array_position(ARRAY['teacher','mentor','reviewer'], cs.role), u.last_name, u.id;
SELECT id, start_date, sales_end_date, seats_total, seats_left FROM course_runs WHERE course_id = :id AND start_date >= current_date ORDER BY start_date, id;
SELECT (SELECT count(DISTINCT p.user_id) FROM purchases p JOIN course_runs r ON r.id = p.course_run_id WHERE r.course_id = :id AND p.status = 'paid'), (SELECT avg(rating)::float8 FROM reviews WHERE course_id = :id), (SELECT count(*) FROM reviews WHERE course_id = :id), (SELECT count(DISTINCT ct.user_id) FROM career_tracks ct JOIN job_applications ja ON ja.career_track_id = ct.id WHERE ct.course_id = :id AND ja.status = 'hired');
\endpipeline
