//! The real ingest path: a Reconstructor server started in process on 127.0.0.1:0 (SQLite in a
//! temporary directory, or the database `--database-url` names), traffic posted to it over HTTP
//! as Akto `batchData`, discovery's merge run, and the endpoints read back from its API.
//!
//! The merge runs either on demand, once the traffic of a host is in (`--merge now`: the
//! server's own merge job, `Discovery::merge_host`, on the server's store, with the server's
//! background schedule switched off, so the result does not depend on timing), or on the server's background schedule with short intervals while the
//! traffic arrives (`--merge background`: merges interleave with ingest and learned templates
//! classify later batches, as in production; the endpoints are read once two consecutive reads
//! agree).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use reconstructor::config::Config;
use reconstructor::discovery::catalog::Classifier;
use reconstructor::discovery::job::Discovery;
use reconstructor::startup::Application;
use reconstructor::store::DatabaseUrl;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::sink::{Exchange, Sink};

/// Records per `POST /api/ingestData`, at most.
const BATCH_RECORDS: usize = 1_000;
/// Bytes of records per post, about (the server accepts 8 MiB by default).
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// The background schedule of `--merge background`.
const MERGE_INTERVAL: Duration = Duration::from_millis(300);
const REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// How long `--merge background` waits for the catalog to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

/// When discovery's merge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MergeMode {
    /// Once per host, after its traffic is in.
    Now,
    /// On the server's own schedule, while traffic arrives.
    Background,
}

/// A running server and a client for it.
#[derive(Debug)]
pub(crate) struct Server {
    runtime: Runtime,
    base: String,
    client: reqwest::Client,
    discovery: Discovery,
    mode: MergeMode,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
    /// Holds the SQLite file until the server stops.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server over a fresh SQLite database, or over `database_url`.
    pub(crate) fn start(
        database_url: Option<&str>,
        min_distinct: usize,
        mode: MergeMode,
    ) -> Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let url = match database_url {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}", dir.path().join("accuracy.db").display()),
        };
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().to_path_buf(),
            database: reconstructor::store::DatabaseSettings {
                url: Some(DatabaseUrl::new(url)),
                ..Default::default()
            },
            log_level: "error".to_owned(),
            ..Config::default()
        };
        config.discovery.min_distinct = min_distinct;
        match mode {
            MergeMode::Now => {
                // The server's own schedule never comes round during a run: neither its merges
                // nor the refresh that teaches its classifier the templates learned so far, which
                // would otherwise apply to whichever batches happen to follow it. (The spec
                // route writes the buffered summaries itself.)
                config.discovery.merge_interval = Duration::from_secs(24 * 3600);
                config.discovery.refresh_interval = Duration::from_secs(24 * 3600);
            }
            MergeMode::Background => {
                config.discovery.merge_interval = MERGE_INTERVAL;
                config.discovery.refresh_interval = REFRESH_INTERVAL;
            }
        }
        reconstructor::startup::init_logging(&config);
        let (app, discovery) = runtime.block_on(async {
            let store = reconstructor::startup::connect(&config)
                .await
                .context("connecting to the database")?;
            let classifier = Arc::new(Classifier::new(config.discovery.host_rules()));
            // This instance only merges; the server summarises what it ingests.
            let discovery = Discovery::new(&config.discovery, store.clone(), classifier);
            let app = Application::build_with_store(config, store)
                .await
                .context("starting the server")?;
            anyhow::Ok((app, discovery))
        })?;
        let base = format!("http://{}", app.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Server {
            runtime,
            base,
            client: reqwest::Client::new(),
            discovery,
            mode,
            shutdown: Some(shutdown),
            task: Some(task),
            _dir: dir,
        })
    }

    /// A sink posting to `host` (one host per spec and variant).
    pub(crate) fn sink(&self, host: String) -> HttpSink<'_> {
        HttpSink {
            server: self,
            host,
            pending: Vec::new(),
            pending_bytes: 0,
            last_post: None,
        }
    }

    fn post(&self, records: &[Value]) -> Result<()> {
        let body = json!({ "batchData": records }).to_string();
        self.runtime.block_on(async {
            let response = self
                .client
                .post(format!("{}/api/ingestData", self.base))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .context("posting traffic")?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("POST /api/ingestData answered {status}: {answer}");
            }
            let rejected = answer["rejected"].as_array().map_or(0, Vec::len);
            if rejected > 0 {
                bail!("the server rejected {rejected} records: {answer}");
            }
            Ok(())
        })
    }

    /// Runs the merge for `host` until nothing more folds.
    fn merge(&self, host: &str) -> Result<()> {
        self.runtime.block_on(async {
            for _ in 0..8 {
                let folded = self
                    .discovery
                    .merge_host(host)
                    .await
                    .with_context(|| format!("merging {host}"))?;
                if folded == 0 {
                    return Ok(());
                }
            }
            bail!("merging {host} did not reach a fixed point")
        })
    }

    /// `(method, template)` of every endpoint of `host`, static assets and pages included.
    fn endpoints(&self, host: &str) -> Result<BTreeSet<(String, String)>> {
        self.runtime.block_on(async {
            let mut out = BTreeSet::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut url = format!(
                    "{}/api/hosts/{host}/endpoints?include_non_api=true&limit=100000",
                    self.base
                );
                if let Some(c) = &cursor {
                    url.push_str("&cursor=");
                    url.push_str(c);
                }
                let response = self
                    .client
                    .get(&url)
                    .send()
                    .await
                    .context("reading endpoints")?;
                let status = response.status();
                let page: Value = response.json().await.context("reading endpoints")?;
                if !status.is_success() {
                    bail!("GET {url} answered {status}: {page}");
                }
                for e in page["endpoints"].as_array().into_iter().flatten() {
                    let (Some(method), Some(path)) = (e["method"].as_str(), e["path"].as_str())
                    else {
                        bail!("an endpoint without method or path: {e}");
                    };
                    out.insert((method.to_owned(), path.to_owned()));
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => return Ok(out),
                }
            }
        })
    }

    /// The OpenAPI document the server reconstructs for `host`.
    fn openapi(&self, host: &str) -> Result<Value> {
        self.runtime.block_on(async {
            let url = format!("{}/api/hosts/{host}/openapi.json", self.base);
            let response = self
                .client
                .get(&url)
                .send()
                .await
                .context("reading the spec")?;
            let status = response.status();
            let text = response.text().await.context("reading the spec")?;
            if !status.is_success() {
                bail!("GET {url} answered {status}: {text}");
            }
            serde_json::from_str(&text).with_context(|| format!("parsing the document of {host}"))
        })
    }

    /// Polls until two reads a merge interval apart agree, after at least two merge intervals
    /// since the last post.
    fn settled_endpoints(
        &self,
        host: &str,
        last_post: Option<Instant>,
    ) -> Result<BTreeSet<(String, String)>> {
        let started = Instant::now();
        if let Some(at) = last_post {
            let quiet = at + 2 * MERGE_INTERVAL;
            std::thread::sleep(quiet.saturating_duration_since(Instant::now()));
        }
        let mut previous = self.endpoints(host)?;
        loop {
            std::thread::sleep(MERGE_INTERVAL + REFRESH_INTERVAL);
            let current = self.endpoints(host)?;
            if current == previous {
                return Ok(current);
            }
            if started.elapsed() > SETTLE_TIMEOUT {
                bail!("the endpoints of {host} did not settle");
            }
            previous = current;
        }
    }

    /// Stops the server and waits for it.
    pub(crate) fn stop(mut self) -> Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            self.runtime
                .block_on(task)
                .context("the server task failed")??;
        }
        Ok(())
    }
}

/// Posts one host's traffic to a [`Server`] and reads back what it discovered.
#[derive(Debug)]
pub(crate) struct HttpSink<'a> {
    server: &'a Server,
    host: String,
    pending: Vec<Value>,
    pending_bytes: usize,
    last_post: Option<Instant>,
}

impl HttpSink<'_> {
    /// The OpenAPI document reconstructed from this host's traffic (after
    /// [`Sink::endpoints`], so that the merge has run).
    pub(crate) fn openapi(&self) -> Result<Value> {
        self.server.openapi(&self.host)
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.server.post(&self.pending)?;
        self.pending.clear();
        self.pending_bytes = 0;
        self.last_post = Some(Instant::now());
        Ok(())
    }
}

impl Sink for HttpSink<'_> {
    fn record(&mut self, exchange: &Exchange) -> Result<()> {
        let record = akto_record(&self.host, exchange);
        self.pending_bytes += exchange.request.as_ref().map_or(0, |p| p.text.len())
            + exchange.response.as_ref().map_or(0, |p| p.text.len())
            + 512;
        self.pending.push(record);
        if self.pending.len() >= BATCH_RECORDS || self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn endpoints(&mut self) -> Result<BTreeSet<(String, String)>> {
        self.flush()?;
        match self.server.mode {
            MergeMode::Now => {
                self.server.merge(&self.host)?;
                self.server.endpoints(&self.host)
            }
            MergeMode::Background => self.server.settled_endpoints(&self.host, self.last_post),
        }
    }
}

/// One element of Akto's `batchData`, as its traffic agents send them: headers and bodies as
/// text, status and time as strings.
fn akto_record(host: &str, exchange: &Exchange) -> Value {
    let mut request_headers = json!({
        "host": host,
        "accept": "application/json",
        "user-agent": "reconstructor-accuracy/0.1",
    });
    if let Some(p) = &exchange.request {
        request_headers["content-type"] = Value::String(p.media_type.clone());
    }
    let mut response_headers = json!({});
    if let Some(p) = &exchange.response {
        response_headers["content-type"] = Value::String(p.media_type.clone());
    }
    let mut url = format!("https://{host}{}", exchange.path);
    if let Some(q) = &exchange.query {
        url.push('?');
        url.push_str(q);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "path": url,
        "method": exchange.method,
        "requestHeaders": request_headers.to_string(),
        "responseHeaders": response_headers.to_string(),
        "requestPayload": exchange.request.as_ref().map_or("", |p| p.text.as_str()),
        "responsePayload": exchange.response.as_ref().map_or("", |p| p.text.as_str()),
        "ip": "198.51.100.7",
        "time": now.to_string(),
        "statusCode": exchange.status.to_string(),
        "type": "HTTP/1.1",
        "status": "OK",
        "akto_account_id": "1000000",
        "akto_vxlan_id": "0",
        "is_pending": "false",
        "source": "MIRRORING"
    })
}

/// A host name for a spec id: `github.com/api.github.com` → `github-com-api-github-com`.
pub(crate) fn host_label(spec_id: &str) -> String {
    let mut out = String::new();
    for c in spec_id.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    trimmed.chars().take(63).collect::<String>()
}
