# Prometheus, Debian's package as in the local stack, with prometheus/prometheus.compose.yml
# (the same jobs and labels as the local config, by compose service name) and the shared
# recording rules and alerts.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/prometheus/data && chown -R prometheus:prometheus /var/lib/prometheus
COPY prometheus/prometheus.compose.yml /etc/prometheus/prometheus.yml
COPY prometheus/rules /etc/prometheus/rules
# --syntax-only: the scrapes' certificates (/tls) exist only at run time.
RUN promtool check config --syntax-only /etc/prometheus/prometheus.yml \
 && promtool check rules /etc/prometheus/rules/*.yml
USER prometheus
VOLUME /var/lib/prometheus/data
EXPOSE 9090
HEALTHCHECK --interval=2s --timeout=5s --start-period=30s --retries=5 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:9090/-/ready || exit 1
CMD ["/usr/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/var/lib/prometheus/data", "--storage.tsdb.retention.time=7d", \
     "--web.listen-address=0.0.0.0:9090", "--web.enable-lifecycle"]
