//! Akto's data ingestion format (`POST /api/ingestData`): `{"batchData": [record, ...]}`.
//!
//! Akto's own service fails the rest of a batch on the first bad record. To report per record
//! instead, decode the body as a [`BatchEnvelope`], which only splits the array, then decode each
//! element with [`decode_record`] and attach errors to its index.
//!
//! Akto's clients send every field as a string, but other connectors send numbers and booleans for
//! some of them; those fields are [`Scalar`]s so a wrong type never fails the record.

use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::headers::{self, Headers};
use crate::scalar::Scalar;

/// One element of `batchData`: one exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The Cloudflare Worker sends only the path (query lost); the Go agent sends the full URL,
    /// query included and sometimes absolute (`http://host/path?q`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The method as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request headers; the host is only here (`host`, `:authority` or `authority`).
    #[serde(
        rename = "requestHeaders",
        serialize_with = "headers::serialize_encoded",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_headers: Option<Headers>,
    /// Response headers.
    #[serde(
        rename = "responseHeaders",
        serialize_with = "headers::serialize_encoded",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_headers: Option<Headers>,
    /// Request body as text (cut at 64 KiB by the Cloudflare Worker).
    #[serde(rename = "requestPayload", skip_serializing_if = "Option::is_none")]
    pub request_payload: Option<String>,
    /// Response body as text.
    #[serde(rename = "responsePayload", skip_serializing_if = "Option::is_none")]
    pub response_payload: Option<String>,
    /// The client IP (`cf-connecting-ip`), or the placeholder `"127.0.0.1"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Unix seconds.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub time: Option<Scalar>,
    /// The response status.
    #[serde(
        rename = "statusCode",
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<Scalar>,
    /// `"HTTP/1.1"` or `"WebSocket"`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// The status text, or `"OK"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Akto account; the Worker hard-codes `"1000000"`.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub akto_account_id: Option<Scalar>,
    /// Akto VXLAN id; the Worker hard-codes `"0"`.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub akto_vxlan_id: Option<Scalar>,
    /// `"false"` from the Worker.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_pending: Option<Scalar>,
    /// `"MIRRORING"`, or another Akto source name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// JSON text such as `{"service":"cloudflare"}`, or the object itself from some connectors.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub tag: Option<Scalar>,
    /// Destination IP, from connectors that know it.
    #[serde(rename = "destIp", skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<String>,
    /// Traffic direction, from connectors that know it. Loose because its type is undocumented.
    #[serde(
        serialize_with = "serialize_as_akto_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub direction: Option<Scalar>,
}

/// A whole batch, for building payloads.
///
/// Decoding into this type fails on the first bad record, like Akto does; the server should use
/// [`BatchEnvelope`] instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The records.
    #[serde(rename = "batchData", default)]
    pub batch_data: Vec<Record>,
}

/// A batch split into its records without decoding them, so that each can be decoded and reported
/// on its own (see [`BatchEnvelope::records`]).
///
/// Decode with `serde_json::from_str` or `from_slice`: the records borrow from the input.
#[derive(Debug, Deserialize)]
pub struct BatchEnvelope<'a> {
    /// The elements of `batchData`, as raw JSON; `None` when the member is missing or `null`.
    #[serde(borrow, rename = "batchData")]
    pub batch_data: Option<Vec<&'a RawValue>>,
}

impl BatchEnvelope<'_> {
    /// Each record decoded on its own, with its index in `batchData`.
    pub fn records(&self) -> impl Iterator<Item = (usize, Result<Record, serde_json::Error>)> + '_ {
        self.batch_data
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, raw)| (index, decode_record(raw)))
    }
}

/// Decodes one element of `batchData`.
pub fn decode_record(raw: &RawValue) -> Result<Record, serde_json::Error> {
    serde_json::from_str(raw.get())
}

impl Record {
    /// A record with a method and a path.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: Some(method.into()),
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Fills the fields Akto's Cloudflare Worker hard-codes: account `"1000000"`, VXLAN `"0"`,
    /// `is_pending` `"false"`, source `"MIRRORING"` and type `"HTTP/1.1"`.
    pub fn with_mirroring_defaults(mut self) -> Self {
        self.akto_account_id = Some(Scalar::from("1000000"));
        self.akto_vxlan_id = Some(Scalar::from("0"));
        self.is_pending = Some(Scalar::from("false"));
        self.source = Some("MIRRORING".to_owned());
        self.r#type = Some("HTTP/1.1".to_owned());
        self
    }

    /// Sets `requestHeaders`.
    pub fn with_request_headers(mut self, headers: Headers) -> Self {
        self.request_headers = Some(headers);
        self
    }

    /// Sets `responseHeaders`.
    pub fn with_response_headers(mut self, headers: Headers) -> Self {
        self.response_headers = Some(headers);
        self
    }

    /// Sets `requestPayload`.
    pub fn with_request_payload(mut self, payload: impl Into<String>) -> Self {
        self.request_payload = Some(payload.into());
        self
    }

    /// Sets `responsePayload`.
    pub fn with_response_payload(mut self, payload: impl Into<String>) -> Self {
        self.response_payload = Some(payload.into());
        self
    }

    /// Sets `ip`.
    pub fn with_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets `time` (unix seconds), as a string like Akto's clients.
    pub fn with_time(mut self, epoch_seconds: i64) -> Self {
        self.time = Some(Scalar::Str(epoch_seconds.to_string()));
        self
    }

    /// Sets `statusCode` and `status`, as strings like Akto's clients.
    pub fn with_status(mut self, status_code: u16, status_text: impl Into<String>) -> Self {
        self.status_code = Some(Scalar::Str(status_code.to_string()));
        self.status = Some(status_text.into());
        self
    }

    /// Sets `type`.
    pub fn with_type(mut self, r#type: impl Into<String>) -> Self {
        self.r#type = Some(r#type.into());
        self
    }

    /// Sets `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets `tag`: JSON text, or a `serde_json::Value` object (written as JSON text).
    pub fn with_tag(mut self, tag: impl Into<Scalar>) -> Self {
        self.tag = Some(tag.into());
        self
    }
}

/// Akto's clients write every scalar as a string, arrays and objects as JSON text.
fn serialize_as_akto_string<S: Serializer>(
    value: &Option<Scalar>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        None | Some(Scalar::Null) => serializer.serialize_none(),
        Some(value) => serializer.serialize_str(&value.as_str_lossy()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{HeaderEntry, HeaderFault, HeaderLocation};
    use serde_json::json;

    const CLOUDFLARE: &str = r#"{"batchData":[{
        "path": "/v2/users/88213/profile",
        "method": "GET",
        "requestHeaders": "{\"host\": \"accounts.example.org\", \"authorization\": \"Bearer tok\"}",
        "responseHeaders": "{\"content-type\": \"application/json\"}",
        "requestPayload": "",
        "responsePayload": "{\"userId\":88213}",
        "ip": "198.51.100.23",
        "time": "1763700000",
        "statusCode": "200",
        "type": "HTTP/1.1",
        "status": "OK",
        "akto_account_id": "1000000",
        "akto_vxlan_id": "0",
        "is_pending": "false",
        "source": "MIRRORING",
        "tag": "{\n  \"service\": \"cloudflare\"\n}"
    }]}"#;

    #[test]
    fn decodes_the_cloudflare_worker_record() {
        let batch: Batch = serde_json::from_str(CLOUDFLARE).unwrap();
        let want = Record::new("GET", "/v2/users/88213/profile")
            .with_mirroring_defaults()
            .with_request_headers(Headers::from_pairs([
                ("host", "accounts.example.org"),
                ("authorization", "Bearer tok"),
            ]))
            .with_response_headers(Headers::from_pairs([("content-type", "application/json")]))
            .with_request_payload("")
            .with_response_payload("{\"userId\":88213}")
            .with_ip("198.51.100.23")
            .with_time(1_763_700_000)
            .with_status(200, "OK")
            .with_tag("{\n  \"service\": \"cloudflare\"\n}");
        assert_eq!(batch.batch_data, vec![want]);
        let record = &batch.batch_data[0];
        assert_eq!(
            record.time.as_ref().and_then(Scalar::as_i64),
            Some(1_763_700_000)
        );
        assert_eq!(
            record.is_pending.as_ref().and_then(Scalar::as_bool),
            Some(false)
        );
        assert_eq!(
            record.request_headers.as_ref().unwrap().get("Host"),
            Some("accounts.example.org")
        );
    }

    #[test]
    fn serializes_like_akto_clients_and_reads_back() {
        let batch: Batch = serde_json::from_str(CLOUDFLARE).unwrap();
        let text = serde_json::to_string(&batch).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let record = &value["batchData"][0];
        assert_eq!(
            record["requestHeaders"],
            json!(r#"{"host":"accounts.example.org","authorization":"Bearer tok"}"#)
        );
        assert_eq!(record["time"], json!("1763700000"));
        assert_eq!(record["statusCode"], json!("200"));
        assert_eq!(record["type"], json!("HTTP/1.1"));
        assert!(record.get("destIp").is_none());
        let again: Batch = serde_json::from_str(&text).unwrap();
        assert_eq!(again, batch);
    }

    #[test]
    fn loose_fields_accept_numbers_booleans_and_objects() {
        let r: Record = serde_json::from_str(
            r#"{"time":1763700000,"statusCode":101,"akto_account_id":1000000,"akto_vxlan_id":0,
                "is_pending":false,"tag":{"service":"cloudflare"},"direction":1,"destIp":"10.0.0.9",
                "process_id":"7","socket_id":1,"_traces":[],"enabled_graph":true}"#,
        )
        .unwrap();
        assert_eq!(r.time, Some(Scalar::Int(1_763_700_000)));
        assert_eq!(r.status_code.as_ref().and_then(Scalar::as_i64), Some(101));
        assert_eq!(r.akto_account_id, Some(Scalar::Int(1_000_000)));
        assert_eq!(r.is_pending, Some(Scalar::Bool(false)));
        assert_eq!(
            r.tag,
            Some(Scalar::Composite(Box::new(
                json!({"service": "cloudflare"})
            )))
        );
        assert_eq!(r.dest_ip.as_deref(), Some("10.0.0.9"));
        // Written back as strings, the object tag as JSON text.
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            value,
            json!({"time":"1763700000","statusCode":"101","akto_account_id":"1000000",
                   "akto_vxlan_id":"0","is_pending":"false","tag":"{\"service\":\"cloudflare\"}",
                   "destIp":"10.0.0.9","direction":"1"})
        );
    }

    #[test]
    fn headers_in_every_shape_and_invalid_text_stay_inside_the_record() {
        let r: Record = serde_json::from_str(
            r#"{"requestHeaders":"{not json","responseHeaders":{"content-type":"text/html","x":["1","2"]}}"#,
        )
        .unwrap();
        let request_headers = r.request_headers.as_ref().unwrap();
        assert!(request_headers.is_invalid());
        assert!(
            request_headers
                .check()
                .unwrap_err()
                .describe("requestHeaders")
                .starts_with("requestHeaders: not a JSON object of headers:")
        );
        assert_eq!(
            r.response_headers
                .as_ref()
                .unwrap()
                .pairs()
                .collect::<Vec<_>>(),
            vec![("content-type", "text/html"), ("x", "1"), ("x", "2")]
        );
        // The invalid text is written back untouched.
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(value["requestHeaders"], json!("{not json"));
        assert_eq!(
            value["responseHeaders"],
            json!(r#"{"content-type":"text/html","x":"1","x":"2"}"#)
        );

        let r: Record = serde_json::from_str(
            r#"{"requestHeaders":[{"key":"host","value":"a"},{"value":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.request_headers.unwrap().entries()[1],
            HeaderEntry::Faulty {
                at: HeaderLocation::Index(1),
                name: None,
                fault: HeaderFault::MissingKey
            }
        );
    }

    #[test]
    fn string_fields_refuse_other_types() {
        for json in [
            r#"{"path":1}"#,
            r#"{"method":true}"#,
            r#"{"requestPayload":{"a":1}}"#,
            r#"{"responsePayload":[1]}"#,
            r#"{"ip":127}"#,
            r#"{"type":1}"#,
            r#"{"status":200}"#,
            r#"{"source":{}}"#,
            r#"{"destIp":1}"#,
        ] {
            assert!(serde_json::from_str::<Record>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn envelope_splits_records_for_per_record_errors() {
        let body = r#"{"batchData":[
            {"path":"/a","method":"GET","statusCode":"200","time":"1"},
            {"path":5},
            {"path":"/v2/broken","method":"GET","requestHeaders":"{not json","statusCode":"abc","time":"yesterday"},
            "not a record"
        ],"other":1}"#;
        let envelope: BatchEnvelope<'_> = serde_json::from_str(body).unwrap();
        let results: Vec<_> = envelope.records().collect();
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].0, 0);
        assert_eq!(results[0].1.as_ref().unwrap().path.as_deref(), Some("/a"));
        assert_eq!(results[1].0, 1);
        assert!(results[1].1.is_err());
        let broken = results[2].1.as_ref().unwrap();
        assert_eq!(broken.status_code.as_ref().and_then(Scalar::as_i64), None);
        assert_eq!(broken.time.as_ref().and_then(Scalar::as_i64), None);
        assert!(broken.request_headers.as_ref().unwrap().is_invalid());
        assert!(results[3].1.is_err());
        assert_eq!(
            envelope.batch_data.as_ref().unwrap()[1].get(),
            r#"{"path":5}"#
        );
    }

    #[test]
    fn envelope_without_batch_data() {
        for body in ["{}", r#"{"batchData":null}"#] {
            let envelope: BatchEnvelope<'_> = serde_json::from_str(body).unwrap();
            assert!(envelope.batch_data.is_none());
            assert_eq!(envelope.records().count(), 0);
        }
        let envelope: BatchEnvelope<'_> = serde_json::from_str(r#"{"batchData":[]}"#).unwrap();
        assert_eq!(envelope.batch_data.map(|v| v.len()), Some(0));
        assert!(serde_json::from_str::<BatchEnvelope<'_>>(r#"{"batchData":{}}"#).is_err());
        assert!(serde_json::from_str::<BatchEnvelope<'_>>(r#"[]"#).is_err());
        // Escaped strings inside records still borrow: raw values are never unescaped.
        let envelope: BatchEnvelope<'_> =
            serde_json::from_str(r#"{"batchData":[{"path":"/a\"b"}]}"#).unwrap();
        let record = envelope.records().next().unwrap().1.unwrap();
        assert_eq!(record.path.as_deref(), Some("/a\"b"));
    }

    #[test]
    fn batch_serializes_with_its_canonical_name() {
        let batch = Batch {
            batch_data: vec![Record::new("GET", "/")],
        };
        assert_eq!(
            serde_json::to_string(&batch).unwrap(),
            r#"{"batchData":[{"path":"/","method":"GET"}]}"#
        );
        let empty: Batch = serde_json::from_str("{}").unwrap();
        assert!(empty.batch_data.is_empty());
    }
}
