//! The ingest routes against every shared sample, hostile input, tokens and outages.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

use crate::common::{Db, TestApp, sample};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn exchanges(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/api/exchanges?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["exchanges"].as_array().unwrap().clone()
}

async fn post_sample(app: &TestApp, route: &str, name: &str) -> (u16, Value) {
    let response = app.post(route, sample(name)).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn header<'a>(message: &'a Value, name: &str) -> Option<&'a str> {
    message["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == name)
        .and_then(|h| h["value"].as_str())
}

async fn nta_worker_basic(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, ack) = post_sample(&app, "/api/telemetry", "nta-worker-basic.json").await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack, json!({"message": "ok", "accepted": 1, "rejected": []}));

    let stored = exchanges(&app, "host=api.shop.example").await;
    assert_eq!(stored.len(), 1);
    let e = &stored[0];
    assert_eq!(e["scheme"], "https");
    assert_eq!(e["host"], "api.shop.example");
    assert_eq!(e["port"], 443);
    assert_eq!(e["method"], "POST");
    assert_eq!(e["path"], "/api/v1/orders");
    assert_eq!(e["query"], "expand=items");
    assert_eq!(e["status"], 201);
    assert_eq!(e["source"], "nta");
    assert_eq!(e["client_address"], "203.0.113.7");
    assert_eq!(e["observed_at"], "2025-11-21T04:40:00Z");
    assert_eq!(
        e["request"]["body"],
        r#"{"customerId":4711,"items":[{"sku":"A-100","qty":2}],"note":null}"#
    );
    assert_eq!(e["request"]["body_truncated"], false);
    assert_eq!(e["request"]["content_type"], "application/json");
    assert_eq!(
        e["response"]["body"],
        r#"{"id":"7f3c9a2e-1b4d-4c8e-9f0a-2b3c4d5e6f70","status":"created","total":19.98}"#
    );
    assert_eq!(
        header(&e["request"], "authorization"),
        Some("Bearer <redacted:jwt>")
    );
    assert_eq!(header(&e["request"], "user-agent"), Some("shop-app/3.2"));
    assert_eq!(
        header(&e["response"], "set-cookie"),
        Some("sid=<redacted>; HttpOnly")
    );
    let text = e.to_string();
    assert!(!text.contains("eyJzdWIiOiIxMjMifQ"), "token leaked: {text}");
    assert!(!text.contains("abc123"), "cookie leaked: {text}");
    app.stop().await;
}

async fn nta_worker_variants(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    for name in [
        "nta-worker-get-ipv6-client.json",
        "nta-worker-port-bug.json",
        "nta-worker-no-response.json",
        "nta-truncated-json-body.json",
        "apiclarity-kong-variant.json",
    ] {
        let (status, ack) = post_sample(&app, "/api/telemetry", name).await;
        assert_eq!(
            (status, &ack["accepted"]),
            (200, &json!(1)),
            "{name}: {ack}"
        );
    }

    let get = exchanges(&app, "host=api.shop.example&method=GET").await;
    assert_eq!(get.len(), 1);
    let e = &get[0];
    assert_eq!(
        e["path"],
        "/api/v1/orders/7f3c9a2e-1b4d-4c8e-9f0a-2b3c4d5e6f70"
    );
    assert_eq!(e["client_address"], "2001:db8::7");
    assert_eq!(e["query"], Value::Null);
    assert_eq!(header(&e["request"], "cookie"), Some("sid=<redacted>"));
    // content-encoding says gzip, but the runtime already decompressed: kept as is.
    assert_eq!(
        e["response"]["body"],
        r#"{"id":"7f3c9a2e-1b4d-4c8e-9f0a-2b3c4d5e6f70","status":"created","items":[{"sku":"A-100","qty":2}]}"#
    );

    let ported = exchanges(&app, "host=api.shop.example:8443").await;
    assert_eq!(ported.len(), 1, "the port bug: host:8443:443 means 8443");
    assert_eq!(ported[0]["path"], "/api/v1/orders/1001/items");
    assert_eq!(ported[0]["scheme"], "https");

    let posts = exchanges(&app, "host=api.shop.example&method=POST").await;
    assert_eq!(posts.len(), 3, "every port matches a bare host");
    let request_only = posts
        .iter()
        .find(|e| e["response"].is_null())
        .expect("the telemetry without response is stored request-only");
    assert_eq!(request_only["status"], Value::Null);
    assert_eq!(request_only["query"], "expand=items");
    let truncated = posts
        .iter()
        .find(|e| e["response"]["body_truncated"] == true)
        .expect("truncated response stored");
    assert_eq!(
        truncated["response"]["body"],
        r#"{"id":"7f3c9a2e-1b4d-4c8e-9f0a-2b3c4d5e6f70","status":"crea"#
    );

    let kong = exchanges(&app, "host=catalog.internal").await;
    assert_eq!(kong.len(), 1);
    let e = &kong[0];
    assert_eq!(
        (
            &e["scheme"],
            &e["port"],
            &e["method"],
            &e["path"],
            &e["status"]
        ),
        (
            &json!("http"),
            &json!(8000),
            &json!("PUT"),
            &json!("/catalog/products/SKU-88231"),
            &json!(204)
        )
    );
    assert_eq!(e["client_address"], "10.0.0.5");
    assert_eq!(header(&e["request"], "x-api-key"), Some("<redacted>"));
    assert_eq!(
        e["request"]["body"],
        r#"{"name":"Lamp","price":"12.50","tags":["home","light"]}"#
    );
    assert_eq!(e["response"]["body"], "");
    assert_eq!(
        e["producer"]["request_id"],
        "0b7d1c52-3f7e-4f5a-8d9c-1e2f3a4b5c6d"
    );
    app.stop().await;
}

async fn nta_only_response_is_rejected(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, body) = post_sample(&app, "/api/telemetry", "nta-worker-only-response.json").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "no_valid_records");
    assert_eq!(body["rejected"][0]["index"], 0);
    let reason = body["rejected"][0]["error"].as_str().unwrap();
    assert!(reason.contains("request is missing"), "{reason}");
    assert!(exchanges(&app, "").await.is_empty());
    app.stop().await;
}

async fn akto_samples(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let (status, ack) = post_sample(&app, "/api/ingestData", "akto-cloudflare-single.json").await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack, json!({"success": true, "accepted": 1, "rejected": []}));
    let stored = exchanges(&app, "host=accounts.example.org").await;
    let e = &stored[0];
    assert_eq!(e["source"], "akto");
    assert_eq!(
        (&e["method"], &e["path"], &e["status"]),
        (
            &json!("GET"),
            &json!("/v2/users/88213/profile"),
            &json!(200)
        )
    );
    assert_eq!((&e["scheme"], &e["port"]), (&json!("http"), &json!(80)));
    assert_eq!(
        header(&e["request"], "authorization"),
        Some("Bearer <redacted>")
    );
    assert_eq!(
        e["response"]["body"],
        r#"{"userId":88213,"email":"ana@example.org","verified":true}"#
    );
    assert_eq!(e["client_address"], "198.51.100.23");
    assert_eq!(e["observed_at"], "2025-11-21T04:40:00Z");
    assert_eq!(e["producer"]["akto_account_id"], "1000000");
    assert_eq!(e["producer"]["akto_tag"], json!({"service": "cloudflare"}));

    let (status, ack) = post_sample(&app, "/api/ingestData", "akto-batch-mixed.json").await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["success"], true);
    assert_eq!(ack["accepted"], 3);
    let rejected = ack["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["index"], 3);
    let reason = rejected[0]["error"].as_str().unwrap();
    for field in ["requestHeaders", "statusCode", "time"] {
        assert!(reason.contains(field), "{reason} should name {field}");
    }

    let stored = exchanges(&app, "host=accounts.example.org").await;
    assert_eq!(stored.len(), 4);
    let users = stored.iter().find(|e| e["path"] == "/v2/users").unwrap();
    assert_eq!(users["query"], "page=2&limit=50");
    assert_eq!(
        (&users["scheme"], &users["port"]),
        (&json!("http"), &json!(80))
    );
    let session = stored.iter().find(|e| e["path"] == "/v2/sessions").unwrap();
    assert_eq!(session["status"], 201);
    assert_eq!(
        session["request"]["body"],
        "username=ana&password=<redacted>"
    );
    assert_eq!(
        header(&session["request"], "cookie"),
        Some("sid=<redacted>")
    );
    assert_eq!(
        header(&session["response"], "set-cookie"),
        Some("sid=<redacted>; Secure")
    );
    assert_eq!(session["response"]["body"], r#"{"token":"<redacted>"}"#);
    assert!(stored.iter().any(|e| e["path"] == "/v2/users/me"));
    assert!(!stored.iter().any(|e| e["path"] == "/v2/broken"));
    app.stop().await;
}

async fn arrays_and_ndjson(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let basic: Value = serde_json::from_str(&sample("nta-worker-basic.json")).unwrap();
    let only_response: Value =
        serde_json::from_str(&sample("nta-worker-only-response.json")).unwrap();
    let array = json!([basic, only_response, basic]);
    let response = app.post("/api/telemetry", array.to_string()).await;
    let ack: Value = response.json().await.unwrap();
    assert_eq!(ack["accepted"], 2, "{ack}");
    assert_eq!(ack["rejected"][0]["index"], 1);

    let ndjson = format!("{basic}\n\n{{\"request\": \"nonsense\"}}\n{basic}\nnot json\n");
    let response = app
        .client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ack: Value = response.json().await.unwrap();
    assert_eq!(ack["accepted"], 2, "{ack}");
    let rejected = ack["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["index"], 1);
    assert!(
        rejected[0]["error"].as_str().unwrap().contains("line 3"),
        "{ack}"
    );
    assert!(
        rejected[0]["error"].as_str().unwrap().contains("request"),
        "{ack}"
    );
    assert_eq!(rejected[1]["index"], 3);
    assert_eq!(exchanges(&app, "").await.len(), 4);
    app.stop().await;
}

async fn gzip_and_zstd_request_bodies(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let body = sample("nta-worker-basic.json");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    for (encoding, bytes) in [
        ("gzip", gz.finish().unwrap()),
        ("zstd", zstd::encode_all(body.as_bytes(), 3).unwrap()),
    ] {
        let response = app
            .client
            .post(app.url("/api/telemetry"))
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{encoding}");
    }
    assert_eq!(exchanges(&app, "").await.len(), 2);
    app.stop().await;
}

fn telemetry_with(
    path: &str,
    headers: Value,
    response_body: &str,
    encoding: Option<&str>,
) -> Value {
    let mut response_headers = vec![json!({"key": "content-type", "value": "application/json"})];
    if let Some(encoding) = encoding {
        response_headers.push(json!({"key": "content-encoding", "value": encoding}));
    }
    json!({
        "scheme": "https",
        "destinationAddress": "api.example:443",
        "request": {"method": "GET", "path": path, "host": "api.example",
                    "common": {"headers": headers, "body": "", "truncatedBody": false, "time": 1763700000000u64}},
        "response": {"statusCode": "200",
                     "common": {"headers": response_headers, "body": response_body, "truncatedBody": false}}
    })
}

async fn hostile_input(db: Db) {
    let app = TestApp::spawn(db, |config| {
        config.max_records = 5;
        config.max_body_bytes = 16 * 1024 * 1024;
        config.max_stored_body_bytes = 64 * 1024;
    })
    .await;
    let post = |body: Vec<u8>| app.post("/api/telemetry", body);
    let expect = |status: u16, code: &'static str| {
        move |(s, body): (u16, Value)| {
            assert_eq!(s, status, "{body}");
            assert_eq!(body["error"], code, "{body}");
            body
        }
    };
    async fn answer(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    expect(400, "invalid_shape")(answer(post(b"".to_vec()).await).await);
    expect(400, "invalid_shape")(answer(post(b"   \n".to_vec()).await).await);
    expect(400, "invalid_shape")(answer(post(b"null".to_vec()).await).await);
    expect(400, "invalid_shape")(answer(post(b"42".to_vec()).await).await);
    let body = expect(422, "no_valid_records")(answer(post(b"[]".to_vec()).await).await);
    assert_eq!(body["rejected"], json!([]));
    let body = expect(422, "no_valid_records")(answer(post(b"{}".to_vec()).await).await);
    assert!(
        body["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("request is missing")
    );
    expect(400, "invalid_json")(answer(post(b"{\"request\": \xff\xfe}".to_vec()).await).await);
    // Deep nesting neither overflows the stack nor gets stored.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    expect(422, "no_valid_records")(answer(post(deep.into_bytes()).await).await);
    let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    expect(422, "no_valid_records")(answer(post(deep.into_bytes()).await).await);
    let deep = format!(
        r#"{{"request": {{"method": "GET", "path": "/", "host": "h", "common": {{"headers": {}1{}}}}}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    expect(422, "no_valid_records")(answer(post(deep.into_bytes()).await).await);

    // A quote inside a path, as APIClarity's Envoy filter writes it: invalid JSON, located.
    let broken = br#"{"request": {"method": "GET", "path": "/a"b", "host": "h"}}"#.to_vec();
    let body = expect(400, "invalid_json")(answer(post(broken).await).await);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("line 1") && message.contains("column"),
        "{message}"
    );

    // A 10 MB header value: within the body limit here, but over the header limit of a record.
    let huge = telemetry_with(
        "/x",
        json!([{"key": "x-big", "value": "a".repeat(10 << 20)}]),
        "",
        None,
    );
    let body =
        expect(422, "no_valid_records")(answer(post(huge.to_string().into_bytes()).await).await);
    assert!(
        body["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("request.common.headers"),
        "{body}"
    );

    // 50,000 headers: the record is refused, naming the field.
    let many: Vec<Value> = (0..50_000)
        .map(|i| json!({"key": format!("x-h{i}"), "value": "v"}))
        .collect();
    let body = expect(422, "no_valid_records")(
        answer(
            post(
                telemetry_with("/x", json!(many), "", None)
                    .to_string()
                    .into_bytes(),
            )
            .await,
        )
        .await,
    );
    assert!(
        body["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("request.common.headers"),
        "{body}"
    );

    // More records than allowed.
    let basic: Value = serde_json::from_str(&sample("nta-worker-basic.json")).unwrap();
    let six = Value::Array(vec![basic.clone(); 6]);
    let body =
        expect(413, "payload_too_large")(answer(post(six.to_string().into_bytes()).await).await);
    assert!(body["message"].as_str().unwrap().contains('5'), "{body}");

    // Wrong media type and coding.
    let response = app
        .client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    expect(415, "unsupported_media_type")(answer(response).await);
    let response = app
        .client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/json")
        .header("content-encoding", "compress")
        .body("x")
        .send()
        .await
        .unwrap();
    expect(415, "unsupported_media_type")(answer(response).await);

    // A gzip bomb as Content-Encoding: decompression stops at the body limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200_000);
    let response = app
        .client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb.clone())
        .send()
        .await
        .unwrap();
    expect(413, "payload_too_large")(answer(response).await);
    // Corrupt gzip.
    let response = app
        .client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(b"\x1f\x8b\x08\x00garbage".to_vec())
        .send()
        .await
        .unwrap();
    expect(400, "invalid_encoding")(answer(response).await);

    // A gzip bomb as a body inside the telemetry: stored, capped and flagged.
    let inner = telemetry_with("/bomb", json!([]), &B64.encode(&bomb), Some("gzip"));
    let (status, ack) = answer(post(inner.to_string().into_bytes()).await).await;
    assert_eq!(status, 200, "{ack}");
    // Base64 garbage: kept as the raw text it is.
    let garbage = telemetry_with("/garbage", json!([]), "!!not*base64%%", None);
    let (status, ack) = answer(post(garbage.to_string().into_bytes()).await).await;
    assert_eq!(status, 200, "{ack}");

    let stored = exchanges(&app, "host=api.example").await;
    let bomb = stored.iter().find(|e| e["path"] == "/bomb").unwrap();
    assert_eq!(bomb["response"]["body_truncated"], true);
    assert_eq!(bomb["response"]["body_size"], 64 * 1024);
    let garbage = stored.iter().find(|e| e["path"] == "/garbage").unwrap();
    assert_eq!(garbage["response"]["body"], "!!not*base64%%");

    // Still up.
    assert_eq!(app.get_json("/healthz").await.0, 200);
    assert_eq!(app.get_json("/readyz").await.0, 200);
    app.stop().await;
}

async fn body_limit(db: Db) {
    let app = TestApp::spawn(db, |config| config.max_body_bytes = 64 * 1024).await;
    let huge = telemetry_with(
        "/x",
        json!([{"key": "x-big", "value": "a".repeat(100_000)}]),
        "",
        None,
    );
    let response = app.post("/api/telemetry", huge.to_string()).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert!(
        body["message"].as_str().unwrap().contains("65536"),
        "{body}"
    );
    // Streamed without a length: cut off at the limit all the same.
    let chunks =
        futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 16 * 1024])));
    let response = app
        .client
        .post(app.url("/api/ingestData"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    app.stop().await;
}

/// Bodies held in memory across all requests are bounded: a slow upload holding most of the
/// budget makes the next request wait for nothing — it gets 503 at once.
async fn inflight_body_budget(db: Db) {
    let app = TestApp::spawn(db, |config| {
        config.max_body_bytes = 64 * 1024;
        config.max_inflight_body_bytes = 64 * 1024;
    })
    .await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tx.send(Ok(vec![b' '; 60 * 1024])).await.unwrap();
    let slow = {
        let request = app
            .client
            .post(app.url("/api/telemetry"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)));
        tokio::spawn(request.send())
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let basic = sample("nta-worker-basic.json");
    let padded = format!("{basic}{}", " ".repeat(10 * 1024));
    let refused = app.post("/api/telemetry", padded.clone()).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    // The slow upload completes (as a valid telemetry) and frees its share.
    tx.send(Ok(basic.clone().into_bytes())).await.unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap().unwrap().status(), 200);
    assert_eq!(app.post("/api/telemetry", padded).await.status(), 200);
    app.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn field_errors_name_the_field(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let cases = [
        (
            json!({"request": {"method": 5, "path": "/", "host": "h"}}),
            "request.method",
        ),
        (
            json!({"request": {"path": "/", "host": "h"}}),
            "request.method",
        ),
        (
            json!({"request": {"method": "GET", "host": "h"}}),
            "request.path",
        ),
        (json!({"request": {"method": "GET", "path": "/"}}), "host"),
        (
            json!({"request": {"method": "GET", "path": "/", "host": "h"}, "response": {"statusCode": "999"}}),
            "response.statusCode",
        ),
        (
            json!({"request": {"method": "GET", "path": "/", "host": "h", "common": {"time": "yesterday"}}}),
            "request.common.time",
        ),
        (
            json!({"request": {"method": "GET", "path": "/", "host": "h", "common": {"headers": [{"value": "x"}]}}}),
            "request.common.headers[0]",
        ),
        (
            json!({"request": {"method": "GET", "path": "/", "host": "bad host"}}),
            "request.host",
        ),
    ];
    for (record, field) in cases {
        let response = app.post("/api/telemetry", record.to_string()).await;
        assert_eq!(response.status(), 422, "{record}");
        let body: Value = response.json().await.unwrap();
        let reason = body["rejected"][0]["error"].as_str().unwrap();
        assert!(reason.contains(field), "{reason:?} should name {field}");
    }
    app.stop().await;
}

async fn tokens_guard_the_routes(db: Db) {
    let app = TestApp::spawn(db, |config| {
        config.ingest_tokens = vec!["producer-secret".to_owned().into()];
        config.read_tokens = vec!["reader-secret".to_owned().into()];
    })
    .await;
    let body = sample("nta-worker-basic.json");
    let send = |header: Option<(&'static str, &'static str)>| {
        let mut request = app
            .client
            .post(app.url("/api/telemetry"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send()
    };
    let refused = send(None).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        send(Some(("authorization", "Bearer wrong")))
            .await
            .unwrap()
            .status(),
        401
    );
    for header in [
        ("authorization", "Bearer producer-secret"),
        ("authorization", "producer-secret"),
        ("x-api-key", "producer-secret"),
        ("x-trace-source-token", "producer-secret"),
    ] {
        assert_eq!(
            send(Some(header)).await.unwrap().status(),
            200,
            "{header:?}"
        );
    }
    let read = |token: &'static str| {
        app.client
            .get(app.url("/api/exchanges"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(read("producer-secret").await.unwrap().status(), 401);
    let page: Value = read("reader-secret").await.unwrap().json().await.unwrap();
    assert_eq!(page["exchanges"].as_array().unwrap().len(), 4);
    // Operational routes stay open for probes.
    assert_eq!(app.get_json("/healthz").await.0, 200);
    app.stop().await;
}

async fn redaction_can_be_turned_off(db: Db) {
    let app = TestApp::spawn(db, |config| config.redaction.enabled = false).await;
    post_sample(&app, "/api/telemetry", "nta-worker-basic.json").await;
    let stored = exchanges(&app, "").await;
    assert_eq!(
        header(&stored[0]["request"], "authorization"),
        Some("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig")
    );
    app.stop().await;
}

async fn listing_pages_and_filters(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    for _ in 0..5 {
        post_sample(&app, "/api/telemetry", "nta-worker-basic.json").await;
    }
    post_sample(&app, "/api/ingestData", "akto-cloudflare-single.json").await;
    let (_, first) = app.get_json("/api/exchanges?limit=4").await;
    let page = first["exchanges"].as_array().unwrap();
    assert_eq!(page.len(), 4);
    assert_eq!(page[0]["host"], "accounts.example.org", "newest first");
    let ids: Vec<i64> = page.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    let next = first["next_before"].as_i64().unwrap();
    let (_, second) = app
        .get_json(&format!("/api/exchanges?limit=4&before={next}"))
        .await;
    assert_eq!(second["exchanges"].as_array().unwrap().len(), 2);
    assert_eq!(second["next_before"], Value::Null);
    assert_eq!(exchanges(&app, "method=get").await.len(), 1);
    assert_eq!(exchanges(&app, "host=API.SHOP.EXAMPLE.").await.len(), 5);
    assert_eq!(app.get_json("/api/exchanges?limit=0").await.0, 400);
    assert_eq!(app.get_json("/api/exchanges?before=yesterday").await.0, 400);
    app.stop().await;
}

crate::trials! {
    backend: [nta_worker_basic, nta_worker_variants, nta_only_response_is_rejected, akto_samples, arrays_and_ndjson, gzip_and_zstd_request_bodies, hostile_input, body_limit, inflight_body_budget, field_errors_name_the_field, tokens_guard_the_routes, redaction_can_be_turned_off, listing_pages_and_filters],
}
