//! Shared test harness: a real server on port 0 over a fresh database per test.
//!
//! SQLite tests always run. Postgres tests run when `TEST_DATABASE_URL` points at a server
//! whose role may create databases; each test gets a database of its own. Without it they are
//! skipped and counted by the [`harness`], or fail when `CI` is set.
#![allow(dead_code, unreachable_pub)]

pub mod harness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use reconstructor::config::{Config, LogFormat};
use reconstructor::startup::Application;
use reconstructor::store::DatabaseUrl;
use tokio::sync::oneshot;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Takes SQLite's write lock from a second connection, as another process would; the lock is
/// held until [`SqliteLock::release`].
#[derive(Debug)]
pub struct SqliteLock(sqlx::SqliteConnection);

impl SqliteLock {
    pub async fn take(database: &TestDatabase) -> Self {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(database.url.expose())
            .await
            .expect("second SQLite connection");
        sqlx::Executor::execute(&mut conn, "begin exclusive")
            .await
            .expect("exclusive lock");
        SqliteLock(conn)
    }

    pub async fn release(mut self) {
        sqlx::Executor::execute(&mut self.0, "rollback")
            .await
            .expect("lock released");
    }
}

/// The admin URL for Postgres tests, when `TEST_DATABASE_URL` is set. Whether a test may skip
/// without it is the harness's decision ([`harness::Need::Postgres`]).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the test databases of runs that have ended (their process is gone), once per run, so
/// that repeated runs do not pile databases up on a developer's server.
async fn sweep_databases(admin: &str) {
    let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await else {
        return;
    };
    let names: Vec<(String,)> = sqlx::query_as(
        "select datname from pg_database where datname like 'reconstructor\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_none_or(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let drop = format!("drop database if exists {name} with (force)");
            let _ = sqlx::Executor::execute(&mut conn, drop.as_str()).await;
        }
    }
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "reconstructor_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub db: Db,
    /// Holds the SQLite file (and the data directory) until the test ends.
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    /// Runs `statement` from a connection of its own, as another process would.
    pub async fn execute(&self, statement: &str) {
        let url = self.url.expose();
        match self.db {
            Db::Postgres => {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                    .await
                    .expect("a Postgres connection");
                sqlx::Executor::execute(&mut conn, statement)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            Db::Sqlite => {
                let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
                    .await
                    .expect("a SQLite connection");
                sqlx::Executor::execute(&mut conn, statement)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
        }
    }

    /// The rows `query` returns, read from a connection of its own.
    pub async fn rows<T>(&self, query: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let url = self.url.expose();
        let rows = match self.db {
            Db::Postgres => {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                    .await
                    .expect("a Postgres connection");
                sqlx::query_as(query).fetch_all(&mut conn).await
            }
            Db::Sqlite => {
                let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
                    .await
                    .expect("a SQLite connection");
                sqlx::query_as(query).fetch_all(&mut conn).await
            }
        };
        rows.unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    pub async fn new(db: Db) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Db::Postgres => {
                let admin = postgres_admin_url().expect("Postgres tests need TEST_DATABASE_URL");
                let name = unique_name();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                SWEPT.get_or_init(|| sweep_databases(&admin)).await;
                sqlx::Executor::execute(&mut conn, format!("create database {name}").as_str())
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                url.to_string()
            }
        };
        Self {
            url: DatabaseUrl::new(url),
            db,
            dir,
        }
    }

    /// A configuration for a server on 127.0.0.1:0 over this database.
    pub fn config(&self) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: self.dir.path().to_path_buf(),
            database: reconstructor::store::DatabaseSettings {
                url: Some(self.url.clone()),
                ..Default::default()
            },
            log_format: LogFormat::Text,
            log_level: std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()),
            ..Config::default()
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Starts a server over a fresh database of kind `db`, with `tweak` applied to its config.
    pub async fn spawn(db: Db, tweak: impl FnOnce(&mut Config)) -> Self {
        let database = TestDatabase::new(db).await;
        let mut config = database.config();
        tweak(&mut config);
        Self::spawn_with(database, config).await
    }

    pub async fn spawn_with(database: TestDatabase, config: Config) -> Self {
        reconstructor::startup::init_logging(&config);
        let app = Application::build(config)
            .await
            .expect("application starts");
        let addr = app.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            database,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Posts a JSON body (given as text, sent byte for byte).
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// The id of each API endpoint of `host`, by path.
    pub async fn endpoint_ids(&self, host: &str) -> std::collections::BTreeMap<String, i64> {
        let (_, body) = self.get_json(&format!("/api/hosts/{host}/endpoints")).await;
        body["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_owned(),
                    e["id"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server exits cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The shared sample payloads (beside the repository, in `../shared/reference/samples`).
pub fn sample(name: &str) -> String {
    let path = samples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples")
}

/// A TCP relay in front of Postgres that can be switched off (cutting every connection) and on
/// again: a database outage without touching the shared server.
pub struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Relay {
    /// A relay to the Postgres server behind `database`.
    pub async fn start(database: &TestDatabase) -> Relay {
        let real = url::Url::parse(database.url.expose()).unwrap();
        let target = format!(
            "{}:{}",
            real.host_str().unwrap(),
            real.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused-ish
                }
                let target = target.clone();
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Relay { port, up, cut }
    }

    /// The database's URL, through the relay.
    pub fn database_url(&self, database: &TestDatabase) -> DatabaseUrl {
        let mut relayed = url::Url::parse(database.url.expose()).unwrap();
        relayed.set_host(Some("127.0.0.1")).unwrap();
        relayed.set_port(Some(self.port)).unwrap();
        DatabaseUrl::new(relayed.to_string())
    }

    /// Cuts every connection and refuses new ones.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    /// Lets connections through again.
    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// One Akto `batchData` record as Akto's Cloudflare Worker sends it (built with the wire
/// crate's model), observed at 2025-11-21T04:40:00Z.
pub fn akto_record(
    method: &str,
    url: &str,
    request_headers: &[(&str, &str)],
    request_body: &str,
    status: u16,
    response_content_type: &str,
    response_body: &str,
) -> serde_json::Value {
    let record = wire::akto::Record::new(method, url)
        .with_mirroring_defaults()
        .with_request_headers(wire::Headers::from_pairs(request_headers.iter().copied()))
        .with_response_headers(wire::Headers::from_pairs([(
            "content-type",
            response_content_type,
        )]))
        .with_request_payload(request_body)
        .with_response_payload(response_body)
        .with_ip("198.51.100.7")
        .with_time(1_763_700_000)
        .with_status(status, "OK");
    serde_json::to_value(record).expect("a record serialises")
}
