//! In-process HTTPS with a certificate generated at test time.

use crate::common::{Db, TestApp};

/// A self-signed certificate for localhost, written to `dir`; returns (cert path, key path, PEM).
pub fn write_certificate(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate generated");
    let cert_pem = certified.cert.pem();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

pub fn client_trusting(pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn serves_https_with_the_configured_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, pem) = write_certificate(certs.path(), "server");
    let app = TestApp::spawn(Db::Sqlite, |config| {
        config.tls_cert = Some(cert);
        config.tls_key = Some(key);
    })
    .await;
    let client = client_trusting(&pem);
    let url = format!("https://localhost:{}/readyz", app.addr.port());
    let response = client
        .get(&url)
        .send()
        .await
        .expect("TLS handshake and request");
    assert_eq!(response.status(), 200);

    // Plain HTTP to the TLS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", app.addr.port()))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    app.stop().await;
}

crate::trials! {
    tokio: [serves_https_with_the_configured_certificate],
}
