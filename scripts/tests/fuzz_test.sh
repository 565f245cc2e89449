#!/usr/bin/env bash
#
# Schema-based fuzzing of the whole API from its own OpenAPI document, with schemathesis
# (PyPI, version pinned below). Every operation is called with generated valid and invalid
# input (schemathesis' examples, coverage, fuzzing and stateful phases; the stateful phase
# follows the document's links from each create to the operations on the new resource) and
# every answer is checked with every check schemathesis has (`--checks all`): among them no 5xx,
# status, content type, body and headers as documented, valid input accepted
# (positive_data_acceptance: the document states every limit the API enforces), invalid input
# rejected (negative_data_rejection), auth enforced (ignored_auth), a created resource readable
# and a deleted one gone (ensure_resource_availability, use_after_free), 405 with `Allow` for
# undocumented methods. scripts/tests/fuzz_hooks.py keeps generated valid input within the rules
# JSON Schema cannot state (relative to today, or between two fields); the response-time limit
# and the statuses expected besides schemathesis' defaults are in fuzz_schemathesis.toml.
#
# Three passes, two with a bearer token from a real login (docs/SEEDER.md's known accounts):
#   admin1    staff / admin: every staff route is reachable (edits, reports, drafts, anyone's
#             purchases), so the handlers' success paths and their validation are fuzzed;
#   student1  a buyer: the same operations from the other side, where the answers are 403s,
#             own-data reads and purchases; a student cannot reach the staff handlers' bodies;
#   anonymous no token: public reads, registration and login succeed, everything else is 401.
#
# Needs a running stack (scripts/stack up); uses LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET like
# scripts/stack. A fresh database `lyceum_fuzz` (seeded at scale 0.05, dropped at the end),
# a debug backend on 8280 + offset with its own Redis key prefix. schemathesis is installed
# into a virtualenv under target/ (created on first use, reused while the pin matches).
#
# Deterministic-ish: a fixed example budget and seed per pass (FUZZ_MAX_EXAMPLES, FUZZ_SEED).
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed, after
# printing each failure with the operation, the check and the curl command that reproduces it.
set -euo pipefail

readonly SCHEMATHESIS_VERSION=4.32.5
REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
OFFSET=${LYCEUM_PORT_OFFSET:-0}
BACKEND_ADDR=127.0.0.1:$((8280 + OFFSET))
BASE=http://$BACKEND_ADDR
FUZZ_DB=lyceum_fuzz
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-10}
SEED=${FUZZ_SEED:-20261123}
VENV=$REPO_DIR/target/fuzz-venv
WORK_DIR=$(mktemp -d /tmp/lyceum-fuzz.XXXXXX)
# shellcheck source=scripts/tests/backend_fixture.sh
source scripts/tests/backend_fixture.sh

cleanup() {
    fixture_cleanup
    if [ -n "${FUZZ_KEEP_REPORTS:-}" ]; then echo "# reports kept in $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    echo "# installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "# building the binaries (debug)"
cargo build --locked -q --workspace --bins

fresh_seeded_db "$FUZZ_DB"
# Schemathesis registers hundreds of accounts from 127.0.0.1; the per-address registration
# limit would answer 429 to most of them (tests/api/security_auth.rs covers the limit).
export LYCEUM_AUTH__REGISTRATIONS_PER_ADDRESS=0
start_backend "$BACKEND_ADDR" "lyceum-fuzz-$$"

login() { # login EMAIL PASSWORD: prints the access token
    curl -fsS -m 30 -H 'Content-Type: application/json' \
        -d "{\"email\": \"$1\", \"password\": \"$2\"}" "$BASE/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# The coverage phase runs every check but negative_data_rejection and positive_data_acceptance:
# schemathesis 4.32.5's coverage generator builds "missing required property" cases for
# properties no schema requires (PATCH /me without national_id, a company update without
# legal_name) and sends a bare `0` as a "valid" object body, so in those two checks it judges
# its own generator, not the API (seen in a run of 2026-12-06 with the served document listing
# no `required` and `type: object`; another run with the same seed passed). The other phases
# (examples, fuzzing, stateful) run every check.
fuzz() { # fuzz NAME TOKEN SEED PHASES [ARGS...]: one schemathesis run (no token: anonymous); console output in WORK_DIR/NAME.txt
    local name=$1 token=$2 seed=$3 phases=$4 status=0
    shift 4
    fuzz_once "$name" "$token" "$seed" "$phases" "$@" || status=$?
    # schemathesis 4.32.5 now and then stops one operation of the admin coverage run with an
    # internal "Runtime Error" (3 of 6 runs on 2026-12-06, no check failed): hypothesis'
    # "AST constructor recursion depth mismatch" while describing a lambda, a race between the
    # two workers' threads. That is the tool, not the API. Such a run (errors, no failure) is printed and run once more;
    # any check failure fails at once.
    if [ "$status" != 0 ] && grep -q 'Errored: [1-9]' "$WORK_DIR/$name.txt" &&
        ! grep -q '^=* FAILURES =*$' "$WORK_DIR/$name.txt"; then
        echo "# $name: schemathesis stopped with an internal error and no failed check; running it once more"
        status=0
        fuzz_once "$name" "$token" "$seed" "$phases" "$@" || status=$?
    fi
    return "$status"
}

fuzz_once() { # the arguments of fuzz: one schemathesis run, its failures and errors printed
    local name=$1 token=$2 seed=$3 phases=$4 status=0 auth=()
    shift 4
    [ -z "$token" ] || auth=(--header "Authorization: Bearer $token")
    SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=$REPO_DIR/scripts/tests \
    "$VENV/bin/schemathesis" --config-file scripts/tests/fuzz_schemathesis.toml \
        run "$BASE/api/v1/openapi.json" "${auth[@]}" \
        --checks all "$@" --max-examples "$MAX_EXAMPLES" --seed "$seed" \
        --phases "$phases" --workers 2 --request-timeout 30 \
        --suppress-health-check all --no-color \
        --report junit --report-dir "$WORK_DIR/$name-report" >"$WORK_DIR/$name.txt" 2>&1 || status=$?
    grep -E '^(Test cases:|  [0-9]+ generated)' -A1 "$WORK_DIR/$name.txt" | sed "s/^/# $name: /"
    if [ "$status" != 0 ]; then
        echo "# $name: schemathesis exited $status; its failures:"
        sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,/^=* SUMMARY =*$/p' "$WORK_DIR/$name.txt" | head -150 | sed 's/^/#   /'
        tail -25 "$WORK_DIR/$name.txt" | sed 's/^/#   /'
    fi
    return "$status"
}

operations=$(curl -fsS "$BASE/api/v1/openapi.json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print(sum(1 for item in doc["paths"].values() for m in item if m in ("get", "post", "put", "patch", "delete")))')
echo "# $operations operations in the document; $MAX_EXAMPLES examples per operation and phase"

for pass in "admin admin1@lyceum.test admin-password" "student student1@lyceum.test student-password" "anonymous"; do
    read -r name email password <<<"$pass"
    token=""
    if [ -n "${email:-}" ]; then
        token=$(login "$email" "$password") || token=""
        check "$name: logged in as $email" test -n "$token"
        [ -n "$token" ] || continue
    fi
    # Logging out and changing the password end the pass's own session (its one token would
    # answer 401 from then on); with a token they are left to backend/tests/api/sessions.rs.
    # So do a role change and a deactivation of a random id (the pass's own account, or the
    # next pass's): with a token they are left to backend/tests/api/accounts.rs.
    ends_session=()
    [ -z "$token" ] || ends_session=(--exclude-operation-id logout --exclude-operation-id change_password
        --exclude-operation-id set_role --exclude-operation-id deactivate)
    started=$SECONDS
    check "$name: all $operations operations fuzzed (examples, fuzzing, stateful), every check passed" \
        fuzz "$name" "$token" "$SEED" examples,fuzzing,stateful "${ends_session[@]}"
    check "$name: coverage phase (boundary and invalid values), every check but the two above" \
        fuzz "$name-coverage" "$token" "$SEED" coverage --exclude-checks negative_data_rejection,positive_data_acceptance "${ends_session[@]}"
    echo "# $name pass: $((SECONDS - started)) s"
    # schemathesis leaves out the operation that serves the document itself.
    check "$name: every operation but the document's own (and the excluded) was tested" \
        grep -q "Tested: $((operations - 1 - ${#ends_session[@]} / 2))\$" "$WORK_DIR/$name.txt"
done
check "the backend logged no panic" bash -c "! grep -qi 'panicked' '$WORK_DIR/backend.log'"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
