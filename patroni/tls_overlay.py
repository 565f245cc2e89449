#!/usr/bin/env python3
"""Adds TLS and authentication to a rendered patroni.yml (issue 20, docs/SECURITY.md).

One place for both renderers: scripts/stack (LYCEUM_TLS=1, scripts/stack.d/tls.sh) and the
compose image (docker/patroni/entrypoint.sh, always on). They differ only in the files' paths
and in the network PostgreSQL admits (127.0.0.1/32 on the local stack, samenet in compose).

  PostgreSQL  ssl on; every TCP line of pg_hba is hostssl + SCRAM, plain TCP is rejected
              (replication included: `all` does not match it); Patroni's replication and
              rewind connections verify-full against the CA
  REST API    https; the unsafe endpoints need a client certificate of the CA AND the
              password already in the template (verify_client optional: HAProxy's checks
              and the GETs carry no certificate)
  etcd        https with the node's certificate, and a user of its own

The file is written in place, so it keeps its owner and mode (postgres, 0600).
"""
import argparse

import yaml


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("patroni_yml")
    p.add_argument("--ca", required=True, help="the CA's certificate (PEM)")
    p.add_argument("--cert", required=True, help="the node's certificate")
    p.add_argument("--key", required=True, help="the node's key")
    p.add_argument("--etcd-user", default="patroni")
    p.add_argument("--etcd-password", required=True)
    p.add_argument("--net", required=True,
                   help="who may connect over TCP, as pg_hba's address field (127.0.0.1/32, samenet)")
    p.add_argument("--rendered-by", required=True, help="named in the file's header")
    a = p.parse_args()

    with open(a.patroni_yml) as f:
        cfg = yaml.safe_load(f)
    verify = {"sslmode": "verify-full", "sslrootcert": a.ca}
    tls = {
        "restapi": {"certfile": a.cert, "keyfile": a.key, "cafile": a.ca,
                    "verify_client": "optional"},
        # Patroni 3.0.2 falls back from ctl.* to restapi.*; 3.1 drops that fallback.
        "ctl": {"certfile": a.cert, "keyfile": a.key, "cacert": a.ca},
        # A user as well as the certificate: etcd's JSON gateway, which Patroni speaks,
        # ignores the certificate's name, so only a password gives Patroni a role.
        "etcd3": {"protocol": "https", "cacert": a.ca, "cert": a.cert, "key": a.key,
                  "username": a.etcd_user, "password": a.etcd_password},
        "postgresql": {
            "parameters": {"ssl": "on", "ssl_cert_file": a.cert, "ssl_key_file": a.key,
                           "ssl_min_protocol_version": "TLSv1.2"},
            "authentication": {k: dict(verify) for k in ("superuser", "replication", "rewind")},
        },
    }
    merge(cfg, tls)
    pg = cfg["postgresql"]
    pg["pg_hba"] = [line for line in pg["pg_hba"] if line.startswith("local ")] + [
        f"hostssl all all {a.net} scram-sha-256",
        f"hostssl replication replicator {a.net} scram-sha-256",
        "hostnossl all all 0.0.0.0/0 reject",
        "hostnossl replication all 0.0.0.0/0 reject",
    ]
    with open(a.patroni_yml, "w") as f:
        f.write(f"# Rendered by {a.rendered_by}, TLS added by patroni/tls_overlay.py.\n")
        yaml.safe_dump(cfg, f, sort_keys=False)


def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v


if __name__ == "__main__":
    main()
