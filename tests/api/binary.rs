//! The `reconstructor` binary as an operator runs it: settings errors, signals, certificate
//! reload.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::{client_trusting, write_certificate};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reconstructor"));
    // A clean environment: settings come only from the flags each test passes.
    for (key, _) in std::env::vars() {
        if key.starts_with("RECONSTRUCTOR_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

/// Starts `reconstructor serve` on a free port; returns the child and its address, read from
/// its JSON "listening" log line.
fn start(args: &[&str], data_dir: &std::path::Path) -> (Child, String) {
    let mut child = binary()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let address = loop {
        assert!(Instant::now() < deadline, "server did not report listening");
        let line = lines.next().expect("server exited early").unwrap();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if json["message"] == "listening" {
            break json["address"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn bad_settings_name_the_setting() {
    let output = binary()
        .args(["serve", "--listen", "nonsense"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--listen"), "{stderr}");

    let output = binary()
        .args(["serve", "--database-url", "mysql://x/y"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database_url"), "{stderr}");

    let output = binary()
        .args(["serve"])
        .env("RECONSTRUCTOR_MAX_RECORDS", "lots")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("RECONSTRUCTOR_MAX_RECORDS") || stderr.contains("max-records"),
        "{stderr}"
    );
}

fn migrate_subcommand_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("reconstructor.db").exists());
}

fn sigterm_while_idle_exits_zero_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, address) = start(&[], dir.path());
    let body = reqwest::blocking::get(format!("http://{address}/healthz")).unwrap();
    assert_eq!(body.status(), 200);
    let start = Instant::now();
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
}

async fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, first_pem) = write_certificate(dir.path(), "live");
    let (_, _, _) = (cert.clone(), key.clone(), ());
    let (mut child, address) = start(
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        dir.path(),
    );
    let port = address.rsplit(':').next().unwrap().to_owned();
    let url = format!("https://localhost:{port}/healthz");
    assert_eq!(
        client_trusting(&first_pem)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Replace the files, then SIGHUP: new handshakes must present the new certificate.
    let (next_cert, next_key, next_pem) = write_certificate(dir.path(), "next");
    std::fs::rename(&next_cert, &cert).unwrap();
    std::fs::rename(&next_key, &key).unwrap();
    assert!(
        client_trusting(&next_pem).get(&url).send().await.is_err(),
        "old certificate still served before SIGHUP? (expected)"
    );
    signal(&child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(r) = client_trusting(&next_pem).get(&url).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(client_trusting(&first_pem).get(&url).send().await.is_err());
    signal(&child, "TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
}

fn reprocess_and_export_work_on_stored_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, address) = start(&[], dir.path());
    let response = reqwest::blocking::Client::new()
        .post(format!("http://{address}/api/telemetry"))
        .header("content-type", "application/json")
        .body(crate::common::sample("nta-worker-basic.json"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    signal(&child, "TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());

    let run = |args: &[&str]| {
        binary()
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--log-level", "warn"])
            .output()
            .expect("binary runs")
    };
    let reprocessed = run(&["reprocess", "--host", "api.shop.example"]);
    assert!(
        reprocessed.status.success(),
        "{}",
        String::from_utf8_lossy(&reprocessed.stderr)
    );
    let out = dir.path().join("spec.yaml");
    let exported = run(&[
        "export",
        "--host",
        "api.shop.example",
        "--format",
        "yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.starts_with("openapi: "), "{yaml}");
    assert!(yaml.contains("/api/v1/orders"), "{yaml}");
    let json = run(&["export", "--host", "api.shop.example"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["openapi"], "3.1.0");

    let unknown = run(&["export", "--host", "nowhere.example"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nowhere.example"));
}

crate::trials! {
    tokio: [sighup_reloads_the_certificate],
    sync: [bad_settings_name_the_setting, migrate_subcommand_creates_the_sqlite_database, sigterm_while_idle_exits_zero_within_a_second, reprocess_and_export_work_on_stored_traffic],
}
