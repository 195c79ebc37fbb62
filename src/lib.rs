//! Reconstructor receives HTTP traffic mirrored from the edge (Cloudflare Workers, gateways,
//! taps), stores it durably, discovers the API endpoints of every host and reconstructs OpenAPI
//! specs from what it saw.
//!
//! The flow of one request: [`http`] decodes and authenticates it, [`ingest`] turns each record
//! into a canonical [`model::exchange::Exchange`], redacts it and commits it through [`store`], and only
//! then is the producer answered.

pub mod changes;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod http;
pub mod ingest;
pub mod model;
pub mod observability;
pub mod openapi;
pub mod progress;
pub mod server;
pub mod startup;
pub mod store;
