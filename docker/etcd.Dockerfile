# An etcd 3.4 member (etcd1..etcd3 in docker-compose.yml), Debian's etcd-server package as
# in the local stack. Configured through ETCD_* variables in docker-compose.yml.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends etcd-server curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/etcd/data && chown -R etcd:etcd /var/lib/etcd && chmod 700 /var/lib/etcd/data
USER etcd
VOLUME /var/lib/etcd/data
EXPOSE 2379 2380
# /health is true only while the member sees a raft leader.
HEALTHCHECK --interval=2s --timeout=5s --start-period=30s --retries=5 \
    CMD curl -fsS http://127.0.0.1:2379/health | grep -q '"health":"true"' || exit 1
CMD ["/usr/bin/etcd"]
