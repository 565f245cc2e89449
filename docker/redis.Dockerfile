# Redis for the backend's cache, Debian's redis-server 7.0 as in the local stack, with
# patroni/redis.conf.tmpl rendered for the compose network: all interfaces on the default
# port and protected mode off (no password; only the compose network and 127.0.0.1 on the
# host reach it).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
COPY patroni/redis.conf.tmpl /tmp/redis.conf.tmpl
RUN sed -e 's|@@RUN_DIR@@/redis|/var/lib/redis|' -e 's|@@REDIS_PORT@@|6379|' \
        -e 's|^bind 127\.0\.0\.1$|bind 0.0.0.0|' -e 's|^protected-mode yes$|protected-mode no|' \
        /tmp/redis.conf.tmpl >/etc/redis/lyceum.conf \
 && rm /tmp/redis.conf.tmpl \
 && ! grep -n -e '@@' -e '127\.0\.0\.1' -e 'protected-mode yes' /etc/redis/lyceum.conf
USER redis
EXPOSE 6379
HEALTHCHECK --interval=2s --timeout=5s --start-period=10s --retries=5 \
    CMD redis-cli ping | grep -q PONG || exit 1
CMD ["/usr/bin/redis-server", "/etc/redis/lyceum.conf"]
