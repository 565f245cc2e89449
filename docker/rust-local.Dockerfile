# The offline stand-in for rust:1.95-slim-bookworm, built by scripts/docker-images from the
# locally imported Debian image and a copy of the host's Rust toolchain (its build context
# is a scratch dir holding toolchain/bin, toolchain/lib and the host's CA bundle, not the
# repository).
ARG DEBIAN_IMAGE=lyceum-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
# What -sys crates need (aws-lc-sys, ring: a C compiler; no cmake, no OpenSSL).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY toolchain /usr/local/rust
# cargo trusts what the host trusts (crates.io may be reached through a TLS-inspecting proxy).
COPY host-ca-certificates.crt /usr/local/share/lyceum/host-ca-certificates.crt
ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/usr/local/cargo \
    CARGO_HTTP_CAINFO=/usr/local/share/lyceum/host-ca-certificates.crt
RUN rustc --version && cargo --version
