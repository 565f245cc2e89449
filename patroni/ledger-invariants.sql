-- The ledger invariants of a restored lyceum database, each a count that must be 0: every
-- purchase once (by id and by the client's idempotency key, counted without indexes so a
-- damaged index cannot hide a duplicate) and seats consistent for every run (seats_left =
-- seats_total - pending/paid purchases, 0 for runs the seeder sold out). verify-backup runs
-- it (scripts/stack.d/backup.sh, docker/backup/lyceum-backup) with psql -A -t: "name|count".
SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
SELECT 'purchases duplicated by id', count(*) - count(DISTINCT id) FROM purchases;
SELECT 'purchases duplicated by key', count(*) FROM
  (SELECT user_id, idempotency_key FROM purchases GROUP BY 1, 2 HAVING count(*) > 1) d;
SELECT 'runs whose seats do not add up', count(*) FROM course_runs r
  LEFT JOIN (SELECT course_run_id, count(*) AS n FROM purchases
             WHERE status IN ('pending', 'paid') GROUP BY 1) p ON p.course_run_id = r.id
  WHERE r.seats_left < 0 OR r.seats_left <> greatest(r.seats_total - coalesce(p.n, 0), 0);
