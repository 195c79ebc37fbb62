//! `specbench`: how long a host's OpenAPI document takes to render, end to end.
//!
//! Starts Reconstructor in process (SQLite in a temporary directory, or `--database-url`), posts
//! traffic for a host with `--endpoints` endpoints over real HTTP (several exchanges each, with
//! JSON bodies, query parameters and credentials), then fetches
//! `GET /api/hosts/{host}/openapi.json` repeatedly and reports the median, p90 and slowest time.
//! The document is built from the stored endpoint summaries, never from raw traffic, so the time
//! depends on the number of endpoints, not on the number of exchanges.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use reconstructor_bench::{InProcess, percentile, post_akto};
use serde_json::{Value, json};

const HOST: &str = "bench.example";

const ADJECTIVES: [&str; 25] = [
    "red", "blue", "green", "fast", "slow", "small", "large", "quiet", "loud", "bright", "dark",
    "warm", "cold", "early", "late", "rich", "plain", "sharp", "soft", "hard", "fresh", "old",
    "young", "wild", "calm",
];

const NOUNS: [&str; 40] = [
    "orders",
    "invoices",
    "payments",
    "customers",
    "accounts",
    "products",
    "carts",
    "reviews",
    "tickets",
    "messages",
    "threads",
    "files",
    "folders",
    "teams",
    "projects",
    "tasks",
    "events",
    "alerts",
    "reports",
    "metrics",
    "devices",
    "sensors",
    "routes",
    "stops",
    "trips",
    "drivers",
    "vehicles",
    "shipments",
    "parcels",
    "warehouses",
    "stores",
    "coupons",
    "plans",
    "seats",
    "rooms",
    "bookings",
    "guests",
    "hosts",
    "listings",
    "photos",
];

/// Renders the OpenAPI document of a host with many endpoints and reports how long it takes.
#[derive(Debug, Parser)]
#[command(name = "specbench", version)]
struct Args {
    /// Endpoints of the host (two per resource: the collection and one item).
    #[arg(long, default_value_t = 1000)]
    endpoints: usize,
    /// Exchanges posted per endpoint.
    #[arg(long, default_value_t = 5)]
    exchanges: usize,
    /// Timed renders.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// A postgres:// URL to use instead of a temporary SQLite file.
    #[arg(long)]
    database_url: Option<String>,
}

fn record(method: &str, path: &str, body: &Value, authorized: bool) -> wire::akto::Record {
    let mut headers = vec![("host", HOST), ("accept", "application/json")];
    if authorized {
        headers.push(("authorization", "Bearer k9fJ2LqX8pZr"));
    }
    wire::akto::Record::new(method, format!("https://{HOST}{path}"))
        .with_mirroring_defaults()
        .with_request_headers(wire::Headers::from_pairs(headers))
        .with_response_headers(wire::Headers::from_pairs([(
            "content-type",
            "application/json",
        )]))
        .with_request_payload("")
        .with_response_payload(body.to_string())
        .with_ip("198.51.100.7")
        .with_time(1_763_700_000)
        .with_status(200, "OK")
}

fn item(resource: &str, id: usize) -> Value {
    let status = ["open", "closed", "pending"][id % 3];
    json!({
        "id": id,
        "name": format!("{resource} {id}"),
        "created_at": "2026-11-20T10:00:00Z",
        "owner": {"id": id % 97, "email": format!("u{id}@example.com"), "active": id.is_multiple_of(2)},
        "tags": ["a", "b"],
        "amount": (id as f64) * 1.5,
        "status": status,
        "note": if id.is_multiple_of(4) { Value::Null } else { json!("n") },
    })
}

/// The traffic: for each resource, its collection (with `page` and `limit`) and its items.
fn traffic(endpoints: usize, per_endpoint: usize) -> Vec<wire::akto::Record> {
    let mut out = Vec::new();
    let resources = endpoints.div_ceil(2);
    'outer: for (i, (adjective, noun)) in ADJECTIVES
        .iter()
        .flat_map(|a| NOUNS.iter().map(move |n| (a, n)))
        .enumerate()
    {
        if i >= resources {
            break 'outer;
        }
        let resource = format!("{adjective}-{noun}");
        for k in 0..per_endpoint {
            let list =
                json!({"items": [item(&resource, k), item(&resource, k + 1)], "next": k + 2});
            out.push(record(
                "GET",
                &format!("/{resource}?page={k}&limit=20"),
                &list,
                !k.is_multiple_of(5),
            ));
            let id = 1000 + i * 100 + k;
            out.push(record(
                "GET",
                &format!("/{resource}/{id}"),
                &item(&resource, id),
                true,
            ));
        }
    }
    out
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server = InProcess::start(args.database_url.clone(), |_| {}).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();

    let records = traffic(args.endpoints, args.exchanges);
    let started = Instant::now();
    for chunk in records.chunks(500) {
        post_akto(&client, &base, chunk).await?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "posted {} exchanges in {:.1?}",
        records.len(),
        started.elapsed()
    )?;

    let url = format!("{base}/api/hosts/{HOST}/openapi.json");
    let first = client.get(&url).send().await?.error_for_status()?;
    let document: Value = first.json().await.context("reading the document")?;
    let paths = document["paths"].as_object().map_or(0, |p| p.len());
    let operations: usize = document["paths"].as_object().map_or(0, |p| {
        p.values()
            .map(|item| item.as_object().map_or(0, |o| o.len()))
            .sum()
    });
    let size = serde_json::to_vec(&document)?.len();

    let mut times = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        let bytes = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        times.push(started.elapsed());
        std::hint::black_box(bytes);
    }
    times.sort();
    writeln!(
        out,
        "host {HOST}: {paths} paths, {operations} operations, document {:.1} KiB",
        size as f64 / 1024.0
    )?;
    writeln!(
        out,
        "GET /api/hosts/{HOST}/openapi.json over {} runs: median {:.1?}, p90 {:.1?}, max {:.1?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times[times.len() - 1]
    )?;
    server.stop().await
}

fn main() -> anyhow::Result<()> {
    reconstructor_bench::block_on(run(Args::parse()))
}
