//! The service's configuration: built-in defaults < optional TOML file (`--config` /
//! `LYCEUM_CONFIG`) < `LYCEUM_…` environment variables, nested with `__`
//! (`http.bind` is `LYCEUM_HTTP__BIND`), loaded by [`lyceum_db::load_layered`].
//!
//! This file holds the whole and its validation; [`sections`] the sections, [`help`] the
//! `--help` text generated from them.
//!
//! The top level accepts unknown keys on purpose: the local stack exports variables such as
//! `LYCEUM_RUN_DIR` that belong to other tools. Each section rejects unknown keys, so a typo
//! inside a section fails at start-up instead of being silently ignored.

mod describe;
pub mod help;
pub mod sections;

use std::path::Path;

use lyceum_db::DbConfig;
use serde::{Deserialize, Serialize};

use self::describe::section;
pub use self::{
    help::help_text,
    sections::{AuthConfig, HttpConfig, LearningConfig, LogConfig, LogFormat, RedisConfig},
};

/// The signing secret used when none is configured. Public, so it is refused in production.
pub const DEV_JWT_SECRET: &str = "lyceum-development-secret-not-for-production";

section! {
    /// Everything the backend can be told. Each section is described in [`sections`] (the
    /// database's in `lyceum_db`); `--help` lists every key ([`help`]).
    #[derive(Debug, Clone, Deserialize)]
    #[serde(default)]
    pub struct Config {
        /// `development` or `production`: production refuses the built-in JWT secret and
        /// database password, and a Redis URL without a password.
        pub mode: Mode = Mode::Development,
        /// `[http]`: the listener and request limits.
        pub http: HttpConfig = HttpConfig::default(),
        /// `[auth]`: tokens, password hashing and login limits.
        pub auth: AuthConfig = AuthConfig::default(),
        /// `[redis]`: the cache.
        pub redis: RedisConfig = RedisConfig::default(),
        /// `[learning]`: submissions and their review.
        pub learning: LearningConfig = LearningConfig::default(),
        /// `[log]`: log format and filter.
        pub log: LogConfig = LogConfig::default(),
        /// `[db]`: the pools through HAProxy.
        pub db: DbConfig = DbConfig::default(),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Development,
    Production,
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
            ("auth.refresh_token_ttl_s", self.auth.refresh_token_ttl_s),
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

/// The environment variable that sets `key` (`http.bind` → `LYCEUM_HTTP__BIND`).
pub fn env_name(key: &str) -> String {
    format!("LYCEUM_{}", key.replace('.', "__").to_uppercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

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
