//! Facts about the machine and processes, read from `/proc` (Linux).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Linux reports process CPU times in clock ticks of 1/100 s (`USER_HZ`) on every architecture
/// this tool runs on.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu_model: String,
    pub(crate) kernel: String,
    pub(crate) memory_total_mib: u64,
    pub(crate) date_utc: String,
}

impl Machine {
    pub(crate) fn read() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.into());
        let memory_total_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| status_kib(&m, "MemTotal:"))
            .map_or(0, |kib| kib / 1024);
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            memory_total_mib,
            date_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }
}

/// The number after `key` in a `/proc/*/status`-style text (a kB value).
fn status_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Resident memory of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kib(&status, "VmRSS:")
}

/// User plus system CPU time a process has used, in seconds (`self` for this process).
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// CPU seconds used so far by each process whose command name is `comm` (e.g. `postgres`,
/// whose server forks one process per connection), by pid.
pub(crate) fn cpu_seconds_by_name(comm: &str) -> HashMap<u32, f64> {
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let matches = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim_end() == comm);
        if matches && let Some(cpu) = cpu_seconds(&pid.to_string()) {
            found.insert(pid, cpu);
        }
    }
    found
}

/// CPU seconds used between two [`cpu_seconds_by_name`] snapshots. A process that exited in
/// between is missed (its last moments are lost); one that started in between counts whole.
pub(crate) fn cpu_delta(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> Option<f64> {
    if after.is_empty() {
        return None;
    }
    Some(
        after
            .iter()
            .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
            .sum(),
    )
}

/// Samples a process's RSS every 500 ms and keeps the maximum since the last [`RssSampler::take`].
#[derive(Debug, Clone)]
pub(crate) struct RssSampler {
    max_kib: Arc<AtomicU64>,
    gone: Arc<AtomicBool>,
}

impl RssSampler {
    pub(crate) fn start(pid: u32) -> RssSampler {
        let sampler = RssSampler {
            max_kib: Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0))),
            gone: Arc::new(AtomicBool::new(false)),
        };
        let s = sampler.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                match rss_kib(pid) {
                    Some(kib) => {
                        s.max_kib.fetch_max(kib, Ordering::Relaxed);
                    }
                    None => s.gone.store(true, Ordering::Relaxed),
                }
            }
        });
        sampler
    }

    /// The maximum seen since the previous call (restarting from the current value), and
    /// whether the process was found missing.
    pub(crate) fn take(&self, pid: u32) -> (u64, bool) {
        let now = rss_kib(pid).unwrap_or(0);
        let max = self.max_kib.swap(now, Ordering::Relaxed).max(now);
        (max, self.gone.swap(false, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert!(cpu_seconds("self").is_some());
        let m = Machine::read();
        assert!(m.nproc >= 1);
        assert!(m.date_utc.ends_with('Z'));
    }
}
