# shellcheck shell=bash
# The backup drills, shared by scripts/tests/backup_test.sh (short, in CI, with its own stack)
# and `scripts/run-benchmark --drill pitr|total-loss` (full, at seeder scale, under the load
# generator). Source it from the repository root with these set:
#   DRILL_DIR   scratch dir for the ledgers and logs (the postgres user need not read it)
#   DSN         libpq DSN of the write port as the application user
#   STACK       scripts/stack (with LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET exported)
# The acknowledged writes come from scripts/tests/backup_drill.py (one connection buying and
# paying through the write port, every step logged with the client's clock): the ledger the
# drills check the restored cluster against. Each drill sets result variables and leaves the
# verdict to the caller:
#   drill_fixture             students, a course with ten big runs and 200 reviews (USER_BASE,
#                             RUN_IDS, REVIEWS); TAG keeps repeated runs apart
#   drill_pitr                at a recorded time T between two writes, a DELETE of a slice of
#                             purchases and a DROP TABLE reviews; restore --to T; PITR_CHECK
#                             (JSON at T), PITR_CHECK2 (at a later T2: the writes K+1..K2 lost,
#                             which shows the check able to fail), PITR_RTO, PITR_WRITE_S,
#                             PITR_ATTEMPTS (2 when the first restore failed)
#   drill_total_loss          every node killed and its data directory deleted under the
#                             writes; restore --latest; LOSS_CHECK, LOSS_RTO, LOSS_WRITE_S
readonly DRILL_PY=(/usr/bin/python3 scripts/tests/backup_drill.py)
readonly DRILL_PSQL=/usr/lib/postgresql/15/bin/psql
readonly ARCHIVE_TIMEOUT=60
WRITER=""

now() { date +%s.%N; }
sql() { PGCONNECT_TIMEOUT=3 timeout 300 "$DRILL_PSQL" -X -A -t -q -v ON_ERROR_STOP=1 "$DSN" -c "$1"; }
: "${T0:=$(now)}"
# Comment lines carry the seconds since the start, to see where the time goes.
note() { printf '# [%5.1f s] %s\n' "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { print b - a }')" "$*"; }

# Runs the stack command, output to $DRILL_DIR/last.log (shown on failure), bounded.
stack() {
  if ! timeout "${LYCEUM_BACKUP_TEST_STEP_TIMEOUT:-300}" "$STACK" "$@" >"$DRILL_DIR/last.log" 2>&1; then
    sed 's/^/#   | /' "$DRILL_DIR/last.log"
    return 1
  fi
}

start_writer() { # PREFIX FIRST
  rm -f "$DRILL_DIR/stop"
  "${DRILL_PY[@]}" write --dsn "$DSN" --log "$DRILL_DIR/$1.log" --prefix "$1" --first "$2" \
    --seconds 900 --stop-file "$DRILL_DIR/stop" --user-base "$USER_BASE" --run-ids "$RUN_IDS" &
  WRITER=$!
}
stop_writer() { touch "$DRILL_DIR/stop"; wait "$WRITER" || true; WRITER=""; }
acks() { [[ -e $DRILL_DIR/$1.log ]] || { echo 0; return; }; grep -c '^A ' "$DRILL_DIR/$1.log" || true; }
wait_acks() { # PREFIX N: until the writer has N more acknowledged purchases (max 30 s)
  local want=$(( $(acks "$1") + $2 ))
  for _ in $(seq 150); do (( $(acks "$1") >= want )) && return 0; sleep 0.2; done
  return 1
}
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
show_steps() { grep -E '^ |^restore done' "$DRILL_DIR/last.log" | sed 's/^ */#   /'; }
restore_seconds() { sed -n 's/^restore done in \([0-9.]*\) s: writes accepted after \([0-9.]*\) s.*/\1 \2/p' "$DRILL_DIR/last.log"; }

drill_fixture() { # TAG
  local tag=$1
  sql "INSERT INTO specializations (slug, name) VALUES ('backup-drill-$tag', 'Backup drill $tag');
       INSERT INTO users (email, password_hash, first_name, last_name, birth_date)
         SELECT 'u' || g || '@drill-$tag.test', '\$argon2id\$drill', 'U', 'D', '1990-01-01' FROM generate_series(1, 2000) g;
       INSERT INTO courses (title, specialization_id, difficulty_level_id, duration_weeks, price, published)
         SELECT 'Backup drill $tag', id, 1, 4, 1000, true FROM specializations WHERE slug = 'backup-drill-$tag';
       INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
         SELECT max(id), DATE '2030-01-01', DATE '2029-12-01', 100000, 100000 FROM courses, generate_series(1, 10) GROUP BY generate_series;
       INSERT INTO reviews (user_id, course_id, rating)
         SELECT u.id, (SELECT max(id) FROM courses), 5 FROM users u WHERE u.email LIKE '%@drill-$tag.test' ORDER BY u.id LIMIT 200;"
  USER_BASE=$(sql "SELECT min(id) FROM users WHERE email LIKE '%@drill-$tag.test'")
  RUN_IDS=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM course_runs WHERE course_id = (SELECT max(id) FROM courses)")
  # The drill's own reviews (its students cannot log in): under the load generator other
  # reviews come and go, on this course too.
  DRILL_REVIEWS="SELECT count(*) FROM reviews WHERE user_id BETWEEN $USER_BASE AND $USER_BASE + 1999"
  REVIEWS=$(sql "$DRILL_REVIEWS")
}
# The dropped table is back with the drill's reviews.
reviews_back() { [ "$(sql "$DRILL_REVIEWS")" = "$REVIEWS" ]; }

# "K T": the first pause between two of the pitr writer's writes after now. Asked again for up to
# 30 s: right after a failover the writer may not have acknowledged anything since (a CI run
# picked no T at all when it asked once).
gap_after_now() {
  local after
  after=$(now)
  for _ in $(seq 60); do
    "${DRILL_PY[@]}" gap --log "$DRILL_DIR/pitr.log" --after "$after" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "- -"
}

# The PITR drill (writer "pitr" already running). Returns the restore's status.
drill_pitr() {
  # T: a pause between two writes a moment from now; T2: a later pause, still before the
  # destructive statements.
  read -r PITR_K PITR_T < <(sleep 1; gap_after_now)
  wait_acks pitr 15 || true
  read -r PITR_K2 PITR_T2 < <(gap_after_now)
  wait_acks pitr 3 || true
  PITR_DELETED=$(sql "WITH d AS (DELETE FROM purchases WHERE id % ${DRILL_DELETE_MODULO:-3} = 0 RETURNING 1) SELECT count(*) FROM d")
  wait_acks pitr 5 || true
  sql "DROP TABLE reviews"
  wait_acks pitr 5 || true
  stop_writer
  note "T = $(date -u -d "@$PITR_T" '+%H:%M:%S.%N') after write $PITR_K; T2 after write $PITR_K2; then DELETE of $PITR_DELETED purchases and DROP TABLE reviews; $(acks pitr) purchases acknowledged in all"
  local rc=0 target
  target=$(date -u -d "@$PITR_T" '+%Y-%m-%d %H:%M:%S.%N+00')
  # Once in CI a restore's bootstrap gave up (Patroni: "Failed to bootstrap cluster") and the
  # cause was not in the output; the restore now prints the node's recovery story. What an
  # operator would do next is run it again: so does the drill, saying so (PITR_ATTEMPTS).
  PITR_ATTEMPTS=1
  if ! stack restore --to "$target"; then
    note "restore --to T failed (above); running it once more"
    PITR_ATTEMPTS=2
    stack restore --to "$target" || rc=$?
  fi
  show_steps
  read -r PITR_RTO PITR_WRITE_S < <(restore_seconds)
  PITR_CHECK=$("${DRILL_PY[@]}" check --dsn "$DSN" --log "$DRILL_DIR/pitr.log" --prefix pitr --before "$PITR_T" || true)
  note "check at T: $PITR_CHECK"
  PITR_CHECK2=$("${DRILL_PY[@]}" check --dsn "$DSN" --log "$DRILL_DIR/pitr.log" --prefix pitr --before "$PITR_T2" || true)
  return "$rc"
}

pitr_ok() {
  [[ $(json_field "$PITR_CHECK" lost) == 0 && $(json_field "$PITR_CHECK" duplicated) == 0 &&
     $(json_field "$PITR_CHECK" after_target) == 0 && $(json_field "$PITR_CHECK" payments_lost) == 0 &&
     $(json_field "$PITR_CHECK" runs_inconsistent) == 0 && $(json_field "$PITR_CHECK" acknowledged_before) -gt 0 ]]
}

# Measured against T2, the restore to T is a restore to before writes K+1..K2: prints the
# writes reported lost and the expected ones.
pitr_lost_at_t2() {
  echo "$(/usr/bin/python3 -c 'import json,sys; print(",".join(map(str, json.loads(sys.argv[1])["lost_keys"])))' "$PITR_CHECK2") $(seq -s, $((PITR_K + 1)) "$PITR_K2")"
}

# The total-loss drill. Returns the restore's status.
drill_total_loss() {
  start_writer loss 10000
  wait_acks loss 100 || note "writer slow"
  local kills=() n
  for n in pg1 pg2 pg3; do "$STACK" kill "$n" >/dev/null 2>&1 & kills+=($!); done
  wait "${kills[@]}" || true
  # Every node is dead: nothing can be acknowledged after this, so every acknowledgement
  # before it counts.
  LOSS_AT=$(now)
  stop_writer
  rm -rf "$LYCEUM_RUN_DIR"/pg{1,2,3}/data
  note "all three nodes killed and their data directories deleted after $(acks loss) acknowledged purchases"
  local rc=0
  stack restore --latest || rc=$?
  show_steps
  read -r LOSS_RTO LOSS_WRITE_S < <(restore_seconds)
  LOSS_CHECK=$("${DRILL_PY[@]}" check --dsn "$DSN" --log "$DRILL_DIR/loss.log" --prefix loss --before "$LOSS_AT" || true)
  note "check at the loss: $LOSS_CHECK"
  return "$rc"
}

loss_ok() {
  [[ $(json_field "$LOSS_CHECK" duplicated) == 0 && $(json_field "$LOSS_CHECK" runs_inconsistent) == 0 &&
     $(json_field "$LOSS_CHECK" after_target) == 0 ]] &&
  awk -v age="$(json_field "$LOSS_CHECK" oldest_lost_ack_age)" -v bound="$ARCHIVE_TIMEOUT" 'BEGIN { exit !(age <= bound + 5) }'
}
