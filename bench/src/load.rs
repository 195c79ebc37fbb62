//! The closed-loop client: N keep-alive HTTP/1.1 connections, each sending its next request as
//! soon as the previous answer has been read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Where and how requests are sent; shared by every connection.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    pub(crate) host: HeaderValue,
    pub(crate) authorization: Option<HeaderValue>,
    /// Whole-request limit (send, answer, body); on expiry the connection is dropped.
    pub(crate) timeout: Duration,
    /// Limit for opening a connection (TCP and HTTP/1.1 handshake).
    pub(crate) connect_timeout: Duration,
}

/// What each request of a scenario sends.
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) uri: Uri,
    pub(crate) bodies: Arc<[Bytes]>,
    /// Records in each body (the events a fully accepted request stores).
    pub(crate) records: u64,
}

/// When measuring starts and when the connections stop sending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) measure_from: Instant,
    pub(crate) until: Instant,
}

/// What one connection (or, merged, a whole run) observed inside the window.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Latency of every answered request, in microseconds.
    pub(crate) latency: Histogram<u64>,
    pub(crate) requests: u64,
    pub(crate) ok: u64,
    pub(crate) events: u64,
    /// Records a 2xx answer said it did not accept.
    pub(crate) rejected_records: u64,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) transport: BTreeMap<String, u64>,
    /// Failed requests during the warm-up (not in the other counts).
    pub(crate) warmup_errors: u64,
    /// Connections opened (the first one of each connection included).
    pub(crate) connects: u64,
    /// Accepted events per whole second of the window.
    pub(crate) per_second: Vec<u64>,
}

impl Tally {
    pub(crate) fn new(seconds: usize) -> Tally {
        Tally {
            latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            requests: 0,
            ok: 0,
            events: 0,
            rejected_records: 0,
            statuses: BTreeMap::new(),
            transport: BTreeMap::new(),
            warmup_errors: 0,
            connects: 0,
            per_second: vec![0; seconds.max(1)],
        }
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.latency
            .add(&other.latency)
            .expect("same histogram bounds");
        self.requests += other.requests;
        self.ok += other.ok;
        self.events += other.events;
        self.rejected_records += other.rejected_records;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.transport {
            *self.transport.entry(k).or_default() += v;
        }
        self.warmup_errors += other.warmup_errors;
        self.connects += other.connects;
        for (i, v) in other.per_second.into_iter().enumerate() {
            if let Some(slot) = self.per_second.get_mut(i) {
                *slot += v;
            }
        }
    }

    pub(crate) fn errors(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.transport.values().sum::<u64>()
    }
}

/// One keep-alive connection. Dropping it closes the socket at once, even with a request in
/// flight: that is what a client that gives up does, and what cancels the server's handler.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect(addr: SocketAddr) -> Result<Connection, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Connection { sender, task })
}

fn classify(e: &hyper::Error) -> String {
    if e.is_incomplete_message() {
        "closed mid-answer".into()
    } else if e.is_closed() || e.is_canceled() {
        "connection closed".into()
    } else if e.is_parse() {
        "malformed answer".into()
    } else {
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return format!("io: {}", io.kind());
            }
            source = s.source();
        }
        "other".into()
    }
}

/// `"accepted":N` in an ingest answer (the no-op route answers the same shape).
fn accepted(body: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"accepted\":";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&body[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

enum Outcome {
    Answered(StatusCode, Bytes),
    Failed(String),
}

/// Runs one connection's closed loop until `window.until`; `first` spreads the connections over
/// the body pool.
pub(crate) async fn run_connection(
    client: Arc<Client>,
    shape: Arc<Shape>,
    window: Window,
    first: usize,
) -> Tally {
    let seconds = (window.until - window.measure_from).as_secs_f64().ceil() as usize;
    let mut tally = Tally::new(seconds);
    let content_type = HeaderValue::from_static("application/json");
    let bodies = &shape.bodies;
    let mut next = first % bodies.len();
    let mut connection: Option<Connection> = None;
    loop {
        if Instant::now() >= window.until {
            break;
        }
        let conn = match connection.as_mut() {
            Some(c) => c,
            None => {
                match tokio::time::timeout(client.connect_timeout, connect(client.addr)).await {
                    Ok(Ok(c)) => {
                        tally.connects += 1;
                        connection.insert(c)
                    }
                    failed => {
                        if Instant::now() < window.measure_from {
                            tally.warmup_errors += 1;
                        } else {
                            let kind = match failed {
                                Ok(Err(kind)) => kind,
                                _ => "connect: timed out".into(),
                            };
                            *tally.transport.entry(kind).or_default() += 1;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
        };
        // A connection the server closed between requests is not a failed request: reopen it.
        if conn.sender.ready().await.is_err() {
            connection = None;
            continue;
        }

        let mut request = Request::new(Full::new(bodies[next].clone()));
        next = (next + 1) % bodies.len();
        *request.method_mut() = Method::POST;
        *request.uri_mut() = shape.uri.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, client.host.clone());
        headers.insert(CONTENT_TYPE, content_type.clone());
        if let Some(token) = &client.authorization {
            headers.insert(AUTHORIZATION, token.clone());
        }

        let start = Instant::now();
        let exchange = async {
            let response = conn.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        let outcome = match tokio::time::timeout(client.timeout, exchange).await {
            Ok(Ok((status, body))) => Outcome::Answered(status, body),
            Ok(Err(e)) => Outcome::Failed(classify(&e)),
            Err(_) => Outcome::Failed("timeout".into()),
        };
        let end = Instant::now();
        let counted = start >= window.measure_from && end <= window.until;

        match outcome {
            Outcome::Answered(status, body) => {
                if counted {
                    tally.requests += 1;
                    let micros = (end - start).as_micros() as u64;
                    tally.latency.saturating_record(micros.max(1));
                    if status.is_success() {
                        let stored = accepted(&body).unwrap_or(shape.records).min(shape.records);
                        tally.ok += 1;
                        tally.events += stored;
                        tally.rejected_records += shape.records - stored;
                        let second = (end - window.measure_from).as_secs() as usize;
                        if let Some(slot) = tally.per_second.get_mut(second) {
                            *slot += stored;
                        }
                    } else {
                        *tally.statuses.entry(status.as_u16()).or_default() += 1;
                    }
                } else if start < window.measure_from && !status.is_success() {
                    tally.warmup_errors += 1;
                }
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    // The server asked producers to back off; don't spin on a full queue.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Outcome::Failed(kind) => {
                // A failure is counted even when it ends after the window closes.
                if start >= window.measure_from {
                    tally.requests += u64::from(counted);
                    *tally.transport.entry(kind).or_default() += 1;
                } else {
                    tally.warmup_errors += 1;
                }
                // The request may still be in flight: drop (close) the connection.
                connection = None;
            }
        }
    }
    tally
}

/// A single GET on a fresh connection (for `/readyz` and `/healthz`).
pub(crate) async fn get(
    addr: SocketAddr,
    host: &HeaderValue,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let work = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let (mut sender, connection) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = path.parse::<Uri>().map_err(|e| e.to_string())?;
        request.headers_mut().insert(HOST, host.clone());
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        task.abort();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("GET {path} timed out after {timeout:?}")))
}

#[cfg(test)]
mod tests {
    use super::accepted;

    #[test]
    fn reads_accepted() {
        assert_eq!(
            accepted(br#"{"message":"ok","accepted":1,"rejected":[]}"#),
            Some(1)
        );
        assert_eq!(
            accepted(br#"{"success":true,"accepted":97,"rejected":[{}]}"#),
            Some(97)
        );
        assert_eq!(accepted(b"{}"), None);
    }
}
