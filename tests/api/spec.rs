//! Spec reconstruction end to end: traffic posted over HTTP, the OpenAPI document read back,
//! checked in detail and validated by a real OpenAPI validator.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::harness::{Need, validator_python};
use crate::common::{Db, TestApp, akto_record, sample, samples_dir};

const HOST: &str = "store.example";

fn exchange(
    method: &str,
    path: &str,
    request_headers: Value,
    request_body: &str,
    status: u16,
    response_body: Value,
) -> Value {
    let headers: Vec<(&str, &str)> = request_headers
        .as_object()
        .expect("headers are an object")
        .iter()
        .map(|(name, value)| {
            (
                name.as_str(),
                value.as_str().expect("header values are text"),
            )
        })
        .collect();
    akto_record(
        method,
        &format!("https://{HOST}{path}"),
        &headers,
        request_body,
        status,
        "application/json",
        &response_body.to_string(),
    )
}

/// A small API: numeric and UUID ids, a bearer JWT on orders, an API key on products, a JSON
/// request body, 200 and 404 responses, and a query parameter present in some requests only.
fn traffic() -> Vec<Value> {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let bearer = json!({"host": HOST, "authorization": format!("Bearer {jwt}")});
    let key = json!({"host": HOST, "x-api-key": "k_live_8c1d2a7f"});
    let mut out = Vec::new();
    for id in 0..12u64 {
        let status = ["paid", "shipped"][id as usize % 2];
        out.push(exchange(
            "GET",
            &format!("/orders/{}", 5000 + id),
            bearer.clone(),
            "",
            200,
            json!({
                "id": 5000 + id,
                "total": if id % 2 == 0 { json!(10) } else { json!(12.5) },
                "status": status,
                "note": if id % 3 == 0 { Value::Null } else { json!("gift") },
                "created": "2026-11-20T10:00:00Z",
                "customer": {"email": format!("c{id}@example.com"), "name": "Ana"}
            }),
        ));
    }
    out.push(exchange(
        "GET",
        "/orders/9999",
        bearer.clone(),
        "",
        404,
        json!({"error": "not_found"}),
    ));
    for i in 0..6u64 {
        let query = if i % 2 == 0 {
            "?expand=true&page=2"
        } else {
            "?page=1"
        };
        out.push(exchange(
            "GET",
            &format!("/products/6f1c2d3e-4b5a-4c6d-8e7f-{:012x}{query}", i),
            key.clone(),
            "",
            200,
            json!({"sku": format!("SKU-{i}"), "price": 3.5, "tags": ["a", "b"]}),
        ));
    }
    for i in 0..5u64 {
        let mut headers = bearer.clone();
        headers["content-type"] = json!("application/json");
        out.push(exchange(
            "POST",
            "/orders",
            headers,
            &json!({"items": [{"sku": "SKU-1", "quantity": i + 1}], "coupon": "WELCOME"})
                .to_string(),
            201,
            json!({"id": 6000 + i, "total": 7}),
        ));
    }
    out
}

/// Validates a document with the `openapi-spec-validator` Python package. Without it the check
/// is skipped and counted (the harness says how to enable it); under `CI` it must run.
fn validate_openapi(document: &Value) {
    if Need::Validator.check().is_err() {
        return;
    }
    let python = validator_python();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(document).unwrap()).unwrap();
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(open(sys.argv[1])))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        serde_json::to_string_pretty(document).unwrap()
    );
}

/// Writes a document to `$RECONSTRUCTOR_SPEC_DIR/<name>.json` when that is set: `.ci/speclint`
/// lints the documents these tests produce.
fn export(name: &str, document: &Value) {
    if let Some(dir) = std::env::var_os("RECONSTRUCTOR_SPEC_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(
            dir.join(format!("{file}.json")),
            serde_json::to_vec_pretty(document).unwrap(),
        )
        .unwrap();
    }
}

async fn spec_of(app: &TestApp, host: &str) -> Value {
    let (status, document) = app
        .get_json(&format!("/api/hosts/{host}/openapi.json"))
        .await;
    assert_eq!(status, 200, "{document}");
    document
}

async fn reconstructs_a_small_api(db: Db) {
    let app = TestApp::spawn(db, |config| {
        config.discovery.merge_interval = Duration::from_millis(100);
        config.discovery.refresh_interval = Duration::from_millis(100);
    })
    .await;
    let records = traffic();
    for chunk in records.chunks(7) {
        let response = app
            .post("/api/ingestData", json!({"batchData": chunk}).to_string())
            .await;
        assert_eq!(response.status(), 200);
    }
    let doc = spec_of(&app, HOST).await;
    validate_openapi(&doc);
    export("api-small", &doc);

    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"], json!([{"url": "https://store.example"}]));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/orders", "/orders/{orderId}", "/products/{productId}"]
    );

    let get_order = &doc["paths"]["/orders/{orderId}"]["get"];
    let param = &get_order["parameters"][0];
    assert_eq!(param["name"], "orderId");
    assert_eq!(param["in"], "path");
    assert_eq!(param["required"], true);
    assert_eq!(
        param["schema"],
        json!({"type": "integer", "format": "int64"})
    );
    assert_eq!(get_order["x-reconstructor-hits"], 13);

    let product = &doc["paths"]["/products/{productId}"]["get"];
    let params = product["parameters"].as_array().unwrap();
    let by_name = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("parameter {name} in {params:?}"))
    };
    assert_eq!(by_name("productId")["schema"]["format"], "uuid");
    assert_eq!(by_name("page")["in"], "query");
    assert_eq!(by_name("page")["required"], true);
    assert_eq!(by_name("page")["schema"]["type"], "integer");
    assert_ne!(by_name("expand")["required"], true);
    assert!(
        params
            .iter()
            .all(|p| p["name"] != "x-api-key" && p["name"] != "host"),
        "credentials and infrastructure headers are not parameters: {params:?}"
    );

    // Security: a JWT bearer on orders, an API key header on products.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let bearer = schemes
        .values()
        .find(|s| s["scheme"] == "bearer")
        .expect("a bearer scheme");
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["bearerFormat"], "JWT");
    let api_key = schemes
        .values()
        .find(|s| s["type"] == "apiKey")
        .expect("an API key scheme");
    assert_eq!(api_key["in"], "header");
    assert_eq!(api_key["name"], "x-api-key");
    assert!(
        get_order["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        product["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(get_order["summary"], "Get order");
    assert_eq!(product["summary"], "Get product");
    assert_eq!(
        get_order["x-reconstructor-security"],
        "inferred-from-traffic"
    );

    // The merged response schema, with $refs followed.
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                doc["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    };
    let ok = resolve(&get_order["responses"]["200"]["content"]["application/json"]["schema"]);
    let props = &ok["properties"];
    assert_eq!(props["id"]["type"], "integer");
    assert_eq!(
        props["total"]["type"], "number",
        "integer and number merge to number"
    );
    assert_eq!(props["note"]["type"], json!(["string", "null"]));
    assert_eq!(props["created"]["format"], "date-time");
    assert_eq!(
        resolve(&props["customer"])["properties"]["email"]["format"],
        "email"
    );
    let required: Vec<&str> = ok["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in ["id", "total", "status", "note", "created", "customer"] {
        assert!(required.contains(&name), "{name} is in every response");
    }
    assert!(get_order["responses"]["404"].is_object());

    // The request body of POST /orders.
    let post = &doc["paths"]["/orders"]["post"];
    let body = resolve(&post["requestBody"]["content"]["application/json"]["schema"]);
    assert_eq!(body["properties"]["coupon"]["type"], "string");
    let items = resolve(&body["properties"]["items"]);
    assert_eq!(items["type"], "array");
    assert_eq!(
        resolve(&items["items"])["properties"]["quantity"]["type"],
        "integer"
    );
    assert!(post["responses"]["201"].is_object());

    // The same document as YAML, and unknown hosts.
    let yaml = app
        .client
        .get(app.url(&format!("/api/hosts/{HOST}/openapi.yaml")))
        .send()
        .await
        .unwrap();
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert!(yaml.text().await.unwrap().starts_with("openapi: "));
    let (status, _) = app
        .get_json("/api/hosts/nowhere.example/openapi.json")
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// Every shared sample, posted as-is, gives valid documents for every host it names.
async fn shared_samples_give_valid_documents(db: Db) {
    let app = TestApp::spawn(db, |_| {}).await;
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in &names {
        let route = if name.starts_with("akto") {
            "/api/ingestData"
        } else {
            "/api/telemetry"
        };
        // Some samples are partly (or wholly) invalid on purpose; the valid records are kept.
        let status = app.post(route, sample(name)).await.status().as_u16();
        assert!(matches!(status, 200 | 422), "{name}: {status}");
    }
    let (_, hosts) = app.get_json("/api/hosts").await;
    let hosts = hosts["hosts"].as_array().unwrap();
    assert!(hosts.len() >= 3, "{hosts:?}");
    for host in hosts {
        let host = host["host"].as_str().unwrap();
        let doc = spec_of(&app, host).await;
        validate_openapi(&doc);
        export(&format!("sample-{host}"), &doc);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let summary = operation["summary"].as_str().unwrap_or_default();
                assert!(!summary.is_empty(), "{host} {method} {path}: no summary");
                assert!(
                    operation["security"].is_array(),
                    "{host} {method} {path}: no security"
                );
            }
        }
        assert!(!doc["paths"].as_object().unwrap().is_empty(), "{doc}");
    }
    app.stop().await;
}

crate::trials! {
    backend: [reconstructs_a_small_api, shared_samples_give_valid_documents],
}
