//! The wire formats Reconstructor receives, as tolerant serde models.
//!
//! Two families of producers exist in the field and neither can be changed: the NTA/APIClarity
//! telemetry object ([`nta`]) and Akto's `batchData` records ([`akto`]). Both disagree with their own
//! documentation about types (numbers sent as strings and the other way round, headers as arrays,
//! objects or JSON text inside a string), so the models here accept every shape that real producers
//! send and keep what they received. Deciding whether a record is usable is the server's job: loose
//! values ([`Scalar`]) and header problems ([`HeaderError`]) surface as data, never as a decode error
//! of the whole record, so the server can name the offending field.
//!
//! Serializing the models writes the canonical shape each producer family sends, which lets tests
//! and the Cloudflare Worker build payloads with the same types.
//!
//! The crate has no I/O and no C dependencies so that it builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use reconstructor_wire::address::parse_destination_address;
//! use reconstructor_wire::nta::Telemetry;
//!
//! let body = r#"{"destinationAddress": "api.example:8443:443",
//!                "request": {"method": "GET", "path": "/v1/users",
//!                            "common": {"headers": [{"key": "host", "value": "api.example"},
//!                                                   {"value": "orphan"}]}},
//!                "response": {"statusCode": "200"}}"#;
//! let telemetry: Telemetry = serde_json::from_str(body)?;
//!
//! let status = telemetry.response.as_ref().and_then(|r| r.status_code.as_ref());
//! assert_eq!(status.and_then(|s| s.as_i64()), Some(200));
//!
//! let headers = telemetry.request.as_ref().and_then(|r| r.common.as_ref()).and_then(|c| c.headers.as_ref());
//! let headers = headers.expect("sent");
//! assert_eq!(headers.get("Host"), Some("api.example"));
//! let problems: Vec<String> = headers.problems().map(|e| e.describe("request.common.headers")).collect();
//! assert_eq!(problems, ["request.common.headers[1]: missing key"]);
//!
//! let destination = parse_destination_address(telemetry.destination_address.as_deref().unwrap_or(""));
//! assert_eq!(destination.and_then(|d| d.port), Some(8443));
//! # Ok::<(), serde_json::Error>(())
//! ```
#![warn(missing_docs)]

pub mod address;
pub mod akto;
pub mod headers;
pub mod nta;
pub mod scalar;

pub use headers::{HeaderEntry, HeaderError, HeaderFault, HeaderLocation, Headers};
pub use scalar::Scalar;
