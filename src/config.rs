//! Typed configuration: built-in defaults, then an optional TOML file, then `RECONSTRUCTOR_*`
//! environment variables, then command-line flags — each layer overriding the one before.
//!
//! Everything is validated once, at start-up, so a bad setting stops the process with a message
//! that names it instead of surfacing later as a confusing runtime error. Secrets (the database
//! password, tokens) are wrapped so that `Debug` output and logs never show them.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::ingest::redact::RedactionConfig;
use crate::ingest::writer::WriterSettings;

/// The port NTA producers and the bundled NGINX configuration expect.
pub const DEFAULT_PORT: u16 = 8090;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise (what a log collector wants).
    Auto,
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A database URL whose password never appears in `Debug` or `Display` output.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL; validation happens in [`Config::validate`].
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for the one place that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Which backend the URL selects.
    pub fn backend(&self) -> Option<Backend> {
        let scheme = self.0.split_once(':').map(|(scheme, _)| scheme)?;
        match scheme {
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Setting a password only fails for URLs that cannot have one, which we just
                // established this one does.
                // `<` and `>` would come out percent-encoded: set a plain marker and swap it
                // for the readable one in the text.
                let _ = url.set_password(Some("REDACTED"));
                url.to_string().replacen(":REDACTED@", ":<redacted>@", 1)
            }
            Ok(_) => self.0.clone(),
            // Unparseable: show only the scheme rather than risk printing a secret.
            Err(_) => match self.0.split_once(':') {
                Some((scheme, _)) => format!("{scheme}:<unparseable>"),
                None => "<unparseable>".to_owned(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The storage backends Reconstructor can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The production store.
    Postgres,
    /// The embedded zero-setup store.
    Sqlite,
}

/// The complete, validated configuration.
///
/// Missing keys take their value from [`Config::default`] (`#[serde(default)]`), which is how
/// the built-in defaults form the bottom layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP(S) server binds.
    pub listen: SocketAddr,
    /// Directory for the embedded database and other local state.
    pub data_dir: PathBuf,
    /// Where exchanges are stored; `None` means the SQLite file under `data_dir`.
    pub database_url: Option<DatabaseUrl>,
    /// Upper bound on pooled database connections.
    pub database_max_connections: u32,
    /// Connections kept open even when idle.
    pub database_min_connections: u32,
    /// How long a request waits for a pooled connection before the server answers 503.
    #[serde(with = "humantime_serde")]
    pub database_acquire_timeout: Duration,
    /// Whether `serve` applies pending migrations before it listens.
    pub migrate_on_start: bool,
    /// PEM certificate chain for in-process TLS; plain HTTP when unset.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Log output format.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info` or `reconstructor=debug,sqlx=warn`.
    pub log_level: String,
    /// How long shutdown waits for in-flight requests; keep it below the orchestrator's grace
    /// period so that the process exits on its own terms.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Longest a new connection may take to finish its TLS handshake and send its first
    /// request head; slower clients are disconnected.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Longest a connection may stay open between requests.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most client connections open at once; past it the connection idle longest is closed
    /// (or, if every one is busy, the new one is refused).
    pub max_connections: usize,
    /// Requests served on one connection before the server asks the client to reconnect.
    pub max_requests_per_connection: u64,
    /// Largest accepted request body (after decompression), in bytes.
    pub max_body_bytes: usize,
    /// Largest number of records accepted in one request.
    pub max_records: usize,
    /// Bytes of request bodies held in memory at once across all requests; beyond it requests
    /// get 503 instead of growing memory.
    pub max_inflight_body_bytes: usize,
    /// Bytes of each request or response body kept per exchange; the rest is cut and flagged.
    pub max_stored_body_bytes: usize,
    /// Tokens producers must present on the ingest routes; empty means the routes are open.
    pub ingest_tokens: Vec<SecretString>,
    /// A file with one ingest token per line, added to `ingest_tokens`.
    pub ingest_token_file: Option<PathBuf>,
    /// Tokens required on the read (query) routes; empty means they are open.
    pub read_tokens: Vec<SecretString>,
    /// A file with one read token per line, added to `read_tokens`.
    pub read_token_file: Option<PathBuf>,
    /// Most records committed in one transaction (group commit).
    pub commit_max_records: usize,
    /// How long a commit waits for more records before it goes with what it has.
    #[serde(with = "humantime_serde")]
    pub commit_max_delay: Duration,
    /// Longest a request waits for its commit before answering 503.
    #[serde(with = "humantime_serde")]
    pub commit_timeout: Duration,
    /// Records waiting to be committed beyond which requests get 503 at once.
    pub queue_max_records: usize,
    /// Bytes waiting to be committed beyond which requests get 503 at once.
    pub queue_max_bytes: usize,
    /// Proxies whose `X-Forwarded-For` / `X-Real-IP` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// What is redacted from stored traffic.
    pub redaction: RedactionConfig,
    /// Endpoint discovery: merge schedule and per-host rules.
    pub discovery: DiscoveryConfig,
}

/// Endpoint discovery settings (`[discovery]` in the configuration file).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// How often the leader runs the cardinality merge over hosts that changed.
    #[serde(with = "humantime_serde")]
    pub merge_interval: Duration,
    /// How often each replica reloads learned templates and stored rules.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Distinct literals at one position before it becomes a parameter.
    pub min_distinct: usize,
    /// Per-host rules, keyed by host key (`api.example.com`, `api.example.com:8443`).
    pub hosts: std::collections::BTreeMap<String, HostRulesConfig>,
}

/// Rules for one host.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HostRulesConfig {
    /// "This is a template": `/repos/{owner}/{repo}`, optionally typed (`{id:integer}`).
    pub templates: Vec<String>,
    /// "This stays literal": `/users/me`.
    pub literals: Vec<String>,
}

impl HostRulesConfig {
    /// The rules, or the first template that does not parse.
    pub fn to_rules(&self) -> Result<crate::discovery::template::HostRules, String> {
        let mut templates = Vec::with_capacity(self.templates.len());
        for text in &self.templates {
            let template = crate::discovery::template::Template::parse(text)
                .ok_or_else(|| format!("`{text}` is not a valid template"))?;
            templates.push(template);
        }
        for literal in &self.literals {
            if !literal.starts_with('/') || literal.contains(['{', '}']) {
                return Err(format!("`{literal}` is not a literal path"));
            }
        }
        Ok(crate::discovery::template::HostRules {
            templates,
            literals: self.literals.clone(),
        })
    }
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            merge_interval: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(10),
            min_distinct: crate::discovery::merge::MergeSettings::default().min_distinct,
            hosts: std::collections::BTreeMap::new(),
        }
    }
}

impl Config {
    /// The connection limits of the HTTP server.
    pub fn connection_limits(&self) -> crate::server::Limits {
        crate::server::Limits {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            max_requests_per_connection: self.max_requests_per_connection,
        }
    }

    /// The per-host rules of the configuration file (validated at load).
    pub fn host_rules(
        &self,
    ) -> std::collections::HashMap<String, crate::discovery::template::HostRules> {
        self.discovery
            .hosts
            .iter()
            .filter_map(|(host, rules)| Some((host.to_ascii_lowercase(), rules.to_rules().ok()?)))
            .collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_max_connections: 10,
            database_min_connections: 0,
            database_acquire_timeout: Duration::from_secs(5),
            migrate_on_start: true,
            tls_cert: None,
            tls_key: None,
            log_format: LogFormat::Auto,
            log_level: "info".to_owned(),
            shutdown_timeout: Duration::from_secs(20),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_requests_per_connection: 10_000,
            max_body_bytes: 8 * 1024 * 1024,
            max_records: 10_000,
            max_stored_body_bytes: 1024 * 1024,
            max_inflight_body_bytes: 64 * 1024 * 1024,
            ingest_tokens: Vec::new(),
            ingest_token_file: None,
            read_tokens: Vec::new(),
            read_token_file: None,
            commit_max_records: 2000,
            commit_max_delay: Duration::from_millis(2),
            commit_timeout: Duration::from_secs(15),
            queue_max_records: 50_000,
            queue_max_bytes: 64 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            redaction: RedactionConfig::default(),
            discovery: DiscoveryConfig::default(),
        }
    }
}

/// A setting that failed validation, named so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read or parsed; the message names the key and the source.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value parsed but is not acceptable.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting's name as written in the file (and, upper-cased, in the environment).
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl Config {
    /// Layers the sources and validates the result.
    ///
    /// `overrides` holds the environment and flags (clap merges those two); it wins over the
    /// file, which wins over the defaults.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(invalid(
                    "config",
                    format!("file {} does not exist", file.display()),
                ));
            }
            figment = figment.merge(Toml::file(file));
        }
        let mut config: Config = figment
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.read_token_files()?;
        config.validate()?;
        Ok(config)
    }

    /// Group-commit settings for the write path.
    pub fn writer_settings(&self) -> WriterSettings {
        WriterSettings {
            // SQLite has one writer at a time; Postgres overlaps commits profitably.
            writers: match self.effective_database_url().backend() {
                Some(Backend::Postgres) => 2,
                _ => 1,
            },
            max_batch_records: self.commit_max_records,
            max_batch_delay: self.commit_max_delay,
            max_queue_records: self.queue_max_records,
            max_queue_bytes: self.queue_max_bytes,
            commit_timeout: self.commit_timeout,
        }
    }

    /// The database URL in effect: the configured one, else the SQLite file under `data_dir`.
    pub fn effective_database_url(&self) -> DatabaseUrl {
        match &self.database_url {
            Some(url) => url.clone(),
            None => DatabaseUrl::new(format!(
                "sqlite://{}",
                self.data_dir.join("reconstructor.db").display()
            )),
        }
    }

    fn read_token_files(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.ingest_token_file {
            self.ingest_tokens
                .extend(read_tokens(path).map_err(|e| invalid("ingest_token_file", e))?);
        }
        if let Some(path) = &self.read_token_file {
            self.read_tokens
                .extend(read_tokens(path).map_err(|e| invalid("read_token_file", e))?);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (host, rules) in &self.discovery.hosts {
            rules
                .to_rules()
                .map_err(|e| invalid("discovery.hosts", format!("{host}: {e}")))?;
        }
        if self.discovery.merge_interval.is_zero() || self.discovery.refresh_interval.is_zero() {
            return Err(invalid(
                "discovery.merge_interval",
                "merge and refresh intervals must be longer than zero",
            ));
        }
        if self.discovery.min_distinct < 2 {
            return Err(invalid("discovery.min_distinct", "must be at least 2"));
        }
        let url = self.effective_database_url();
        if url.backend().is_none() {
            return Err(invalid(
                "database_url",
                format!("`{url}` is neither a postgres:// nor a sqlite:// URL"),
            ));
        }
        if self.database_max_connections == 0 {
            return Err(invalid("database_max_connections", "must be at least 1"));
        }
        if self.database_min_connections > self.database_max_connections {
            return Err(invalid(
                "database_min_connections",
                "must not exceed database_max_connections",
            ));
        }
        if self.database_acquire_timeout.is_zero() {
            return Err(invalid(
                "database_acquire_timeout",
                "must be longer than zero",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(invalid("tls_key", "required when tls_cert is set")),
            (None, Some(_)) => return Err(invalid("tls_cert", "required when tls_key is set")),
            (Some(cert), Some(key)) => {
                for (setting, path) in [("tls_cert", cert), ("tls_key", key)] {
                    if !path.is_file() {
                        return Err(invalid(
                            setting,
                            format!("{} is not a file", path.display()),
                        ));
                    }
                }
            }
            (None, None) => {}
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log_level) {
            return Err(invalid("log_level", e.to_string()));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        if self.commit_max_records == 0 {
            return Err(invalid("commit_max_records", "must be at least 1"));
        }
        if self.commit_timeout.is_zero() {
            return Err(invalid("commit_timeout", "must be longer than zero"));
        }
        if self.max_inflight_body_bytes < self.max_body_bytes {
            return Err(invalid(
                "max_inflight_body_bytes",
                "must be at least max_body_bytes, or no request could ever be read whole",
            ));
        }
        if self.max_inflight_body_bytes > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(invalid("max_inflight_body_bytes", "is too large"));
        }
        if self.max_records == 0 {
            return Err(invalid("max_records", "must be at least 1"));
        }
        for (setting, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if timeout.is_zero() {
                return Err(invalid(setting, "must be longer than zero"));
            }
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if self.max_requests_per_connection == 0 {
            return Err(invalid("max_requests_per_connection", "must be at least 1"));
        }
        for (setting, tokens) in [
            ("ingest_tokens", &self.ingest_tokens),
            ("read_tokens", &self.read_tokens),
        ] {
            if tokens.iter().any(|t| t.expose_secret().trim().is_empty()) {
                return Err(invalid(setting, "tokens must not be empty"));
            }
        }
        Ok(())
    }
}

/// Reads one token per line, ignoring blank lines and `#` comments.
fn read_tokens(path: &Path) -> Result<Vec<SecretString>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| SecretString::from(line.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Default)]
    struct NoOverrides {}

    #[test]
    fn defaults_need_no_setup() {
        let config = Config::load(None, NoOverrides::default()).unwrap();
        assert_eq!(config.listen.port(), 8090);
        assert_eq!(
            config.effective_database_url().expose(),
            "sqlite://data/reconstructor.db"
        );
        assert_eq!(
            config.effective_database_url().backend(),
            Some(Backend::Sqlite)
        );
    }

    #[test]
    fn database_password_never_printed() {
        let url = DatabaseUrl::new("postgres://app:hunter2@db.internal:5432/recon");
        let printed = format!("{url:?} {url}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("db.internal"), "{printed}");
        assert_eq!(
            url.expose(),
            "postgres://app:hunter2@db.internal:5432/recon"
        );
    }

    #[test]
    fn tokens_never_printed() {
        #[derive(Serialize)]
        struct Tokens {
            ingest_tokens: Vec<String>,
        }
        let config = Config::load(
            None,
            Tokens {
                ingest_tokens: vec!["s3cret-token".into()],
            },
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret-token"));
        assert_eq!(config.ingest_tokens[0].expose_secret(), "s3cret-token");
    }

    #[test]
    fn file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reconstructor.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nmax_records = 5\n[redaction]\nenabled = false\n",
        )
        .unwrap();
        #[derive(Serialize)]
        struct Flags {
            max_records: usize,
        }
        let config = Config::load(Some(&file), Flags { max_records: 7 }).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(config.max_records, 7, "flags win over the file");
        assert!(!config.redaction.enabled);
    }

    #[test]
    fn errors_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listen = \"nonsense\"\n").unwrap();
        let err = Config::load(Some(&file), NoOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");

        std::fs::write(&file, "no_such_setting = 1\n").unwrap();
        let err = Config::load(Some(&file), NoOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("no_such_setting"), "{err}");

        #[derive(Serialize)]
        struct Url {
            database_url: &'static str,
        }
        let err = Config::load(
            None,
            Url {
                database_url: "mysql://x",
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("database_url"), "{err}");
        assert!(
            Config::load(Some(Path::new("/nonexistent.toml")), NoOverrides::default()).is_err()
        );
    }

    #[test]
    fn redacted_url_is_readable() {
        let url = DatabaseUrl::new("postgres://app:s3cr%3Ct@db.internal:5433/reconstructor");
        let shown = url.redacted();
        assert_eq!(
            shown,
            "postgres://app:<redacted>@db.internal:5433/reconstructor"
        );
        assert!(!shown.contains("s3cr") && !shown.contains("%3C"));
        assert_eq!(format!("{url:?}"), shown);
        let no_password = DatabaseUrl::new("postgres://app@db.internal/reconstructor");
        assert_eq!(
            no_password.redacted(),
            "postgres://app@db.internal/reconstructor"
        );
    }

    #[test]
    fn token_file_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# producers\nalpha\n\n  beta  \n").unwrap();
        #[derive(Serialize)]
        struct Flags {
            ingest_token_file: PathBuf,
        }
        let config = Config::load(
            None,
            Flags {
                ingest_token_file: file,
            },
        )
        .unwrap();
        let tokens: Vec<_> = config
            .ingest_tokens
            .iter()
            .map(|t| t.expose_secret())
            .collect();
        assert_eq!(tokens, ["alpha", "beta"]);
    }
}
