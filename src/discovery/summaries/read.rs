//! The read side: a host's summaries resolved against its current endpoints (a summary recorded
//! under a template that has since been folded lands on the endpoint it was folded into), ready
//! to render.

use std::collections::{BTreeMap, HashMap};

use super::super::catalog::Resolver;
use crate::model::exchange::Scheme;
use crate::model::template::Template;
use crate::openapi::{EndpointSummary, HostSpec, OperationSpec, SummaryLimits};
use crate::store::{EndpointQuery, EndpointRow, Store, StoreError, SummaryRow};

/// Every endpoint of a host (static assets too, when asked).
pub(crate) async fn host_endpoints(
    store: &dyn Store,
    host: &str,
    include_non_api: bool,
) -> Result<Vec<EndpointRow>, StoreError> {
    const PAGE: u32 = 50_000;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_endpoints(&EndpointQuery {
                host: host.to_owned(),
                include_non_api,
                after: after.clone(),
                limit: PAGE,
                ..EndpointQuery::default()
            })
            .await?;
        let done = page.len() < PAGE as usize;
        if let Some(last) = page.last() {
            after = Some((
                last.path.clone(),
                last.method.clone(),
                last.template.clone(),
            ));
        }
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The summaries of `rows` merged per endpoint of `endpoints` (by index): a row goes to the
/// endpoint with its exact key, else to the endpoint whose template it fits (it was folded).
pub(super) fn resolve_summaries(
    endpoints: &[EndpointRow],
    rows: &[SummaryRow],
) -> BTreeMap<usize, EndpointSummary> {
    let limits = SummaryLimits::default();
    let exact: HashMap<(&str, &str), usize> = endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| ((e.method.as_str(), e.template.as_str()), i))
        .collect();
    let resolver = Resolver::new(endpoints.iter().map(|e| (e.id, e.template.as_str())));
    let mut merged: BTreeMap<usize, EndpointSummary> = BTreeMap::new();
    for row in rows {
        let index = exact
            .get(&(row.method.as_str(), row.template.as_str()))
            .copied()
            .or_else(|| {
                let template = Template::parse(&row.template)?;
                let learned = resolver.lookup(&template)?.annotated();
                exact.get(&(row.method.as_str(), learned.as_str())).copied()
            });
        let Some(index) = index else { continue };
        let Ok(summary) = serde_json::from_str::<EndpointSummary>(&row.summary) else {
            continue;
        };
        merged.entry(index).or_default().merge(&summary, &limits);
    }
    merged
}

/// The observed interface of a host, ready to render; `None` for an unknown host.
pub async fn host_spec(store: &dyn Store, host: &str) -> Result<Option<HostSpec>, StoreError> {
    let Some(row) = store.host(host).await? else {
        return Ok(None);
    };
    let endpoints = host_endpoints(store, host, false).await?;
    let rows = store.host_summaries(host).await?;
    let mut summaries = resolve_summaries(&endpoints, &rows);
    let operations = endpoints
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            Some(OperationSpec {
                template: Template::parse(&e.template)?,
                method: e.method,
                hits: e.hits,
                first_seen: e.first_seen,
                last_seen: e.last_seen,
                status_codes: e.status_codes,
                summary: summaries.remove(&i).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Some(HostSpec {
        host: row.host,
        hostname: row.hostname,
        port: row.port,
        schemes: row
            .schemes
            .iter()
            .filter_map(|s| Scheme::parse(s))
            .collect(),
        operations,
    }))
}
