//! Progress of the one-shot commands (`reprocess`, `export`): a bar on stderr when it is a
//! terminal, plain log lines (at most one every few seconds) when it is not.
//!
//! Log events written while a bar is drawn go through [`log_writer`], which lifts the bar, writes
//! the line and draws the bar again below it, so the two never garble each other.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain variant logs how far it got.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// The bar on screen, if any; log lines are written around it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A progress report for one command.
#[derive(Debug)]
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    bar: Option<ProgressBar>,
    last_log: Mutex<Option<Instant>>,
}

impl Progress {
    /// A report of `what` counted in `unit`, out of `total` when it is known. A bar when stderr is
    /// a terminal, else log lines.
    pub fn new(what: &'static str, unit: &'static str, total: Option<u64>) -> Self {
        let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Self::with_bar(what, unit, total, on_terminal)
    }

    fn with_bar(what: &'static str, unit: &'static str, total: Option<u64>, bar: bool) -> Self {
        let bar = bar.then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    ProgressBar::new(total),
                    "{prefix} [{bar:30}] {human_pos}/{human_len} {unit} ({per_sec}, {eta} left) {msg}",
                ),
                None => (
                    ProgressBar::new_spinner(),
                    "{prefix} {spinner} {human_pos} {unit} {msg}",
                ),
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
                .with_key(
                    "unit",
                    move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(unit);
                    },
                );
            bar.set_style(style);
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.set_prefix(what);
            bar.enable_steady_tick(Duration::from_millis(120));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            bar
        });
        Self {
            what,
            unit,
            bar,
            last_log: Mutex::new(None),
        }
    }

    /// Says what is being worked on (a host, a stage).
    pub fn message(&self, message: String) {
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => tracing::info!(what = self.what, "{message}"),
        }
    }

    /// How many units are done so far.
    pub fn position(&self, done: u64) {
        match &self.bar {
            Some(bar) => {
                if bar.length().is_some_and(|length| done > length) {
                    bar.set_length(done);
                }
                bar.set_position(done);
            }
            None => {
                let mut last = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if last.is_none_or(|at| now.duration_since(at) >= LOG_EVERY) {
                    *last = Some(now);
                    tracing::info!(what = self.what, done, unit = self.unit, "progress");
                }
            }
        }
    }

    /// Clears the bar; the command logs its own summary.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// Standard error for log lines, written around the bar on screen when there is one.
#[derive(Debug, Clone, Copy)]
pub struct LogWriter;

/// The `tracing` writer: see [`LogWriter`].
pub fn log_writer() -> LogWriter {
    LogWriter
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match active {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf).map(|()| buf.len())),
            None => std::io::stderr().write_all(buf).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_grows_past_a_low_estimate_and_is_released_when_done() {
        let progress = Progress::with_bar("reprocessing", "exchanges", Some(10), true);
        progress.position(4);
        progress.position(25);
        let bar = progress.bar.clone().expect("a bar");
        assert_eq!(bar.position(), 25);
        assert_eq!(bar.length(), Some(25));
        assert!(ACTIVE.lock().unwrap().is_some());
        progress.finish();
        assert!(bar.is_finished());
        assert!(ACTIVE.lock().unwrap().is_none());
    }

    #[test]
    fn without_a_terminal_positions_are_logged_at_most_every_few_seconds() {
        let progress = Progress::with_bar("reprocessing", "exchanges", None, false);
        assert!(progress.bar.is_none());
        progress.position(1);
        let first = progress
            .last_log
            .lock()
            .unwrap()
            .expect("the first position is logged");
        progress.position(2);
        assert_eq!(progress.last_log.lock().unwrap().unwrap(), first);
    }
}
