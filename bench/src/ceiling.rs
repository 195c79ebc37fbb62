//! The ceiling: a no-op axum route, hosted by this process on its own tokio runtime, that reads
//! the whole body and answers 200 with an ingest-shaped acknowledgement. What the same client
//! reaches against it bounds what any server could reach on this machine.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use tokio::sync::oneshot;

const ACK: &str = r#"{"message":"ok","accepted":1,"rejected":[]}"#;

/// The running no-op server; [`Ceiling::stop`] shuts it down.
#[derive(Debug)]
pub(crate) struct Ceiling {
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

async fn noop(body: Bytes) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    std::hint::black_box(body.len());
    ([(CONTENT_TYPE, "application/json")], ACK)
}

impl Ceiling {
    /// Starts the server on 127.0.0.1 (a free port) with `threads` runtime workers.
    pub(crate) fn start(threads: usize) -> anyhow::Result<Ceiling> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("ceiling")
            .enable_all()
            .build()?;
        // Bound here (std) so the address is known before the server thread runs; the
        // runtime cannot be entered from the caller, which is itself inside a runtime.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new()
            .route("/api/telemetry", post(noop))
            .route("/api/ingestData", post(noop))
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024));
        let thread = std::thread::Builder::new()
            .name("ceiling-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let server = tokio::spawn(async move {
                        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                            let _ = axum::serve(listener, app).await;
                        }
                    });
                    let _ = stopped.await;
                    // No graceful drain: nothing it holds is worth waiting for.
                    server.abort();
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Ceiling { addr, stop, thread })
    }

    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
