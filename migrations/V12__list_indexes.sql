-- Long lists that read a page without scanning the whole table (issue 23, item 4). Measured
-- by scripts/bench-scale: at scale 40 the staff's account list reached p99 397-587 ms and the
-- career tracks list 223 ms, each sorting or filtering every row for one page.

-- `GET /users?role=staff&position=…`, ordered by id: an index range in id order. (V1's
-- partial users_staff_position_idx has no id, so the page needed a sort of every match, and
-- its predicate `role = 'staff'` cannot be proven from a bound `role = $1`.)
CREATE INDEX users_role_position_id_idx ON users (role, staff_position, id);
DROP INDEX users_staff_position_idx;

-- `GET /users?active=false`: the deactivated accounts are few, so the page came from a scan
-- of every user in id order. The list's SQL names `deactivated_at IS NOT NULL` literally, so
-- this partial index serves it in a generic plan too.
CREATE INDEX users_deactivated_id_idx ON users (id) WHERE deactivated_at IS NOT NULL;

-- `GET /users?email=…` (any part of the address, ignoring case): a trigram index, so a search
-- reads the few matching accounts instead of every user (scale 40: 326 ms for one match among
-- 400 000). pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner may
-- create it. Searches shorter than three characters still read every user.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trgm_idx ON users USING gin (lower(email) gin_trgm_ops);

-- `GET /career/tracks` for staff, newest first: the first pages in index order instead of a
-- sort of every track.
CREATE INDEX career_tracks_created_idx ON career_tracks (created_at DESC, id DESC);
