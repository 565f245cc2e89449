#!/usr/bin/env bash
#
# Installs Docker Compose v2 (the `docker compose` CLI plugin) where it is missing, from
# Debian trixie's `docker-compose` package: that package carries the plugin as one static
# Go binary that needs only libc, so it runs on bookworm. Only the binary is extracted
# into /usr/local/lib/docker/cli-plugins/; dpkg's database is not touched, so Debian's
# docker-compose 1.29 (bookworm) stays installed beside it.
#
# The package comes through apt itself, with a private apt directory holding only trixie's
# sources: apt checks the Release signature (debian-archive-keyring) and the .deb's hash.
# Needs root, apt-get, dpkg-deb and Debian's mirror (LYCEUM_DEBIAN_MIRROR, else the first
# /debian URI of apt's sources, else deb.debian.org).
#
# Prints the installed version; exits 0 at once if `docker compose version` already
# reports MIN_VERSION or later.
set -euo pipefail

readonly MIN_VERSION=${LYCEUM_COMPOSE_MIN_VERSION:-2.26.0}
readonly PLUGIN_DIR=${LYCEUM_COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
readonly SUITE=trixie

say() { printf 'install_compose_v2: %s\n' "$*"; }
die() { printf 'install_compose_v2: error: %s\n' "$*" >&2; exit 1; }

# "2.26.1" from `docker compose version --short` ("2.26.1", "v2.29.0", "2.26.1+ds1-4").
installed_version() {
    local v
    v=$(docker compose version --short 2>/dev/null) || return 1
    v=${v#v}
    echo "${v%%[+-]*}"
}
at_least() { # at_least HAVE WANT
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

if have=$(installed_version) && at_least "$have" "$MIN_VERSION"; then
    say "docker compose $have is installed (>= $MIN_VERSION)"
    exit 0
fi

(( EUID == 0 )) || die "docker compose >= $MIN_VERSION is missing and installing it needs root"
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    die "needs apt-get and dpkg-deb (Debian)"
fi

mirror() {
    if [[ -n ${LYCEUM_DEBIAN_MIRROR:-} ]]; then echo "$LYCEUM_DEBIAN_MIRROR"; return; fi
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [[ -r $f ]] || continue
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i } /^deb / { print ($2 ~ /^\[/ ? $3 : $2) }' "$f" |
              grep -E '^https?://[^ ]*/debian/?$' | head -1) || true
        if [[ -n $uri ]]; then echo "${uri%/}"; return; fi
    done
    echo http://deb.debian.org/debian
}

work=$(mktemp -d /var/tmp/lyceum-compose-v2.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The _apt user downloads into it.
chmod 755 "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
echo "deb $(mirror) $SUITE main" >"$work/sources.list"
touch "$work/status"
apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::State::Status=$work/status"
    -o "APT::Architecture=$(dpkg --print-architecture)" -o Acquire::Languages=none
    # Only the Packages index: no AppStream metadata, icons or translations.
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::CNF::DefaultEnabled=false
)
say "apt-get update ($SUITE main, private apt directory)"
apt-get "${apt_opts[@]}" -qq update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get update failed"; }
(cd "$work/deb" && apt-get "${apt_opts[@]}" -qq download docker-compose >>"$work/apt.log" 2>&1) ||
    { cat "$work/apt.log" >&2; die "apt-get download docker-compose failed"; }
deb=$(ls "$work"/deb/docker-compose_*.deb)
say "extracting the plugin from $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/libexec/docker/cli-plugins/docker-compose
install -D -m 755 "$work/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
have=$(installed_version) || die "docker compose does not run after installing $PLUGIN_DIR/docker-compose"
at_least "$have" "$MIN_VERSION" || die "installed docker compose $have, older than $MIN_VERSION"
say "docker compose $have installed in $PLUGIN_DIR"
