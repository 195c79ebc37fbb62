//! A Cloudflare Worker that proxies every request to its origin unchanged and mirrors a bounded
//! copy of each exchange to Reconstructor as an NTA telemetry object.
//!
//! It is a drop-in replacement for the Invicti NTA Worker (same variables, same telemetry
//! shape) that is fail-open by construction: the client always gets the origin's own response,
//! bodies are copied through a tee and read in `ctx.waitUntil`, and no configuration mistake,
//! oversized body or receiver outage changes what the client sees.
//!
//! The decisions live in plain modules that build and are tested on the host:
//! - [`settings`]: the variables, their defaults and how bad values fall back;
//! - [`rules`]: exclusion lists, status patterns, the "looks like an API" test, sampling;
//! - [`capture`]: the bounded body copy;
//! - [`exchange`]: whether an exchange is mirrored, and its telemetry object.
//!
//! The `fetch` export that ties them to the Workers runtime is the private `edge` module. See
//! `docs/worker.md` for building, configuring and deploying.
#![forbid(unsafe_code)]

pub mod capture;
pub mod exchange;
pub mod rules;
pub mod settings;

mod edge;
