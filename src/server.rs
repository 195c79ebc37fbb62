//! Serving connections: an accept loop with one task per connection (HTTP/1.1 and HTTP/2, plain
//! or TLS) that bounds what each client may hold.
//!
//! * A connection that has no request in progress is closed once it has been quiet for longer
//!   than its limit: the header-read timeout until its first request arrives (this covers a TLS
//!   handshake that never completes and headers sent a byte at a time), the idle timeout after
//!   that. HTTP/1 header reads are also bounded by hyper's own header-read timer.
//! * At most `max_connections` are open. A new connection beyond that closes the connection that
//!   has been idle longest; only when every open connection is busy with a request is the new
//!   one refused. Both events are logged (rate-limited) and counted.
//! * After `max_requests_per_connection` requests a connection is asked to close once its
//!   current requests are answered (`Connection: close` on HTTP/1, GOAWAY on HTTP/2).
//! * Shutdown stops accepting, closes idle and slow connections at once and lets requests in
//!   progress finish until the deadline.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum_server::tls_rustls::RustlsConfig;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::observability::Throttle;

/// What a client may hold; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a new connection may take to complete its TLS handshake and first request head.
    pub header_read_timeout: Duration,
    /// Longest a connection may stay open between requests.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Requests served on one connection before it is asked to close.
    pub max_requests_per_connection: u64,
}

/// Descriptors kept free for the database pool, the SQLite files and the listener when the
/// connection limit is fitted to the descriptor limit.
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft limit on open files to the hard limit and fits `max_connections` under it,
/// so that many idle clients exhaust the connection limit (which evicts them) before the
/// descriptors (which would stop every accept).
pub fn fit_descriptor_limit(limits: &mut Limits) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            let room = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS).max(16))
                .unwrap_or(usize::MAX);
            if limits.max_connections > room {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    open_files_limit = soft,
                    using = room,
                    "max_connections exceeds what the open-files limit allows; lowering it"
                );
                limits.max_connections = room;
            } else {
                tracing::debug!(open_files_limit = soft, "open-files limit raised");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }
}

/// One open connection, as the accept loop, the reaper and the request path see it.
#[derive(Debug)]
struct Connection {
    /// Requests being handled (including their response bodies being written).
    in_flight: AtomicUsize,
    /// Requests received so far.
    served: AtomicU64,
    /// Milliseconds since the registry's epoch of the last request start or end.
    last_active: AtomicU64,
    /// Closes the connection now, whatever it is doing.
    close: CancellationToken,
    /// Asks the connection to close once its requests in progress are answered.
    drain: CancellationToken,
}

/// The open connections.
#[derive(Debug)]
struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy)]
enum Closed {
    HeaderTimeout,
    IdleTimeout,
    Evicted,
    Shutdown,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_read_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::Evicted => "evicted",
            Closed::Shutdown => "shutdown",
        }
    }
}

impl Registry {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        // The map holds no invariant a panicking holder could break half-way.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn open(&self) -> (u64, Arc<Connection>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            last_active: AtomicU64::new(self.now()),
            close: CancellationToken::new(),
            drain: CancellationToken::new(),
        });
        self.lock().insert(id, connection.clone());
        metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).increment(1.0);
        (id, connection)
    }

    fn remove(&self, id: u64) {
        if self.lock().remove(&id).is_some() {
            metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
        }
    }

    /// Closes the connection idle longest; `false` when every connection is busy.
    fn evict_oldest_idle(&self) -> bool {
        let mut open = self.lock();
        let oldest = open
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        let Some(id) = oldest else { return false };
        if let Some(connection) = open.remove(&id) {
            metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
            close(&connection, Closed::Evicted);
        }
        true
    }

    /// Closes every connection without a request in progress that has been quiet too long.
    fn reap(&self, limits: &Limits) {
        let now = self.now();
        let header_ms = millis(limits.header_read_timeout);
        let idle_ms = millis(limits.idle_timeout);
        let mut open = self.lock();
        open.retain(|_, c| {
            if c.in_flight.load(Ordering::Acquire) > 0 {
                return true;
            }
            let quiet = now.saturating_sub(c.last_active.load(Ordering::Relaxed));
            let (limit, reason) = if c.served.load(Ordering::Relaxed) == 0 {
                (header_ms, Closed::HeaderTimeout)
            } else {
                (idle_ms, Closed::IdleTimeout)
            };
            if quiet < limit {
                return true;
            }
            metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
            close(c, reason);
            false
        });
    }

    /// At shutdown: closes idle connections, asks busy ones to finish; `true` when none is left.
    fn wind_down(&self) -> bool {
        let mut open = self.lock();
        open.retain(|_, c| {
            if c.in_flight.load(Ordering::Acquire) == 0 {
                metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
                close(c, Closed::Shutdown);
                false
            } else {
                c.drain.cancel();
                true
            }
        });
        open.is_empty()
    }

    fn close_all(&self) {
        let mut open = self.lock();
        for (_, c) in open.drain() {
            metrics::gauge!(crate::observability::names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
            close(&c, Closed::Shutdown);
        }
    }
}

fn close(connection: &Connection, reason: Closed) {
    metrics::counter!(crate::observability::names::HTTP_CONNECTIONS_CLOSED, "reason" => reason.as_str()).increment(1);
    connection.close.cancel();
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Marks a request in progress on its connection until dropped (with the response body).
#[derive(Debug)]
struct InFlight {
    connection: Arc<Connection>,
    registry: Arc<Registry>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.connection
            .last_active
            .store(self.registry.now(), Ordering::Relaxed);
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress until it is written.
struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Where connections come from and how they are secured.
#[derive(Debug)]
pub struct Server {
    /// The bound listener.
    pub listener: TcpListener,
    /// In-process TLS, re-read on reload; plain HTTP when `None`.
    pub tls: Option<RustlsConfig>,
    /// The connection limits.
    pub limits: Limits,
}

impl Server {
    /// Serves `app` until `shutdown` is cancelled, then winds connections down, giving requests
    /// in progress until `grace` to finish.
    pub async fn serve(self, app: Router, shutdown: CancellationToken, grace: Duration) {
        let Server {
            listener,
            tls,
            limits,
        } = self;
        let registry = Arc::new(Registry::new());
        let tasks = TaskTracker::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        builder.http2().timer(TokioTimer::new());
        let builder = Arc::new(builder);

        let reap_every = (limits.header_read_timeout.min(limits.idle_timeout) / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut reaper = tokio::time::interval(reap_every);
        reaper.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        static REFUSED: Throttle = Throttle::new(Duration::from_secs(10));
        static EVICTED: Throttle = Throttle::new(Duration::from_secs(10));
        static ACCEPT_FAILED: Throttle = Throttle::new(Duration::from_secs(10));

        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = reaper.tick() => {
                    registry.reap(&limits);
                    continue;
                }
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) if is_connection_error(&e) => continue,
                    Err(e) => {
                        // Out of descriptors or memory: closing idle connections frees some.
                        if let Some(suppressed) = ACCEPT_FAILED.allow() {
                            tracing::warn!(error = %e, suppressed, "accepting a connection failed");
                        }
                        metrics::counter!(crate::observability::names::HTTP_ACCEPT_ERRORS).increment(1);
                        registry.evict_oldest_idle();
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            if registry.len() >= limits.max_connections {
                if registry.evict_oldest_idle() {
                    if let Some(suppressed) = EVICTED.allow() {
                        tracing::warn!(
                            max_connections = limits.max_connections,
                            suppressed,
                            "connection limit reached: closed the connection idle longest"
                        );
                    }
                } else {
                    metrics::counter!(crate::observability::names::HTTP_CONNECTIONS_REFUSED)
                        .increment(1);
                    if let Some(suppressed) = REFUSED.allow() {
                        tracing::warn!(
                            max_connections = limits.max_connections,
                            client.address = %peer,
                            suppressed,
                            "connection limit reached and every connection is busy: refused a connection"
                        );
                    }
                    drop(stream);
                    continue;
                }
            }
            let _ = stream.set_nodelay(true);
            let (id, connection) = registry.open();
            tasks.spawn(serve_connection(
                stream,
                peer,
                tls.clone(),
                app.clone(),
                builder.clone(),
                registry.clone(),
                id,
                connection,
                limits.max_requests_per_connection,
            ));
        }
        drop(listener);
        tasks.close();

        let deadline = tokio::time::Instant::now() + grace;
        loop {
            if registry.wind_down() {
                break;
            }
            tokio::select! {
                _ = tasks.wait() => break,
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(
                        open = registry.len(),
                        "requests still in progress at the shutdown deadline; closing their connections"
                    );
                    registry.close_all();
                    break;
                }
                // Requests that finish leave idle connections behind; close them too.
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        tasks.wait().await;
    }
}

/// Errors that concern one incoming connection only (it was reset before we accepted it).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[allow(clippy::too_many_arguments)]
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<RustlsConfig>,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    registry: Arc<Registry>,
    id: u64,
    connection: Arc<Connection>,
    max_requests: u64,
) {
    let close = connection.close.clone();
    match tls {
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.get_inner());
            let stream = tokio::select! {
                _ = close.cancelled() => None,
                accepted = acceptor.accept(stream) => match accepted {
                    Ok(stream) => Some(stream),
                    Err(e) => {
                        tracing::debug!(error = %e, client.address = %peer, "TLS handshake failed");
                        None
                    }
                },
            };
            if let Some(stream) = stream {
                run(
                    stream,
                    peer,
                    app,
                    &builder,
                    &registry,
                    &connection,
                    max_requests,
                )
                .await;
            }
        }
        None => {
            run(
                stream,
                peer,
                app,
                &builder,
                &registry,
                &connection,
                max_requests,
            )
            .await
        }
    }
    registry.remove(id);
}

async fn run<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    registry: &Arc<Registry>,
    connection: &Arc<Connection>,
    max_requests: u64,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let registry = registry.clone();
        let connection = connection.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            connection.in_flight.fetch_add(1, Ordering::AcqRel);
            connection
                .last_active
                .store(registry.now(), Ordering::Relaxed);
            let in_flight = InFlight {
                connection: connection.clone(),
                registry: registry.clone(),
            };
            let last = connection.served.fetch_add(1, Ordering::Relaxed) + 1 >= max_requests;
            if last {
                connection.drain.cancel();
            }
            // HTTP/1: say so in this very response (hyper then closes after writing it).
            let close_after = last && request.version() < http::Version::HTTP_2;
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let mut response = response;
                if close_after {
                    response.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let served = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(served);
    let mut draining = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, client.address = %peer, "connection ended with an error");
                }
                return;
            }
            // Dropping the connection closes the socket.
            _ = connection.close.cancelled() => return,
            _ = connection.drain.cancelled(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}
