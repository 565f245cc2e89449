-- pgbench side of ratio 3 (purchase): every statement the backend sends to PostgreSQL for one
-- new purchase (usecase::purchase::PurchaseService::place and repository::purchase), in the
-- same order, same text, at the default isolation (READ COMMITTED), through the HAProxy
-- write port:
--   the write pool's checkout probe (lyceum_db: a write connection proves it is on the
--   primary each time it leaves the pool), BEGIN, the idempotency-key lookup, the offer,
--   the insert, the seat decrement, the read-back, COMMIT, and the commit position that the
--   read-your-writes fence records.
-- What pgbench does NOT do and the backend does: HTTP, JSON, the bearer token check, and
-- writing the fence to Redis (one SET per purchase).
-- Each client is one buyer (ubase + client_id) walking its own stretch of the bench runs, so
-- (buyer, run) never repeats, as with the backend side. Variables (-D): ubase, rbase, nruns,
-- step, seq=0, tag (a per-run prefix that keeps idempotency keys unique across runs).
\set seq :seq + 1
\set user_id :ubase + :client_id
\set run_id :rbase + ((:client_id * :step + :seq) % :nruns)
\set k random(1, 999999999)
SELECT pg_current_wal_lsn();
BEGIN;
SELECT p.id, p.user_id, p.course_run_id, r.course_id, c.title, pl.code, p.final_price, p.status, p.created_at, p.paid_at, p.cancelled_at, p.refunded_at, p.request_fingerprint FROM purchases p JOIN course_runs r ON r.id = p.course_run_id JOIN courses c ON c.id = r.course_id JOIN plans pl ON pl.id = p.plan_id WHERE p.user_id = :user_id AND p.idempotency_key = 'pgb-' || :tag || '-' || :client_id || '-' || :seq || '-' || :k;
SELECT r.id AS o_run, pl.id AS o_plan, c.price AS o_price, pl.discount_percent AS o_discount, c.published AS o_published, r.sales_end_date >= current_date AS o_on_sale FROM course_runs r JOIN courses c ON c.id = r.course_id JOIN plans pl ON pl.code = 'basic' WHERE r.id = :run_id \gset
\set final_price :o_price * (100 - :o_discount) / 100
INSERT INTO purchases (user_id, course_run_id, plan_id, final_price, idempotency_key, request_fingerprint) VALUES (:user_id, :run_id, :o_plan, :final_price, 'pgb-' || :tag || '-' || :client_id || '-' || :seq || '-' || :k, 'course_run_id=' || :run_id || ';plan=basic') ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id AS purchase_id \gset
UPDATE course_runs SET seats_left = seats_left - 1 WHERE id = :run_id AND seats_left > 0;
SELECT p.id, p.user_id, p.course_run_id, r.course_id, c.title, pl.code, p.final_price, p.status, p.created_at, p.paid_at, p.cancelled_at, p.refunded_at, p.request_fingerprint FROM purchases p JOIN course_runs r ON r.id = p.course_run_id JOIN courses c ON c.id = r.course_id JOIN plans pl ON pl.id = p.plan_id WHERE p.id = :purchase_id;
COMMIT;
SELECT pg_current_wal_lsn()::text;
