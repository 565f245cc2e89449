# Redis for the backend's cache, Debian's redis-server 7.0 as in the local stack, with
# patroni/redis.conf.tmpl rendered for the compose network (all interfaces on the default
# port, protected mode off: the ACL users guard it) and, at start, the TLS and ACL settings
# of patroni/redis-tls.conf.tmpl (docker/redis/start.sh).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
COPY patroni/redis.conf.tmpl /tmp/redis.conf.tmpl
COPY patroni/redis-tls.conf.tmpl /etc/redis/lyceum-tls.conf.tmpl
COPY docker/redis/start.sh /usr/local/bin/lyceum-redis
RUN sed -e 's|@@RUN_DIR@@/redis|/var/lib/redis|' -e 's|@@REDIS_PORT@@|6379|' \
        -e 's|^bind 127\.0\.0\.1$|bind 0.0.0.0|' -e 's|^protected-mode yes$|protected-mode no|' \
        /tmp/redis.conf.tmpl >/etc/redis/lyceum.conf \
 && rm /tmp/redis.conf.tmpl \
 && ! grep -n -e '@@' -e '127\.0\.0\.1' -e 'protected-mode yes' /etc/redis/lyceum.conf
USER redis
EXPOSE 6379
# PING over TLS as the backend's user (the default user is off).
HEALTHCHECK --interval=2s --timeout=5s --start-period=10s --retries=5 \
    CMD REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --tls --cacert /tls/ca.crt --user lyceum ping | grep -q PONG || exit 1
CMD ["lyceum-redis"]
