//! The canonical form of one captured HTTP exchange, whatever format it arrived in.
//!
//! Every wire format is normalised into [`Exchange`] before anything else looks at it, so
//! redaction, discovery, storage and spec synthesis are written once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The wire format an exchange arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// NTA / APIClarity telemetry on `POST /api/telemetry`.
    Nta,
    /// Akto `batchData` on `POST /api/ingestData`.
    Akto,
}

impl SourceFormat {
    /// The name stored in the database and used in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Nta => "nta",
            SourceFormat::Akto => "akto",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nta" => Some(SourceFormat::Nta),
            "akto" => Some(SourceFormat::Akto),
            _ => None,
        }
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The scheme's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// Parses `http`/`https` in any case; other schemes (`ws`, `wss`) map to their HTTP twin.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http" | "ws" => Some(Scheme::Http),
            "https" | "wss" => Some(Scheme::Https),
            _ => None,
        }
    }
}

/// A message body as kept: bytes (possibly cut) and what is known about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedBody {
    /// The decoded (and, where it was compressed, decompressed) bytes, at most the configured
    /// size.
    pub bytes: Vec<u8>,
    /// True when the producer or Reconstructor cut the body.
    pub truncated: bool,
}

/// One side of an exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Header names lower-cased, in the order received; repeated headers stay repeated.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: CapturedBody,
}

impl Message {
    /// The first value of a header (`name` must be lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-cased (`application/json`).
    pub fn content_type(&self) -> Option<String> {
        self.content_type_ref().map(std::borrow::Cow::into_owned)
    }

    /// [`Message::content_type`], borrowed from the header when it is already lower-case.
    pub fn content_type_ref(&self) -> Option<std::borrow::Cow<'_, str>> {
        let value = self.header("content-type")?;
        let media = value.split(';').next().unwrap_or_default().trim();
        if media.is_empty() {
            None
        } else if media.bytes().any(|b| b.is_ascii_uppercase()) {
            Some(std::borrow::Cow::Owned(media.to_ascii_lowercase()))
        } else {
            Some(std::borrow::Cow::Borrowed(media))
        }
    }
}

/// Facts about the producer that are not part of the HTTP exchange itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producer {
    /// NTA `requestID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// NTA `destinationNamespace` (a Kubernetes namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The HTTP version string the producer reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_version: Option<String>,
    /// Akto `akto_account_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub akto_account_id: Option<String>,
    /// Akto `akto_vxlan_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub akto_vxlan_id: Option<String>,
    /// Akto `source` (`MIRRORING`, `HAR`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub akto_source: Option<String>,
    /// Akto `tag`, e.g. `{"service":"cloudflare"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub akto_tag: Option<serde_json::Value>,
    /// Akto `type` (`HTTP/1.1`, `WebSocket`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl Producer {
    /// True when nothing is known, so storage can keep a NULL.
    pub fn is_empty(&self) -> bool {
        *self == Producer::default()
    }
}

/// One captured request and, when the producer saw it, its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// When the exchange happened, by the producer's clock (the receive time when it gave none).
    pub observed_at: DateTime<Utc>,
    /// The wire format it arrived in.
    pub source: SourceFormat,
    /// The scheme the client used.
    pub scheme: Scheme,
    /// Lower-case host name or IP literal (IPv6 without brackets), no trailing dot.
    pub host: String,
    /// The port the client connected to (the scheme's default when nothing said otherwise).
    pub port: u16,
    /// Upper-case method.
    pub method: String,
    /// The path as the producer sent it (without query or fragment).
    pub raw_path: String,
    /// The path with dot segments removed and repeated slashes collapsed.
    pub path: String,
    /// The query string without `?`, when there was one.
    pub query: Option<String>,
    /// Response status; `None` for a request-only exchange.
    pub status: Option<u16>,
    /// The request.
    pub request: Message,
    /// The response, when the producer saw one.
    pub response: Option<Message>,
    /// The client's IP address as the producer reported it.
    pub client_address: Option<String>,
    /// Producer metadata.
    pub producer: Producer,
}

/// The `boundary` parameter of a `Content-Type` value (quotes removed).
pub fn boundary_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then_some(value)
    })
}
