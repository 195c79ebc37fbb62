//! End-to-end tests over real HTTP (port 0) and real databases.
#![allow(unreachable_pub)]

mod common;

mod binary;
mod connections;
mod errors;
mod discovery;
mod health;
mod ingest;
mod router;
mod spec;
mod store;
mod tls;
