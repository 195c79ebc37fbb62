//! `loadgen`: drives a running Reconstructor over real HTTP and reports events/s, requests/s,
//! latency percentiles and errors, next to the ceiling of the same client against a no-op route
//! hosted by this process. See docs/benchmarks.md.

mod ceiling;
mod load;
mod payload;
mod report;
mod system;

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hyper::Uri;
use hyper::header::HeaderValue;
use tokio::time::Instant;

use crate::ceiling::Ceiling;
use crate::load::{Client, Shape, Tally, Window};
use crate::payload::{Pool, PoolSettings};
use crate::report::{Head, HealthCheck, Report, ScenarioResult};
use crate::system::{Machine, RssSampler};

/// Closed-loop HTTP load against Reconstructor's ingest routes.
///
/// Each connection sends its next request as soon as the previous answer is read (closed loop),
/// over keep-alive HTTP/1.1 connections opened once. Bodies are generated before the run from a
/// fixed seed.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
struct Args {
    /// The running server (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    target: String,
    /// What to run: `all` is ceiling, nta, akto in that order.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Measured time of each scenario.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Load sent before measuring starts, in each scenario.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Connections for every scenario (default: 64 for nta and ceiling, 16 for akto).
    #[arg(long)]
    connections: Option<usize>,
    /// Records per Akto `batchData` request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Ingest token, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Limit for a whole request (send, answer, body) in normal runs.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Cancellation check: run nta/akto with this (aggressive) timeout, dropping the connection
    /// of every request that exceeds it, then check `/readyz` and do a clean follow-up run.
    #[arg(long, value_parser = humantime::parse_duration)]
    client_timeout: Option<Duration>,
    /// Measured time of the clean run after a `--client-timeout` run.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    followup_duration: Duration,
    /// Server process to watch: max VmRSS (sampled every 500 ms) and CPU per scenario.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Distinct exchanges generated (each one NTA body).
    #[arg(long, default_value_t = 4096)]
    pool: usize,
    /// Distinct Akto batch bodies.
    #[arg(long, default_value_t = 64)]
    akto_pool: usize,
    /// Mean size in bytes of the request and response bodies inside each exchange.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Seed of the payload generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads of the client runtime (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Worker threads of the no-op ceiling server's runtime (default: one per CPU).
    #[arg(long)]
    ceiling_threads: Option<usize>,
    /// Command name of the database's processes (e.g. `postgres`), to report their CPU use.
    #[arg(long)]
    db_process: Option<String>,
    /// Pause between scenarios, for the server to drain its queue.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pause: Duration,
    /// Print one generated NTA body and one Akto record (pretty JSON) and exit; sends nothing.
    #[arg(long)]
    print_sample: bool,
    /// Free text recorded with the results (e.g. "postgres, synchronous_commit=on").
    #[arg(long)]
    label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Nta,
    Akto,
    Ceiling,
    All,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("loadgen")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The parsed `--target`.
struct Endpoint {
    addr: SocketAddr,
    host: HeaderValue,
}

async fn resolve(target: &str) -> anyhow::Result<Endpoint> {
    let uri: Uri = target
        .parse()
        .with_context(|| format!("--target {target:?}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("--target must be a plain http:// URL (TLS is not supported), got {target:?}");
    }
    let authority = uri.authority().context("--target has no host")?;
    let port = authority.port_u16().unwrap_or(80);
    let addr = tokio::net::lookup_host((authority.host(), port))
        .await
        .with_context(|| format!("cannot resolve {}", authority.host()))?
        .next()
        .with_context(|| format!("{} resolves to no address", authority.host()))?;
    Ok(Endpoint {
        addr,
        host: HeaderValue::from_str(authority.as_str())?,
    })
}

/// Everything a scenario run needs besides its own settings.
struct Context {
    authorization: Option<HeaderValue>,
    server_pid: Option<u32>,
    db_process: Option<String>,
    rss: Option<RssSampler>,
}

struct Run {
    name: String,
    endpoint: Arc<Endpoint>,
    uri: &'static str,
    bodies: Arc<[Bytes]>,
    records: u64,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    timeout: Duration,
    connect_timeout: Duration,
    /// The ceiling's server runs in this process: its CPU is read from its threads.
    in_process_server: bool,
}

/// CPU seconds used so far: (this process without the ceiling threads, the server, the
/// database).
fn cpu_snapshot(
    ctx: &Context,
    in_process_server: bool,
) -> (Option<f64>, Option<f64>, Option<HashMap<u32, f64>>) {
    let own = system::cpu_seconds("self");
    let ceiling = in_process_server.then(ceiling_cpu_seconds).flatten();
    let server = if in_process_server {
        ceiling
    } else {
        ctx.server_pid
            .and_then(|p| system::cpu_seconds(&p.to_string()))
    };
    let db = if in_process_server {
        None
    } else {
        ctx.db_process.as_deref().map(system::cpu_seconds_by_name)
    };
    (own.map(|o| o - ceiling.unwrap_or(0.0)), server, db)
}

/// `name value` of an unlabelled sample in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// (commit count, records committed, seconds spent committing) from the server's `/metrics`.
async fn commit_counters(endpoint: &Endpoint) -> Option<(f64, f64, f64)> {
    let (status, text) = load::get(
        endpoint.addr,
        &endpoint.host,
        "/metrics",
        Duration::from_secs(5),
    )
    .await
    .ok()?;
    if status != 200 {
        return None;
    }
    // A server that has not committed yet has not registered these series: count them as 0.
    let value = |name: &str| metric(&text, name).unwrap_or(0.0);
    Some((
        value("reconstructor_ingest_commit_records_count"),
        value("reconstructor_ingest_commit_records_sum"),
        value("reconstructor_ingest_commit_duration_seconds_sum"),
    ))
}

/// CPU seconds of this process's `ceiling*` threads.
fn ceiling_cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let tid = entry.file_name();
        let tid = tid.to_string_lossy();
        let comm =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
        if comm.starts_with("ceiling") {
            total += system::cpu_seconds(&format!("self/task/{tid}")).unwrap_or(0.0);
        }
    }
    Some(total)
}

async fn run_one(ctx: &Context, run: Run) -> anyhow::Result<ScenarioResult> {
    eprintln!(
        "loadgen: {} -> {} {} connections, warm-up {:?}, measuring {:?}",
        run.name, run.uri, run.connections, run.warmup, run.duration
    );
    let client = Arc::new(Client {
        addr: run.endpoint.addr,
        host: run.endpoint.host.clone(),
        authorization: ctx.authorization.clone(),
        timeout: run.timeout,
        connect_timeout: run.connect_timeout,
    });
    let shape = Arc::new(Shape {
        uri: Uri::from_static(run.uri),
        bodies: run.bodies.clone(),
        records: run.records,
    });
    if let (Some(rss), Some(pid)) = (&ctx.rss, ctx.server_pid) {
        rss.take(pid);
    }
    let counters_before = if run.in_process_server {
        None
    } else {
        commit_counters(&run.endpoint).await
    };
    let start = Instant::now();
    let window = Window {
        measure_from: start + run.warmup,
        until: start + run.warmup + run.duration,
    };
    let spread = (run.bodies.len() / run.connections.max(1)).max(1);
    let tasks: Vec<_> = (0..run.connections)
        .map(|i| {
            tokio::spawn(load::run_connection(
                client.clone(),
                shape.clone(),
                window,
                i * spread,
            ))
        })
        .collect();
    tokio::time::sleep_until(window.measure_from).await;
    let before = cpu_snapshot(ctx, run.in_process_server);
    tokio::time::sleep_until(window.until).await;
    let after = cpu_snapshot(ctx, run.in_process_server);
    let seconds = run.duration.as_secs_f64().ceil() as usize;
    let mut tally = Tally::new(seconds);
    for task in tasks {
        tally.merge(task.await.context("a connection task panicked")?);
    }
    let secs = run.duration.as_secs_f64();
    let mut result = ScenarioResult::from_tally(
        Head {
            name: run.name,
            url: format!(
                "http://{}{}",
                run.endpoint.host.to_str().unwrap_or("?"),
                run.uri
            ),
            connections: run.connections,
            records: run.records,
            mean_body_bytes: payload::mean_len(&run.bodies),
            timeout_ms: run.timeout.as_secs_f64() * 1000.0,
            warmup_s: run.warmup.as_secs_f64(),
            duration_s: secs,
        },
        &tally,
    );
    let rate = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / secs);
    result.loadgen_cpu_cores = rate(before.0, after.0);
    result.server_cpu_cores = rate(before.1, after.1);
    result.db_cpu_cores = match (&before.2, &after.2) {
        (Some(b), Some(a)) => system::cpu_delta(b, a).map(|cpu| cpu / secs),
        _ => None,
    };
    let per_event = |cores: Option<f64>| {
        cores
            .filter(|_| result.events > 0)
            .map(|c| c * secs * 1e6 / result.events as f64)
    };
    result.server_cpu_us_per_event = per_event(result.server_cpu_cores);
    result.db_cpu_us_per_event = per_event(result.db_cpu_cores);
    if let Some((c0, r0, d0)) = counters_before
        && let Some((c1, r1, d1)) = commit_counters(&run.endpoint).await
        && c1 > c0
    {
        result.commits = Some(report::Commits {
            commits: (c1 - c0) as u64,
            records_per_commit: (r1 - r0) / (c1 - c0),
            mean_commit_ms: (d1 - d0) * 1000.0 / (c1 - c0),
        });
    }
    if !run.in_process_server
        && let (Some(rss), Some(pid)) = (&ctx.rss, ctx.server_pid)
    {
        let (max_kib, gone) = rss.take(pid);
        result.server_rss_max_mib = Some(max_kib as f64 / 1024.0);
        result.server_exited = gone;
    }
    Ok(result)
}

/// Sleeps `pause` before every scenario but the first.
async fn pause(first: &mut bool, pause: Duration) {
    if !std::mem::take(first) {
        tokio::time::sleep(pause).await;
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    if args.print_sample {
        let pool = Pool::generate(PoolSettings {
            seed: args.seed,
            exchanges: 1,
            akto_batches: 1,
            batch: 1,
            body_bytes: args.body_size,
        });
        let nta: serde_json::Value = serde_json::from_slice(&pool.nta[0])?;
        let akto: serde_json::Value = serde_json::from_slice(&pool.akto[0])?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", serde_json::to_string_pretty(&nta)?)?;
        writeln!(stdout, "{}", serde_json::to_string_pretty(&akto)?)?;
        return Ok(true);
    }
    let machine = Machine::read();
    let nproc = machine.nproc;
    let wants = |s: Scenario| args.scenario == s || args.scenario == Scenario::All;
    let endpoint = Arc::new(resolve(&args.target).await?);
    if wants(Scenario::Nta) || wants(Scenario::Akto) {
        match load::get(
            endpoint.addr,
            &endpoint.host,
            "/healthz",
            Duration::from_secs(5),
        )
        .await
        {
            Ok((200, _)) => {}
            Ok((status, body)) => bail!("{}/healthz answered {status}: {body}", args.target),
            Err(e) => bail!("no server at {}: {e}", args.target),
        }
    }
    let authorization = match &args.token {
        Some(t) => {
            let mut v = HeaderValue::from_str(&format!("Bearer {t}")).context("--token")?;
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    let ctx = Context {
        authorization,
        server_pid: args.server_pid,
        db_process: args.db_process.clone(),
        rss: args.server_pid.map(RssSampler::start),
    };
    if let Some(pid) = args.server_pid
        && system::rss_kib(pid).is_none()
    {
        bail!("--server-pid {pid}: no such process (or /proc is not readable)");
    }

    let generated = Instant::now();
    let pool = Pool::generate(PoolSettings {
        seed: args.seed,
        exchanges: args.pool,
        akto_batches: if wants(Scenario::Akto) {
            args.akto_pool
        } else {
            1
        },
        batch: args.batch,
        body_bytes: args.body_size,
    });
    let nta: Arc<[Bytes]> = pool.nta.into();
    let akto: Arc<[Bytes]> = pool.akto.into();
    eprintln!(
        "loadgen: generated {} NTA bodies (mean {} B) and {} Akto batches of {} (mean {} B) in {:?}",
        nta.len(),
        payload::mean_len(&nta),
        akto.len(),
        args.batch,
        payload::mean_len(&akto),
        generated.elapsed()
    );

    let run_for = |name: &str,
                   scenario: Scenario,
                   timeout: Duration,
                   duration: Duration,
                   warmup: Duration| {
        let (uri, bodies, records, default_connections) = match scenario {
            Scenario::Akto => (
                "/api/ingestData",
                akto.clone(),
                args.batch.max(1) as u64,
                16,
            ),
            _ => ("/api/telemetry", nta.clone(), 1, 64),
        };
        Run {
            name: name.into(),
            endpoint: endpoint.clone(),
            uri,
            bodies,
            records,
            connections: args.connections.unwrap_or(default_connections).max(1),
            warmup,
            duration,
            timeout,
            // Only requests get the aggressive timeout: reconnecting must still work.
            connect_timeout: args.timeout,
            in_process_server: false,
        }
    };

    let mut scenarios = Vec::new();
    let mut health_checks = Vec::new();
    let mut first = true;

    if wants(Scenario::Ceiling) {
        pause(&mut first, args.pause).await;
        let server = Ceiling::start(args.ceiling_threads.unwrap_or(nproc))?;
        let endpoint = Arc::new(Endpoint {
            addr: server.addr,
            host: HeaderValue::from_str(&server.addr.to_string())?,
        });
        let mut run = run_for(
            "ceiling",
            Scenario::Ceiling,
            args.timeout,
            args.duration,
            args.warmup,
        );
        run.endpoint = endpoint;
        run.in_process_server = true;
        let result = run_one(&ctx, run).await;
        server.stop();
        scenarios.push(result?);
    }
    for scenario in [Scenario::Nta, Scenario::Akto] {
        if !wants(scenario) {
            continue;
        }
        let name = if scenario == Scenario::Nta {
            "nta"
        } else {
            "akto"
        };
        if let Some(aggressive) = args.client_timeout {
            pause(&mut first, args.pause).await;
            let run = run_for(
                &format!("{name} timeout {}", humantime::format_duration(aggressive)),
                scenario,
                aggressive,
                args.duration,
                args.warmup,
            );
            scenarios.push(run_one(&ctx, run).await?);
            // Let the server finish what the dropped requests had queued before judging it.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let readyz = load::get(
                endpoint.addr,
                &endpoint.host,
                "/readyz",
                Duration::from_secs(5),
            )
            .await;
            let followup = run_one(
                &ctx,
                run_for(
                    &format!("{name} follow-up"),
                    scenario,
                    args.timeout,
                    args.followup_duration,
                    Duration::from_secs(1),
                ),
            )
            .await?;
            let (readyz_status, readyz_body) = match readyz {
                Ok((status, body)) => (Some(status), body),
                Err(e) => (None, e),
            };
            let followup_errors = followup.errors.total + followup.errors.during_warmup;
            health_checks.push(HealthCheck {
                client_timeout_ms: aggressive.as_secs_f64() * 1000.0,
                healthy: readyz_status == Some(200) && followup_errors == 0,
                readyz_status,
                readyz_body,
                followup_errors,
            });
            scenarios.push(followup);
        } else {
            pause(&mut first, args.pause).await;
            let run = run_for(name, scenario, args.timeout, args.duration, args.warmup);
            scenarios.push(run_one(&ctx, run).await?);
        }
    }

    let requests_per_s = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.requests_per_s)
    };
    let ratio = match (requests_per_s("nta"), requests_per_s("ceiling")) {
        (Some(a), Some(c)) if c > 0.0 => Some(a / c),
        _ => None,
    };
    let mut report = Report {
        tool: format!("loadgen {}", env!("CARGO_PKG_VERSION")),
        command_line: std::env::args().collect(),
        label: args.label.clone(),
        machine,
        target: args.target.clone(),
        model: "closed loop, keep-alive HTTP/1.1",
        seed: args.seed,
        scenarios,
        ratio_nta_to_ceiling: ratio,
        health_checks,
        targets: Vec::new(),
    };
    report.evaluate_targets();

    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.table().as_bytes())?;
    stdout.flush()?;
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("loadgen: results written to {}", path.display());
    }
    Ok(report.health_checks.iter().all(|h| h.healthy))
}
