//! `refreshbench`: what a classifier refresh costs on a large catalog, read whole or only for
//! what changed.
//!
//! Starts Reconstructor in process (SQLite in a temporary directory, or `--database-url`) with
//! its background merges off, creates `--endpoints` literal endpoints over `--hosts` hosts, then
//! times `Discovery::refresh`: the first one (every host read), one with nothing changed, one
//! after new literal endpoints, one after a new template with a parameter, and one after a fold.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use reconstructor::discovery::catalog::Classifier;
use reconstructor::discovery::job::Discovery;
use reconstructor::model::catalog::Fold;
use reconstructor_bench::{InProcess, post_akto};

/// Times classifier refreshes on a large catalog.
#[derive(Debug, Parser)]
#[command(name = "refreshbench", version)]
struct Args {
    /// Endpoints created.
    #[arg(long, default_value_t = 200_000)]
    endpoints: usize,
    /// Hosts they are spread over.
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// A postgres:// URL to use instead of a temporary SQLite file.
    #[arg(long)]
    database_url: Option<String>,
}

/// A word-like name for `i`: letters only, so that every path stays a literal endpoint.
fn name(mut i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "nu", "pe", "ra", "so", "ti", "va", "ze", "bo", "du", "fi", "ge", "hu",
        "jo",
    ];
    let mut out = String::new();
    loop {
        out.push_str(SYLLABLES[i % 16]);
        i /= 16;
        if i == 0 {
            return out;
        }
    }
}

fn record(host: &str, path: &str) -> wire::akto::Record {
    wire::akto::Record::new("GET", format!("https://{host}{path}"))
        .with_mirroring_defaults()
        .with_response_headers(wire::Headers::from_pairs([(
            "content-type",
            "application/json",
        )]))
        .with_response_payload("{}")
        .with_time(1_763_700_000)
        .with_status(200, "OK")
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server = InProcess::start(args.database_url.clone(), |config| {
        config.discovery.merge_interval = Duration::from_secs(24 * 3600);
        config.discovery.refresh_interval = Duration::from_secs(24 * 3600);
    })
    .await?;
    let client = reqwest::Client::new();
    let mut out = std::io::stdout().lock();
    let host = |i: usize| format!("h{}.refresh.example", name(i));
    let started = Instant::now();
    let all: Vec<usize> = (0..args.endpoints).collect();
    for chunk in all.chunks(1_000) {
        let records: Vec<_> = chunk
            .iter()
            .map(|i| record(&host(i % args.hosts), &format!("/{}/detail", name(*i))))
            .collect();
        post_akto(&client, &server.base, &records).await?;
    }
    writeln!(
        out,
        "created {} endpoints over {} hosts in {:.1?}",
        args.endpoints,
        args.hosts,
        started.elapsed()
    )?;

    let store = reconstructor::startup::connect(&server.config).await?;
    let discovery = Discovery::new(
        &server.config.discovery,
        store.clone(),
        Arc::new(Classifier::new(server.config.discovery.host_rules())),
    )
    .with_refresh_lookback(Duration::ZERO);
    let timed = async |what: &str, out: &mut std::io::StdoutLock<'_>| -> anyhow::Result<()> {
        let started = Instant::now();
        let report = discovery.refresh().await?;
        writeln!(
            out,
            "{what}: {:.1?} ({})",
            started.elapsed(),
            if report.full {
                "every host read".to_owned()
            } else {
                format!("{} hosts read again", report.reloaded.len())
            }
        )?;
        Ok(())
    };
    timed("first refresh", &mut out).await?;
    timed("nothing changed", &mut out).await?;
    let fresh: Vec<_> = (0..100)
        .map(|i| record(&host(i), &format!("/{}/fresh", name(i))))
        .collect();
    post_akto(&client, &server.base, &fresh).await?;
    timed("after 100 new literal endpoints", &mut out).await?;
    post_akto(&client, &server.base, &[record(&host(0), "/orders/12345")]).await?;
    timed("after a new template with a parameter", &mut out).await?;
    let folds: Vec<Fold> = (0..10)
        .map(|i| Fold {
            method: "GET".into(),
            from: format!("/{}/detail", name(i * args.hosts)),
            to: "/{name}/detail".into(),
        })
        .collect();
    store.fold_endpoints(&host(0), &folds).await?;
    timed("after a fold", &mut out).await?;
    store.close().await;
    server.stop().await
}

fn main() -> anyhow::Result<()> {
    reconstructor_bench::block_on(run(Args::parse()))
}
