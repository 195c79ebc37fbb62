//! Change tracking end to end: revisions and diffs, a reference spec and its drift, and signed
//! webhooks delivered through a receiver outage.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Db, TestApp, akto_record};

const HOST: &str = "shop.example";
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn exchange(method: &str, path: &str, status: u16, body: Value) -> Value {
    akto_record(
        method,
        &format!("https://{HOST}{path}"),
        &[("host", HOST)],
        "",
        status,
        "application/json",
        &body.to_string(),
    )
}

async fn post_traffic(app: &TestApp, records: Vec<Value>) {
    let response = app
        .post("/api/ingestData", json!({"batchData": records}).to_string())
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

fn fast(config: &mut reconstructor::config::Config) {
    config.changes.interval = Duration::from_millis(100);
    config.changes.debounce = Duration::from_millis(300);
    config.changes.webhook_backoff = Duration::from_millis(100);
    config.changes.webhook_backoff_max = Duration::from_millis(400);
    config.changes.webhook_poll_interval = Duration::from_millis(100);
    config.discovery.refresh_interval = Duration::from_millis(200);
}

/// Polls `probe` until it returns `Some`, for up to 20 seconds.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn revisions(app: &TestApp) -> Vec<Value> {
    let (_, body) = app.get_json(&format!("/api/hosts/{HOST}/revisions")).await;
    body["revisions"].as_array().cloned().unwrap_or_default()
}

async fn a_new_endpoint_makes_a_revision_and_the_diff_names_it(db: Db) {
    let app = TestApp::spawn(db, fast).await;
    post_traffic(
        &app,
        vec![
            exchange("GET", "/catalog", 200, json!({"items": []})),
            exchange("GET", "/catalog", 200, json!({"items": []})),
        ],
    )
    .await;
    eventually("revision 1", || async {
        (revisions(&app).await.len() == 1).then_some(())
    })
    .await;
    // More of the same traffic is no material change.
    post_traffic(
        &app,
        vec![exchange("GET", "/catalog", 200, json!({"items": []}))],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(revisions(&app).await.len(), 1);

    // A burst that adds an endpoint gives one revision.
    for _ in 0..3 {
        post_traffic(
            &app,
            vec![exchange("POST", "/carts", 201, json!({"id": 7}))],
        )
        .await;
    }
    let all = eventually("revision 2", || async {
        let all = revisions(&app).await;
        (all.len() >= 2).then_some(all)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(revisions(&app).await.len(), 2, "{all:?}");
    assert_eq!(all[1]["revision"], 2);
    assert_eq!(all[1]["added"], 1);

    let (status, diff) = app
        .get_json(&format!("/api/hosts/{HOST}/diff?from=1&to=2"))
        .await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["added"], json!([{"method": "POST", "path": "/carts"}]));
    assert_eq!(diff["removed"], json!([]));
    assert_eq!(diff["changed"], json!([]));
    // Without parameters: the latest against the one before.
    let (_, latest) = app.get_json(&format!("/api/hosts/{HOST}/diff")).await;
    assert_eq!(latest["added"], diff["added"]);

    // The recorded documents are those of their time.
    let (status, first) = app
        .get_json(&format!("/api/hosts/{HOST}/openapi.json?revision=1"))
        .await;
    assert_eq!(status, 200);
    assert!(first["paths"]["/catalog"].is_object());
    assert!(first["paths"].get("/carts").is_none());
    let (_, second) = app
        .get_json(&format!("/api/hosts/{HOST}/openapi.json?revision=2"))
        .await;
    assert!(second["paths"]["/carts"]["post"].is_object());

    for (path, expected) in [
        (format!("/api/hosts/{HOST}/openapi.json?revision=9"), 404),
        (format!("/api/hosts/{HOST}/openapi.json?revision=x"), 400),
        (format!("/api/hosts/{HOST}/diff?from=1&to=9"), 400),
        (format!("/api/hosts/{HOST}/diff?from=-1&to=2"), 400),
        ("/api/hosts/nobody.example/revisions".to_owned(), 404),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    app.stop().await;
}

const REFERENCE: &str = "openapi: 3.0.3
info: {title: Shop, version: '1'}
paths:
  /users/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {type: object}}}
  /users:
    get:
      deprecated: true
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {type: array}}}
  /orders:
    post:
      responses:
        '201': {description: made}
";

/// Puts `body` as the reference and waits for the rebuild it starts.
async fn put_reference(app: &TestApp, body: &str) -> (u16, Value) {
    put_reference_with(app, body, "?wait=true").await
}

async fn put_reference_with(app: &TestApp, body: &str, query: &str) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(&format!("/api/hosts/{HOST}/reference{query}")))
        .header("content-type", "application/yaml")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_reference_gives_exactly_the_expected_drift(db: Db) {
    let app = TestApp::spawn(db, fast).await;
    let (status, stored) = put_reference(&app, REFERENCE).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["openapi"], "3.0.3");
    assert_eq!(stored["operations"], 3);
    assert_eq!(stored["templates"], json!(["/users/{id}"]));
    assert_eq!(stored["sha256"].as_str().map(str::len), Some(64));

    post_traffic(
        &app,
        vec![
            exchange("GET", "/users/1", 200, json!({"id": 1})),
            exchange("GET", "/users/2", 200, json!({"id": 2})),
            exchange("GET", "/users/3", 404, json!({"error": "no such user"})),
            exchange("GET", "/users", 200, json!([{"id": 1}])),
            exchange("GET", "/admin/debug", 200, json!({"ok": true})),
        ],
    )
    .await;
    let (status, drift) = app.get_json(&format!("/api/hosts/{HOST}/drift")).await;
    assert_eq!(status, 200, "{drift}");
    let names = |list: &Value| -> Vec<(String, String, u64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["method"].as_str().unwrap().to_owned(),
                    f["path"].as_str().unwrap().to_owned(),
                    f["hits"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let owned = |m: &str, p: &str, h: u64| (m.to_owned(), p.to_owned(), h);
    assert_eq!(
        names(&drift["shadow"]),
        vec![owned("GET", "/admin/debug", 1)]
    );
    assert_eq!(names(&drift["unused"]), vec![owned("POST", "/orders", 0)]);
    assert_eq!(names(&drift["zombie"]), vec![owned("GET", "/users", 1)]);
    let mismatches = drift["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{drift:#}");
    assert_eq!(mismatches[0]["method"], "GET");
    assert_eq!(mismatches[0]["path"], "/users/{id}");
    assert_eq!(mismatches[0]["kind"], "undocumented_status_code");
    assert_eq!(mismatches[0]["value"], "404");
    assert_eq!(mismatches[0]["hits"], 1);
    for finding in [&drift["shadow"][0], &drift["zombie"][0], &mismatches[0]] {
        assert!(finding["first_seen"].is_string(), "{finding}");
        assert!(finding["last_seen"].is_string(), "{finding}");
    }
    assert!(drift["unused"][0]["last_seen"].is_null());
    assert_eq!(drift["reference"]["sha256"], stored["sha256"]);

    // Traffic since a later time: everything documented is unused.
    let (_, later) = app
        .get_json(&format!(
            "/api/hosts/{HOST}/drift?since=2999-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(later["unused"].as_array().unwrap().len(), 3);
    assert_eq!(later["shadow"], json!([]));

    // The stored reference reads back; bad uploads and parameters are refused with reasons.
    let (status, document) = app.get_json(&format!("/api/hosts/{HOST}/reference")).await;
    assert_eq!(status, 200);
    assert_eq!(document["paths"]["/users"]["get"]["deprecated"], true);
    for (body, expected) in [
        ("", "empty"),
        ("openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n", "info"),
        ("{\"swagger\": \"2.0\"}", "Swagger"),
        ("key: [unclosed", "YAML"),
    ] {
        let (status, error) = put_reference(&app, body).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"], "invalid_reference");
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{body}: {error}"
        );
    }
    let (status, _) = app
        .get_json(&format!("/api/hosts/{HOST}/drift?since=yesterday"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app.get_json("/api/hosts/other.example/drift").await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// What the receiver saw: every request, and how it answered.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
    accepted: bool,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    /// Requests refused with 503 before the receiver comes back.
    outage: Arc<Mutex<u32>>,
}

async fn start_receiver(outage: u32) -> (String, Receiver) {
    let receiver = Receiver {
        outage: Arc::new(Mutex::new(outage)),
        ..Receiver::default()
    };
    let state = receiver.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let accepted = {
                    let mut outage = state.outage.lock().unwrap();
                    if *outage > 0 {
                        *outage -= 1;
                        false
                    } else {
                        true
                    }
                };
                state.seen.lock().unwrap().push(Received {
                    headers,
                    body,
                    accepted,
                });
                if accepted {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

/// Checks a delivery the way a receiver following Standard Webhooks would.
fn verify(received: &Received) -> bool {
    let header = |name: &str| received.headers.get(name)?.to_str().ok();
    let (Some(id), Some(timestamp), Some(signature)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(sent) = timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - sent).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

async fn webhooks_are_signed_and_survive_a_receiver_outage(db: Db) {
    let (url, receiver) = start_receiver(3).await;
    let subscription = url.clone();
    let app = TestApp::spawn(db, move |config| {
        fast(config);
        config.webhooks = vec![reconstructor::changes::settings::WebhookSubscription {
            url: subscription,
            events: Vec::new(),
            secret: reconstructor::changes::webhook::encode_secret(KEY),
        }];
    })
    .await;
    let (status, _) = put_reference(&app, REFERENCE).await;
    assert_eq!(status, 200);
    post_traffic(
        &app,
        vec![
            exchange("GET", "/users/1", 200, json!({"id": 1})),
            exchange("GET", "/admin/debug", 200, json!({"ok": true})),
        ],
    )
    .await;
    // Revision 1 announces two endpoints and itself; the shadow endpoint is drift.
    let deliveries = eventually("every delivery to succeed", || async {
        let (_, body) = app.get_json("/api/webhooks/deliveries").await;
        let rows = body["deliveries"].as_array().cloned().unwrap_or_default();
        (rows.len() >= 4 && rows.iter().all(|d| d["status"] == "delivered")).then_some(body)
    })
    .await;
    let rows = deliveries["deliveries"].as_array().unwrap();
    let mut types: Vec<&str> = rows
        .iter()
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        vec![
            "drift.detected",
            "endpoint.discovered",
            "endpoint.discovered",
            "spec.revised"
        ],
        "{deliveries:#}"
    );
    assert_eq!(deliveries["counts"]["delivered"], 4);
    // The outage cost three failed attempts, retried.
    let attempts: u64 = rows.iter().map(|d| d["attempts"].as_u64().unwrap()).sum();
    assert_eq!(attempts, 4 + 3, "{deliveries:#}");

    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 7);
    assert!(seen.iter().all(verify), "every signature verifies");
    let accepted: Vec<&Received> = seen.iter().filter(|r| r.accepted).collect();
    let mut ids: Vec<&str> = accepted
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "one accepted delivery per event");
    let bodies: Vec<Value> = accepted
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let drift = bodies
        .iter()
        .find(|b| b["type"] == "drift.detected")
        .unwrap();
    assert_eq!(drift["data"]["shadow"][0]["path"], "/admin/debug");
    let revised = bodies.iter().find(|b| b["type"] == "spec.revised").unwrap();
    assert_eq!(revised["data"]["revision"], 1);
    assert_eq!(revised["data"]["summary"]["added"], 2);
    // A tampered body does not verify.
    let mut forged = accepted[0].clone();
    forged.body.push(' ');
    assert!(!verify(&forged));

    // Nothing new: nothing more is sent.
    post_traffic(
        &app,
        vec![exchange("GET", "/users/1", 200, json!({"id": 1}))],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.seen.lock().unwrap().len(), 7);
    let (status, _) = app.get_json("/api/webhooks/deliveries?status=bogus").await;
    assert_eq!(status, 400);
    let (_, failed) = app.get_json("/api/webhooks/deliveries?status=failed").await;
    assert_eq!(failed["deliveries"], json!([]));
    app.stop().await;
}

/// Without `?wait=true`, a reference is stored at once (202) and the host's catalog is rebuilt
/// with its templates in the background, with a status to poll.
async fn a_reference_rebuilds_the_catalog_in_the_background(db: Db) {
    let app = TestApp::spawn(db, fast).await;
    post_traffic(
        &app,
        vec![
            exchange("GET", "/users/alice", 200, json!({"id": 1})),
            exchange("GET", "/users/bob", 200, json!({"id": 2})),
        ],
    )
    .await;
    let (status, stored) = put_reference_with(&app, REFERENCE, "").await;
    assert_eq!(status, 202, "{stored}");
    assert_eq!(stored["operations"], 3);
    assert_eq!(
        stored["rebuild_status"],
        format!("/api/hosts/{HOST}/rebuild")
    );
    assert!(stored.get("reprocessed_exchanges").is_none(), "{stored}");
    let started = std::time::Instant::now();
    let rebuild = loop {
        let (code, rebuild) = app.get_json(&format!("/api/hosts/{HOST}/rebuild")).await;
        assert_eq!(code, 200, "{rebuild}");
        if rebuild["state"] != "running" {
            break rebuild;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{rebuild}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rebuild["state"], "done", "{rebuild}");
    assert_eq!(rebuild["exchanges_read"], 2, "{rebuild}");
    let (_, endpoints) = app.get_json(&format!("/api/hosts/{HOST}/endpoints")).await;
    let paths: Vec<&str> = endpoints["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/users/{id}"]);
    // With `?wait=true` the answer says what the rebuild read.
    let (status, stored) = put_reference(&app, REFERENCE).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["reprocessed_exchanges"], 2, "{stored}");
    assert_eq!(stored["endpoints"], 1, "{stored}");
    app.stop().await;
}

crate::trials! {
    backend: [a_new_endpoint_makes_a_revision_and_the_diff_names_it, a_reference_gives_exactly_the_expected_drift, a_reference_rebuilds_the_catalog_in_the_background, webhooks_are_signed_and_survive_a_receiver_outage],
}
