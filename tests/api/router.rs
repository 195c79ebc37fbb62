//! The router driven in-process with `oneshot`: no sockets, just the handlers and their layers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use reconstructor::config::Config;
use reconstructor::http::router;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::common::{Db, TestDatabase, sample};

/// The router, its database, and the writer tasks (dropping them stops the writers).
async fn app(
    tweak: impl FnOnce(&mut Config),
) -> (
    axum::Router,
    TestDatabase,
    reconstructor::ingest::writer::WriterTasks,
) {
    let database = TestDatabase::new(Db::Sqlite).await;
    let mut config = database.config();
    tweak(&mut config);
    let store = reconstructor::startup::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    let (state, writers) =
        reconstructor::startup::state(Arc::new(config), store, CancellationToken::new());
    (router(state), database, writers)
}

async fn call(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn ingest_and_read_back_in_process() {
    let (app, _db, _writers) = app(|_| {}).await;
    let (status, _, body) = call(
        &app,
        post("/api/telemetry", sample("nta-worker-basic.json")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    let (status, _, body) = call(
        &app,
        Request::get("/api/exchanges").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["exchanges"][0]["path"], "/api/v1/orders");
}

async fn errors_are_json_with_the_right_status() {
    let (app, _db, _writers) =
        app(|config| config.ingest_tokens = vec!["t".to_owned().into()]).await;
    let (status, headers, body) = call(&app, post("/api/telemetry", "{}".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(body["error"], "unauthorized");
    let (status, _, body) = call(&app, Request::get("/missing").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::NOT_FOUND, &Value::from("not_found"))
    );
    let (status, _, _) = call(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // Without a token a caller learns nothing about routes, not even their methods.
    let (status, _, _) = call(
        &app,
        Request::get("/api/telemetry").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (open, _db, _writers) = self::app(|_| {}).await;
    let (status, _, _) = call(
        &open,
        Request::get("/api/telemetry").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

crate::trials! {
    tokio: [ingest_and_read_back_in_process, errors_are_json_with_the_right_status],
}
