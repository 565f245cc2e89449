# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Debian packages the stack needs, and the binaries it checks before a start.

missing_packages() {
  local installed p
  # One dpkg-query for all; unknown packages are simply not listed.
  # (dpkg-query exits 1 when any of them is unknown.)
  installed=" $({ dpkg-query -W -f='${Package}:${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true; } |
                awk -F: '$2 == "install ok installed" { printf "%s ", $1 }') "
  for p in "${PACKAGES[@]}"; do
    [[ $installed == *" $p "* ]] || echo "$p"
  done
}

cmd_install() {
  local missing
  mapfile -t missing < <(missing_packages)
  if (( ${#missing[@]} == 0 )); then
    say "all packages present: ${PACKAGES[*]}"
    return 0
  fi
  (( EUID == 0 )) || die "missing packages: ${missing[*]} (run 'sudo scripts/stack install')"
  say "installing: ${missing[*]}"
  # Debian's maintainer scripts would start etcd on 2379, redis on 6379,
  # haproxy, and a PostgreSQL 15/main cluster on 5432. A policy-rc.d that
  # answers 101 ("action forbidden") stops that; remove it only if it is ours.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from lyceum scripts/stack install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    # shellcheck disable=SC2064  # expand now
    trap "rm -f '$policy'" EXIT
  fi
  local rc=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; } || rc=$?
  if (( own_policy )); then rm -f "$policy"; trap - EXIT; fi
  (( rc == 0 )) || die "apt-get failed (exit $rc)"
  mapfile -t missing < <(missing_packages)
  (( ${#missing[@]} == 0 )) || die "still missing after install: ${missing[*]}"
  say "installed"
}

check_prerequisites() {
  local b
  for b in "$PG_BIN/postgres" "$PG_BIN/psql" /usr/bin/patroni /usr/bin/etcd /usr/bin/etcdctl \
           /usr/sbin/haproxy /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/curl /usr/bin/jq "$PYTHON"; do
    [[ -x $b ]] || die "$b not found (run 'scripts/stack install')"
  done
  if (( MONITORING )); then
    for b in /usr/bin/prometheus /usr/bin/prometheus-postgres-exporter /usr/bin/prometheus-redis-exporter; do
      [[ -x $b ]] || die "$b not found (run 'scripts/stack install', or LYCEUM_MONITORING=off)"
    done
  fi
  if (( EUID == 0 )); then
    id postgres >/dev/null 2>&1 || die "OS user 'postgres' does not exist (run 'scripts/stack install')"
  fi
  # Unix socket paths are limited to 107 bytes.
  local sock
  sock="$RUN_DIR/pg1/sock/.s.PGSQL.$(pg_port pg1)"
  (( ${#sock} <= 107 )) || die "run dir path too long for a unix socket ($sock); set a shorter LYCEUM_RUN_DIR"
}

# scripts/stack help COMMAND
help_install() {
  say "usage: scripts/stack install
  apt-get install the Debian packages the stack needs if any is missing
  (${PACKAGES[*]}). Debian's own services are kept from starting."
}
