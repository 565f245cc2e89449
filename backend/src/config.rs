//! The service's configuration: built-in defaults < optional TOML file (`--config` /
//! `LYCEUM_CONFIG`) < `LYCEUM_…` environment variables, nested with `__`
//! (`http.bind` is `LYCEUM_HTTP__BIND`), loaded by [`lyceum_db::load_layered`].
//!
//! The top level accepts unknown keys on purpose: the local stack exports variables such as
//! `LYCEUM_RUN_DIR` that belong to other tools. Each section rejects unknown keys, so a typo
//! inside a section fails at start-up instead of being silently ignored.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::Path,
    time::Duration,
};

use lyceum_db::DbConfig;
use serde::{Deserialize, Serialize};

/// The signing secret used when none is configured. Public, so it is refused in production.
pub const DEV_JWT_SECRET: &str = "lyceum-development-secret-not-for-production";

/// Everything the backend can be told.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `development` allows the built-in secret; `production` refuses it.
    pub mode: Mode,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub redis: RedisConfig,
    pub log: LogConfig,
    pub db: DbConfig,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Longest time a request may take before it is answered with 503.
    pub request_timeout_ms: u64,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// After SIGTERM/SIGINT, how long in-flight requests may take to finish.
    pub shutdown_grace_ms: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed when they are the peer. Empty (the
    /// default): the client address is always the TCP peer, and the header is ignored.
    /// A TOML list, or a comma-separated string (the environment variable).
    #[serde(deserialize_with = "ip_list")]
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_ms: 15_000,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_ms: 20_000,
            trusted_proxies: Vec::new(),
        }
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

#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 signing secret for access tokens. Never logged.
    pub jwt_secret: String,
    /// Lifetime of an access token.
    pub token_ttl_s: u64,
    /// Password hashes computed at once; more callers wait (so logins cannot starve the runtime).
    pub hash_concurrency: usize,
    /// argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id time cost (passes).
    pub argon2_iterations: u32,
    /// Failed logins to one account (email) within `login_account_window_s` after which the
    /// account's logins answer 429 until the window ends; 0 turns this limit off.
    pub login_failures_per_account: u32,
    pub login_account_window_s: u64,
    /// Failed logins from one client address within `login_address_window_s` after which
    /// logins from it answer 429; 0 turns this limit off.
    pub login_failures_per_address: u32,
    pub login_address_window_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: DEV_JWT_SECRET.into(),
            token_ttl_s: 3_600,
            hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            // Five guesses per quarter hour per account; a hundred wrong passwords a minute from
            // one address (a NAT full of forgetful students stays well below). Successful
            // logins never count, so load tests logging in thousands of students pass.
            login_failures_per_account: 5,
            login_account_window_s: 900,
            login_failures_per_address: 100,
            login_address_window_s: 60,
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("token_ttl_s", &self.token_ttl_s)
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
            .finish()
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `false` turns the cache off entirely (every read goes to PostgreSQL).
    pub enabled: bool,
    /// Redis URL; a password in it is never logged.
    pub url: String,
    /// Prefix of every key this service writes, so several deployments can share a Redis.
    pub key_prefix: String,
    /// Bound on every cache call; a slower Redis is treated as down for that call.
    pub op_timeout_ms: u64,
    /// Bound on opening a connection to Redis.
    pub connect_timeout_ms: u64,
    /// Consecutive failed calls that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips Redis before one trial call.
    pub breaker_open_ms: u64,
    /// Time to live of a cached course detail.
    pub ttl_course_detail_s: u64,
    /// Time to live of the cached course list pages.
    pub ttl_course_list_s: u64,
    /// Time to live of the cached lookup tables.
    pub ttl_lookups_s: u64,
    /// Time to live of the cached staff reports (top courses, revenue, employment).
    pub ttl_reports_s: u64,
    /// Time to live of the cached first page of the blog feed (per tag and page size).
    pub ttl_blog_feed_s: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            url: "redis://127.0.0.1:6380".into(),
            key_prefix: "lyceum".into(),
            op_timeout_ms: 150,
            connect_timeout_ms: 300,
            breaker_failures: 3,
            breaker_open_ms: 2_000,
            ttl_course_detail_s: 300,
            ttl_course_list_s: 60,
            ttl_lookups_s: 3_600,
            ttl_reports_s: 60,
            ttl_blog_feed_s: 60,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("enabled", &self.enabled)
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// tracing `EnvFilter` directives; `RUST_LOG`, when set, wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Loads the layers; see the module documentation.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let cfg: Self = lyceum_db::load_layered(file).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses settings the service must not run with.
    pub fn validate(&self) -> Result<(), String> {
        self.db.validate()?;
        if self.mode == Mode::Production {
            self.refuse_development_defaults()?;
        }
        if self.auth.jwt_secret.len() < 32 {
            return Err("auth.jwt_secret must be at least 32 bytes".into());
        }
        let positive = [
            ("http.request_timeout_ms", self.http.request_timeout_ms),
            ("http.body_limit_bytes", self.http.body_limit_bytes as u64),
            ("auth.token_ttl_s", self.auth.token_ttl_s),
            ("auth.hash_concurrency", self.auth.hash_concurrency as u64),
            (
                "auth.login_account_window_s",
                self.auth.login_account_window_s,
            ),
            (
                "auth.login_address_window_s",
                self.auth.login_address_window_s,
            ),
            ("redis.op_timeout_ms", self.redis.op_timeout_ms),
            ("redis.connect_timeout_ms", self.redis.connect_timeout_ms),
            (
                "redis.breaker_failures",
                u64::from(self.redis.breaker_failures),
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be greater than zero"));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Production must be given its own secrets: the built-in ones are public (they are in
    /// this repository), so a production process that still has them refuses to start.
    fn refuse_development_defaults(&self) -> Result<(), String> {
        let mut refused = Vec::new();
        if self.auth.jwt_secret == DEV_JWT_SECRET {
            refused.push(format!(
                "auth.jwt_secret is the built-in development secret; set {}",
                env_name("auth.jwt_secret")
            ));
        }
        if self.db.password == DbConfig::default().password {
            refused.push(format!(
                "db.password is the built-in development password; set {}",
                env_name("db.password")
            ));
        }
        if self.redis.enabled && redis_password(&self.redis.url).is_none() {
            refused.push(format!(
                "redis.url has no password; production Redis must require one (redis://:PASSWORD@host:port, {})",
                env_name("redis.url")
            ));
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(format!("mode = production: {}", refused.join("; ")))
        }
    }
}

/// The password part of `redis://[user]:password@host…`, if any.
fn redis_password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let userinfo = &rest[..rest.rfind('@')?];
    let password = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    (!password.is_empty()).then_some(password)
}

/// One line per key for `--help`: the key, its environment variable, its default, what it does.
/// A unit test checks that every key of [`Config`] is listed here.
const KEY_HELP: &[(&str, &str)] = &[
    (
        "mode",
        "development | production (production refuses the built-in JWT secret and database password, and a Redis URL without a password)",
    ),
    ("http.bind", "listen address (port 0 = any free port)"),
    (
        "http.request_timeout_ms",
        "a request taking longer is answered 503 request_timeout",
    ),
    (
        "http.body_limit_bytes",
        "larger request bodies are answered 413",
    ),
    (
        "http.shutdown_grace_ms",
        "after SIGTERM/SIGINT, time for in-flight requests to finish",
    ),
    (
        "http.trusted_proxies",
        "proxy addresses whose X-Forwarded-For names the client (comma list in env); empty: the TCP peer is the client",
    ),
    (
        "auth.jwt_secret",
        "HS256 secret for access tokens, at least 32 bytes (never logged)",
    ),
    ("auth.token_ttl_s", "access token lifetime"),
    (
        "auth.hash_concurrency",
        "password hashes computed at once (default: CPU count)",
    ),
    ("auth.argon2_memory_kib", "argon2id memory cost"),
    ("auth.argon2_iterations", "argon2id time cost"),
    (
        "auth.login_failures_per_account",
        "failed logins per account (email) per window before 429 (0 = no limit)",
    ),
    (
        "auth.login_account_window_s",
        "window of the per-account failure count, started by the first failure",
    ),
    (
        "auth.login_failures_per_address",
        "failed logins per client address per window before 429 (0 = no limit)",
    ),
    (
        "auth.login_address_window_s",
        "window of the per-address failure count, started by the first failure",
    ),
    (
        "redis.enabled",
        "false: no cache, every read goes to PostgreSQL",
    ),
    ("redis.url", "Redis URL (password never logged)"),
    ("redis.key_prefix", "prefix of every cache key"),
    ("redis.op_timeout_ms", "bound on every cache call"),
    ("redis.connect_timeout_ms", "bound on connecting to Redis"),
    (
        "redis.breaker_failures",
        "consecutive cache failures that open the circuit breaker",
    ),
    (
        "redis.breaker_open_ms",
        "how long an open breaker skips Redis",
    ),
    ("redis.ttl_course_detail_s", "TTL of a cached course detail"),
    ("redis.ttl_course_list_s", "TTL of cached course list pages"),
    ("redis.ttl_lookups_s", "TTL of cached lookup tables"),
    ("redis.ttl_reports_s", "TTL of cached staff reports"),
    (
        "redis.ttl_blog_feed_s",
        "TTL of the cached first blog feed page",
    ),
    ("log.format", "human | json"),
    (
        "log.filter",
        "tracing filter, e.g. info,lyceum_backend=debug (RUST_LOG wins if set)",
    ),
    ("db.host", "HAProxy address"),
    (
        "db.write_port",
        "HAProxy port leading to the leader (writes, transactions)",
    ),
    (
        "db.read_port",
        "HAProxy port leading to a replica (plain reads)",
    ),
    ("db.user", "database role"),
    ("db.password", "database password (never logged)"),
    ("db.dbname", "database name"),
    ("db.write_pool_size", "write pool size"),
    ("db.read_pool_size", "read pool size"),
    ("db.connect_timeout_ms", "TCP connect and handshake bound"),
    (
        "db.checkout_timeout_ms",
        "longest wait for a pooled connection",
    ),
    (
        "db.recycle_timeout_ms",
        "bound on the health check of a reused connection",
    ),
    ("db.statement_timeout_ms", "server-side statement_timeout"),
    (
        "db.idle_in_transaction_timeout_ms",
        "server-side idle_in_transaction_session_timeout",
    ),
    (
        "db.keepalive_idle_s",
        "idle time before the first TCP keepalive",
    ),
    (
        "db.tcp_user_timeout_ms",
        "TCP_USER_TIMEOUT of database sockets",
    ),
    (
        "db.retry_budget_ms",
        "time an idempotent operation may spend retrying failover errors",
    ),
    (
        "db.application_name",
        "application_name in pg_stat_activity",
    ),
];

/// The environment variable that sets `key` (`http.bind` → `LYCEUM_HTTP__BIND`).
pub fn env_name(key: &str) -> String {
    format!("LYCEUM_{}", key.replace('.', "__").to_uppercase())
}

/// Every configuration key with its environment variable and default, for `--help`.
pub fn help_text() -> String {
    let defaults = flatten_defaults();
    let mut out = String::from(
        "Configuration: built-in defaults < TOML file (--config / LYCEUM_CONFIG; sections \
         [http], [auth], [redis], [log], [db]) < environment variables.\n\n",
    );
    for (key, what) in KEY_HELP {
        let default = match *key {
            "auth.jwt_secret" => "(development secret)".to_string(),
            "auth.hash_concurrency" => "(CPU count)".to_string(),
            _ => defaults
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        };
        out.push_str(&format!(
            "  {key}\n      env {}, default {default}\n      {what}\n",
            env_name(key)
        ));
    }
    out
}

/// `(dotted key, default as text)` for every leaf of the default configuration.
fn flatten_defaults() -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    let default = serde_json::to_value(DbConfigDefaults).unwrap_or_default();
    walk("", &default, &mut out);
    out
}

/// The default configuration as plain data, including the database section (whose type does
/// not implement `Serialize`; its fields are mirrored through `serde_json`).
struct DbConfigDefaults;

impl Serialize for DbConfigDefaults {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let cfg = Config::default();
        let db = DbConfig::default();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("mode", &cfg.mode)?;
        map.serialize_entry("http", &cfg.http)?;
        map.serialize_entry("auth", &cfg.auth)?;
        map.serialize_entry("redis", &cfg.redis)?;
        map.serialize_entry("log", &cfg.log)?;
        let db_json = serde_json::json!({
            "host": db.host, "write_port": db.write_port, "read_port": db.read_port,
            "user": db.user, "password": "(development password)", "dbname": db.dbname,
            "write_pool_size": db.write_pool_size, "read_pool_size": db.read_pool_size,
            "connect_timeout_ms": db.connect_timeout_ms,
            "checkout_timeout_ms": db.checkout_timeout_ms,
            "recycle_timeout_ms": db.recycle_timeout_ms,
            "statement_timeout_ms": db.statement_timeout_ms,
            "idle_in_transaction_timeout_ms": db.idle_in_transaction_timeout_ms,
            "keepalive_idle_s": db.keepalive_idle_s,
            "tcp_user_timeout_ms": db.tcp_user_timeout_ms,
            "retry_budget_ms": db.retry_budget_ms,
            "application_name": db.application_name,
        });
        map.serialize_entry("db", &db_json)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn every_key_is_documented_in_help() {
        let keys: Vec<String> = flatten_defaults().into_iter().map(|(k, _)| k).collect();
        for key in &keys {
            assert!(
                KEY_HELP.iter().any(|(k, _)| k == key),
                "{key} is missing from KEY_HELP"
            );
        }
        for (key, _) in KEY_HELP {
            assert!(keys.iter().any(|k| k == key), "{key} is not a real key");
        }
        // DbConfig has 17 fields; a new one must be added to the mirror and to KEY_HELP.
        assert_eq!(keys.iter().filter(|k| k.starts_with("db.")).count(), 17);
        assert!(help_text().contains("LYCEUM_REDIS__OP_TIMEOUT_MS"));
    }

    #[test]
    fn production_refuses_the_development_secret() {
        let cfg = Config {
            mode: Mode::Production,
            ..Config::default()
        };
        let err = cfg.validate().expect_err("dev secret in production");
        assert!(err.contains("jwt_secret"), "{err}");
        let ok = Config {
            mode: Mode::Production,
            auth: AuthConfig {
                jwt_secret: "x".repeat(40),
                ..AuthConfig::default()
            },
            db: DbConfig {
                password: "a-real-password".into(),
                ..DbConfig::default()
            },
            redis: RedisConfig {
                url: "redis://:a-real-password@10.0.0.5:6379".into(),
                ..RedisConfig::default()
            },
            ..Config::default()
        };
        ok.validate().expect("real secrets are fine");
        Config::default()
            .validate()
            .expect("development allows the built-in secret");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let cfg = Config {
            auth: AuthConfig {
                jwt_secret: "super-secret-signing-key-0123456789".into(),
                ..AuthConfig::default()
            },
            redis: RedisConfig {
                url: "redis://:hunter2@localhost:6379".into(),
                ..RedisConfig::default()
            },
            ..Config::default()
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn unknown_top_level_keys_pass_but_typos_inside_sections_fail() {
        let dir = std::env::temp_dir().join(format!("lyceum-backend-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let ok = dir.join("ok.toml");
        // Other tools' settings (the stack exports LYCEUM_RUN_DIR) live at the top level.
        std::fs::write(
            &ok,
            "run_dir = \"/tmp/x\"\n[http]\nrequest_timeout_ms = 1234\n",
        )
        .expect("write");
        let cfg: Config = lyceum_db::load_layered(Some(&ok)).expect("loads");
        assert_eq!(cfg.http.request_timeout_ms, 1234);
        assert_eq!(
            cfg.http.body_limit_bytes,
            HttpConfig::default().body_limit_bytes
        );
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[redis]\nop_timeot_ms = 5\n").expect("write");
        let err = lyceum_db::load_layered::<Config>(Some(&bad)).expect_err("typo");
        assert!(err.to_string().contains("op_timeot_ms"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn env_names_follow_the_double_underscore_rule() {
        assert_eq!(env_name("http.bind"), "LYCEUM_HTTP__BIND");
        assert_eq!(env_name("mode"), "LYCEUM_MODE");
    }
}
