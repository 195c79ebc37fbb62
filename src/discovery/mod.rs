//! Endpoint discovery: concrete paths become templates per host ([`template`], [`segment`]), the
//! cardinality merge promotes high-cardinality literals ([`merge`]), and the catalog keeps
//! per-endpoint statistics ([`catalog`], maintained by [`job`]).

pub mod catalog;
pub mod job;
pub mod merge;
pub mod segment;
pub mod summaries;
pub mod template;
