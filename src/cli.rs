//! The command line: subcommands, each with the flags it uses (each flag also read from its
//! `RECONSTRUCTOR_*` environment variable). The flags and variables are handed to
//! [`Config::load`] as the top layer over the optional TOML file; this module only parses, and
//! [`crate::startup`] does the work.
//!
//! The `[default: …]` in each help text is the value of [`Config::default`]; a test keeps the
//! two in line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use figment::Figment;
use figment::providers::Serialized;
use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::config::{Config, ConfigError, LogFormat};
use crate::startup::ExportFormat;

/// Receives mirrored HTTP traffic, discovers API endpoints and reconstructs OpenAPI specs.
#[derive(Debug, Parser)]
#[command(name = "reconstructor", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Rebuild the endpoint catalog from stored exchanges (with the current rules and merge), then
    /// exit. Stored exchanges are read without a lock; ingest for a host waits only while its new
    /// catalog is written.
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
    /// Load and validate the configuration (file, environment and the `serve` flags given here),
    /// print it with secrets hidden, and exit: 0 when it is valid, 2 when it is not. Nothing is
    /// started and the database is not contacted.
    CheckConfig(Box<ServeArgs>),
    /// Print what changed between two recorded revisions of a host's document, then exit.
    Diff {
        /// The host key (`api.example.com`, `api.example.com:8443`).
        #[arg(long, value_name = "HOST")]
        host: String,
        /// The older revision.
        #[arg(long, value_name = "N")]
        from: i64,
        /// The newer revision.
        #[arg(long, value_name = "M")]
        to: i64,
    },
}

/// Settings every subcommand uses: where the configuration and the database are, and logging.
/// `None` / empty means "not given here", so lower layers apply.
#[derive(Debug, Args, Serialize)]
struct CommonArgs {
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

    /// Directory for the embedded SQLite database [default: data].
    #[arg(
        long,
        global = true,
        env = "RECONSTRUCTOR_DATA_DIR",
        value_name = "DIR"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,

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

    #[command(flatten)]
    database: DatabaseArgs,
}

/// `[database]`.
#[derive(Debug, Args, Serialize)]
struct DatabaseArgs {
    /// postgres:// or sqlite:// URL (also read from DATABASE_URL) [default: the SQLite file
    /// reconstructor.db in the data directory].
    #[arg(
        id = "database_url",
        long = "database-url",
        global = true,
        env = "RECONSTRUCTOR_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,

    /// Maximum pooled database connections [default: 10].
    #[arg(
        id = "database_max_connections",
        long = "database-max-connections",
        global = true,
        env = "RECONSTRUCTOR_DATABASE_MAX_CONNECTIONS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<u32>,

    /// Connections kept open when idle [default: 0].
    #[arg(
        id = "database_min_connections",
        long = "database-min-connections",
        global = true,
        env = "RECONSTRUCTOR_DATABASE_MIN_CONNECTIONS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    min_connections: Option<u32>,

    /// How long to wait for a database connection before answering 503 [default: 5s].
    #[arg(
        id = "database_acquire_timeout",
        long = "database-acquire-timeout",
        global = true,
        env = "RECONSTRUCTOR_DATABASE_ACQUIRE_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    acquire_timeout: Option<humantime::Duration>,
}

/// The server's own settings.
#[derive(Debug, Default, Args, Serialize)]
struct ServeArgs {
    /// Address to listen on [default: 0.0.0.0:8090].
    #[arg(long, env = "RECONSTRUCTOR_LISTEN", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,

    /// PEM certificate chain: serve HTTPS in-process (re-read on SIGHUP).
    #[arg(long, env = "RECONSTRUCTOR_TLS_CERT", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "RECONSTRUCTOR_TLS_KEY", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,

    /// Time allowed for in-flight requests at shutdown [default: 20s].
    #[arg(long, env = "RECONSTRUCTOR_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    shutdown_timeout: Option<humantime::Duration>,

    /// Longest a new connection may take to send its first request head [default: 10s].
    #[arg(
        long,
        env = "RECONSTRUCTOR_HEADER_READ_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    header_read_timeout: Option<humantime::Duration>,

    /// Longest a connection may stay open between requests [default: 60s].
    #[arg(long, env = "RECONSTRUCTOR_IDLE_TIMEOUT", value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    idle_timeout: Option<humantime::Duration>,

    /// Most client connections open at once; past it the one idle longest is closed
    /// [default: 10000].
    #[arg(long, env = "RECONSTRUCTOR_MAX_CONNECTIONS", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,

    /// Requests served on one connection before the client is asked to reconnect
    /// [default: 10000].
    #[arg(
        long,
        env = "RECONSTRUCTOR_MAX_REQUESTS_PER_CONNECTION",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_requests_per_connection: Option<u64>,

    /// Largest request body accepted, after decompression, in bytes or with a unit (8MiB)
    /// [default: 8388608].
    #[arg(long, env = "RECONSTRUCTOR_MAX_BODY_BYTES", value_name = "SIZE", value_parser = crate::model::size::parse)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<usize>,

    /// Most records accepted in one request [default: 10000].
    #[arg(long, env = "RECONSTRUCTOR_MAX_RECORDS", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_records: Option<usize>,

    /// Bytes kept of each request/response body; the rest is cut and flagged [default: 1048576].
    #[arg(long, env = "RECONSTRUCTOR_MAX_STORED_BODY_BYTES", value_name = "SIZE", value_parser = crate::model::size::parse)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_stored_body_bytes: Option<usize>,

    /// Bytes of request bodies held in memory at once, across requests [default: 67108864].
    #[arg(long, env = "RECONSTRUCTOR_MAX_INFLIGHT_BODY_BYTES", value_name = "SIZE", value_parser = crate::model::size::parse)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_inflight_body_bytes: Option<usize>,

    /// Token producers must send (repeatable; comma-separated in the environment).
    #[arg(
        long = "ingest-token",
        env = "RECONSTRUCTOR_INGEST_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingest_tokens: Vec<String>,

    /// File with one ingest token per line.
    #[arg(long, env = "RECONSTRUCTOR_INGEST_TOKEN_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    ingest_token_file: Option<PathBuf>,

    /// Token required on the read routes (repeatable; comma-separated in the environment).
    #[arg(
        long = "read-token",
        env = "RECONSTRUCTOR_READ_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    read_tokens: Vec<String>,

    /// File with one read token per line.
    #[arg(long, env = "RECONSTRUCTOR_READ_TOKEN_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    read_token_file: Option<PathBuf>,

    /// TOML file of `[[webhooks]]` subscriptions (kept apart because it holds secrets).
    #[arg(long, env = "RECONSTRUCTOR_WEBHOOKS_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks_file: Option<PathBuf>,

    /// Proxy address or CIDR whose X-Forwarded-For is trusted (repeatable; comma-separated in
    /// the environment).
    #[arg(long = "trusted-proxy", env = "RECONSTRUCTOR_TRUSTED_PROXIES",
          value_name = "CIDR", value_delimiter = ',', value_parser = parse_net)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<IpNet>,

    /// Redact secrets from stored traffic [default: true]. Turning it off stores credentials.
    #[arg(long, env = "RECONSTRUCTOR_REDACTION", value_name = "BOOL")]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "as_redaction"
    )]
    redaction: Option<bool>,

    #[command(flatten)]
    #[serde(rename = "database")]
    serve_database: ServeDatabaseArgs,

    #[command(flatten)]
    commit: CommitArgs,

    #[command(flatten)]
    storage: StorageArgs,
}

/// `[storage]`.
#[derive(Debug, Default, Args, Serialize)]
struct StorageArgs {
    /// Delete exchanges received longer ago than this, e.g. 30d (at least 1h) [default: keep
    /// forever].
    #[arg(
        id = "storage_retention",
        long = "retention",
        env = "RECONSTRUCTOR_RETENTION",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    retention: Option<humantime::Duration>,

    /// What is stored of each exchange: `full` (headers and bodies of all), or `sampled`
    /// (headers and bodies of a bounded sample per endpoint and status, of errors and of new
    /// response shapes; the metadata of the rest) [default: full].
    #[arg(
        id = "storage_exchanges",
        long = "store-exchanges",
        env = "RECONSTRUCTOR_STORE_EXCHANGES",
        value_name = "POLICY",
        value_parser = ["full", "sampled"]
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    exchanges: Option<String>,

    /// Most disk the database may use, e.g. 50GiB (at least 64MiB): beyond it the oldest
    /// exchanges are deleted [default: no limit].
    #[arg(
        id = "storage_disk_budget",
        long = "disk-budget",
        env = "RECONSTRUCTOR_DISK_BUDGET",
        value_name = "SIZE",
        value_parser = crate::model::size::parse
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    disk_budget: Option<usize>,
}

/// The part of `[database]` only `serve` uses.
#[derive(Debug, Default, Args, Serialize)]
struct ServeDatabaseArgs {
    /// Apply migrations when `serve` starts [default: true].
    #[arg(long, env = "RECONSTRUCTOR_MIGRATE_ON_START", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    migrate_on_start: Option<bool>,
}

/// `[commit]`.
#[derive(Debug, Default, Args, Serialize)]
struct CommitArgs {
    /// Most records per group commit [default: 2000].
    #[arg(
        id = "commit_max_records",
        long = "commit-max-records",
        env = "RECONSTRUCTOR_COMMIT_MAX_RECORDS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_records: Option<usize>,

    /// How long a group commit waits for more records [default: 2ms].
    #[arg(
        id = "commit_max_delay",
        long = "commit-max-delay",
        env = "RECONSTRUCTOR_COMMIT_MAX_DELAY",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    max_delay: Option<humantime::Duration>,

    /// Longest a request waits for its commit before answering 503 [default: 15s].
    #[arg(
        id = "commit_timeout",
        long = "commit-timeout",
        env = "RECONSTRUCTOR_COMMIT_TIMEOUT",
        value_name = "DURATION"
    )]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_display")]
    timeout: Option<humantime::Duration>,

    /// Records queued for commit beyond which requests get 503 [default: 50000].
    #[arg(
        id = "queue_max_records",
        long = "queue-max-records",
        env = "RECONSTRUCTOR_QUEUE_MAX_RECORDS",
        value_name = "N"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_max_records: Option<usize>,

    /// Bytes queued for commit beyond which requests get 503 [default: 67108864].
    #[arg(
        id = "queue_max_bytes",
        long = "queue-max-bytes",
        env = "RECONSTRUCTOR_QUEUE_MAX_BYTES",
        value_name = "SIZE",
        value_parser = crate::model::size::parse
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_max_bytes: Option<usize>,
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

/// A subcommand with its configuration, ready for [`crate::startup`].
#[derive(Debug)]
enum Parsed {
    Serve(Config),
    Migrate(Config),
    Reprocess(Config, Option<String>),
    Export(Config, String, ExportFormat, Option<PathBuf>),
    Diff(Config, String, i64, i64),
    CheckConfig(Result<Config, ConfigError>),
}

impl Cli {
    /// Parses the process's arguments; no subcommand means `serve` (with its flags read from
    /// the environment).
    fn from_env() -> Cli {
        let cli = <Cli as Parser>::parse();
        if cli.command.is_some() {
            return cli;
        }
        <Cli as Parser>::parse_from(std::env::args_os().chain(["serve".into()]))
    }

    /// Merges the file, environment and flags into a validated [`Config`].
    fn load(mut self) -> Result<Parsed, ConfigError> {
        // DATABASE_URL is the name most tools and platforms set; ours wins when both are set.
        if self.common.database.url.is_none() {
            self.common.database.url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        }
        let file = self.common.config.clone();
        let common = &self.common;
        let load = |serve: &ServeArgs| {
            let overrides =
                Figment::from(Serialized::defaults(common)).merge(Serialized::defaults(serve));
            Config::load_from(file.as_deref(), overrides)
        };
        let none = ServeArgs::default();
        Ok(
            match self
                .command
                .unwrap_or_else(|| Command::Serve(Box::default()))
            {
                Command::Serve(args) => Parsed::Serve(load(&args)?),
                Command::CheckConfig(args) => Parsed::CheckConfig(load(&args)),
                Command::Migrate => Parsed::Migrate(load(&none)?),
                Command::Reprocess { host } => Parsed::Reprocess(load(&none)?, host),
                Command::Export { host, format, out } => {
                    Parsed::Export(load(&none)?, host, format, out)
                }
                Command::Diff { host, from, to } => Parsed::Diff(load(&none)?, host, from, to),
            },
        )
    }
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let parsed = match Cli::from_env().load() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("reconstructor: {e}");
            return ExitCode::from(2);
        }
    };
    if let Parsed::CheckConfig(result) = parsed {
        return crate::startup::check_config(result);
    }
    let config = match &parsed {
        Parsed::Serve(c)
        | Parsed::Migrate(c)
        | Parsed::Reprocess(c, _)
        | Parsed::Export(c, ..)
        | Parsed::Diff(c, ..) => c,
        Parsed::CheckConfig(_) => unreachable!("handled above"),
    };
    crate::startup::init_logging(config);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
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
        match parsed {
            Parsed::Serve(config) => crate::startup::run(config).await,
            Parsed::Migrate(config) => crate::startup::migrate(config).await,
            Parsed::Reprocess(config, host) => crate::startup::reprocess(config, host).await,
            Parsed::Export(config, host, format, out) => {
                crate::startup::export(config, host, format, out).await
            }
            Parsed::CheckConfig(_) => Ok(()),
            Parsed::Diff(config, host, from, to) => {
                crate::startup::diff(config, host, from, to).await
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every subcommand with the flags it takes, as `--help` lists them.
    fn commands() -> Vec<(Option<String>, clap::Command)> {
        let mut root = Cli::command();
        root.build();
        let mut all = vec![(None, root.clone())];
        for sub in root.get_subcommands() {
            all.push((Some(sub.get_name().to_owned()), sub.clone()));
        }
        all
    }

    /// A flag's `[default: …]` is what [`Config::default`] holds: giving that value explicitly
    /// changes nothing.
    #[test]
    fn help_defaults_are_the_config_defaults() {
        let baseline = format!("{:?}", Config::load(None, serde_json::json!({})).unwrap());
        let mut checked = 0;
        for (sub, command) in commands() {
            for arg in command.get_arguments() {
                let Some(help) = arg.get_help().map(|h| h.to_string()) else {
                    continue;
                };
                let Some(default) = help
                    .split("[default: ")
                    .nth(1)
                    .and_then(|rest| rest.split(']').next())
                else {
                    continue;
                };
                let Some(long) = arg.get_long() else { continue };
                // Defaults described in words rather than as a value.
                if default.contains(' ') {
                    continue;
                }
                let mut argv = vec!["reconstructor".to_owned()];
                argv.extend(sub.clone());
                // What the subcommand requires besides the flag under test.
                let required: &[&str] = match sub.as_deref() {
                    Some("export") => &["--host", "h"],
                    Some("diff") => &["--host", "h", "--from", "1", "--to", "2"],
                    _ => &[],
                };
                argv.extend(required.iter().map(|a| (*a).to_owned()));
                argv.push(format!("--{long}"));
                argv.push(default.to_owned());
                let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let config = match cli.load() {
                    Ok(Parsed::Serve(c) | Parsed::Migrate(c) | Parsed::Reprocess(c, _)) => c,
                    Ok(Parsed::Export(c, ..) | Parsed::Diff(c, ..)) => c,
                    Ok(Parsed::CheckConfig(c)) => c.unwrap(),
                    Err(e) => panic!("{argv:?}: {e}"),
                };
                assert_eq!(
                    format!("{config:?}"),
                    baseline,
                    "--{long}'s help says [default: {default}], which is not Config::default()"
                );
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} defaults checked");
    }

    /// Each subcommand lists only what it uses.
    #[test]
    fn subcommands_take_their_own_flags() {
        let flags = |name: &str| -> Vec<String> {
            let (_, command) = commands()
                .into_iter()
                .find(|(sub, _)| sub.as_deref() == Some(name))
                .unwrap();
            command
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect()
        };
        let migrate = flags("migrate");
        assert!(migrate.contains(&"database-url".to_owned()), "{migrate:?}");
        assert!(!migrate.contains(&"listen".to_owned()), "{migrate:?}");
        assert!(
            !migrate.contains(&"commit-max-records".to_owned()),
            "{migrate:?}"
        );
        let serve = flags("serve");
        for flag in [
            "listen",
            "database-url",
            "commit-max-records",
            "ingest-token",
        ] {
            assert!(serve.contains(&flag.to_owned()), "{flag}: {serve:?}");
        }
        assert!(!flags("export").contains(&"listen".to_owned()));
    }

    #[test]
    fn a_disk_budget_takes_units_and_a_floor() {
        let load = |budget: &str| {
            Cli::try_parse_from(["reconstructor", "serve", "--disk-budget", budget])
                .map_err(|e| e.to_string())
                .and_then(|cli| cli.load().map_err(|e| e.to_string()))
        };
        let Ok(Parsed::Serve(config)) = load("50GiB") else {
            panic!("serve")
        };
        assert_eq!(
            config.storage.disk_budget,
            Some(bytesize::ByteSize::gib(50))
        );
        match load("1MiB") {
            Err(err) => assert!(err.contains("storage.disk_budget"), "{err}"),
            Ok(_) => panic!("a budget below the floor was accepted"),
        }
        assert!(load("lots").is_err());
    }

    #[test]
    fn sizes_take_units_on_the_command_line() {
        let cli =
            Cli::try_parse_from(["reconstructor", "serve", "--max-body-bytes", "2MiB"]).unwrap();
        let Ok(Parsed::Serve(config)) = cli.load() else {
            panic!("serve")
        };
        assert_eq!(config.max_body_bytes, 2 * 1024 * 1024);
        assert!(
            Cli::try_parse_from(["reconstructor", "serve", "--max-body-bytes", "2 parsecs"])
                .is_err()
        );
    }
}
