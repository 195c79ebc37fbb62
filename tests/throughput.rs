//! Group commit, backpressure and outages under concurrent load.
//!
//! These tests read process-wide metrics (the commit counter), so they live in their own test
//! binary and take turns through a lock.
#![allow(unreachable_pub)]

#[path = "api/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use common::{Db, Relay, SqliteLock, TestApp, TestDatabase, postgres_admin_url};

static TURN: Mutex<()> = Mutex::const_new(());

/// A single-exchange telemetry like the Invicti Worker sends, with a unique path.
fn telemetry(n: usize) -> String {
    serde_json::json!({
        "requestID": "",
        "scheme": "https",
        "destinationAddress": "load.example:443",
        "sourceAddress": "203.0.113.9",
        "request": {"method": "POST", "path": format!("/load/{n}?q=1"), "host": "load.example",
            "common": {"version": "1.1", "headers": [{"key": "content-type", "value": "application/json"}],
                       "body": "eyJhIjoxfQ==", "truncatedBody": false, "time": 1763700000000u64}},
        "response": {"statusCode": "201",
            "common": {"version": "1.1", "headers": [], "body": "", "truncatedBody": false}}
    })
    .to_string()
}

async fn commits(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("reconstructor_ingest_commits_total") && !l.contains("failed"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn stored_paths(app: &TestApp) -> HashSet<String> {
    let mut paths = HashSet::new();
    let mut before = String::new();
    loop {
        let (status, page) = app
            .get_json(&format!(
                "/api/exchanges?host=load.example&limit=1000{before}"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        for e in page["exchanges"].as_array().unwrap() {
            paths.insert(e["path"].as_str().unwrap().to_owned());
        }
        match page["next_before"].as_i64() {
            Some(id) => before = format!("&before={id}"),
            None => return paths,
        }
    }
}

async fn concurrent_requests_share_commits(db: Db) {
    let _turn = TURN.lock().await;
    let app = Arc::new(TestApp::spawn(db, |_| {}).await);
    let before = commits(&app).await;
    let requests = 400;
    let tasks: Vec<_> = (0..requests)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move { app.post("/api/telemetry", telemetry(n)).await.status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let used = commits(&app).await - before;
    assert!(used >= 1);
    assert!(
        used < requests as u64,
        "{used} commits for {requests} requests: no grouping"
    );
    assert_eq!(stored_paths(&app).await.len(), requests);
    Arc::into_inner(app).unwrap().stop().await;
}

/// Load while the database goes away and comes back: everything acknowledged is stored, the
/// outage answers 503, nothing hangs.
async fn outage_under_load(db: Db) {
    let _turn = TURN.lock().await;
    let database = TestDatabase::new(db).await;
    let mut config = database.config();
    config.database.acquire_timeout = Duration::from_secs(1);
    config.commit.timeout = Duration::from_secs(3);
    let relay = match db {
        Db::Postgres => {
            let relay = Relay::start(&database).await;
            config.database.url = Some(relay.database_url(&database));
            Some(relay)
        }
        Db::Sqlite => None,
    };
    let app = Arc::new(TestApp::spawn_with(database, config).await);

    let started = Instant::now();
    let load = Duration::from_secs(4);
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut n = w * 1_000_000;
                while started.elapsed() < load {
                    let sent = Instant::now();
                    let response = app
                        .client
                        .post(app.url("/api/telemetry"))
                        .header("content-type", "application/json")
                        .timeout(Duration::from_secs(10))
                        .body(telemetry(n))
                        .send()
                        .await
                        .expect("no request hangs or fails at the transport level");
                    outcomes.push((n, response.status().as_u16(), sent.elapsed()));
                    n += 1;
                }
                outcomes
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    // The outage: Postgres goes away; SQLite is locked by another writer.
    let blocker = match &relay {
        Some(relay) => {
            relay.down();
            None
        }
        None => Some(SqliteLock::take(&app.database).await),
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    match (&relay, blocker) {
        (Some(relay), _) => relay.up(),
        (None, Some(lock)) => lock.release().await,
        (None, None) => unreachable!("SQLite runs hold a lock"),
    }

    let mut acknowledged = HashSet::new();
    let (mut ok, mut unavailable) = (0, 0);
    let mut slowest = Duration::ZERO;
    for worker in workers {
        for (n, status, took) in worker.await.unwrap() {
            slowest = slowest.max(took);
            match status {
                200 => {
                    ok += 1;
                    acknowledged.insert(format!("/load/{n}"));
                }
                503 => unavailable += 1,
                other => panic!("unexpected status {other}"),
            }
        }
    }
    assert!(ok > 0 && unavailable > 0, "ok {ok}, 503 {unavailable}");
    assert!(
        slowest < Duration::from_secs(6),
        "a request took {slowest:?}"
    );
    let stored = stored_paths(&app).await;
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // And the server recovered.
    assert_eq!(
        app.post("/api/telemetry", telemetry(usize::MAX))
            .await
            .status(),
        200
    );
    Arc::into_inner(app).unwrap().stop().await;
}

/// A full queue answers 503 with Retry-After at once, then drains and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_refuses_then_recovers() {
    let _turn = TURN.lock().await;
    let app = Arc::new(
        TestApp::spawn(Db::Sqlite, |config| {
            config.commit.queue_max_records = 1;
            config.database.acquire_timeout = Duration::from_secs(10);
        })
        .await,
    );
    let blocker = SqliteLock::take(&app.database).await;

    // The first request is queued behind the lock…
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.post("/api/telemetry", telemetry(1)).await.status() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …so the second finds the queue full and is refused at once.
    let started = Instant::now();
    let refused = app.post("/api/telemetry", telemetry(2)).await;
    assert_eq!(refused.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");

    blocker.release().await;
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(app.post("/api/telemetry", telemetry(3)).await.status(), 200);
    let stored = stored_paths(&app).await;
    assert_eq!(
        stored,
        HashSet::from(["/load/1".to_owned(), "/load/3".to_owned()])
    );
    Arc::into_inner(app).unwrap().stop().await;
}

macro_rules! per_backend {
    ($($name:ident),+) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if super::postgres_admin_url().is_none() { return; }
                super::$name(super::Db::Postgres).await
            })+
        }
    };
}

per_backend!(concurrent_requests_share_commits, outage_under_load);
