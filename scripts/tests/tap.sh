# shellcheck shell=bash
# TAP-style checks shared by the shell test scripts (source it; the only copy of these helpers).
# Results are counted into $passed and $failed; each script prints "$passed passed, $failed failed".
#   check NAME COMMAND...        runs the command, its output as it comes; "ok - NAME" or "not ok - NAME"
#   check_quiet NAME COMMAND...  the same, but the output is shown (indented) only when it fails
#   ok NAME / not_ok NAME        records an outcome the script decided itself
#   expect_failure PATTERN COMMAND...  (inside a check) the command fails, saying PATTERN
# COMMAND runs in a subshell, so a shell function that gives up with `exit 1` fails only its
# own check, and `set -e` in the caller does not stop the script at a failing check.
passed=0
failed=0
ok() { # ok NAME
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() { # not_ok NAME
    echo "not ok - $*"
    failed=$((failed + 1))
}
check() { # check NAME COMMAND...
    local name=$1
    shift
    if ("$@"); then ok "$name"; else not_ok "$name"; fi
}
check_quiet() { # check_quiet NAME COMMAND...
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        not_ok "$name"
        printf '    | %s\n' "${out//$'\n'/$'\n'    | }"
    fi
}

expect_failure() { # expect_failure PATTERN COMMAND...: fails, and says PATTERN
    local pattern=$1 out
    shift
    if out=$("$@" 2>&1); then echo "succeeded but should not: $out"; return 1; fi
    [[ $out == *"$pattern"* ]] || { echo "failed without '$pattern': $out"; return 1; }
}
