#!/bin/sh
# The load generator's entry point in compose. LYCEUM_LOADTEST_DRILL=auto (the default there)
# becomes kill-leader when the drill agent runs (profile `drill`), else none: the benchmark
# profile alone runs the load without the failover drill, and says so.
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
exec lyceum-loadtest "$@"
