//! The command line of the real binary: `--help` documents every configuration key, and
//! production mode refuses to start with the development secret.
#![allow(clippy::expect_used)]

#[test]
fn help_documents_every_configuration_key() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum-backend"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "--config",
        "LYCEUM_CONFIG",
        "LYCEUM_MODE",
        "LYCEUM_HTTP__BIND",
        "LYCEUM_HTTP__REQUEST_TIMEOUT_MS",
        "LYCEUM_HTTP__BODY_LIMIT_BYTES",
        "LYCEUM_AUTH__JWT_SECRET",
        "LYCEUM_AUTH__HASH_CONCURRENCY",
        "LYCEUM_REDIS__URL",
        "LYCEUM_REDIS__OP_TIMEOUT_MS",
        "LYCEUM_REDIS__BREAKER_OPEN_MS",
        "LYCEUM_LOG__FORMAT",
        "LYCEUM_DB__WRITE_PORT",
        "LYCEUM_DB__RETRY_BUDGET_MS",
    ] {
        assert!(text.contains(key), "{key} missing from --help:\n{text}");
    }
}

#[test]
fn production_mode_refuses_the_development_secret() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum-backend"))
        .env("LYCEUM_MODE", "production")
        .env_remove("LYCEUM_AUTH__JWT_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jwt_secret"), "{err}");
}
