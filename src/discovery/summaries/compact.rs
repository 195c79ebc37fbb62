//! Compaction: a host's appended summary rows rewritten as one row per endpoint, by the leader.

use super::read::{host_endpoints, resolve_summaries};
use crate::model::catalog::EndpointKey;
use crate::store::{Store, StoreError};

/// Summary rows of a host beyond which the leader compacts them into one per endpoint.
const COMPACT_ABOVE: usize = 64;

/// Rewrites a host's summaries as one row per endpoint when they have grown past a threshold
/// (or always, with `force`). Rows that no longer resolve to an endpoint are dropped.
pub async fn compact(store: &dyn Store, host: &str, force: bool) -> Result<bool, StoreError> {
    let rows = store.host_summaries(host).await?;
    if rows.is_empty() || (!force && rows.len() <= COMPACT_ABOVE) {
        return Ok(false);
    }
    let endpoints = host_endpoints(store, host, true).await?;
    let merged = resolve_summaries(&endpoints, &rows);
    let compacted: Vec<(EndpointKey, String)> = merged
        .into_iter()
        .map(|(i, summary)| {
            let e = &endpoints[i];
            let key = EndpointKey {
                host: host.to_owned(),
                method: e.method.clone(),
                template: e.template.clone(),
            };
            (key, serde_json::to_string(&summary).unwrap_or_default())
        })
        .collect();
    // The ids read, not every id up to the highest: an ingest transaction may commit a row with
    // a lower id after this read.
    let replaced: Vec<i64> = rows.iter().map(|r| r.id).collect();
    store
        .replace_host_summaries(host, Some(&replaced), &compacted)
        .await?;
    Ok(true)
}
