//! The change-tracking API: revisions and diffs of a host's document, its reference spec and
//! drift, and webhook delivery status.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::params::Strict;
use crate::changes::diff::{Diff, DiffSummary};
use crate::changes::{self, reference};
use crate::model::template::Template;
use crate::store::changes::{DeliveryQuery, DeliveryRow, DeliveryStatus, ReferenceRow};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

#[derive(Debug, Serialize)]
struct RevisionView {
    revision: i64,
    created_at: DateTime<Utc>,
    surface_hash: String,
    /// Operations added, removed and changed against the previous revision.
    #[serde(flatten)]
    summary: DiffSummary,
}

#[derive(Debug, Serialize)]
pub(super) struct Revisions {
    host: String,
    revisions: Vec<RevisionView>,
}

/// `GET /api/hosts/{host}/revisions`, oldest first.
pub(super) async fn revisions(
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<Json<Revisions>, ApiError> {
    let host = host.to_ascii_lowercase();
    let rows = state.store.changes().list_revisions(&host).await?;
    if rows.is_empty() && state.store.host(&host).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let revisions = rows
        .into_iter()
        .map(|r| RevisionView {
            summary: serde_json::from_str(&r.summary).unwrap_or_default(),
            revision: r.revision,
            created_at: r.created_at,
            surface_hash: r.surface_hash,
        })
        .collect();
    Ok(Json(Revisions { host, revisions }))
}

/// A revision number from a query parameter.
pub(super) fn revision_param(name: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| {
                ApiError::InvalidParameter(format!(
                    "`{name}` must be a revision number (1 or more), got {raw:?}"
                ))
            }),
    }
}

/// The stored document of revision `n`, or 404 naming it.
pub(super) async fn revision_document(
    state: &AppState,
    host: &str,
    n: i64,
) -> Result<serde_json::Value, ApiError> {
    changes::revision_document(&*state.store, host, n)
        .await?
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
pub(super) struct DiffParams {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct DiffView {
    host: String,
    from: i64,
    to: i64,
    summary: DiffSummary,
    #[serde(flatten)]
    diff: Diff,
}

/// `GET /api/hosts/{host}/diff?from=N&to=M`: `to` defaults to the latest revision, `from` to
/// the one before `to`.
pub(super) async fn diff(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Query(params): Query<DiffParams>,
) -> Result<Json<DiffView>, ApiError> {
    let host = host.to_ascii_lowercase();
    let from = revision_param("from", params.from.as_deref())?;
    let to = revision_param("to", params.to.as_deref())?;
    let to = match to {
        Some(to) => to,
        None => state
            .store
            .changes()
            .latest_revision(&host)
            .await?
            .map(|r| r.revision)
            .ok_or(ApiError::NotFound)?,
    };
    let from = match from {
        Some(from) => from,
        None if to > 1 => to - 1,
        None => {
            return Err(ApiError::InvalidParameter(
                "revision 1 has no predecessor: give `from`".to_owned(),
            ));
        }
    };
    match changes::diff(&*state.store, &host, from, to).await? {
        Ok(diff) => Ok(Json(DiffView {
            host,
            from,
            to,
            summary: diff.summary(),
            diff,
        })),
        Err(missing) => Err(ApiError::BadRequest {
            code: "unknown_revision",
            message: format!(
                "host `{host}` has no revision {missing} (see /api/hosts/{host}/revisions)"
            ),
        }),
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ReferenceView {
    host: String,
    openapi: String,
    sha256: String,
    uploaded_at: DateTime<Utc>,
    /// Operations documented.
    operations: usize,
    /// Templated paths now used as discovery rules for the host.
    templates: Vec<String>,
    #[serde(flatten)]
    rebuild: super::catalog::RebuildStarted,
}

/// `PUT /api/hosts/{host}/reference[?wait=true]`: stores an OpenAPI 3.0 or 3.1 document (JSON
/// or YAML) as the host's reference, makes its templated paths discovery rules and rebuilds the
/// host's catalog with them, in the background as `PUT …/rules` does (202, with the rebuild's
/// status; `?wait=true` answers 200 once it is done).
pub(super) async fn put_reference(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(params): Strict<super::catalog::RebuildParams>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<ReferenceView>), ApiError> {
    let host = host.to_ascii_lowercase();
    let parsed = tokio::task::spawn_blocking(move || reference::parse(&body))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::BadRequest {
            code: "invalid_reference",
            message: e.0,
        })?;
    let previous = state.store.changes().reference(&host).await?;
    let row = ReferenceRow {
        document: parsed.document.to_string(),
        openapi: parsed.openapi.clone(),
        sha256: parsed.sha256.clone(),
        uploaded_at: Utc::now(),
    };
    let templates = reference::templates(&parsed.document);
    // The reference's templates replace those of the previous reference among the stored rules;
    // rules set through the rules API stay.
    let old: Vec<String> = previous
        .as_ref()
        .and_then(|p| serde_json::from_str(&p.document).ok())
        .map(|d| {
            reference::templates(&d)
                .iter()
                .map(Template::annotated)
                .collect()
        })
        .unwrap_or_default();
    let mut rules = state
        .store
        .host_rules()
        .await?
        .remove(&host)
        .unwrap_or_default();
    rules.templates.retain(|t| !old.contains(&t.annotated()));
    for template in &templates {
        if !rules
            .templates
            .iter()
            .any(|t| t.as_str() == template.as_str())
        {
            rules.templates.push(template.clone());
        }
    }
    state.store.changes().put_reference(&host, &row).await?;
    state.store.put_host_rules(&host, &rules).await?;
    let (code, rebuild) = super::catalog::rebuild_for_rules(&state, &host, &params).await?;
    let operations = changes::surface::Surface::of(&parsed.document)
        .operations
        .len();
    Ok((
        code,
        Json(ReferenceView {
            host,
            openapi: row.openapi,
            sha256: row.sha256,
            uploaded_at: row.uploaded_at,
            operations,
            templates: templates.iter().map(|t| t.as_str().to_owned()).collect(),
            rebuild,
        }),
    ))
}

/// `GET /api/hosts/{host}/reference`: the stored document, with its hash and upload time in
/// headers.
pub(super) async fn get_reference(
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let host = host.to_ascii_lowercase();
    let row = state
        .store
        .changes()
        .reference(&host)
        .await?
        .ok_or(ApiError::NotFound)?;
    let uploaded = row.uploaded_at.to_rfc3339();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (
                axum::http::header::ETAG,
                format!("\"sha256:{}\"", row.sha256),
            ),
            (
                axum::http::HeaderName::from_static("x-reference-uploaded-at"),
                uploaded,
            ),
        ],
        row.document,
    )
        .into_response())
}

/// `DELETE /api/hosts/{host}/reference`: forgets the reference (its templates stay as rules
/// until the rules are replaced).
pub(super) async fn delete_reference(
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let host = host.to_ascii_lowercase();
    if state.store.changes().delete_reference(&host).await? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct DriftParams {
    /// RFC 3339; traffic older than this does not count.
    since: Option<String>,
}

/// `GET /api/hosts/{host}/drift?since=…`.
pub(super) async fn drift(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Query(params): Query<DriftParams>,
) -> Result<Json<changes::DriftReport>, ApiError> {
    let host = host.to_ascii_lowercase();
    let since = match params.since.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|e| {
                    ApiError::InvalidParameter(format!(
                        "`since` must be an RFC 3339 time such as 2026-01-31T00:00:00Z, got {raw:?}: {e}"
                    ))
                })?
                .with_timezone(&Utc),
        ),
    };
    let report = changes::drift_report(&*state.store, &host, since)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize)]
pub(super) struct DeliveryParams {
    status: Option<String>,
    host: Option<String>,
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Deliveries {
    /// Deliveries per status, over all of them.
    counts: BTreeMap<&'static str, u64>,
    deliveries: Vec<DeliveryRow>,
    next_cursor: Option<String>,
}

/// `GET /api/webhooks/deliveries`: newest first, filtered by `status` and `host`.
pub(super) async fn deliveries(
    State(state): State<AppState>,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<Deliveries>, ApiError> {
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(DeliveryStatus::parse(raw).ok_or_else(|| {
            ApiError::InvalidParameter(format!(
                "`status` must be pending, delivered or failed, got {raw:?}"
            ))
        })?),
    };
    let before = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            ApiError::InvalidParameter(format!("`cursor` {raw:?} is not a cursor from this API"))
        })?),
    };
    let limit = super::limit_param(params.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let query = DeliveryQuery {
        status,
        host: params
            .host
            .filter(|h| !h.is_empty())
            .map(|h| h.to_ascii_lowercase()),
        before,
        limit,
    };
    let deliveries = state.store.changes().list_deliveries(&query).await?;
    let next_cursor = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id.to_string()))
        .flatten();
    let counts = state
        .store
        .changes()
        .delivery_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    Ok(Json(Deliveries {
        counts,
        deliveries,
        next_cursor,
    }))
}
