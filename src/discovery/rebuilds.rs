//! Host rebuilds (a rules change, a new reference spec) run in the background, one at a time per
//! host, with a status to poll: `GET /api/hosts/{host}/rebuild`.
//!
//! A rebuild reads the host's stored exchanges without a lock that ingest waits on, and holds
//! the host's lock only to write the new catalog ([`Discovery::reprocess`]). The status lives in
//! the process that runs the rebuild.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::job::{Discovery, ReprocessReport};
use crate::store::StoreError;

/// Where a host's rebuild stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RebuildState {
    /// Reading the stored exchanges, or writing the catalog.
    Running,
    /// The catalog is rebuilt.
    Done,
    /// It failed; the previous catalog stays. `error` says why.
    Failed,
}

/// The last rebuild of a host started by this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RebuildStatus {
    /// The host key.
    pub host: String,
    /// Where it stands.
    pub state: RebuildState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Stored exchanges read so far.
    pub exchanges_read: u64,
    /// Endpoints in the rebuilt catalog, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<usize>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether another rebuild is due once this one ends (the rules changed again meanwhile).
    pub queued: bool,
}

impl RebuildStatus {
    fn running(host: &str) -> Self {
        RebuildStatus {
            host: host.to_owned(),
            state: RebuildState::Running,
            started_at: Utc::now(),
            finished_at: None,
            exchanges_read: 0,
            endpoints: None,
            error: None,
            queued: false,
        }
    }
}

/// The rebuilds of this process, by host.
#[derive(Debug)]
pub struct Rebuilds {
    discovery: Arc<Discovery>,
    status: Arc<Mutex<HashMap<String, RebuildStatus>>>,
}

impl Rebuilds {
    /// Rebuilds run by `discovery`.
    pub fn new(discovery: Arc<Discovery>) -> Self {
        Rebuilds {
            discovery,
            status: Arc::default(),
        }
    }

    /// The status of the host's last rebuild started here.
    pub fn status(&self, host: &str) -> Option<RebuildStatus> {
        self.lock().get(host).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RebuildStatus>> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts rebuilding `host` in the background, or, when a rebuild of it is running, queues
    /// one more to follow it (it will see what changed meanwhile). Returns the status.
    pub fn start(&self, host: &str) -> RebuildStatus {
        let mut status = self.lock();
        if let Some(running) = status
            .get_mut(host)
            .filter(|s| s.state == RebuildState::Running)
        {
            running.queued = true;
            return running.clone();
        }
        let started = RebuildStatus::running(host);
        status.insert(host.to_owned(), started.clone());
        drop(status);
        let discovery = self.discovery.clone();
        let table = self.status.clone();
        let host = host.to_owned();
        tokio::spawn(async move {
            loop {
                let result = run(&discovery, &table, &host).await;
                let mut status = table.lock().unwrap_or_else(|e| e.into_inner());
                let Some(entry) = status.get_mut(&host) else {
                    return;
                };
                finish(entry, &result);
                if let Err(e) = &result {
                    tracing::warn!(host, error = %e, "rebuild failed");
                }
                if !std::mem::take(&mut entry.queued) {
                    return;
                }
                *entry = RebuildStatus::running(&host);
            }
        });
        started
    }

    /// Rebuilds `host` now and returns when it is done (the status is kept as for
    /// [`Rebuilds::start`]); waits for a rebuild of it already running first.
    pub async fn run_now(&self, host: &str) -> Result<ReprocessReport, StoreError> {
        loop {
            let running = self
                .status(host)
                .is_some_and(|s| s.state == RebuildState::Running);
            if !running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.lock()
            .insert(host.to_owned(), RebuildStatus::running(host));
        let result = run(&self.discovery, &self.status, host).await;
        if let Some(entry) = self.lock().get_mut(host) {
            finish(entry, &result);
        }
        result
    }
}

async fn run(
    discovery: &Discovery,
    table: &Mutex<HashMap<String, RebuildStatus>>,
    host: &str,
) -> Result<ReprocessReport, StoreError> {
    let progress = |read: u64| {
        let mut status = table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = status.get_mut(host) {
            entry.exchanges_read = read;
        }
    };
    discovery.reprocess_reporting(host, &progress).await
}

fn finish(entry: &mut RebuildStatus, result: &Result<ReprocessReport, StoreError>) {
    entry.finished_at = Some(Utc::now());
    match result {
        Ok(report) => {
            entry.state = RebuildState::Done;
            entry.exchanges_read = report.exchanges;
            entry.endpoints = Some(report.endpoints);
        }
        Err(e) => {
            entry.state = RebuildState::Failed;
            entry.error = Some(e.to_string());
        }
    }
}
