//! The real binary: JSON logs carry the request id on every request line, and SIGTERM drains
//! and exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use crate::support::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_sigterm_stops_cleanly() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_lyceum-backend"))
        .env("LYCEUM_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LYCEUM_LOG__FORMAT", "json")
        .env("LYCEUM_LOG__FILTER", "info")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the binary did not start serving");
    let resp = http
        .get(format!("{base}/no/such/page"))
        .header("x-request-id", "log-me-4711")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().expect("wait");
        (out.status, out.stdout)
    });
    let (exit_status, stdout) = tokio::time::timeout(Duration::from_secs(30), exit)
        .await
        .expect("stopped within 30 s")
        .expect("join");
    assert!(exit_status.success(), "exit status {exit_status}");

    let lines: Vec<serde_json::Value> = BufReader::new(&stdout[..])
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(!lines.is_empty(), "JSON log lines on stdout");
    let request_lines: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == "log-me-4711")
        .collect();
    assert!(
        !request_lines.is_empty(),
        "no line carries the request id: {lines:#?}"
    );
    let text = String::from_utf8_lossy(&stdout);
    assert!(text.contains("SIGTERM received"), "{text}");
    assert!(text.contains("draining"), "{text}");
    assert!(
        !text.contains("lyceum-development-secret"),
        "secret logged: {text}"
    );
    assert!(!text.contains("\"password\":\"lyceum\""), "password logged");
}
