//! The command line: subcommands, and one flag per setting (each also read from its
//! `RECONSTRUCTOR_*` environment variable). Flags and variables are handed to [`Config::load`]
//! as the top layer over the optional TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::config::{Config, LogFormat};

/// Receives mirrored HTTP traffic, discovers API endpoints and reconstructs OpenAPI specs.
#[derive(Debug, Parser)]
#[command(name = "reconstructor", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default when no subcommand is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Rebuild the endpoint catalog from stored exchanges (with the current rules and merge), then
    /// exit. Ingest for a host waits while that host is rebuilt.
    Reprocess {
        /// Only this host key (`api.example.com`, `api.example.com:8443`); every host when
        /// omitted.
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },
    /// Write the OpenAPI 3.1 document reconstructed for one host, then exit.
    Export {
        /// The host key (`api.example.com`, `api.example.com:8443`).
        #[arg(long, value_name = "HOST")]
        host: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Every setting as a flag. `None` / empty means "not given here", so lower layers apply.
#[derive(Debug, Args, Serialize)]
struct Settings {
    /// TOML configuration file (the layer between built-in defaults and the environment).
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "RECONSTRUCTOR_CONFIG",
        value_name = "FILE"
    )]
    #[serde(skip)]
    config: Option<PathBuf>,

    /// Address to listen on [default: 0.0.0.0:8090].
    #[arg(long, global = true, env = "RECONSTRUCTOR_LISTEN", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,

    /// Directory for the embedded SQLite database [default: ./data].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATA_DIR",
        value_name = "DIR"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,

    /// postgres:// or sqlite:// URL (also read from DATABASE_URL) [default: sqlite file in the
    /// data directory].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,

    /// Maximum pooled database connections [default: 10].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATABASE_MAX_CONNECTIONS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_max_connections: Option<u32>,

    /// Connections kept open when idle [default: 0].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATABASE_MIN_CONNECTIONS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_min_connections: Option<u32>,

    /// How long to wait for a database connection before answering 503 [default: 5s].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATABASE_ACQUIRE_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    database_acquire_timeout: Option<humantime::Duration>,

    /// Apply migrations when `serve` starts [default: true].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MIGRATE_ON_START",
        value_name = "BOOL"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    migrate_on_start: Option<bool>,

    /// PEM certificate chain: serve HTTPS in-process (re-read on SIGHUP).
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_TLS_CERT",
        value_name = "FILE"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_TLS_KEY",
        value_name = "FILE"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,

    /// Log format [default: auto — text on a terminal, JSON otherwise].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,

    /// Log filter, e.g. `info` or `reconstructor=debug` [default: info].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_LOG_LEVEL",
        value_name = "FILTER"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<String>,

    /// Time allowed for in-flight requests at shutdown [default: 20s].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_SHUTDOWN_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    shutdown_timeout: Option<humantime::Duration>,

    /// Longest a new connection may take to send its first request head [default: 10s].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_HEADER_READ_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    header_read_timeout: Option<humantime::Duration>,

    /// Longest a connection may stay open between requests [default: 60s].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_IDLE_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    idle_timeout: Option<humantime::Duration>,

    /// Most client connections open at once; past it the one idle longest is closed
    /// [default: 10000].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_CONNECTIONS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,

    /// Requests served on one connection before the client is asked to reconnect
    /// [default: 10000].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_REQUESTS_PER_CONNECTION",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_requests_per_connection: Option<u64>,

    /// Largest request body accepted, after decompression [default: 8388608].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_BODY_BYTES",
        value_name = "BYTES"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<usize>,

    /// Most records accepted in one request [default: 10000].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_RECORDS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_records: Option<usize>,

    /// Bytes kept of each request/response body; the rest is cut and flagged [default: 1048576].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_STORED_BODY_BYTES",
        value_name = "BYTES"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_stored_body_bytes: Option<usize>,

    /// Bytes of request bodies held in memory at once, across requests [default: 67108864].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_MAX_INFLIGHT_BODY_BYTES",
        value_name = "BYTES"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_inflight_body_bytes: Option<usize>,

    /// Most records per group commit [default: 2000].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_COMMIT_MAX_RECORDS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_max_records: Option<usize>,

    /// How long a group commit waits for more records [default: 2ms].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_COMMIT_MAX_DELAY",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    commit_max_delay: Option<humantime::Duration>,

    /// Longest a request waits for its commit before answering 503 [default: 15s].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_COMMIT_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    commit_timeout: Option<humantime::Duration>,

    /// Records queued for commit beyond which requests get 503 [default: 50000].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_QUEUE_MAX_RECORDS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_max_records: Option<usize>,

    /// Bytes queued for commit beyond which requests get 503 [default: 67108864].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_QUEUE_MAX_BYTES",
        value_name = "BYTES"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_max_bytes: Option<usize>,

    /// Token producers must send (repeatable; comma-separated in the environment).
    #[arg(
        long = "ingest-token",
        global = true,
        env = "RECONSTRUCTOR_INGEST_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingest_tokens: Vec<String>,

    /// File with one ingest token per line.
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_INGEST_TOKEN_FILE",
        value_name = "FILE"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    ingest_token_file: Option<PathBuf>,

    /// Token required on the read routes (repeatable; comma-separated in the environment).
    #[arg(
        long = "read-token",
        global = true,
        env = "RECONSTRUCTOR_READ_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    read_tokens: Vec<String>,

    /// File with one read token per line.
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_READ_TOKEN_FILE",
        value_name = "FILE"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    read_token_file: Option<PathBuf>,

    /// Proxy address or CIDR whose X-Forwarded-For is trusted (repeatable; comma-separated in
    /// the environment).
    #[arg(long = "trusted-proxy", global = true, env = "RECONSTRUCTOR_TRUSTED_PROXIES",
          value_name = "CIDR", value_delimiter = ',', value_parser = parse_net)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<IpNet>,

    /// Redact secrets from stored traffic [default: true]. Turning it off stores credentials.
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_REDACTION",
        value_name = "BOOL"
    )]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "as_redaction"
    )]
    redaction: Option<bool>,
}

fn as_display<S: Serializer, T: std::fmt::Display>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_none(),
    }
}

fn as_redaction<S: Serializer>(value: &Option<bool>, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Redaction {
        enabled: Option<bool>,
    }
    Redaction { enabled: *value }.serialize(serializer)
}

/// Accepts a bare address (`10.0.0.1`) as a single-host network.
fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR network"))
}

impl Cli {
    /// Merges the file, environment and flags into a validated [`Config`].
    fn config(mut self) -> Result<(Option<Command>, Config), crate::config::ConfigError> {
        // DATABASE_URL is the name most tools and platforms set; ours wins when both are set.
        if self.settings.database_url.is_none() {
            self.settings.database_url =
                std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        }
        let config = Config::load(self.settings.config.as_deref(), &self.settings)?;
        Ok((self.command, config))
    }
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (command, config) = match cli.config() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("reconstructor: {e}");
            return ExitCode::from(2);
        }
    };
    crate::observability::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("reconstructor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command.unwrap_or(Command::Serve) {
            Command::Serve => crate::startup::run(config).await,
            Command::Migrate => crate::startup::migrate(config).await,
            Command::Reprocess { host } => crate::startup::reprocess(config, host).await,
            Command::Export { host, format, out } => {
                crate::startup::export(config, host, format, out).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "exiting");
            eprintln!("reconstructor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
