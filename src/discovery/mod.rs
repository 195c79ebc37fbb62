//! Endpoint discovery: concrete paths become templates per host (with the pure path logic of
//! [`crate::model::template`] and [`crate::model::segment`]), the
//! cardinality merge promotes high-cardinality literals ([`merge`]), and the catalog keeps
//! per-endpoint statistics ([`catalog`], maintained by [`job`]); [`settings`] is the
//! `[discovery]` section of the configuration.

pub mod catalog;
pub mod job;
pub mod merge;
pub mod rebuilds;
pub mod settings;
pub mod summaries;
