//! Which request headers describe the API, and which belong to the transport, the browser, the
//! proxies and the tracing in between.
//!
//! Only headers that describe the API become `in: header` parameters. Left out (see
//! [`is_infrastructure`]):
//! * hop-by-hop and framing: `connection`, `keep-alive`, `te`, `trailer`, `transfer-encoding`,
//!   `upgrade`, `proxy-*`, `host`, `content-length`, `expect`;
//! * what OpenAPI describes elsewhere or ignores as a parameter: `content-type`, `accept`,
//!   `authorization`, `cookie` (cookies become `in: cookie` parameters);
//! * content negotiation and caching done by clients and CDNs: `accept-encoding`,
//!   `accept-language`, `accept-charset`, `if-none-match`, `if-modified-since`, `cache-control`,
//!   `pragma`;
//! * proxies and CDNs: `forwarded`, `via`, `x-forwarded-*`, `x-real-ip`, `true-client-ip`,
//!   `x-client-ip`, `x-cluster-client-ip`, `x-original-*`, `cdn-loop`, `cf-*`, `x-amz-cf-*`,
//!   `fastly-*`, `akamai-*`, `x-akamai-*`, `x-envoy-*`, `x-istio-*`, `x-vercel-*`,
//!   `x-scheme`, `x-request-start`;
//! * tracing and correlation: `traceparent`, `tracestate`, `baggage`, `x-request-id`,
//!   `request-id`, `x-correlation-id`, `x-amzn-trace-id`, `b3`, `x-b3-*`,
//!   `x-cloud-trace-context`, `x-datadog-*`, `x-ot-span-context`, `sentry-trace`, `newrelic`,
//!   `x-newrelic-*`, `x-span-*`, `x-trace-*`;
//! * what browsers add by themselves: `user-agent`, `origin`, `referer`, `sec-*`, `priority`,
//!   `dnt`, `upgrade-insecure-requests`, `save-data`, `purpose`, `x-requested-with`, client hints
//!   (`device-memory`, `viewport-width`, `dpr`, `rtt`, `downlink`, `ect`).
//!
//! Conditional headers that change what a write does (`if-match`, `if-unmodified-since`) stay.

/// Exact names left out.
const EXACT: &[&str] = &[
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "b3",
    "baggage",
    "cache-control",
    "cdn-loop",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "device-memory",
    "dnt",
    "downlink",
    "dpr",
    "ect",
    "expect",
    "forwarded",
    "host",
    "if-modified-since",
    "if-none-match",
    "keep-alive",
    "newrelic",
    "origin",
    "pragma",
    "priority",
    "purpose",
    "referer",
    "request-id",
    "rtt",
    "save-data",
    "sentry-trace",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "true-client-ip",
    "upgrade",
    "upgrade-insecure-requests",
    "user-agent",
    "via",
    "viewport-width",
    "x-amzn-trace-id",
    "x-client-ip",
    "x-cloud-trace-context",
    "x-cluster-client-ip",
    "x-correlation-id",
    "x-ot-span-context",
    "x-real-ip",
    "x-request-id",
    "x-request-start",
    "x-requested-with",
    "x-scheme",
];

/// Name prefixes left out.
const PREFIXES: &[&str] = &[
    "akamai-",
    "cf-",
    "fastly-",
    "proxy-",
    "sec-",
    "x-akamai-",
    "x-amz-cf-",
    "x-b3-",
    "x-datadog-",
    "x-envoy-",
    "x-forwarded-",
    "x-istio-",
    "x-newrelic-",
    "x-original-",
    "x-span-",
    "x-trace-",
    "x-vercel-",
];

/// Whether a lower-case request header belongs to the transport, a proxy, a browser or tracing
/// rather than to the API (see the module documentation for the list). HTTP/2 and HTTP/3
/// pseudo-headers (`:authority`, `:path`…), which some producers capture as headers, are
/// transport too.
pub(crate) fn is_infrastructure(name: &str) -> bool {
    name.starts_with(':')
        || EXACT.binary_search(&name).is_ok()
        || PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_lower_case() {
        assert!(EXACT.windows(2).all(|w| w[0] < w[1]));
        assert!(
            EXACT
                .iter()
                .chain(PREFIXES)
                .all(|n| *n == n.to_ascii_lowercase())
        );
    }

    #[test]
    fn classification() {
        for name in [
            "host",
            "x-forwarded-for",
            "cf-ray",
            "sec-ch-ua",
            "traceparent",
            "x-b3-traceid",
            "x-datadog-trace-id",
            "proxy-connection",
            "user-agent",
            "x-envoy-upstream-service-time",
            ":authority",
            ":path",
        ] {
            assert!(is_infrastructure(name), "{name}");
        }
        for name in [
            "x-tenant-id",
            "if-match",
            "idempotency-key",
            "x-csrf-token",
            "stripe-version",
        ] {
            assert!(!is_infrastructure(name), "{name}");
        }
    }
}
