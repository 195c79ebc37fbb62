//! Results: the machine-readable form (`--json`) and the table printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::load::Tally;
use crate::system::Machine;

#[derive(Debug, Serialize)]
pub(crate) struct Latency {
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Errors {
    /// Non-2xx answers plus transport failures inside the measured window.
    pub(crate) total: u64,
    /// Non-2xx answers by status code.
    pub(crate) by_status: BTreeMap<u16, u64>,
    /// Requests that got no answer, by cause (`timeout`, `connection closed`, `io: …`).
    pub(crate) transport: BTreeMap<String, u64>,
    /// Failures during the warm-up, not counted above.
    pub(crate) during_warmup: u64,
    /// Records that 2xx answers listed as rejected.
    pub(crate) rejected_records: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct ScenarioResult {
    /// `ceiling`, `nta`, `akto`, with a suffix for the cancellation check and its follow-up.
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) connections: usize,
    pub(crate) records_per_request: u64,
    pub(crate) mean_body_bytes: usize,
    pub(crate) request_timeout_ms: f64,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    pub(crate) requests: u64,
    pub(crate) ok_requests: u64,
    pub(crate) events: u64,
    pub(crate) requests_per_s: f64,
    pub(crate) events_per_s: f64,
    /// Slowest and fastest whole second of the window, in accepted events.
    pub(crate) events_per_s_min_second: u64,
    pub(crate) events_per_s_max_second: u64,
    pub(crate) latency_ms: Latency,
    pub(crate) errors: Errors,
    pub(crate) connections_opened: u64,
    pub(crate) server_rss_max_mib: Option<f64>,
    pub(crate) server_exited: bool,
    /// CPU cores used on average during the window: the server (`--server-pid`, or the no-op
    /// route's threads for the ceiling) and this tool's client side.
    pub(crate) server_cpu_cores: Option<f64>,
    pub(crate) loadgen_cpu_cores: Option<f64>,
    /// CPU cores used by the database processes (`--db-process`).
    pub(crate) db_cpu_cores: Option<f64>,
    /// Server CPU time per accepted event, in microseconds.
    pub(crate) server_cpu_us_per_event: Option<f64>,
    /// Database CPU time per accepted event, in microseconds.
    pub(crate) db_cpu_us_per_event: Option<f64>,
    /// Group commits the server made during the scenario (warm-up included), from `/metrics`.
    pub(crate) commits: Option<Commits>,
}

/// Deltas of the server's commit metrics over a scenario (warm-up and drain included).
#[derive(Debug, Serialize)]
pub(crate) struct Commits {
    pub(crate) commits: u64,
    pub(crate) records_per_commit: f64,
    pub(crate) mean_commit_ms: f64,
}

impl ScenarioResult {
    pub(crate) fn from_tally(head: Head, tally: &Tally) -> ScenarioResult {
        let secs = head.duration_s.max(1e-9);
        let q = |p: f64| tally.latency.value_at_quantile(p) as f64 / 1000.0;
        let full_seconds =
            &tally.per_second[..(head.duration_s.floor() as usize).min(tally.per_second.len())];
        ScenarioResult {
            name: head.name,
            url: head.url,
            connections: head.connections,
            records_per_request: head.records,
            mean_body_bytes: head.mean_body_bytes,
            request_timeout_ms: head.timeout_ms,
            warmup_s: head.warmup_s,
            duration_s: head.duration_s,
            requests: tally.requests,
            ok_requests: tally.ok,
            events: tally.events,
            requests_per_s: tally.requests as f64 / secs,
            events_per_s: tally.events as f64 / secs,
            events_per_s_min_second: full_seconds.iter().copied().min().unwrap_or(0),
            events_per_s_max_second: full_seconds.iter().copied().max().unwrap_or(0),
            latency_ms: Latency {
                mean: tally.latency.mean() / 1000.0,
                p50: q(0.50),
                p90: q(0.90),
                p99: q(0.99),
                p999: q(0.999),
                max: tally.latency.max() as f64 / 1000.0,
            },
            errors: Errors {
                total: tally.errors(),
                by_status: tally.statuses.clone(),
                transport: tally.transport.clone(),
                during_warmup: tally.warmup_errors,
                rejected_records: tally.rejected_records,
            },
            connections_opened: tally.connects,
            server_rss_max_mib: None,
            server_exited: false,
            server_cpu_cores: None,
            loadgen_cpu_cores: None,
            db_cpu_cores: None,
            server_cpu_us_per_event: None,
            db_cpu_us_per_event: None,
            commits: None,
        }
    }

    fn error_summary(&self) -> String {
        let e = &self.errors;
        if e.total == 0 && e.rejected_records == 0 {
            return "0".into();
        }
        let mut parts: Vec<String> = e
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        parts.extend(e.transport.iter().map(|(k, n)| format!("{k}×{n}")));
        if e.rejected_records > 0 {
            parts.push(format!("rejected records×{}", e.rejected_records));
        }
        parts.join(", ")
    }
}

/// The settings a result is labelled with.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) connections: usize,
    pub(crate) records: u64,
    pub(crate) mean_body_bytes: usize,
    pub(crate) timeout_ms: f64,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct HealthCheck {
    pub(crate) client_timeout_ms: f64,
    pub(crate) readyz_status: Option<u16>,
    pub(crate) readyz_body: String,
    /// Errors of the clean run after the cancelling one; 0 and `/readyz` 200 mean healthy.
    pub(crate) followup_errors: u64,
    pub(crate) healthy: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) requirement: &'static str,
    /// `None` when the run did not measure what it needs.
    pub(crate) met: Option<bool>,
    pub(crate) detail: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) tool: String,
    pub(crate) command_line: Vec<String>,
    pub(crate) label: Option<String>,
    pub(crate) machine: Machine,
    pub(crate) target: String,
    pub(crate) model: &'static str,
    pub(crate) seed: u64,
    pub(crate) scenarios: Vec<ScenarioResult>,
    /// Requests/s of the NTA scenario over the ceiling's.
    pub(crate) ratio_nta_to_ceiling: Option<f64>,
    pub(crate) health_checks: Vec<HealthCheck>,
    pub(crate) targets: Vec<Target>,
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    pub(crate) fn evaluate_targets(&mut self) {
        let find = |name: &str| self.scenarios.iter().find(|s| s.name == name);
        let mut targets = Vec::new();
        let nta = find("nta");
        targets.push(Target {
            name: "(a) nta",
            requirement: "requests/s >= 0.40 x ceiling, p99 <= 25 ms, zero errors",
            met: match (nta, self.ratio_nta_to_ceiling) {
                (Some(a), Some(r)) => {
                    Some(r >= 0.40 && a.latency_ms.p99 <= 25.0 && a.errors.total == 0)
                }
                _ => None,
            },
            detail: match (nta, self.ratio_nta_to_ceiling) {
                (Some(a), Some(r)) => format!(
                    "ratio {r:.3}, p99 {:.2} ms, {} errors",
                    a.latency_ms.p99, a.errors.total
                ),
                _ => "needs the nta and ceiling scenarios in one run".into(),
            },
        });
        let akto = find("akto");
        targets.push(Target {
            name: "(b) akto",
            requirement: ">= 60,000 events/s (Postgres, synchronous_commit on), zero errors",
            met: akto.map(|b| b.events_per_s >= 60_000.0 && b.errors.total == 0),
            detail: akto.map_or("needs the akto scenario".into(), |b| {
                format!(
                    "{} events/s, {} errors",
                    thousands(b.events_per_s),
                    b.errors.total
                )
            }),
        });
        let rss: Vec<&ScenarioResult> = self
            .scenarios
            .iter()
            .filter(|s| s.name == "nta" || s.name == "akto")
            .filter(|s| s.server_rss_max_mib.is_some())
            .collect();
        targets.push(Target {
            name: "rss",
            requirement: "server RSS <= 256 MiB during a 60 s run of either shape",
            met: if rss
                .iter()
                .any(|s| s.server_rss_max_mib.unwrap_or(0.0) > 256.0)
            {
                Some(false)
            } else if !rss.is_empty() && rss.iter().all(|s| s.duration_s >= 60.0) {
                Some(true)
            } else {
                // Under the limit, but a shorter run proves nothing about 60 s.
                None
            },
            detail: if rss.is_empty() {
                "needs --server-pid".into()
            } else {
                rss.iter()
                    .map(|s| {
                        format!(
                            "{}: max {:.1} MiB over {:.0} s",
                            s.name,
                            s.server_rss_max_mib.unwrap_or(0.0),
                            s.duration_s
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        });
        self.targets = targets;
    }

    pub(crate) fn table(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{} | {} | {} x {} | {} | {:.1} GiB RAM{}",
            self.tool,
            m.date_utc,
            m.nproc,
            m.cpu_model,
            m.kernel,
            m.memory_total_mib as f64 / 1024.0,
            self.label
                .as_deref()
                .map(|l| format!(" | {l}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "target {} | {} | seed {}",
            self.target, self.model, self.seed
        );
        let _ = writeln!(
            out,
            "{:<22} {:>5} {:>10} {:>9} {:>10} {:>7} {:>7} {:>7} {:>8}  errors",
            "scenario",
            "conns",
            "requests",
            "req/s",
            "events/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms"
        );
        for s in &self.scenarios {
            let _ = writeln!(
                out,
                "{:<22} {:>5} {:>10} {:>9} {:>10} {:>7.2} {:>7.2} {:>7.2} {:>8.1}  {}{}",
                s.name,
                s.connections,
                thousands(s.requests as f64),
                thousands(s.requests_per_s),
                thousands(s.events_per_s),
                s.latency_ms.p50,
                s.latency_ms.p90,
                s.latency_ms.p99,
                s.latency_ms.max,
                s.error_summary(),
                if s.server_exited {
                    "  SERVER EXITED"
                } else {
                    ""
                },
            );
        }
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>7} {:>9} {:>7} {:>9} {:>7} {:>8} {:>10} {:>9}",
            "resources",
            "RSS MiB",
            "srv CPU",
            "srv us/ev",
            "db CPU",
            "db us/ev",
            "gen CPU",
            "commits",
            "rec/commit",
            "commit ms"
        );
        let opt = |v: Option<f64>, prec: usize| v.map_or("-".to_owned(), |v| format!("{v:.prec$}"));
        for s in &self.scenarios {
            let c = s.commits.as_ref();
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>7} {:>9} {:>7} {:>9} {:>7} {:>8} {:>10} {:>9}",
                s.name,
                opt(s.server_rss_max_mib, 1),
                opt(s.server_cpu_cores, 2),
                opt(s.server_cpu_us_per_event, 1),
                opt(s.db_cpu_cores, 2),
                opt(s.db_cpu_us_per_event, 1),
                opt(s.loadgen_cpu_cores, 2),
                c.map_or("-".into(), |c| c.commits.to_string()),
                opt(c.map(|c| c.records_per_commit), 1),
                opt(c.map(|c| c.mean_commit_ms), 2),
            );
        }
        if let Some(r) = self.ratio_nta_to_ceiling {
            let _ = writeln!(out, "(a)/(c) nta / ceiling requests/s = {r:.3}");
        }
        for h in &self.health_checks {
            let _ = writeln!(
                out,
                "cancellation check (client timeout {} ms): /readyz {} {}, follow-up errors {} => {}",
                h.client_timeout_ms,
                h.readyz_status
                    .map_or("unreachable".into(), |s| s.to_string()),
                h.readyz_body.trim(),
                h.followup_errors,
                if h.healthy { "healthy" } else { "UNHEALTHY" }
            );
        }
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "n/a",
            };
            let _ = writeln!(
                out,
                "target {:<9} {:<8} {} [{}]",
                t.name, verdict, t.detail, t.requirement
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234.0), "1,234");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }
}
