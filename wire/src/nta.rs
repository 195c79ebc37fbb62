//! The NTA / APIClarity telemetry object (`POST /api/telemetry`).
//!
//! One object per HTTP exchange. Every field is optional at this level because real producers omit
//! almost any of them (the Invicti Worker sends only `{"response": ...}` or even `{}` when its body
//! encoder fails); the server decides what is required. Unknown members are ignored.
//!
//! String fields accept only strings or `null`; fields whose type producers disagree on are
//! [`Scalar`]s and never fail decoding.

use serde::{Deserialize, Serialize};

use crate::headers::Headers;
use crate::scalar::Scalar;

/// One mirrored exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Telemetry {
    /// `x-request-id` of the exchange; usually `""` from the Worker, a UUID from Kong.
    #[serde(
        rename = "requestID",
        alias = "requestId",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    /// `"https"` or `"http"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Where the request went; see [`crate::address::parse_destination_address`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_address: Option<String>,
    /// A Kubernetes namespace, or `""`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_namespace: Option<String>,
    /// The client; see [`crate::address::parse_client_address`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    /// The request, absent when the producer lost it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// The response, absent for timeouts, upgrades, or when the producer lost it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

/// The request half of an exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The method as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path plus query string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Host, possibly with `:port`; see [`crate::address::parse_authority`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Version, headers, body and time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common: Option<Common>,
}

/// The response half of an exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The status, a string (`"200"`) from the Worker and a number from Kong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<Scalar>,
    /// Version, headers, body and time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common: Option<Common>,
}

/// What requests and responses share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// HTTP version: `"1.1"` from the Worker whatever was used, `"1.100000"` from Kong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Scalar>,
    /// The headers, secrets included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// Standard base64 of the (possibly cut) body; some producers send raw text; `""` for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether `body` was cut. APIClarity spells it `TruncatedBody`.
    #[serde(alias = "TruncatedBody", skip_serializing_if = "Option::is_none")]
    pub truncated_body: Option<Scalar>,
    /// Epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Scalar>,
}

impl Telemetry {
    /// An empty telemetry object (serializes as `{}`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `requestID`.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets `scheme`.
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// Sets `destinationAddress`.
    pub fn with_destination_address(mut self, address: impl Into<String>) -> Self {
        self.destination_address = Some(address.into());
        self
    }

    /// Sets `destinationNamespace`.
    pub fn with_destination_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.destination_namespace = Some(namespace.into());
        self
    }

    /// Sets `sourceAddress`.
    pub fn with_source_address(mut self, address: impl Into<String>) -> Self {
        self.source_address = Some(address.into());
        self
    }

    /// Sets `request`.
    pub fn with_request(mut self, request: Request) -> Self {
        self.request = Some(request);
        self
    }

    /// Sets `response`.
    pub fn with_response(mut self, response: Response) -> Self {
        self.response = Some(response);
        self
    }
}

impl Request {
    /// A request with a method and a path (query included).
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: Some(method.into()),
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Sets `host`.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Sets `common`.
    pub fn with_common(mut self, common: Common) -> Self {
        self.common = Some(common);
        self
    }
}

impl Response {
    /// A response with the status written as a string, as the Worker does.
    pub fn new(status_code: u16) -> Self {
        Self {
            status_code: Some(Scalar::Str(status_code.to_string())),
            common: None,
        }
    }

    /// Replaces the status code with any value, e.g. a number as Kong sends it.
    pub fn with_status_code(mut self, status_code: impl Into<Scalar>) -> Self {
        self.status_code = Some(status_code.into());
        self
    }

    /// Sets `common`.
    pub fn with_common(mut self, common: Common) -> Self {
        self.common = Some(common);
        self
    }
}

impl Common {
    /// An empty `common` object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `version` (the Worker always sends `"1.1"`).
    pub fn with_version(mut self, version: impl Into<Scalar>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets `headers`.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Sets `body`, which should already be base64 for NTA producers.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets `truncatedBody`.
    pub fn with_truncated_body(mut self, truncated: bool) -> Self {
        self.truncated_body = Some(Scalar::Bool(truncated));
        self
    }

    /// Sets `time` in epoch milliseconds.
    pub fn with_time(mut self, epoch_millis: i64) -> Self {
        self.time = Some(Scalar::Int(epoch_millis));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{HeaderEntry, HeaderFault, HeaderLocation};

    fn decode(json: &str) -> Telemetry {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    const WORKER: &str = r#"{
        "requestID": "",
        "scheme": "https",
        "destinationAddress": "api.shop.example:8443:443",
        "destinationNamespace": "",
        "sourceAddress": "203.0.113.7",
        "request": {
            "method": "POST",
            "path": "/api/v1/orders?expand=items",
            "host": "api.shop.example:8443",
            "common": {
                "version": "1.1",
                "headers": [
                    {"key": "content-type", "value": "application/json"},
                    {"key": "host", "value": "api.shop.example"}
                ],
                "truncatedBody": false,
                "body": "eyJhIjoxfQ==",
                "time": 1763700000000
            }
        },
        "response": {
            "statusCode": "201",
            "common": {
                "version": "1.1",
                "headers": [{"key": "set-cookie", "value": "sid=abc123; HttpOnly"}],
                "truncatedBody": true,
                "body": "eyJpZCI6",
                "time": 1763700000042
            }
        }
    }"#;

    #[test]
    fn decodes_the_worker_shape() {
        let t = decode(WORKER);
        let want = Telemetry::new()
            .with_request_id("")
            .with_scheme("https")
            .with_destination_address("api.shop.example:8443:443")
            .with_destination_namespace("")
            .with_source_address("203.0.113.7")
            .with_request(
                Request::new("POST", "/api/v1/orders?expand=items")
                    .with_host("api.shop.example:8443")
                    .with_common(
                        Common::new()
                            .with_version("1.1")
                            .with_headers(Headers::from_pairs([
                                ("content-type", "application/json"),
                                ("host", "api.shop.example"),
                            ]))
                            .with_truncated_body(false)
                            .with_body("eyJhIjoxfQ==")
                            .with_time(1_763_700_000_000),
                    ),
            )
            .with_response(
                Response::new(201).with_common(
                    Common::new()
                        .with_version("1.1")
                        .with_headers(Headers::from_pairs([(
                            "set-cookie",
                            "sid=abc123; HttpOnly",
                        )]))
                        .with_truncated_body(true)
                        .with_body("eyJpZCI6")
                        .with_time(1_763_700_000_042),
                ),
            );
        assert_eq!(t, want);
        // Serializing the decoded value writes the same document back.
        let reparsed: serde_json::Value = serde_json::to_value(&t).unwrap();
        let original: serde_json::Value = serde_json::from_str(WORKER).unwrap();
        assert_eq!(reparsed, original);
    }

    #[test]
    fn decodes_the_kong_shape() {
        let t = decode(
            r#"{"requestID":"0b7d1c52-3f7e-4f5a-8d9c-1e2f3a4b5c6d","scheme":"http",
                "destinationAddress":":8000","destinationNamespace":"","sourceAddress":"10.0.0.5:",
                "request":{"method":"PUT","path":"/catalog/products/SKU-1","host":"catalog.internal",
                  "common":{"version":"1.100000","headers":[{"key":"content-type","value":"application/json"}],
                    "TruncatedBody":false,"body":"e30=","time":1763700005000}},
                "response":{"statusCode":204,"common":{"version":"1.100000","headers":[],
                    "TruncatedBody":true,"body":"","time":1763700005012}}}"#,
        );
        let response = t.response.as_ref().unwrap();
        assert_eq!(response.status_code, Some(Scalar::Int(204)));
        let common = response.common.as_ref().unwrap();
        assert_eq!(common.truncated_body, Some(Scalar::Bool(true)));
        assert_eq!(common.headers, Some(Headers::new()));
        let request = t.request.as_ref().unwrap();
        let common = request.common.as_ref().unwrap();
        assert_eq!(common.version, Some(Scalar::Str("1.100000".into())));
        assert_eq!(
            common.truncated_body.as_ref().and_then(Scalar::as_bool),
            Some(false)
        );
        assert_eq!(t.source_address.as_deref(), Some("10.0.0.5:"));
        // Written back with the canonical spelling.
        let text = serde_json::to_string(&t).unwrap();
        assert!(text.contains(r#""truncatedBody":false"#), "{text}");
        assert!(!text.contains("TruncatedBody"), "{text}");
        assert!(text.contains(r#""statusCode":204"#), "{text}");
    }

    #[test]
    fn degenerate_worker_payloads_decode() {
        assert_eq!(decode("{}"), Telemetry::new());
        let only_response = decode(r#"{"response":{"statusCode":"201","common":{"headers":[]}}}"#);
        assert!(only_response.request.is_none());
        assert_eq!(
            only_response
                .response
                .unwrap()
                .status_code
                .and_then(|s| s.as_i64()),
            Some(201)
        );
        let no_response = decode(r#"{"requestID":"","request":{"method":"GET","path":"/"}}"#);
        assert!(no_response.response.is_none());
        assert_eq!(serde_json::to_string(&Telemetry::new()).unwrap(), "{}");
    }

    #[test]
    fn loose_scalars_never_fail_the_record() {
        let t = decode(
            r#"{"response":{"statusCode":{"code":200},"common":{"version":1.1,"time":"1763700000000",
                "truncatedBody":"TRUE"}}}"#,
        );
        let response = t.response.unwrap();
        let status = response.status_code.unwrap();
        assert_eq!(status.as_i64(), None);
        assert_eq!(status.kind(), "object");
        let common = response.common.unwrap();
        assert_eq!(common.version.unwrap().as_str_lossy(), "1.1");
        assert_eq!(common.time.unwrap().as_i64(), Some(1_763_700_000_000));
        assert_eq!(common.truncated_body.unwrap().as_bool(), Some(true));
    }

    #[test]
    fn nulls_are_absent_values() {
        let t = decode(
            r#"{"requestID":null,"scheme":null,"request":{"method":null,"host":null,
                "common":{"headers":null,"body":null,"time":null,"version":null,"truncatedBody":null}},
                "response":null}"#,
        );
        assert_eq!(
            t,
            Telemetry::new().with_request(Request {
                common: Some(Common::new()),
                ..Request::default()
            })
        );
    }

    #[test]
    fn string_fields_refuse_other_types() {
        for json in [
            r#"{"requestID":5}"#,
            r#"{"scheme":true}"#,
            r#"{"destinationAddress":["a"]}"#,
            r#"{"sourceAddress":{}}"#,
            r#"{"destinationNamespace":1}"#,
            r#"{"request":{"method":1}}"#,
            r#"{"request":{"path":[]}}"#,
            r#"{"request":{"host":80}}"#,
            r#"{"request":{"common":{"body":[1,2]}}}"#,
            r#"{"request":"GET /"}"#,
            r#"{"response":{"common":5}}"#,
        ] {
            assert!(serde_json::from_str::<Telemetry>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn unknown_members_are_ignored_and_aliases_accepted() {
        let t = decode(
            r#"{"requestId":"r","extra":{"x":[1]},"request":{"method":"GET","foo":1,
                "common":{"TruncatedBody":true,"bar":null}},"response":{"statusCode":"200","baz":"q"}}"#,
        );
        assert_eq!(t.request_id.as_deref(), Some("r"));
        let common = t.request.unwrap().common.unwrap();
        assert_eq!(common.truncated_body, Some(Scalar::Bool(true)));
    }

    #[test]
    fn header_problems_stay_inside_the_record() {
        let t = decode(
            r#"{"request":{"method":"GET","common":{"headers":[{"key":"a","value":"1"},{"value":"x"}]}}}"#,
        );
        let headers = t.request.unwrap().common.unwrap().headers.unwrap();
        assert_eq!(
            headers.entries()[1],
            HeaderEntry::Faulty {
                at: HeaderLocation::Index(1),
                name: None,
                fault: HeaderFault::MissingKey,
            }
        );
        assert_eq!(
            headers
                .check()
                .unwrap_err()
                .describe("request.common.headers"),
            "request.common.headers[1]: missing key"
        );
    }

    #[test]
    fn malformed_json_is_an_error() {
        // The Envoy filter's unescaped quote in a path.
        let json = r#"{"request":{"method":"GET","path":"/a"b"}}"#;
        assert!(serde_json::from_str::<Telemetry>(json).is_err());
    }

    #[test]
    fn serializes_canonical_names_and_omits_absent_fields() {
        let t = Telemetry::new()
            .with_request_id("id")
            .with_request(
                Request::new("GET", "/v1").with_common(
                    Common::new()
                        .with_headers(Headers::from_pairs([("host", "a")]))
                        .with_truncated_body(false),
                ),
            )
            .with_response(Response::new(200).with_status_code(200u16));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"requestID":"id","request":{"method":"GET","path":"/v1","common":{"headers":[{"key":"host","value":"a"}],"truncatedBody":false}},"response":{"statusCode":200}}"#
        );
        assert_eq!(
            serde_json::to_string(&Response::new(404)).unwrap(),
            r#"{"statusCode":"404"}"#
        );
    }
}
