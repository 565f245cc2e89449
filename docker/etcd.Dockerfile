# An etcd 3.4 member (etcd1..etcd3 in docker-compose.yml), Debian's etcd-server package as
# in the local stack, with client and peer TLS (docker/etcd/start.sh). Configured through
# ETCD_* variables in docker-compose.yml. The same image runs the etcd-auth service
# (docker/etcd/auth.sh, etcdctl from etcd-client).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends etcd-server etcd-client curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/etcd/data && chown -R etcd:etcd /var/lib/etcd && chmod 700 /var/lib/etcd/data
COPY docker/etcd/start.sh /usr/local/bin/lyceum-etcd
COPY docker/etcd/auth.sh /usr/local/bin/lyceum-etcd-auth
USER etcd
VOLUME /var/lib/etcd/data
EXPOSE 2379 2380
# /health is true only while the member sees a raft leader; asked with the member's own
# certificate (etcd wants one from every client).
HEALTHCHECK --interval=2s --timeout=5s --start-period=30s --retries=5 \
    CMD curl -fsS --cacert /tls/ca.crt --cert "/tls/$ETCD_NAME.crt" --key "/tls/$ETCD_NAME.key" \
        https://127.0.0.1:2379/health | grep -q '"health":"true"' || exit 1
CMD ["lyceum-etcd"]
