//! `diskbench`: the disk that stored exchanges take, per storage policy.
//!
//! For each policy (`full`, `sampled`) it starts Reconstructor in process over a fresh database
//! (a SQLite file in a temporary directory, or a new database on the Postgres server of
//! `--database-url`), posts `--exchanges` realistic exchanges (JSON API calls over `--endpoints`
//! endpoints, about 1 KB of response body, a few errors), and measures the database's size
//! before and after: on Postgres the exchange partitions (tables, indexes and TOAST) and the
//! whole database, on SQLite the file once its write-ahead log is checkpointed. It prints the
//! bytes per exchange and the gigabytes per million exchanges.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use reconstructor::store::ExchangePolicy;
use reconstructor_bench::{InProcess, post_akto};
use serde_json::json;

/// Measures the disk use per stored exchange of each storage policy.
#[derive(Debug, Parser)]
#[command(name = "diskbench", version)]
struct Args {
    /// Exchanges posted per policy.
    #[arg(long, default_value_t = 200_000)]
    exchanges: usize,
    /// Endpoints they are spread over (`/api/v1/<resource>/{id}`, GET and POST).
    #[arg(long, default_value_t = 100)]
    endpoints: usize,
    /// Records per request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// A postgres:// URL whose role may create databases (one per policy, dropped after);
    /// without it, SQLite files in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
}

const RESOURCES: [&str; 10] = [
    "orders",
    "customers",
    "invoices",
    "products",
    "shipments",
    "tickets",
    "accounts",
    "payments",
    "devices",
    "reports",
];

fn record(i: usize, endpoints: usize, rng: &mut fastrand::Rng) -> wire::akto::Record {
    let resource = i % endpoints;
    let name = RESOURCES[resource % RESOURCES.len()];
    let id = rng.u32(1..1_000_000);
    let post = resource % 4 == 3;
    let path = format!("/api/v1/{name}{}/{id}", resource / RESOURCES.len());
    let status = match rng.u32(0..1000) {
        0..5 => 500,
        5..15 => 404,
        _ => 200,
    };
    let items: Vec<serde_json::Value> = (0..6)
        .map(|k| {
            json!({
                "id": rng.u32(..), "sku": format!("SKU-{:06}", rng.u32(..1_000_000)),
                "quantity": rng.u8(1..20), "price": f64::from(rng.u32(100..100_000)) / 100.0,
                "note": if k % 2 == 0 { "gift wrap" } else { "" },
            })
        })
        .collect();
    let response = if status == 200 {
        json!({
            "id": id, "status": "active", "created_at": "2026-12-07T08:00:00Z",
            "owner": {"id": rng.u32(..), "email": format!("user{}@example.com", rng.u32(..))},
            "items": items, "total": f64::from(rng.u32(..1_000_000)) / 100.0, "currency": "EUR",
        })
    } else {
        json!({"error": {"code": status, "message": "not available"}})
    };
    let request = if post {
        json!({"quantity": rng.u8(1..9), "comment": "please deliver before noon"}).to_string()
    } else {
        String::new()
    };
    wire::akto::Record::new(
        if post { "POST" } else { "GET" },
        format!("https://disk.example{path}"),
    )
    .with_mirroring_defaults()
    .with_request_headers(wire::Headers::from_pairs([
        ("accept", "application/json"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        ),
        (
            "authorization",
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
        ),
        ("x-request-id", "9d2f1c2e-6c1b-4e0a-a6a4-0c4b1d7e8f90"),
        ("accept-encoding", "gzip, br"),
    ]))
    .with_response_headers(wire::Headers::from_pairs([
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("x-ratelimit-remaining", "4999"),
        ("date", "Mon, 07 Dec 2026 08:00:00 GMT"),
    ]))
    .with_request_payload(&request)
    .with_response_payload(response.to_string())
    .with_ip("198.51.100.9")
    .with_time(1_763_700_000)
    .with_status(status, "OK")
}

/// A fresh database for one run: its URL, and how to drop it after.
async fn fresh_database(admin: &str, policy: ExchangePolicy) -> anyhow::Result<String> {
    use sqlx::Connection as _;
    let name = format!("diskbench_{}_{}", policy.as_str(), std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("drop database if exists {name}"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await?;
    let mut url = reqwest::Url::parse(admin)?;
    url.set_path(&name);
    Ok(url.to_string())
}

async fn drop_database(admin: &str, url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let name = reqwest::Url::parse(url)?
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// `(exchange partitions, whole database)` in bytes.
async fn postgres_size(url: &str) -> anyhow::Result<(i64, i64)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("checkpoint").execute(&mut conn).await.ok();
    let (exchanges, database): (Option<i64>, i64) = sqlx::query_as(
        "select (select sum(pg_total_relation_size(i.inhrelid))::bigint from pg_inherits i \
           where i.inhparent = 'exchanges'::regclass), pg_database_size(current_database())",
    )
    .fetch_one(&mut conn)
    .await?;
    Ok((exchanges.unwrap_or(0), database))
}

/// The SQLite file's size once its log is checkpointed into it.
async fn sqlite_size(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    sqlx::query("pragma wal_checkpoint(truncate)")
        .execute(&mut conn)
        .await?;
    let path = url.trim_start_matches("sqlite://");
    Ok(std::fs::metadata(path)?.len() as i64)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| store | policy | exchanges | stored whole | exchange tables | database | bytes per exchange | GB per million | ingest rate |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for policy in [ExchangePolicy::Full, ExchangePolicy::Sampled] {
        let url = match &args.database_url {
            Some(admin) => Some(fresh_database(admin, policy).await?),
            None => None,
        };
        let server = InProcess::start(url.clone(), |config| {
            config.storage.exchanges = policy;
            config.discovery.merge_interval = std::time::Duration::from_secs(5);
        })
        .await?;
        let db_url = server.config.database_url().expose().to_owned();
        let before = match &url {
            Some(url) => postgres_size(url).await?,
            None => (0, sqlite_size(&db_url).await?),
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let started = Instant::now();
        let mut posted = 0;
        while posted < args.exchanges {
            let n = args.batch.min(args.exchanges - posted);
            let records: Vec<_> = (posted..posted + n)
                .map(|i| record(i, args.endpoints, &mut rng))
                .collect();
            post_akto(&client, &server.base, &records).await?;
            posted += n;
        }
        let rate = args.exchanges as f64 / started.elapsed().as_secs_f64();
        let whole = count_whole(&db_url).await?;
        // Measured while the server runs: its temporary directory goes when it stops.
        let (store, tables, database) = match &url {
            Some(url) => {
                let after = postgres_size(url).await?;
                ("Postgres", after.0 - before.0, after.1 - before.1)
            }
            None => {
                let after = sqlite_size(&db_url).await?;
                ("SQLite", after - before.1, after - before.1)
            }
        };
        server.stop().await?;
        let per = database as f64 / args.exchanges as f64;
        writeln!(
            out,
            "| {store} | {} | {} | {:.1} % | {:.1} MiB | {:.1} MiB | {per:.0} | {:.2} | {rate:.0}/s |",
            policy.as_str(),
            args.exchanges,
            100.0 * whole as f64 / args.exchanges as f64,
            tables as f64 / 1_048_576.0,
            database as f64 / 1_048_576.0,
            per * 1e6 / 1e9,
        )?;
        if let (Some(admin), Some(url)) = (&args.database_url, &url) {
            drop_database(admin, url).await?;
        }
    }
    Ok(())
}

/// Exchanges stored whole.
async fn count_whole(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection as _;
    let query = "select count(*) from exchanges where whole";
    let (n,): (i64,) = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_as(query).fetch_one(&mut conn).await?
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_as(query).fetch_one(&mut conn).await?
    };
    Ok(n)
}

fn main() -> anyhow::Result<()> {
    reconstructor_bench::block_on(async { run(Args::parse()).await.context("diskbench") })
}
