//! Typed configuration: built-in defaults, then an optional TOML file, then `RECONSTRUCTOR_*`
//! environment variables, then command-line flags — each layer overriding the one before.
//!
//! Everything is validated once, at start-up, so a bad setting stops the process with a message
//! that names it instead of surfacing later as a confusing runtime error. Secrets (the database
//! password, tokens) are wrapped so that `Debug` output and logs never show them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::changes::settings::{ChangesConfig, WebhookSubscription};
use crate::discovery::settings::DiscoverySettings;
use crate::ingest::IngestSettings;
use crate::ingest::redact::RedactionConfig;
use crate::ingest::writer::{CommitSettings, writers_for};
use crate::store::{Backend, DatabaseSettings, DatabaseUrl, StorageSettings};

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
    #[serde(deserialize_with = "crate::model::size::deserialize")]
    pub max_body_bytes: usize,
    /// Largest number of records accepted in one request.
    pub max_records: usize,
    /// Bytes of request bodies held in memory at once across all requests; beyond it requests
    /// get 503 instead of growing memory.
    #[serde(deserialize_with = "crate::model::size::deserialize")]
    pub max_inflight_body_bytes: usize,
    /// Bytes of each request or response body kept per exchange; the rest is cut and flagged.
    #[serde(deserialize_with = "crate::model::size::deserialize")]
    pub max_stored_body_bytes: usize,
    /// Tokens producers must present on the ingest routes; empty means the routes are open.
    pub ingest_tokens: Vec<SecretString>,
    /// A file with one ingest token per line, added to `ingest_tokens`.
    pub ingest_token_file: Option<PathBuf>,
    /// Tokens required on the read (query) routes; empty means they are open.
    pub read_tokens: Vec<SecretString>,
    /// A file with one read token per line, added to `read_tokens`.
    pub read_token_file: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` / `X-Real-IP` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// What is redacted from stored traffic.
    pub redaction: RedactionConfig,
    /// `[database]`: where exchanges are stored, and the pool.
    pub database: DatabaseSettings,
    /// `[commit]`: group commit and the queue in front of it.
    pub commit: CommitSettings,
    /// `[storage]`: how long exchanges are kept.
    pub storage: StorageSettings,
    /// `[discovery]`: merge schedule and per-host rules.
    pub discovery: DiscoverySettings,
    /// Notes for the operator found while loading (renamed keys), logged once logging is set up.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Change tracking: revisions, drift and webhook delivery (`[changes]`).
    pub changes: ChangesConfig,
    /// Webhook subscriptions (`[[webhooks]]`).
    pub webhooks: Vec<WebhookSubscription>,
    /// A TOML file of further `[[webhooks]]` (a mounted Secret, say), added to `webhooks`.
    pub webhooks_file: Option<PathBuf>,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            data_dir: PathBuf::from("data"),
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
            trusted_proxies: Vec::new(),
            redaction: RedactionConfig::default(),
            database: DatabaseSettings::default(),
            commit: CommitSettings::default(),
            storage: StorageSettings::default(),
            discovery: DiscoverySettings::default(),
            warnings: Vec::new(),
            changes: ChangesConfig::default(),
            webhooks: Vec::new(),
            webhooks_file: None,
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
    #[error("invalid setting `{setting}`{}: {reason}", formerly(setting))]
    Invalid {
        /// The setting's key as written in the file (`max_body_bytes`, `database.url`).
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        reason: reason.into(),
    }
}

impl Config {
    /// Layers the sources and validates the result.
    ///
    /// `overrides` holds the environment and flags (clap merges those two); it wins over the
    /// file, which wins over the defaults.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        Self::load_from(file, Serialized::defaults(overrides))
    }

    /// [`Config::load`] with the overrides given as a provider (the command line's layers).
    pub fn load_from(
        file: Option<&Path>,
        overrides: impl figment::Provider,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        let mut warnings = Vec::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(invalid(
                    "config",
                    format!("file {} does not exist", file.display()),
                ));
            }
            let mut table: Dict = Figment::from(Toml::file(file))
                .extract()
                .map_err(Box::new)?;
            warnings = move_renamed_keys(&mut table)?;
            figment = if warnings.is_empty() {
                // Kept as a file provider, so that errors name the file.
                figment.merge(Toml::file(file))
            } else {
                figment.merge(Serialized::defaults(table))
            };
        }
        let mut config: Config = figment.merge(overrides).extract().map_err(Box::new)?;
        config.warnings = warnings;
        config.read_token_files()?;
        config.validate()?;
        Ok(config)
    }

    /// What the ingestor takes from the configuration.
    pub fn ingest_settings(&self) -> IngestSettings {
        IngestSettings {
            redaction: self.redaction.clone(),
            max_records: self.max_records,
            max_stored_body_bytes: self.max_stored_body_bytes,
            commit: self.commit,
            writers: writers_for(self.database_url().backend().unwrap_or(Backend::Sqlite)),
            exchanges: self.storage.exchanges,
        }
    }

    /// The database URL in effect: the configured one, else the SQLite file under `data_dir`.
    pub fn database_url(&self) -> DatabaseUrl {
        self.database.url_or_default(&self.data_dir)
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
        if let Some(path) = &self.webhooks_file {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct WebhooksFile {
                #[serde(default)]
                webhooks: Vec<WebhookSubscription>,
            }
            let file: WebhooksFile = Figment::new()
                .merge(Toml::file_exact(path))
                .extract()
                .map_err(|e| invalid("webhooks_file", format!("{}: {e}", path.display())))?;
            self.webhooks.extend(file.webhooks);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.discovery
            .validate()
            .map_err(|(key, reason)| invalid(format!("discovery.{key}"), reason))?;
        self.database
            .validate(&self.data_dir)
            .map_err(|(key, reason)| invalid(format!("database.{key}"), reason))?;
        self.commit
            .validate()
            .map_err(|(key, reason)| invalid(format!("commit.{key}"), reason))?;
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
        self.validate_changes()?;
        for (setting, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if timeout.is_zero() {
                return Err(invalid(setting, "must be longer than zero"));
            }
        }
        if self
            .storage
            .retention
            .is_some_and(|r| r < StorageSettings::MIN_RETENTION)
        {
            return Err(invalid(
                "storage.retention",
                "must be at least 1h (or unset to keep exchanges forever)",
            ));
        }
        if self
            .storage
            .disk_budget
            .is_some_and(|b| b < StorageSettings::MIN_DISK_BUDGET)
        {
            return Err(invalid(
                "storage.disk_budget",
                "must be at least 64MiB (or unset for no limit)",
            ));
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

/// Keys that moved into sections, with their new place: a file that still uses the old name
/// keeps working, and the operator is told the new one.
const RENAMED_KEYS: &[(&str, &str, &str)] = &[
    ("database_url", "database", "url"),
    ("database_max_connections", "database", "max_connections"),
    ("database_min_connections", "database", "min_connections"),
    ("database_acquire_timeout", "database", "acquire_timeout"),
    ("migrate_on_start", "database", "migrate_on_start"),
    ("commit_max_records", "commit", "max_records"),
    ("commit_max_delay", "commit", "max_delay"),
    ("commit_timeout", "commit", "timeout"),
    ("queue_max_records", "commit", "queue_max_records"),
    ("queue_max_bytes", "commit", "queue_max_bytes"),
];

/// For a key that moved into a section, its old name, so that an error names the setting in the
/// words of the file it comes from.
fn formerly(setting: &str) -> String {
    RENAMED_KEYS
        .iter()
        .find(|(_, section, key)| {
            setting
                .strip_prefix(*section)
                .and_then(|k| k.strip_prefix('.'))
                == Some(*key)
        })
        .map(|(old, _, _)| format!(" (formerly `{old}`)"))
        .unwrap_or_default()
}

/// Moves the old flat keys of `table` to their sections; returns a note per key moved. A key
/// given under both names is refused rather than guessed.
fn move_renamed_keys(table: &mut Dict) -> Result<Vec<String>, ConfigError> {
    let mut notes = Vec::new();
    for (old, section, key) in RENAMED_KEYS {
        let Some(value) = table.remove(*old) else {
            continue;
        };
        let entry = table
            .entry((*section).to_owned())
            .or_insert_with(|| Value::from(Dict::new()));
        let Value::Dict(_, dict) = entry else {
            return Err(invalid(*section, "must be a table"));
        };
        if dict.contains_key(*key) {
            return Err(invalid(
                *old,
                format!("was renamed to `{section}.{key}`, which is set too: remove `{old}`"),
            ));
        }
        dict.insert((*key).to_owned(), value);
        notes.push(format!(
            "configuration key `{old}` is now `{key}` in the [{section}] section; the old name still works"
        ));
    }
    Ok(notes)
}

impl Config {
    fn validate_changes(&self) -> Result<(), ConfigError> {
        let changes = &self.changes;
        for (setting, value) in [
            ("changes.interval", changes.interval),
            ("changes.webhook_timeout", changes.webhook_timeout),
            ("changes.webhook_backoff", changes.webhook_backoff),
            (
                "changes.webhook_poll_interval",
                changes.webhook_poll_interval,
            ),
        ] {
            if value.is_zero() {
                return Err(invalid(setting, "must be longer than zero"));
            }
        }
        if changes.webhook_backoff_max < changes.webhook_backoff {
            return Err(invalid(
                "changes.webhook_backoff_max",
                "must be at least changes.webhook_backoff",
            ));
        }
        if changes.max_revisions == 0 {
            return Err(invalid("changes.max_revisions", "must be at least 1"));
        }
        if changes.webhook_max_attempts == 0 {
            return Err(invalid(
                "changes.webhook_max_attempts",
                "must be at least 1",
            ));
        }
        let mut urls = std::collections::BTreeSet::new();
        for (i, subscription) in self.webhooks.iter().enumerate() {
            let url = url::Url::parse(&subscription.url).map_err(|e| {
                invalid("webhooks", format!("#{i}: url `{}`: {e}", subscription.url))
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid(
                    "webhooks",
                    format!(
                        "#{i}: url `{}` must be http:// or https://",
                        subscription.url
                    ),
                ));
            }
            if !urls.insert(subscription.url.as_str()) {
                return Err(invalid(
                    "webhooks",
                    format!(
                        "#{i}: url `{}` is subscribed twice; list its events in one entry",
                        subscription.url
                    ),
                ));
            }
            for event in &subscription.events {
                if !crate::changes::webhook::EVENT_TYPES.contains(&event.as_str()) {
                    return Err(invalid(
                        "webhooks",
                        format!(
                            "#{i}: unknown event `{event}`; expected one of {}",
                            crate::changes::webhook::EVENT_TYPES.join(", ")
                        ),
                    ));
                }
            }
            crate::changes::webhook::secret_key(subscription.secret.expose_secret())
                .map_err(|e| invalid("webhooks", format!("#{i}: secret {e}")))?;
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
            config.database_url().expose(),
            "sqlite://data/reconstructor.db"
        );
        assert_eq!(config.database_url().backend(), Some(Backend::Sqlite));
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
        struct Database {
            url: &'static str,
        }
        #[derive(Serialize)]
        struct Url {
            database: Database,
        }
        let err = Config::load(
            None,
            Url {
                database: Database { url: "mysql://x" },
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

    #[test]
    fn sections_and_sizes_with_units() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reconstructor.toml");
        std::fs::write(
            &file,
            "max_body_bytes = \"16MiB\"\n[database]\nurl = \"postgres://u:p@db/r\"\nmax_connections = 4\n\
             [commit]\nmax_delay = \"5ms\"\nqueue_max_bytes = \"128 MiB\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), NoOverrides::default()).unwrap();
        assert_eq!(config.max_body_bytes, 16 * 1024 * 1024);
        assert_eq!(config.database.max_connections, 4);
        assert_eq!(config.database_url().backend(), Some(Backend::Postgres));
        assert_eq!(config.commit.max_delay, Duration::from_millis(5));
        assert_eq!(config.commit.queue_max_bytes, 128 * 1024 * 1024);
        assert!(config.warnings.is_empty());

        std::fs::write(&file, "max_body_bytes = \"sixteen\"\n").unwrap();
        let err = Config::load(Some(&file), NoOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("max_body_bytes"), "{err}");
    }

    #[test]
    fn renamed_keys_keep_working() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.toml");
        std::fs::write(
            &file,
            "database_url = \"postgres://u:p@db/r\"\ncommit_max_records = 17\nqueue_max_bytes = 1048576\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), NoOverrides::default()).unwrap();
        assert_eq!(config.database_url().backend(), Some(Backend::Postgres));
        assert_eq!(config.commit.max_records, 17);
        assert_eq!(config.commit.queue_max_bytes, 1024 * 1024);
        assert_eq!(config.warnings.len(), 3, "{:?}", config.warnings);
        assert!(
            config.warnings[0].contains("`url` in the [database] section"),
            "{:?}",
            config.warnings
        );

        // Flags still win over the file's old key.
        #[derive(Serialize)]
        struct Commit {
            max_records: usize,
        }
        #[derive(Serialize)]
        struct Flags {
            commit: Commit,
        }
        let config = Config::load(
            Some(&file),
            Flags {
                commit: Commit { max_records: 5 },
            },
        )
        .unwrap();
        assert_eq!(config.commit.max_records, 5);

        std::fs::write(
            &file,
            "commit_max_records = 17\n[commit]\nmax_records = 18\n",
        )
        .unwrap();
        let err = Config::load(Some(&file), NoOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("commit.max_records"), "{err}");
    }

    #[test]
    fn errors_name_the_old_key_of_a_moved_setting() {
        let err = invalid("database.url", "bad");
        assert_eq!(
            err.to_string(),
            "invalid setting `database.url` (formerly `database_url`): bad"
        );
        assert_eq!(
            invalid("listen", "bad").to_string(),
            "invalid setting `listen`: bad"
        );
    }
}
