//! Connection hardening: slow and idle clients cannot hold the server, a full connection table
//! still lets a producer through, and shutdown does not wait for idle or slow clients.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Db, TestApp, sample};

/// Waits until the server closes `stream` (EOF or reset), giving up after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| start.elapsed())
}

async fn slowloris_is_closed_within_the_header_timeout() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.header_read_timeout = Duration::from_millis(400);
        config.idle_timeout = Duration::from_secs(30);
    })
    .await;
    // One header byte every 100 ms: the connection never goes quiet, but never finishes its
    // request head either.
    let slow = TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = slow.into_split();
    let head =
        b"POST /api/telemetry HTTP/1.1\r\nHost: example\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let start = Instant::now();
    let trickle = async {
        for byte in head {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 256];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    };
    let closed = tokio::select! {
        closed = closed => closed,
        () = trickle => panic!("the whole head was sent a byte at a time without a disconnect"),
    };
    assert!(
        closed < Duration::from_millis(1500),
        "closed after {closed:?}"
    );

    // A connection that sends nothing at all goes the same way.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let closed = closed_within(&mut silent, Duration::from_secs(3))
        .await
        .expect("a silent connection is closed");
    assert!(
        closed >= Duration::from_millis(300),
        "closed after {closed:?}"
    );

    // Clients that do send requests are unaffected.
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn idle_keep_alive_connections_are_closed() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.idle_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: example\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(3))
        .await
        .expect("the idle connection is closed");
    assert!(
        closed >= Duration::from_millis(200),
        "closed after {closed:?}"
    );
    app.stop().await;
}

async fn a_full_connection_table_still_lets_a_producer_in() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.max_connections = 16;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Let the server accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let start = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let response = client
        .post(app.url("/api/telemetry"))
        .header("content-type", "application/json")
        .body(sample("nta-worker-basic.json"))
        .send()
        .await
        .expect("the POST got through");
    assert_eq!(response.status(), 200);
    assert!(start.elapsed() < Duration::from_secs(1));

    // The oldest idle socket paid for it, and the event was counted.
    let mut closed = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_millis(50))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection was closed");
    let metrics = client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l
                .starts_with("reconstructor_http_connections_closed_total{reason=\"evicted\"}")),
        "{metrics}"
    );
    app.stop().await;
}

async fn requests_per_connection_are_limited() {
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.max_requests_per_connection = 2;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    for expect_close in [false, true] {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: example\r\n\r\n")
            .await
            .unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(head.contains("connection: close"), expect_close, "{head}");
    }
    assert!(
        closed_within(&mut stream, Duration::from_secs(1))
            .await
            .is_some()
    );
    app.stop().await;
}

async fn http2_without_tls_is_served() {
    let app = TestApp::spawn(Db::Sqlite, |_| {}).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    app.stop().await;
}

async fn shutdown_does_not_wait_for_slow_or_idle_clients() {
    // The defaults: a 10 s header timeout and a 20 s shutdown deadline, both far above the
    // bound checked here.
    let app = TestApp::spawn(Db::Sqlite, |_| {}).await;
    let mut held = Vec::new();
    for i in 0..10 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"POST /api/telemetry HTTP/1.1\r\nHost: exa")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    // An idle keep-alive connection after a request.
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    app.stop().await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    for stream in &mut held {
        assert!(
            closed_within(stream, Duration::from_millis(200))
                .await
                .is_some()
        );
    }
}

crate::trials! {
    tokio: [slowloris_is_closed_within_the_header_timeout, idle_keep_alive_connections_are_closed, a_full_connection_table_still_lets_a_producer_in, requests_per_connection_are_limited, http2_without_tls_is_served, shutdown_does_not_wait_for_slow_or_idle_clients],
}
