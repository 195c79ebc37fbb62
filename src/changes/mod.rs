//! Change tracking: revisions of each host's reconstructed document, drift against a reference
//! spec, and webhooks announcing both.
//!
//! The leader (the discovery lock) looks at hosts whose traffic changed every
//! `changes.interval`. A host whose material surface (see [`surface`]) differs from its latest
//! revision and then stays the same for `changes.debounce` gets a new revision; the revision,
//! the events announcing it and the findings now announced are written in one transaction, so an
//! event exists if and only if its change was recorded. Every replica then delivers the outbox
//! (see [`webhook`]).

pub mod diff;
pub mod drift;
pub mod reference;
pub mod settings;
pub mod surface;
pub mod webhook;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::changes::{ChangeSet, NewRevision, OutboxEvent, ReferenceRow};
use crate::store::{Store, StoreError};
use diff::Diff;
use drift::Drift;
use settings::{ChangesConfig, WebhookSubscription};
use surface::Surface;

/// Largest document a stored revision may expand to.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024 * 1024;
/// Operations listed by name in a `spec.revised` event (the counts are always complete).
const MAX_LISTED: usize = 100;
/// A document that keeps changing is recorded after this many debounce periods anyway.
const DEBOUNCE_CAP: u32 = 10;

/// Mark kinds.
const ENDPOINT_MARK: &str = "endpoint";
const DRIFT_MARK: &str = "drift";

/// The decompressed document of a revision.
pub fn decompress(revision: i64, compressed: &[u8]) -> Result<Value, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        id: revision,
        reason,
    };
    let bytes = zstd::bulk::decompress(compressed, MAX_DOCUMENT_BYTES)
        .map_err(|e| corrupt(format!("revision document does not decompress: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("revision document: {e}")))
}

fn compress(document: &Value) -> Vec<u8> {
    let json = serde_json::to_vec(document).unwrap_or_default();
    // Level 3 (zstd's default); in-memory encoding of a Vec cannot fail.
    zstd::bulk::compress(&json, 3).unwrap_or(json)
}

/// The document of revision `n` of a host.
pub async fn revision_document(
    store: &dyn Store,
    host: &str,
    n: i64,
) -> Result<Option<Value>, StoreError> {
    match store.changes().revision_document(host, n).await? {
        Some(compressed) => Ok(Some(decompress(n, &compressed)?)),
        None => Ok(None),
    }
}

/// Revision `to` against revision `from`; `Err(n)` names a revision that does not exist.
pub async fn diff(
    store: &dyn Store,
    host: &str,
    from: i64,
    to: i64,
) -> Result<Result<Diff, i64>, StoreError> {
    let Some(old) = revision_document(store, host, from).await? else {
        return Ok(Err(from));
    };
    let Some(new) = revision_document(store, host, to).await? else {
        return Ok(Err(to));
    };
    Ok(Ok(Diff::between(&Surface::of(&old), &Surface::of(&new))))
}

/// The drift report of a host.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The host key.
    pub host: String,
    /// The reference compared with.
    pub reference: ReferenceInfo,
    /// Traffic older than this was not counted.
    pub since: Option<DateTime<Utc>>,
    /// The findings.
    #[serde(flatten)]
    pub drift: Drift,
}

/// What identifies a stored reference.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceInfo {
    /// Its `openapi` field.
    pub openapi: String,
    /// SHA-256 (hex) of the uploaded bytes.
    pub sha256: String,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
    /// Operations it documents.
    pub operations: usize,
}

/// Drift of a host against its reference; `None` when it has none.
pub async fn drift_report(
    store: &dyn Store,
    host: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Option<DriftReport>, StoreError> {
    let Some(reference) = store.changes().reference(host).await? else {
        return Ok(None);
    };
    let documented = reference_surface(&reference)?;
    let (observed, endpoints) = match crate::discovery::summaries::host_spec(store, host).await? {
        Some(spec) => {
            let document = render(spec).await;
            let endpoints = crate::discovery::summaries::host_endpoints(store, host, true).await?;
            (Surface::of(&document), endpoints)
        }
        None => (Surface::default(), Vec::new()),
    };
    Ok(Some(DriftReport {
        host: host.to_owned(),
        reference: ReferenceInfo {
            openapi: reference.openapi.clone(),
            sha256: reference.sha256.clone(),
            uploaded_at: reference.uploaded_at,
            operations: documented.operations.len(),
        },
        since,
        drift: drift::drift(&documented, &observed, &endpoints, since),
    }))
}

fn reference_surface(reference: &ReferenceRow) -> Result<Surface, StoreError> {
    let document: Value =
        serde_json::from_str(&reference.document).map_err(|e| StoreError::Corrupt {
            id: 0,
            reason: format!("stored reference document: {e}"),
        })?;
    Ok(Surface::of(&document))
}

async fn render(spec: crate::openapi::HostSpec) -> Value {
    let rendered = tokio::task::spawn_blocking(move || {
        crate::openapi::render(&spec, &crate::openapi::RenderOptions::default())
    })
    .await;
    rendered.unwrap_or(Value::Null)
}

/// A change seen but not recorded yet (see `changes.debounce`).
#[derive(Debug, Clone)]
struct Pending {
    hash: String,
    first: Instant,
    changed: Instant,
}

#[derive(Debug, Default)]
struct HostState {
    /// The host's exchange count when last examined.
    exchanges: Option<u64>,
    /// The reference (hash) drift was last evaluated against.
    reference: Option<String>,
    pending: Option<Pending>,
}

/// The leader's revision and drift job.
#[derive(Debug)]
pub struct ChangeTracker {
    store: Arc<dyn Store>,
    settings: ChangesConfig,
    subscriptions: Vec<WebhookSubscription>,
    wake: Arc<Notify>,
    hosts: Mutex<HashMap<String, HostState>>,
}

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Whether this process led.
    pub led: bool,
    /// Revisions recorded.
    pub revisions: usize,
    /// Events written to the outbox.
    pub events: usize,
}

impl ChangeTracker {
    /// A tracker; `wake` is notified when events are written.
    pub fn new(
        store: Arc<dyn Store>,
        settings: &ChangesConfig,
        subscriptions: &[WebhookSubscription],
        wake: Arc<Notify>,
    ) -> Self {
        ChangeTracker {
            store,
            settings: settings.clone(),
            subscriptions: subscriptions.to_vec(),
            wake,
            hosts: Mutex::default(),
        }
    }

    /// One round, if this process can take the leader lock.
    pub async fn round(&self) -> Result<RoundReport, StoreError> {
        let Some(leader) = self.store.try_lead().await? else {
            return Ok(RoundReport::default());
        };
        let result = self.examine_hosts().await;
        leader.release().await;
        let report = result?;
        if report.events > 0 {
            self.wake.notify_waiters();
            self.wake.notify_one();
        }
        Ok(report)
    }

    async fn examine_hosts(&self) -> Result<RoundReport, StoreError> {
        let mut report = RoundReport {
            led: true,
            ..RoundReport::default()
        };
        for host in self.store.list_hosts().await? {
            let reference = self.store.changes().reference(&host.host).await?;
            let reference_hash = reference.as_ref().map(|r| r.sha256.clone());
            let unchanged = {
                let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
                hosts.get(&host.host).is_some_and(|s| {
                    s.exchanges == Some(host.exchanges)
                        && s.reference == reference_hash
                        && s.pending.is_none()
                })
            };
            if unchanged {
                continue;
            }
            let (revisions, events) = self.examine(&host.host, reference.as_ref()).await?;
            report.revisions += revisions;
            report.events += events;
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            let state = hosts.entry(host.host.clone()).or_default();
            state.exchanges = Some(host.exchanges);
            state.reference = reference_hash;
        }
        Ok(report)
    }

    /// Looks at one host; returns the revisions and events recorded.
    async fn examine(
        &self,
        host: &str,
        reference: Option<&ReferenceRow>,
    ) -> Result<(usize, usize), StoreError> {
        let Some(spec) = crate::discovery::summaries::host_spec(&*self.store, host).await? else {
            return Ok((0, 0));
        };
        let document = render(spec).await;
        let current = Surface::of(&document);
        let hash = current.hash();
        let latest = self.store.changes().latest_revision(host).await?;
        let now = Instant::now();
        let mut revise = false;
        {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            let state = hosts.entry(host.to_owned()).or_default();
            // A host with nothing to describe yet (a reference uploaded before traffic) has no
            // first revision to record.
            let nothing_yet = latest.is_none() && current.operations.is_empty();
            if nothing_yet || latest.as_ref().is_some_and(|l| l.surface_hash == hash) {
                state.pending = None;
            } else {
                let pending = match state.pending.take() {
                    Some(p) if p.hash == hash => p,
                    Some(p) => Pending {
                        hash: hash.clone(),
                        first: p.first,
                        changed: now,
                    },
                    None => Pending {
                        hash: hash.clone(),
                        first: now,
                        changed: now,
                    },
                };
                let settled = now.duration_since(pending.changed) >= self.settings.debounce;
                let overdue =
                    now.duration_since(pending.first) >= self.settings.debounce * DEBOUNCE_CAP;
                if settled || overdue {
                    revise = true;
                } else {
                    state.pending = Some(pending);
                }
            }
        }
        let at = Utc::now();
        let mut set = ChangeSet::default();
        let mut revision_diff = None;
        if revise {
            let previous = match &latest {
                Some(l) => revision_document(&*self.store, host, l.revision)
                    .await?
                    .map(|d| Surface::of(&d))
                    .unwrap_or_default(),
                None => Surface::default(),
            };
            let diff = Diff::between(&previous, &current);
            set.revision = Some(NewRevision {
                surface_hash: hash.clone(),
                summary: serde_json::to_string(&diff.summary()).unwrap_or_default(),
                document: compress(&document),
                keep: self.settings.max_revisions,
            });
            revision_diff = Some(diff);
        }
        let reference_changed = {
            let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts.get(host).and_then(|s| s.reference.clone()) != reference.map(|r| r.sha256.clone())
        };
        let mut drift_found = None;
        if let Some(reference) = reference
            && (revise || reference_changed)
        {
            let documented = reference_surface(reference)?;
            let endpoints =
                crate::discovery::summaries::host_endpoints(&*self.store, host, true).await?;
            let found = drift::drift(&documented, &current, &endpoints, None);
            let known: BTreeSet<String> = self
                .store
                .changes()
                .marks(host, DRIFT_MARK)
                .await?
                .into_iter()
                .collect();
            let fresh: Vec<String> = found
                .marks()
                .into_iter()
                .filter(|m| !known.contains(m))
                .collect();
            if !fresh.is_empty() {
                drift_found = Some((found, fresh, reference.sha256.clone()));
            }
        }
        if set.revision.is_none() && drift_found.is_none() {
            return Ok((0, 0));
        }
        // The revision number is assigned in the transaction; events name the expected one,
        // which only this leader writes.
        let number = latest.as_ref().map_or(1, |l| l.revision + 1);
        if let Some(diff) = &revision_diff {
            let announced: BTreeSet<String> = self
                .store
                .changes()
                .marks(host, ENDPOINT_MARK)
                .await?
                .into_iter()
                .collect();
            for op in &diff.added {
                let mark = format!("{} {}", op.method, surface::path_shape(&op.path));
                if announced.contains(&mark) {
                    continue;
                }
                set.marks.push((ENDPOINT_MARK.to_owned(), mark.clone()));
                self.event(
                    &mut set,
                    host,
                    "endpoint.discovered",
                    &mark,
                    at,
                    json!({"host": host, "method": op.method, "path": op.path, "revision": number}),
                );
            }
            let summary = diff.summary();
            let names = |ops: &[diff::OperationRef]| -> Vec<String> {
                ops.iter()
                    .take(MAX_LISTED)
                    .map(|o| format!("{} {}", o.method, o.path))
                    .collect()
            };
            let changed: Vec<String> = diff
                .changed
                .iter()
                .take(MAX_LISTED)
                .map(|o| format!("{} {}", o.method, o.path))
                .collect();
            self.event(
                &mut set,
                host,
                "spec.revised",
                &number.to_string(),
                at,
                json!({
                    "host": host,
                    "revision": number,
                    "previous_revision": latest.as_ref().map(|l| l.revision),
                    "summary": summary,
                    "added": names(&diff.added),
                    "removed": names(&diff.removed),
                    "changed": changed,
                }),
            );
        }
        if let Some((found, fresh, sha256)) = &drift_found {
            let fresh_set: BTreeSet<&String> = fresh.iter().collect();
            let is_new = |mark: String| fresh_set.contains(&mark);
            let shadow: Vec<_> = found
                .shadow
                .iter()
                .filter(|f| {
                    is_new(format!(
                        "shadow {} {}",
                        f.method,
                        surface::path_shape(&f.path)
                    ))
                })
                .collect();
            let zombie: Vec<_> = found
                .zombie
                .iter()
                .filter(|f| {
                    is_new(format!(
                        "zombie {} {}",
                        f.method,
                        surface::path_shape(&f.path)
                    ))
                })
                .collect();
            let mismatches: Vec<_> = found
                .mismatches
                .iter()
                .filter(|m| {
                    is_new(format!(
                        "mismatch {} {} {:?} {}",
                        m.method,
                        surface::path_shape(&m.path),
                        m.kind,
                        m.value
                    ))
                })
                .collect();
            set.marks
                .extend(fresh.iter().map(|m| (DRIFT_MARK.to_owned(), m.clone())));
            self.event(
                &mut set,
                host,
                "drift.detected",
                &fresh.join("\n"),
                at,
                json!({
                    "host": host,
                    "reference_sha256": sha256,
                    "shadow": shadow,
                    "zombie": zombie,
                    "mismatches": mismatches,
                }),
            );
        }
        let events = set.events.len();
        let recorded = self.store.changes().record_changes(host, at, &set).await?;
        if let Some(n) = recorded {
            tracing::info!(host, revision = n, events, "spec revised");
            metrics::counter!(crate::observability::names::SPEC_REVISIONS).increment(1);
        }
        for event in &set.events {
            metrics::counter!(crate::observability::names::WEBHOOK_EVENTS, "event" => event.event_type.clone())
                .increment(1);
        }
        Ok((usize::from(recorded.is_some()), events))
    }

    /// Adds an event for the subscriptions that want it (none: nothing is written).
    fn event(
        &self,
        set: &mut ChangeSet,
        host: &str,
        event_type: &str,
        subject: &str,
        at: DateTime<Utc>,
        data: Value,
    ) {
        let urls = webhook::subscribers(&self.subscriptions, event_type);
        if urls.is_empty() {
            return;
        }
        let payload = json!({
            "type": event_type,
            "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        });
        set.events.push(OutboxEvent {
            message_id: webhook::message_id(host, event_type, subject, at),
            event_type: event_type.to_owned(),
            payload: payload.to_string(),
            urls,
        });
    }

    /// Forgets what was examined, so the next round looks at every host again (after a
    /// reference upload or a rules change).
    pub fn invalidate(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = hosts.get_mut(host) {
            state.exchanges = None;
        }
    }

    /// Runs rounds every `changes.interval` until `cancel`; failures are logged and retried.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {
                    match self.round().await {
                        Ok(report) if report.revisions > 0 || report.events > 0 => {
                            tracing::debug!(?report, "change round");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "change round failed"),
                    }
                }
            }
        }
    }
}

/// How long a test or tool should wait for a change to become a revision.
pub fn settle_time(settings: &ChangesConfig) -> Duration {
    settings.interval * 2 + settings.debounce
}
