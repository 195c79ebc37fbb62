//! End-to-end tests over real HTTP (port 0) and real databases.
//!
//! The harness is the binary's own (`common::harness`): it runs like libtest and ends with the
//! count of the checks that need setup (Postgres, the OpenAPI validator, a tmpfs) that ran or
//! were skipped.
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

fn main() -> std::process::ExitCode {
    common::harness::main(&[
        binary::trials,
        changes::trials,
        connections::trials,
        discovery::trials,
        errors::trials,
        health::trials,
        ingest::trials,
        router::trials,
        spec::trials,
        store::trials,
        tls::trials,
    ])
}
