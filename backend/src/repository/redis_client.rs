//! Opens the Redis client every Redis user of the backend shares the settings of: plain
//! `redis://`, or `rediss://` verified against `redis.tls_ca_file` (issue 20).
//!
//! redis-rs trusts the system's roots unless given a CA; the stack's Redis has a certificate
//! of a private CA, so with `redis.tls_ca_file` set that CA, and only it, is trusted.

use crate::config::RedisConfig;

/// The client for `cfg.url`; nothing is connected yet.
pub fn open(cfg: &RedisConfig) -> Result<redis::Client, String> {
    let Some(ca_file) = &cfg.tls_ca_file else {
        return redis::Client::open(cfg.url.as_str())
            .map_err(|e| format!("redis.url is not a valid Redis URL: {e}"));
    };
    if !cfg.url.starts_with("rediss://") {
        return Err(format!(
            "redis.tls_ca_file is set but redis.url is not rediss://: Redis would be reached in plain text ({})",
            ca_file.display()
        ));
    }
    let root_cert = std::fs::read(ca_file).map_err(|e| {
        format!(
            "redis.tls_ca_file {}: cannot read it: {e}",
            ca_file.display()
        )
    })?;
    redis::Client::build_with_tls(
        cfg.url.as_str(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        },
    )
    .map_err(|e| format!("redis.url / redis.tls_ca_file: {e}"))
}
