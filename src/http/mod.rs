//! The HTTP surface: the router and the state its handlers share.

pub mod auth;
mod catalog;
mod changes;
mod client;
pub mod error;
mod exchanges;
mod health;
mod ingest;
mod params;
mod ui;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::routing::{get, post, put};
use axum::{Router, middleware};
use futures_util::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::discovery::job::Discovery;
use crate::ingest::Ingestor;
use crate::store::Store;
use auth::Tokens;

/// Everything handlers need; cheap to clone: one reference count, however many parts it has
/// (the router and every extractor clone it for each request).
#[derive(Clone, Debug)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    /// Shares `parts` with every handler.
    pub fn new(parts: SharedState) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct SharedState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Decodes, normalises, redacts and commits incoming records.
    pub ingestor: Ingestor,
    /// The endpoint catalog's background work (rules, merges, reprocessing).
    pub discovery: Arc<Discovery>,
    /// Host rebuilds started through the API, with their status.
    pub rebuilds: Arc<crate::discovery::rebuilds::Rebuilds>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Bytes of request bodies that may be held in memory at once, across all requests.
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// Cancelled when shutdown begins, so readiness turns 503 and load balancers drain us.
    pub shutdown: CancellationToken,
}

/// Request bodies larger than this never reach a handler (the ingest routes read their bodies
/// against their own, configurable limit; other routes take no body).
const READ_ROUTES_BODY_LIMIT: usize = 64 * 1024;

/// Builds the application router. Kept apart from serving so tests can drive it in-process.
pub fn router(state: AppState) -> Router {
    let ingest_tokens = Tokens::new(&state.config.ingest_tokens);
    let trusted_proxies = state.config.trusted_proxies.clone();
    let read_tokens = Tokens::new(&state.config.read_tokens);

    let ingest = Router::new()
        .route("/api/telemetry", post(ingest::telemetry))
        .route("/api/ingestData", post(ingest::ingest_data))
        // One stack, outermost first, because every layer added on its own wraps each route in
        // one more boxed service that each request clones: no axum body limit (the handlers
        // read against their own); check the token and refuse codings we cannot undo with a
        // JSON 415; undo Content-Encoding (gzip, deflate, br, zstd; the body limit is applied
        // to the decompressed stream).
        .route_layer(
            ServiceBuilder::new()
                .layer(axum::extract::DefaultBodyLimit::disable())
                .layer(ingest::CheckIngestLayer::new(ingest_tokens))
                .layer(RequestDecompressionLayer::new()),
        );

    let read = Router::new()
        .route("/api/exchanges", get(exchanges::list))
        .route("/api/hosts", get(catalog::hosts))
        .route("/api/hosts/{host}/endpoints", get(catalog::endpoints))
        .route("/api/hosts/{host}/openapi.json", get(catalog::openapi_json))
        .route("/api/hosts/{host}/openapi.yaml", get(catalog::openapi_yaml))
        .route(
            "/api/hosts/{host}/rules",
            get(catalog::get_rules).put(catalog::put_rules),
        )
        .route("/api/hosts/{host}/rebuild", get(catalog::rebuild))
        .route("/api/hosts/{host}/revisions", get(changes::revisions))
        .route("/api/hosts/{host}/diff", get(changes::diff))
        .route("/api/hosts/{host}/drift", get(changes::drift))
        .route("/api/webhooks/deliveries", get(changes::deliveries))
        .route_layer(middleware::from_fn_with_state(
            read_tokens.clone(),
            auth::require_token,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(READ_ROUTES_BODY_LIMIT));

    // Reference specs are documents, larger than any other read-side body.
    let references = Router::new()
        .route(
            "/api/hosts/{host}/reference",
            put(changes::put_reference)
                .get(changes::get_reference)
                .delete(changes::delete_reference),
        )
        .route_layer(middleware::from_fn_with_state(
            read_tokens,
            auth::require_token,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ));

    let operational = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics));

    Router::new()
        .merge(ingest)
        .merge(read)
        .merge(references)
        .merge(operational)
        .merge(ui::router())
        .fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                error::ApiError::NoRoute(format!(
                    "there is no route {method} {}: producers post to /api/telemetry (NTA, \
                 APIClarity) or /api/ingestData (Akto); reads are under /api/exchanges and \
                 /api/hosts",
                    shorten_path(uri.path())
                ))
            },
        )
        .with_state(state)
        // One stack (see the ingest routes), outermost first: panics become 500s, then the
        // request span, then metrics and JSON 405s.
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(|_panic| {
                    error::ApiError::Internal(anyhow::anyhow!("handler panicked"))
                        .into_response_owned()
                }))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(move |request: &Request| {
                            let route = request
                                .extensions()
                                .get::<MatchedPath>()
                                .map(MatchedPath::as_str)
                                .unwrap_or("unmatched");
                            // Field values are computed only when the span is enabled.
                            tracing::info_span!(
                                "request",
                                http.route = route,
                                http.method = %request.method(),
                                client.address = client::client_ip(request, &trusted_proxies)
                                    .map(|ip| ip.to_string())
                                    .unwrap_or_default()
                            )
                        })
                        .on_request(())
                        // 5xx are logged once, with their cause, where the error is turned into a
                        // response; a second, causeless line here would only add noise.
                        .on_failure(())
                        .on_response(
                            |response: &axum::response::Response,
                             latency: Duration,
                             _: &tracing::Span| {
                                tracing::debug!(
                                    status = response.status().as_u16(),
                                    latency_ms = latency.as_secs_f64() * 1000.0,
                                    "response"
                                );
                            },
                        ),
                )
                .layer(tower::layer::layer_fn(|inner| AroundRoutes { inner })),
        )
}

/// Middleware around every route: counts and times the request, and gives a 405 its JSON body
/// (see [`json_method_not_allowed`]). One layer does both because every layer costs each request a
/// copy of the services behind it; it is a plain service rather than `middleware::from_fn`,
/// whose every call copies and boxes the services behind it once more.
#[derive(Clone, Debug)]
struct AroundRoutes<S> {
    inner: S,
}

impl<S> tower::Service<Request> for AroundRoutes<S>
where
    S: tower::Service<Request, Response = axum::response::Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<axum::response::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let timer = crate::observability::RequestTimer::start(&request);
        // Cheap copies (a `Uri` shares its bytes); the path is cut and copied only for a 405.
        let method = request.method().clone();
        let uri = request.uri().clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = json_method_not_allowed(response.await?, &method, &uri);
            timer.finish(&response);
            Ok(response)
        })
    }
}

/// Gives the router's bare 405 (a route exists, not for this method) the JSON error body every
/// other error has, keeping its `Allow` header. Runs outside the token checks, so a caller
/// without a token still learns nothing about a route's methods.
fn json_method_not_allowed(
    response: axum::response::Response,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
) -> axum::response::Response {
    if response.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let path = shorten_path(uri.path());
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut json = axum::response::IntoResponse::into_response(error::ApiError::MethodNotAllowed(
        format!("{method} is not allowed on {path}: the Allow header lists the methods it takes"),
    ));
    if let Some(allow) = allow {
        json.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    json
}

/// A request path for an error message, cut so a hostile one is not echoed back whole.
fn shorten_path(path: &str) -> String {
    const MAX: usize = 200;
    if path.chars().count() <= MAX {
        path.to_owned()
    } else {
        format!("{}…", path.chars().take(MAX).collect::<String>())
    }
}

/// The `limit` query parameter: `default` when absent or empty, else an integer from 1 to `max`.
fn limit_param(raw: Option<&str>, default: u32, max: u32) -> Result<u32, error::ApiError> {
    match raw {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                error::ApiError::InvalidParameter(format!(
                    "`limit` must be an integer from 1 to {max}, got {raw:?}"
                ))
            }),
    }
}

impl error::ApiError {
    fn into_response_owned(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}
