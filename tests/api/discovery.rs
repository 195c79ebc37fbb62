//! Discovery end to end: traffic posted over HTTP becomes the expected endpoint catalog, learned
//! templates take new values, rules rewrite stored traffic, and replicas count exactly.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Db, TestApp, TestDatabase, akto_record};

const HOST: &str = "shop.example";

/// The endpoints of [`small_api_traffic`], with their hits.
const SMALL_API: [(&str, &str, u64); 4] = [
    ("GET", "/orders/{orderId}", 30),
    ("GET", "/sessions/{sessionId}", 10),
    ("GET", "/users/me", 15),
    ("GET", "/users/{user}/repos", 40),
];

/// The first twenty accounts of a well-known code host: real usernames, not dictionary words.
const USERS: [&str; 20] = [
    "mojombo",
    "defunkt",
    "pjhyett",
    "wycats",
    "ezmobius",
    "ivey",
    "evanphx",
    "vanpelt",
    "wayneeseguin",
    "brynary",
    "kevinclark",
    "technoweenie",
    "macournoyer",
    "takeo",
    "caged",
    "topfunky",
    "anotherjesse",
    "roland",
    "lukas",
    "fanvsfan",
];

fn record(method: &str, path: &str, status: u16, content_type: &str, body: &str) -> Value {
    akto_record(
        method,
        &format!("https://{HOST}{path}"),
        &[("host", HOST)],
        "",
        status,
        content_type,
        body,
    )
}

fn json_record(path: &str, body: Value) -> Value {
    record("GET", path, 200, "application/json", &body.to_string())
}

/// The traffic of a small API: numeric ids, UUIDs, twenty usernames, `/users/me` and an asset.
fn small_api_traffic() -> Vec<Value> {
    let mut records = Vec::new();
    for id in 1000..1030 {
        records.push(json_record(
            &format!("/orders/{id}"),
            json!({"id": id, "total": 12.5, "currency": "EUR"}),
        ));
    }
    for i in 0..10 {
        records.push(json_record(
            &format!("/sessions/6f1c2d3e-4b5a-4c6d-8e7f-{:012x}", 0x1000 + i),
            json!({"id": "x", "expires": "2026-01-01T00:00:00Z"}),
        ));
    }
    for user in USERS {
        for _ in 0..2 {
            records.push(json_record(
                &format!("/users/{user}/repos"),
                json!([{"id": 1, "name": "dotfiles", "private": false}]),
            ));
        }
    }
    for _ in 0..15 {
        records.push(json_record(
            "/users/me",
            json!({"login": "me", "plan": "pro", "seats": 3}),
        ));
    }
    for _ in 0..3 {
        records.push(record(
            "GET",
            "/static/app.3f9a.js",
            200,
            "application/javascript",
            "console.log(1)",
        ));
    }
    records
}

async fn post_all(app: &TestApp, records: &[Value]) {
    for chunk in records.chunks(25) {
        let response = app
            .post("/api/ingestData", json!({"batchData": chunk}).to_string())
            .await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
}

fn fast_discovery(config: &mut reconstructor::config::Config) {
    config.discovery.merge_interval = Duration::from_millis(100);
    config.discovery.refresh_interval = Duration::from_millis(100);
}

/// `(method, path, hits)` of the API endpoints of [`HOST`].
async fn endpoints(app: &TestApp, query: &str) -> Vec<(String, String, u64)> {
    let (status, body) = app
        .get_json(&format!("/api/hosts/{HOST}/endpoints{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["hits"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Polls until the endpoint list equals `expected` (merges run in the background).
async fn wait_for(app: &TestApp, expected: &[(&str, &str, u64)]) {
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(m, p, h)| (m.to_string(), p.to_string(), *h))
        .collect();
    let started = Instant::now();
    loop {
        let got = endpoints(app, "").await;
        if got == expected {
            return;
        }
        if started.elapsed() > Duration::from_secs(20) {
            panic!("endpoints never became {expected:#?}; last seen {got:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn discovers_a_small_api_over_http(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    post_all(&app, &small_api_traffic()).await;
    wait_for(&app, &SMALL_API).await;

    let (_, body) = app.get_json(&format!("/api/hosts/{HOST}/endpoints")).await;
    let list = body["endpoints"].as_array().unwrap();
    assert_eq!(
        list[0]["parameters"],
        json!([{"name": "orderId", "in": "path", "type": "integer", "format": "int64"}])
    );
    assert_eq!(
        list[1]["parameters"],
        json!([{"name": "sessionId", "in": "path", "type": "string", "format": "uuid"}])
    );
    assert_eq!(list[3]["parameters"][0]["type"], "string");
    assert_eq!(list[0]["status_codes"], json!({"200": 30}));
    assert_eq!(
        list[0]["response_content_types"],
        json!({"application/json": 30})
    );
    assert_eq!(list[0]["first_seen"], "2025-11-21T04:40:00Z");

    // New values go straight to the learned template; the constant stays itself.
    let more: Vec<Value> = ["nakajima", "bmizerany", "jnewland"]
        .iter()
        .map(|u| json_record(&format!("/users/{u}/repos"), json!([])))
        .chain(std::iter::once(json_record("/users/me", json!({}))))
        .collect();
    post_all(&app, &more).await;
    wait_for(
        &app,
        &[
            ("GET", "/orders/{orderId}", 30),
            ("GET", "/sessions/{sessionId}", 10),
            ("GET", "/users/me", 16),
            ("GET", "/users/{user}/repos", 43),
        ],
    )
    .await;

    // Assets are kept out of the API list unless asked for.
    let all = endpoints(&app, "?include_non_api=true").await;
    assert!(all.contains(&("GET".into(), "/static/app.3f9a.js".into(), 3)));
    assert_eq!(
        endpoints(&app, "?path_prefix=/users/").await,
        vec![
            ("GET".into(), "/users/me".into(), 16),
            ("GET".into(), "/users/{user}/repos".into(), 43)
        ]
    );
    assert!(endpoints(&app, "?method=POST").await.is_empty());

    // The host summary.
    let (status, hosts) = app.get_json("/api/hosts").await;
    assert_eq!(status, 200);
    let host = &hosts["hosts"][0];
    assert_eq!(host["host"], HOST);
    assert_eq!(host["port"], 443);
    assert_eq!(host["schemes"], json!(["https"]));
    assert_eq!(host["endpoints"], 4);
    assert_eq!(host["exchanges"], 98 + 4);

    // Every exchange of an endpoint is linked to it.
    let repos = list[3]["id"].as_i64().unwrap();
    let (_, page) = app
        .get_json(&format!("/api/exchanges?endpoint_id={repos}&limit=1000"))
        .await;
    let exchanges = page["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 43);
    assert!(
        exchanges
            .iter()
            .all(|e| e["path"].as_str().unwrap().ends_with("/repos") && e["endpoint_id"] == repos)
    );

    let (status, _) = app.get_json("/api/hosts/unknown.example/endpoints").await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get_json(&format!("/api/hosts/{HOST}/endpoints?limit=0"))
        .await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

async fn rules_rewrite_stored_traffic(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    post_all(&app, &small_api_traffic()).await;
    wait_for(&app, &SMALL_API).await;

    let put = |body: Value| {
        app.client
            .put(app.url(&format!("/api/hosts/{HOST}/rules?wait=true")))
            .json(&body)
            .send()
    };
    // Two more exchanges, counted in the merged `/users/{user}/repos`: the rules below split
    // that endpoint between two.
    let repos = |user: &str| json_record(&format!("/users/{user}/repos"), json!([]));
    post_all(&app, &[repos("mojombo"), repos("defunkt")]).await;
    let before = app.endpoint_ids(HOST).await;
    let response =
        put(json!({"templates": ["/users/{login}/repos"], "literals": ["/users/mojombo"]}))
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reprocessed_exchanges"], 100);

    let expected = [
        ("GET", "/orders/{orderId}", 30),
        ("GET", "/sessions/{sessionId}", 10),
        ("GET", "/users/me", 15),
        ("GET", "/users/mojombo/repos", 3),
        ("GET", "/users/{login}/repos", 39),
    ];
    wait_for(&app, &expected).await;
    // The rows the rules leave as they were keep their ids; the split endpoint's are new.
    let after = app.endpoint_ids(HOST).await;
    for path in ["/orders/{orderId}", "/sessions/{sessionId}", "/users/me"] {
        assert_eq!(before[path], after[path], "{path}: {before:?} {after:?}");
    }
    assert!(
        !before
            .values()
            .any(|id| *id == after["/users/{login}/repos"])
    );
    // The two exchanges of the split endpoint are linked one by one; the others go by an alias
    // of the endpoint they were stored with.
    let links: Vec<(i64,)> = app
        .database
        .rows("select exchange_id from exchange_links")
        .await;
    assert_eq!(links.len(), 2, "{links:?}");
    // No stored exchange was rewritten, and each is listed under its new endpoint.
    let (_, body) = app.get_json(&format!("/api/hosts/{HOST}/endpoints")).await;
    for endpoint in body["endpoints"].as_array().unwrap() {
        let id = endpoint["id"].as_i64().unwrap();
        let (_, page) = app
            .get_json(&format!("/api/exchanges?endpoint_id={id}&limit=1000"))
            .await;
        let listed = page["exchanges"].as_array().unwrap();
        assert_eq!(
            Some(listed.len() as u64),
            endpoint["hits"].as_u64(),
            "{endpoint}"
        );
        assert!(listed.iter().all(|e| e["endpoint_id"] == id), "{page}");
    }
    let (_, rules) = app.get_json(&format!("/api/hosts/{HOST}/rules")).await;
    assert_eq!(rules["stored"]["literals"], json!(["/users/mojombo"]));
    assert_eq!(
        rules["stored"]["templates"],
        json!(["/users/{login:string}/repos"])
    );

    // Broken rules are refused and change nothing.
    for bad in [
        json!({"templates": ["users/{id}"]}),
        json!({"templates": ["/a/{b"]}),
        json!({"literals": ["/users/{id}"]}),
        json!({"nonsense": true}),
    ] {
        let response = put(bad.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    let (_, rules) = app.get_json(&format!("/api/hosts/{HOST}/rules")).await;
    assert_eq!(rules["stored"]["literals"], json!(["/users/mojombo"]));

    // Without `wait`, the answer comes at once (202) and the rebuild runs in the background,
    // with a status to poll until it is done.
    let response = app
        .client
        .put(app.url(&format!("/api/hosts/{HOST}/rules")))
        .json(&json!({"templates": [], "literals": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["rebuild_status"], format!("/api/hosts/{HOST}/rebuild"));
    let started = Instant::now();
    let status = loop {
        let (code, status) = app.get_json(&format!("/api/hosts/{HOST}/rebuild")).await;
        assert_eq!(code, 200, "{status}");
        if status["state"] != "running" {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["exchanges_read"], 100, "{status}");
    assert!(status["finished_at"].is_string(), "{status}");
    app.stop().await;
}

async fn pages_hold_whole_endpoints(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    let records: Vec<Value> = (0..30)
        .map(|i| json_record(&format!("/things/{i}/part{i}"), json!({"n": i})))
        .collect();
    post_all(&app, &records).await;
    // Thirty one-off values may merge in the background; page once the list has settled.
    let mut last = endpoints(&app, "?limit=100000").await;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = endpoints(&app, "?limit=100000").await;
        if now == last {
            break;
        }
        last = now;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = app
            .get_json(&format!(
                "/api/hosts/{HOST}/endpoints?limit=7&cursor={cursor}"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        for e in body["endpoints"].as_array().unwrap() {
            seen.push(e["path"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are ordered and disjoint");
    assert_eq!(seen.len(), endpoints(&app, "?limit=100000").await.len());
    let (status, _) = app
        .get_json(&format!("/api/hosts/{HOST}/endpoints?cursor=%%%"))
        .await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// A code host's API: a dozen owners, each with one repository, every value seen once per
/// route, next to a hot `GET /`. The root's traffic says nothing about the values below it.
async fn discovers_github_shaped_slugs(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    let mut records = Vec::new();
    for _ in 0..40 {
        records.push(json_record("/", json!({"current_user_url": "/user"})));
    }
    for (i, owner) in USERS[..12].iter().enumerate() {
        let repo = format!("{}-{}", USERS[19 - i], "tools");
        records.push(json_record(
            &format!("/repos/{owner}/{repo}"),
            json!({"id": i, "full_name": format!("{owner}/{repo}"), "private": false}),
        ));
        for sub in ["issues", "pulls", "commits"] {
            records.push(json_record(
                &format!("/repos/{owner}/{repo}/{sub}"),
                json!([{"id": i, "url": "x"}]),
            ));
        }
    }
    post_all(&app, &records).await;
    wait_for(
        &app,
        &[
            ("GET", "/", 40),
            ("GET", "/repos/{repo}/{name}", 12),
            ("GET", "/repos/{repo}/{name}/commits", 12),
            ("GET", "/repos/{repo}/{name}/issues", 12),
            ("GET", "/repos/{repo}/{name}/pulls", 12),
        ],
    )
    .await;
    app.stop().await;
}

/// Fourteen sub-resources of a database (with the sub-resource of each that has one): a family
/// of literals.
const FAMILY: [(&str, &str); 14] = [
    ("backups", "restore"),
    ("ca", ""),
    ("dbs", "tables"),
    ("firewall", ""),
    ("pools", "connections"),
    ("users", "reset_auth"),
    ("replicas", "promote"),
    ("maintenance", ""),
    ("migrate", ""),
    ("resize", ""),
    ("sql_mode", ""),
    ("eviction_policy", ""),
    ("upgrade", ""),
    ("online-migration", ""),
];

/// Fourteen sub-resources of a database, most with sub-resources of their own: a family of
/// literals, however many, stays literal next to the typed id.
async fn keeps_a_literal_family(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    let mut records = Vec::new();
    let mut expected: Vec<(String, u64)> = Vec::new();
    for i in 0..10 {
        let id = database_id(i);
        records.push(json_record(
            &format!("/v2/databases/{id}"),
            json!({"id": id}),
        ));
        for (r, child) in FAMILY {
            records.push(json_record(
                &format!("/v2/databases/{id}/{r}"),
                json!({r: []}),
            ));
            if !child.is_empty() {
                records.push(json_record(
                    &format!("/v2/databases/{id}/{r}/{child}"),
                    json!({"ok": true}),
                ));
            }
        }
    }
    expected.push(("/v2/databases/{databaseId}".to_owned(), 10));
    for (r, child) in FAMILY {
        expected.push((format!("/v2/databases/{{databaseId}}/{r}"), 10));
        if !child.is_empty() {
            expected.push((format!("/v2/databases/{{databaseId}}/{r}/{child}"), 10));
        }
    }
    post_all(&app, &records).await;
    wait_for_gets_that_hold(&app, expected).await;
    app.stop().await;
}

/// Polls until the endpoint list is `GET` of each `(path, hits)` of `expected`, then checks
/// that it still is after more merge rounds.
async fn wait_for_gets_that_hold(app: &TestApp, mut expected: Vec<(String, u64)>) {
    expected.sort();
    let expected: Vec<(&str, &str, u64)> = expected
        .iter()
        .map(|(p, h)| ("GET", p.as_str(), *h))
        .collect();
    wait_for(app, &expected).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_for(app, &expected).await;
}

fn database_id(i: usize) -> String {
    format!("9cc10173-e9ea-4176-9dbc-a4cee4c4ff{i:02}")
}

/// Early traffic of a database API (44 exchanges): three busy databases, and each sub-resource
/// of one of them once. By that traffic alone, the sub-resources look like values.
fn early_database_traffic() -> Vec<Value> {
    let mut early = Vec::new();
    for i in 0..3 {
        for _ in 0..10 {
            early.push(json_record(
                &format!("/v2/databases/{}", database_id(i)),
                json!({"items": []}),
            ));
        }
    }
    for (r, _) in FAMILY {
        early.push(json_record(
            &format!("/v2/databases/{}/{r}", database_id(0)),
            json!({"items": []}),
        ));
    }
    early
}

/// What the early traffic merges into.
const EARLY_MERGE: [(&str, &str, u64); 2] = [
    ("GET", "/v2/databases/{databaseId}", 30),
    ("GET", "/v2/databases/{databaseId}/{name}", 14),
];

/// Later traffic (408 exchanges): twelve databases, each with every sub-resource, some with
/// their own.
fn later_database_traffic() -> Vec<Value> {
    let mut later = Vec::new();
    for i in 0..12 {
        let id = database_id(i);
        for _ in 0..10 {
            later.push(json_record(
                &format!("/v2/databases/{id}"),
                json!({"items": []}),
            ));
        }
        for (r, child) in FAMILY {
            later.push(json_record(
                &format!("/v2/databases/{id}/{r}"),
                json!({"items": []}),
            ));
            for leaf in ["status", "logs"] {
                if !child.is_empty() {
                    later.push(json_record(
                        &format!("/v2/databases/{id}/{r}/{child}/{leaf}"),
                        json!({"items": []}),
                    ));
                }
            }
        }
    }
    later
}

/// Posts `records` in one request.
async fn post_at_once(app: &TestApp, records: Vec<Value>) {
    let response = app
        .post("/api/ingestData", json!({"batchData": records}).to_string())
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// Early traffic makes a family of sub-resources look like values. Once the host's traffic has
/// grown fourfold, the leader rebuilds its catalog from the stored exchanges, and the template
/// is split back into the literals all of it shows.
async fn revises_merges_made_on_early_traffic(db: Db) {
    let app = TestApp::spawn(db, fast_discovery).await;
    post_all(&app, &early_database_traffic()).await;
    wait_for(&app, &EARLY_MERGE).await;
    // More than four times the traffic the merge was made on, in one request so that the
    // revision sees all of it.
    post_at_once(&app, later_database_traffic()).await;
    let mut expected = vec![("/v2/databases/{databaseId}".to_owned(), 150)];
    for (r, child) in FAMILY {
        expected.push((format!("/v2/databases/{{databaseId}}/{r}"), 13));
        if !child.is_empty() {
            for leaf in ["status", "logs"] {
                expected.push((
                    format!("/v2/databases/{{databaseId}}/{r}/{child}/{leaf}"),
                    12,
                ));
            }
        }
    }
    // The split holds through later merge rounds.
    wait_for_gets_that_hold(&app, expected).await;
    app.stop().await;
}

/// A host some of whose exchanges were deleted (retention, the disk budget) is not revised: a
/// catalog rebuilt from what is left would lose endpoints and counts.
async fn a_host_missing_exchanges_is_not_revised(db: Db) {
    use std::sync::Arc;

    use reconstructor::discovery::catalog::Classifier;
    use reconstructor::discovery::job::Discovery;

    // The server stores traffic and never merges; the merges and revisions are this test's.
    let app = TestApp::spawn(db, |config| {
        config.discovery.min_distinct = 1_000_000;
    })
    .await;
    let config = app.database.config();
    let store = reconstructor::startup::connect(&config).await.unwrap();
    let discovery = Discovery::new(
        &config.discovery,
        store.clone(),
        Arc::new(Classifier::new(config.discovery.host_rules())),
    );
    post_all(&app, &early_database_traffic()).await;
    // The server's change tracking takes the leader lock now and then.
    let report = loop {
        let report = discovery.merge_round().await.unwrap();
        if report.led {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(report.folded, 14, "{report:?}");
    assert_eq!(endpoints(&app, "").await.len(), 2);
    post_at_once(&app, later_database_traffic()).await;
    raw_execute(
        &config,
        "delete from exchanges where id in (select id from exchanges order by id limit 5)",
    )
    .await;
    let revised = loop {
        if let Some(revised) = discovery.revise().await.unwrap() {
            break revised;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(revised, Vec::<String>::new());
    let hosts = store.list_hosts().await.unwrap();
    assert_eq!(hosts[0].exchanges, 44 + 408);
    let merged = endpoints(&app, "").await;
    assert!(
        merged
            .iter()
            .any(|(_, path, _)| path == "/v2/databases/{databaseId}/{name}"),
        "{merged:?}"
    );
    assert_eq!(
        merged.iter().map(|(_, _, hits)| hits).sum::<u64>(),
        44 + 408
    );
    store.close().await;
    app.stop().await;
}

crate::trials! {
    backend: [
        discovers_a_small_api_over_http,
        rules_rewrite_stored_traffic,
        pages_hold_whole_endpoints,
        discovers_github_shaped_slugs,
        keeps_a_literal_family,
        revises_merges_made_on_early_traffic,
        a_host_missing_exchanges_is_not_revised,
        reprocess_rebuilds_a_missing_catalog,
        summaries_are_committed_with_their_exchanges,
        the_classifier_refreshes_incrementally,
        rebuilds_under_ingest_count_every_exchange,
    ],
    postgres: [two_replicas_count_exactly],
}

/// Two servers on one Postgres ingest overlapping traffic concurrently while both run merges:
/// every hit is counted exactly once.
async fn two_replicas_count_exactly() {
    let database = TestDatabase::new(Db::Postgres).await;
    let mut config = database.config();
    fast_discovery(&mut config);
    let twin = TestDatabase {
        url: database.url.clone(),
        db: Db::Postgres,
        dir: tempfile::tempdir().unwrap(),
    };
    let a = TestApp::spawn_with(database, config.clone()).await;
    let b = TestApp::spawn_with(twin, config).await;

    let traffic = small_api_traffic();
    let rounds = 4;
    let mut tasks = Vec::new();
    for app in [&a, &b] {
        for round in 0..rounds {
            // Each round in its own order, so that batches overlap differently.
            let mut records = traffic.clone();
            records.rotate_left(round * 17 % traffic.len());
            let base = app.base.clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                for chunk in records.chunks(10) {
                    let response = client
                        .post(format!("{base}/api/ingestData"))
                        .header("content-type", "application/json")
                        .body(json!({"batchData": chunk}).to_string())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let copies = 2 * rounds as u64;
    wait_for(
        &a,
        &[
            ("GET", "/orders/{orderId}", 30 * copies),
            ("GET", "/sessions/{sessionId}", 10 * copies),
            ("GET", "/users/me", 15 * copies),
            ("GET", "/users/{user}/repos", 40 * copies),
        ],
    )
    .await;
    let (_, hosts) = b.get_json("/api/hosts").await;
    assert_eq!(hosts["hosts"][0]["exchanges"], 98 * copies);
    let (_, all) = b
        .get_json(&format!("/api/hosts/{HOST}/endpoints?include_non_api=true"))
        .await;
    let total: u64 = all["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 98 * copies);
    a.stop().await;
    b.stop().await;
}

/// Exchanges stored before the catalog existed (no host rows, no endpoint links) are picked up
/// by a full reprocess.
async fn reprocess_rebuilds_a_missing_catalog(db: Db) {
    use std::sync::Arc;

    use reconstructor::discovery::catalog::Classifier;
    use reconstructor::discovery::job::Discovery;
    use reconstructor::store::EndpointQuery;

    // The database outlives the server (for SQLite, its file lives in this one's directory).
    let database = TestDatabase::new(db).await;
    let config = database.config();
    let server = TestDatabase {
        url: database.url.clone(),
        db,
        dir: tempfile::tempdir().unwrap(),
    };
    let app = TestApp::spawn_with(server, config.clone()).await;
    post_all(&app, &small_api_traffic()).await;
    app.stop().await;

    let store = reconstructor::startup::connect(&config).await.unwrap();
    for statement in [
        "delete from endpoint_summaries",
        "delete from endpoints",
        "delete from hosts",
        "update exchanges set endpoint_id = null",
    ] {
        raw_execute(&config, statement).await;
    }
    assert!(store.list_hosts().await.unwrap().is_empty());

    let discovery = Discovery::new(
        &config.discovery,
        store.clone(),
        Arc::new(Classifier::new(config.discovery.host_rules())),
    );
    let report = discovery.reprocess_all().await.unwrap();
    assert_eq!(report.exchanges, 98);
    let rows = store
        .list_endpoints(&EndpointQuery {
            host: HOST.to_owned(),
            limit: 100,
            ..EndpointQuery::default()
        })
        .await
        .unwrap();
    let got: Vec<(String, u64)> = rows.iter().map(|r| (r.path.clone(), r.hits)).collect();
    assert_eq!(
        got,
        [
            ("/orders/{orderId}".to_owned(), 30),
            ("/sessions/{sessionId}".to_owned(), 10),
            ("/users/me".to_owned(), 15),
            ("/users/{user}/repos".to_owned(), 40),
        ]
    );
    let hosts = store.list_hosts().await.unwrap();
    assert_eq!(hosts[0].exchanges, 98);
    // The stored exchanges are not rewritten, yet every one resolves to its endpoint again.
    let (unlinked,) = raw_count(
        &config,
        "select count(*) from exchanges where endpoint_id is null",
    )
    .await;
    assert_eq!(unlinked, 98);
    let listing = |endpoint_id: Option<i64>| reconstructor::store::ExchangeQuery {
        endpoint_id,
        limit: 1000,
        ..Default::default()
    };
    let all = store.list_exchanges(&listing(None)).await.unwrap();
    assert_eq!(all.len(), 98);
    assert!(all.iter().all(|e| e.endpoint_id.is_some()));
    for row in &rows {
        let listed = store.list_exchanges(&listing(Some(row.id))).await.unwrap();
        assert_eq!(listed.len() as u64, row.hits, "{}", row.path);
        assert!(listed.iter().all(|e| e.endpoint_id == Some(row.id)));
    }
    let summaries = store.host_summaries(HOST).await.unwrap();
    assert!(!summaries.is_empty());
    store.close().await;
}

/// An acknowledged exchange's summary is in the database when the answer arrives, not in a
/// process buffer that a crash would lose: with the discovery job's timers far away, the rows are
/// there at once, and the document shows the response fields.
async fn summaries_are_committed_with_their_exchanges(db: Db) {
    let app = TestApp::spawn(db, |config| {
        config.discovery.merge_interval = Duration::from_secs(3600);
        config.discovery.refresh_interval = Duration::from_secs(3600);
    })
    .await;
    post_all(&app, &small_api_traffic()).await;
    let rows: Vec<(String, String)> = app
        .database
        .rows("select method, template from endpoint_summaries order by template")
        .await;
    let templates: std::collections::BTreeSet<&str> =
        rows.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        templates.contains("/orders/{orderId:integer}") && templates.contains("/users/me"),
        "{templates:?}"
    );
    // A summary row per endpoint per commit (25 records per request here), not per exchange.
    assert!(rows.len() < small_api_traffic().len(), "{}", rows.len());
    let (status, document) = app
        .get_json(&format!("/api/hosts/{HOST}/openapi.json"))
        .await;
    assert_eq!(status, 200, "{document}");
    let orders = &document["paths"]["/orders/{orderId}"]["get"]["responses"]["200"];
    let schema = &orders["content"]["application/json"]["schema"];
    assert!(
        schema.to_string().contains("currency"),
        "{}",
        serde_json::to_string_pretty(orders).unwrap()
    );
    app.stop().await;
}

/// Past its first refreshes, the classifier reads only the hosts whose learned templates
/// changed: a fold or a new parameter template, not a new literal endpoint.
async fn the_classifier_refreshes_incrementally(db: Db) {
    use std::sync::Arc;

    use reconstructor::discovery::catalog::Classifier;
    use reconstructor::discovery::job::{Discovery, RefreshReport};
    use reconstructor::model::catalog::Fold;

    let app = TestApp::spawn(db, |config| {
        config.discovery.merge_interval = Duration::from_secs(3600);
        config.discovery.refresh_interval = Duration::from_secs(3600);
    })
    .await;
    let config = app.database.config();
    let store = reconstructor::startup::connect(&config).await.unwrap();
    // No lookback: every refresh after the first is incremental.
    let discovery = Discovery::new(
        &config.discovery,
        store.clone(),
        Arc::new(Classifier::new(config.discovery.host_rules())),
    )
    .with_refresh_lookback(Duration::ZERO);
    let repos = |user: &str| json_record(&format!("/users/{user}/repos"), json!([]));
    post_all(&app, &[repos("alice"), repos("bob"), repos("carol")]).await;
    assert!(discovery.refresh().await.unwrap().full);
    let nothing = RefreshReport::default();
    assert_eq!(discovery.refresh().await.unwrap(), nothing);

    post_all(&app, &[json_record("/about", json!({}))]).await;
    assert_eq!(discovery.refresh().await.unwrap(), nothing, "a literal");

    let folds: Vec<Fold> = ["alice", "bob", "carol"]
        .iter()
        .map(|user| Fold {
            method: "GET".into(),
            from: format!("/users/{user}/repos"),
            to: "/users/{user}/repos".into(),
        })
        .collect();
    assert_eq!(store.fold_endpoints(HOST, &folds).await.unwrap(), 3);
    assert_eq!(
        discovery.classifier().template_of(HOST, "/users/zed/repos"),
        "/users/zed/repos"
    );
    let folded = discovery.refresh().await.unwrap();
    assert_eq!(folded.reloaded, [HOST], "{folded:?}");
    assert_eq!(
        discovery.classifier().template_of(HOST, "/users/zed/repos"),
        "/users/{user:string}/repos"
    );
    assert_eq!(discovery.refresh().await.unwrap(), nothing);

    post_all(&app, &[json_record("/orders/17", json!({}))]).await;
    let typed = discovery.refresh().await.unwrap();
    assert_eq!(typed.reloaded, [HOST], "a parameter template: {typed:?}");
    assert_eq!(discovery.refresh().await.unwrap(), nothing);
    store.close().await;
    app.stop().await;
}

/// Rebuilds of a host while its traffic keeps arriving: whatever lands before, during or after
/// each of them, every exchange is counted once and listed under its endpoint.
async fn rebuilds_under_ingest_count_every_exchange(db: Db) {
    use std::sync::Arc;

    use reconstructor::discovery::catalog::Classifier;
    use reconstructor::discovery::job::Discovery;

    let app = Arc::new(
        TestApp::spawn(db, |config| {
            config.discovery.merge_interval = Duration::from_secs(3600);
        })
        .await,
    );
    let config = app.database.config();
    let store = reconstructor::startup::connect(&config).await.unwrap();
    let discovery = Discovery::new(
        &config.discovery,
        store.clone(),
        Arc::new(Classifier::new(config.discovery.host_rules())),
    );
    let record = |i: usize| json_record(&format!("/items/{}/parts", i % 40), json!({"n": i}));
    let first: Vec<Value> = (0..400).map(record).collect();
    post_all(&app, &first).await;
    let later = 600;
    let ingest = tokio::spawn({
        let app = app.clone();
        async move {
            for chunk in (400..400 + later).collect::<Vec<_>>().chunks(10) {
                let records: Vec<Value> = chunk.iter().map(|i| record(*i)).collect();
                post_all(&app, &records).await;
            }
        }
    });
    let mut rebuilds = 0;
    while !ingest.is_finished() || rebuilds == 0 {
        discovery.reprocess(HOST).await.unwrap();
        rebuilds += 1;
    }
    ingest.await.unwrap();
    discovery.reprocess(HOST).await.unwrap();

    let (_, body) = app
        .get_json(&format!("/api/hosts/{HOST}/endpoints?limit=1000"))
        .await;
    let endpoints = body["endpoints"].as_array().unwrap();
    let total: u64 = endpoints.iter().map(|e| e["hits"].as_u64().unwrap()).sum();
    assert_eq!(total, 400 + later as u64, "after {rebuilds} rebuilds");
    for endpoint in endpoints {
        let id = endpoint["id"].as_i64().unwrap();
        let (_, page) = app
            .get_json(&format!("/api/exchanges?endpoint_id={id}&limit=1000"))
            .await;
        let listed = page["exchanges"].as_array().unwrap().len() as u64;
        assert_eq!(Some(listed), endpoint["hits"].as_u64(), "{endpoint}");
    }
    store.close().await;
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}

async fn raw_execute(config: &reconstructor::config::Config, statement: &str) {
    let url = config.database_url();
    if url.expose().starts_with("postgres") {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url.expose())
            .await
            .unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url.expose())
            .await
            .unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
}

async fn raw_count(config: &reconstructor::config::Config, query: &str) -> (i64,) {
    let url = config.database_url();
    if url.expose().starts_with("postgres") {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url.expose())
            .await
            .unwrap();
        sqlx::query_as(query).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url.expose())
            .await
            .unwrap();
        sqlx::query_as(query).fetch_one(&mut conn).await.unwrap()
    }
}
