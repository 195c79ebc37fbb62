//! End-to-end tests over real HTTP (port 0) and real databases.
#![allow(unreachable_pub)]

mod common;

mod binary;
mod changes;
mod connections;
mod discovery;
mod errors;
mod health;
mod ingest;
mod router;
mod spec;
mod store;
mod tls;
