# lyceum-backend (with lyceum-migrate), lyceum-seeder and lyceum-loadtest: one builder stage
# compiles the whole workspace once; each final stage copies one binary into a slim,
# non-root Debian runtime. docker-compose.yml picks the stage with `target:`.
# Needs BuildKit (cache mounts): Compose v2 and `docker buildx build` use it.
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
COPY docker/cargo-build.sh /usr/local/bin/lyceum-cargo-build
COPY Cargo.toml Cargo.lock ./
COPY migrations migrations
COPY db db
COPY backend backend
COPY seeder seeder
COPY loadtest loadtest
# BuildKit cache mounts keep cargo's downloads and its target directory between builds, so
# a rebuild after a change compiles only the crates that changed (cargo-build.sh decides
# freshness by content, not by the files' times) and a new dependency in Cargo.lock
# compiles that dependency, not all ~400. The mounts are not part of any image: the
# binaries are copied out to /out. `locked`: the services sharing this stage may be built
# at the same time, and one target directory takes one cargo at a time.
# CARGO_HOME is /usr/local/cargo in rust:*-slim and in the offline image alike.
RUN --mount=type=cache,id=lyceum-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=lyceum-cargo-target,target=/src/target,sharing=locked \
    lyceum-cargo-build "$CARGO_PROFILE"

# The shared runtime: Debian slim, curl for healthchecks (and the drill agent's Docker API
# calls), a non-root user.
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
COPY docker/drill/request.sh /usr/local/bin/lyceum-drill
COPY docker/drill/request.sh /usr/local/bin/lyceum-kill-leader
COPY docker/loadtest/start.sh /usr/local/bin/lyceum-loadtest-start
ENV LYCEUM_LOADTEST_METRICS_ADDR=0.0.0.0:9095 \
    LYCEUM_LOADTEST_REPORT_DIR=/reports
EXPOSE 9095
CMD ["lyceum-loadtest-start"]

# The drill agent (compose profile `drill`): the only container given the Docker socket; it
# kills the leader's container, or cuts a node off the network, when the load generator asks
# through a shared volume.
FROM runtime AS drill-agent
COPY docker/drill/common.sh /usr/local/lib/lyceum/drill-common.sh
COPY docker/drill/agent.sh /usr/local/bin/lyceum-drill-agent
COPY docker/drill/kill-leader.sh /usr/local/bin/lyceum-kill-leader-now
COPY docker/drill/partition.sh /usr/local/bin/lyceum-partition-now
# Its health check: `lyceum-kill-leader --ready` (its heartbeat in the drill volume is fresh).
COPY docker/drill/request.sh /usr/local/bin/lyceum-kill-leader
CMD ["lyceum-drill-agent"]
