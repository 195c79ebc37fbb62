//! The Worker's configuration, read from its variables and secrets.
//!
//! The names and defaults are those of the Invicti NTA Worker, so an existing `wrangler.toml`
//! keeps working. Unlike that Worker, nothing here can fail: an undefined variable means its
//! default, and a value that cannot be used is reported as a warning and replaced by the default
//! (or, for the endpoint, turns mirroring off), because a configuration mistake must never change
//! what the client gets.

use std::fmt;

use url::Url;

use crate::rules::{NameList, StatusPatterns};

/// Where telemetry is POSTed; unset or empty means the Worker only proxies.
pub const NTA_TELEMETRY_ENDPOINT: &str = "NTA_TELEMETRY_ENDPOINT";
/// Secret: sent as `Authorization: Bearer <token>` and `X-Trace-Source-Token: <token>`.
pub const NTA_TOKEN: &str = "NTA_TOKEN";
/// `destinationNamespace` of every exchange.
pub const NTA_NAMESPACE: &str = "NTA_NAMESPACE";
/// Bytes of each request body copied into the telemetry.
pub const MAX_API_REQUEST_BODY_SIZE: &str = "MAX_API_REQUEST_BODY_SIZE";
/// Bytes of each response body copied into the telemetry.
pub const MAX_API_RESPONSE_BODY_SIZE: &str = "MAX_API_RESPONSE_BODY_SIZE";
/// Status patterns (`4xx`, `20x`, `404`) whose exchanges are not mirrored.
pub const EXCLUDED_HTTP_STATUS_CODES: &str = "EXCLUDED_HTTP_STATUS_CODES";
/// Methods whose exchanges are not mirrored.
pub const EXCLUDED_HTTP_METHODS: &str = "EXCLUDED_HTTP_METHODS";
/// Header names whose presence (on the request or the response) stops mirroring.
pub const EXCLUDED_TRAFFIC_WITH_HEADERS: &str = "EXCLUDED_TRAFFIC_WITH_HEADERS";
/// Substrings of `User-Agent` whose requests are not mirrored (health checkers, scrapers).
pub const EXCLUDED_USER_AGENTS: &str = "EXCLUDED_USER_AGENTS";
/// `true`: mirror only what looks like API traffic (see [`crate::rules`]).
pub const API_TRAFFIC_ONLY: &str = "API_TRAFFIC_ONLY";
/// Fraction of the eligible exchanges mirrored, from 0 to 1.
pub const NTA_SAMPLING_RATE: &str = "NTA_SAMPLING_RATE";
/// Name of a service binding to send requests to instead of the route's origin.
pub const ORIGIN_SERVICE_BINDING: &str = "ORIGIN_SERVICE_BINDING";

/// Default of [`MAX_API_REQUEST_BODY_SIZE`]: 256 KiB.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 262_144;
/// Default of [`MAX_API_RESPONSE_BODY_SIZE`]: 1 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 1_048_576;
/// Default of [`EXCLUDED_HTTP_STATUS_CODES`].
pub const DEFAULT_EXCLUDED_STATUS_CODES: &str = "1xx,3xx,4xx,5xx";
/// Default of [`EXCLUDED_HTTP_METHODS`].
pub const DEFAULT_EXCLUDED_METHODS: &str = "CONNECT,OPTIONS,TRACE";
/// Default of [`EXCLUDED_USER_AGENTS`]: the Invicti Worker's fixed list.
pub const DEFAULT_EXCLUDED_USER_AGENTS: &str = "ELB-HealthChecker,Prometheus,k8s";

/// Body caps above this are lowered to it: a Worker has 128 MB of memory, and the receiver
/// has to take the base64 of both bodies in one JSON document.
pub const MAX_BODY_CAP: usize = 16 * 1024 * 1024;

/// Everything the Worker reads from its environment.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// The receiver's URL; `None` turns mirroring off.
    pub endpoint: Option<Url>,
    /// The bearer token for the receiver, if any.
    pub token: Option<String>,
    /// `destinationNamespace`.
    pub namespace: String,
    /// Request body bytes kept.
    pub max_request_body: usize,
    /// Response body bytes kept.
    pub max_response_body: usize,
    /// Statuses not mirrored.
    pub excluded_statuses: StatusPatterns,
    /// Methods not mirrored.
    pub excluded_methods: NameList,
    /// Header names that stop mirroring.
    pub excluded_headers: NameList,
    /// User-agent substrings not mirrored.
    pub excluded_user_agents: NameList,
    /// Whether only API-looking traffic is mirrored.
    pub api_traffic_only: bool,
    /// Fraction mirrored, in `[0, 1]`.
    pub sampling_rate: f64,
    /// The service binding that stands for the origin, if any.
    pub origin_binding: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .field("max_request_body", &self.max_request_body)
            .field("max_response_body", &self.max_response_body)
            .field("excluded_statuses", &self.excluded_statuses)
            .field("excluded_methods", &self.excluded_methods)
            .field("excluded_headers", &self.excluded_headers)
            .field("excluded_user_agents", &self.excluded_user_agents)
            .field("api_traffic_only", &self.api_traffic_only)
            .field("sampling_rate", &self.sampling_rate)
            .field("origin_binding", &self.origin_binding)
            .finish()
    }
}

impl Default for Settings {
    /// What an empty environment means: proxy only, with the Invicti defaults for the rest.
    fn default() -> Self {
        Self::from_lookup(|_| None).0
    }
}

impl Settings {
    /// Reads every setting through `lookup`, which returns a variable's text (numbers and
    /// booleans given as JSON in `wrangler.toml` arrive already turned into text) or `None` when
    /// it is not defined. Returns the settings and one warning per unusable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let text = |name: &str| lookup(name).map(|v| v.trim().to_owned());

        let endpoint = match text(NTA_TELEMETRY_ENDPOINT).filter(|v| !v.is_empty()) {
            None => None,
            Some(raw) => match Url::parse(&raw) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    warnings.push(format!(
                        "{NTA_TELEMETRY_ENDPOINT} {raw:?} is not an http(s) URL; mirroring is off"
                    ));
                    None
                }
            },
        };

        let mut size = |name: &str, default: usize| match text(name).filter(|v| !v.is_empty()) {
            None => default,
            Some(raw) => match parse_size(&raw) {
                Some(n) if n <= MAX_BODY_CAP => n,
                Some(_) => {
                    warnings.push(format!(
                        "{name} {raw:?} is above {MAX_BODY_CAP}; using {MAX_BODY_CAP}"
                    ));
                    MAX_BODY_CAP
                }
                None => {
                    warnings.push(format!(
                        "{name} {raw:?} is not a number of bytes; using {default}"
                    ));
                    default
                }
            },
        };
        let max_request_body = size(MAX_API_REQUEST_BODY_SIZE, DEFAULT_MAX_REQUEST_BODY);
        let max_response_body = size(MAX_API_RESPONSE_BODY_SIZE, DEFAULT_MAX_RESPONSE_BODY);

        let list = |name: &str, default: &str| text(name).unwrap_or_else(|| default.to_owned());
        let (excluded_statuses, invalid) = StatusPatterns::parse(&list(
            EXCLUDED_HTTP_STATUS_CODES,
            DEFAULT_EXCLUDED_STATUS_CODES,
        ));
        if !invalid.is_empty() {
            warnings.push(format!(
                "{EXCLUDED_HTTP_STATUS_CODES}: ignoring {invalid:?} (use three digits or x, like 4xx or 404)"
            ));
        }

        let api_traffic_only = match text(API_TRAFFIC_ONLY).filter(|v| !v.is_empty()) {
            None => true,
            Some(raw) => parse_bool(&raw).unwrap_or_else(|| {
                warnings.push(format!(
                    "{API_TRAFFIC_ONLY} {raw:?} is not true or false; using true"
                ));
                true
            }),
        };

        let sampling_rate = match text(NTA_SAMPLING_RATE).filter(|v| !v.is_empty()) {
            None => 1.0,
            Some(raw) => parse_rate(&raw).unwrap_or_else(|| {
                warnings.push(format!(
                    "{NTA_SAMPLING_RATE} {raw:?} is not a fraction from 0 to 1 (or a percentage); using 1"
                ));
                1.0
            }),
        };

        let settings = Self {
            endpoint,
            token: lookup(NTA_TOKEN).filter(|t| !t.trim().is_empty()),
            namespace: text(NTA_NAMESPACE).unwrap_or_default(),
            max_request_body,
            max_response_body,
            excluded_statuses,
            excluded_methods: NameList::parse(&list(
                EXCLUDED_HTTP_METHODS,
                DEFAULT_EXCLUDED_METHODS,
            )),
            excluded_headers: NameList::parse(&list(EXCLUDED_TRAFFIC_WITH_HEADERS, "")),
            excluded_user_agents: NameList::parse(&list(
                EXCLUDED_USER_AGENTS,
                DEFAULT_EXCLUDED_USER_AGENTS,
            )),
            api_traffic_only,
            sampling_rate,
            origin_binding: text(ORIGIN_SERVICE_BINDING).filter(|v| !v.is_empty()),
        };
        (settings, warnings)
    }

    /// Whether exchanges are mirrored at all.
    pub fn mirroring(&self) -> bool {
        self.endpoint.is_some() && self.sampling_rate > 0.0
    }
}

/// A byte count: `262144`, `262144.0` (a JSON number), or with a unit `256KiB`, `1 MiB`,
/// `1MB` (units are powers of 1024, as the Invicti comments use them).
fn parse_size(raw: &str) -> Option<usize> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return None,
    };
    let number: f64 = number.parse().ok()?;
    if !number.is_finite() || number < 0.0 || number.fract() != 0.0 {
        return None;
    }
    let bytes = number * multiplier as f64;
    // Far above any cap; keeps the conversion below exact.
    if bytes > 1e15 {
        return Some(usize::MAX);
    }
    usize::try_from(bytes as u64).ok()
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `0.25`, `1`, or `25%`.
fn parse_rate(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let (number, scale) = match raw.strip_suffix('%') {
        Some(percent) => (percent.trim(), 100.0),
        None => (raw, 1.0),
    };
    let rate = number.parse::<f64>().ok()? / scale;
    (rate.is_finite() && (0.0..=1.0).contains(&rate)).then_some(rate)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> (Settings, Vec<String>) {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn undefined_variables_mean_the_defaults() {
        let (s, warnings) = settings(&[]);
        assert!(warnings.is_empty());
        assert_eq!(s, Settings::default());
        assert!(!s.mirroring());
        assert_eq!(s.max_request_body, 262_144);
        assert_eq!(s.max_response_body, 1_048_576);
        for status in [101, 302, 404, 503] {
            assert!(s.excluded_statuses.contains(status));
        }
        assert!(!s.excluded_statuses.contains(200));
        assert!(s.excluded_methods.contains("OPTIONS"));
        assert!(s.excluded_headers.is_empty());
        assert!(s.excluded_user_agents.any_within("Prometheus/2"));
        assert!(s.api_traffic_only);
        assert_eq!(s.sampling_rate, 1.0);
        assert_eq!(s.origin_binding, None);
        assert_eq!(s.token, None);
        assert_eq!(s.namespace, "");
    }

    #[test]
    fn the_invicti_wrangler_toml_works_unchanged() {
        // Numbers arrive as JSON numbers turned into text.
        let (s, warnings) = settings(&[
            (NTA_TELEMETRY_ENDPOINT, "https://nta.example/api/telemetry"),
            (MAX_API_REQUEST_BODY_SIZE, "262144"),
            (MAX_API_RESPONSE_BODY_SIZE, "1048576"),
            (EXCLUDED_HTTP_STATUS_CODES, "1xx,3xx,4xx,5xx"),
            (EXCLUDED_HTTP_METHODS, "CONNECT,OPTIONS,TRACE"),
            (EXCLUDED_TRAFFIC_WITH_HEADERS, ""),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(s.mirroring());
        assert_eq!(
            s.endpoint.as_ref().map(Url::as_str),
            Some("https://nta.example/api/telemetry")
        );
    }

    #[test]
    fn empty_lists_exclude_nothing() {
        let (s, warnings) = settings(&[
            (EXCLUDED_HTTP_STATUS_CODES, ""),
            (EXCLUDED_HTTP_METHODS, " "),
            (EXCLUDED_USER_AGENTS, ""),
        ]);
        assert!(warnings.is_empty());
        assert!(!s.excluded_statuses.contains(500));
        assert!(!s.excluded_methods.contains("OPTIONS"));
        assert!(!s.excluded_user_agents.any_within("Prometheus"));
    }

    #[test]
    fn unusable_values_fall_back_with_a_warning() {
        let (s, warnings) = settings(&[
            (NTA_TELEMETRY_ENDPOINT, "nta.example/api/telemetry"),
            (MAX_API_REQUEST_BODY_SIZE, "lots"),
            (MAX_API_RESPONSE_BODY_SIZE, "-5"),
            (EXCLUDED_HTTP_STATUS_CODES, "4xx,5XX,oops"),
            (API_TRAFFIC_ONLY, "maybe"),
            (NTA_SAMPLING_RATE, "1.5"),
        ]);
        assert_eq!(warnings.len(), 6, "{warnings:#?}");
        assert!(warnings[0].contains("not an http(s) URL"));
        assert!(warnings[3].contains("\"oops\""));
        assert_eq!(s.endpoint, None);
        assert_eq!(s.max_request_body, DEFAULT_MAX_REQUEST_BODY);
        assert_eq!(s.max_response_body, DEFAULT_MAX_RESPONSE_BODY);
        assert!(s.excluded_statuses.contains(404) && s.excluded_statuses.contains(500));
        assert!(s.api_traffic_only);
        assert_eq!(s.sampling_rate, 1.0);
        for scheme_less in ["ftp://nta.example/x", "mailto:a@b.example"] {
            let (s, w) = settings(&[(NTA_TELEMETRY_ENDPOINT, scheme_less)]);
            assert_eq!((s.endpoint, w.len()), (None, 1), "{scheme_less}");
        }
    }

    #[test]
    fn sizes_rates_and_flags() {
        assert_eq!(parse_size("262144"), Some(262_144));
        assert_eq!(parse_size(" 262144.0 "), Some(262_144));
        assert_eq!(parse_size("256KiB"), Some(262_144));
        assert_eq!(parse_size("1 MiB"), Some(1_048_576));
        assert_eq!(parse_size("1mb"), Some(1_048_576));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1.5"), None);
        assert_eq!(parse_size("1e3"), None);
        assert_eq!(parse_size("12 GB"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("1e400"), None);
        assert_eq!(parse_size("99999999999999999999"), Some(usize::MAX));

        let (s, w) = settings(&[(MAX_API_RESPONSE_BODY_SIZE, "1 GiB")]);
        assert_eq!(
            (s.max_response_body, w.len()),
            (DEFAULT_MAX_RESPONSE_BODY, 1)
        );
        let (s, w) = settings(&[(MAX_API_RESPONSE_BODY_SIZE, "1024 MiB")]);
        assert_eq!((s.max_response_body, w.len()), (MAX_BODY_CAP, 1));

        assert_eq!(parse_rate("0.25"), Some(0.25));
        assert_eq!(parse_rate("25%"), Some(0.25));
        assert_eq!(parse_rate("0"), Some(0.0));
        assert_eq!(parse_rate("101%"), None);
        assert_eq!(parse_rate("NaN"), None);
        let (s, _) = settings(&[
            (
                NTA_TELEMETRY_ENDPOINT,
                "http://127.0.0.1:8090/api/telemetry",
            ),
            (NTA_SAMPLING_RATE, "0"),
        ]);
        assert!(!s.mirroring());

        for (raw, want) in [
            ("false", false),
            ("FALSE", false),
            ("0", false),
            ("true", true),
        ] {
            let (s, w) = settings(&[(API_TRAFFIC_ONLY, raw)]);
            assert_eq!((s.api_traffic_only, w.len()), (want, 0), "{raw}");
        }
    }

    #[test]
    fn token_binding_and_namespace() {
        let (s, _) = settings(&[
            (NTA_TOKEN, "s3cret"),
            (ORIGIN_SERVICE_BINDING, " MCP "),
            (NTA_NAMESPACE, "shop"),
        ]);
        assert_eq!(s.token.as_deref(), Some("s3cret"));
        assert_eq!(s.origin_binding.as_deref(), Some("MCP"));
        assert_eq!(s.namespace, "shop");
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("<redacted>"));
        let (s, _) = settings(&[(NTA_TOKEN, "  "), (ORIGIN_SERVICE_BINDING, "")]);
        assert_eq!((s.token, s.origin_binding), (None, None));
    }
}
