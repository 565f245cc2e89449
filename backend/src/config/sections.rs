//! The configuration sections `[http]`, `[auth]`, `[redis]`, `[learning]` and `[log]`, each setting described
//! once (doc comment, type, default) through [`section!`]; `--help` prints those doc comments.
//! Every section rejects unknown keys, so a typo fails at start-up instead of being ignored.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::{DEV_JWT_SECRET, describe::section};

section! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct HttpConfig {
        /// Address to listen on; port 0 picks a free port (tests).
        pub bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)),
        /// A request taking longer is answered 503 `request_timeout`.
        pub request_timeout_ms: u64 = 15_000,
        /// Larger request bodies are answered 413.
        pub body_limit_bytes: usize = 64 * 1024,
        /// After SIGTERM/SIGINT, how long in-flight requests may take to finish.
        pub shutdown_grace_ms: u64 = 20_000,
        /// Reverse proxies whose `X-Forwarded-For` names the client when they are the peer.
        /// Empty: the client is always the TCP peer, and the header is ignored. A TOML list,
        /// or a comma-separated string (the environment variable).
        #[serde(deserialize_with = "ip_list")]
        pub trusted_proxies: Vec<IpAddr> = Vec::new(),
    }
}

/// A list of IP addresses given as a list or as one comma-separated string.
fn ip_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Text(String),
    }
    let items = match Given::deserialize(d)? {
        Given::List(items) => items,
        Given::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address")))
        })
        .collect()
}

impl HttpConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

// Login limits: five guesses per quarter hour per account; a hundred wrong passwords a minute
// from one address (a NAT full of forgetful students stays well below). Successful logins never
// count, so load tests logging in thousands of students pass. Registrations: twenty an hour
// per address, enough for a classroom signing up behind one NAT, too few to mass-create
// accounts or probe which emails are registered.
section! {
    #[derive(Clone, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct AuthConfig {
        /// HS256 signing secret for access tokens, at least 32 bytes. Never logged.
        pub jwt_secret: String = DEV_JWT_SECRET.into(),
        /// Lifetime of an access token. An hour, as common with refresh tokens: a revocation
        /// already takes effect at once (every request checks it), so a shorter life would
        /// buy little and cost a refresh per quarter hour per client.
        pub token_ttl_s: u64 = 3_600,
        /// Lifetime of a refresh token (each refresh issues a new one). 30 days.
        pub refresh_token_ttl_s: u64 = 2_592_000,
        /// Password hashes computed at once; more callers wait (so logins cannot starve the
        /// runtime). Default: the CPU count.
        pub hash_concurrency: usize = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        /// argon2id memory cost in KiB (OWASP's baseline: 19 MiB, 2 passes, 1 lane).
        pub argon2_memory_kib: u32 = 19_456,
        /// argon2id time cost (passes).
        pub argon2_iterations: u32 = 2,
        /// Failed logins to one account (email) within `login_account_window_s` after which
        /// the account's logins answer 429 until the window ends; 0 turns this limit off.
        pub login_failures_per_account: u32 = 5,
        /// Window of the per-account failure count, started by the first failure.
        pub login_account_window_s: u64 = 900,
        /// Failed logins from one client address within `login_address_window_s` after which
        /// logins from it answer 429; 0 turns this limit off.
        pub login_failures_per_address: u32 = 100,
        /// Window of the per-address failure count, started by the first failure.
        pub login_address_window_s: u64 = 60,
        /// Registrations from one client address within `registration_address_window_s`
        /// (accounts created, and attempts refused as `email_taken`/`national_id_taken`, which
        /// tell whether an address is registered) after which registrations from it answer
        /// 429; 0 turns this limit off.
        pub registrations_per_address: u32 = 20,
        /// Window of the per-address registration count, started by the first registration.
        pub registration_address_window_s: u64 = 3_600,
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("token_ttl_s", &self.token_ttl_s)
            .field("refresh_token_ttl_s", &self.refresh_token_ttl_s)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field(
                "login_failures_per_account",
                &self.login_failures_per_account,
            )
            .field("login_account_window_s", &self.login_account_window_s)
            .field(
                "login_failures_per_address",
                &self.login_failures_per_address,
            )
            .field("login_address_window_s", &self.login_address_window_s)
            .field("registrations_per_address", &self.registrations_per_address)
            .field(
                "registration_address_window_s",
                &self.registration_address_window_s,
            )
            .finish()
    }
}

section! {
    #[derive(Clone, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct RedisConfig {
        /// `false` turns the cache off entirely (every read goes to PostgreSQL).
        pub enabled: bool = true,
        /// Redis URL; a password in it is never logged. `rediss://` for TLS.
        pub url: String = "redis://127.0.0.1:6380".into(),
        /// PEM file of the CA that signed Redis' certificate (a `rediss://` URL): only it is
        /// trusted. Unset: the system's roots (`rediss://`) or no TLS (`redis://`).
        pub tls_ca_file: Option<PathBuf> = None,
        /// Prefix of every key this service writes, so several deployments can share a Redis.
        pub key_prefix: String = "lyceum".into(),
        /// Bound on every cache call; a slower Redis is treated as down for that call.
        pub op_timeout_ms: u64 = 150,
        /// Bound on opening a connection to Redis.
        pub connect_timeout_ms: u64 = 300,
        /// Consecutive failed calls that open the circuit breaker.
        pub breaker_failures: u32 = 3,
        /// How long an open breaker skips Redis before one trial call.
        pub breaker_open_ms: u64 = 2_000,
        /// Time to live of a cached course detail.
        pub ttl_course_detail_s: u64 = 300,
        /// Time to live of the cached course list windows (ids).
        pub ttl_course_list_s: u64 = 60,
        /// Time to live of the cached lookup tables.
        pub ttl_lookups_s: u64 = 3_600,
        /// Time to live of the cached staff reports (top courses, revenue, employment).
        pub ttl_reports_s: u64 = 60,
        /// Time to live of the cached first page of the blog feed (per tag and page size).
        pub ttl_blog_feed_s: u64 = 60,
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("enabled", &self.enabled)
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("op_timeout_ms", &self.op_timeout_ms)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_open_ms", &self.breaker_open_ms)
            .finish_non_exhaustive()
    }
}

/// `redis://user:secret@host` → `redis://<redacted>@host`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}<redacted>{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

section! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct LearningConfig {
        /// How long a reviewer's claim on a submission holds; after it the submission is
        /// back in the review queue for anyone.
        pub claim_hold_s: u64 = 1_800,
    }
}

section! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct LogConfig {
        /// `human` or `json`.
        pub format: LogFormat = LogFormat::Human,
        /// tracing `EnvFilter` directives, e.g. `info,lyceum_backend=debug`; `RUST_LOG`, when
        /// set, wins.
        pub filter: String = "info".into(),
    }
}
