# shellcheck shell=bash
# Sourced by compose_test.sh after its leader-kill run: the partition drills (docs/FAULTS.md,
# "Network partitions"). The killed node is started again; then, for each role in
# $PARTITIONS (leader, replica, etcd), a short load run whose drill cuts that node off the
# compose network for 20 s through the drill agent (`lyceum-drill partition ROLE 20`:
# `docker network disconnect`, not a kill) and connects it again. Checked per run: the drill
# saw what it waits for (for the leader: it demoted itself, another node led, it streams
# again and how it rejoined), no request failed other than writes while no leader existed,
# and the ledger: nothing acknowledged lost or duplicated. In the leader's run one
# acknowledged purchase is deleted on purpose after the drill, and the ledger must report
# exactly that one lost: the check can fail.
# Uses compose(), report_json, cluster_leader, patroni_curl, patroni_port, check, ok, not_ok,
# note, since, $REPORT_DIR and $WORK_DIR of compose_test.sh.
# shellcheck disable=SC2154

# How many replicas stream from the leader (its pg_stat_replication through Patroni).
streaming_replicas() {
    local leader
    leader=$(cluster_leader) || { echo 0; return; }
    patroni_curl "https://127.0.0.1:$(patroni_port "$leader")/patroni" 2>/dev/null |
        python3 -c 'import json,sys; print(sum(r.get("state") == "streaming" for r in json.load(sys.stdin).get("replication", [])))' \
        2>/dev/null || echo 0
}
wait_whole_cluster() { # wait_whole_cluster SECONDS: a leader and two streaming replicas
    local t=$SECONDS
    until [ "$(streaming_replicas)" = 2 ]; do
        [ $((SECONDS - t)) -lt "$1" ] || return 1
        sleep 1
    done
}
# SQL on the leader's own socket, inside its container (no client needed on the host).
leader_sql() {
    local leader
    leader=$(cluster_leader) || return 1
    compose exec -T "$leader" psql -h "/var/lib/lyceum/$leader/sock" -d lyceum -XAtqc "$1"
}
partition_json() { report_json "$REPORT_DIR/partition-$1/drill.json" "$2"; } # partition_json ROLE EXPRESSION

run_partition() { # run_partition ROLE
    local role=$1 dir=$REPORT_DIR/partition-$1 status=0 first_id tampered='' t=$SECONDS
    first_id=$(leader_sql "SELECT coalesce(max(id), 0) FROM purchases") || first_id=''
    # 3 s up, 50 s of load, the cut at 10 s (20 s long, longer while the leader's steps last:
    # it rejoins 38-49 s after the cut, and the purchase deleted on purpose must be gone
    # before the load ends and the ledger is checked, hence 70 s of load for the leader).
    local duration=50
    [ "$role" != leader ] || duration=70
    compose run --rm --no-deps -T -e LYCEUM_LOADTEST_DRILL=partition \
        -e "LYCEUM_LOADTEST_DRILL_COMMAND=lyceum-drill partition $role 20" \
        -e LYCEUM_LOADTEST_DRILL_AT=10 -e "LYCEUM_LOADTEST_DURATION=$duration" \
        -e "LYCEUM_LOADTEST_REPORT_DIR=/reports/partition-$role" -e LYCEUM_LOADTEST_METRICS_ADDR=off \
        loadtest >"$WORK_DIR/partition-$role.log" 2>&1 &
    local load_pid=$!
    if [ "$role" = leader ] && [ -n "$first_id" ]; then
        # Once the drill has finished (the load generator says so while the load still runs):
        # delete the run's first purchase that is at least 10 s old, and give its seat back,
        # so only "lost" moves.
        until grep -q 'drill: .* finished after' "$WORK_DIR/partition-$role.log" 2>/dev/null ||
            ! kill -0 "$load_pid" 2>/dev/null; do sleep 1; done
        kill -0 "$load_pid" 2>/dev/null ||
            note "partition leader: the load ended before the drill did; the deletion below comes after the ledger check"
        tampered=$(leader_sql "WITH v AS (DELETE FROM purchases WHERE id = (SELECT min(id) FROM purchases
                WHERE id > $first_id AND created_at < now() - interval '10 seconds') RETURNING id, course_run_id, status),
            s AS (UPDATE course_runs r SET seats_left = seats_left + 1 FROM v
                WHERE r.id = v.course_run_id AND v.status IN ('pending', 'paid'))
            SELECT id FROM v") || tampered=''
    fi
    wait "$load_pid" || status=$?
    note "partition $role: load run done after $(since "$t") (exit $status)"
    sed -n '/^Load:/,$p' "$WORK_DIR/partition-$role.log" | sed 's/^/#   /'
    sed 's/^/#   drill: /' "$dir/drill-command.log" 2>/dev/null || true
    if [ ! -s "$dir/drill.json" ]; then
        not_ok "partition $role: the load generator wrote drill.json"
        tail -30 "$WORK_DIR/partition-$role.log" | sed 's/^/#   /'
        return
    fi
    check "partition $role: the drill cut the node off, connected it again and saw it recover" \
        test "$(partition_json "$role" 'r["drill"]["succeeded"]')" = True
    local log=$dir/drill-command.log
    case $role in
        leader)
            check "partition leader: the cut-off leader stopped taking writes ($(sed -n 's/^old leader [^ ]* \([a-z-]*\) after \([0-9.]*\) s.*/\1 after \2 s/p' "$log"))" \
                grep -Eq '^old leader .* (read-only|stopped) after' "$log"
            check "partition leader: another node led" grep -q '^new leader .* after' "$log"
            check "partition leader: the old leader streams from the new one again" grep -q ' streams from .* again' "$log"
            check "partition leader: how it rejoined is reported ($(sed -n 's/^rejoined as a replica by: //p' "$log"))" \
                grep -q '^rejoined as a replica by: ' "$log" ;;
        replica) check "partition replica: the sync standby streams again" grep -q ' streams from .* again' "$log" ;;
        etcd) check "partition etcd: the member is healthy again" grep -q ' healthy again after' "$log" ;;
    esac
    check "partition $role: no read failed ($(partition_json "$role" 'r["reads"]["failures"]') of $(partition_json "$role" 'r["reads"]["requests"]'))" \
        test "$(partition_json "$role" 'r["reads"]["failures"]')" = 0
    check "partition $role: no 5xx other than 503 ($(partition_json "$role" 'dict(r["failed_requests_by_status"])'))" \
        test "$(partition_json "$role" 'sorted(s for s in r["failed_requests_by_status"] if s not in ("503", "error"))')" = "[]"
    check "partition $role: reads and writes recovered" \
        test "$(partition_json "$role" 'r["reads"]["recovery_s"] is not None and r["writes"]["recovery_s"] is not None')" = True
    check "partition $role: purchases were acknowledged and checked ($(partition_json "$role" 'l.get("acknowledged_purchases")'))" \
        test "$(partition_json "$role" 'l.get("acknowledged_purchases", 0) > 0')" = True
    check "partition $role: no acknowledged purchase duplicated, no run oversold" \
        test "$(partition_json "$role" 'bool(l) and not (l["duplicated"] or l["oversold"])')" = True
    if [ "$role" = leader ]; then
        check "partition leader: one acknowledged purchase deleted on purpose (${tampered:-none})" test -n "$tampered"
        check "partition leader: the ledger reports exactly that one lost (verdict failed, exit $status)" \
            test "$(partition_json leader '[sorted(f["ack"]["purchase_id"] for f in l["lost"]), r["passed"]]')" = "[[${tampered:-0}], False]"
    else
        check "partition $role: nothing acknowledged lost, the verdict passed (exit $status)" \
            test "$(partition_json "$role" 'r["passed"] and not l["lost"]')" = True
    fi
    check "partition $role: the cluster is whole again (a leader, two streaming replicas)" wait_whole_cluster 60
}

if [ -n "$PARTITIONS" ]; then
    t=$SECONDS
    killed=$(for s in pg1 pg2 pg3; do
        id=$(compose ps -a -q "$s" 2>/dev/null) && [ -n "$id" ] &&
            [ "$(docker inspect -f '{{.State.Status}}' "$id")" = exited ] && echo "$s"
    done; true)
    note "partitions ($PARTITIONS): starting ${killed:-no node} and the drill agent again"
    # shellcheck disable=SC2086 # no node or one
    compose start $killed drill-agent >"$WORK_DIR/start.log" 2>&1 || sed 's/^/#   /' "$WORK_DIR/start.log"
    if wait_whole_cluster 120; then ok "the killed node is back: a leader and two streaming replicas ($(since "$t"))"
    else not_ok "the killed node is back: a leader and two streaming replicas (waited $(since "$t"))"; fi
    for role in $PARTITIONS; do run_partition "$role"; done
    note "partitions took $(since "$t")"
fi
