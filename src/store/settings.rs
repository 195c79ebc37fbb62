//! Which database, and how the pool talks to it: the `[database]` section of the configuration,
//! with its defaults defined here, next to the code that uses them.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The storage backends Reconstructor can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The production store.
    Postgres,
    /// The embedded zero-setup store.
    Sqlite,
}

impl Backend {
    /// The backend's name, as logs, metrics and `/readyz` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A database URL whose password never appears in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL; [`DatabaseSettings::validate`] checks it.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The SQLite file `reconstructor.db` under `data_dir`: the zero-setup default.
    pub fn sqlite_in(data_dir: &Path) -> Self {
        Self(format!(
            "sqlite://{}",
            data_dir.join("reconstructor.db").display()
        ))
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

/// The `[database]` section: where exchanges are stored, and the pool's sizing, explicit so that
/// behaviour under load is a choice, not a library default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://` or `sqlite://` URL; `None` means the SQLite file under the data directory.
    pub url: Option<DatabaseUrl>,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long a caller waits for a pooled connection before getting
    /// [`super::StoreError::Unavailable`] (the server answers 503).
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Whether `serve` applies pending migrations before it listens.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            migrate_on_start: true,
        }
    }
}

impl DatabaseSettings {
    /// The URL in effect: the configured one, else the SQLite file under `data_dir`.
    pub fn url_or_default(&self, data_dir: &Path) -> DatabaseUrl {
        match &self.url {
            Some(url) => url.clone(),
            None => DatabaseUrl::sqlite_in(data_dir),
        }
    }

    /// The first unacceptable setting, as `(key within [database], reason)`.
    pub fn validate(&self, data_dir: &Path) -> Result<(), (&'static str, String)> {
        let url = self.url_or_default(data_dir);
        if url.backend().is_none() {
            return Err((
                "url",
                format!("`{url}` is neither a postgres:// nor a sqlite:// URL"),
            ));
        }
        if self.max_connections == 0 {
            return Err(("max_connections", "must be at least 1".to_owned()));
        }
        if self.min_connections > self.max_connections {
            return Err((
                "min_connections",
                "must not exceed database.max_connections".to_owned(),
            ));
        }
        if self.acquire_timeout.is_zero() {
            return Err(("acquire_timeout", "must be longer than zero".to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn backends_by_scheme() {
        assert_eq!(
            DatabaseUrl::new("postgresql://x/y").backend(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            DatabaseUrl::sqlite_in(Path::new("data")).backend(),
            Some(Backend::Sqlite)
        );
        assert_eq!(DatabaseUrl::new("mysql://x").backend(), None);
    }
}

/// The `[storage]` section: what is kept of each exchange, and for how long.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Exchanges received longer ago than this are deleted by the periodic maintenance (hourly,
    /// and once at start). `None` keeps them forever. The catalog's counts, the endpoint
    /// summaries and the spec revisions are kept whatever the age of the traffic behind them.
    #[serde(with = "humantime_serde")]
    pub retention: Option<Duration>,
    /// What is stored of each exchange.
    pub exchanges: ExchangePolicy,
    /// Most disk the database may use. Checked every minute: while the database is larger, the
    /// oldest exchanges are deleted (whole days on Postgres, an hour's worth at a time on
    /// SQLite), never the current day's on Postgres nor the last hour's on SQLite. Like the
    /// retention, it keeps the catalog's counts, the summaries and the spec revisions. `None`
    /// sets no limit.
    pub disk_budget: Option<bytesize::ByteSize>,
}

/// What is stored of each exchange (`[storage] exchanges`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangePolicy {
    /// Every exchange whole: headers and bodies.
    #[default]
    Full,
    /// Headers and bodies of a bounded sample per endpoint and status (the exchanges read into
    /// the endpoint summaries), of errors (status 400 and above; a bounded number per endpoint
    /// and status, and per ten seconds) and of every response of a shape not seen before on its
    /// endpoint; the metadata of every other exchange (times, method, path, query, status,
    /// content types, body sizes, endpoint). Counts stay exact.
    Sampled,
}

impl ExchangePolicy {
    /// The policy's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangePolicy::Full => "full",
            ExchangePolicy::Sampled => "sampled",
        }
    }
}

impl StorageSettings {
    /// The shortest retention accepted: anything shorter is more likely a missing unit than a
    /// wish to keep nothing.
    pub const MIN_RETENTION: Duration = Duration::from_secs(3600);

    /// The smallest disk budget accepted: below it the catalog alone may not fit.
    pub const MIN_DISK_BUDGET: bytesize::ByteSize = bytesize::ByteSize::mib(64);
}
