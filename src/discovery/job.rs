//! The background side of discovery: every replica refreshes its classifier from the catalog;
//! one leader at a time (a Postgres advisory lock) runs the cardinality merge over the hosts that
//! changed and folds the merged endpoints; `reprocess` rebuilds a host's catalog from its stored
//! exchanges.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::catalog::Classifier;
use super::merge::{self, MergeSettings, Observed, merge};
use super::settings::DiscoverySettings;
use super::summaries;
use crate::model::catalog::{CatalogBatch, EndpointKey, Fold, host_key};
use crate::model::template::HostRules;
use crate::observability::names;
use crate::openapi::{EndpointSummary, SummaryLimits};
use crate::store::{CatalogMarks, EndpointRow, HostRow, Store, StoreError, StoredExchange};

/// Exchanges read per round trip while reprocessing.
const SCAN_CHUNK: u32 = 5_000;

/// Catch-up reads of a rebuild before it takes the host's lock: at most this many, stopping
/// early once one returns fewer than [`CATCH_UP_ENOUGH`] exchanges (what is left is read under
/// the lock).
const CATCH_UP_ROUNDS: usize = 4;

/// See [`CATCH_UP_ROUNDS`].
const CATCH_UP_ENOUGH: usize = 500;

/// What a reprocess gathers from a host's stored exchanges.
#[derive(Debug, Default)]
struct Gathered {
    catalog: CatalogBatch,
    summaries: BTreeMap<EndpointKey, EndpointSummary>,
    keys: Vec<EndpointKey>,
    index: HashMap<EndpointKey, u32>,
    /// `(exchange id, stored endpoint id, index in keys)`.
    assignments: Vec<(i64, Option<i64>, u32)>,
}

/// How a rebuild resolves the stored exchanges to the new endpoints without rewriting them, built
/// up as they are read (most of it before the host's lock is taken). A stored endpoint id whose
/// exchanges all go to one new endpoint becomes an alias of it; the exchanges of one split
/// between several (and of none) are linked one by one.
#[derive(Debug, Default)]
struct Resolution {
    /// The new endpoint (an index into `finals`) of each key of [`Gathered::keys`].
    final_of: Vec<u32>,
    finals: Vec<EndpointKey>,
    final_index: HashMap<EndpointKey, u32>,
    /// Per stored endpoint id, the one new endpoint its exchanges go to; `None` when split.
    groups: HashMap<i64, Option<u32>>,
    /// Assignments of [`Gathered::assignments`] already grouped.
    grouped: usize,
}

impl Resolution {
    /// Takes in what `gathered` read since the last update; `target` renames a key as the
    /// merge decided. Returns the stored endpoint ids that were whole until now and are split.
    fn update(
        &mut self,
        gathered: &Gathered,
        target: &impl Fn(&EndpointKey) -> EndpointKey,
    ) -> Vec<i64> {
        for key in &gathered.keys[self.final_of.len()..] {
            let to = target(key);
            let next = self.finals.len() as u32;
            let index = match self.final_index.get(&to) {
                Some(index) => *index,
                None => {
                    self.final_index.insert(to.clone(), next);
                    self.finals.push(to);
                    next
                }
            };
            self.final_of.push(index);
        }
        let mut split = Vec::new();
        for (_, stored, k) in &gathered.assignments[self.grouped..] {
            let Some(stored) = stored else { continue };
            let to = self.final_of[*k as usize];
            self.groups
                .entry(*stored)
                .and_modify(|group| {
                    if group.is_some() && *group != Some(to) {
                        split.push(*stored);
                        *group = None;
                    }
                })
                .or_insert(Some(to));
        }
        self.grouped = gathered.assignments.len();
        split
    }

    /// The exchanges among `assignments[from..]` linked one by one (of a stored endpoint that
    /// is split, or of none), as `(exchange id, index in finals)`; with `only`, just those of
    /// these stored endpoints.
    fn links(
        &self,
        assignments: &[(i64, Option<i64>, u32)],
        from: usize,
        only: Option<&HashSet<i64>>,
    ) -> Vec<(i64, u32)> {
        assignments[from..]
            .iter()
            .filter(|(_, stored, _)| match (stored, only) {
                (Some(s), Some(only)) => only.contains(s),
                (None, Some(_)) => false,
                (stored, None) => {
                    stored.is_none_or(|s| self.groups.get(&s).is_some_and(Option::is_none))
                }
            })
            .map(|(id, _, k)| (*id, self.final_of[*k as usize]))
            .collect()
    }
}

impl Gathered {
    fn add(
        &mut self,
        host: &str,
        rules: &HostRules,
        stored: &StoredExchange,
        limits: &SummaryLimits,
    ) {
        let e = &stored.exchange;
        if host_key(&e.host, e.port, e.scheme) != host {
            return;
        }
        let template = super::catalog::resolve_template(&e.path, rules, None);
        let key = EndpointKey {
            host: host.to_owned(),
            method: e.method.clone(),
            template: template.annotated(),
        };
        let api = super::catalog::is_api(e);
        self.catalog.add(e, &key, api);
        self.catalog
            .note_fields(&key, || super::catalog::response_fields(e));
        // An exchange stored as metadata only says nothing of the interface's shape.
        if api && stored.whole {
            self.summaries
                .entry(key.clone())
                .or_default()
                .observe(e, &template, limits);
        }
        let next = self.keys.len() as u32;
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.index.insert(key.clone(), next);
                self.keys.push(key);
                next
            }
        };
        self.assignments.push((stored.id, stored.endpoint_id, i));
    }
}

/// Discovery's background work for one process.
#[derive(Debug)]
pub struct Discovery {
    store: Arc<dyn Store>,
    classifier: Arc<Classifier>,
    settings: MergeSettings,
    merge_interval: Duration,
    refresh_interval: Duration,
    /// The exchange count of each host at its last merge, to skip hosts that did not change.
    merged: Mutex<HashMap<String, u64>>,
    /// The exchange count of each never-merged host when it was last found not ready for its
    /// first merge: its endpoints are read again only once it has new traffic.
    not_ready: Mutex<HashMap<String, u64>>,
    /// How far the classifier has read the catalog.
    refreshed: tokio::sync::Mutex<RefreshState>,
    refresh_lookback: Duration,
    /// What each merged host looked like after its last merge, for follow-up merges.
    follow: Mutex<HashMap<String, FollowUp>>,
    /// Per host whose merges folded something: when its merges are revised.
    revisions: Mutex<HashMap<String, Revision>>,
    /// See [`DiscoverySettings::revision_limit`].
    revision_limit: u64,
    /// Held while a host is rebuilt by this process, so that two rebuilds of one host (a
    /// revision and a rules change, say) never overlap.
    rebuilding: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Where a host's revisions stand.
#[derive(Debug, Clone, Copy)]
struct Revision {
    /// The exchanges it had when its templates were last judged on all of its traffic (its
    /// first folding merge, its last rebuild); `None` once its stored exchanges no longer cover
    /// what its catalog counts.
    judged: Option<u64>,
    /// Its exchanges at the last check, to tell when its traffic pauses.
    checked: u64,
}

impl Revision {
    fn new(judged: u64) -> Self {
        Revision {
            judged: Some(judged),
            checked: judged,
        }
    }

    /// Whether a host that has `exchanges` now is due for a revision: its traffic grew fourfold
    /// since it was judged, or by a quarter and paused since the last check (so that what a
    /// burst of traffic ends with is judged whole soon after). Either way a host sees a handful
    /// of revisions in its life, and the stored exchanges they read add up to a small multiple
    /// of what it has at the last one. Notes `exchanges` for the next check.
    fn due(&mut self, exchanges: u64) -> bool {
        let paused = self.checked == exchanges;
        self.checked = exchanges;
        self.judged.is_some_and(|judged| {
            exchanges >= judged.saturating_mul(4).max(1)
                || (paused && exchanges.saturating_mul(4) >= judged.saturating_mul(5).max(1))
        })
    }
}

/// How long an endpoint id or a change stamp may take from being drawn to being committed, with
/// a wide margin: each refresh reads again what is newer than the marks it had this long ago, so
/// that a row committed after rows with higher ids is still read.
const REFRESH_LOOKBACK: Duration = Duration::from_secs(120);

/// The classifier's reading position in the catalog ([`Discovery::refresh`]).
#[derive(Debug, Default)]
struct RefreshState {
    /// The marks seen at each refresh since the last one older than the lookback, oldest first.
    marks: VecDeque<(Instant, CatalogMarks)>,
    /// Endpoint ids and host stamps newer than the oldest mark, already applied.
    applied_endpoints: HashSet<i64>,
    applied_stamps: HashSet<(String, i64)>,
}

impl RefreshState {
    /// The marks to read from at `now`: the newest ones at least `lookback` old; `None` before
    /// there are any (then everything is read).
    fn base(&mut self, now: Instant, lookback: Duration) -> Option<CatalogMarks> {
        let old_enough = |at: &Instant| now.saturating_duration_since(*at) >= lookback;
        while self.marks.len() > 1 && old_enough(&self.marks[1].0) {
            self.marks.pop_front();
        }
        let (at, base) = *self.marks.front()?;
        if !old_enough(&at) {
            return None;
        }
        self.applied_endpoints.retain(|id| *id > base.endpoint);
        self.applied_stamps.retain(|(_, seq)| *seq > base.change);
        Some(base)
    }

    fn newest(&self) -> CatalogMarks {
        self.marks.back().map(|(_, m)| *m).unwrap_or_default()
    }
}

/// What a classifier refresh read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Whether every host was read (the first refreshes of a process).
    pub full: bool,
    /// The hosts read again (incremental refreshes).
    pub reloaded: Vec<String>,
}

/// A merged host as its last merge left it: a follow-up merge runs once its traffic pauses
/// with endpoints that were not there then, rather than a whole merge interval later.
#[derive(Debug, Clone)]
struct FollowUp {
    /// API endpoints right after the last merge.
    endpoints: u64,
    /// Exchanges at the last check, to tell when the traffic pauses.
    checked: u64,
    /// When the last merge ended.
    at: Instant,
    /// The least time from one merge of the host to a follow-up: doubled after each merge that
    /// folded nothing (the new endpoints are real ones), back to the check period after one that
    /// folded something.
    gap: Duration,
}

impl FollowUp {
    /// The state after a merge that folded `folded` endpoints and left the host as `after`:
    /// the gap doubles (up to `longest`) after a merge that folded nothing, and is `shortest`
    /// otherwise.
    fn after(
        previous: Option<&FollowUp>,
        after: &HostRow,
        folded: u64,
        shortest: Duration,
        longest: Duration,
    ) -> FollowUp {
        let gap = match previous {
            Some(previous) if folded == 0 => (previous.gap * 2).min(longest).max(shortest),
            _ => shortest,
        };
        FollowUp {
            endpoints: after.endpoints,
            checked: after.exchanges,
            at: Instant::now(),
            gap,
        }
    }

    /// Whether a follow-up merge is due at `now`, given the host as it is now; notes its
    /// exchanges for the next check.
    fn due(&mut self, host: &HostRow, now: Instant) -> bool {
        let paused = self.checked == host.exchanges;
        self.checked = host.exchanges;
        paused && host.endpoints != self.endpoints && now.duration_since(self.at) >= self.gap
    }
}

/// What a merge round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Whether this process held the leader lock (else it did nothing).
    pub led: bool,
    /// Hosts examined.
    pub hosts: usize,
    /// Endpoints folded into others.
    pub folded: u64,
}

/// What a reprocess did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReprocessReport {
    /// Exchanges read.
    pub exchanges: u64,
    /// Endpoints in the rebuilt catalog.
    pub endpoints: usize,
    /// How long the host's lock was held (ingest of the host waited at most this long).
    pub locked: Duration,
}

impl Discovery {
    /// Discovery over `store`, feeding `classifier`.
    pub fn new(
        settings: &DiscoverySettings,
        store: Arc<dyn Store>,
        classifier: Arc<Classifier>,
    ) -> Self {
        Discovery {
            store,
            classifier,
            settings: settings.merge_settings(),
            merge_interval: settings.merge_interval,
            refresh_interval: settings.refresh_interval,
            merged: Mutex::default(),
            not_ready: Mutex::default(),
            refreshed: tokio::sync::Mutex::default(),
            refresh_lookback: REFRESH_LOOKBACK,
            follow: Mutex::default(),
            revisions: Mutex::default(),
            revision_limit: settings.revision_limit,
            rebuilding: Mutex::default(),
        }
    }

    /// Sets how far back each incremental refresh reads again (two minutes by default); until
    /// a first refresh is that old, refreshes read everything.
    pub fn with_refresh_lookback(mut self, lookback: Duration) -> Self {
        self.refresh_lookback = lookback;
        self
    }

    /// Time between merge rounds.
    pub fn merge_interval(&self) -> Duration {
        self.merge_interval
    }

    /// The classifier this instance refreshes.
    pub fn classifier(&self) -> &Arc<Classifier> {
        &self.classifier
    }

    /// Brings the classifier up to date with the stored rules and learned templates. Only what
    /// changed since the last refresh is read: the hosts whose templates were folded or rebuilt,
    /// and those where a new endpoint changes what the classifier would resolve. The first
    /// refreshes of a process (for [`REFRESH_LOOKBACK`]) read everything.
    pub async fn refresh(&self) -> Result<RefreshReport, StoreError> {
        let mut state = self.refreshed.lock().await;
        let rules = self.store.host_rules().await?;
        let now = Instant::now();
        let Some(base) = state.base(now, self.refresh_lookback) else {
            // The marks are read first: anything committed meanwhile is read again next time.
            let marks = self.store.catalog_marks().await?;
            let templates = self.store.endpoint_templates().await?;
            self.classifier.update(rules, &templates);
            let newest = state.newest().max(marks);
            state.marks.push_back((now, newest));
            return Ok(RefreshReport {
                full: true,
                reloaded: Vec::new(),
            });
        };
        let changes = self.store.catalog_changes(base).await?;
        let mut newest = state.newest();
        let mut reload = BTreeSet::new();
        for (host, seq) in changes.hosts {
            newest.change = newest.change.max(seq);
            if state.applied_stamps.insert((host.clone(), seq)) {
                reload.insert(host);
            }
        }
        for (id, host, template) in changes.added {
            newest.endpoint = newest.endpoint.max(id);
            if state.applied_endpoints.insert(id)
                && !reload.contains(&host)
                && self.classifier.changed_by(&host, id, &template)
            {
                reload.insert(host);
            }
        }
        let reload: Vec<String> = reload.into_iter().collect();
        let templates = if reload.is_empty() {
            HashMap::new()
        } else {
            self.store.hosts_templates(&reload).await?
        };
        self.classifier.update_hosts(rules, &reload, &templates);
        state.marks.push_back((now, newest));
        if !reload.is_empty() {
            tracing::debug!(hosts = reload.len(), "classifier refreshed");
        }
        Ok(RefreshReport {
            full: false,
            reloaded: reload,
        })
    }

    /// One merge round, if this process can take the leader lock: every host whose traffic
    /// changed since its last merge is merged to a fixed point and its merged endpoints folded.
    pub async fn merge_round(&self) -> Result<MergeReport, StoreError> {
        self.merge_round_of(None).await
    }

    /// [`Discovery::merge_round`] over `only` these hosts (those that changed), or over every
    /// host.
    pub async fn merge_round_of(&self, only: Option<&[String]>) -> Result<MergeReport, StoreError> {
        let Some(leader) = self.store.try_lead().await? else {
            return Ok(MergeReport::default());
        };
        let result = self.merge_hosts(only).await;
        leader.release().await;
        let report = result?;
        if report.folded > 0 {
            self.refresh().await?;
        }
        Ok(report)
    }

    async fn merge_hosts(&self, only: Option<&[String]>) -> Result<MergeReport, StoreError> {
        let mut report = MergeReport {
            led: true,
            ..MergeReport::default()
        };
        for host in self.store.list_hosts().await? {
            let seen = self.merged_count(&host.host);
            if seen == Some(host.exchanges) || only.is_some_and(|only| !only.contains(&host.host)) {
                continue;
            }
            report.hosts += 1;
            let folded = self.merge_host(&host.host).await?;
            report.folded += folded;
            summaries::compact(&*self.store, &host.host, false).await?;
            let after = self.store.host(&host.host).await?;
            let after = after.as_ref().unwrap_or(&host);
            self.note_merged(&host.host, after, folded);
            if folded > 0 {
                lock(&self.revisions)
                    .entry(host.host.clone())
                    .or_insert_with(|| Revision::new(after.exchanges));
            }
            lock(&self.merged).insert(host.host, host.exchanges);
        }
        Ok(report)
    }

    /// Remembers what a merge of `host` left, for follow-up merges.
    fn note_merged(&self, host: &str, after: &HostRow, folded: u64) {
        let mut follow = lock(&self.follow);
        let next = FollowUp::after(
            follow.get(host),
            after,
            folded,
            FIRST_MERGE_CHECK.min(self.merge_interval),
            self.merge_interval,
        );
        follow.insert(host.to_owned(), next);
    }

    /// Whether a merged host is due for a follow-up merge: it has endpoints its last merge did
    /// not see, its traffic paused since the previous check, and the gap since its last merge has
    /// passed.
    fn follow_up_due(&self, host: &HostRow) -> bool {
        let mut follow = lock(&self.follow);
        follow
            .get_mut(&host.host)
            .is_some_and(|state| state.due(host, Instant::now()))
    }

    fn merged_count(&self, host: &str) -> Option<u64> {
        lock(&self.merged).get(host).copied()
    }

    /// Merges one host now (whoever leads); returns the endpoints folded away.
    pub async fn merge_host(&self, host: &str) -> Result<u64, StoreError> {
        let endpoints = summaries::host_endpoints(&*self.store, host, true).await?;
        let observed: Vec<Observed> = endpoints.iter().map(observed).collect();
        let rules = self.classifier.rules(host);
        let mut changes: Vec<Fold> = merge(&observed, &rules, &self.settings)
            .into_iter()
            .map(|(method, from, to)| Fold { method, from, to })
            .collect();
        // Values that reached the catalog as literals after their parameter was learned (a replica
        // whose cache was behind) join the parameter.
        let changed: std::collections::HashSet<(&str, &str)> = changes
            .iter()
            .map(|f| (f.method.as_str(), f.from.as_str()))
            .collect();
        let mut late = Vec::new();
        let mut methods: Vec<&str> = endpoints.iter().map(|e| e.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        // Per method: creation order only means something between endpoints of one method.
        for method in methods {
            let entries = || {
                endpoints
                    .iter()
                    .filter(move |e| e.method == method)
                    .map(|e| (e.id, e.template.as_str()))
            };
            let resolver = super::catalog::Resolver::new(entries());
            for (from, to) in resolver.stale(entries()) {
                let plain = crate::store::plain_template(&from);
                if rules.literal_prefix(&crate::model::template::split_path(&plain)) > 0
                    || changed.contains(&(method, from.as_str()))
                {
                    continue;
                }
                late.push(Fold {
                    method: method.to_owned(),
                    from,
                    to,
                });
            }
        }
        changes.extend(late);
        if changes.is_empty() {
            return Ok(0);
        }
        let folded = self.store.fold_endpoints(host, &changes).await?;
        tracing::info!(host, changes = changes.len(), folded, "merged endpoints");
        metrics::counter!(names::DISCOVERY_ENDPOINTS_FOLDED).increment(folded);
        Ok(folded)
    }

    /// Rebuilds the catalog of one host from its stored exchanges with the current rules, merged
    /// to a fixed point. Ingest for that host waits until it is done.
    pub async fn reprocess(&self, host: &str) -> Result<ReprocessReport, StoreError> {
        self.reprocess_reporting(host, &|_| {}).await
    }

    /// [`Discovery::reprocess`], telling `progress` how many exchanges have been read after each
    /// chunk.
    pub async fn reprocess_reporting(
        &self,
        host: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ReprocessReport, StoreError> {
        let report = self.rebuild(host, progress, false).await?;
        Ok(report.expect("a rebuild that is not a revision always completes"))
    }

    /// Rebuilds `host` ([`Discovery::reprocess`]). A `revision` gives up (`None`) before
    /// taking any lock when the stored exchanges are fewer than the catalog counts (retention
    /// or the disk budget deleted some): a catalog rebuilt from them would lose endpoints.
    async fn rebuild(
        &self,
        host: &str,
        progress: &(dyn Fn(u64) + Sync),
        revision: bool,
    ) -> Result<Option<ReprocessReport>, StoreError> {
        let one_at_a_time = lock(&self.rebuilding)
            .entry(host.to_owned())
            .or_default()
            .clone();
        let _rebuilding = one_at_a_time.lock().await;
        let started = Instant::now();
        let rules = self.classifier.rules(host);
        let limits = SummaryLimits::default();
        // Read before the rebuild begins: every exchange counted here is stored before it.
        let counted = match revision {
            true => self.store.host(host).await?.map_or(0, |h| h.exchanges),
            false => 0,
        };
        // The exchanges stored so far are read without holding any lock that ingest waits on.
        let mut rebuild = self.store.rebuild_host(host).await?;
        let mut gathered = Gathered::default();
        let mut before = None;
        loop {
            let chunk = rebuild.scan(before, SCAN_CHUNK).await?;
            let Some(last) = chunk.last() else { break };
            before = Some(last.id);
            for stored in &chunk {
                gathered.add(host, &rules, stored, &limits);
            }
            progress(gathered.assignments.len() as u64);
        }
        if (gathered.assignments.len() as u64) < counted {
            tracing::info!(
                host,
                stored = gathered.assignments.len(),
                counted,
                "not revising: some of the host's exchanges were deleted"
            );
            if let Some(revision) = lock(&self.revisions).get_mut(host) {
                revision.judged = None;
            }
            return Ok(None);
        }
        // Merge what was seen, still without a lock.
        let catalog = &gathered.catalog;
        let observed: Vec<Observed> = catalog
            .endpoints
            .iter()
            .map(|(key, delta)| Observed {
                method: key.method.clone(),
                template: key.template.clone(),
                hits: delta.hits,
                fields: delta.fields.map(|f| f as u64),
            })
            .collect();
        let changes = merge(&observed, &rules, &self.settings);
        let renamed: HashMap<(String, String), String> = changes
            .into_iter()
            .map(|(method, from, to)| ((method, from), to))
            .collect();
        let target = |key: &EndpointKey| -> EndpointKey {
            match renamed.get(&(key.method.clone(), key.template.clone())) {
                Some(to) => EndpointKey {
                    template: to.clone(),
                    ..key.clone()
                },
                None => key.clone(),
            }
        };
        // Catch up, without a lock, with what was stored meanwhile, until little is left.
        for _ in 0..CATCH_UP_ROUNDS {
            let more = rebuild.catch_up().await?;
            for stored in &more {
                gathered.add(host, &rules, stored, &limits);
            }
            progress(gathered.assignments.len() as u64);
            if more.len() < CATCH_UP_ENOUGH {
                break;
            }
        }
        let mut resolution = Resolution::default();
        resolution.update(&gathered, &target);
        // The exchanges linked one by one, found before the lock (a scan of every assignment).
        let mut linked = resolution.links(&gathered.assignments, 0, None);
        let before_lock = gathered.assignments.len();
        // From here ingest of the host waits: the few exchanges stored since the last catch-up
        // are read, and the new catalog written.
        let locked = Instant::now();
        for stored in &rebuild.lock().await? {
            gathered.add(host, &rules, stored, &limits);
        }
        let split: HashSet<i64> = resolution.update(&gathered, &target).into_iter().collect();
        // Those read under the lock, and the earlier ones of an endpoint they split.
        linked.extend(resolution.links(&gathered.assignments, before_lock, None));
        if !split.is_empty() {
            let earlier = &gathered.assignments[..before_lock];
            linked.extend(resolution.links(earlier, 0, Some(&split)));
        }
        let Gathered {
            mut catalog,
            summaries,
            assignments,
            ..
        } = gathered;
        let mut folded = CatalogBatch {
            hosts: std::mem::take(&mut catalog.hosts),
            endpoints: BTreeMap::new(),
        };
        for (key, delta) in &catalog.endpoints {
            let to = target(key);
            match folded.endpoints.get_mut(&to) {
                Some(existing) => existing.absorb(delta),
                None => {
                    folded.endpoints.insert(to, delta.clone());
                }
            }
        }
        let Resolution { finals, groups, .. } = &resolution;
        let aliases: Vec<(i64, &EndpointKey)> = groups
            .iter()
            .filter_map(|(id, to)| Some((*id, &finals[(*to)? as usize])))
            .collect();
        let links: Vec<(i64, &EndpointKey)> = linked
            .iter()
            .map(|(id, to)| (*id, &finals[*to as usize]))
            .collect();
        rebuild.write(&folded, &aliases, &links).await?;
        rebuild.finish().await?;
        let held = locked.elapsed();
        metrics::histogram!(names::DISCOVERY_REBUILD_LOCK_SECONDS).record(held.as_secs_f64());
        // The summaries are folded and written after the lock: ingest never waits for them.
        let mut folded_summaries: BTreeMap<EndpointKey, EndpointSummary> = BTreeMap::new();
        for (key, summary) in summaries {
            let to = target(&key);
            match folded_summaries.get_mut(&to) {
                Some(existing) => existing.merge(&summary, &limits),
                None => {
                    folded_summaries.insert(to, summary);
                }
            }
        }
        let rows: Vec<(EndpointKey, String)> = folded_summaries
            .into_iter()
            .filter(|(_, summary)| !summary.is_empty())
            .map(|(key, summary)| {
                let json = serde_json::to_string(&summary).unwrap_or_default();
                (key, json)
            })
            .collect();
        self.store.replace_host_summaries(host, None, &rows).await?;
        lock(&self.merged).remove(host);
        let report = ReprocessReport {
            exchanges: assignments.len() as u64,
            endpoints: folded.endpoints.len(),
            locked: held,
        };
        if let Some(revision) = lock(&self.revisions).get_mut(host)
            && revision.judged.is_some()
        {
            *revision = Revision::new(report.exchanges);
        }
        self.refresh().await?;
        tracing::info!(
            host,
            exchanges = report.exchanges,
            endpoints = report.endpoints,
            linked = links.len(),
            elapsed = ?started.elapsed(),
            locked = ?held,
            revision,
            "reprocessed"
        );
        Ok(Some(report))
    }

    /// The hosts due for a revision ([`Revision::due`]) among `hosts`, with at most
    /// [`DiscoverySettings::revision_limit`] exchanges.
    fn revisions_due(&self, hosts: &[HostRow]) -> Vec<String> {
        let mut revisions = lock(&self.revisions);
        hosts
            .iter()
            .filter(|host| {
                revisions
                    .get_mut(&host.host)
                    .is_some_and(|revision| revision.due(host.exchanges))
                    && host.exchanges <= self.revision_limit
            })
            .map(|host| host.host.clone())
            .collect()
    }

    /// Revises the merges of every host due ([`DiscoverySettings::revision_limit`]), if this
    /// process can take the leader lock (no merge runs meanwhile): each is rebuilt from its
    /// stored exchanges, which splits the templates that early traffic supported and all of it
    /// no longer does. Returns the hosts rebuilt, or `None` when another process leads.
    pub async fn revise(&self) -> Result<Option<Vec<String>>, StoreError> {
        if self.revision_limit == 0 || lock(&self.revisions).is_empty() {
            return Ok(Some(Vec::new()));
        }
        self.revise_among(&self.store.list_hosts().await?).await
    }

    /// [`Discovery::revise`] given the hosts as they are now.
    async fn revise_among(&self, hosts: &[HostRow]) -> Result<Option<Vec<String>>, StoreError> {
        if self.revision_limit == 0 {
            return Ok(Some(Vec::new()));
        }
        let due = self.revisions_due(hosts);
        if due.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let Some(leader) = self.store.try_lead().await? else {
            return Ok(None);
        };
        let mut revised = Vec::new();
        let mut result = Ok(());
        for host in due {
            match self.rebuild(&host, &|_| {}, true).await {
                Ok(Some(_)) => {
                    metrics::counter!(names::DISCOVERY_REVISIONS).increment(1);
                    revised.push(host);
                }
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        leader.release().await;
        result.map(|()| Some(revised))
    }

    /// Every host seen in the stored exchanges or in the catalog, with the exchanges the catalog
    /// counts for it (`None` for a host it does not know yet).
    pub async fn stored_hosts(&self) -> Result<BTreeMap<String, Option<u64>>, StoreError> {
        let mut hosts = BTreeMap::new();
        for origin in self.store.exchange_hosts().await? {
            if let Some(scheme) = crate::model::exchange::Scheme::parse(&origin.scheme) {
                hosts.insert(host_key(&origin.hostname, origin.port, scheme), None);
            }
        }
        for row in self.store.list_hosts().await? {
            hosts.insert(row.host, Some(row.exchanges));
        }
        Ok(hosts)
    }

    /// Rebuilds the catalog of every host seen in the stored exchanges or in the catalog.
    pub async fn reprocess_all(&self) -> Result<ReprocessReport, StoreError> {
        let mut total = ReprocessReport::default();
        for host in self.stored_hosts().await?.into_keys() {
            let report = self.reprocess(&host).await?;
            total.exchanges += report.exchanges;
            total.endpoints += report.endpoints;
        }
        Ok(total)
    }

    /// The hosts whose merge need not wait for the merge timer: those never merged with a
    /// position that has as many distinct literal children as any evidence merges
    /// ([`merge::FEWEST_VALUES`]), and merged ones due
    /// for a follow-up (new endpoints since their last merge, and their traffic paused); among
    /// `hosts`, as they are now.
    pub async fn hosts_due(&self, hosts: &[HostRow]) -> Result<Vec<String>, StoreError> {
        let mut due = Vec::new();
        for host in hosts {
            if let Some(count) = self.merged_count(&host.host) {
                if count != host.exchanges && self.follow_up_due(host) {
                    due.push(host.host.clone());
                }
                continue;
            }
            let unchanged = lock(&self.not_ready).get(&host.host) == Some(&host.exchanges);
            if unchanged {
                continue;
            }
            let endpoints = summaries::host_endpoints(&*self.store, &host.host, true).await?;
            let templates = endpoints
                .iter()
                .map(|e| crate::store::plain_template(&e.template));
            let fewest = merge::FEWEST_VALUES.min(self.settings.min_distinct);
            if has_wide_position(templates, fewest) {
                due.push(host.host.clone());
                continue;
            }
            lock(&self.not_ready).insert(host.host.clone(), host.exchanges);
        }
        Ok(due)
    }

    /// One merge round (over `only` these hosts, or every one that changed), logged and
    /// measured.
    async fn merge_now(&self, only: Option<&[String]>) {
        let started = Instant::now();
        match self.merge_round_of(only).await {
            Ok(report) => {
                if report.led {
                    crate::observability::record_merge(
                        std::time::SystemTime::now(),
                        started.elapsed(),
                    );
                }
                if report.folded > 0 {
                    tracing::debug!(?report, "merge round");
                }
            }
            Err(e) => {
                metrics::counter!(names::DISCOVERY_MERGE_FAILURES).increment(1);
                tracing::warn!(error = %e, "merge round failed");
            }
        }
    }

    /// Runs the refresh and merge loops, and the revisions beside them, until `cancel`;
    /// failures are logged and retried.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        // The hosts as the first-merge check last listed them, for the revisions.
        let (listed, watched) = tokio::sync::watch::channel(Arc::new(Vec::new()));
        tokio::spawn(self.clone().revise_until(watched, cancel.clone()));
        let mut refresh = tokio::time::interval(self.refresh_interval);
        let mut merge = tokio::time::interval(self.merge_interval);
        // A new host's first merge runs as soon as one of its positions has enough distinct
        // children, and a merged host's follow-up as soon as its traffic pauses with endpoints
        // its last merge did not see; both are checked this often, rather than waiting a whole
        // merge interval.
        let mut first = tokio::time::interval(FIRST_MERGE_CHECK.min(self.merge_interval));
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        merge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        first.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The timed merge waits a whole interval: traffic accumulates first.
        merge.reset();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = refresh.tick() => {
                    if let Err(e) = self.refresh().await {
                        tracing::warn!(error = %e, "refreshing discovery state failed");
                    }
                }
                _ = first.tick() => {
                    let due = match self.store.list_hosts().await {
                        Ok(hosts) => {
                            let hosts = Arc::new(hosts);
                            listed.send_replace(hosts.clone());
                            self.hosts_due(&hosts).await
                        }
                        Err(e) => Err(e),
                    };
                    match due {
                        Ok(hosts) if hosts.is_empty() => {}
                        Ok(hosts) => self.merge_now(Some(&hosts)).await,
                        Err(e) => tracing::warn!(error = %e, "checking for first merges failed"),
                    }
                }
                _ = merge.tick() => self.merge_now(None).await,
            }
        }
    }
}

impl Discovery {
    /// Revises the hosts due until `cancel`, checked each time the first-merge check lists the
    /// hosts (every second; the list comes through `listed`, so that it is read once). A task
    /// of its own: a revision reads all of a host's exchanges, and the classifier's refreshes
    /// and the merges go on meanwhile.
    async fn revise_until(
        self: Arc<Self>,
        mut listed: tokio::sync::watch::Receiver<Arc<Vec<HostRow>>>,
        cancel: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                changed = listed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let hosts = listed.borrow_and_update().clone();
                    match self.revise_among(&hosts).await {
                    Ok(Some(hosts)) if !hosts.is_empty() => {
                        tracing::info!(?hosts, "revised merges made on earlier traffic");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "revising merges failed"),
                    }
                }
            }
        }
    }
}

/// Locks `mutex`, whether or not a holder panicked (the maps it guards stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How often the job looks for new hosts ready for their first merge, and for merged hosts due
/// for a follow-up.
const FIRST_MERGE_CHECK: Duration = Duration::from_secs(1);

/// Whether some position of these plain templates has at least `min_distinct` distinct literal
/// children (`/users/alice`, `/users/bob`, … under `/users`).
fn has_wide_position<'a>(
    templates: impl Iterator<Item = String> + 'a,
    min_distinct: usize,
) -> bool {
    let mut children: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for template in templates {
        let segments = crate::model::template::split_path(&template);
        for (depth, segment) in segments.iter().enumerate().skip(1) {
            if segment.contains('{') {
                continue;
            }
            let parent = segments[..depth].join("/");
            let set = children.entry(parent).or_default();
            set.insert((*segment).to_owned());
            if set.len() >= min_distinct.max(1) {
                return true;
            }
        }
    }
    false
}

fn observed(row: &EndpointRow) -> Observed {
    Observed {
        method: row.method.clone(),
        template: row.template.clone(),
        hits: row.hits,
        fields: row.fields.map(|f| f as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(exchanges: u64, endpoints: u64) -> HostRow {
        HostRow {
            host: "api.example".to_owned(),
            hostname: "api.example".to_owned(),
            port: 443,
            schemes: vec!["https".to_owned()],
            namespaces: Vec::new(),
            endpoints,
            exchanges,
            first_seen: chrono::Utc::now(),
            last_seen: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_follow_up_merge_waits_for_a_pause_with_new_endpoints() {
        let second = Duration::from_secs(1);
        let interval = Duration::from_secs(30);
        let mut state = FollowUp::after(None, &host(100, 20), 5, second, interval);
        let later = state.at + 2 * second;
        // Traffic still arriving: not yet.
        assert!(!state.due(&host(150, 30), later));
        // Paused, with endpoints the merge did not see: due.
        assert!(state.due(&host(150, 30), later));
        // Paused, but only more hits on the endpoints it saw: not due.
        let mut quiet = FollowUp::after(None, &host(100, 20), 5, second, interval);
        assert!(!quiet.due(&host(180, 20), later));
        assert!(!quiet.due(&host(180, 20), later));
        // Not before the gap since the last merge.
        let mut early = FollowUp::after(None, &host(100, 20), 5, second, interval);
        assert!(!early.due(&host(100, 25), early.at));
    }

    #[test]
    fn exchanges_read_under_the_lock_can_split_a_stored_endpoint() {
        let key = |t: &str| EndpointKey {
            host: "api.example.com".to_owned(),
            method: "GET".to_owned(),
            template: t.to_owned(),
        };
        let same = |k: &EndpointKey| k.clone();
        let mut gathered = Gathered {
            keys: vec![key("/a/{x}"), key("/a/b")],
            // (exchange, stored endpoint, key)
            assignments: vec![
                (1, Some(10), 0),
                (2, Some(10), 0),
                (3, Some(11), 1),
                (4, None, 1),
            ],
            ..Gathered::default()
        };
        let mut resolution = Resolution::default();
        assert!(resolution.update(&gathered, &same).is_empty());
        // Before the lock: only the exchange stored without an endpoint is linked; stored
        // endpoints 10 and 11 are aliases.
        assert_eq!(resolution.links(&gathered.assignments, 0, None), [(4, 1)]);
        // Under the lock, an exchange stored with endpoint 10 goes to the other endpoint: 10 is
        // split, and its earlier exchanges are linked one by one too.
        gathered.assignments.push((5, Some(10), 1));
        let split = resolution.update(&gathered, &same);
        assert_eq!(split, [10]);
        assert_eq!(resolution.links(&gathered.assignments, 4, None), [(5, 1)]);
        let split: HashSet<i64> = split.into_iter().collect();
        assert_eq!(
            resolution.links(&gathered.assignments[..4], 0, Some(&split)),
            [(1, 0), (2, 0)]
        );
        assert_eq!(resolution.groups[&11], Some(1));
    }

    #[test]
    fn a_revision_is_due_after_fourfold_growth_or_a_pause_after_a_quarter() {
        // Busy traffic: due at four times the exchanges judged, not before.
        let mut busy = Revision::new(1_000);
        assert!(!busy.due(2_000));
        assert!(!busy.due(3_999));
        assert!(busy.due(4_000));
        // Traffic that pauses: due once it has grown by a quarter and stopped for a check.
        let mut bursty = Revision::new(1_000);
        assert!(!bursty.due(1_200));
        assert!(!bursty.due(1_200), "a fifth more is not enough");
        assert!(!bursty.due(1_300), "still arriving");
        assert!(bursty.due(1_300));
        // Never again once exchanges were found deleted.
        let mut deleted = Revision::new(1_000);
        deleted.judged = None;
        assert!(!deleted.due(1_000_000));
        assert!(!deleted.due(1_000_000));
    }

    #[test]
    fn follow_ups_that_fold_nothing_back_off() {
        let second = Duration::from_secs(1);
        let interval = Duration::from_secs(30);
        let mut state = FollowUp::after(None, &host(1, 1), 3, second, interval);
        let mut gaps = Vec::new();
        for _ in 0..7 {
            state = FollowUp::after(Some(&state), &host(1, 1), 0, second, interval);
            gaps.push(state.gap.as_secs());
        }
        assert_eq!(gaps, [2, 4, 8, 16, 30, 30, 30]);
        let state = FollowUp::after(Some(&state), &host(1, 1), 2, second, interval);
        assert_eq!(state.gap, second);
    }

    #[test]
    fn a_wide_position_is_ready_for_its_first_merge() {
        let users = (0..8).map(|i| format!("/users/user{i}x/repos"));
        assert!(has_wide_position(users, 8));
        let few = (0..7).map(|i| format!("/users/user{i}x/repos"));
        assert!(!has_wide_position(few, 8));
        // Parameters are not distinct children, and the first segment has no parent.
        let params = (0..9).map(|i| format!("/t{i}/{{id}}"));
        assert!(!has_wide_position(params, 8));
    }
}
