#!/usr/bin/env bash
#
# A client generated from the API's own OpenAPI document works: openapi-python-client (PyPI,
# version pinned below) generates a Python package from /api/v1/openapi.json, refusing to go on
# past any warning about the document, and scripts/tests/client_journey.py drives a buyer's
# journey through it against a real backend: register, log in, list courses, read a course,
# buy a seat, pay, review. The client raises on any status the document does not declare.
#
# Needs a running stack (scripts/stack up); uses LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET like
# scripts/stack. A fresh database `lyceum_client` (seeded at scale 0.05, dropped at the end), a
# debug backend on 8580 + offset with its own Redis key prefix. The generator is installed into
# a virtualenv under target/ (created on first use, reused while the pin matches).
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

readonly GENERATOR_VERSION=0.29.1
# The generated models parse dates with python-dateutil, which the generator does not install.
readonly DATEUTIL_VERSION=2.9.0.post0
REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
OFFSET=${LYCEUM_PORT_OFFSET:-0}
BACKEND_ADDR=127.0.0.1:$((8580 + OFFSET))
BASE=http://$BACKEND_ADDR
VENV=$REPO_DIR/target/client-venv
WORK_DIR=$(mktemp -d /tmp/lyceum-client.XXXXXX)
# shellcheck source=scripts/tests/backend_fixture.sh
source scripts/tests/backend_fixture.sh

cleanup() {
    fixture_cleanup
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$("$VENV/bin/openapi-python-client" --version 2>/dev/null)" != "openapi-python-client version: $GENERATOR_VERSION" ]; then
    echo "# installing openapi-python-client $GENERATOR_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        "openapi-python-client==$GENERATOR_VERSION" "python-dateutil==$DATEUTIL_VERSION"
fi

echo "# building the binaries (debug)"
cargo build --locked -q --workspace --bins

fresh_seeded_db lyceum_client
start_backend "$BACKEND_ADDR" "lyceum-client-$$"

curl -fsS "$BASE/api/v1/openapi.json" -o "$WORK_DIR/openapi.json"
version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["info"]["version"])' "$WORK_DIR/openapi.json")
echo "# the document's version: $version (docs/API.md)"

# No post-generation formatter (ruff is not installed, and its absence is itself a warning).
printf 'post_hooks: []\n' >"$WORK_DIR/generator.yaml"
check_quiet "openapi-python-client $GENERATOR_VERSION generates a client from the document without a warning" \
    "$VENV/bin/openapi-python-client" generate --path "$WORK_DIR/openapi.json" \
    --config "$WORK_DIR/generator.yaml" --meta none --fail-on-warning \
    --output-path "$WORK_DIR/client/lyceum_client"
check "the generated client registers, logs in, lists courses, buys, pays and reviews" \
    "$VENV/bin/python" scripts/tests/client_journey.py "$BASE" "$WORK_DIR/client"
check "the backend logged no panic" bash -c "! grep -qi 'panicked' '$WORK_DIR/backend.log'"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
