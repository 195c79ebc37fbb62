//! Storage behaviour under failure: outages answer 503 and store nothing partial.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Db, Relay, SqliteLock, TestApp, TestDatabase, postgres_admin_url, sample};

async fn count(app: &TestApp) -> usize {
    let (_, body) = app.get_json("/api/exchanges?limit=1000").await;
    body["exchanges"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers() {
    if postgres_admin_url().is_none() {
        return;
    }
    let database = TestDatabase::new(Db::Postgres).await;
    let relay = Relay::start(&database).await;
    let mut config = database.config();
    config.database.url = Some(relay.database_url(&database));
    config.database.acquire_timeout = Duration::from_secs(2);
    let app = TestApp::spawn_with(database, config).await;

    let batch = {
        let basic: Value = serde_json::from_str(&sample("nta-worker-basic.json")).unwrap();
        json!([basic, basic, basic]).to_string()
    };
    assert_eq!(
        app.post("/api/telemetry", batch.clone()).await.status(),
        200
    );
    assert_eq!(count(&app).await, 3);

    relay.down();
    let started = std::time::Instant::now();
    let response = app.post("/api/telemetry", batch.clone()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "503 took {:?}",
        started.elapsed()
    );
    let (status, _) = app.get_json("/readyz").await;
    assert_eq!(status, 503);

    relay.up();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while app.get_json("/readyz").await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "never became ready again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(&app).await,
        3,
        "nothing of the failed request was stored"
    );
    assert_eq!(app.post("/api/telemetry", batch).await.status(), 200);
    assert_eq!(count(&app).await, 6);
    app.stop().await;
}

/// SQLite's version of an outage: another process holds the write lock past the busy timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_answers_503_and_stores_nothing() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.database.acquire_timeout = Duration::from_secs(1);
    })
    .await;
    let blocker = SqliteLock::take(&app.database).await;
    let response = app
        .post("/api/telemetry", sample("nta-worker-basic.json"))
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    blocker.release().await;
    assert_eq!(count(&app).await, 0);
    let response = app
        .post("/api/telemetry", sample("nta-worker-basic.json"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

/// Replicas starting together migrate one database without tripping over each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_migrations() {
    if postgres_admin_url().is_none() {
        return;
    }
    let database = TestDatabase::new(Db::Postgres).await;
    let config = database.config();
    let stores =
        futures_util::future::join_all((0..4).map(|_| reconstructor::startup::connect(&config)))
            .await;
    let results =
        futures_util::future::join_all(stores.iter().map(|s| s.as_ref().unwrap().migrate())).await;
    for result in results {
        result.expect("migration succeeds in every replica");
    }
}
