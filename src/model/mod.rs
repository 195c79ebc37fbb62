//! The bottom layer: the types every other layer speaks, and pure path logic. It imports
//! nothing of the crate above it.
//!
//! * [`exchange`]: the canonical form of one observed HTTP exchange;
//! * [`template`] and [`segment`]: how a concrete path becomes a template, and how one segment is
//!   classified (a typed value, a protected literal, or a literal the merge may promote);
//! * [`catalog`]: host and endpoint keys, per-host rules, and the counts a batch adds;
//! * [`size`]: byte sizes as people write them (`8MiB`).

pub mod catalog;
pub mod exchange;
pub mod segment;
pub mod size;
pub mod template;
