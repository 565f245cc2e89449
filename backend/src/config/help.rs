//! `--help`'s list of settings: every key with its environment variable, its default and its
//! doc comment, generated from the sections' descriptions (`KEYS`, the defaults) so it cannot
//! drift from the code.

use lyceum_db::DbConfig;
use serde_json::{Value, json};

use super::{AuthConfig, Config, HttpConfig, LearningConfig, LogConfig, RedisConfig, env_name};

/// The `[db]` keys, each named once with its description: `lyceum_db::DbConfig` implements
/// neither `Serialize` nor a key list, so this is the one place that mirrors it (a unit test
/// checks it names every field, in order); once `lyceum_db` derives `Serialize`, only the
/// descriptions need to stay here.
fn db_keys() -> Vec<(&'static str, &'static str, Value)> {
    macro_rules! keys {
        ($($field:ident: $doc:literal,)*) => {{
            let d = DbConfig::default();
            vec![$((stringify!($field), $doc, json!(d.$field)),)*]
        }};
    }
    keys! {
        host: "HAProxy address",
        write_port: "HAProxy port leading to the leader (writes, transactions)",
        read_port: "HAProxy port leading to a replica (plain reads)",
        user: "database role",
        password: "database password (never logged)",
        dbname: "database name",
        write_pool_size: "write pool size",
        read_pool_size: "read pool size",
        connect_timeout_ms: "TCP connect and handshake bound",
        checkout_timeout_ms: "longest wait for a pooled connection",
        recycle_timeout_ms: "bound on the health check of a reused connection",
        statement_timeout_ms: "server-side statement_timeout",
        idle_in_transaction_timeout_ms: "server-side idle_in_transaction_session_timeout",
        keepalive_idle_s: "idle time before the first TCP keepalive",
        tcp_user_timeout_ms: "TCP_USER_TIMEOUT of database sockets",
        retry_budget_ms: "time an idempotent operation may spend retrying failover errors",
        application_name: "application_name in pg_stat_activity",
        tls_ca_file: "PEM CA that PostgreSQL's certificates must chain to: set, every connection is TLS checked like verify-full (never plain text); unset, no TLS",
    }
}

/// One setting as `--help` shows it.
struct Entry {
    key: String,
    default: String,
    doc: String,
}

/// Every setting in the order of [`Config`]'s fields, then of each section's.
fn entries() -> Vec<Entry> {
    let defaults = Config::default();
    let mut out = Vec::new();
    let mut push = |key: String, default: Value, doc: &str| {
        let default = match key.as_str() {
            // Not shown: secrets, and a value that depends on the machine.
            "auth.jwt_secret" => "(development secret)".to_string(),
            "db.password" => "(development password)".to_string(),
            "auth.hash_concurrency" => "(CPU count)".to_string(),
            _ => match default {
                Value::String(s) => s,
                Value::Null => "(unset)".to_string(),
                other => other.to_string(),
            },
        };
        // Doc comments come as lines with a leading space each; fold them into one.
        let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push(Entry { key, default, doc });
    };
    for (section, doc) in Config::KEYS {
        let fields = match *section {
            "http" => (HttpConfig::KEYS, json!(defaults.http)),
            "auth" => (AuthConfig::KEYS, json!(defaults.auth)),
            "redis" => (RedisConfig::KEYS, json!(defaults.redis)),
            "learning" => (LearningConfig::KEYS, json!(defaults.learning)),
            "log" => (LogConfig::KEYS, json!(defaults.log)),
            "db" => {
                for (key, doc, default) in db_keys() {
                    push(format!("db.{key}"), default, doc);
                }
                continue;
            }
            "mode" => {
                push("mode".into(), json!(defaults.mode), doc);
                continue;
            }
            // A new top-level setting must be added here; the unit test below notices.
            _ => continue,
        };
        let (keys, values) = fields;
        for (key, doc) in keys {
            push(format!("{section}.{key}"), values[key].clone(), doc);
        }
    }
    out
}

/// Every configuration key with its environment variable and default, for `--help`.
pub fn help_text() -> String {
    let mut out = String::from(
        "Configuration: built-in defaults < TOML file (--config / LYCEUM_CONFIG; sections \
         [http], [auth], [redis], [log], [db]) < environment variables.\n\n",
    );
    for Entry { key, default, doc } in entries() {
        out.push_str(&format!(
            "  {key}\n      env {}, default {default}\n      {doc}\n",
            env_name(&key)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// The fields serde knows for `T`, read off its "unknown field" error.
    fn fields_of<T: serde::de::DeserializeOwned>() -> Vec<String> {
        let err = serde_json::from_str::<T>(r#"{"no such field": 0}"#)
            .err()
            .expect("unknown field refused")
            .to_string();
        err.split('`')
            .skip(3)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_key_is_listed_once_with_a_default_and_a_description() {
        let entries = entries();
        let mut expected: Vec<String> = vec!["mode".into()];
        for (section, fields) in [
            ("http", fields_of::<HttpConfig>()),
            ("auth", fields_of::<AuthConfig>()),
            ("redis", fields_of::<RedisConfig>()),
            ("learning", fields_of::<LearningConfig>()),
            ("log", fields_of::<LogConfig>()),
            ("db", fields_of::<DbConfig>()),
        ] {
            assert!(!fields.is_empty(), "{section}: {fields:?}");
            expected.extend(fields.into_iter().map(|f| format!("{section}.{f}")));
        }
        let listed: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(listed, expected);
        for e in &entries {
            assert!(!e.doc.is_empty() && !e.default.is_empty(), "{}", e.key);
        }
        let text = help_text();
        assert!(text.contains("LYCEUM_REDIS__OP_TIMEOUT_MS"));
        assert!(text.contains("env LYCEUM_HTTP__REQUEST_TIMEOUT_MS, default 15000"));
        assert!(!text.contains(crate::config::DEV_JWT_SECRET));
        assert!(!text.contains("default lyceum\n      database password"));
    }
}
