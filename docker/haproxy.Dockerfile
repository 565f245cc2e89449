# HAProxy in front of the Patroni nodes, Debian's haproxy 2.6 as in the local stack. The
# configuration is patroni/haproxy.cfg.tmpl, rendered at build time for the compose network
# by docker/haproxy/render.sh (same checks, timeouts and routing; listeners on all
# interfaces; servers by service name).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/haproxy && chown haproxy:haproxy /run/haproxy
COPY patroni/haproxy.cfg.tmpl /tmp/haproxy.cfg.tmpl
COPY docker/haproxy/render.sh /tmp/render.sh
# Checked when it starts, not here: the checks' CA (/tls/ca.crt) exists only at run time.
RUN /tmp/render.sh /tmp/haproxy.cfg.tmpl /etc/haproxy/haproxy.cfg \
 && rm /tmp/render.sh /tmp/haproxy.cfg.tmpl
USER haproxy
EXPOSE 5000 5001 8404
# Healthy once the write port has a server to send to (Patroni's leader).
HEALTHCHECK --interval=2s --timeout=5s --start-period=60s --retries=5 \
    CMD curl -fsS 'http://127.0.0.1:8404/stats;csv' | awk -F, '$1 == "primary" && $2 == "BACKEND" && $18 == "UP" { ok = 1 } END { exit !ok }' || exit 1
CMD ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
