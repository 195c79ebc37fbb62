//! `foldbench`: what a large fold costs, and what ingest sees while it runs.
//!
//! Starts Reconstructor in process (SQLite in a temporary directory, or `--database-url`) with
//! its background merges off, stores `--exchanges` exchanges spread over `--endpoints` literal
//! endpoints of one host, then keeps posting `--batch`-record Akto batches, every other one to
//! that host (whose lock the fold takes) and the rest to other hosts, while it folds every
//! endpoint of the first host into two templates in one `Store::fold_endpoints` call. It reports
//! the fold's duration and the latency and status of every ingest request that overlapped it.
//! With `--operation reprocess` the host's catalog is rebuilt instead (as a rules change does).

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use reconstructor::discovery::catalog::Classifier;
use reconstructor::discovery::job::Discovery;
use reconstructor::model::catalog::Fold;
use reconstructor_bench::{InProcess, percentile};
use serde_json::json;

const HOST: &str = "fold.example";

const ADJECTIVES: [&str; 25] = [
    "amber", "brisk", "coral", "dusty", "eager", "fancy", "giant", "happy", "icy", "jolly", "kind",
    "lucky", "merry", "noble", "olive", "proud", "quick", "rapid", "sunny", "tidy", "urban",
    "vivid", "witty", "young", "zesty",
];

const NOUNS: [&str; 40] = [
    "apple", "bridge", "candle", "desert", "engine", "forest", "garden", "harbor", "island",
    "jacket", "kettle", "ladder", "meadow", "needle", "orchard", "pencil", "quarry", "river",
    "saddle", "tunnel", "valley", "window", "yard", "anchor", "basket", "castle", "dragon",
    "feather", "glacier", "helmet", "lantern", "mirror", "nest", "oyster", "palace", "rocket",
    "shadow", "throne", "violin", "wagon",
];

/// Folds a host with many endpoints while ingest runs, and reports both.
#[derive(Debug, Parser)]
#[command(name = "foldbench", version)]
struct Args {
    /// Endpoints folded (two per name: `/<name>` and `/<name>/summary`, at most 2,000).
    #[arg(long, default_value_t = 2000)]
    endpoints: usize,
    /// Exchanges stored for them before the fold.
    #[arg(long, default_value_t = 500_000)]
    exchanges: usize,
    /// Records per ingest request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// A postgres:// URL to use instead of a temporary SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// `fold` (one `Store::fold_endpoints` call), or `reprocess` (the host's catalog rebuilt
    /// from its stored exchanges, as a rules change does).
    #[arg(long, default_value = "fold", value_parser = ["fold", "reprocess"])]
    operation: String,
}

fn record(host: &str, path: &str) -> wire::akto::Record {
    wire::akto::Record::new("GET", format!("https://{host}{path}"))
        .with_mirroring_defaults()
        .with_request_headers(wire::Headers::from_pairs([("accept", "application/json")]))
        .with_response_headers(wire::Headers::from_pairs([(
            "content-type",
            "application/json",
        )]))
        .with_request_payload("")
        .with_response_payload(r#"{"ok":true}"#)
        .with_ip("198.51.100.9")
        .with_time(1_763_700_000)
        .with_status(200, "OK")
}

/// The literal paths folded: `/<adjective>-<noun>` and `/<adjective>-<noun>/summary`.
fn paths(endpoints: usize) -> Vec<String> {
    ADJECTIVES
        .iter()
        .flat_map(|a| NOUNS.iter().map(move |n| format!("/{a}-{n}")))
        .flat_map(|name| [name.clone(), format!("{name}/summary")])
        .take(endpoints)
        .collect()
}

async fn post(client: &reqwest::Client, base: &str, records: &[wire::akto::Record]) -> u16 {
    match client
        .post(format!("{base}/api/ingestData"))
        .header("content-type", "application/json")
        .body(json!({"batchData": records}).to_string())
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// One ingest request during the run: when it started and ended, and its status.
struct Sample {
    start: Instant,
    end: Instant,
    status: u16,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server = InProcess::start(args.database_url.clone(), |config| {
        // The fold is made here, once, at a known moment.
        config.discovery.merge_interval = Duration::from_secs(24 * 3600);
    })
    .await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let mut out = std::io::stdout().lock();

    let paths = paths(args.endpoints);
    let started = Instant::now();
    let mut stored = 0;
    while stored < args.exchanges {
        let n = args.batch.min(args.exchanges - stored);
        let records: Vec<_> = (stored..stored + n)
            .map(|i| record(HOST, &paths[i % paths.len()]))
            .collect();
        let status = post(&client, &base, &records).await;
        if status != 200 {
            bail!("loading answered {status}");
        }
        stored += n;
    }
    writeln!(
        out,
        "stored {stored} exchanges over {} endpoints in {:.1?}",
        paths.len(),
        started.elapsed()
    )?;

    // Ingest of other hosts, back to back, until told to stop.
    let running = Arc::new(AtomicBool::new(true));
    let ingest = tokio::spawn({
        let running = running.clone();
        let client = client.clone();
        let base = base.clone();
        let batch = args.batch;
        let paths = paths.clone();
        async move {
            let mut samples = Vec::new();
            let mut round = 0usize;
            while running.load(Ordering::Relaxed) {
                // Every other request goes to the host being folded, whose lock the fold takes.
                let records: Vec<_> = if round.is_multiple_of(2) {
                    (0..batch)
                        .map(|i| record(HOST, &paths[(round * batch + i) % paths.len()]))
                        .collect()
                } else {
                    let host = format!("ingest{}.example", round % 50);
                    (0..batch)
                        .map(|i| record(&host, &format!("/things/{}", i % 20)))
                        .collect()
                };
                let start = Instant::now();
                let status = post(&client, &base, &records).await;
                samples.push(Sample {
                    start,
                    end: Instant::now(),
                    status,
                });
                round += 1;
            }
            samples
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;

    let store = reconstructor::startup::connect(&server.config).await?;
    let folds: Vec<Fold> = paths
        .iter()
        .map(|path| Fold {
            method: "GET".into(),
            from: path.clone(),
            to: if path.ends_with("/summary") {
                "/{name}/summary".into()
            } else {
                "/{name}".into()
            },
        })
        .collect();
    let fold_start = Instant::now();
    let done = if args.operation == "reprocess" {
        let discovery = Discovery::new(
            &server.config.discovery,
            store.clone(),
            Arc::new(Classifier::new(server.config.discovery.host_rules())),
        );
        let report = discovery.reprocess(HOST).await?;
        format!(
            "reprocess of {} exchanges into {} endpoints (the host's lock held {:.1?})",
            report.exchanges, report.endpoints, report.locked
        )
    } else {
        let folded = store.fold_endpoints(HOST, &folds).await?;
        format!("fold of {folded} endpoints into 2 over {stored} exchanges")
    };
    let fold_end = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    let samples = ingest.await?;
    store.close().await;

    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.end >= fold_start && s.start <= fold_end)
        .collect();
    let summary = |samples: &[&Sample]| {
        let mut times: Vec<Duration> = samples.iter().map(|s| s.end - s.start).collect();
        times.sort();
        let failed = samples.iter().filter(|s| s.status != 200).count();
        format!(
            "{} requests, {failed} not 200, latency p50 {:.1?}, p99 {:.1?}, max {:.1?}",
            samples.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default()
        )
    };
    writeln!(out, "{done}: {:.1?}", fold_end - fold_start)?;
    writeln!(
        out,
        "ingest ({}-record batches) overlapping the {}: {}",
        args.batch,
        args.operation,
        summary(&during)
    )?;
    writeln!(
        out,
        "ingest over the whole run ({:.1?}): {}",
        samples
            .last()
            .map(|s| s.end - samples[0].start)
            .unwrap_or_default(),
        summary(&samples.iter().collect::<Vec<_>>())
    )?;
    server.stop().await
}

fn main() -> anyhow::Result<()> {
    reconstructor_bench::block_on(run(Args::parse()))
}
