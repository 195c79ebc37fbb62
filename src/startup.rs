//! Wiring: connect the store, migrate, bind, serve (HTTP or in-process HTTPS), shut down
//! gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::discovery::catalog::Classifier;
use crate::discovery::job::Discovery;
use crate::discovery::summaries::Sampler;
use crate::http::{AppState, SharedState, router};
use crate::ingest::Ingestor;
use crate::ingest::writer::WriterTasks;
use crate::observability::names;
use crate::progress::Progress;
use crate::store::{self, Backend, StorageSettings, Store};

/// How often housekeeping (upcoming partitions) runs.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(3600);
/// How often the database's size is measured against the disk budget.
const BUDGET_INTERVAL: Duration = Duration::from_secs(60);
/// How often the counts ingest appended are settled into their endpoints.
const SETTLE_INTERVAL: Duration = Duration::from_secs(1);

/// `reconstructor serve`: runs until SIGTERM or ctrl-c.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    app.run_until(shutdown_signal()).await
}

/// `reconstructor migrate`: applies pending migrations and exits.
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = connect(&config).await?;
    if let Err(e) = store.migrate().await {
        return Err(explain_store_error(&config, e).await);
    }
    tracing::info!(database = %config.database_url(), "migrations applied");
    store.close().await;
    Ok(())
}

/// Rebuilds the catalog of one host (or all) from stored exchanges.
pub async fn reprocess(config: Config, host: Option<String>) -> anyhow::Result<()> {
    let store = connect(&config).await?;
    store.migrate().await.context("applying migrations")?;
    let classifier = Arc::new(Classifier::new(config.discovery.host_rules()));
    let discovery = Discovery::new(&config.discovery, store.clone(), classifier);
    discovery.refresh().await.context("loading rules")?;
    let stored = discovery.stored_hosts().await.context("listing hosts")?;
    let hosts: Vec<(String, Option<u64>)> = match host {
        Some(host) => {
            let host = host.to_ascii_lowercase();
            let known = stored.get(&host).copied().flatten();
            vec![(host, known)]
        }
        None => stored.into_iter().collect(),
    };
    // The catalog's counts estimate the work; a host it does not know yet only adds to the count.
    let estimate = hosts.iter().filter_map(|(_, n)| *n).sum::<u64>();
    let progress = Progress::new("reprocessing", "exchanges", Some(estimate));
    let mut total = crate::discovery::job::ReprocessReport::default();
    for (i, (host, _)) in hosts.iter().enumerate() {
        progress.message(format!("{host} ({}/{})", i + 1, hosts.len()));
        let before = total.exchanges;
        let report = discovery
            .reprocess_reporting(host, &|done| progress.position(before + done))
            .await
            .with_context(|| format!("reprocessing {host}"))?;
        total.exchanges += report.exchanges;
        total.endpoints += report.endpoints;
        progress.position(total.exchanges);
    }
    progress.finish();
    tracing::info!(
        hosts = hosts.len(),
        exchanges = total.exchanges,
        endpoints = total.endpoints,
        "catalog rebuilt"
    );
    store.close().await;
    Ok(())
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// `reconstructor check-config`: prints the configuration in effect (secrets hidden) when it is
/// valid, else what is wrong; the exit code says which.
pub fn check_config(result: Result<Config, crate::config::ConfigError>) -> std::process::ExitCode {
    use std::io::Write;
    match result {
        Ok(config) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "the configuration is valid");
            for warning in &config.warnings {
                let _ = writeln!(stdout, "warning: {warning}");
            }
            let _ = writeln!(stdout, "database: {}", config.database_url());
            let _ = writeln!(stdout, "{config:#?}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reconstructor: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Connects to the configured database, naming it (password hidden) when that fails.
pub async fn connect(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    store::connect(&url, &config.database)
        .await
        .with_context(|| format!("connecting to the database at {url}"))
}

/// Writes the OpenAPI document of one host to `out` (standard output when `None`).
pub async fn export(
    config: Config,
    host: String,
    format: ExportFormat,
    out: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let progress = Progress::new("exporting", "bytes", None);
    let store = connect(&config).await?;
    let host = host.to_ascii_lowercase();
    progress.message(format!("reading the catalog of {host}"));
    let spec = crate::discovery::summaries::host_spec(&*store, &host)
        .await
        .context("reading the catalog")?
        .ok_or_else(|| anyhow::anyhow!("no traffic seen for host `{host}`"))?;
    progress.message(format!(
        "rendering {} operations of {host}",
        spec.operations.len()
    ));
    let document = crate::openapi::render(&spec, &crate::openapi::RenderOptions::default());
    let text = match format {
        ExportFormat::Json => crate::openapi::to_json(&document),
        ExportFormat::Yaml => crate::openapi::to_yaml(&document),
    };
    progress.position(text.len() as u64);
    match &out {
        Some(path) => {
            progress.message(format!("writing {}", path.display()));
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            // The document goes to stdout; the bar (on stderr) is cleared first.
            progress.finish();
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            store.close().await;
            return Ok(());
        }
    }
    progress.finish();
    tracing::info!(host, bytes = text.len(), out = ?out, "exported");
    store.close().await;
    Ok(())
}

/// Installs the global `tracing` subscriber. Safe to call more than once (later calls are
/// no-ops), which tests rely on.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match config.log_format {
        crate::config::LogFormat::Json => true,
        crate::config::LogFormat::Text => false,
        crate::config::LogFormat::Auto => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::log_writer);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// A bound, ready-to-run server. Tests build it with port 0, read [`Application::local_addr`]
/// and stop it with their own shutdown future.
#[derive(Debug)]
pub struct Application {
    listener: std::net::TcpListener,
    config: Arc<Config>,
    store: Arc<dyn Store>,
    tls: Option<RustlsConfig>,
}

impl Application {
    /// Connects to the database (migrating it unless disabled) and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = connect(&config).await?;
        Self::build_with_store(config, store).await
    }

    /// Like [`Application::build`] with a store the caller already opened.
    pub async fn build_with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        if config.database.migrate_on_start
            && let Err(e) = store.migrate().await
        {
            return Err(explain_store_error(&config, e).await);
        }
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some({
                // Several crypto backends may be compiled in (test clients bring their own);
                // choose ours explicitly. An error only means one was already chosen.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| format!("loading TLS certificate {}", cert.display()))?
            }),
            _ => None,
        };
        let listener = std::net::TcpListener::bind(config.listen)
            .with_context(|| format!("binding {}", config.listen))?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            config: Arc::new(config),
            store,
            tls,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish
    /// (up to the configured deadline), commits what is queued and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let config = self.config.clone();
        warn_if_open(&config);
        let cancel = CancellationToken::new();
        let (state, writer_tasks) = state(config.clone(), self.store.clone(), cancel.clone());
        let discovery = state.discovery.clone();
        if let Err(e) = discovery.refresh().await {
            tracing::warn!(error = %e, "loading discovery state failed; retrying in the background");
        }
        tokio::spawn(discovery.clone().run(cancel.clone()));
        start_change_tracking(&config, self.store.clone(), &cancel)?;
        let app = router(state);

        tokio::spawn({
            let cancel = cancel.clone();
            let deadline = config.shutdown_timeout;
            async move {
                shutdown.await;
                tracing::info!(deadline = ?deadline, "shutting down");
                cancel.cancel();
            }
        });
        tokio::spawn(settle_counts(self.store.clone(), cancel.clone()));
        tokio::spawn(maintain(
            self.store.clone(),
            config.storage.clone(),
            cancel.clone(),
        ));

        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let address = self.local_addr();
        let mut limits = config.connection_limits();
        crate::server::fit_descriptor_limit(&mut limits);
        tracing::info!(
            address = %address,
            scheme,
            database = %config.database_url(),
            max_connections = limits.max_connections,
            "listening"
        );
        if let Some(tls) = &self.tls {
            tokio::spawn(reload_certificates_on_hangup(
                tls.clone(),
                config.clone(),
                cancel.clone(),
            ));
        }
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .with_context(|| format!("listening on {address}"))?;
        crate::server::Server {
            listener,
            tls: self.tls,
            limits,
        }
        .serve(app, cancel.clone(), config.shutdown_timeout)
        .await;
        cancel.cancel();
        // The handlers are done (or were cut off at the deadline): the writers commit what is
        // still queued and stop. Bounded, in case a lingering connection still holds the
        // router; anything not committed by then was never acknowledged.
        if tokio::time::timeout(config.shutdown_timeout, writer_tasks.join())
            .await
            .is_err()
        {
            tracing::warn!("writers did not drain before the shutdown deadline");
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Turns a failure to use the database at start into an error that says where it tried to
/// connect and what the operating system answered: a pool only reports that it timed out.
async fn explain_store_error(config: &Config, error: store::StoreError) -> anyhow::Error {
    if error.is_disk_full() {
        return anyhow::Error::new(error).context("applying migrations");
    }
    let url = config.database_url();
    let Some(crate::store::Backend::Postgres) = url.backend() else {
        return anyhow::Error::new(error)
            .context(format!("opening the database at {}", url.redacted()));
    };
    let Ok(options) =
        <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url.expose())
    else {
        return anyhow::Error::new(error).context("applying migrations");
    };
    let target = format!("{}:{}", options.get_host(), options.get_port());
    let attempt = tokio::time::timeout(
        config.database.acquire_timeout,
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
    )
    .await;
    match attempt {
        Ok(Err(cause)) => anyhow::anyhow!(
            "cannot connect to Postgres at {target} ({}): {cause}",
            url.redacted()
        ),
        Err(_) => anyhow::anyhow!(
            "Postgres at {target} ({}) did not answer within {}",
            url.redacted(),
            humantime::format_duration(config.database.acquire_timeout)
        ),
        Ok(Ok(_)) => anyhow::Error::new(error).context(format!(
            "applying migrations on Postgres at {target} (reachable again now)"
        )),
    }
}

/// Everything the handlers share, wired together: the classifier is made here and handed to
/// both the ingestor and discovery. The writer tasks run until every
/// clone of the state is dropped.
pub fn state(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) -> (AppState, WriterTasks) {
    let classifier = Arc::new(Classifier::new(config.discovery.host_rules()));
    let (ingestor, writer_tasks) = Ingestor::start(
        &config.ingest_settings(),
        store.clone(),
        classifier.clone(),
        Arc::new(Sampler::default()),
    );
    let discovery = Arc::new(Discovery::new(&config.discovery, store.clone(), classifier));
    let state = AppState::new(SharedState {
        rebuilds: Arc::new(crate::discovery::rebuilds::Rebuilds::new(discovery.clone())),
        discovery,
        store,
        ingestor,
        metrics: crate::observability::metrics_handle(),
        body_budget: Arc::new(tokio::sync::Semaphore::new(config.max_inflight_body_bytes)),
        shutdown,
        config,
    });
    (state, writer_tasks)
}

/// Starts the revision and drift job (it acts only while this process leads) and the webhook
/// deliverer (every replica runs one; claims keep each delivery to one of them).
fn start_change_tracking(
    config: &Config,
    store: Arc<dyn Store>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let wake = Arc::new(tokio::sync::Notify::new());
    let tracker = Arc::new(crate::changes::ChangeTracker::new(
        store.clone(),
        &config.changes,
        &config.webhooks,
        wake.clone(),
    ));
    tokio::spawn(tracker.run(cancel.clone()));
    let deliverer =
        crate::changes::webhook::Deliverer::new(store, &config.webhooks, &config.changes, wake)
            .context("setting up webhook delivery")?;
    tokio::spawn(Arc::new(deliverer).run(cancel.clone()));
    Ok(())
}

/// Prints the difference between two revisions of a host's document.
pub async fn diff(config: Config, host: String, from: i64, to: i64) -> anyhow::Result<()> {
    let store = connect(&config).await?;
    let host = host.to_ascii_lowercase();
    let diff = crate::changes::diff(&*store, &host, from, to)
        .await
        .context("reading revisions")?
        .map_err(|n| anyhow::anyhow!("host `{host}` has no revision {n}"))?;
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{host}: revision {from} → {to}")?;
        write!(stdout, "{diff}")?;
        stdout.flush()?;
    }
    store.close().await;
    Ok(())
}

fn warn_if_open(config: &Config) {
    if config.ingest_tokens.is_empty() {
        tracing::warn!(
            "no ingest token configured: anyone who can reach this server can post traffic (set --ingest-token)"
        );
    }
    if config.read_tokens.is_empty() {
        tracing::warn!(
            "no read token configured: stored traffic is readable by anyone who can reach this server (set --read-token)"
        );
    }
    if !config.redaction.enabled {
        tracing::warn!(
            "redaction is disabled: credentials in mirrored traffic are stored as received"
        );
    }
}

/// Keeps upcoming partitions ready and expires exchanges past the retention (once at start,
/// then hourly), and measures the database against the disk budget every minute; failures are
/// logged and retried next round.
async fn maintain(store: Arc<dyn Store>, storage: StorageSettings, cancel: CancellationToken) {
    // Migrating made the upcoming partitions; the first round only expires.
    let mut hourly: Option<tokio::time::Instant> = None;
    loop {
        if hourly.is_none_or(|at| at.elapsed() >= MAINTENANCE_INTERVAL) {
            if hourly.is_some()
                && let Err(e) = store.maintain().await
            {
                tracing::warn!(error = %e, "database maintenance failed");
            }
            if let Some(retention) = storage.retention {
                expire(&*store, retention).await;
            }
            hourly = Some(tokio::time::Instant::now());
        }
        if let Some(budget) = storage.disk_budget {
            match enforce_disk_budget(&*store, budget.as_u64()).await {
                Ok(expired) if expired == crate::store::Expired::default() => {}
                Ok(expired) => tracing::info!(
                    budget = %budget,
                    partitions = expired.partitions,
                    rows = expired.rows,
                    "deleted the oldest exchanges to stay within the disk budget"
                ),
                Err(e) => tracing::warn!(error = %e, "enforcing the disk budget failed"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(BUDGET_INTERVAL) => {}
        }
    }
}

/// One disk-budget round: while the database uses more than `budget` bytes, the oldest
/// exchanges are deleted, a day at a time on Postgres (a day partition dropped whole gives its
/// disk back at once) and an hour at a time on SQLite (whose freed pages are reused). The
/// current day's partition (Postgres) and the last hour (SQLite) are kept: a budget smaller than
/// that is reported, not enforced by deleting what just arrived.
pub async fn enforce_disk_budget(
    store: &dyn Store,
    budget: u64,
) -> Result<crate::store::Expired, crate::store::StoreError> {
    let mut total = crate::store::Expired::default();
    let now = chrono::Utc::now();
    let (step, keep_from) = match store.backend() {
        Backend::Postgres => (
            chrono::Duration::days(1),
            now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc(),
        ),
        Backend::Sqlite => (chrono::Duration::hours(1), now - chrono::Duration::hours(1)),
    };
    loop {
        let used = store.disk_usage().await?;
        metrics::gauge!(names::DATABASE_SIZE).set(used as f64);
        if used <= budget {
            return Ok(total);
        }
        let Some(oldest) = store.oldest_exchange().await? else {
            tracing::warn!(
                used,
                budget,
                "the database is over its disk budget with no exchange left to delete"
            );
            return Ok(total);
        };
        let before = match store.backend() {
            // The end of the oldest exchange's day partition.
            Backend::Postgres => (oldest
                .date_naive()
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                + step)
                .min(keep_from),
            Backend::Sqlite => (oldest + step).min(keep_from),
        };
        let expired = if before > oldest {
            store.expire(before).await?
        } else {
            crate::store::Expired::default()
        };
        total.partitions += expired.partitions;
        total.rows += expired.rows;
        total.deferred += expired.deferred;
        if expired.partitions == 0 && expired.rows == 0 {
            if expired.deferred == 0 {
                tracing::warn!(
                    used,
                    budget,
                    "the database is over its disk budget with only recent exchanges left"
                );
            }
            return Ok(total);
        }
    }
}

/// Adds the catalog counts ingest appended to their endpoints, every [`SETTLE_INTERVAL`], so
/// that reads, which add what is not settled yet, stay cheap. Failures are logged and retried.
async fn settle_counts(store: Arc<dyn Store>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(SETTLE_INTERVAL) => {}
        }
        match store.settle_counts().await {
            Ok(0) => {}
            Ok(rows) => metrics::counter!(names::CATALOG_COUNTS_SETTLED).increment(rows),
            Err(e) => {
                metrics::counter!(names::CATALOG_SETTLE_FAILURES).increment(1);
                tracing::warn!(error = %e, "settling catalog counts failed");
            }
        }
    }
}

/// One retention round: exchanges received before now minus `retention` are deleted.
pub async fn expire(store: &dyn Store, retention: Duration) {
    let Some(before) = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
    else {
        return;
    };
    match store.expire(before).await {
        Ok(expired) if expired == crate::store::Expired::default() => {}
        Ok(expired) => tracing::info!(
            before = %before,
            partitions = expired.partitions,
            rows = expired.rows,
            deferred = expired.deferred,
            "expired exchanges past the retention"
        ),
        Err(e) => tracing::warn!(error = %e, "expiring exchanges failed"),
    }
}

/// Re-reads the certificate and key on SIGHUP. Established connections keep their session;
/// new handshakes use the new certificate. A bad file is logged and the old one stays.
async fn reload_certificates_on_hangup(
    tls: RustlsConfig,
    config: Arc<Config>,
    cancel: CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Some(cert), Some(key)) = (config.tls_cert.clone(), config.tls_key.clone()) else {
            return;
        };
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; certificates will not reload");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                got = hangups.recv() => if got.is_none() { return },
            }
            match tls.reload_from_pem_file(&cert, &key).await {
                Ok(()) => tracing::info!(cert = %cert.display(), "TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate reload failed; keeping the old one")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (tls, config, cancel);
    }
}

/// Completes on SIGTERM (what orchestrators send) or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
