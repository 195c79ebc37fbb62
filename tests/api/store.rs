//! Storage behaviour under failure: outages answer 503 and store nothing partial.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::common::{Db, TestApp, TestDatabase, postgres_admin_url, sample};

/// A TCP relay in front of Postgres that can be switched off (cutting every connection) and on
/// again: a database outage without touching the shared server.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused-ish
                }
                let target = target.clone();
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Relay { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn count(app: &TestApp) -> usize {
    let (_, body) = app.get_json("/api/exchanges?limit=1000").await;
    body["exchanges"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let database = TestDatabase::new(Db::Postgres).await;
    let real = url::Url::parse(&admin).unwrap();
    let relay = Relay::start(format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    ))
    .await;
    let mut relayed = url::Url::parse(database.url.expose()).unwrap();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(relay.port)).unwrap();
    let mut config = database.config();
    config.database_url = Some(reconstructor::config::DatabaseUrl::new(relayed.to_string()));
    config.database_acquire_timeout = Duration::from_secs(2);
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
        config.database_acquire_timeout = Duration::from_secs(1);
    })
    .await;
    let path = app.database.dir.path().join("test.db");
    let mut blocker = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        path.display()
    ))
    .await
    .unwrap();
    sqlx::Executor::execute(&mut blocker, "begin exclusive")
        .await
        .unwrap();
    let response = app
        .post("/api/telemetry", sample("nta-worker-basic.json"))
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    sqlx::Executor::execute(&mut blocker, "rollback")
        .await
        .unwrap();
    drop(blocker);
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
        futures_util::future::join_all((0..4).map(|_| reconstructor::store::connect(&config)))
            .await;
    let results =
        futures_util::future::join_all(stores.iter().map(|s| s.as_ref().unwrap().migrate())).await;
    for result in results {
        result.expect("migration succeeds in every replica");
    }
}
