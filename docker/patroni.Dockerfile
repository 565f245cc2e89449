# One Patroni-managed PostgreSQL 15 node (pg1, pg2, pg3 in docker-compose.yml), from the same
# Debian packages as the local stack. The configuration is patroni/patroni.yml.tmpl, rendered
# at start by docker/patroni/entrypoint.sh for this node and the container network, with TLS
# (patroni/tls_overlay.py).
# The same image runs compose's backup service (docker/backup/lyceum-backup): pgBackRest,
# its templates, the repository report and the exporter.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
# postgresql-common would create and start a 15/main cluster on install: Patroni owns PGDATA.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/lyceum.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends patroni python3-psycopg2 python3-etcd \
        postgresql-15 postgresql-client-15 curl pgbackrest openssl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/lyceum/pg1 /var/lib/lyceum/pg2 /var/lib/lyceum/pg3 /var/lib/lyceum/logs \
        /var/lib/lyceum/backup /var/lib/pgbackrest \
 && chown -R postgres:postgres /var/lib/lyceum /var/lib/pgbackrest \
 && chmod 750 /var/lib/pgbackrest
COPY --chown=postgres:postgres patroni/patroni.yml.tmpl /etc/lyceum/patroni.yml.tmpl
COPY --chown=postgres:postgres patroni/post_bootstrap.sh /var/lib/lyceum/post_bootstrap.sh
COPY patroni/tls_overlay.py /usr/local/lib/lyceum/
COPY patroni/pgbackrest.conf.tmpl patroni/pgbackrest-node.conf.tmpl patroni/pgbackrest-runner.conf.tmpl \
     patroni/pgbackrest-wrapper.sh.tmpl patroni/ledger-invariants.sql /etc/lyceum/
COPY patroni/pgbackrest_report.py patroni/backup-common.sh prometheus/pgbackrest_exporter.py docker/backup/pgbackrest-files.sh \
     /usr/local/lib/lyceum/
COPY docker/patroni/entrypoint.sh /usr/local/bin/lyceum-patroni
COPY docker/backup/lyceum-backup /usr/local/bin/lyceum-backup
# The compose project's certificates (its certs service, docs/SECURITY.md).
COPY scripts/certs /usr/local/bin/lyceum-certs
USER postgres
# No VOLUME: compose mounts node pgN's volume (PGDATA, pgpass, socket dir, pgBackRest files)
# at /var/lib/lyceum/pgN and the repository's at /var/lib/pgbackrest; the directories above
# give new volumes the postgres owner.
EXPOSE 5432 8008
# 200 from Patroni's /health once PostgreSQL runs (as leader or replica); the REST API is
# https, its certificate made by the certs service (/tls, docs/SECURITY.md).
HEALTHCHECK --interval=2s --timeout=5s --start-period=120s --retries=5 \
    CMD curl -fsS -o /dev/null --cacert /tls/ca.crt https://127.0.0.1:8008/health || exit 1
ENTRYPOINT ["lyceum-patroni"]
