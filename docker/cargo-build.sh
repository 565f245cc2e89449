#!/bin/sh
#
# docker/app.Dockerfile's build step: cargo build of the workspace into a target directory
# that is a BuildKit cache mount (it outlives the build), then the binaries to /out.
#
# cargo decides what to recompile by the sources' modification times, and in an image build
# those are not to be trusted: a cached COPY layer keeps the times of whichever context
# made it, and a context copied with its times preserved can hold a changed file older than
# the last build (cargo would then ship a stale binary). So freshness is decided by content
# instead: each source is compared with the copy the last build kept in the cache; an equal
# file gets that copy's (old) time back, a changed or new one the current time. A one-line
# change recompiles its crate and what depends on it; a fresh clone with no change,
# nothing. (A file added or removed rebuilds the workspace crates, as a directory's time
# is all cargo has to notice it.)
#
# usage: cargo-build.sh PROFILE   (run in the workspace root, /src)
set -eu

profile=$1
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
snapshot=target/lyceum-sources-of-last-build
list=/tmp/lyceum-sources
find Cargo.toml Cargo.lock migrations db backend seeder loadtest -type f | sort >"$list"

changed=0
while IFS= read -r f; do
    if cmp -s "$f" "$snapshot/$f"; then
        touch -r "$snapshot/$f" "$f"
    else
        touch "$f"
        changed=$((changed + 1))
    fi
done <"$list"
# Directories too: db/build.rs watches migrations/ as a directory, and cargo counts the
# directories' times there, which a COPY sets anew. They get a fixed old time, unless a file
# was added or removed since the last build (then the current time, so it is noticed).
if [ -d "$snapshot" ] && (cd "$snapshot" && find Cargo.toml Cargo.lock migrations db backend seeder loadtest -type f | sort) 2>/dev/null | cmp -s - "$list"; then
    dir_time=200001010000
else
    dir_time=$(date +%Y%m%d%H%M.%S)
fi
find Cargo.toml Cargo.lock migrations db backend seeder loadtest -type d -exec touch -t "$dir_time" {} +
echo "cargo-build.sh: $changed of $(wc -l <"$list") source files changed since the last build in this cache"

# Gone until cargo has succeeded: after a failed or interrupted build the target directory
# may hold newer artefacts than the snapshot describes, so the next build counts every file
# as changed.
rm -rf "$snapshot"
cargo build --profile "$profile" --locked --workspace --bins

mkdir -p "$snapshot"
while IFS= read -r f; do cp -a --parents "$f" "$snapshot/"; done <"$list"
mkdir -p /out
cp "target/$dir/lyceum-backend" "target/$dir/lyceum-migrate" "target/$dir/lyceum-seeder" \
   "target/$dir/lyceum-loadtest" /out/
