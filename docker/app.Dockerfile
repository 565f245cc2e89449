# lyceum-backend (with lyceum-migrate), lyceum-seeder and lyceum-loadtest: one builder stage
# compiles the whole workspace once; each final stage copies one binary into a slim,
# non-root Debian runtime. docker-compose.yml picks the stage with `target:`.
#
# Build arguments (docker-compose.yml passes them from .env):
#   RUST_IMAGE     builder base: rust:1.95-slim-bookworm, or offline the image made by
#                  scripts/docker-images (lyceum-local/rust:1.95-bookworm)
#   DEBIAN_IMAGE   runtime base: debian:bookworm-slim, or offline lyceum-local/debian:bookworm
#   CARGO_PROFILE  release (default) | dev (docs/DOCKER.md)
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
ARG CARGO_PROFILE=release
WORKDIR /src
# 1. Dependencies, in a layer of their own: only the manifests and stub sources, so editing
#    the code does not recompile the ~400 crates below it.
COPY Cargo.toml Cargo.lock ./
COPY db/Cargo.toml db/build.rs db/
COPY backend/Cargo.toml backend/
COPY seeder/Cargo.toml seeder/
COPY loadtest/Cargo.toml loadtest/
RUN set -eu; \
    for c in db backend seeder loadtest; do \
        mkdir -p "$c/src"; echo '' >"$c/src/lib.rs"; echo 'fn main() {}' >"$c/src/main.rs"; \
    done; \
    mkdir -p db/src/bin && echo 'fn main() {}' >db/src/bin/lyceum-migrate.rs; \
    cargo build --profile "$CARGO_PROFILE" --locked --workspace --bins
# 2. The workspace itself. COPY keeps the files' old mtimes, which can be older than the
#    stubs' build: forget the stubs' fingerprints so cargo rebuilds our four crates.
COPY migrations migrations
COPY db db
COPY backend backend
COPY seeder seeder
COPY loadtest loadtest
RUN set -eu; \
    dir=$([ "$CARGO_PROFILE" = dev ] && echo debug || echo "$CARGO_PROFILE"); \
    rm -rf "target/$dir/.fingerprint/lyceum-"*; \
    cargo build --profile "$CARGO_PROFILE" --locked --workspace --bins; \
    mkdir -p /out; \
    cp "target/$dir/lyceum-backend" "target/$dir/lyceum-migrate" "target/$dir/lyceum-seeder" \
       "target/$dir/lyceum-loadtest" /out/

# The shared runtime: Debian slim, curl for healthchecks (and the drill's Docker API calls),
# a non-root user.
FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/lyceum --create-home lyceum
WORKDIR /var/lib/lyceum
USER lyceum

FROM runtime AS backend
COPY --from=builder /out/lyceum-backend /out/lyceum-migrate /usr/local/bin/
# Listen on every interface of the container; compose publishes the port on 127.0.0.1.
ENV LYCEUM_HTTP__BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=2s --timeout=5s --start-period=60s --retries=5 \
    CMD curl -fsS http://127.0.0.1:8080/readyz >/dev/null || exit 1
CMD ["lyceum-backend"]

FROM runtime AS seeder
COPY --from=builder /out/lyceum-seeder /out/lyceum-migrate /usr/local/bin/
CMD ["lyceum-seeder", "--migrate"]

FROM runtime AS loadtest
COPY --from=builder /out/lyceum-loadtest /usr/local/bin/
COPY docker/loadtest/kill-leader.sh /usr/local/bin/lyceum-kill-leader
ENV LYCEUM_LOADTEST_METRICS_ADDR=0.0.0.0:9095 \
    LYCEUM_LOADTEST_REPORT_DIR=/reports
EXPOSE 9095
CMD ["lyceum-loadtest"]
