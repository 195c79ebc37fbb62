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
    state.store.backend().as_str()
}

fn unavailable(reason: String) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}

/// Longest a scrape waits for the database before reporting it down; well below the usual
/// 10 s scrape timeout.
const METRICS_PING_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /metrics`: Prometheus text exposition, with the gauges read at scrape time.
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Measuring the database's size is the ping.
    let database_size =
        match tokio::time::timeout(METRICS_PING_TIMEOUT, state.store.disk_usage()).await {
            Ok(Ok(bytes)) => Some(bytes),
            _ => None,
        };
    let writer = state.ingestor.writer();
    let budget = state.config.max_inflight_body_bytes;
    let snapshot = crate::observability::Snapshot {
        queue_records: (writer.queued_records(), writer.settings().queue_max_records),
        queue_bytes: (writer.queued_bytes(), writer.settings().queue_max_bytes),
        inflight_body_bytes: (
            budget.saturating_sub(state.body_budget.available_permits()),
            budget,
        ),
        pool: state.store.pool_status(),
        database_size,
        merge_interval: state.discovery.merge_interval(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observability::render(&state.metrics, &snapshot),
    )
}
