#!/bin/sh
# The load generator's entry point in compose. LYCEUM_LOADTEST_DRILL=auto (the default there)
# becomes kill-leader when the drill agent runs (profile `drill`), else none: the benchmark
# profile alone runs the load without the failover drill, and says so. With none, the drill
# command compose sets (lyceum-kill-leader) is dropped too: the load generator runs a
# --drill-command whatever --drill says.
set -eu
if [ "${LYCEUM_LOADTEST_DRILL:-auto}" = auto ]; then
    if lyceum-kill-leader --ready; then
        LYCEUM_LOADTEST_DRILL=kill-leader
    else
        echo "lyceum-loadtest: no drill agent (compose profile drill): running without the failover drill"
        LYCEUM_LOADTEST_DRILL=none
    fi
    export LYCEUM_LOADTEST_DRILL
fi
[ "$LYCEUM_LOADTEST_DRILL" != none ] || unset LYCEUM_LOADTEST_DRILL_COMMAND
exec lyceum-loadtest "$@"
