//! Operational routes: liveness, readiness and metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;

/// Longest a readiness probe waits for the database; orchestrators probe every few seconds,
/// so an outage must show within that.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is alive and serving. Never touches the database, so a database
/// outage does not get healthy replicas restarted.
pub(super) async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers, and the server is not shutting down.
pub(super) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() {
        return unavailable("shutting down".to_owned());
    }
    // A full disk leaves reads (and so the ping) working while every write fails.
    if let Some(since) = state.ingestor.writer().disk_full_since() {
        return unavailable(format!(
            "the disk under the database is full: writes have failed for {}s",
            since.elapsed().as_secs()
        ));
    }
    match tokio::time::timeout(READINESS_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": backend_name(&state) })),
        ),
        Ok(Err(e)) => unavailable(format!("database unreachable: {e}")),
        Err(_) => unavailable(format!(
            "database did not answer within {}s",
            READINESS_TIMEOUT.as_secs()
        )),
    }
}

fn backend_name(state: &AppState) -> &'static str {
    match state.store.backend() {
        crate::config::Backend::Postgres => "postgres",
        crate::config::Backend::Sqlite => "sqlite",
    }
}

fn unavailable(reason: String) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}

/// `GET /metrics`: Prometheus text exposition.
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
