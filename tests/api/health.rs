//! Operational routes.

use std::time::{Duration, Instant};

use crate::backend_tests;
use crate::common::{Db, TestApp, TestDatabase};

async fn healthz_and_readyz(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let expected = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
    app.stop().await;
}

async fn metrics_count_requests_by_route(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    for _ in 0..3 {
        app.get_json("/healthz").await;
    }
    app.get_json("/api/exchanges?limit=1").await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total") && l.contains("route=\"/healthz\""))
        .unwrap_or_else(|| panic!("no /healthz counter in:\n{text}"));
    assert!(line.contains("status=\"200\""), "{line}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("route=\"/api/exchanges\""), "{text}");
    app.stop().await;
}

async fn unknown_routes_get_json_404(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, body) = app.get_json("/nope").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    app.stop().await;
}

backend_tests!(
    healthz_and_readyz,
    metrics_count_requests_by_route,
    unknown_routes_get_json_404
);

/// A Postgres that is not there: the server still starts (lazy pool), is alive, and reports
/// not-ready quickly with a reason.
#[tokio::test]
async fn readyz_reports_an_unreachable_database() {
    let database = TestDatabase::new(Db::Sqlite).await;
    let mut config = database.config();
    // Port 1 on loopback: nothing listens there, so connecting fails at once.
    config.database.url = Some(reconstructor::store::DatabaseUrl::new(
        "postgres://nobody:secret@127.0.0.1:1/none",
    ));
    config.database.migrate_on_start = false;
    config.database.acquire_timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(database, config).await;
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    let start = Instant::now();
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("secret"),
        "the password leaked: {body}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    app.stop().await;
}
