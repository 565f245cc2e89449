# TAP-style checks shared by the shell test scripts (source it): `check NAME COMMAND...` runs
# the command and prints "ok - NAME" or "not ok - NAME", counting into $passed and $failed.
passed=0
failed=0
check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then
        echo "ok - $name"
        passed=$((passed + 1))
    else
        echo "not ok - $name"
        failed=$((failed + 1))
    fi
}
