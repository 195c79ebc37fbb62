//! Operational routes.

use std::time::{Duration, Instant};

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

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the first sample line starting with `prefix` (a name plus, optionally, labels).
fn sample_value(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no sample {prefix} in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn metrics_count_requests_by_route(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    for _ in 0..3 {
        app.get_json("/healthz").await;
    }
    app.get_json("/api/exchanges?limit=1").await;
    let text = scrape(&app).await;
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("reconstructor_http_requests_total") && l.contains("route=\"/healthz\"")
        })
        .unwrap_or_else(|| panic!("no /healthz counter in:\n{text}"));
    assert!(line.contains("status=\"200\""), "{line}");
    assert!(
        text.contains("reconstructor_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("route=\"/api/exchanges\""), "{text}");
    app.stop().await;
}

/// Every family on `/metrics` is one of `observability::FAMILIES`, and all of those are there:
/// prefixed `reconstructor_`, with a HELP line and the declared type, and no summaries (which
/// cannot be aggregated across replicas).
async fn metrics_families_are_named_described_and_typed(db: Db) {
    use reconstructor::observability::{FAMILIES, names};
    use std::collections::BTreeMap;

    let app = TestApp::spawn(db, |config| {
        config.commit.queue_max_records = 12_345;
        config.max_inflight_body_bytes = 48 * 1024 * 1024;
        config.discovery.merge_interval = Duration::from_millis(100);
    })
    .await;
    // One accepted and one rejected record, so every labelled family has a series.
    let response = app
        .post(
            "/api/telemetry",
            crate::common::sample("nta-worker-basic.json"),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .post(
            "/api/telemetry",
            crate::common::sample("nta-worker-only-response.json"),
        )
        .await;
    assert_eq!(response.status(), 422);
    // The merge gauges appear once a merge round has completed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = scrape(&app).await;
        if text.contains(names::DISCOVERY_LAST_MERGE_TIMESTAMP) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let mut types = BTreeMap::new();
    let mut helps = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} typed twice"
            );
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            helps.insert(name.to_owned(), help.trim().to_owned());
        } else if !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|base| types.get(*base).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(name);
            assert!(
                types.contains_key(family),
                "sample {name} has no # TYPE line before it"
            );
        }
    }
    for (name, kind) in &types {
        assert!(
            name.starts_with("reconstructor_"),
            "{name} lacks the prefix"
        );
        assert_ne!(kind, "summary", "{name} is a summary");
        assert!(
            helps.get(name).is_some_and(|h| !h.is_empty()),
            "{name} has no HELP"
        );
    }
    // The webhook counters are labelled by event and outcome: they have no series until a
    // webhook is sent (tests/api/changes.rs covers them), however this process's tests ran.
    let expected: BTreeMap<String, String> = FAMILIES
        .iter()
        .filter(|(name, ..)| ![names::WEBHOOK_EVENTS, names::WEBHOOK_ATTEMPTS].contains(name))
        .map(|(name, kind, _, _)| ((*name).to_owned(), kind.as_str().to_owned()))
        .collect();
    types.retain(|name, _| {
        ![names::WEBHOOK_EVENTS, names::WEBHOOK_ATTEMPTS].contains(&name.as_str())
    });
    assert_eq!(types, expected, "exported families differ:\n{text}");

    // The gauges read at scrape time.
    assert_eq!(sample_value(&text, names::DATABASE_UP), 1.0);
    assert!(sample_value(&text, names::DATABASE_SIZE) > 0.0);
    assert_eq!(
        sample_value(&text, names::INGEST_QUEUE_LIMIT_RECORDS),
        12_345.0
    );
    assert_eq!(
        sample_value(&text, names::INGEST_INFLIGHT_BODY_LIMIT),
        (48 * 1024 * 1024) as f64
    );
    assert!(sample_value(&text, names::DATABASE_POOL_MAX) >= 1.0);
    assert_eq!(sample_value(&text, names::DISCOVERY_MERGE_INTERVAL), 0.1);
    let merged_at = sample_value(&text, names::DISCOVERY_LAST_MERGE_TIMESTAMP);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - 15.0..=now).contains(&merged_at),
        "{merged_at} vs {now}"
    );
    assert!(
        sample_value(&text, names::DATABASE_POOL_CONNECTIONS)
            >= sample_value(&text, names::DATABASE_POOL_IDLE)
    );
    let build = text
        .lines()
        .find(|l| l.starts_with(names::BUILD_INFO))
        .unwrap();
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    assert!(build.contains("revision=\""), "{build}");
    assert!(build.ends_with(" 1"), "{build}");
    // Sizes and batch sizes are histograms with buckets, so replicas aggregate.
    assert!(
        text.contains(&format!(
            "{}_bucket{{le=\"1024\"}}",
            names::INGEST_REQUEST_BODY
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}_bucket{{le=\"1\"}}",
            names::INGEST_COMMIT_RECORDS
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "reconstructor_ingest_records_rejected_total{format=\"nta\",reason=\"missing_request\"}"
        ),
        "{text}"
    );
    app.stop().await;
}

async fn unknown_routes_get_json_404(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, body) = app.get_json("/nope").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    app.stop().await;
}

crate::trials! {
    backend: [healthz_and_readyz, metrics_count_requests_by_route, metrics_families_are_named_described_and_typed, unknown_routes_get_json_404],
    tokio: [readyz_reports_an_unreachable_database],
}

/// A Postgres that is not there: the server still starts (lazy pool), is alive, and reports
/// not-ready quickly with a reason.
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
    // The metrics say so too, without waiting for the pool's acquire timeout.
    let start = Instant::now();
    let text = scrape(&app).await;
    assert_eq!(
        sample_value(&text, reconstructor::observability::names::DATABASE_UP),
        0.0
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    app.stop().await;
}
