//! OpenAPI synthesis: from observed exchanges to an OpenAPI 3.1 document.
//!
//! Pure code: no I/O, no database, no async. The pieces, in the order data flows through them:
//! * [`summary`]: an [`EndpointSummary`] per endpoint, built from redacted exchanges and merged
//!   across batches, replicas and endpoints that discovery merges; small and bounded by
//!   [`SummaryLimits`] whatever the traffic;
//! * [`schema`]: the JSON-schema inference lattice those summaries keep for every JSON body;
//! * [`mod@render`]: the OpenAPI document of one host ([`HostSpec`]), as JSON or YAML.
//!
//! The rest is private: the scalar classifier (formats, kinds, redaction markers), the tolerant
//! JSON reader, body kinds, credential detection, the list of infrastructure headers and naming.

mod headers;
mod json;
mod media;
mod naming;
pub mod render;
pub mod schema;
mod security;
pub mod summary;
mod text;

pub use render::{HostSpec, OperationSpec, RenderOptions, render, to_json, to_yaml};
pub use summary::{EndpointSummary, SummaryLimits};

#[cfg(test)]
mod tests;
