# postgres_exporter and redis_exporter, Debian's packages as in the local stack, in one image
# (postgres-exporter-pg1..3 and redis-exporter in docker-compose.yml choose the command).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-postgres-exporter prometheus-redis-exporter curl \
 && rm -rf /var/lib/apt/lists/*
COPY prometheus/postgres-exporter-queries.yaml /etc/lyceum/postgres-exporter-queries.yaml
USER nobody
EXPOSE 9187 9121
