//! Storage behaviour under failure: outages answer 503 and store nothing partial.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Db, Relay, SqliteLock, TestApp, TestDatabase, sample};

async fn count(app: &TestApp) -> usize {
    let (_, body) = app.get_json("/api/exchanges?limit=1000").await;
    body["exchanges"].as_array().map(Vec::len).unwrap_or(0)
}

async fn postgres_outage_answers_503_then_recovers() {
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
async fn postgres_concurrent_migrations() {
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

crate::trials! {
    backend: [
        retention_expires_old_exchanges_and_keeps_the_counts,
        a_disk_budget_deletes_the_oldest_exchanges_and_keeps_the_counts,
        folds_chain_without_rewriting_exchanges,
        sampled_storage_keeps_a_sample_whole_and_counts_everything,
        counts_per_status_and_media_type_add_up_over_commits,
    ],
    tokio: [
        sqlite_locked_answers_503_and_stores_nothing,
        a_commit_past_the_timeout_stores_exactly_what_was_acknowledged,
    ],
    postgres: [
        postgres_outage_answers_503_then_recovers,
        postgres_concurrent_migrations,
        commits_never_wait_for_a_hot_endpoint_row,
    ],
}

/// One `GET https://<host><path>` Akto record per path.
fn gets(host: &str, paths: impl IntoIterator<Item = String>) -> Value {
    let records: Vec<Value> = paths
        .into_iter()
        .map(|path| {
            crate::common::akto_record(
                "GET",
                &format!("https://{host}{path}"),
                &[],
                "",
                200,
                "application/json",
                "{}",
            )
        })
        .collect();
    json!({ "batchData": records })
}

/// The status and media type counts of an endpoint stay exact over commits that bring one key
/// (added with `jsonb_set` on Postgres), none (a request without a media type) and several (the
/// PL/pgSQL path), to an endpoint that is new and then known.
async fn counts_per_status_and_media_type_add_up_over_commits(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let host = "counts.example";
    let record = |method: &str, request_type: Option<&str>, status: u16, response_type: &str| {
        let headers: Vec<(&str, &str)> = request_type
            .map(|t| vec![("content-type", t)])
            .unwrap_or_default();
        let body = if request_type.is_some() { "{}" } else { "" };
        crate::common::akto_record(
            method,
            &format!("https://{host}/orders"),
            &headers,
            body,
            status,
            response_type,
            "{}",
        )
    };
    let json = "application/json";
    let text = "text/plain";
    let batches = [
        // New endpoints, several keys each.
        vec![
            record("GET", None, 200, json),
            record("GET", None, 404, text),
            record("POST", Some(json), 201, json),
            record("POST", Some(text), 400, json),
        ],
        // One key each (and none for the GET's request).
        vec![
            record("GET", None, 200, json),
            record("POST", Some(json), 201, json),
        ],
        // Several statuses, one response media type counted twice.
        vec![
            record("GET", None, 500, json),
            record("GET", None, 200, json),
            record("POST", Some(json), 201, text),
            record("POST", Some(json), 201, text),
        ],
    ];
    for batch in batches {
        let response = app
            .post("/api/ingestData", json!({ "batchData": batch }).to_string())
            .await;
        assert_eq!(response.status(), 200);
    }
    let (_, body) = app
        .get_json(&format!("/api/hosts/{host}/endpoints?include_non_api=true"))
        .await;
    let endpoints = body["endpoints"].as_array().unwrap();
    let get = endpoints.iter().find(|e| e["method"] == "GET").unwrap();
    let post = endpoints.iter().find(|e| e["method"] == "POST").unwrap();
    assert_eq!(get["hits"], 5, "{body}");
    assert_eq!(get["status_codes"], json!({"200": 3, "404": 1, "500": 1}));
    assert_eq!(get["request_content_types"], json!({}));
    assert_eq!(get["response_content_types"], json!({json: 4, text: 1}));
    assert_eq!(post["hits"], 5, "{body}");
    assert_eq!(post["status_codes"], json!({"201": 4, "400": 1}));
    assert_eq!(post["request_content_types"], json!({json: 4, text: 1}));
    assert_eq!(post["response_content_types"], json!({json: 3, text: 2}));
    app.stop().await;
}

/// Exchanges past the retention go (a whole day partition on Postgres, rows elsewhere); the
/// catalog's counts stay, and a second round has nothing left to do.
async fn retention_expires_old_exchanges_and_keeps_the_counts(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let batch = gets("retention.example", (0..10).map(|i| format!("/orders/{i}")));
    let response = app.post("/api/ingestData", batch.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(count(&app).await, 10);

    age_exchanges(&app, db).await;

    let config = app.database.config();
    let store = reconstructor::startup::connect(&config).await.unwrap();
    let before = chrono::Utc::now() - chrono::Duration::days(30);
    let expired = store.expire(before).await.unwrap();
    match db {
        Db::Postgres => {
            assert_eq!(
                (expired.partitions, expired.rows, expired.deferred),
                (1, 1, 0)
            );
        }
        Db::Sqlite => assert_eq!((expired.partitions, expired.rows), (0, 5)),
    }
    assert_eq!(count(&app).await, 5);
    assert_eq!(
        store.expire(before).await.unwrap(),
        reconstructor::store::Expired::default()
    );

    // The catalog still counts every exchange it was sent.
    let (_, hosts) = app.get_json("/api/hosts").await;
    assert_eq!(hosts["hosts"][0]["exchanges"], 10, "{hosts}");
    store.close().await;
    app.stop().await;
}

/// Makes the first four stored exchanges 40 days old and the fifth 50 days (on Postgres, the
/// four in a day partition of their own, as maintenance makes them, the fifth in the default
/// partition).
async fn age_exchanges(app: &TestApp, db: Db) {
    let day = chrono::Utc::now().date_naive() - chrono::Days::new(40);
    match db {
        Db::Postgres => {
            // A day partition of its own for the 40-day-old ones, as maintenance makes them;
            // the 50-day-old one lands in the default partition.
            let next = day.succ_opt().unwrap();
            app.database
                .execute(&format!(
                    "create table exchanges_{} partition of exchanges \
                     for values from ('{day}') to ('{next}')",
                    day.format("%Y%m%d")
                ))
                .await;
            app.database
                .execute(&format!(
                    "update exchanges set received_at = '{day} 12:00:00+00' \
                     where id in (select id from exchanges order by id limit 4)"
                ))
                .await;
            app.database
                .execute(
                    "update exchanges set received_at = now() - interval '50 days' \
                     where id = (select id from exchanges order by id offset 4 limit 1)",
                )
                .await;
        }
        Db::Sqlite => {
            let micros = |days: i64| days * 86_400 * 1_000_000;
            app.database
                .execute(&format!(
                    "update exchanges set received_at = received_at - {} \
                     where id in (select id from exchanges order by id limit 4)",
                    micros(40)
                ))
                .await;
            app.database
                .execute(&format!(
                    "update exchanges set received_at = received_at - {} \
                     where id = (select id from exchanges order by id limit 1 offset 4)",
                    micros(50)
                ))
                .await;
        }
    }
}

/// Over its disk budget, the database loses its oldest exchanges first (a whole day partition
/// on Postgres, an hour of rows at a time on SQLite), never the current ones, and the catalog
/// keeps counting everything.
async fn a_disk_budget_deletes_the_oldest_exchanges_and_keeps_the_counts(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let batch = gets("budget.example", (0..10).map(|i| format!("/orders/{i}")));
    let response = app.post("/api/ingestData", batch.to_string()).await;
    assert_eq!(response.status(), 200);
    age_exchanges(&app, db).await;

    let store = reconstructor::startup::connect(&app.database.config())
        .await
        .unwrap();
    let used = store.disk_usage().await.unwrap();
    assert!(used > 0);
    let roomy = reconstructor::startup::enforce_disk_budget(&*store, used * 2)
        .await
        .unwrap();
    assert_eq!(roomy, reconstructor::store::Expired::default());
    assert_eq!(count(&app).await, 10);

    // A budget nothing fits in: everything but the recent traffic goes.
    let tight = reconstructor::startup::enforce_disk_budget(&*store, 1)
        .await
        .unwrap();
    match db {
        Db::Postgres => assert_eq!((tight.partitions, tight.rows), (1, 1)),
        Db::Sqlite => assert_eq!((tight.partitions, tight.rows), (0, 5)),
    }
    assert_eq!(count(&app).await, 5);
    let again = reconstructor::startup::enforce_disk_budget(&*store, 1)
        .await
        .unwrap();
    assert_eq!(again, reconstructor::store::Expired::default());

    let (_, hosts) = app.get_json("/api/hosts").await;
    assert_eq!(hosts["hosts"][0]["exchanges"], 10, "{hosts}");
    store.close().await;
    app.stop().await;
}

/// Folding A into B, then B into C, leaves the stored exchanges as they were and finds all three
/// under C, each reported with C's id.
async fn folds_chain_without_rewriting_exchanges(db: Db) {
    const HOST: &str = "folds.example";
    let app = TestApp::spawn(db, |_| {}).await;
    let batch = gets(
        HOST,
        ["alpha", "beta", "gamma"].map(|n| format!("/{n}/report")),
    );
    let response = app.post("/api/ingestData", batch.to_string()).await;
    assert_eq!(response.status(), 200);
    let before = app.endpoint_ids(HOST).await;
    assert_eq!(before.len(), 3, "{before:?}");
    const LINKS: &str = "select id, endpoint_id from exchanges order by id";
    let rows_before: Vec<(i64, Option<i64>)> = app.database.rows(LINKS).await;

    let store = reconstructor::startup::connect(&app.database.config())
        .await
        .unwrap();
    let fold = |from: &str, to: &str| reconstructor::model::catalog::Fold {
        method: "GET".into(),
        from: format!("/{from}/report"),
        to: format!("/{to}/report"),
    };
    assert_eq!(
        store
            .fold_endpoints(HOST, &[fold("alpha", "beta")])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .fold_endpoints(HOST, &[fold("beta", "gamma")])
            .await
            .unwrap(),
        1
    );

    let after = app.endpoint_ids(HOST).await;
    assert_eq!(after.keys().collect::<Vec<_>>(), ["/gamma/report"]);
    let gamma = after["/gamma/report"];
    assert_eq!(gamma, before["/gamma/report"]);
    let (_, page) = app
        .get_json(&format!("/api/exchanges?endpoint_id={gamma}&limit=10"))
        .await;
    let exchanges = page["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 3, "{page}");
    assert!(
        exchanges.iter().all(|e| e["endpoint_id"] == gamma),
        "{page}"
    );
    let rows_after: Vec<(i64, Option<i64>)> = app.database.rows(LINKS).await;
    assert_eq!(rows_after, rows_before, "exchange rows were rewritten");
    store.close().await;
    app.stop().await;
}

/// Under `exchanges = "sampled"`: the first exchanges of an endpoint and status, every error and
/// every new response shape are stored whole; the rest as metadata (no headers or bodies, but
/// their sizes and content types), and the catalog counts them all.
async fn sampled_storage_keeps_a_sample_whole_and_counts_everything(db: Db) {
    use reconstructor::discovery::summaries::SAMPLE_FIRST;

    const HOST: &str = "sampled.example";
    let app = TestApp::spawn(db, |config| {
        config.storage.exchanges = reconstructor::store::ExchangePolicy::Sampled;
    })
    .await;
    let record = |path: &str, status: u16, body: &str| {
        crate::common::akto_record(
            "GET",
            &format!("https://{HOST}{path}"),
            &[
                ("authorization", "Bearer abc"),
                ("accept", "application/json"),
            ],
            "",
            status,
            "application/json",
            body,
        )
    };
    let plain = 100;
    let mut records: Vec<Value> = (0..plain)
        .map(|i| record(&format!("/orders/{i}"), 200, r#"{"id":1,"total":2}"#))
        .collect();
    records.extend((0..3).map(|i| record(&format!("/orders/{i}"), 500, r#"{"error":"x"}"#)));
    records.push(record(
        "/orders/7",
        200,
        r#"{"id":1,"total":2,"refunds":[]}"#,
    ));
    for chunk in records.chunks(20) {
        let body = json!({ "batchData": chunk }).to_string();
        assert_eq!(app.post("/api/ingestData", body).await.status(), 200);
    }

    let (_, page) = app
        .get_json(&format!("/api/exchanges?host={HOST}&limit=1000"))
        .await;
    let exchanges = page["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), records.len());
    let (whole, metadata): (Vec<&Value>, Vec<&Value>) =
        exchanges.iter().partition(|e| e["stored"] == "whole");
    // The first of the endpoint's 200s, the three errors and the one new shape.
    assert_eq!(
        whole.len(),
        SAMPLE_FIRST as usize + 3 + 1,
        "{}",
        whole.len()
    );
    assert_eq!(whole.iter().filter(|e| e["status"] == 500).count(), 3);
    assert!(
        whole
            .iter()
            .any(|e| e["response"]["body"].as_str().unwrap().contains("refunds"))
    );
    for e in &metadata {
        assert_eq!(e["stored"], "metadata");
        assert_eq!(e["status"], 200);
        assert_eq!(e["request"]["headers"].as_array().unwrap().len(), 0, "{e}");
        assert_eq!(e["response"]["body"], "");
        assert_eq!(e["response"]["body_size"], r#"{"id":1,"total":2}"#.len());
        assert_eq!(e["response"]["content_type"], "application/json");
        assert!(e["endpoint_id"].is_i64(), "{e}");
    }
    let (_, body) = app.get_json(&format!("/api/hosts/{HOST}/endpoints")).await;
    let hits: u64 = body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(hits, records.len() as u64);
    app.stop().await;
}

/// A commit delayed past `commit.timeout` (another process holds SQLite's write lock): the
/// request whose records are in the stalled transaction waits for it and gets 200; the one still
/// queued behind it gets 503 and its records are never stored, even after the lock goes.
async fn a_commit_past_the_timeout_stores_exactly_what_was_acknowledged() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.commit.timeout = Duration::from_millis(400);
        // SQLite waits this long for the lock, well past the commit timeout.
        config.database.acquire_timeout = Duration::from_secs(20);
    })
    .await;
    let blocker = SqliteLock::take(&app.database).await;
    let post = |name: &'static str| {
        let client = app.client.clone();
        let url = app.url("/api/telemetry");
        tokio::spawn(async move {
            let response = client.post(url).body(sample(name)).send().await.unwrap();
            response.status().as_u16()
        })
    };
    let in_transaction = post("nta-worker-basic.json");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let queued = post("nta-worker-get-ipv6-client.json");
    assert_eq!(queued.await.unwrap(), 503, "the queued request gives up");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !in_transaction.is_finished(),
        "answered before its commit ended"
    );
    blocker.release().await;
    assert_eq!(in_transaction.await.unwrap(), 200);
    // Whatever the writer meets next, the withdrawn records stay out.
    let response = app
        .post("/api/telemetry", sample("nta-worker-port-bug.json"))
        .await;
    assert_eq!(response.status(), 200);
    let (_, body) = app.get_json("/api/exchanges?limit=100").await;
    let clients: Vec<&str> = body["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["client_address"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(clients.len(), 2, "{body}");
    assert!(
        !clients.iter().any(|a| a.contains(':')),
        "the IPv6 client's record was stored: {body}"
    );
    app.stop().await;
}

/// The hits of one endpoint, read through the API.
async fn endpoint_hits(app: &TestApp, host: &str) -> Vec<(String, u64)> {
    let (_, body) = app
        .get_json(&format!("/api/hosts/{host}/endpoints?include_non_api=true"))
        .await;
    body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["hits"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Ingest appends counts beside a known endpoint instead of updating its row: a commit goes
/// through while another transaction holds that row's lock (as a concurrent commit counting the
/// same endpoint would), reads count what is not settled yet, and settling keeps the counts.
async fn commits_never_wait_for_a_hot_endpoint_row() {
    let app = TestApp::spawn(Db::Postgres, |_| {}).await;
    let host = "hot.example";
    let batch = gets(host, (0..5).map(|_| "/health".to_owned()));
    assert_eq!(
        app.post("/api/ingestData", batch.to_string())
            .await
            .status(),
        200
    );

    let mut holder = <sqlx::PgConnection as sqlx::Connection>::connect(app.database.url.expose())
        .await
        .unwrap();
    sqlx::query("begin").execute(&mut holder).await.unwrap();
    let (locked,): (i64,) = sqlx::query_as(
        "select count(*) from (select id from endpoints where host = $1 for update) l",
    )
    .bind(host)
    .fetch_one(&mut holder)
    .await
    .unwrap();
    assert_eq!(locked, 1);

    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.post("/api/ingestData", batch.to_string()),
    )
    .await
    .expect("the commit does not wait for the endpoint's row lock");
    assert_eq!(response.status(), 200);
    assert_eq!(
        endpoint_hits(&app, host).await,
        [("/health".to_owned(), 10)]
    );

    // A settle round skips nothing and loses nothing once the row is free.
    sqlx::query("rollback").execute(&mut holder).await.unwrap();
    let store = reconstructor::startup::connect(&app.database.config())
        .await
        .unwrap();
    // The server settles every second too: whichever round takes the lock, none is left.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        store.settle_counts().await.unwrap();
        let (pending,): (i64,) = sqlx::query_as("select count(*) from endpoint_counts")
            .fetch_one(&mut holder)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} rows unsettled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (stored,): (i64,) = sqlx::query_as("select hits from endpoints where host = $1")
        .bind(host)
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert_eq!(stored, 10);
    assert_eq!(
        endpoint_hits(&app, host).await,
        [("/health".to_owned(), 10)]
    );
    let (_, hosts) = app.get_json("/api/hosts").await;
    assert_eq!(hosts["hosts"][0]["exchanges"], 10);
    app.stop().await;
}
