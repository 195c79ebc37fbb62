//! One proxied exchange: whether to mirror it, and the NTA telemetry object that describes it.
//!
//! The telemetry is built with the shared [`wire::nta`] types, so the Worker writes exactly what
//! Reconstructor decodes: the Invicti Worker's shape (`requestID`, `truncatedBody`, headers as
//! `[{key, value}]`, the status as a string, bodies as standard base64, times in epoch
//! milliseconds) without its mistakes. `destinationAddress` is `host:port` with the URL's own
//! port when it has one; `path` keeps the query string; bodies of any size up to the cap are
//! encoded, and `truncatedBody` says when they were cut.

use std::fmt;

use base64::Engine as _;
use url::Url;
use wire::Headers;
use wire::nta::{Common, Request, Response, Telemetry};

use crate::capture::CapturedBody;
use crate::rules::{looks_like_api_request, looks_like_api_response, sampled};
use crate::settings::Settings;

/// What the Worker knows about a request before forwarding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// The method as received.
    pub method: String,
    /// The full URL as the runtime sees it (`request.url`).
    pub url: Url,
    /// Name and value pairs as the runtime lists them (lower-case names, repeated headers
    /// joined with `, `, `set-cookie` kept apart).
    pub headers: Vec<(String, String)>,
    /// When the request arrived, in epoch milliseconds.
    pub time_ms: i64,
}

/// What the Worker knows about the origin's response once its headers have arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFacts {
    /// The status code.
    pub status: u16,
    /// Name and value pairs, as for the request.
    pub headers: Vec<(String, String)>,
    /// When the response headers arrived, in epoch milliseconds.
    pub time_ms: i64,
}

/// Why an exchange is not mirrored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No usable `NTA_TELEMETRY_ENDPOINT`, or a sampling rate of 0.
    Off,
    /// The request goes to the receiver itself.
    Receiver,
    /// `EXCLUDED_HTTP_METHODS`.
    Method,
    /// `EXCLUDED_TRAFFIC_WITH_HEADERS`; the header's name.
    Header(String),
    /// `EXCLUDED_USER_AGENTS`.
    UserAgent,
    /// `API_TRAFFIC_ONLY` and the request does not look like an API call.
    NotApiRequest,
    /// `NTA_SAMPLING_RATE`.
    NotSampled,
    /// `EXCLUDED_HTTP_STATUS_CODES`.
    Status(u16),
    /// `API_TRAFFIC_ONLY` and the response is neither JSON nor empty of a type.
    NotApiResponse,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Off => f.write_str("mirroring is off"),
            Skip::Receiver => f.write_str("request to the telemetry receiver"),
            Skip::Method => f.write_str("excluded method"),
            Skip::Header(name) => write!(f, "excluded header {name}"),
            Skip::UserAgent => f.write_str("excluded user agent"),
            Skip::NotApiRequest => f.write_str("request does not look like an API call"),
            Skip::NotSampled => f.write_str("not sampled"),
            Skip::Status(status) => write!(f, "excluded status {status}"),
            Skip::NotApiResponse => f.write_str("response is not JSON"),
        }
    }
}

/// The value of header `name` (case-insensitive); the first one when repeated.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn excluded_header(settings: &Settings, headers: &[(String, String)]) -> Result<(), Skip> {
    match headers
        .iter()
        .find(|(name, _)| settings.excluded_headers.contains(name))
    {
        Some((name, _)) => Err(Skip::Header(name.to_ascii_lowercase())),
        None => Ok(()),
    }
}

/// Whether `url` is the receiver's own URL (same origin and path), which is never mirrored.
fn is_receiver(settings: &Settings, url: &Url) -> bool {
    settings
        .endpoint
        .as_ref()
        .is_some_and(|endpoint| endpoint.origin() == url.origin() && endpoint.path() == url.path())
}

/// Decides on the request side, before anything is copied. `draw` is uniform in `[0, 1)` and
/// decides sampling.
pub fn check_request(settings: &Settings, request: &RequestFacts, draw: f64) -> Result<(), Skip> {
    if !settings.mirroring() {
        return Err(Skip::Off);
    }
    if is_receiver(settings, &request.url) {
        return Err(Skip::Receiver);
    }
    if settings.excluded_methods.contains(&request.method) {
        return Err(Skip::Method);
    }
    excluded_header(settings, &request.headers)?;
    if settings
        .excluded_user_agents
        .any_within(header(&request.headers, "user-agent").unwrap_or_default())
    {
        return Err(Skip::UserAgent);
    }
    if settings.api_traffic_only
        && !looks_like_api_request(&request.url, header(&request.headers, "content-type"))
    {
        return Err(Skip::NotApiRequest);
    }
    if !sampled(settings.sampling_rate, draw) {
        return Err(Skip::NotSampled);
    }
    Ok(())
}

/// Decides on the response side, once the origin's status and headers are known.
pub fn check_response(settings: &Settings, response: &ResponseFacts) -> Result<(), Skip> {
    if settings.excluded_statuses.contains(response.status) {
        return Err(Skip::Status(response.status));
    }
    excluded_header(settings, &response.headers)?;
    if settings.api_traffic_only
        && !looks_like_api_response(header(&response.headers, "content-type"))
    {
        return Err(Skip::NotApiResponse);
    }
    Ok(())
}

/// `destinationAddress`: the host and the URL's port, or the scheme's default port when the
/// URL has none (`api.example:8443`, `api.example:443`, `[::1]:8080`).
pub fn destination_address(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `request.host`: the host with the URL's own port, as `Host` would carry it.
pub fn request_host(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `request.path`: path and query string; the fragment is dropped.
pub fn request_path(url: &Url) -> String {
    match url.query() {
        Some(query) if !query.is_empty() => format!("{}?{}", url.path(), query),
        _ => url.path().to_owned(),
    }
}

fn common(headers: &[(String, String)], body: &CapturedBody, time_ms: i64) -> Common {
    Common::new()
        .with_version("1.1")
        .with_headers(Headers::from_pairs(
            headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.clone())),
        ))
        .with_body(base64::engine::general_purpose::STANDARD.encode(body.bytes()))
        .with_truncated_body(body.is_truncated())
        .with_time(time_ms)
}

/// The NTA telemetry object for one exchange.
pub fn telemetry(
    settings: &Settings,
    request: &RequestFacts,
    request_body: &CapturedBody,
    response: &ResponseFacts,
    response_body: &CapturedBody,
) -> Telemetry {
    let headers = &request.headers;
    Telemetry::new()
        .with_request_id(header(headers, "x-request-id").unwrap_or_default())
        .with_scheme(request.url.scheme())
        .with_destination_address(destination_address(&request.url))
        .with_destination_namespace(settings.namespace.clone())
        .with_source_address(header(headers, "cf-connecting-ip").unwrap_or_default())
        .with_request(
            Request::new(request.method.clone(), request_path(&request.url))
                .with_host(request_host(&request.url))
                .with_common(common(headers, request_body, request.time_ms)),
        )
        .with_response(Response::new(response.status).with_common(common(
            &response.headers,
            response_body,
            response.time_ms,
        )))
}

/// The headers of the POST to the receiver: JSON, and the token both ways Reconstructor and
/// APIClarity accept it.
pub fn receiver_headers(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(token) = &settings.token {
        headers.push(("authorization", format!("Bearer {token}")));
        headers.push(("x-trace-source-token", token.clone()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::settings;

    fn configured(extra: &[(&str, &str)]) -> Settings {
        let mut vars = vec![(
            settings::NTA_TELEMETRY_ENDPOINT,
            "https://nta.example/api/telemetry",
        )];
        vars.extend_from_slice(extra);
        let (s, warnings) = Settings::from_lookup(|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        assert!(warnings.is_empty(), "{warnings:?}");
        s
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> RequestFacts {
        RequestFacts {
            method: method.into(),
            url: Url::parse(url).unwrap(),
            headers: pairs(headers),
            time_ms: 1_763_700_000_000,
        }
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> ResponseFacts {
        ResponseFacts {
            status,
            headers: pairs(headers),
            time_ms: 1_763_700_000_042,
        }
    }

    #[test]
    fn request_filters() {
        let s = configured(&[(
            settings::EXCLUDED_TRAFFIC_WITH_HEADERS,
            "X-Internal, X-Skip",
        )]);
        let api = "https://shop.example/api/v1/orders?page=2";
        let ok = |r: &RequestFacts| check_request(&s, r, 0.5);
        assert_eq!(ok(&request("GET", api, &[])), Ok(()));
        assert_eq!(ok(&request("options", api, &[])), Err(Skip::Method));
        assert_eq!(ok(&request("PATCH", api, &[])), Ok(()));
        assert_eq!(
            ok(&request("GET", api, &[("x-skip", "1")])),
            Err(Skip::Header("x-skip".into()))
        );
        assert_eq!(
            ok(&request(
                "GET",
                api,
                &[("User-Agent", "kube-probe/1.29 k8s")]
            )),
            Err(Skip::UserAgent)
        );
        assert_eq!(
            ok(&request("GET", "https://shop.example/assets/app.js", &[])),
            Err(Skip::NotApiRequest)
        );
        assert_eq!(
            ok(&request(
                "POST",
                "https://nta.example/api/telemetry",
                &[("content-type", "application/json")]
            )),
            Err(Skip::Receiver)
        );
        // The receiver's host on another path is ordinary traffic.
        assert_eq!(
            ok(&request("GET", "https://nta.example/api/v1/x", &[])),
            Ok(())
        );

        let unfiltered = configured(&[
            (settings::API_TRAFFIC_ONLY, "false"),
            (settings::EXCLUDED_USER_AGENTS, ""),
        ]);
        assert_eq!(
            check_request(
                &unfiltered,
                &request(
                    "GET",
                    "https://shop.example/assets/app.js",
                    &[("user-agent", "Prometheus/2")]
                ),
                0.5
            ),
            Ok(())
        );

        let sampled = configured(&[(settings::NTA_SAMPLING_RATE, "10%")]);
        assert_eq!(
            check_request(&sampled, &request("GET", api, &[]), 0.05),
            Ok(())
        );
        assert_eq!(
            check_request(&sampled, &request("GET", api, &[]), 0.5),
            Err(Skip::NotSampled)
        );

        assert_eq!(
            check_request(&Settings::default(), &request("GET", api, &[]), 0.0),
            Err(Skip::Off)
        );
    }

    #[test]
    fn response_filters() {
        let s = configured(&[(settings::EXCLUDED_TRAFFIC_WITH_HEADERS, "x-private")]);
        let json = [("content-type", "application/json")];
        assert_eq!(check_response(&s, &response(200, &json)), Ok(()));
        assert_eq!(check_response(&s, &response(204, &[])), Ok(()));
        assert_eq!(
            check_response(&s, &response(404, &json)),
            Err(Skip::Status(404))
        );
        assert_eq!(
            check_response(&s, &response(101, &[])),
            Err(Skip::Status(101))
        );
        assert_eq!(
            check_response(&s, &response(200, &[("content-type", "text/html")])),
            Err(Skip::NotApiResponse)
        );
        assert_eq!(
            check_response(&s, &response(200, &[("X-Private", "1")])),
            Err(Skip::Header("x-private".into()))
        );
        let all = configured(&[
            (settings::EXCLUDED_HTTP_STATUS_CODES, ""),
            (settings::API_TRAFFIC_ONLY, "false"),
        ]);
        for status in [101, 302, 404, 503] {
            assert_eq!(
                check_response(&all, &response(status, &[("content-type", "text/html")])),
                Ok(())
            );
        }
    }

    #[test]
    fn addresses_hosts_and_paths() {
        for (url, destination, host, path) in [
            (
                "https://api.example/v1/users?active=true#top",
                "api.example:443",
                "api.example",
                "/v1/users?active=true",
            ),
            (
                "https://api.example:8443/v1/users",
                "api.example:8443",
                "api.example:8443",
                "/v1/users",
            ),
            ("http://api.example/", "api.example:80", "api.example", "/"),
            (
                "http://127.0.0.1:8080/a?",
                "127.0.0.1:8080",
                "127.0.0.1:8080",
                "/a",
            ),
            ("https://[::1]/x", "[::1]:443", "[::1]", "/x"),
            (
                "http://[2001:db8::1]:81/x",
                "[2001:db8::1]:81",
                "[2001:db8::1]:81",
                "/x",
            ),
            (
                "https://API.Example/a%20b?q=%C3%A9&x=a+b",
                "api.example:443",
                "api.example",
                "/a%20b?q=%C3%A9&x=a+b",
            ),
        ] {
            let url = Url::parse(url).unwrap();
            assert_eq!(destination_address(&url), destination, "{url}");
            assert_eq!(request_host(&url), host, "{url}");
            assert_eq!(request_path(&url), path, "{url}");
            // What Reconstructor reads back.
            let written = destination_address(&url);
            let parsed = wire::address::parse_destination_address(&written);
            assert_eq!(
                parsed.and_then(|d| d.port),
                url.port_or_known_default(),
                "{url}"
            );
        }
    }

    #[test]
    fn builds_the_nta_telemetry_object() {
        let s = configured(&[(settings::NTA_NAMESPACE, "shop")]);
        let req = request(
            "POST",
            "https://api.shop.example:8443/api/v1/orders?expand=items",
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", "203.0.113.7"),
                ("x-request-id", "req-1"),
                ("Authorization", "Bearer abc"),
            ],
        );
        let resp = response(
            201,
            &[
                ("content-type", "application/json"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
            ],
        );
        let req_body = CapturedBody::from_bytes(1024, br#"{"a":1}"#);
        let resp_body = CapturedBody::from_bytes(4, br#"{"id":7}"#);
        let t = telemetry(&s, &req, &req_body, &resp, &resp_body);
        let value = serde_json::to_value(&t).unwrap();
        assert_eq!(
            value,
            json!({
                "requestID": "req-1",
                "scheme": "https",
                "destinationAddress": "api.shop.example:8443",
                "destinationNamespace": "shop",
                "sourceAddress": "203.0.113.7",
                "request": {
                    "method": "POST",
                    "path": "/api/v1/orders?expand=items",
                    "host": "api.shop.example:8443",
                    "common": {
                        "version": "1.1",
                        "headers": [
                            {"key": "content-type", "value": "application/json"},
                            {"key": "cf-connecting-ip", "value": "203.0.113.7"},
                            {"key": "x-request-id", "value": "req-1"},
                            {"key": "authorization", "value": "Bearer abc"}
                        ],
                        "body": "eyJhIjoxfQ==",
                        "truncatedBody": false,
                        "time": 1_763_700_000_000_i64
                    }
                },
                "response": {
                    "statusCode": "201",
                    "common": {
                        "version": "1.1",
                        "headers": [
                            {"key": "content-type", "value": "application/json"},
                            {"key": "set-cookie", "value": "a=1"},
                            {"key": "set-cookie", "value": "b=2"}
                        ],
                        "body": "eyJpZA==",
                        "truncatedBody": true,
                        "time": 1_763_700_000_042_i64
                    }
                }
            })
        );
        // And Reconstructor's decoder reads it back unchanged.
        let text = serde_json::to_string(&t).unwrap();
        let decoded: Telemetry = serde_json::from_str(&text).unwrap();
        assert_eq!(decoded, t);
    }

    #[test]
    fn empty_bodies_and_missing_headers() {
        let s = configured(&[]);
        let t = telemetry(
            &s,
            &request("GET", "http://api.example/v1/ping", &[]),
            &CapturedBody::new(10),
            &response(200, &[]),
            &CapturedBody::new(10),
        );
        let v: Value = serde_json::to_value(&t).unwrap();
        assert_eq!(v["requestID"], "");
        assert_eq!(v["sourceAddress"], "");
        assert_eq!(v["destinationNamespace"], "");
        assert_eq!(v["request"]["common"]["body"], "");
        assert_eq!(v["request"]["common"]["headers"], json!([]));
        assert_eq!(v["response"]["common"]["truncatedBody"], false);
    }

    #[test]
    fn large_bodies_encode_in_full() {
        // The Invicti Worker's encoder overflows the stack above ~120 KB.
        let body: Vec<u8> = (0..=255u8).cycle().take(1_048_576 + 10).collect();
        let s = configured(&[]);
        let captured = CapturedBody::from_bytes(s.max_response_body, &body);
        let t = telemetry(
            &s,
            &request("GET", "http://api.example/v1/big", &[]),
            &CapturedBody::new(0),
            &response(200, &[]),
            &captured,
        );
        let common = t.response.unwrap().common.unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(common.body.unwrap())
            .unwrap();
        assert_eq!(decoded, &body[..1_048_576]);
        assert_eq!(common.truncated_body, Some(wire::Scalar::Bool(true)));
    }

    #[test]
    fn receiver_headers_carry_the_token_both_ways() {
        assert_eq!(
            receiver_headers(&configured(&[])),
            [("content-type", "application/json".to_owned())]
        );
        let h = receiver_headers(&configured(&[(settings::NTA_TOKEN, "t0k3n")]));
        assert_eq!(
            h[1..],
            [
                ("authorization", "Bearer t0k3n".to_owned()),
                ("x-trace-source-token", "t0k3n".to_owned())
            ]
        );
    }
}
