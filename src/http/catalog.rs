//! The catalog API: hosts, their endpoints, and per-host discovery rules.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::params::{NoParams, QueryParams, Strict};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use crate::discovery::rebuilds::RebuildStatus;
use crate::discovery::settings::HostRulesConfig;
use crate::model::catalog::add_counts;
use crate::model::template::Template;
use crate::store::{EndpointQuery, EndpointRow, HostRow, StoredRules};

const DEFAULT_LIMIT: u32 = 1_000;
const MAX_LIMIT: u32 = 100_000;

#[derive(Debug, Serialize)]
pub(super) struct Hosts {
    hosts: Vec<HostRow>,
}

/// `GET /api/hosts`.
pub(super) async fn hosts(
    State(state): State<AppState>,
    _: Strict<NoParams>,
) -> Result<Json<Hosts>, ApiError> {
    Ok(Json(Hosts {
        hosts: state.store.list_hosts().await?,
    }))
}

/// Query parameters of the endpoint list.
#[derive(Debug, Deserialize)]
pub(super) struct EndpointParams {
    method: Option<String>,
    /// Only templates starting with this text (`/users`).
    path_prefix: Option<String>,
    /// Also list static assets and HTML pages.
    include_non_api: Option<bool>,
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl QueryParams for EndpointParams {
    const NAMES: &'static [&'static str] = &[
        "method",
        "path_prefix",
        "include_non_api",
        "limit",
        "cursor",
    ];
}

#[derive(Debug, Serialize)]
pub(super) struct Endpoints {
    host: String,
    endpoints: Vec<EndpointView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct EndpointView {
    /// Pass as `endpoint_id` to `GET /api/exchanges` to list its exchanges.
    id: i64,
    method: String,
    path: String,
    parameters: Vec<ParameterView>,
    api: bool,
    hits: u64,
    status_codes: BTreeMap<u16, u64>,
    request_content_types: BTreeMap<String, u64>,
    response_content_types: BTreeMap<String, u64>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct ParameterView {
    name: String,
    #[serde(rename = "in")]
    location: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
}

/// `GET /api/hosts/{host}/endpoints`.
pub(super) async fn endpoints(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(params): Strict<EndpointParams>,
) -> Result<Json<Endpoints>, ApiError> {
    let host = host.to_ascii_lowercase();
    if state.store.host(&host).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let limit = super::limit_param(params.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
            ApiError::InvalidParameter(format!("`cursor` {raw:?} is not a cursor from this API"))
        })?),
    };
    let query = EndpointQuery {
        host: host.clone(),
        method: params
            .method
            .filter(|m| !m.is_empty())
            .map(|m| m.to_ascii_uppercase()),
        path_prefix: params.path_prefix.filter(|p| !p.is_empty()),
        include_non_api: params.include_non_api.unwrap_or(false),
        after,
        limit,
    };
    let mut rows = state.store.list_endpoints(&query).await?;
    let full = rows.len() == limit as usize;
    // Rows of one endpoint whose parameter types differ (not merged yet) are shown as one; keep
    // such a group whole by ending a full page before its last group.
    if full && let Some(last) = rows.last() {
        let key = (last.path.clone(), last.method.clone());
        let keep = rows
            .iter()
            .rposition(|r| (r.path.as_str(), r.method.as_str()) != (key.0.as_str(), key.1.as_str()))
            .map_or(rows.len(), |i| i + 1);
        rows.truncate(keep);
    }
    let next_cursor = full.then(|| rows.last().map(encode_cursor)).flatten();
    Ok(Json(Endpoints {
        host,
        endpoints: group(rows),
        next_cursor,
    }))
}

/// One view per `(path, method)`, parameter types unified across annotation variants.
fn group(rows: Vec<EndpointRow>) -> Vec<EndpointView> {
    let mut views: Vec<(EndpointView, Option<Template>)> = Vec::new();
    for row in rows {
        let template = Template::parse(&row.template);
        if let Some((view, existing)) = views.last_mut()
            && view.path == row.path
            && view.method == row.method
        {
            view.hits += row.hits;
            view.api |= row.api;
            view.first_seen = view.first_seen.min(row.first_seen);
            view.last_seen = view.last_seen.max(row.last_seen);
            add_counts(&mut view.status_codes, &row.status_codes);
            add_counts(&mut view.request_content_types, &row.request_types);
            add_counts(&mut view.response_content_types, &row.response_types);
            if let (Some(existing), Some(other)) = (existing.as_ref(), template.as_ref()) {
                view.parameters = parameters_of(existing, Some(other));
            }
            continue;
        }
        let view = EndpointView {
            id: row.id,
            method: row.method,
            path: row.path,
            parameters: template
                .as_ref()
                .map(|t| parameters_of(t, None))
                .unwrap_or_default(),
            api: row.api,
            hits: row.hits,
            status_codes: row.status_codes,
            request_content_types: row.request_types,
            response_content_types: row.response_types,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
        };
        views.push((view, template));
    }
    views.into_iter().map(|(view, _)| view).collect()
}

fn parameters_of(template: &Template, other: Option<&Template>) -> Vec<ParameterView> {
    template
        .params()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let kind = match other.and_then(|o| o.params().get(i)) {
                Some(o) => p.kind.unify(o.kind),
                None => p.kind,
            };
            ParameterView {
                name: p.name.clone(),
                location: "path",
                kind: kind.openapi_type(),
                format: kind.format(),
            }
        })
        .collect()
}

fn encode_cursor(row: &EndpointRow) -> String {
    let json = serde_json::to_vec(&(&row.path, &row.method, &row.template)).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(raw: &str) -> Option<(String, String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Debug, Serialize)]
pub(super) struct RulesView {
    host: String,
    /// From the configuration file (read-only here).
    configured: HostRulesConfig,
    /// Set through this API.
    stored: StoredRules,
}

/// `GET /api/hosts/{host}/rules`.
pub(super) async fn get_rules(
    State(state): State<AppState>,
    Path(host): Path<String>,
    _: Strict<NoParams>,
) -> Result<Json<RulesView>, ApiError> {
    let host = host.to_ascii_lowercase();
    let stored = state.store.host_rules().await?;
    Ok(Json(RulesView {
        configured: state
            .config
            .discovery
            .hosts
            .get(&host)
            .cloned()
            .unwrap_or_default(),
        stored: stored.get(&host).map(StoredRules::from).unwrap_or_default(),
        host,
    }))
}

#[derive(Debug, Serialize)]
pub(super) struct RulesUpdated {
    host: String,
    stored: StoredRules,
    #[serde(flatten)]
    rebuild: RebuildStarted,
}

/// The rebuild of a host's catalog that new rules (or a new reference) started.
#[derive(Debug, Serialize)]
pub(super) struct RebuildStarted {
    /// Its status.
    rebuild: RebuildStatus,
    /// Where to poll it.
    rebuild_status: String,
    /// With `?wait=true`: exchanges re-read and endpoints in the rebuilt catalog of the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    reprocessed_exchanges: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoints: Option<usize>,
}

/// Query parameters of the requests that rebuild a host's catalog (`PUT …/rules`,
/// `PUT …/reference`).
#[derive(Debug, Deserialize)]
pub(super) struct RebuildParams {
    /// Answer once the catalog is rebuilt, rather than at once.
    wait: Option<bool>,
}

impl QueryParams for RebuildParams {
    const NAMES: &'static [&'static str] = &["wait"];
}

/// Rebuilds `host`'s catalog once its rules changed: in the background (202, with the status
/// to poll), or, with `?wait=true`, before answering (200, with what it read).
pub(super) async fn rebuild_for_rules(
    state: &AppState,
    host: &str,
    params: &RebuildParams,
) -> Result<(StatusCode, RebuildStarted), ApiError> {
    state.discovery.refresh().await?;
    let (code, report) = if params.wait.unwrap_or(false) {
        (StatusCode::OK, Some(state.rebuilds.run_now(host).await?))
    } else {
        state.rebuilds.start(host);
        (StatusCode::ACCEPTED, None)
    };
    let rebuild = state.rebuilds.status(host).ok_or(ApiError::NotFound)?;
    Ok((
        code,
        RebuildStarted {
            rebuild,
            rebuild_status: format!("/api/hosts/{host}/rebuild"),
            reprocessed_exchanges: report.as_ref().map(|r| r.exchanges),
            endpoints: report.map(|r| r.endpoints),
        },
    ))
}

/// `PUT /api/hosts/{host}/rules[?wait=true]`: replaces the host's stored rules and rebuilds its
/// catalog with them in the background, so that they apply to the traffic already stored
/// (202, with the rebuild's status; `?wait=true` answers 200 once it is done). Ingest of the host
/// goes on meanwhile: it waits only while the new catalog is written.
pub(super) async fn put_rules(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(params): Strict<RebuildParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RulesUpdated>), ApiError> {
    let host = host.to_ascii_lowercase();
    let given: HostRulesConfig = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        code: "invalid_rules",
        message: format!(
            "expected {{\"templates\": [\"/repos/{{owner}}/{{repo}}\"], \"literals\": [\"/users/me\"]}}: {e}"
        ),
    })?;
    let rules = given.to_rules().map_err(|message| ApiError::BadRequest {
        code: "invalid_rules",
        message,
    })?;
    state.store.put_host_rules(&host, &rules).await?;
    let (code, rebuild) = rebuild_for_rules(&state, &host, &params).await?;
    Ok((
        code,
        Json(RulesUpdated {
            stored: StoredRules::from(&rules),
            rebuild,
            host,
        }),
    ))
}

/// `GET /api/hosts/{host}/rebuild`: the host's last rebuild started by this process (after a
/// rules change), with its progress.
pub(super) async fn rebuild(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(_): Strict<NoParams>,
) -> Result<Json<RebuildStatus>, ApiError> {
    let host = host.to_ascii_lowercase();
    state
        .rebuilds
        .status(&host)
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// Query parameters of the document routes.
#[derive(Debug, Deserialize)]
pub(super) struct DocumentParams {
    /// A recorded revision instead of the live document.
    revision: Option<String>,
}

impl QueryParams for DocumentParams {
    const NAMES: &'static [&'static str] = &["revision"];
}

/// `GET /api/hosts/{host}/openapi.json[?revision=N]`.
pub(super) async fn openapi_json(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(params): Strict<DocumentParams>,
) -> Result<axum::response::Response, ApiError> {
    let document = document(&state, &host, &params).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::to_json(&document),
    )
        .into_response())
}

/// `GET /api/hosts/{host}/openapi.yaml[?revision=N]`.
pub(super) async fn openapi_yaml(
    State(state): State<AppState>,
    Path(host): Path<String>,
    Strict(params): Strict<DocumentParams>,
) -> Result<axum::response::Response, ApiError> {
    let document = document(&state, &host, &params).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        crate::openapi::to_yaml(&document),
    )
        .into_response())
}

/// The live document, or a recorded revision of it.
async fn document(
    state: &AppState,
    host: &str,
    params: &DocumentParams,
) -> Result<serde_json::Value, ApiError> {
    match super::changes::revision_param("revision", params.revision.as_deref())? {
        Some(n) => super::changes::revision_document(state, &host.to_ascii_lowercase(), n).await,
        None => openapi(state, host).await,
    }
}

/// The reconstructed document of a host; it reflects every acknowledged exchange (summaries are
/// committed with them).
async fn openapi(state: &AppState, host: &str) -> Result<serde_json::Value, ApiError> {
    let host = host.to_ascii_lowercase();
    let spec = crate::discovery::summaries::host_spec(&*state.store, &host)
        .await?
        .ok_or(ApiError::NotFound)?;
    let document = tokio::task::spawn_blocking(move || {
        crate::openapi::render(&spec, &crate::openapi::RenderOptions::default())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(document)
}
