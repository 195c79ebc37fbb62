//! `mergebench`: what a discovery merge round costs on a large host, and how soon a new host's
//! endpoint list settles under the server's own background job.
//!
//! Two measurements, on the same kind of traffic: one host whose requests give `--endpoints`
//! distinct catalog endpoints before any merge (collections of handles, repositories under
//! owners, tenants with nested projects, numeric ids, UUIDs, a literal family of admin pages and
//! one of sub-resources under each database, fixed routes such as `/` and `/users/me`).
//!
//! - **Merge round.** CPU time of the cardinality merge over those endpoints, in two forms:
//!   `merge()` of the library on the host's observed endpoints (CPU time of the calling thread,
//!   `/proc/thread-self/schedstat`), and the steps of the server job's merge round over the host
//!   stored through the real ingest path (`Discovery::merge_host`: read the catalog, merge, fold;
//!   compact the endpoint summaries; refresh the classifier), each timed in CPU time of the whole
//!   process (`/proc/self/stat`),
//!   with the in-process server otherwise idle: its own merges cannot trigger, as its
//!   `min_distinct` is out of reach, and the round is run by a second `Discovery` with the
//!   default settings on the same SQLite file). Each run uses a fresh host.
//! - **Settling.** A fresh in-process server on SQLite with the default settings (merge every
//!   30 s, first merge of a new host checked every second, refresh every 10 s) receives a new
//!   host's traffic over HTTP; the endpoint list (`GET /api/hosts/{host}/endpoints`) is then read
//!   every `--poll` for `--watch`. The host is settled at the first read after which the list
//!   never changes again within the watch; the figure is that read's time after the last batch
//!   of traffic was acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use reconstructor::discovery::catalog::Classifier;
use reconstructor::discovery::job::Discovery;
use reconstructor::discovery::merge::{MergeSettings, Observed, merge};
use reconstructor::model::template::{HostRules, templatize};
use reconstructor_bench::{InProcess, percentile, post_akto};
use serde_json::Value;

/// Measures a merge round over a large host and the time until a new host settles.
#[derive(Debug, Parser)]
#[command(name = "mergebench", version)]
struct Args {
    /// Distinct catalog endpoints of the host before any merge.
    #[arg(long, default_value_t = 10_000)]
    endpoints: usize,
    /// Runs of each measurement.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Distinct catalog endpoints of the new host in the settling runs (0: as `--endpoints`).
    #[arg(long, default_value_t = 0)]
    settle_endpoints: usize,
    /// How long the endpoint list is watched after the traffic.
    #[arg(long, default_value = "40s", value_parser = humantime::parse_duration)]
    watch: Duration,
    /// Time between reads of the endpoint list.
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    poll: Duration,
    /// Records per ingest request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Skip the settling runs.
    #[arg(long)]
    no_settle: bool,
    /// Skip the merge-round runs.
    #[arg(long)]
    no_round: bool,
    /// Seed of the traffic.
    #[arg(long, default_value_t = 14)]
    seed: u64,
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ve", "zu", "ta", "ri", "no", "pe", "sa", "qui", "dor", "bel", "fen", "gar",
    "hol", "jin", "kor", "lum", "mar", "nix", "ost", "pra", "vel",
];

const WORDS: [&str; 24] = [
    "amber", "bridge", "candle", "desert", "engine", "forest", "garden", "harbor", "island",
    "jacket", "kettle", "ladder", "meadow", "needle", "orchard", "pencil", "quarry", "river",
    "saddle", "tunnel", "valley", "window", "anchor", "basket",
];

/// A handle: made-up syllables (`korvelmi`), sometimes a word pair (`amber-harbor`).
fn handle(rng: &mut fastrand::Rng) -> String {
    if rng.u8(..4) == 0 {
        return format!(
            "{}-{}",
            WORDS[rng.usize(..WORDS.len())],
            WORDS[rng.usize(..WORDS.len())]
        );
    }
    let n = rng.usize(2..5);
    (0..n)
        .map(|_| SYLLABLES[rng.usize(..SYLLABLES.len())])
        .collect()
}

/// One request of the mix: method and path.
fn request(rng: &mut fastrand::Rng, owners: &[String]) -> (&'static str, String) {
    let owner = &owners[rng.usize(..owners.len())];
    match rng.u8(..100) {
        // Fixed routes, hit again and again.
        0..=2 => ("GET", "/".to_owned()),
        3..=5 => ("GET", "/api/v1/users/me".to_owned()),
        6..=8 => ("GET", "/api/v1/users".to_owned()),
        // A literal family of admin pages.
        9..=11 => {
            let page =
                ["settings", "stats", "audit", "health", "quotas", "billing"][rng.usize(..6)];
            ("GET", format!("/api/v1/admin/{page}"))
        }
        // Users by handle, with sub-resources.
        12..=27 => {
            let user = handle(rng);
            let sub = ["", "/repos", "/followers", "/keys"][rng.usize(..4)];
            ("GET", format!("/api/v1/users/{user}{sub}"))
        }
        // Repositories under owners, nested.
        28..=59 => {
            let repo = format!(
                "{}-{}",
                handle(rng),
                ["api", "web", "cli", "docs"][rng.usize(..4)]
            );
            let (method, tail) = match rng.u8(..7) {
                0 => ("GET", String::new()),
                1 => ("GET", "/issues".to_owned()),
                2 => ("GET", format!("/issues/{}", rng.u32(1..5000))),
                3 => ("POST", "/issues".to_owned()),
                4 => ("GET", "/pulls".to_owned()),
                5 => ("GET", format!("/commits/{:040x}", rng.u128(..))),
                _ => ("GET", "/branches".to_owned()),
            };
            (method, format!("/api/v1/repos/{owner}/{repo}{tail}"))
        }
        // Tenants with projects and tasks.
        60..=74 => {
            let tenant = handle(rng);
            let project = handle(rng);
            let (method, tail) = match rng.u8(..4) {
                0 => ("GET", String::new()),
                1 => ("GET", "/tasks".to_owned()),
                2 => ("POST", "/tasks".to_owned()),
                _ => ("GET", format!("/tasks/tsk_{:012x}", rng.u64(..1 << 48))),
            };
            (
                method,
                format!("/api/v1/tenants/{tenant}/projects/{project}{tail}"),
            )
        }
        // Databases by number, with a literal family of sub-resources below each.
        75..=84 => {
            let sub = [
                "",
                "/backups",
                "/users",
                "/firewall",
                "/pools",
                "/replicas",
                "/ca",
                "/config",
            ][rng.usize(..8)];
            (
                "GET",
                format!("/api/v1/databases/{}{sub}", rng.u32(1..100_000)),
            )
        }
        // Files by UUID.
        85..=92 => {
            let method = ["GET", "DELETE"][rng.usize(..2)];
            let id = rng.u128(..);
            let uuid = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                (id >> 96) as u32,
                (id >> 80) as u16,
                (id >> 68) as u16 & 0xfff,
                (id >> 56) as u16 & 0xfff,
                id as u64 & 0xffff_ffff_ffff
            );
            (method, format!("/api/v1/files/{uuid}"))
        }
        // Orgs with teams by slug.
        _ => {
            let team = handle(rng);
            let sub = ["", "/members", "/repos"][rng.usize(..3)];
            ("GET", format!("/api/v1/orgs/{owner}/teams/{team}{sub}"))
        }
    }
}

/// Requests whose per-request templates give `endpoints` distinct catalog endpoints, each
/// endpoint requested one to three times, and those endpoints with their hits.
fn traffic(endpoints: usize, seed: u64) -> (Vec<(&'static str, String)>, Vec<Observed>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let owners: Vec<String> = (0..60).map(|_| handle(&mut rng)).collect();
    let rules = HostRules::default();
    let mut catalog: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut requests = Vec::new();
    while catalog.len() < endpoints {
        let (method, path) = request(&mut rng, &owners);
        let key = (method.to_owned(), templatize(&path, &rules).annotated());
        let fixed = !key.1.contains('{') && catalog.contains_key(&key);
        let repeats = if fixed { 1 } else { rng.usize(1..4) };
        *catalog.entry(key).or_default() += repeats as u64;
        for _ in 0..repeats {
            requests.push((method, path.clone()));
        }
    }
    rng.shuffle(&mut requests);
    let observed = catalog
        .into_iter()
        .map(|((method, template), hits)| Observed {
            method,
            template,
            hits,
            fields: None,
        })
        .collect();
    (requests, observed)
}

/// CPU time of the calling thread (`RUSAGE_THREAD`-like: `/proc/thread-self/schedstat`, in
/// nanoseconds) or of the whole process (user plus system time in `/proc/self/stat`, counted in
/// clock ticks of 10 ms, threads that exited included).
fn cpu_time(thread: bool) -> Duration {
    if thread {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let ns = text
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return Duration::from_nanos(ns);
    }
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which ends with the last `)`): state is field 3,
    // utime 14 and stime 15.
    let rest = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn record(host: &str, method: &str, path: &str) -> wire::akto::Record {
    wire::akto::Record::new(method, format!("https://{host}{path}"))
        .with_mirroring_defaults()
        .with_request_headers(wire::Headers::from_pairs([("accept", "application/json")]))
        .with_response_headers(wire::Headers::from_pairs([(
            "content-type",
            "application/json",
        )]))
        .with_request_payload("")
        .with_response_payload(r#"{"id":1,"name":"x"}"#)
        .with_ip("198.51.100.11")
        .with_time(1_763_700_000)
        .with_status(200, "OK")
}

async fn post_all(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    requests: &[(&'static str, String)],
    batch: usize,
) -> anyhow::Result<()> {
    for chunk in requests.chunks(batch.max(1)) {
        let records: Vec<wire::akto::Record> =
            chunk.iter().map(|(m, p)| record(host, m, p)).collect();
        post_akto(client, base, &records).await?;
    }
    Ok(())
}

async fn endpoints(
    client: &reqwest::Client,
    base: &str,
    host: &str,
) -> anyhow::Result<BTreeSet<(String, String)>> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url =
            format!("{base}/api/hosts/{host}/endpoints?include_non_api=true&limit=100000");
        if let Some(c) = &cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        let response = client.get(&url).send().await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(out);
        }
        let page: Value = response.error_for_status()?.json().await?;
        for e in page["endpoints"].as_array().into_iter().flatten() {
            let (Some(method), Some(path)) = (e["method"].as_str(), e["path"].as_str()) else {
                bail!("an endpoint without method or path: {e}");
            };
            out.insert((method.to_owned(), path.to_owned()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "median {:.3?}, min {:.3?}, max {:.3?} ({} runs)",
        percentile(times, 0.5),
        times.first().copied().unwrap_or_default(),
        times.last().copied().unwrap_or_default(),
        times.len()
    )
}

/// The library's `merge()` over the host's observed endpoints.
fn library_rounds(args: &Args, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let (_, observed) = traffic(args.endpoints, args.seed);
    let settings = MergeSettings::default();
    let rules = HostRules::default();
    let mut times = Vec::new();
    let mut templates = 0;
    for _ in 0..args.runs {
        let started = cpu_time(true);
        let changes = merge(&observed, &rules, &settings);
        times.push(cpu_time(true) - started);
        let renamed: BTreeMap<(&str, &str), &str> = changes
            .iter()
            .map(|(m, from, to)| ((m.as_str(), from.as_str()), to.as_str()))
            .collect();
        templates = observed
            .iter()
            .map(|o| {
                renamed
                    .get(&(o.method.as_str(), o.template.as_str()))
                    .copied()
                    .unwrap_or(&o.template)
            })
            .collect::<BTreeSet<_>>()
            .len();
        std::hint::black_box(changes);
    }
    writeln!(
        out,
        "library merge() of {} endpoints into {templates}: CPU (thread) {}",
        observed.len(),
        summary(&mut times)
    )?;
    Ok(())
}

/// `Discovery::merge_round` over the host stored through the server.
async fn server_rounds(args: &Args, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let server = InProcess::start(None, |config| {
        // The server's own job never merges: this process runs the measured rounds.
        config.discovery.min_distinct = usize::MAX / 2;
        config.discovery.merge_interval = Duration::from_secs(24 * 3600);
        config.discovery.refresh_interval = Duration::from_secs(24 * 3600);
    })
    .await?;
    let client = reqwest::Client::new();
    let mut config = server.config.clone();
    config.discovery = reconstructor::discovery::settings::DiscoverySettings::default();
    let store = reconstructor::startup::connect(&config).await?;
    let discovery = Discovery::new(
        &config.discovery,
        store.clone(),
        Arc::new(Classifier::new(config.discovery.host_rules())),
    );
    let (requests, _) = traffic(args.endpoints, args.seed);
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    let mut steps: [Vec<Duration>; 3] = Default::default();
    for run in 0..args.runs {
        let host = format!("round{run}.example");
        // The endpoint summaries, which the round compacts, are committed with the exchanges.
        post_all(&client, &server.base, &host, &requests, args.batch).await?;
        let before = store
            .host(&host)
            .await?
            .context("the host is not in the catalog")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The steps of `Discovery::merge_round` for one host, each timed.
        let started = (cpu_time(false), Instant::now());
        let folded = discovery.merge_host(&host).await?;
        let merged = cpu_time(false);
        reconstructor::discovery::summaries::compact(&*store, &host, false).await?;
        let compacted = cpu_time(false);
        discovery.refresh().await?;
        let refreshed = cpu_time(false);
        steps[0].push(merged - started.0);
        steps[1].push(compacted - merged);
        steps[2].push(refreshed - compacted);
        cpu.push(refreshed - started.0);
        wall.push(started.1.elapsed());
        let after = store.host(&host).await?.context("the host vanished")?;
        writeln!(
            out,
            "  run {run}: {} exchanges, {} endpoints before, {} after, {folded} folded, CPU {:.3?} (merge_host {:.3?}, compact {:.3?}, refresh {:.3?}), wall {:.3?}",
            before.exchanges,
            before.endpoints,
            after.endpoints,
            cpu[run],
            steps[0][run],
            steps[1][run],
            steps[2][run],
            wall[run]
        )?;
    }
    writeln!(
        out,
        "server merge round (read, merge, fold; compact the summaries; refresh): CPU (process) {}",
        summary(&mut cpu)
    )?;
    for (name, times) in ["merge_host", "compact", "refresh"].iter().zip(&mut steps) {
        writeln!(out, "  {name}: CPU {}", summary(times))?;
    }
    writeln!(out, "  wall {}", summary(&mut wall))?;
    store.close().await;
    server.stop().await
}

/// Time from the end of a new host's traffic until its endpoint list stops changing.
async fn settle_runs(args: &Args, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let size = if args.settle_endpoints == 0 {
        args.endpoints
    } else {
        args.settle_endpoints
    };
    let (requests, _) = traffic(size, args.seed + 1);
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for run in 0..args.runs {
        let server = InProcess::start(None, |_| {}).await?;
        let host = "settle.example";
        let posting = Instant::now();
        post_all(&client, &server.base, host, &requests, args.batch).await?;
        let end = Instant::now();
        let mut reads: Vec<(Duration, BTreeSet<(String, String)>)> = Vec::new();
        while end.elapsed() < args.watch {
            let list = endpoints(&client, &server.base, host).await?;
            reads.push((end.elapsed(), list));
            tokio::time::sleep(args.poll).await;
        }
        server.stop().await?;
        let last = &reads.last().context("no read")?.1;
        let settled = reads
            .iter()
            .rev()
            .take_while(|(_, list)| list == last)
            .last()
            .map(|(at, _)| *at)
            .unwrap_or_default();
        let changes = reads.windows(2).filter(|w| w[0].1 != w[1].1).count();
        writeln!(
            out,
            "  run {run}: {} requests posted in {:.1?}; {} endpoints at the end ({} right after the traffic), {changes} changes seen, settled {:.2?} after the traffic",
            requests.len(),
            end - posting,
            last.len(),
            reads[0].1.len(),
            settled
        )?;
        if std::env::var_os("MERGEBENCH_LIST").is_some() {
            for (method, path) in last {
                writeln!(out, "    {method} {path}")?;
            }
        }
        times.push(settled);
    }
    writeln!(
        out,
        "new host of {size} endpoints settled after its traffic: {}",
        summary(&mut times)
    )?;
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if !args.no_round {
        library_rounds(&args, &mut out)?;
        server_rounds(&args, &mut out).await?;
    }
    if !args.no_settle {
        settle_runs(&args, &mut out).await?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    reconstructor_bench::block_on(run(Args::parse()))
}
